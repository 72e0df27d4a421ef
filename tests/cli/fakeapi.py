"""A small fake of the control API on a local HTTP server, with scripted operations, in the shapes the real API
answers (``GET /openapi.json``; tests/cli/test_fake_contract.py checks the fake's answers against that document).

Operations run the real flows' steps (deploy: rollout, finish; provision: prepare, rollout, health_check,
finish; build: build, finish; destroy: prepare, drain, delete_service, sweep, finish) with time from scripts,
and inputs pick the script as the sandbox does, so the same tests can run against the real sandbox:

* deploy ``--tag broken*`` trips the circuit breaker: FAILED, rolled back, with stopped tasks, events and logs;
* build ``--source-version fail*`` fails in phase BUILD;
* deploy ``--tag slow*`` never finishes its rollout: TIMED_OUT (fake only);
* a cancel (``POST /operations/{id}/cancel``) fails the running step, then ``cancel`` rolls back and ``finish``
  ends it ABORTED.

Also scriptable: routes denied with API Gateway's 403 (``deny``), a required SigV4 signature
(``require_signature``), canned answers for the next requests (``inject``). Every request is recorded.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "123456789012"
REGION = "us-east-1"
SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=[A-Za-z0-9]+/\d{8}/[a-z0-9-]+/execute-api/aws4_request, "
    r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$"
)
DIGEST = {
    "latest": "sha256:" + "a1" * 32,
    "v1.4.2": "sha256:" + "b2" * 32,
    "previous": "sha256:" + "c3" * 32,
}
BUILD_PHASES = ("SUBMITTED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"


def td_arn(env: str, revision: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/cart-service-{env}:{revision}"


def revision_of(arn: str | None) -> int:
    return int(arn.rsplit(":", 1)[1]) if arn else 0


def error(status: int, code: str, message: str, **extra: Any) -> tuple[int, dict[str, str], Any]:
    return status, {}, {"error": {"code": code, "message": message, **extra}}


@dataclass
class PlanStep:
    name: str
    seconds: float
    progress: str | None = None  # "rollout" | "build"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Op:
    id: str
    kind: str
    env: str
    params: dict[str, Any]
    started: float
    plan: list[PlanStep]
    outcome: str = "SUCCEEDED"  # how it ends if nobody cancels it
    fail_step: str | None = None
    error: dict[str, Any] | None = None
    flavour: str = "ok"  # ok | broken | slow: how the rollout's task counts move
    desired: int = 3
    result: dict[str, Any] = field(default_factory=dict)
    trigger: str = "api"
    cancel: dict[str, Any] | None = None
    stop_at: float | None = None  # when a cancel takes effect
    stop_ok: bool = False  # the step running at stop_at completes (cancel with rollout=finish)
    before: str = "ready"  # the environment's status when it started


class FakeControlApi:
    def __init__(self, speed: float = 0.15, clock: Any = time.time) -> None:
        self.speed = speed  # script seconds are multiplied by this
        self.clock = clock
        self.lock = threading.RLock()
        self.envs: dict[str, dict[str, Any]] = {}
        self.ops: dict[str, Op] = {}
        self.requests: list[dict[str, Any]] = []
        self.deny: list[tuple[str, str]] = []  # (METHOD, path regex) answered with API Gateway's 403
        self.require_signature = False
        self.injected: list[
            tuple[str, str, int, dict[str, str], Any]
        ] = []  # (METHOD, path regex, status, headers, body)
        self.idempotency: dict[str, tuple[str, str]] = {}
        self.max_page = 200  # a page holds at most this many, whatever the limit (to exercise the cursor)
        self.counter = 0
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.seed()

    # -- the server ------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeControlApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers, body = api.handle(self.command, self.path, dict(self.headers.items()), raw)
                data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-control-api", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- test helpers ------------------------------------------------------------------------------------------------
    def inject(self, method: str, path: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """The next matching request gets this answer instead (once)."""
        with self.lock:
            self.injected.append((method, path, status, headers or {}, body))

    def calls(self, method: str, path_regex: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["method"] == method and re.fullmatch(path_regex, r["path"])]

    def add_finished(self, env: str, kind: str, status: str, ago: float) -> str:
        """A finished operation that started ``ago`` seconds before now (for listings)."""
        with self.lock:
            op = self.new_op(kind, env, {})
            op.started = self.clock() - ago
            if status != "SUCCEEDED":
                op.outcome, op.fail_step = status, op.plan[-1].name
                op.error = {"step": op.fail_step, "code": "Injected", "message": f"ended {status} on purpose"}
                op.result = {}
            return op.id

    def running(self, env: str) -> Op | None:
        now = self.clock()
        with self.lock:
            for op in sorted(self.ops.values(), key=lambda o: -o.started):
                if op.env == env and self.snapshot(op, now)["status"] == "RUNNING":
                    return op
        return None

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("the fake API never saw what the test waited for")

    # -- state -------------------------------------------------------------------------------------------------------
    def seed(self) -> None:
        now = self.clock()
        for name, tier, status in (
            ("dev", "dev", "ready"),
            ("staging", "staging", "ready"),
            ("prod", "prod", "ready"),
            ("qa-1", "dev", "absent"),
        ):
            provisioned = status == "ready"
            self.envs[name] = {
                "name": name,
                "tier": tier,
                "tier_source": "contract",
                "status": status,
                "version": 3,
                "settings": {
                    "desired_count": None,
                    "nightly_teardown": tier == "dev",
                    "deploy_on_push": (
                        {
                            "match": "exact",
                            "pattern": "latest",
                            "repository": f"cart-service-{name}",
                            "quiet_seconds": 0,
                        }
                        if tier == "dev"
                        else None
                    ),
                    "protected": False,
                    "notification_topic": f"cart-service-{name}-notifications",
                },
                "locked_by": None,
                "lock_expires_at": None,
                "last_operation_id": None,
                "service": (
                    {
                        "status": "ACTIVE",
                        "task_definition_arn": td_arn(name, 7),
                        "image_digest": DIGEST["latest"],
                        "image_tag": "latest",
                        "desired_count": 3 if tier == "prod" else 2,
                        "running_count": 3 if tier == "prod" else 2,
                        "rollout_state": "COMPLETED",
                        "observed_at": iso(now),
                    }
                    if provisioned
                    else None
                ),
                "intended": (
                    {
                        "task_definition_arn": td_arn(name, 7),
                        "image_digest": DIGEST["latest"],
                        "image_tag": "latest",
                        "operation_id": f"deploy_{name}_20261127t090000-00000001",
                        "deployed_at": iso(now - 86400),
                    }
                    if provisioned
                    else None
                ),
                "drift": None,
                "url": f"http://cart-{name}-alb-123.{REGION}.elb.amazonaws.com" if provisioned else None,
                "keep_alive_until": None,
                "pending_push": None,
                "updated_at": iso(now - 3600),
            }

    def env_view(self, name: str) -> dict[str, Any]:
        env = dict(self.envs[name])
        running = self.running(name)
        if running is not None:
            env["locked_by"] = running.id
            env["lock_expires_at"] = iso(running.started + 900)
            env["status"] = {"deploy": "deploying", "provision": "provisioning", "destroy": "destroying"}.get(
                running.kind, env["status"]
            )
        return env

    # -- the operations' scripts --------------------------------------------------------------------------------------
    def new_op(self, kind: str, env: str, params: dict[str, Any]) -> Op:
        self.counter += 1
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dt%H%M%S")
        op_id = f"{kind}_{env}_{stamp}-{self.counter:08x}"
        s = self.speed
        service = self.envs[env]["service"] or {}
        desired = service.get("desired_count") or 1
        op = Op(
            id=op_id,
            kind=kind,
            env=env,
            params=params,
            started=self.clock(),
            plan=[],
            desired=desired,
            before=self.envs[env]["status"],
        )
        revision = revision_of(service.get("task_definition_arn")) + 1
        deployment = {
            "cluster": f"ecommerce-{env}",
            "service": f"cart-service-{env}",
            "deployment_id": f"ecs-svc/{self.counter:019d}",
            "task_definition_arn": td_arn(env, revision),
            "previous_task_definition_arn": service.get("task_definition_arn"),
            "desired_count": desired,
        }
        rollout = PlanStep("rollout", 7.0 * s, "rollout", deployment)
        finish = PlanStep("finish", 0.2 * s)
        if kind == "deploy":
            op.plan = [rollout]
            tag = str(params.get("image_tag") or "")
            if tag.startswith("broken"):
                op.flavour, op.outcome, op.fail_step = "broken", "FAILED", "rollout"
                op.error = self.rollback_error(env, deployment["deployment_id"], revision - 1)
            elif tag.startswith("slow"):
                op.flavour, op.outcome, op.fail_step = "slow", "TIMED_OUT", "rollout"
                op.error = {
                    "step": "rollout",
                    "code": "WaitTimeout",
                    "message": f"deployment {deployment['deployment_id']} did not finish within 900s; ECS goes on "
                    "with it and the environment shows what runs",
                    "details": {},
                }
                op.plan.append(PlanStep("check_rollout", 0.2 * s))
            else:
                digest = params.get("image_digest") or DIGEST.get(tag or "latest", DIGEST["v1.4.2"])
                op.result = {
                    "deployment_id": deployment["deployment_id"],
                    "image_digest": digest,
                    "image_tag": tag or None,
                    "task_definition_arn": td_arn(env, revision),
                }
                op.plan.append(finish)
        elif kind == "provision":
            op.plan = [PlanStep("prepare", 0.5 * s, detail={"needs_build": False}), rollout]
            op.plan += [PlanStep("health_check", 0.5 * s, detail={"desired": desired}), finish]
            op.result = {"deployment_id": deployment["deployment_id"], "task_definition_arn": td_arn(env, revision)}
        elif kind == "build":
            build_id = f"cart-service-{env}-image:{self.counter:08x}-0000-4000-8000-000000000000"
            tag = params.get("image_tag") or params.get("source_version")
            op.plan = [PlanStep("build", 5.0 * s, "build", {"build_id": build_id, "image_tag": tag})]
            if str(params.get("source_version") or "").startswith("fail"):
                op.outcome, op.fail_step = "FAILED", "build"
                context = (
                    "COMMAND_EXECUTION_ERROR: Error while executing command: docker build -t $IMAGE_URI . "
                    "Reason: exit status 1"
                )
                op.error = {
                    "step": "build",
                    "code": "BuildFailed",
                    "message": f"build {build_id} ended FAILED in phase BUILD: {context}",
                    "details": {
                        "build": {
                            "build_id": build_id,
                            "phase": "BUILD",
                            "phase_context": [context],
                            "logs_url": "https://console.aws.amazon.com/cloudwatch/home?region="
                            f"{REGION}#logEvent:group=/aws/codebuild/cart-service-{env}-image;stream={build_id}",
                        }
                    },
                }
            else:
                op.result = {"build_id": build_id, "image_tag": tag, "image_digest": DIGEST["v1.4.2"]}
                op.plan.append(finish)
        elif kind == "destroy":
            op.plan = [PlanStep(n, 0.5 * s) for n in ("prepare", "drain", "delete_service", "sweep")] + [finish]
            op.result = {"deleted_images": 2, "deleted_log_groups": 2, "deregistered": revision - 1}
        self.ops[op.id] = op
        return op

    def rollback_error(self, env: str, deployment_id: str, revision: int) -> dict[str, Any]:
        now = self.clock()
        tasks = [f"0f3c9a{n}e-4b1d-4c7a-8f90-e1d2c3b4a5{n}0" for n in range(3)]
        service = f"(service cart-service-{env})"
        return {
            "step": "rollout",
            "code": "DeploymentFailed",
            "message": "ECS deployment circuit breaker: tasks failed to start.",
            "details": {
                "rolled_back_to": {
                    "task_definition_arn": td_arn(env, revision),
                    "revision": revision,
                    "image_digest": DIGEST["latest"],
                },
                "stopped_tasks": [
                    {
                        "task_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/ecommerce-{env}/{task}",
                        "task_id": task,
                        "container": "cart",
                        "stopped_reason": "Essential container in task exited",
                        "exit_code": 1,
                        "container_reason": "Essential container in task exited",
                    }
                    for task in tasks
                ],
                "service_events": [
                    {
                        "at": iso(now + 4),
                        "message": f"{service} rolling back to deployment ecs-svc/0000000000000000001.",
                    },
                    {
                        "at": iso(now + 4),
                        "message": f"{service} deployment {deployment_id} deployment failed: tasks failed to start.",
                    },
                    {"at": iso(now - 3600), "message": f"{service} has reached a steady state."},
                ],
                "logs": {
                    "group": f"/cart-service/{env}/app",
                    "stream": f"cart/cart/{tasks[0]}",
                    "console_url": (
                        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logsV2:log-groups/"
                        f"log-group/$252Fcart-service$252F{env}$252Fapp/log-events/cart$252Fcart$252F{tasks[0]}"
                    ),
                },
            },
        }

    def progress(self, op: Op, step: PlanStep, fraction: float) -> dict[str, Any]:
        if step.progress == "rollout":
            desired = op.desired
            if op.flavour == "broken":
                running, failed = 0, min(3, math.floor(fraction * 4))
            elif op.flavour == "slow":
                running, failed = 1, 0
            else:
                running, failed = min(desired, math.floor(fraction * (desired + 1))), 0
            return {
                "rollout": {
                    "deployment_id": step.detail.get("deployment_id"),
                    "task_definition_arn": step.detail.get("task_definition_arn"),
                    "desired_count": desired,
                    "running_count": running,
                    "pending_count": desired - running,
                    "failed_tasks": failed,
                    "rollout_state": "IN_PROGRESS",
                }
            }
        if step.progress == "build":
            phase = BUILD_PHASES[min(len(BUILD_PHASES) - 1, math.floor(fraction * len(BUILD_PHASES)))]
            return {"build": {"build_id": step.detail.get("build_id"), "phase": phase, "status": "IN_PROGRESS"}}
        return {}

    def snapshot(self, op: Op, now: float) -> dict[str, Any]:
        """The operation as the API shows it at ``now``: a pure function of its script, its start and its cancel."""
        steps: list[dict[str, Any]] = []
        status, ended, progress, err, result = "RUNNING", None, None, None, {}
        cursor = op.started

        def record(plan: PlanStep, start: float) -> dict[str, Any]:
            step = {
                "name": plan.name,
                "status": "RUNNING",
                "started_at": iso(start),
                "ended_at": None,
                "duration_seconds": None,
                "attempts": 1,
                "polls": 0,
                "detail": plan.detail,
                "error": None,
            }
            steps.append(step)
            return step

        def close(step: dict[str, Any], start: float, end: float, failed: bool, error: str | None = None) -> None:
            step.update(
                status="FAILED" if failed else "SUCCEEDED",
                ended_at=iso(end),
                duration_seconds=round(end - start, 3),
                error=error,
            )

        for plan in op.plan:
            start, end = cursor, cursor + plan.seconds
            if start > now or (op.stop_at is not None and start >= op.stop_at):
                break
            step = record(plan, start)
            stop = op.stop_at if op.stop_at is not None and op.stop_at <= end else None
            finish = end if stop is None or op.stop_ok else stop
            if now < finish:
                progress = self.progress(op, plan, (now - start) / max(plan.seconds, 1e-6)) or None
                break
            failed = plan.name == op.fail_step or (stop is not None and not op.stop_ok)
            close(step, start, finish, failed, "cancelled" if stop is not None and not op.stop_ok else None)
            if plan.name == op.fail_step:
                step["error"] = (op.error or {}).get("message")
            cursor = finish
            if stop is not None:
                status, ended, progress, err, result = self.cancel_path(op, plan, cursor, now, record, close)
                break
        else:
            status, ended, err, result = op.outcome, cursor, op.error, op.result if op.outcome == "SUCCEEDED" else {}
        return {
            "id": op.id,
            "kind": op.kind,
            "environment": op.env,
            "trigger": op.trigger,
            "params": op.params,
            "status": status,
            "created_at": iso(op.started),
            "ended_at": iso(ended) if ended is not None else None,
            "steps": steps,
            "error": err,
            "result": result,
            "cancel": op.cancel,
            "environment_status_before": op.before,
            "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:cart-controlplane-{op.kind}:{op.id}",
            **({"progress": progress} if status == "RUNNING" and progress else {}),
        }

    def cancel_path(self, op: Op, stopped: PlanStep, cursor: float, now: float, record: Any, close: Any) -> Any:
        """After a cancel: ``cancel`` rolls a rollout that began back (or does nothing), then ``finish``: ABORTED."""
        mode = (op.cancel or {}).get("mode", "rollback")
        undo = stopped.progress == "rollout" and not op.stop_ok
        previous = stopped.detail.get("previous_task_definition_arn")
        undone = f"rolled back to {previous}" if undo and previous else "nothing to undo"
        revert = PlanStep("cancel", (2.0 if undo else 0.2) * self.speed, "rollout" if undo else None)
        if undo:
            revert.detail = {**stopped.detail, "deployment_id": "ecs-svc/9999999999999999999", "reverted_to": previous}
            revert.detail["task_definition_arn"] = previous
        step = record(revert, cursor)
        if now < cursor + revert.seconds:
            fraction = (now - cursor) / revert.seconds
            return "RUNNING", None, self.progress(op, revert, fraction) or None, None, {}
        close(step, cursor, cursor + revert.seconds, False)
        cursor += revert.seconds
        close(record(PlanStep("finish", 0.0), cursor), cursor, cursor, False)
        error = {"step": None, "code": "Cancelled", "message": f"cancelled through the control API ({mode}): {undone}"}
        return "ABORTED", cursor, None, error, {"cancel": {"mode": mode, "undone": undone}}

    # -- requests ------------------------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = "<not json>"
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query, "headers": lowered, "body": body})
            for i, (m, p, status, extra, canned) in enumerate(self.injected):
                if m == method and re.fullmatch(p, path):
                    del self.injected[i]
                    return status, extra, canned
            if self.require_signature and path != "/health" and not SIGV4.match(lowered.get("authorization", "")):
                return (
                    403,
                    {"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
                    {"message": "Missing Authentication Token"},
                )
            for m, p in self.deny:
                if m == method and re.fullmatch(p, path):
                    resource = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcdef1234/v2/{method}{path}"
                    return (
                        403,
                        {"x-amzn-ErrorType": "AccessDeniedException"},
                        {
                            "error": {
                                "code": "AccessDenied",
                                "message": f"User: arn:aws:sts::{ACCOUNT}:assumed-role/cart-readonly/alice is not "
                                f"authorized to perform: execute-api:Invoke on resource: {resource}",
                            }
                        },
                    )
            if body == "<not json>":
                return error(400, "BadRequest", "the request body is not valid JSON")
            return self.route(method, path, query, lowered, body if isinstance(body, dict) else {})

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any]:
        now = self.clock()
        seg = [s for s in path.split("/") if s]
        if seg == ["health"] and method == "GET":
            return 200, {}, {"status": "ok"}
        if seg == ["environments"] and method == "GET":
            return self.page(sorted(self.envs), query, "environments", self.env_view)
        if len(seg) >= 2 and seg[0] == "environments":
            name = seg[1]
            if len(seg) == 2 and method == "PUT":
                return self.put_env(name, body, headers)
            if name not in self.envs:
                return error(404, "NotFound", f"environment {name!r} does not exist")
            rest = seg[2:]
            if rest == [] and method == "GET":
                return 200, {}, self.env_view(name)
            if rest == ["operations"] and method == "GET":
                ops = sorted((o for o in self.ops.values() if o.env == name), key=lambda o: (-o.started, o.id))
                views = [self.snapshot(o, now) for o in ops]
                if query.get("status"):
                    views = [v for v in views if v["status"] in query["status"].split(",")]
                if query.get("kind"):
                    views = [v for v in views if v["kind"] in query["kind"].split(",")]
                by_id = {v["id"]: v for v in views}
                return self.page([v["id"] for v in views], query, "operations", by_id.__getitem__)
            if rest == ["keep-alive"] and method == "POST":
                return self.keep_alive(name, body)
            if rest == ["keep-alive"] and method == "DELETE":
                self.envs[name]["keep_alive_until"] = None
                return 200, {}, {"environment": name, "keep_alive_until": None}
            kinds = {"provision": "provision", "builds": "build", "deployments": "deploy", "destroy": "destroy"}
            if len(rest) == 1 and rest[0] in kinds and method == "POST":
                return self.start_op(kinds[rest[0]], name, body, query, headers)
            return error(
                405 if rest and rest[0] in (*kinds, "operations") else 404, "NotFound", f"no route {method} {path}"
            )
        if len(seg) >= 2 and seg[0] == "operations":
            op = self.ops.get(seg[1])
            if op is None:
                return error(404, "NotFound", f"operation {seg[1]!r} does not exist")
            if len(seg) == 2 and method == "GET":
                return 200, {}, self.snapshot(op, now)
            if seg[2:] == ["cancel"] and method == "POST":
                return self.cancel(op, body, now)
        return error(404, "NotFound", f"no route {method} {path}")

    def page(
        self, keys: list[str], query: dict[str, str], field_name: str, view: Any
    ) -> tuple[int, dict[str, str], Any]:
        raw = query.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= 200:
            return error(400, "ValidationError", "limit must be an integer from 1 to 200")
        offset = int(query["next"].removeprefix("o")) if query.get("next") else 0
        size = min(int(raw), self.max_page)
        chunk = keys[offset : offset + size]
        more = offset + size < len(keys)
        return 200, {}, {field_name: [view(k) for k in chunk], "next": f"o{offset + size}" if more else None}

    def put_env(self, name: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        created = name not in self.envs
        if created:
            if body.get("tier") not in ("dev", "staging", "prod"):
                return error(400, "ValidationError", "tier is required to create an environment (dev, staging or prod)")
            self.envs[name] = {
                **self.envs["qa-1"],
                "name": name,
                "tier": body["tier"],
                "version": 0,
                "settings": dict(self.envs["qa-1"]["settings"]),
            }
        env = self.envs[name]
        if "if-match" in headers and headers["if-match"] != str(env["version"]):
            return error(
                409, "VersionConflict", f"environment {name} is at version {env['version']}, not {headers['if-match']}"
            )
        count = body.get("desired_count")
        if count is not None and not (isinstance(count, int) and 0 <= count <= 50):
            return error(400, "ValidationError", "desired_count must be an integer from 0 to 50")
        if body.get("protected") is False and env["settings"]["protected"] and body.get("confirm") != name:
            return error(400, "ConfirmationRequired", f'unprotecting {name} needs {{"confirm": "{name}"}}')
        for key in ("desired_count", "nightly_teardown", "deploy_on_push", "protected", "notification_topic"):
            if key in body:
                env["settings"][key] = body[key]
        if isinstance(body.get("deploy_on_push"), dict):
            env["settings"]["deploy_on_push"] = {
                "match": "exact",
                "repository": None,
                "quiet_seconds": 0,
                **body["deploy_on_push"],
            }
        env["version"] += 1
        env["updated_at"] = iso(self.clock())
        return (201 if created else 200), {}, self.env_view(name)

    def keep_alive(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        try:
            until = datetime.fromisoformat(str(body.get("until")))
        except ValueError:
            return error(400, "ValidationError", "until must be an ISO 8601 time")
        if not str(body.get("until")).endswith("Z"):
            return error(400, "ValidationError", "until must be UTC with a trailing Z")
        now = datetime.fromtimestamp(self.clock(), UTC)
        if until <= now or until > now + timedelta(days=14):
            return error(400, "ValidationError", "until must be in the future and at most 14 days ahead")
        self.envs[name]["keep_alive_until"] = iso(until.timestamp())
        return 200, {}, {"environment": name, "keep_alive_until": self.envs[name]["keep_alive_until"]}

    def start_op(
        self, kind: str, name: str, body: dict[str, Any], query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        env = self.envs[name]
        needs_confirm = env["tier"] in ("staging", "prod") or env["settings"]["protected"]
        if kind == "destroy" and query.get("dry_run") == "true":
            service = f"ecommerce-{name}/cart-service-{name}"
            last = revision_of((env["service"] or {}).get("task_definition_arn"))
            revisions = [td_arn(name, r) for r in range(1, last + 1)]
            return (
                200,
                {},
                {
                    "environment": name,
                    "dry_run": True,
                    "requires_confirmation": needs_confirm,
                    "steps": [
                        {"step": "prepare", "action": f"take the lock on {name}, read its contract", "resources": []},
                        {
                            "step": "drain",
                            "action": f"remove autoscaling, scale {service} from 2 to 0 and wait until its 2 running "
                            "task(s) stopped",
                            "resources": [service],
                        },
                        {
                            "step": "delete_service",
                            "action": f"delete {service} and wait until it is INACTIVE",
                            "resources": [service],
                        },
                        {
                            "step": "sweep",
                            "action": f"deregister and delete {len(revisions)} task definition revision(s), delete 2 "
                            "image(s) and 1 log group(s), then verify nothing the control plane made remains",
                            "resources": [
                                *revisions,
                                DIGEST["latest"],
                                DIGEST["previous"],
                                f"/cart-service/{name}/app",
                            ],
                        },
                        {
                            "step": "finish",
                            "action": "record the environment destroyed (from what ECS runs), release the lock, notify",
                            "resources": [],
                        },
                    ],
                    "never_touched": [
                        "the Terraform state backend (bucket and lock table)",
                        "the cart data table",
                        "the Terraform-owned base (network, load balancer, cluster, ECR repository)",
                    ],
                },
            )
        if kind == "destroy" and needs_confirm and body.get("confirm") != name:
            return error(400, "ConfirmationRequired", f'destroying {name} needs {{"confirm": "{name}"}}')
        if kind == "deploy":
            if body.get("image_tag") and body.get("image_digest"):
                return error(400, "ValidationError", "give image_tag or image_digest, not both")
            digest = body.get("image_digest")
            if digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", str(digest)):
                return error(400, "ValidationError", "image_digest must be sha256: and 64 hex digits")
            if env["service"] is None:
                return error(409, "Conflict", f"environment {name} is {env['status']}: provision it first")
        if kind == "build" and not body.get("source_version"):
            return error(400, "ValidationError", "source_version is required")
        key = headers.get("idempotency-key")
        fingerprint = json.dumps([kind, name, body], sort_keys=True)
        if key:
            seen = self.idempotency.get(key)
            if seen and seen[0] != fingerprint:
                return error(422, "IdempotencyKeyReused", f"Idempotency-Key {key!r} was used with another request")
            if seen:
                op = self.ops[seen[1]]
                return 202, {"Location": f"/operations/{op.id}"}, self.snapshot(op, self.clock())
        running = self.running(name)
        if running is not None:
            return error(
                409,
                "OperationInProgress",
                f"operation {running.id} is running on {name}",
                running_operation=running.id,
            )
        params = {k: v for k, v in body.items() if k not in ("wait", "confirm")}
        op = self.new_op(kind, name, params)
        if key:
            self.idempotency[key] = (fingerprint, op.id)
        self.envs[name]["last_operation_id"] = op.id
        return 202, {"Location": f"/operations/{op.id}"}, self.snapshot(op, self.clock())

    def cancel(self, op: Op, body: dict[str, Any], now: float) -> tuple[int, dict[str, str], Any]:
        view = self.snapshot(op, now)
        if view["status"] != "RUNNING":
            return error(409, "Conflict", f"operation {op.id} already ended ({view['status']})")
        mode = body.get("rollout", "rollback")
        if mode not in ("rollback", "finish"):
            return error(400, "ValidationError", "rollout must be rollback or finish")
        if op.cancel is None:
            op.cancel = {"requested_at": iso(now), "mode": mode}
            current = view["steps"][-1]["name"] if view["steps"] else None
            plan = next((p for p in op.plan if p.name == current), None)
            if mode == "finish" and plan is not None and plan.progress == "rollout":
                start = op.started + sum(p.seconds for p in op.plan[: op.plan.index(plan)])
                op.stop_at, op.stop_ok = start + plan.seconds, True
            else:
                op.stop_at = now + 0.5 * self.speed
        return 202, {"Location": f"/operations/{op.id}"}, self.snapshot(op, now)
