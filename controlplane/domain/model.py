"""Environments, operations and their steps: plain data with the rules that belong to it. Pure.

Every ``to_dict`` writes times as ISO 8601 UTC (``times.iso``) and every ``from_dict`` reads them back; the API,
the registry and the notifications all use these dictionaries.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from controlplane.domain.times import iso, iso_or_none, read_time


class Tier(enum.StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class EnvStatus(enum.StrEnum):
    ABSENT = "absent"
    PROVISIONING = "provisioning"
    READY = "ready"
    DEPLOYING = "deploying"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    FAILED = "failed"


class OpKind(enum.StrEnum):
    PROVISION = "provision"
    BUILD = "build"
    DEPLOY = "deploy"
    DESTROY = "destroy"


class OpStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def finished(self) -> bool:
        return self is not OpStatus.RUNNING


class StepStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


# Minimum desired task count per tier: prod always runs at least three tasks.
TIER_MIN_COUNT = {Tier.DEV: 0, Tier.STAGING: 1, Tier.PROD: 3}
MAX_DESIRED_COUNT = 50


@dataclass(frozen=True)
class DeployOnPush:
    """Which pushed images deploy to an environment: an exact tag, a glob, or a semver range.

    ``quiet_seconds``: a push-triggered deploy first waits this long; if a newer push arrived meanwhile it
    stands down for it, so the intermediate digests of a burst are never deployed.
    """

    match: str  # exact | glob | semver
    pattern: str
    repository: str | None = None
    quiet_seconds: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "pattern": self.pattern,
            "repository": self.repository,
            "quiet_seconds": self.quiet_seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeployOnPush:
        return cls(
            match=str(data["match"]),
            pattern=str(data["pattern"]),
            repository=data.get("repository"),
            quiet_seconds=int(data.get("quiet_seconds") or 0),
        )


@dataclass(frozen=True)
class EnvSettings:
    """What users set through ``PUT /environments/{name}``; operations never write these."""

    desired_count: int | None = None  # None: the tier profile's count from the contract
    nightly_teardown: bool = False
    deploy_on_push: DeployOnPush | None = None
    protected: bool = False
    notification_topic: str | None = None  # SNS topic name or ARN: operation ends and teardown reminders

    def replace(self, **changes: Any) -> EnvSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "desired_count": self.desired_count,
            "nightly_teardown": self.nightly_teardown,
            "deploy_on_push": self.deploy_on_push.to_dict() if self.deploy_on_push else None,
            "protected": self.protected,
            "notification_topic": self.notification_topic,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvSettings:
        dop = data.get("deploy_on_push")
        count = data.get("desired_count")
        return cls(
            desired_count=int(count) if count is not None else None,
            nightly_teardown=bool(data.get("nightly_teardown", False)),
            deploy_on_push=DeployOnPush.from_dict(dop) if dop else None,
            protected=bool(data.get("protected", False)),
            notification_topic=data.get("notification_topic"),
        )


def default_settings(name: str, tier: Tier) -> EnvSettings:
    """What a new environment of a tier starts with."""
    topic = f"cart-service-{name}-notifications"
    if tier is Tier.DEV:
        return EnvSettings(
            nightly_teardown=True,
            deploy_on_push=DeployOnPush(match="exact", pattern="latest", repository=f"cart-service-{name}"),
            notification_topic=topic,
        )
    return EnvSettings(notification_topic=topic)


@dataclass(frozen=True)
class ServiceState:
    """What ECS reports for the environment's service (``describe-services``), when it was read."""

    status: str | None  # ACTIVE | DRAINING | INACTIVE | None (there is no service)
    task_definition_arn: str | None = None
    image_digest: str | None = None
    image_tag: str | None = None
    desired_count: int = 0
    running_count: int = 0
    rollout_state: str | None = None  # the primary deployment's: IN_PROGRESS | COMPLETED | FAILED
    observed_at: float = 0.0

    @property
    def exists(self) -> bool:
        return self.status in ("ACTIVE", "DRAINING")

    @property
    def serving(self) -> bool:
        """The service exists and is meant to run tasks."""
        return self.status == "ACTIVE" and self.desired_count > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "task_definition_arn": self.task_definition_arn,
            "image_digest": self.image_digest,
            "image_tag": self.image_tag,
            "desired_count": self.desired_count,
            "running_count": self.running_count,
            "rollout_state": self.rollout_state,
            "observed_at": iso(self.observed_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceState:
        return cls(
            status=data.get("status"),
            task_definition_arn=data.get("task_definition_arn"),
            image_digest=data.get("image_digest"),
            image_tag=data.get("image_tag"),
            desired_count=int(data.get("desired_count") or 0),
            running_count=int(data.get("running_count") or 0),
            rollout_state=data.get("rollout_state"),
            observed_at=read_time(data.get("observed_at")) or 0.0,
        )


@dataclass(frozen=True)
class Intended:
    """What the control plane last deployed successfully (or was told to keep)."""

    task_definition_arn: str
    image_digest: str | None
    image_tag: str | None
    operation_id: str
    deployed_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_definition_arn": self.task_definition_arn,
            "image_digest": self.image_digest,
            "image_tag": self.image_tag,
            "operation_id": self.operation_id,
            "deployed_at": iso(self.deployed_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intended:
        return cls(
            task_definition_arn=str(data["task_definition_arn"]),
            image_digest=data.get("image_digest"),
            image_tag=data.get("image_tag"),
            operation_id=str(data.get("operation_id", "")),
            deployed_at=read_time(data.get("deployed_at")) or 0.0,
        )


@dataclass(frozen=True)
class Lock:
    """The running operation that holds an environment (taken with the operation, released when it ends)."""

    operation_id: str
    kind: OpKind
    expires_at: float  # informational: a lock is only taken over once its execution has ended

    def to_dict(self) -> dict[str, Any]:
        return {"operation_id": self.operation_id, "kind": self.kind.value, "expires_at": iso(self.expires_at)}


@dataclass(frozen=True)
class PushRecord:
    """The newest ECR push seen for an environment, and what became of it."""

    digest: str
    tag: str | None
    pushed_at: float  # the event's time (one-second resolution)
    state: str  # pending | started | dropped
    operation_id: str
    note: str = ""

    def replace(self, **changes: Any) -> PushRecord:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "tag": self.tag,
            "pushed_at": iso(self.pushed_at),
            "state": self.state,
            "operation_id": self.operation_id,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PushRecord:
        return cls(
            digest=str(data["digest"]),
            tag=data.get("tag"),
            pushed_at=read_time(data.get("pushed_at")) or 0.0,
            state=str(data.get("state", "pending")),
            operation_id=str(data["operation_id"]),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True)
class Environment:
    name: str
    tier: Tier
    tier_source: str = "request"  # contract (Terraform published it) | request (set through the API)
    status: EnvStatus = EnvStatus.ABSENT
    settings: EnvSettings = field(default_factory=EnvSettings)
    version: int = 0  # incremented by every write of the item; a settings PUT is conditional on it
    lock: Lock | None = None
    last_operation_id: str | None = None
    service: ServiceState | None = None  # what ECS runs
    intended: Intended | None = None  # what the control plane deployed
    url: str | None = None
    keep_alive_until: float | None = None
    push: PushRecord | None = None
    updated_at: float = 0.0

    def replace(self, **changes: Any) -> Environment:
        return dataclasses.replace(self, **changes)

    def requires_confirmation(self) -> bool:
        return self.tier in (Tier.STAGING, Tier.PROD) or self.settings.protected

    @property
    def drift(self) -> str | None:
        """A sentence when what ECS runs differs from what the control plane deployed; None when they agree."""
        svc, want = self.service, self.intended
        if want is None:
            if svc is not None and svc.exists and svc.task_definition_arn:
                return f"ECS runs {svc.task_definition_arn}, which the control plane did not deploy"
            return None
        if svc is None or not svc.exists:
            return f"the control plane deployed {want.task_definition_arn}, but ECS runs no service"
        if svc.task_definition_arn != want.task_definition_arn:
            return f"ECS runs {svc.task_definition_arn}, but the control plane deployed {want.task_definition_arn}"
        return None

    def keep_alive(self, now: float) -> float | None:
        until = self.keep_alive_until
        return until if until is not None and until > now else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tier": self.tier.value,
            "tier_source": self.tier_source,
            "status": self.status.value,
            "version": self.version,
            "settings": self.settings.to_dict(),
            "locked_by": self.lock.operation_id if self.lock else None,
            "lock_expires_at": iso(self.lock.expires_at) if self.lock else None,
            "last_operation_id": self.last_operation_id,
            "service": self.service.to_dict() if self.service else None,
            "intended": self.intended.to_dict() if self.intended else None,
            "drift": self.drift,
            "url": self.url,
            "keep_alive_until": iso_or_none(self.keep_alive_until),
            "pending_push": self.push.to_dict() if self.push and self.push.state == "pending" else None,
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class StepRecord:
    name: str
    status: StepStatus
    started_at: float
    ended_at: float | None = None
    attempts: int = 1
    polls: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def replace(self, **changes: Any) -> StepRecord:
        return dataclasses.replace(self, **changes)

    @property
    def duration_seconds(self) -> float | None:
        return None if self.ended_at is None else round(self.ended_at - self.started_at, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "started_at": iso(self.started_at),
            "ended_at": iso_or_none(self.ended_at),
            "duration_seconds": self.duration_seconds,
            "attempts": self.attempts,
            "polls": self.polls,
            "detail": self.detail,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(
            name=str(data["name"]),
            status=StepStatus(data["status"]),
            started_at=read_time(data["started_at"]) or 0.0,
            ended_at=read_time(data.get("ended_at")),
            attempts=int(data.get("attempts", 1)),
            polls=int(data.get("polls", 0)),
            detail=dict(data.get("detail") or {}),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class CancelRequest:
    mode: str  # rollback (undo a rollout that began) | finish (let it finish, record what runs)
    requested_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "requested_at": iso(self.requested_at)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CancelRequest:
        return cls(mode=str(data.get("mode", "rollback")), requested_at=read_time(data.get("requested_at")) or 0.0)


@dataclass(frozen=True)
class Operation:
    id: str
    kind: OpKind
    environment: str
    trigger: str  # api | schedule | ecr-push
    params: dict[str, Any]
    status: OpStatus = OpStatus.RUNNING
    created_at: float = 0.0
    ended_at: float | None = None
    steps: tuple[StepRecord, ...] = ()
    error: dict[str, Any] | None = None
    result: dict[str, Any] = field(default_factory=dict)
    execution_arn: str | None = None
    cancel: CancelRequest | None = None
    before: EnvStatus | None = None  # the environment's status when the operation started
    wait_key: str | None = None  # the task-token wait it is parked on (internal: a cancel resolves it)

    def replace(self, **changes: Any) -> Operation:
        return dataclasses.replace(self, **changes)

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)

    def with_step(self, record: StepRecord) -> Operation:
        others = tuple(s for s in self.steps if s.name != record.name)
        return self.replace(steps=ordered((*others, record)))

    def running_step(self) -> StepRecord | None:
        running = [s for s in self.steps if s.status is StepStatus.RUNNING]
        return running[-1] if running else None

    def failed_step(self) -> StepRecord | None:
        failed = [s for s in self.steps if s.status is StepStatus.FAILED]
        return failed[-1] if failed else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "environment": self.environment,
            "trigger": self.trigger,
            "params": self.params,
            "status": self.status.value,
            "created_at": iso(self.created_at),
            "ended_at": iso_or_none(self.ended_at),
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error,
            "result": self.result,
            "cancel": self.cancel.to_dict() if self.cancel else None,
            "environment_status_before": self.before.value if self.before else None,
            "execution_arn": self.execution_arn,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Operation:
        cancel, before = data.get("cancel"), data.get("environment_status_before")
        return cls(
            id=str(data["id"]),
            kind=OpKind(data["kind"]),
            environment=str(data["environment"]),
            trigger=str(data.get("trigger", "api")),
            params=dict(data.get("params") or {}),
            status=OpStatus(data.get("status", "RUNNING")),
            created_at=read_time(data.get("created_at")) or 0.0,
            ended_at=read_time(data.get("ended_at")),
            steps=ordered(StepRecord.from_dict(s) for s in data.get("steps") or []),
            error=data.get("error"),
            result=dict(data.get("result") or {}),
            execution_arn=data.get("execution_arn"),
            cancel=CancelRequest.from_dict(cancel) if cancel else None,
            before=EnvStatus(before) if before else None,
        )


def ordered(steps: Any) -> tuple[StepRecord, ...]:
    """A timeline in the order the steps began (a step that began with another ended first)."""
    return tuple(sorted(steps, key=lambda s: (s.started_at, s.ended_at if s.ended_at is not None else 1e18)))


def request_fingerprint(kind: str, environment: str, body: dict[str, Any]) -> str:
    """Stable hash of a mutating request, for Idempotency-Key checks."""
    canonical = json.dumps({"kind": kind, "environment": environment, "body": body}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
