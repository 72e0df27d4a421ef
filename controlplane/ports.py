"""Ports: what the use cases and the steps need from the outside world. Adapters live in ``aws/`` and ``store/``;
``tests/fakes.py`` has in-memory ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from controlplane.domain.contract import Contract
from controlplane.domain.model import (
    CancelRequest,
    Environment,
    EnvSettings,
    EnvStatus,
    Intended,
    Lock,
    Operation,
    OpKind,
    OpStatus,
    PushRecord,
    ServiceState,
    StepRecord,
    Tier,
)
from controlplane.domain.plans import Inventory
from controlplane.domain.rollout import DeploymentOutcome
from controlplane.domain.schedule import Snapshot
from controlplane.errors import StepError

Clock = Callable[[], float]
T = TypeVar("T")


# --- what the registry reports ---------------------------------------------------------------------------------
class LockHeld(Exception):
    """The environment is held by another operation."""

    def __init__(self, environment: str, lock: Lock) -> None:
        super().__init__(f"environment {environment} is locked by operation {lock.operation_id}")
        self.environment, self.lock = environment, lock


class EnvironmentMissing(Exception):
    """No such environment in the registry."""


class StatusRefused(Exception):
    """The environment's status does not allow the operation."""

    def __init__(self, status: EnvStatus) -> None:
        super().__init__(status.value)
        self.status = status


class OperationExists(Exception):
    """An operation with that id exists already (a replay of a deterministic id)."""


class IdempotencyReplay(Exception):
    """The Idempotency-Key was used before: with this fingerprint, for this operation."""

    def __init__(self, fingerprint: str, operation_id: str) -> None:
        super().__init__(operation_id)
        self.fingerprint, self.operation_id = fingerprint, operation_id


class VersionConflict(Exception):
    """The environment changed since it was read (its version moved)."""


class OperationEnded(Exception):
    """The operation is not running any more (it ended, or it does not exist)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None  # an opaque cursor for the next page, None on the last


class BadCursor(ValueError):
    """A pagination cursor that this registry did not hand out."""


# --- the registry, by aggregate ---------------------------------------------------------------------------------
class EnvironmentStore(Protocol):
    def get_environment(self, name: str) -> Environment | None: ...

    def list_environments(self, limit: int, cursor: str | None = None) -> Page[Environment]:
        """By name. Raises BadCursor."""
        ...

    def create_environment(self, env: Environment) -> bool:
        """Create if absent; False if it already existed."""
        ...

    def update_settings(
        self, name: str, tier: Tier, tier_source: str, settings: EnvSettings, expected_version: int, now: float
    ) -> Environment:
        """Write only the user-owned fields, if the version is still ``expected_version``; raises VersionConflict."""
        ...

    def record_service(
        self, name: str, service: ServiceState, url: str | None, now: float, expected_version: int
    ) -> bool:
        """Refresh what ECS runs (reconcile) without touching the status, the lock or the settings: only if the
        environment is still at ``expected_version`` and unlocked (an operation's end knows better)."""
        ...

    def set_keep_alive(self, name: str, until: float | None, now: float) -> bool:
        """Set (or clear, with None); False if there was nothing to clear."""
        ...

    def offer_push(self, name: str, record: PushRecord) -> bool:
        """Store the push if it is newer than the stored one (a different digest, not older); False if not."""
        ...

    def set_push_state(self, name: str, digest: str, state: str, note: str = "") -> bool:
        """Change the stored push's state if it is still that digest's; False if a newer push replaced it."""
        ...


def every_environment(store: EnvironmentStore) -> Iterator[Environment]:
    """Every environment, page after page (a schedule's or a push's whole view of the registry)."""
    cursor: str | None = None
    while True:
        page = store.list_environments(200, cursor)
        yield from page.items
        if page.next is None:
            return
        cursor = page.next


class OperationStore(Protocol):
    def get_operation(self, op_id: str) -> Operation | None: ...

    def list_operations(
        self,
        environment: str,
        limit: int,
        cursor: str | None = None,
        statuses: Sequence[OpStatus] = (),
        kinds: Sequence[OpKind] = (),
    ) -> Page[Operation]:
        """Newest first. Raises BadCursor."""
        ...

    def record_steps(self, op_id: str, records: Sequence[StepRecord]) -> CancelRequest | None:
        """Write step records of a running operation in one write; returns its cancel request, if any.
        Raises OperationEnded if the operation is not running."""
        ...

    def record_retry(self, op_id: str, record: StepRecord) -> None:
        """A step failed and is retried: count the attempt (the count survives the step's later writes) and
        write its record (RUNNING, with the error). Raises OperationEnded."""
        ...

    def request_cancel(self, op_id: str, request: CancelRequest) -> Operation:
        """Mark a running operation cancelled (once; a second request keeps the first). Raises OperationEnded."""
        ...


@dataclass(frozen=True)
class Begin:
    """Everything an operation's start writes in one transaction."""

    operation: Operation
    lock_expires_at: float
    starts_from: frozenset[EnvStatus]
    transitional: EnvStatus | None  # None: the status does not change (a build)
    idempotency: tuple[str, str] | None = None  # (key, request fingerprint)
    expected_version: int | None = None  # the environment as read (so operation.before is its status at the start)


@dataclass(frozen=True)
class End:
    """Everything an operation's end writes in one transaction."""

    operation_id: str
    environment: str
    status: OpStatus
    ended_at: float
    error: dict[str, Any] | None
    result: dict[str, Any]
    steps: Sequence[StepRecord] = ()
    env_status: EnvStatus | None = None  # None: leave it (the lock is not this operation's)
    service: ServiceState | None = None  # None: not observed (leave what is recorded)
    intended: Intended | None = None
    clear_intended: bool = False
    url: str | None = None
    unless_cancelled: bool = False  # a success is not recorded once a cancel was requested (cancelled comes back)


@dataclass(frozen=True)
class Ended:
    ended: bool  # False: the operation had already ended (someone else ended it), or see ``cancelled``
    lock_released: bool
    pending_push: PushRecord | None = None
    cancelled: bool = False  # unless_cancelled was asked and a cancel request was found: nothing was written


class Ledger(Protocol):
    """The writes that span an environment and its operation: atomic in one transaction."""

    def begin(self, begin: Begin) -> None:
        """Create the operation, take the environment's lock (setting its transitional status) and keep the
        Idempotency-Key, all or nothing. Raises OperationExists, IdempotencyReplay, EnvironmentMissing,
        LockHeld, StatusRefused or VersionConflict (the environment changed since it was read: read it again);
        nothing is written when it raises."""
        ...

    def end(self, end: End) -> Ended:
        """End a running operation: its final record, and (if it holds the lock) the environment's settled
        status, what ECS runs, and the lock's release."""
        ...


class WaitStore(Protocol):
    def register_wait(
        self,
        key: str,
        token: str,
        records: Sequence[StepRecord],
        operation_id: str,
        carry: dict[str, Any],
        cancellable: bool = True,
    ) -> dict[str, Any]:
        """Park a task token (and what the flow carries on) under ``key`` and write step records (the waiting
        step's is the last), atomically. Returns the wait item after the write (with the outcome if an event came
        first). Raises OperationEnded if the operation ended, and (when ``cancellable``) errors.Cancelled, after
        writing, if a cancel was requested."""
        ...

    def record_wait_outcome(self, key: str, outcome: dict[str, Any], now: float) -> dict[str, Any]:
        """Store an event's outcome; returns the item after the write (with the token if a step waits)."""
        ...

    def get_wait(self, key: str) -> dict[str, Any] | None: ...


class ScheduleStore(Protocol):
    def put_snapshot(self, snapshot: Snapshot) -> None: ...

    def get_snapshot(self, environment: str) -> Snapshot | None: ...

    def set_snapshot_state(self, environment: str, operation_id: str, state: str) -> bool:
        """Move the snapshot taken by that operation to a new state; False if another snapshot replaced it."""
        ...


class Registry(EnvironmentStore, OperationStore, Ledger, WaitStore, ScheduleStore, Protocol):
    """The whole registry (one DynamoDB table in AWS; one in-memory map in tests)."""


# --- the world outside -----------------------------------------------------------------------------------------
class Notifier(Protocol):
    def publish(self, topic: str, subject: str, message: dict[str, Any]) -> bool:
        """Publish to an SNS topic (name or ARN); False if it could not be delivered (logged)."""
        ...


class Executor(Protocol):
    """Runs operations as state machine executions named after them."""

    def execution_arn(self, machine: str, name: str) -> str: ...

    def start(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        """Start (idempotent by name); returns the execution's ARN."""
        ...

    def status(self, execution_arn: str) -> str | None:
        """RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED, or None if there is no such execution."""
        ...


class TokenSender(Protocol):
    def success(self, token: str, output: dict[str, Any]) -> None: ...

    def failure(self, token: str, error: str, cause: str) -> None:
        """A token already closed (timed out, execution stopped) is not an error."""
        ...


@dataclass(frozen=True)
class BuildStatus:
    status: str  # IN_PROGRESS | SUCCEEDED | FAILED | FAULT | STOPPED | TIMED_OUT | UNKNOWN
    phase: str
    failed_phase: str | None = None
    phase_context: tuple[str, ...] = ()
    logs_url: str | None = None


@dataclass(frozen=True)
class ServiceChange:
    """What creating or updating the service started."""

    deployment_id: str
    task_definition_arn: str
    previous_task_definition_arn: str | None  # None: the service was created
    desired_count: int
    service: dict[str, Any] = field(default_factory=dict)


class Platform(Protocol):
    """What the steps do to AWS (ECS, ECR, CodeBuild, Logs, ELBv2, Auto Scaling, SSM). Every call is safe to
    repeat: "already there" and "already gone" are successes."""

    def read_contract(self, environment: str) -> Contract: ...

    def explain(self, exc: Exception) -> StepError | None:
        """What an error this platform raised means to a step (None: not the platform's error)."""
        ...

    def missing_base(self, k: Contract) -> list[str]: ...

    # images and builds
    def repository_uri(self, repo: str) -> str: ...

    def digest_for_tag(self, repo: str, tag: str) -> str | None: ...

    def image_exists(self, repo: str, digest: str) -> bool: ...

    def newest_image(self, repo: str) -> tuple[str, str | None] | None:
        """The most recently pushed image: (digest, one of its tags or None)."""
        ...

    def start_build(self, k: Contract, source_version: str | None, image_tag: str, idempotency_token: str) -> str: ...

    def build_status(self, build_id: str) -> BuildStatus: ...

    def stop_build(self, build_id: str) -> None: ...

    # the service
    def register_task_definition(self, k: Contract, image: str) -> str: ...

    def task_definition_images(self, arns: Sequence[str]) -> dict[str, str | None]: ...

    def describe_service(self, k: Contract) -> dict[str, Any] | None: ...

    def apply_service(self, k: Contract, task_definition: str | None, desired_on_create: int) -> ServiceChange:
        """Create the service, or update it to the task definition (None: redeploy what it runs). The contract's
        network, load balancer and alarms are applied; an existing service's desired count is left alone."""
        ...

    def deployment_outcome(self, k: Contract, deployment_id: str) -> DeploymentOutcome: ...

    def rollout_progress(self, cluster: str, service: str, deployment_id: str) -> dict[str, Any]:
        """That deployment's task counts and rollout state, now (the live view)."""
        ...

    def failure_details(self, k: Contract, deployment_id: str | None) -> dict[str, Any]:
        """Why a deployment failed: stopped tasks (reason, exit code), the last service events, where logs are."""
        ...

    def configure_autoscaling(self, k: Contract, low: int, high: int) -> None: ...

    def remove_autoscaling(self, k: Contract) -> bool: ...

    def scalable_target(self, k: Contract) -> dict[str, Any] | None: ...

    def healthy_targets(self, k: Contract) -> int: ...

    def scale_service(self, k: Contract, desired_count: int) -> bool: ...

    def delete_service(self, k: Contract) -> bool: ...

    # the sweep
    def deregister_task_definitions(self, family: str) -> int: ...

    def delete_images(self, repo: str) -> int: ...

    def log_groups(self, k: Contract) -> list[str]: ...

    def delete_log_groups(self, names: Sequence[str]) -> int: ...

    def inventory(self, k: Contract) -> Inventory: ...

    def tagged_leftovers(self, k: Contract) -> list[str]: ...

    def contracts(self) -> Mapping[str, Contract]:
        """Every environment's published contract (discovery: environments exist where Terraform made them)."""
        ...
