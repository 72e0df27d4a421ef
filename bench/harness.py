"""Sandbox plumbing shared by the figures: start a counted sandbox, start operations over HTTP, wait for
them without touching the endpoint, read execution histories, add dev environments."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench.counting import CallLog, install
from controlplane.sandbox.client import ApiClient
from controlplane.sandbox.emulation import manifest_json
from controlplane.sandbox.server import Sandbox

FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class Bench:
    box: Sandbox
    log: CallLog
    api: ApiClient
    started_seconds: float
    _next_cidr: int = 10
    extra_envs: list[str] = field(default_factory=list)

    @property
    def account(self) -> str:
        assert self.box.world is not None
        return self.box.world.account

    # operations -------------------------------------------------------------------------------------------
    def start(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        status, op = self.api.request(method, path, {} if body is None else body)
        if status != 202:
            raise RuntimeError(f"{method} {path} returned {status}: {op}")
        return dict(op)

    def execution(self, arn: str) -> Any:
        from moto.stepfunctions.responses import get_backend

        return get_backend(self.account, self.box.region).describe_execution(execution_arn=arn)

    def wait_execution(self, arn: str, timeout: float = 600.0, poll: float = 0.02) -> tuple[str, float]:
        """Wait in-process (no call reaches the endpoint); returns (status, time it was first seen final)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            raw = self.execution(arn).status
            status = str(getattr(raw, "value", raw))
            if status in FINAL:
                return status, time.time()
            time.sleep(poll)
        raise TimeoutError(f"{arn} still running after {timeout:.0f}s")

    def run(self, method: str, path: str, body: Any = None, timeout: float = 600.0) -> dict[str, Any]:
        """Start an operation and wait for its execution; returns timings and the final operation."""
        t0 = time.time()
        op = self.start(method, path, body)
        status, t1 = self.wait_execution(str(op["execution_arn"]), timeout)
        return {"op": op, "status": status, "seconds": t1 - t0, "started": t0, "ended": t1}

    def operation(self, op_id: str) -> dict[str, Any]:
        _, op = self.api.get(f"/operations/{op_id}")
        return dict(op)

    def history(self, arn: str) -> list[dict[str, Any]]:
        sfn = self.box.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def transitions(self, arn: str) -> dict[str, int]:
        """State transitions (states entered, as Step Functions bills them) and history events."""
        events = self.history(arn)
        entered = sum(1 for e in events if str(e["type"]).endswith("StateEntered"))
        return {"transitions": entered, "history_events": len(events)}

    # the world --------------------------------------------------------------------------------------------
    def push_image(self, env: str, tag: str, salt: str = "") -> str:
        """ECR PutImage against the sandbox endpoint (what `aws ecr put-image` does); returns the digest."""
        manifest = manifest_json(f"{env}|{tag}|{salt}|{time.time()}")
        image = self.box.client("ecr").put_image(
            repositoryName=f"cart-service-{env}", imageManifest=manifest, imageTag=tag
        )["image"]
        return str(image["imageId"]["imageDigest"])

    def add_dev_env(self, name: str) -> None:
        """A dev environment: the base Terraform would create (seed_environment), then PUT /environments."""
        from controlplane.sandbox.seed import seed_environment

        seed_environment(self.box.client, name, "dev", self._next_cidr % 250 + 4, "/cart-service")
        self._next_cidr += 1
        status, body = self.api.put(f"/environments/{name}", {"tier": "dev"})
        if status not in (200, 201):
            raise RuntimeError(f"PUT /environments/{name} returned {status}: {body}")
        self.extra_envs.append(name)


def start_bench(
    deploy_seconds: float = 3.0, build_seconds: float = 2.0, drain_seconds: float = 1.0, wait_interval: int = 1
) -> Bench:
    """A counted sandbox whose reconcile schedule never fires on its own: a figure counts what its operations
    cost, and a reconcile run landing inside a measured window would be billed to them (figure 2 measures one
    reconcile run apart)."""
    log = CallLog()
    install(log)
    t0 = time.time()
    box = Sandbox(
        aws_port=0,
        api_port=0,
        deploy_seconds=deploy_seconds,
        build_seconds=build_seconds,
        drain_seconds=drain_seconds,
        wait_interval=wait_interval,
        reconcile_seconds=0,
    )
    box.start()
    return Bench(box=box, log=log, api=ApiClient(box.api_endpoint, timeout=120), started_seconds=time.time() - t0)
