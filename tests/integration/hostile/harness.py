"""The hostile tests' view of a running sandbox: the control API over HTTP, emulated AWS through boto3 against
the sandbox's endpoint, and the checks every ended operation must pass."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from controlplane.sandbox.client import ApiClient
from controlplane.sandbox.emulation import manifest_json
from controlplane.sandbox.seed import cluster_name, seed_environment
from controlplane.sandbox.server import Sandbox

FINAL = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
TRANSITIONAL = ("provisioning", "deploying", "destroying")
TOKEN_STEPS = ("build", "rollout", "cancel")  # they park a task token (detail.wait) once they started the work
# Undecided: whether the ended operation was meant to set `intended` depends on how it ended.
ANY = object()
_NAMES = itertools.count(1)  # environment names are unique across the session (one sandbox)


@dataclass
class Hostile:
    box: Sandbox
    api: ApiClient

    # emulated AWS ---------------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        return self.box.client(service)

    @property
    def function_prefix(self) -> str:
        assert self.box.world is not None
        return self.box.world.function_prefix

    def new_env(self, prefix: str = "h", tier: str = "dev") -> str:
        """An environment of its own: the base and contract Terraform would publish, registered by a PUT."""
        n = next(_NAMES)
        name = f"{prefix}{n}"
        seed_environment(self.client, name, tier, 10 + n, "/cart-service")
        status, body = self.api.put(f"/environments/{name}", {})
        assert status == 201, body
        assert body["tier"] == tier and body["status"] == "absent", body
        return name

    def provisioned_env(self, prefix: str = "h") -> str:
        name = self.new_env(prefix)
        op = self.run("POST", f"/environments/{name}/provision", {})
        assert op["status"] == "SUCCEEDED", op
        self.assert_ended_cleanly(op, intended=True)
        return name

    def push_image(self, env: str, tag: str, salt: str = "") -> str:
        """ECR PutImage against the sandbox endpoint (what `aws ecr put-image` does); returns the digest."""
        manifest = manifest_json(f"{env}|{tag}|{salt}|{time.time_ns()}")
        image = self.client("ecr").put_image(
            repositoryName=f"cart-service-{env}", imageManifest=manifest, imageTag=tag
        )["image"]
        return str(image["imageId"]["imageDigest"])

    def ecs_service(self, env: str) -> dict[str, Any] | None:
        """What `aws ecs describe-services` reports for the environment's service (None: no such service)."""
        ecs = self.client("ecs")
        try:
            found = ecs.describe_services(cluster=cluster_name(env), services=[f"cart-service-{env}"])
        except ecs.exceptions.ClusterNotFoundException:
            return None
        services = found.get("services") or []
        return dict(services[0]) if services else None

    def ecs_runs(self, env: str) -> tuple[str | None, str | None]:
        """(task definition ARN, image digest) of the ACTIVE service; (None, None) when none is ACTIVE."""
        svc = self.ecs_service(env)
        if svc is None or svc.get("status") != "ACTIVE":
            return None, None
        td = str(svc["taskDefinition"])
        described = self.client("ecs").describe_task_definition(taskDefinition=td)["taskDefinition"]
        image = str(described["containerDefinitions"][0]["image"])
        return td, (image.rsplit("@", 1)[1] if "@" in image else None)

    # the control API -------------------------------------------------------------------------------------------
    def raw(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """One request exactly as given (path, headers and body bytes unchecked); (status, body, headers)."""
        conn = http.client.HTTPConnection(self.box.host, self.box.api_port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()

    def env(self, name: str) -> dict[str, Any]:
        status, body = self.api.get(f"/environments/{name}")
        assert status == 200, body
        return dict(body)

    def op(self, op_id: str) -> dict[str, Any]:
        status, body = self.api.get(f"/operations/{op_id}")
        assert status == 200, body
        return dict(body)

    def start(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        status, op = self.api.request(method, path, {} if body is None else body, headers)
        assert status == 202, (status, op)
        return dict(op)

    def wait_op(self, op_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            op = self.op(op_id)
            if op["status"] in FINAL:
                return op
            time.sleep(0.05)
        raise AssertionError(f"operation {op_id} still RUNNING after {timeout}s: {self.op(op_id)}")

    def wait_step(self, op_id: str, step: str, timeout: float = 30.0) -> dict[str, Any]:
        """The operation as soon as ``step`` is RUNNING (or it ended, or it ran past that step). A step that waits
        for an event (build, rollout, cancel) counts as running once it started what it waits for."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            op = self.op(op_id)
            if op["status"] in FINAL:
                return op
            rec = next((s for s in op["steps"] if s["name"] == step), None)
            if rec is not None and rec["status"] != "RUNNING":
                return op
            if rec is not None and (step not in TOKEN_STEPS or "wait" in rec["detail"]):
                return op
            time.sleep(0.005)
        raise AssertionError(f"{op_id} never reached {step}: {self.op(op_id)}")

    def run(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        return self.wait_op(self.start(method, path, body, headers)["id"], timeout)

    # the checks ------------------------------------------------------------------------------------------------
    def assert_registry_matches_ecs(self, env: str, intended: Any = ANY) -> dict[str, Any]:
        """GET /environments/{env}'s `service` says what `ecs describe-services` (+ describe-task-definition for
        the image digest) reports. ``intended``: True, it is that too; None, it is null; ANY, not checked."""
        body = self.env(env)
        td, digest = self.ecs_runs(env)
        svc = body["service"] or {}
        assert svc.get("task_definition_arn") == td, (env, body["service"], td)
        assert svc.get("image_digest") == digest, (env, body["service"], digest)
        if td is not None:
            assert svc.get("status") == "ACTIVE", body["service"]
        if intended is True:
            assert body["intended"] is not None, body
            assert body["intended"]["task_definition_arn"] == td, (body["intended"], td)
            assert body["intended"]["image_digest"] == digest, (body["intended"], digest)
            assert body["drift"] is None, body["drift"]
        elif intended is None:
            assert body["intended"] is None, body["intended"]
        return body

    def assert_ended_cleanly(self, op: dict[str, Any], intended: Any = ANY) -> dict[str, Any]:
        """An ended operation: none of its steps still RUNNING, its environment released and in a settled status,
        and the registry saying what ECS runs."""
        assert op["status"] in FINAL, op
        assert op["ended_at"] is not None, op
        running = [s["name"] for s in op["steps"] if s["status"] == "RUNNING"]
        assert not running, (op["id"], running, op["steps"])
        assert "progress" not in op, op
        env = self.assert_registry_matches_ecs(op["environment"], intended)
        assert env["locked_by"] is None, env
        assert env["status"] not in TRANSITIONAL, env
        return env

    def fire(self, schedule: str) -> Any:
        """Fire a schedule now, wait for its delivery, and return what its function returned."""
        router = self.box.router
        assert router is not None
        event = router.fire(schedule)
        assert router.wait_idle(timeout=60)
        return next(result for _, sent, result in reversed(router.delivered) if sent is event)


def step_status(op: dict[str, Any], name: str) -> str | None:
    return next((s["status"] for s in op["steps"] if s["name"] == name), None)


def error_of(status: int, raw: bytes | Any) -> dict[str, Any]:
    """The error of a refused request, checked to be the API's one envelope: ``{"error": {"code", "message"}}``
    and nothing else at the top level, ``code`` and ``message`` strings."""
    assert status >= 400, status
    body = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    return dict(error)
