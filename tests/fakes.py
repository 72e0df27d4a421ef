"""Fakes for the ports: an in-memory platform (ECS, ECR, CodeBuild as far as the steps see them), executor and
task-token sender, a settable clock, and a fault-injecting boto3 client wrapper."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from controlplane.domain import rollout
from controlplane.domain.contract import Contract, tier_profile
from controlplane.domain.plans import Inventory
from controlplane.errors import BaseInfrastructureMissing, StepError
from controlplane.ports import BuildStatus, ServiceChange


def client_error(code: str, status: int = 400, operation: str = "Operation") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"injected {code}"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class Faults:
    """Plan failures per (service, method): each call pops the next planned outcome (an exception or None)."""

    def __init__(self) -> None:
        self.plan: dict[tuple[str, str], list[BaseException | None]] = defaultdict(list)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)

    def fail(self, service: str, method: str, *outcomes: BaseException | None) -> None:
        self.plan[(service, method)].extend(outcomes)

    def always(self, service: str, method: str, error: BaseException, times: int = 100) -> None:
        self.fail(service, method, *([error] * times))

    def wrap(self, service: str, client: Any) -> Any:
        return FaultyClient(service, client, self)


class FaultyClient:
    def __init__(self, service: str, inner: Any, faults: Faults) -> None:
        self._service, self._inner, self._faults = service, inner, faults

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("get_paginator") or name == "meta":
            return attr
        key = (self._service, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._faults.calls[key] += 1
            planned = self._faults.plan.get(key)
            if planned:
                outcome = planned.pop(0)
                if outcome is not None:
                    raise outcome
            return attr(*args, **kwargs)

        return call


class Clock:
    """A settable clock (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeExecutor:
    """Records starts; execution statuses are set by the test."""

    PREFIX = "arn:aws:states:eu-central-1:123456789012:execution:cart-controlplane-test-"

    def __init__(self) -> None:
        self.started: list[tuple[str, str, dict[str, Any]]] = []
        self.statuses: dict[str, str] = {}
        self.fail_start: BaseException | None = None

    def execution_arn(self, machine: str, name: str) -> str:
        return f"{self.PREFIX}{machine}:{name}"

    def start(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        if self.fail_start is not None:
            raise self.fail_start
        arn = self.execution_arn(machine, name)
        self.started.append((machine, name, payload))
        self.statuses[arn] = "RUNNING"
        return arn

    def status(self, execution_arn: str) -> str | None:
        return self.statuses.get(execution_arn)


class FakeSender:
    """Records what task tokens were sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def success(self, token: str, output: dict[str, Any]) -> None:
        self.sent.append(("success", token, output))

    def failure(self, token: str, error: str, cause: str) -> None:
        self.sent.append(("failure", token, (error, cause)))


class FakeNotifier:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, topic: str, subject: str, message: dict[str, Any]) -> bool:
        self.published.append((topic, subject, message))
        return True


def contract(env: str = "dev", tier: str = "dev", **changes: Any) -> Contract:
    values: dict[str, Any] = {
        "environment": env,
        "tier": tier,
        "cluster_name": f"ecommerce-{env}",
        "service_name": f"cart-service-{env}",
        "task_family": f"cart-service-{env}",
        "container_name": "cart",
        "container_port": 8080,
        "task_cpu": "256",
        "task_memory": "512",
        "subnet_ids": ("subnet-1", "subnet-2"),
        "security_group_ids": ("sg-1",),
        "assign_public_ip": False,
        "target_group_arn": f"arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/cart-{env}-tg/1",
        "ecr_repository_name": f"cart-service-{env}",
        "data_table_name": f"cart-service-{env}-carts",
        "codebuild_project_name": f"cart-service-{env}-image",
        "execution_role_arn": "arn:aws:iam::123456789012:role/exec",
        "task_role_arn": "arn:aws:iam::123456789012:role/task",
        "log_group_name": f"/cart-service/{env}/app",
        "log_retention_days": 14,
        "profile": tier_profile(tier),
        "alb_dns_name": f"cart-{env}.example.com",
    }
    return Contract(**(values | changes))


@dataclass
class FakeService:
    status: str
    task_definition: str
    desired: int
    running: int
    deployments: list[dict[str, Any]] = field(default_factory=list)


class FakePlatform:
    """ECS, ECR and CodeBuild in memory, as far as the steps see them. Deployments complete when the test says."""

    ACCOUNT_REPO = "123456789012.dkr.ecr.eu-central-1.amazonaws.com"

    def __init__(self, *contracts: Contract) -> None:
        self.contracts_ = {k.environment: k for k in contracts}
        self.images: dict[str, dict[str, str | None]] = defaultdict(dict)  # repo -> digest -> tag
        self.task_definitions: dict[str, str] = {}  # arn -> image
        self.services: dict[str, FakeService] = {}  # environment -> service
        self.builds: dict[str, str] = {}  # build id -> status
        self.calls: list[str] = []
        self.missing: list[str] = []
        self.autoscaling: dict[str, tuple[int, int]] = {}
        self.log_groups_: set[str] = set()
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _k(self, name: str) -> str:
        return name

    # contract and base
    def read_contract(self, environment: str) -> Contract:
        self.calls.append("read_contract")
        if environment not in self.contracts_:
            raise BaseInfrastructureMissing(f"no contract published for {environment}")
        return self.contracts_[environment]

    def explain(self, exc: Exception) -> StepError | None:
        return None  # the fake raises only the control plane's own errors

    def contracts(self) -> Mapping[str, Contract]:
        return dict(self.contracts_)

    def missing_base(self, k: Contract) -> list[str]:
        return list(self.missing)

    # images and builds
    def push(self, repo: str, tag: str | None = None) -> str:
        digest = f"sha256:{self._next():064x}"
        self.images[repo][digest] = tag
        return digest

    def repository_uri(self, repo: str) -> str:
        return f"{self.ACCOUNT_REPO}/{repo}"

    def digest_for_tag(self, repo: str, tag: str) -> str | None:
        return next((d for d, t in self.images[repo].items() if t == tag), None)

    def image_exists(self, repo: str, digest: str) -> bool:
        return digest in self.images[repo]

    def newest_image(self, repo: str) -> tuple[str, str | None] | None:
        if not self.images[repo]:
            return None
        digest = next(reversed(self.images[repo]))
        return digest, self.images[repo][digest]

    def start_build(self, k: Contract, source_version: str | None, image_tag: str, idempotency_token: str) -> str:
        build_id = f"{k.codebuild_project_name}:{idempotency_token}"
        self.builds[build_id] = "IN_PROGRESS"
        self.calls.append(f"start_build:{source_version}:{image_tag}")
        return build_id

    def finish_build(self, build_id: str, k: Contract, tag: str, ok: bool = True) -> str | None:
        self.builds[build_id] = "SUCCEEDED" if ok else "FAILED"
        return self.push(k.ecr_repository_name, tag) if ok else None

    def build_status(self, build_id: str) -> BuildStatus:
        return BuildStatus(self.builds.get(build_id, "UNKNOWN"), "BUILD")

    def stop_build(self, build_id: str) -> None:
        self.builds[build_id] = "STOPPED"

    # the service
    def register_task_definition(self, k: Contract, image: str) -> str:
        for arn, known in self.task_definitions.items():
            if known == image and rollout.family(arn) == k.task_family:
                return arn
        arn = f"arn:aws:ecs:eu-central-1:123456789012:task-definition/{k.task_family}:{len(self.task_definitions) + 1}"
        self.task_definitions[arn] = image
        return arn

    def task_definition_images(self, arns: Sequence[str]) -> dict[str, str | None]:
        self.calls.append("task_definition_images")
        return {a: self.task_definitions.get(a) for a in arns}

    def describe_service(self, k: Contract) -> dict[str, Any] | None:
        svc = self.services.get(k.environment)
        if svc is None:
            return None
        return {
            "status": svc.status,
            "taskDefinition": svc.task_definition,
            "desiredCount": svc.desired,
            "runningCount": svc.running,
            "deployments": [dict(d) for d in svc.deployments],
        }

    def apply_service(self, k: Contract, task_definition: str | None, desired_on_create: int) -> ServiceChange:
        self.calls.append(f"apply_service:{task_definition}")
        svc = self.services.get(k.environment)
        dep = f"ecs-svc/{self._next()}"
        if svc is None or svc.status != "ACTIVE":
            if task_definition is None:
                raise client_error("ServiceNotFoundException")
            svc = FakeService("ACTIVE", task_definition, desired_on_create, 0)
            self.services[k.environment] = svc
            previous = None
        else:
            previous = svc.task_definition
            svc.task_definition = task_definition or svc.task_definition
        for d in svc.deployments:
            d["status"] = "ACTIVE"
        svc.deployments.insert(
            0, {"id": dep, "status": "PRIMARY", "taskDefinition": svc.task_definition, "rolloutState": "IN_PROGRESS"}
        )
        return ServiceChange(dep, svc.task_definition, previous, svc.desired, self.describe_service(k) or {})

    def complete(self, environment: str, ok: bool = True) -> str:
        """The primary deployment completes (ok) or fails and rolls back to the previous task definition."""
        svc = self.services[environment]
        head = svc.deployments[0]
        if ok:
            head["rolloutState"] = "COMPLETED"
            svc.running = svc.desired
            svc.deployments = [head]
        else:
            head["rolloutState"], head["status"] = "FAILED", "ACTIVE"
            previous = next((d["taskDefinition"] for d in svc.deployments[1:]), head["taskDefinition"])
            svc.task_definition = previous
            svc.deployments.insert(
                0,
                {
                    "id": f"ecs-svc/{self._next()}",
                    "status": "PRIMARY",
                    "taskDefinition": previous,
                    "rolloutState": "COMPLETED",
                },
            )
        return str(head["id"])

    def deployment_outcome(self, k: Contract, deployment_id: str) -> rollout.DeploymentOutcome:
        return rollout.outcome_of(self.describe_service(k), deployment_id)

    def rollout_progress(self, cluster: str, service: str, deployment_id: str) -> dict[str, Any]:
        return {"deployment_id": deployment_id}

    def failure_details(self, k: Contract, deployment_id: str | None) -> dict[str, Any]:
        return {"stopped_tasks": [{"task_arn": "t1", "stopped_reason": "Essential container in task exited"}]}

    def configure_autoscaling(self, k: Contract, low: int, high: int) -> None:
        self.autoscaling[k.environment] = (low, high)

    def remove_autoscaling(self, k: Contract) -> bool:
        return self.autoscaling.pop(k.environment, None) is not None

    def scalable_target(self, k: Contract) -> dict[str, Any] | None:
        limits = self.autoscaling.get(k.environment)
        return {"MinCapacity": limits[0], "MaxCapacity": limits[1]} if limits else None

    def healthy_targets(self, k: Contract) -> int:
        svc = self.services.get(k.environment)
        return svc.running if svc else 0

    def scale_service(self, k: Contract, desired_count: int) -> bool:
        svc = self.services.get(k.environment)
        if svc is None or svc.status != "ACTIVE":
            return False
        svc.desired = desired_count
        return True

    def drained(self, environment: str) -> None:
        svc = self.services[environment]
        svc.running = svc.desired

    def delete_service(self, k: Contract) -> bool:
        svc = self.services.get(k.environment)
        if svc is None or svc.status != "ACTIVE":
            return False
        svc.status = "DRAINING"
        return True

    def deregister_task_definitions(self, family: str) -> int:
        gone = [a for a in self.task_definitions if rollout.family(a) == family]
        for arn in gone:
            del self.task_definitions[arn]
        return len(gone)

    def delete_images(self, repo: str) -> int:
        count = len(self.images[repo])
        self.images[repo].clear()
        return count

    def log_groups(self, k: Contract) -> list[str]:
        return sorted(self.log_groups_)

    def delete_log_groups(self, names: Sequence[str]) -> int:
        self.log_groups_ -= set(names)
        return len(names)

    def inventory(self, k: Contract) -> Inventory:
        svc = self.services.get(k.environment)
        return Inventory(
            environment=k.environment,
            cluster=k.cluster_name,
            service_name=k.service_name,
            service_status=svc.status if svc else None,
            desired_count=svc.desired if svc else 0,
            running_count=svc.running if svc else 0,
            scalable_target=k.environment in self.autoscaling,
            task_definitions=tuple(a for a in self.task_definitions if rollout.family(a) == k.task_family),
            images=tuple(self.images[k.ecr_repository_name]),
            log_groups=tuple(sorted(self.log_groups_)),
        )

    def tagged_leftovers(self, k: Contract) -> list[str]:
        return []
