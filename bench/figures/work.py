"""Figure 2: work per operation: state transitions, Lambda invocations and AWS API calls at the endpoint, per
provision, build, deploy and destroy; and for deploy, the same with a rollout 10x longer. Apart: one run of the
reconcile schedule (every 5 minutes in AWS, whatever the operations do), over the sandbox's three environments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.config import Size
from bench.counting import counts
from bench.harness import Bench, start_bench
from bench.stats import ratio, summary

KINDS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("provision", "/environments/dev/provision", {"source_version": "bench-v1"}),
    ("build", "/environments/dev/builds", {"source_version": "bench-v2"}),
    ("deploy", "/environments/dev/deployments", {}),
    ("deploy_10x", "/environments/dev/deployments", {}),
    ("destroy", "/environments/dev/destroy", {}),
)


def _counted(b: Bench, work: Callable[[], Any]) -> tuple[Any, list[Any], int]:
    """What ``work`` returned, the AWS API calls at the endpoint meanwhile, and the Lambda invocations."""
    assert b.box.emulator is not None
    mark, inv_before = b.log.mark(), sum(b.box.emulator.invocations.values())
    result = work()
    return result, b.log.since(mark, b.log.mark()), sum(b.box.emulator.invocations.values()) - inv_before


def measure(b: Bench, path: str, body: dict[str, Any]) -> dict[str, Any]:
    result, calls, invocations = _counted(b, lambda: b.run("POST", path, body))
    by_name = counts(calls)
    invoke = by_name.get("lambda:Invoke", 0)
    return {
        "status": result["status"],
        "seconds": result["seconds"],
        "lambda_invocations": invocations,
        "api_calls": len(calls),
        "api_calls_by_control_plane": len(calls) - invoke,  # lambda:Invoke is Step Functions' integration
        "by_operation": by_name,
        **b.transitions(str(result["op"]["execution_arn"])),
    }


def measure_reconcile(b: Bench) -> dict[str, Any]:
    """One run of the reconcile schedule, fired as EventBridge Scheduler would, waited for."""
    (_, failed), calls, invocations = _counted(b, lambda: b.box.fire_schedule("reconcile"))
    return {"failed": failed, "lambda_invocations": invocations, "api_calls": len(calls), "by_operation": counts(calls)}


def run(size: Size) -> dict[str, Any]:
    b = start_bench(deploy_seconds=size.deploy_seconds, build_seconds=size.build_seconds)
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    reconciles: list[dict[str, Any]] = []
    try:
        assert b.box.emulator is not None
        for i in range(max(size.runs, size.slow_runs)):
            for kind, path, body in KINDS:
                if kind == "deploy_10x" and i >= size.slow_runs:
                    continue
                b.box.emulator.deploy_seconds = size.deploy_seconds * (10 if kind == "deploy_10x" else 1)
                samples[kind].append(measure(b, path, dict(body)))
                if kind == "deploy":
                    reconciles.append(measure_reconcile(b))
            b.box.emulator.deploy_seconds = size.deploy_seconds
    finally:
        b.box.stop()
    metrics = (
        "transitions",
        "history_events",
        "lambda_invocations",
        "api_calls",
        "api_calls_by_control_plane",
        "seconds",
    )
    per_kind: dict[str, Any] = {}
    for kind, rows in samples.items():
        per_kind[kind] = {
            "statuses": sorted({r["status"] for r in rows}),
            **{m: summary([float(r[m]) for r in rows]) for m in metrics},
            "by_operation_last_run": rows[-1]["by_operation"],
        }
    one, ten = per_kind.get("deploy", {}), per_kind.get("deploy_10x", {})
    growth = {
        m: ratio(ten.get(m, {}).get("median"), one.get(m, {}).get("median"))
        for m in ("transitions", "lambda_invocations", "api_calls", "seconds")
    }
    return {
        "title": "Work per operation",
        "sandbox": {"deploy_seconds": size.deploy_seconds, "build_seconds": size.build_seconds, "wait_interval_s": 1},
        "operations": per_kind,
        "deploy_10x_over_1x": growth,
        "reconcile_run": {
            "failed_runs": sum(1 for r in reconciles if r["failed"]),
            **{m: summary([float(r[m]) for r in reconciles]) for m in ("lambda_invocations", "api_calls")},
            "by_operation_last_run": reconciles[-1]["by_operation"] if reconciles else {},
        },
        "targets": [
            {
                "text": "deploy transitions independent of rollout time",
                "met": growth["transitions"] is not None and growth["transitions"] <= 1.0,
                "measured": f"x{growth['transitions']} transitions at a 10x longer rollout",
            },
            {
                "text": "AWS API calls per force-redeploy (all, Lambda invocations included) at most 15, "
                "the same at a 10x longer rollout",
                "met": _at_most(one, "api_calls", 15) and _at_most(ten, "api_calls", 15),
                "measured": f"{_median(one, 'api_calls')} at 1x, {_median(ten, 'api_calls')} at 10x",
            },
            {
                "text": "Lambda invocations per deploy at most 4",
                "met": _at_most(one, "lambda_invocations", 4) and _at_most(ten, "lambda_invocations", 4),
                "measured": f"{_median(one, 'lambda_invocations')} at 1x, {_median(ten, 'lambda_invocations')} at 10x",
            },
        ],
    }


def _median(kind: dict[str, Any], metric: str) -> Any:
    return kind.get(metric, {}).get("median")


def _at_most(kind: dict[str, Any], metric: str, limit: float) -> bool:
    value = _median(kind, metric)
    return value is not None and float(value) <= limit
