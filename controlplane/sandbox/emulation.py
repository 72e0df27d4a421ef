"""Where moto falls short, the sandbox emulates AWS. Each patch is small, named, and has a canary test.

| gap in moto 5.2.5                                   | emulation here                                            |
|-----------------------------------------------------|-----------------------------------------------------------|
| Lambda code runs only in Docker                     | handlers run in-process (``LambdaFunction._invoke_lambda``) |
| ECS deployments never progress                      | a deployment completes after ``deploy_seconds``; an image |
|                                                     | tagged ``broken*`` trips the circuit breaker: FAILED, and |
|                                                     | the service rolls back to the previous task definition    |
| ECS services drop capacityProviderStrategy and     | kept as requested (Fargate Spot or on-demand; circuit     |
| deploymentConfiguration at creation                 | breaker and rollback alarms)                              |
| ECS scaling is instant, no targets, no insights log | tasks drain after ``drain_seconds``; completed tasks are  |
|                                                     | registered as healthy ALB targets; ECS creates the        |
|                                                     | container-insights log group as it does in AWS            |
| CodeBuild finishes at once and pushes nothing       | a build runs ``build_seconds`` and pushes the image to    |
|                                                     | ECR (tag = IMAGE_TAG); a source version starting with     |
|                                                     | ``fail`` fails the build; so does a push that ECR refuses |
|                                                     | (an immutable repository has the tag already), in phase   |
|                                                     | POST_BUILD, as docker push fails in CodeBuild              |
| DynamoDB writes are not atomic across threads, and  | calls are serialised: writes are atomic and a read never  |
| reads can see half a TransactWriteItems             | sees half a transaction (as DynamoDB guarantees)          |
| StopExecution does not end a waitForTaskToken state | stopping an execution also interrupts its pending task    |
|                                                     | tokens, so it is ABORTED at once, as in AWS                |
| ECR PutImage emits no event                         | a successful PutImage emits ``ecr-push`` (the sandbox's   |
|                                                     | EventBridge turns it into the ``ECR Image Action`` event) |
| a failed rollout leaves no stopped tasks or events  | the circuit breaker's failed tasks are STOPPED with their |
|                                                     | reason and exit code; the service keeps its event log     |
| DeleteCluster deletes a cluster that has services   | refused: ClusterContainsServicesException, as in AWS      |
| an INACTIVE cluster or service still takes updates  | refused: ClusterNotFoundException / ServiceNotActive-     |
|                                                     | Exception, as in AWS                                      |
| StopBuild does not stop an emulated build           | the build ends STOPPED and its event says so              |

Nothing here is used in AWS: it is imported only by the sandbox and the tests.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.codebuild.models import CodeBuildBackend, codebuild_backends
from moto.codebuild.responses import CodeBuildResponse
from moto.dynamodb.models import DynamoDBBackend
from moto.ecr.exceptions import ImageAlreadyExistsException
from moto.ecr.models import ECRBackend, ecr_backends
from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2.models import elbv2_backends
from moto.logs.models import logs_backends
from moto.stepfunctions.parser.asl.eval.environment import Environment as SfnEnvironment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
BUILD_FAILURE = (
    "COMMAND_EXECUTION_ERROR: Error while executing command: docker build -t $IMAGE_URI . Reason: exit status 1"
)
FAILED_TASK_REASON = "Essential container in task exited"
FAILED_TASKS = 3


def ecs_error(code: str, message: str) -> Exception:
    from moto.ecs.exceptions import ECSException

    return ECSException(code, message)


def service_event(service: Any, message: str) -> None:
    """Append to the service's event log (describe-services 'events', newest first), as ECS does."""
    events = getattr(service, "events", None)
    if events is None:
        service.events = events = []
    events.insert(
        0, {"id": str(uuid.uuid4()), "createdAt": _now_dt(), "message": f"(service {service.name}) {message}"}
    )
    del events[100:]


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float = field(default_factory=lambda: time.time() + 300)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


@dataclass
class Rollout:
    account: str
    region: str
    cluster: str
    service: str
    deployment_id: str
    due_at: float
    previous_td: str | None
    kind: str = "deploy"  # deploy | scale


@dataclass
class PendingBuild:
    account: str
    region: str
    build_id: str
    project: str
    source_version: str
    image_tag: str
    due_at: float
    stopped: bool = False
    push_refused: str | None = None  # why ECR refused the image (an immutable repository has the tag already)

    def outcome(self) -> str:
        if self.stopped:
            return "STOPPED"
        failed = self.source_version.startswith("fail") or self.push_refused is not None
        return "FAILED" if failed else "SUCCEEDED"


def _now_dt() -> datetime:
    return datetime.now(UTC)


class Emulator:
    """Drives the emulated parts. Time-based: state advances when polled (and on a ticker, if started)."""

    def __init__(
        self,
        deploy_seconds: float = 3.0,
        build_seconds: float = 2.0,
        drain_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.deploy_seconds = deploy_seconds
        self.build_seconds = build_seconds
        self.drain_seconds = drain_seconds
        self.clock = clock
        self.rollouts: list[Rollout] = []
        self.builds: dict[str, PendingBuild] = {}
        self.invocations: Counter[str] = Counter()
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._lock = threading.RLock()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # events -----------------------------------------------------------------------------------------------
    def emit(self, kind: str, detail: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(kind, detail)
            except Exception:  # a listener must never break the emulated AWS
                traceback.print_exc()

    # ECS --------------------------------------------------------------------------------------------------
    def _image_is_broken(self, account: str, region: str, image: str) -> bool:
        if "@" in image:
            repo_uri, digest = image.split("@", 1)
            repo = repo_uri.split("/", 1)[-1]
            backend = ecr_backends[account][region]
            repository = backend.repositories.get(repo)
            if repository is None:
                return False
            tags = [t for img in repository.images if img.image_digest == digest for t in img.image_tags]
            return any(t.startswith("broken") for t in tags)
        return image.rsplit(":", 1)[-1].startswith("broken")

    def new_deployment(
        self, backend: Any, service: Any, previous: list[dict[str, Any]], previous_td: str | None
    ) -> None:
        now = _now_dt()
        dep_id = f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"
        running_before = sum(int(d.get("runningCount", 0)) for d in previous)
        for d in previous:
            if d.get("status") == "PRIMARY":
                d["status"] = "ACTIVE"
        service.deployments = [
            {
                "id": dep_id,
                "status": "PRIMARY",
                "taskDefinition": service.task_definition,
                "desiredCount": service.desired_count,
                "pendingCount": service.desired_count,
                "runningCount": 0,
                "failedTasks": 0,
                "createdAt": now,
                "updatedAt": now,
                "launchType": "FARGATE",
                "platformVersion": "1.4.0",
                "rolloutState": "IN_PROGRESS",
                "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
            },
            *[d for d in previous if d.get("rolloutState") != "FAILED"][:1],
        ]
        service.running_count = running_before
        service.pending_count = service.desired_count
        with self._lock:
            self.rollouts = [
                r for r in self.rollouts if not (r.cluster == service.cluster_name and r.service == service.name)
            ]
            self.rollouts.append(
                Rollout(
                    account=backend.account_id,
                    region=backend.region_name,
                    cluster=service.cluster_name,
                    service=service.name,
                    deployment_id=dep_id,
                    due_at=self.clock() + self.deploy_seconds,
                    previous_td=previous_td,
                )
            )

    def scale(self, backend: Any, service: Any, running_before: int) -> None:
        service.running_count = running_before
        for d in service.deployments:
            if d.get("status") == "PRIMARY":
                d["desiredCount"] = service.desired_count
        with self._lock:
            self.rollouts.append(
                Rollout(
                    account=backend.account_id,
                    region=backend.region_name,
                    cluster=service.cluster_name,
                    service=service.name,
                    deployment_id="",
                    due_at=self.clock() + self.drain_seconds,
                    previous_td=None,
                    kind="scale",
                )
            )

    def _finish_rollout(self, r: Rollout) -> None:
        backend = ecs_backends[r.account][r.region]
        service = backend.services.get(f"{r.cluster}:{r.service}")
        if service is None or service.status != "ACTIVE":
            return
        primary = next((d for d in service.deployments if d["id"] == r.deployment_id), None)
        if r.kind == "scale":
            service.running_count = service.desired_count
            service.pending_count = 0
            for d in service.deployments:
                if d.get("status") == "PRIMARY":
                    d["runningCount"] = service.desired_count
                    d["pendingCount"] = 0
            self._register_targets(r, service)
            return
        if primary is None:
            return
        td = backend.describe_task_definition(str(primary["taskDefinition"]))
        image = str(td.container_definitions[0]["image"])
        now = _now_dt()
        if self._image_is_broken(r.account, r.region, image):
            primary.update(
                rolloutState="FAILED",
                rolloutStateReason=CIRCUIT_BREAKER_REASON,
                runningCount=0,
                failedTasks=FAILED_TASKS,
                updatedAt=now,
            )
            self._stopped_tasks(backend, service, td, r.deployment_id)
            service_event(service, f"deployment {r.deployment_id} deployment failed: tasks failed to start.")
            self.emit(
                "ecs-deployment",
                {
                    "service": service,
                    "deployment_id": r.deployment_id,
                    "state": "FAILED",
                    "reason": CIRCUIT_BREAKER_REASON,
                },
            )
            if r.previous_td:
                primary["status"] = "ACTIVE"
                rollback_id = f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"
                service.task_definition = r.previous_td
                service.deployments = [
                    {
                        **primary,
                        "id": rollback_id,
                        "status": "PRIMARY",
                        "taskDefinition": r.previous_td,
                        "runningCount": service.desired_count,
                        "pendingCount": 0,
                        "failedTasks": 0,
                        "createdAt": now,
                        "rolloutState": "COMPLETED",
                        "rolloutStateReason": f"ECS deployment {rollback_id} completed (rollback).",
                    },
                    primary,
                ]
                service.running_count = service.desired_count
                self._register_targets(r, service)
                service_event(service, f"rolling back to deployment {rollback_id}.")
            else:
                service.running_count = 0
            return
        primary.update(
            rolloutState="COMPLETED",
            rolloutStateReason=f"ECS deployment {r.deployment_id} completed.",
            runningCount=service.desired_count,
            pendingCount=0,
            updatedAt=now,
        )
        service.deployments = [primary]
        service.running_count = service.desired_count
        service.pending_count = 0
        self._register_targets(r, service)
        self._container_insights(r)
        service_event(service, "has reached a steady state.")
        self.emit(
            "ecs-deployment",
            {
                "service": service,
                "deployment_id": r.deployment_id,
                "state": "COMPLETED",
                "reason": primary["rolloutStateReason"],
            },
        )

    def _stopped_tasks(self, backend: Any, service: Any, td: Any, deployment_id: str) -> None:
        """The tasks the circuit breaker saw fail: STOPPED, with the reason and exit code ECS reports."""
        from moto.ecs.models import Task

        cluster = backend.clusters[service.cluster_name]
        mode, td.network_mode = td.network_mode, "bridge"  # a stopped task holds no network interface
        try:
            tasks = [
                Task(
                    cluster,
                    td,
                    None,
                    None,
                    backend,
                    group=f"service:{service.name}",
                    launch_type="FARGATE",
                    started_by=deployment_id,
                )
                for _ in range(FAILED_TASKS)
            ]
        finally:
            td.network_mode = mode
        for task in tasks:
            task.last_status = "STOPPED"
            task.desired_status = "STOPPED"
            task.stopped_reason = FAILED_TASK_REASON
            task.stoppedAt = _now_dt()  # type: ignore[attr-defined]
            for container in task.containers:
                container.last_status = "STOPPED"
                container.exitCode = 1
                container.reason = "Essential container in task exited"  # type: ignore[attr-defined]
            backend.tasks.setdefault(cluster.name, {})[task.id] = task

    def _register_targets(self, r: Rollout, service: Any) -> None:
        elbv2 = elbv2_backends[r.account][r.region]
        for lb in service.load_balancers or []:
            tg = elbv2.target_groups.get(lb.get("targetGroupArn"))
            if tg is None:
                continue
            for target_id in list(tg.targets):
                tg.targets.pop(target_id)
            for i in range(service.running_count):
                seed = int(hashlib.sha256(f"{service.name}{i}".encode()).hexdigest()[:4], 16)
                ip = f"10.0.{seed % 250 + 1}.{i + 10}"
                tg.targets[ip] = {"Id": ip, "Port": lb.get("containerPort", 80)}

    def _container_insights(self, r: Rollout) -> None:
        logs = logs_backends[r.account][r.region]
        name = f"/aws/ecs/containerinsights/{r.cluster}/performance"
        if name not in logs.groups:
            logs.create_log_group(name, {"cart:created-by": "ecs"})

    # CodeBuild --------------------------------------------------------------------------------------------
    def _push_image(self, b: PendingBuild) -> None:
        project = codebuild_backends[b.account][b.region].codebuild_projects.get(b.project)
        repo = None
        if project is not None:
            env_vars = project.project_metadata.get("environment", {}).get("environmentVariables", [])
            repo = next((e["value"] for e in env_vars if e.get("name") == "ECR_REPOSITORY"), None)
        repo = repo or b.project.removesuffix("-image")
        layer = "sha256:" + hashlib.sha256(f"{b.source_version}|{b.build_id}".encode()).hexdigest()
        manifest = image_manifest(layer)
        push_image(b.account, b.region, repo, b.image_tag, manifest)

    def build_state(self, build_id: str) -> PendingBuild | None:
        return self.builds.get(build_id)

    # ticking ----------------------------------------------------------------------------------------------
    def tick(self) -> None:
        now = self.clock()
        with self._lock:
            due = [r for r in self.rollouts if r.due_at <= now]
            self.rollouts = [r for r in self.rollouts if r.due_at > now]
            due_builds = [b for b in self.builds.values() if b.due_at <= now and b.due_at >= 0]
            for b in due_builds:
                b.due_at = -1.0  # done
        for r in due:
            self._finish_rollout(r)
        for b in due_builds:
            status = b.outcome()
            if status == "SUCCEEDED":
                try:
                    self._push_image(b)
                except ImageAlreadyExistsException as exc:  # as docker push to an immutable repository: it fails
                    b.push_refused = f"COMMAND_EXECUTION_ERROR: docker push failed: {exc.message}"
                    status = b.outcome()
            self.emit("codebuild", {"build_id": b.build_id, "project": b.project, "status": status})

    def start_ticker(self, interval: float = 0.2) -> None:
        if self._ticker is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:
                    traceback.print_exc()

        self._ticker = threading.Thread(target=loop, name="sandbox-emulator", daemon=True)
        self._ticker.start()

    def stop_ticker(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        self._ticker = None
        self._stop = threading.Event()


def image_manifest(layer_digest: str) -> dict[str, Any]:
    """A Docker v2 image manifest with one layer; ECR derives the image digest from it, so vary the layer."""
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1000,
            "digest": "sha256:" + hashlib.sha256(layer_digest.encode()).hexdigest(),
        },
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 12345, "digest": layer_digest}
        ],
    }


def manifest_json(seed: str) -> str:
    """An image manifest as ``put-image --image-manifest`` takes it; each seed gives its own image digest."""
    return json.dumps(image_manifest("sha256:" + hashlib.sha256(seed.encode()).hexdigest()))


def push_image(account: str, region: str, repo: str, tag: str, manifest: dict[str, Any]) -> str:
    """Push (PutImage) into the emulated ECR and return the digest."""
    image = ecr_backends[account][region].put_image(repo, json.dumps(manifest), tag)
    return str(image.image_digest)


# -------------------------------------------------------------------------------------------------------------
# The patches. install() applies them once per process and routes them to the current Emulator.
# -------------------------------------------------------------------------------------------------------------
_current: Emulator | None = None
_installed = False
# The moto callables each patch replaces, kept so the canary tests can check they still look as assumed.
ORIGINALS: dict[str, Any] = {}
_db_lock = threading.RLock()
# Writes are atomic, and reads never see half a transaction (DynamoDB serializes GetItem and Query with
# TransactWriteItems): every call takes one lock.
_ATOMIC = ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query", "scan")
_build_env = threading.local()
_ecs_request = threading.local()


def current() -> Emulator:
    if _current is None:
        raise RuntimeError("the sandbox emulator is not installed")
    return _current


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    emu = current()
    emu.invocations[self.function_name] += 1
    module_name, _, attr = str(self.handler).rpartition(".")
    payload: Any = {} if event is None else event  # moto hands over the request's payload decoded
    if isinstance(event, (str, bytes)):  # ... except an empty one, which it hands over as the text "{}"
        try:
            payload = json.loads(event)
        except ValueError:  # a JSON string payload: already decoded
            payload = event
    context = LambdaContext(function_name=self.function_name, invoked_function_arn=self.function_arn)
    try:
        handler = getattr(importlib.import_module(module_name), attr)
        result = handler(payload, context)
        return json.dumps(result), False, ""
    except Exception as exc:
        body = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
        return json.dumps(body), True, traceback.format_exc()


def install(emulator: Emulator) -> Emulator:
    """Apply the patches (once) and make ``emulator`` the one they drive."""
    global _current, _installed
    _current = emulator
    if _installed:
        return emulator
    _installed = True

    ORIGINALS.update(
        {
            "LambdaFunction._invoke_lambda": LambdaFunction._invoke_lambda,
            "EC2ContainerServiceBackend.create_service": EC2ContainerServiceBackend.create_service,
            "EC2ContainerServiceBackend.update_service": EC2ContainerServiceBackend.update_service,
            "EC2ContainerServiceBackend.describe_services": EC2ContainerServiceBackend.describe_services,
            "EC2ContainerServiceBackend.delete_service": EC2ContainerServiceBackend.delete_service,
            "EC2ContainerServiceBackend.delete_cluster": EC2ContainerServiceBackend.delete_cluster,
            "CodeBuildBackend.stop_build": CodeBuildBackend.stop_build,
            "EC2ContainerServiceResponse.create_service": EC2ContainerServiceResponse.create_service,
            "CodeBuildResponse.start_build": CodeBuildResponse.start_build,
            "CodeBuildBackend.start_build": CodeBuildBackend.start_build,
            "CodeBuildBackend.batch_get_builds": CodeBuildBackend.batch_get_builds,
            "ECRBackend.put_image": ECRBackend.put_image,
            "SfnEnvironment.set_stop": SfnEnvironment.set_stop,
            "SfnEnvironment.set_error": SfnEnvironment.set_error,
        }
    )
    ORIGINALS.update({f"DynamoDBBackend.{n}": getattr(DynamoDBBackend, n) for n in _ATOMIC})
    LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]

    for name in _ATOMIC:
        original = getattr(DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _db_lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, atomic)

    create_service = EC2ContainerServiceBackend.create_service
    response_create_service = EC2ContainerServiceResponse.create_service
    update_service = EC2ContainerServiceBackend.update_service
    describe_services = EC2ContainerServiceBackend.describe_services
    delete_service = EC2ContainerServiceBackend.delete_service

    def patched_create_response(self: Any) -> Any:
        _ecs_request.capacity = self._get_param("capacityProviderStrategy") or []
        _ecs_request.deployment = self._get_param("deploymentConfiguration") or {}
        try:
            return response_create_service(self)
        finally:
            _ecs_request.capacity = []
            _ecs_request.deployment = {}

    def patched_create(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = create_service(self, *args, **kwargs)
        service.capacity_provider_strategy = getattr(_ecs_request, "capacity", [])  # type: ignore[attr-defined]
        service.deployment_configuration = getattr(_ecs_request, "deployment", {})  # type: ignore[attr-defined]
        current().new_deployment(self, service, [], None)
        return service

    def patched_update(self: Any, service_properties: dict[str, Any]) -> Any:
        props = dict(service_properties)
        existing = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1])
        before = [dict(d) for d in existing.deployments]
        previous_td = existing.task_definition
        running_before = existing.running_count
        td_arg = props.get("task_definition")
        new_td = td_arg and self.describe_task_definition(td_arg).arn
        force = bool(props.get("force_new_deployment"))
        service = update_service(self, service_properties)
        if (new_td and new_td != previous_td) or force:
            if new_td:
                service.task_definition = new_td
            completed = [d for d in before if d.get("rolloutState") == "COMPLETED"]
            rollback_to = completed[0]["taskDefinition"] if completed else previous_td
            current().new_deployment(self, service, before, rollback_to)
        elif props.get("desired_count") is not None:
            service.deployments = before
            current().scale(self, service, running_before)
        else:
            service.deployments = before
        return service

    def patched_describe(self: Any, *args: Any, **kwargs: Any) -> Any:
        current().tick()
        return describe_services(self, *args, **kwargs)

    def active_cluster(self: Any, name: str) -> Any:
        cluster = self._get_cluster(name)
        if cluster.status != "ACTIVE":
            raise ecs_error("ClusterNotFoundException", "The referenced cluster was inactive.")
        return cluster

    def refusing_update(self: Any, service_properties: dict[str, Any]) -> Any:
        active_cluster(self, service_properties.get("cluster", "default"))
        existing = self._get_service(
            service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1]
        )
        if existing.status != "ACTIVE":
            raise ecs_error("ServiceNotActiveException", "Service was not ACTIVE.")
        return patched_update(self, service_properties)

    def refusing_create(self: Any, cluster_str: str, *args: Any, **kwargs: Any) -> Any:
        active_cluster(self, cluster_str)
        return patched_create(self, cluster_str, *args, **kwargs)

    delete_cluster = EC2ContainerServiceBackend.delete_cluster

    def refusing_delete_cluster(self: Any, cluster_str: str) -> Any:
        cluster = self._get_cluster(cluster_str)
        live = [s for s in self.services.values() if s.cluster_name == cluster.name and s.status != "INACTIVE"]
        if live:
            raise ecs_error(
                "ClusterContainsServicesException",
                "The Cluster cannot be deleted while Services are active.",
            )
        return delete_cluster(self, cluster_str)

    def patched_delete(self: Any, cluster_name: str, service_name: str, force: bool) -> Any:
        service = delete_service(self, cluster_name, service_name, force)
        with current()._lock:
            current().rollouts = [
                r for r in current().rollouts if not (r.cluster == service.cluster_name and r.service == service.name)
            ]
        service.deployments = []
        return service

    EC2ContainerServiceBackend.create_service = refusing_create  # type: ignore[method-assign]
    EC2ContainerServiceResponse.create_service = patched_create_response  # type: ignore[method-assign]
    EC2ContainerServiceBackend.update_service = refusing_update  # type: ignore[method-assign]
    EC2ContainerServiceBackend.delete_cluster = refusing_delete_cluster  # type: ignore[method-assign]
    EC2ContainerServiceBackend.describe_services = patched_describe  # type: ignore[method-assign]
    EC2ContainerServiceBackend.delete_service = patched_delete  # type: ignore[method-assign]

    response_start_build = CodeBuildResponse.start_build
    backend_start_build = CodeBuildBackend.start_build
    batch_get_builds = CodeBuildBackend.batch_get_builds

    def patched_response_start_build(self: Any) -> Any:
        _build_env.overrides = self._get_param("environmentVariablesOverride") or []
        try:
            return response_start_build(self)
        finally:
            _build_env.overrides = []

    def patched_start_build(self: Any, project_name: str, source_version: str | None = None, *a: Any, **kw: Any) -> Any:
        metadata = backend_start_build(self, project_name, source_version, *a, **kw)
        overrides = getattr(_build_env, "overrides", [])
        tag = next((o["value"] for o in overrides if o.get("name") == "IMAGE_TAG"), None) or (source_version or "main")
        emu = current()
        emu.builds[metadata["id"]] = PendingBuild(
            account=self.account_id,
            region=self.region_name,
            build_id=metadata["id"],
            project=project_name,
            source_version=source_version or "main",
            image_tag=tag,
            due_at=emu.clock() + emu.build_seconds,
        )
        return metadata

    def patched_batch_get_builds(self: Any, ids: list[str]) -> Any:
        emu = current()
        emu.tick()
        builds = batch_get_builds(self, ids)
        for build in builds:
            pending = emu.builds.get(build["id"])
            if pending is None:
                continue
            if pending.due_at >= 0:
                build["buildStatus"], build["currentPhase"] = "IN_PROGRESS", "BUILD"
                build.pop("endTime", None)
            elif pending.outcome() != "SUCCEEDED":
                build["buildStatus"], build["currentPhase"] = pending.outcome(), "COMPLETED"
                if pending.push_refused is not None:
                    build["phases"] = [
                        {
                            "phaseType": "POST_BUILD",
                            "phaseStatus": "FAILED",
                            "contexts": [{"message": pending.push_refused}],
                        }
                    ]
                elif pending.outcome() == "FAILED":
                    build["phases"] = [
                        {"phaseType": "BUILD", "phaseStatus": "FAILED", "contexts": [{"message": BUILD_FAILURE}]}
                    ]
        return builds

    put_image = ECRBackend.put_image

    def patched_put_image(self: Any, repository_name: str, *args: Any, **kwargs: Any) -> Any:
        image = put_image(self, repository_name, *args, **kwargs)
        tag = kwargs.get("image_tag", args[1] if len(args) > 1 else None)
        current().emit(
            "ecr-push",
            {
                "account": self.account_id,
                "region": self.region_name,
                "repository": repository_name,
                "digest": str(image.image_digest),
                "tag": tag or None,
            },
        )
        return image

    ECRBackend.put_image = patched_put_image  # type: ignore[method-assign]

    set_stop = SfnEnvironment.set_stop

    def patched_set_stop(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = set_stop(self, *args, **kwargs)
        for endpoint in list(self.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()  # a state waiting for a task token sees the stop now, not at its timeout
        return result

    set_error = SfnEnvironment.set_error

    def patched_set_error(self: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self._program_state, ProgramStopped):  # a stopped execution stays ABORTED
            return None
        return set_error(self, *args, **kwargs)

    SfnEnvironment.set_stop = patched_set_stop  # type: ignore[method-assign]
    SfnEnvironment.set_error = patched_set_error  # type: ignore[method-assign]
    CodeBuildResponse.start_build = patched_response_start_build  # type: ignore[method-assign]
    CodeBuildBackend.start_build = patched_start_build  # type: ignore[method-assign]
    CodeBuildBackend.batch_get_builds = patched_batch_get_builds  # type: ignore[method-assign]

    stop_build = CodeBuildBackend.stop_build

    def patched_stop_build(self: Any, build_id: str) -> Any:
        pending = current().builds.get(build_id)
        if pending is not None and pending.due_at >= 0:
            pending.stopped = True
            pending.due_at = current().clock()  # ends at the next tick, as STOPPED
        return stop_build(self, build_id)

    CodeBuildBackend.stop_build = patched_stop_build  # type: ignore[method-assign]
    return emulator
