"""A small fake of the control API v2 (docs: the v2 design), on a local HTTP server, with scripted operations.

Operations progress with time from scripts, and inputs pick the script as the sandbox does, so the same tests
can later run against the real sandbox:

* deploy ``--tag broken*`` trips the circuit breaker: FAILED, rolled back, with stopped tasks, events and logs;
* build ``--source-version fail*`` fails in phase BUILD;
* deploy ``--tag slow*`` never finishes its rollout: TIMED_OUT (fake only);
* a cancel (``POST /operations/{id}/cancel``) ends the running step: ABORTED.

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
            ("qa", "dev", "absent"),
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
                        {"match": "exact", "pattern": "latest", "repository": f"cart-service-{name}"}
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
                        "operation_id": f"deploy-20261127t090000-{name}0001",
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
        op_id = f"{kind}-{stamp}-{self.counter:08x}"
        s = self.speed
        desired = (self.envs[env]["service"] or {}).get("desired_count") or 3
        op = Op(id=op_id, kind=kind, env=env, params=params, started=self.clock(), plan=[], desired=max(desired, 3))
        deployment = {"deployment_id": f"ecs-svc/{self.counter:019d}"}
        rollout = [
            PlanStep("register_task_definition", 0.4 * s),
            PlanStep("apply_service", 0.6 * s),
            PlanStep("wait_deployment", 6.0 * s, "rollout", deployment),
        ]
        if kind == "deploy":
            op.plan = [PlanStep("validate", 0.3 * s), PlanStep("lock", 0.2 * s), PlanStep("resolve_image", 0.4 * s)]
            op.plan += rollout
            tag = str(params.get("image_tag") or "")
            if tag.startswith("broken"):
                op.flavour, op.outcome, op.fail_step = "broken", "FAILED", "wait_deployment"
                op.error = self.rollback_error(env, deployment["deployment_id"])
                op.plan.append(PlanStep("record_failure", 0.3 * s))
            elif tag.startswith("slow"):
                op.flavour, op.outcome, op.fail_step = "slow", "TIMED_OUT", "wait_deployment"
                op.error = {
                    "step": "wait_deployment",
                    "code": "States.Timeout",
                    "message": "the rollout did not finish within its wait budget; the last check found it IN_PROGRESS",
                    "details": {
                        "service_events": [
                            {"at": iso(self.clock()), "message": "(service cart-service-dev) has started 1 tasks"}
                        ]
                    },
                }
                op.plan.append(PlanStep("check_deployment", 0.3 * s))
            else:
                digest = params.get("image_digest") or DIGEST.get(tag or "latest", DIGEST["v1.4.2"])
                op.result = {"image_digest": digest, "task_definition_arn": td_arn(env, 8)}
                op.plan += [PlanStep("record", 0.3 * s), PlanStep("unlock", 0.2 * s)]
        elif kind == "provision":
            op.plan = [PlanStep("validate", 0.3 * s), PlanStep("lock", 0.2 * s), PlanStep("check_base", 0.5 * s)]
            op.plan += [PlanStep("ensure_image", 0.4 * s), *rollout, PlanStep("health_check", 0.5 * s)]
            op.plan += [PlanStep("record", 0.3 * s), PlanStep("unlock", 0.2 * s)]
        elif kind == "build":
            op.plan = [PlanStep("validate", 0.3 * s), PlanStep("lock", 0.2 * s), PlanStep("start_build", 0.5 * s)]
            op.plan.append(PlanStep("wait_build", 4.0 * s, "build", {"build_id": f"cart-service-{env}:{op_id}"}))
            if str(params.get("source_version") or "").startswith("fail"):
                op.outcome, op.fail_step = "FAILED", "wait_build"
                op.error = {
                    "step": "wait_build",
                    "code": "BuildFailed",
                    "message": f"CodeBuild build cart-service-{env}:{op_id} failed in phase BUILD",
                    "details": {
                        "build": {
                            "phase": "BUILD",
                            "phase_context": [
                                "COMMAND_EXECUTION_ERROR: Error while executing command: docker build -t cart . "
                                "Reason: exit status 1"
                            ],
                            "logs_url": f"https://console.aws.amazon.com/codesuite/codebuild/projects/cart-service-{env}/history",
                        }
                    },
                }
                op.plan.append(PlanStep("record_failure", 0.3 * s))
            else:
                op.result = {"image_tag": params.get("image_tag") or "latest", "image_digest": DIGEST["v1.4.2"]}
                op.plan += [PlanStep("record_build", 0.3 * s), PlanStep("record", 0.2 * s), PlanStep("unlock", 0.2 * s)]
        elif kind == "destroy":
            names = ["validate", "lock", "scale_down", "wait_drained", "delete_service", "wait_inactive"]
            names += ["deregister_task_definitions", "delete_images", "delete_log_groups", "sweep", "record", "unlock"]
            op.plan = [PlanStep(n, 0.3 * s) for n in names]
        self.ops[op.id] = op
        return op

    def rollback_error(self, env: str, deployment_id: str) -> dict[str, Any]:
        now = self.clock()
        tasks = [f"0f3c9a{n}e4b1d2c7a8f90e1d2c3b4a5{n}" for n in range(3)]
        return {
            "step": "wait_deployment",
            "code": "DeploymentFailed",
            "message": (
                f"ECS deployment {deployment_id} failed: the circuit breaker tripped after 3 failed tasks; "
                f"the service rolled back to cart-service-{env}:6"
            ),
            "details": {
                "rolled_back_to": {
                    "task_definition_arn": td_arn(env, 6),
                    "revision": 6,
                    "image_digest": DIGEST["previous"],
                },
                "stopped_tasks": [
                    {
                        "task_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/cart-service-{env}/{task}",
                        "container": "cart",
                        "stopped_reason": "Essential container in task exited",
                        "exit_code": 1,
                    }
                    for task in tasks
                ],
                "service_events": [
                    {"at": iso(now + 1), "message": f"(service cart-service-{env}) has started 3 tasks"},
                    {"at": iso(now + 3), "message": f"(service cart-service-{env}) deployment {deployment_id} failed"},
                    {
                        "at": iso(now + 4),
                        "message": f"(service cart-service-{env}) rolling back to cart-service-{env}:6",
                    },
                ],
                "logs": {
                    "group": f"/ecs/cart-service-{env}",
                    "stream": f"cart/cart/{tasks[0]}",
                    "console_url": (
                        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logsV2:log-groups/"
                        f"log-group/$252Fecs$252Fcart-service-{env}/log-events/cart$252Fcart$252F{tasks[0]}"
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
                    "task_definition_arn": td_arn(op.env, 8),
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
        status, ended, progress, err = "RUNNING", None, None, None
        cursor = op.started
        for plan in op.plan:
            start, end = cursor, cursor + plan.seconds
            if start > now or (op.stop_at is not None and start >= op.stop_at):
                break
            record = {
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
            steps.append(record)
            stop = op.stop_at if op.stop_at is not None and op.stop_at <= end else None
            finish = stop if stop is not None else end
            if now < finish:
                progress = self.progress(op, plan, (now - start) / max(plan.seconds, 1e-6)) or None
                break
            failed = plan.name == op.fail_step or (stop is not None and not op.stop_ok)
            record.update(
                status="FAILED" if failed else "SUCCEEDED",
                ended_at=iso(finish),
                duration_seconds=round(finish - start, 3),
                error=(op.error or {}).get("code") if plan.name == op.fail_step else None,
            )
            cursor = finish
            if stop is not None:
                status, ended = "ABORTED", finish
                mode = (op.cancel or {}).get("mode")
                err = {
                    "step": plan.name,
                    "code": "Cancelled",
                    "message": "cancelled on request; "
                    + ("the rollout was let finish" if mode == "finish" else "the rollout was rolled back"),
                }
                break
        else:
            status, ended, err = op.outcome, cursor, op.error
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
            **({"progress": progress} if status == "RUNNING" and progress else {}),
            "error": err,
            "result": op.result if status == "SUCCEEDED" else {},
            "cancel": op.cancel,
            "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:cart-controlplane-{op.kind}:{op.id}",
        }

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
                **self.envs["qa"],
                "name": name,
                "tier": body["tier"],
                "version": 0,
                "settings": dict(self.envs["qa"]["settings"]),
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
        self.envs[name]["keep_alive_until"] = body["until"]
        return 200, {}, {"environment": name, "keep_alive_until": body["until"]}

    def start_op(
        self, kind: str, name: str, body: dict[str, Any], query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        env = self.envs[name]
        needs_confirm = env["tier"] in ("staging", "prod") or env["settings"]["protected"]
        if kind == "destroy" and query.get("dry_run") == "true":
            service = f"cart-service-{name}/cart-service-{name}"
            return (
                200,
                {},
                {
                    "environment": name,
                    "dry_run": True,
                    "requires_confirmation": needs_confirm,
                    "steps": [
                        {"step": "lock", "action": f"take the lock on environment {name}", "resources": []},
                        {"step": "scale_down", "action": f"scale {service} from 2 to 0 tasks", "resources": [service]},
                        {"step": "delete_service", "action": f"delete {service}", "resources": [service]},
                        {
                            "step": "delete_images",
                            "action": "delete 2 image(s)",
                            "resources": [DIGEST["latest"], DIGEST["previous"]],
                        },
                        {"step": "unlock", "action": "release the lock", "resources": []},
                    ],
                    "never_touched": ["the Terraform state backend (bucket and lock table)", "the cart data table"],
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
                running_operation={"id": running.id, "kind": running.kind},
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
