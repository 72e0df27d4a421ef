"""Figure 1: reaction to an image push: ECR PutImage against the sandbox -> the control plane's UpdateService
call -> the deploy operation's end (the ECR push rule's function, with the sandbox delivering ECR events)."""

from __future__ import annotations

import json
import time
from typing import Any

from bench.config import Size
from bench.harness import Bench, start_bench
from bench.stats import summary
from controlplane.domain.times import parse_iso

ENV = "dev"
DELIVERY_BUDGET_S = 15.0  # issue #4 promises delivery within 5 s


def push_handler() -> str | None:
    """The function the ECR push rule invokes (``controlplane/deployment.py`` declares the rules)."""
    from controlplane.deployment import EVENT_RULES

    for rule in EVENT_RULES:
        if rule.event_pattern and "aws.ecr" in json.dumps(rule.event_pattern):
            return rule.function
    return None


def newest_push_op(b: Bench, after: float) -> dict[str, Any] | None:
    status, body = b.api.get(f"/environments/{ENV}/operations?limit=5")
    if status != 200:
        return None
    for op in body.get("operations", []):
        if op.get("trigger") == "ecr-push" and parse_iso(str(op["created_at"])) >= after - 1:
            return dict(op)
    return None


def one_push(b: Bench, run: int) -> dict[str, Any]:
    mark = b.log.mark()
    t0 = time.time()
    digest = b.push_image(ENV, "latest", salt=f"reaction-{run}")
    pushed = time.time()
    op: dict[str, Any] | None = None
    deadline = t0 + DELIVERY_BUDGET_S
    while time.time() < deadline and op is None:
        op = newest_push_op(b, t0)
        if op is None:
            time.sleep(0.05)
    if op is None or not op.get("execution_arn"):
        return {"delivered": False, "digest": digest}
    status, ended = b.wait_execution(str(op["execution_arn"]))
    update = b.log.first(mark, "ecs:UpdateService")
    return {
        "delivered": True,
        "status": status,
        "put_image_s": pushed - t0,
        "to_operation_created_s": parse_iso(str(op["created_at"])) - t0,
        "to_update_service_s": None if update is None else update.at - t0,
        "to_operation_end_s": ended - t0,
    }


def run(size: Size) -> dict[str, Any]:
    title = "Reaction to an image push"
    handler = push_handler()
    if handler is None:
        return {"title": title, "available": False, "reason": "not available: push events not wired yet"}
    b = start_bench(deploy_seconds=size.deploy_seconds, build_seconds=size.build_seconds)
    rows: list[dict[str, Any]] = []
    try:
        setup = b.run("POST", f"/environments/{ENV}/provision", {"source_version": "bench-v1"})
        if setup["status"] != "SUCCEEDED":
            raise RuntimeError(f"could not provision {ENV}: {setup['status']}")
        b.api.put(f"/environments/{ENV}", {"deploy_on_push": {"match": "exact", "pattern": "latest"}})
        for i in range(size.runs):
            row = one_push(b, i)
            rows.append(row)
            if not row["delivered"]:
                break
    finally:
        b.box.stop()
    delivered = [r for r in rows if r["delivered"]]
    if not delivered:
        return {
            "title": title,
            "available": False,
            "handler": handler,
            "reason": f"not available: a push produced no ecr-push deploy within {DELIVERY_BUDGET_S:.0f}s",
        }
    return {
        "title": title,
        "available": True,
        "handler": handler,
        "sandbox": {"deploy_seconds": size.deploy_seconds},
        "statuses": sorted({str(r["status"]) for r in delivered}),
        "put_image_s": summary([r["put_image_s"] for r in delivered]),
        "push_to_operation_created_s": summary([r["to_operation_created_s"] for r in delivered]),
        "push_to_update_service_s": summary(
            [r["to_update_service_s"] for r in delivered if r["to_update_service_s"] is not None]
        ),
        "push_to_operation_end_s": summary([r["to_operation_end_s"] for r in delivered]),
    }
