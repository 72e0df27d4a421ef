"""Environments, operations, steps and the lock: plain data with the rules that belong to it."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


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
    """Which pushed images deploy to an environment: an exact tag, a glob, or a semver range."""

    match: str  # exact | glob | semver
    pattern: str
    repository: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"match": self.match, "pattern": self.pattern, "repository": self.repository}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeployOnPush:
        return cls(match=str(data["match"]), pattern=str(data["pattern"]), repository=data.get("repository"))


@dataclass(frozen=True)
class EnvSettings:
    desired_count: int | None = None  # None: the tier profile's count from the contract
    nightly_teardown: bool = False
    deploy_on_push: DeployOnPush | None = None
    protected: bool = False
    notification_topic: str | None = None  # SNS topic name or ARN: operation ends and teardown reminders

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
    """What a new environment of a tier starts with (the seed's table)."""
    topic = f"cart-service-{name}-notifications"
    if tier is Tier.DEV:
        return EnvSettings(
            nightly_teardown=True,
            deploy_on_push=DeployOnPush(match="exact", pattern="latest", repository=f"cart-service-{name}"),
            notification_topic=topic,
        )
    return EnvSettings(notification_topic=topic)


@dataclass(frozen=True)
class Environment:
    name: str
    tier: Tier
    status: EnvStatus = EnvStatus.ABSENT
    settings: EnvSettings = field(default_factory=EnvSettings)
    image_digest: str | None = None
    task_definition_arn: str | None = None
    last_operation_id: str | None = None
    updated_at: float = 0.0

    def replace(self, **changes: Any) -> Environment:
        return dataclasses.replace(self, **changes)

    def requires_confirmation(self) -> bool:
        return self.tier in (Tier.STAGING, Tier.PROD) or self.settings.protected

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tier": self.tier.value,
            "status": self.status.value,
            "settings": self.settings.to_dict(),
            "image_digest": self.image_digest,
            "task_definition_arn": self.task_definition_arn,
            "last_operation_id": self.last_operation_id,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Environment:
        return cls(
            name=str(data["name"]),
            tier=Tier(data["tier"]),
            status=EnvStatus(data.get("status", "absent")),
            settings=EnvSettings.from_dict(data.get("settings") or {}),
            image_digest=data.get("image_digest"),
            task_definition_arn=data.get("task_definition_arn"),
            last_operation_id=data.get("last_operation_id"),
            updated_at=float(data.get("updated_at") or 0.0),
        )


SEED_ENVIRONMENTS: tuple[tuple[str, Tier], ...] = (
    ("dev", Tier.DEV),
    ("staging", Tier.STAGING),
    ("prod", Tier.PROD),
)


def seed_environments(now: float) -> list[Environment]:
    return [Environment(name=n, tier=t, settings=default_settings(n, t), updated_at=now) for n, t in SEED_ENVIRONMENTS]


@dataclass(frozen=True)
class StepRecord:
    name: str
    seq: int
    status: StepStatus
    started_at: float
    ended_at: float | None = None
    attempts: int = 1
    polls: int = 0
    error: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        return None if self.ended_at is None else round(self.ended_at - self.started_at, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seq": self.seq,
            "status": self.status.value,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_seconds": self.duration_seconds,
            "attempts": self.attempts,
            "polls": self.polls,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        ended = data.get("ended_at")
        return cls(
            name=str(data["name"]),
            seq=int(data["seq"]),
            status=StepStatus(data["status"]),
            started_at=float(data["started_at"]),
            ended_at=float(ended) if ended is not None else None,
            attempts=int(data.get("attempts", 1)),
            polls=int(data.get("polls", 0)),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class Operation:
    id: str
    kind: OpKind
    environment: str
    trigger: str  # api | schedule | ecr-push | ...
    params: dict[str, Any]
    status: OpStatus = OpStatus.RUNNING
    created_at: float = 0.0
    ended_at: float | None = None
    steps: tuple[StepRecord, ...] = ()
    error: dict[str, Any] | None = None
    result: dict[str, Any] = field(default_factory=dict)
    execution_arn: str | None = None

    def replace(self, **changes: Any) -> Operation:
        return dataclasses.replace(self, **changes)

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)

    def with_step(self, record: StepRecord) -> Operation:
        others = tuple(s for s in self.steps if s.name != record.name)
        return self.replace(steps=tuple(sorted((*others, record), key=lambda s: s.seq)))

    def failed_step(self) -> StepRecord | None:
        failed = [s for s in self.steps if s.status is not StepStatus.SUCCEEDED]
        return failed[-1] if failed else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "environment": self.environment,
            "trigger": self.trigger,
            "params": self.params,
            "status": self.status.value,
            "created_at": self.created_at,
            "ended_at": self.ended_at,
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error,
            "result": self.result,
            "execution_arn": self.execution_arn,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Operation:
        ended = data.get("ended_at")
        return cls(
            id=str(data["id"]),
            kind=OpKind(data["kind"]),
            environment=str(data["environment"]),
            trigger=str(data.get("trigger", "api")),
            params=dict(data.get("params") or {}),
            status=OpStatus(data.get("status", "RUNNING")),
            created_at=float(data.get("created_at") or 0.0),
            ended_at=float(ended) if ended is not None else None,
            steps=tuple(StepRecord.from_dict(s) for s in data.get("steps") or []),
            error=data.get("error"),
            result=dict(data.get("result") or {}),
            execution_arn=data.get("execution_arn"),
        )


@dataclass(frozen=True)
class Lock:
    environment: str
    operation_id: str
    expires_at: float

    def expired(self, now: float) -> bool:
        return self.expires_at <= now


def request_fingerprint(kind: str, environment: str, body: dict[str, Any]) -> str:
    """Stable hash of a mutating request, for Idempotency-Key checks."""
    canonical = json.dumps({"kind": kind, "environment": environment, "body": body}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


TRANSITIONAL = {
    OpKind.PROVISION: EnvStatus.PROVISIONING,
    OpKind.DEPLOY: EnvStatus.DEPLOYING,
    OpKind.DESTROY: EnvStatus.DESTROYING,
}


def status_after_failure(kind: OpKind, current: EnvStatus) -> EnvStatus:
    """Where an environment stands after its operation failed or was aborted.

    A failed deploy leaves the previous revision serving (the circuit breaker rolled back), so the environment is
    still ready; a failed provision or destroy leaves it half-made: failed. A build never moves the status.
    """
    if current is not TRANSITIONAL.get(kind):
        return current
    if kind is OpKind.DEPLOY:
        return EnvStatus.READY
    return EnvStatus.FAILED
