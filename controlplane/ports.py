"""Ports: what the domain and the use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from controlplane.domain.events import PushRecord
from controlplane.domain.model import Environment, Lock, Operation, OpKind, OpStatus, StepRecord
from controlplane.domain.schedule import Snapshot

Clock = Callable[[], float]


class LockHeld(Exception):
    """The environment's lock is held by another, unexpired operation."""

    def __init__(self, lock: Lock) -> None:
        super().__init__(f"environment {lock.environment} is locked by operation {lock.operation_id}")
        self.lock = lock


class OperationExists(Exception):
    """create_operation found an operation with that id (a concurrent start of the same deterministic id)."""


class Store(Protocol):
    """The registry: environments, operations, locks and idempotency records."""

    def get_environment(self, name: str) -> Environment | None: ...

    def list_environments(self) -> list[Environment]: ...

    def put_environment(self, env: Environment) -> None: ...

    def create_environment(self, env: Environment) -> bool:
        """Create if absent; False if it already existed."""
        ...

    def create_operation(self, op: Operation) -> None:
        """Create once; raise OperationExists if the id is taken."""
        ...

    def get_operation(self, op_id: str) -> Operation | None: ...

    def list_operations(self, environment: str, limit: int = 50) -> list[Operation]:
        """Newest first."""
        ...

    def record_step(self, op_id: str, step: StepRecord) -> None: ...

    def set_execution(self, op_id: str, execution_arn: str) -> None: ...

    def finish_operation(
        self,
        op_id: str,
        status: OpStatus,
        ended_at: float,
        error: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        """Set the final status once: False if the operation had already finished."""
        ...

    def acquire_lock(self, environment: str, op_id: str, now: float, lease_seconds: float) -> Lock:
        """Take or renew the lock for op_id; raise LockHeld if another unexpired operation holds it."""
        ...

    def release_lock(self, environment: str, op_id: str) -> bool:
        """Release if held by op_id; False if it was not (already released or someone else's)."""
        ...

    def get_lock(self, environment: str) -> Lock | None: ...

    def remember_request(self, key: str, fingerprint: str, op_id: str, now: float) -> tuple[str, str] | None:
        """Store key -> (fingerprint, op_id) if new; return the stored pair if the key was already used."""
        ...

    def get_push(self, environment: str) -> PushRecord | None: ...

    def record_push(self, record: PushRecord) -> bool:
        """Store the push if it is newer than the stored one (events.is_newer, as a conditional write)."""
        ...

    def set_push_state(self, environment: str, digest: str, state: str, note: str = "") -> bool:
        """Change the state of the stored push if it is still that digest's; False if a newer push replaced it."""
        ...

    def set_keep_alive(self, environment: str, until: float) -> None: ...

    def clear_keep_alive(self, environment: str) -> bool:
        """False if there was none."""
        ...

    def keep_alives(self) -> dict[str, float]:
        """Environment -> keep-alive end (expired ones included; the selection compares with now)."""
        ...

    def register_wait(self, key: str, token: str, operation_id: str, step: str, now: float) -> dict[str, Any]:
        """Atomically store a waiting step's token; return the item after the write (with any outcome)."""
        ...

    def record_wait_outcome(self, key: str, outcome: dict[str, Any], now: float) -> dict[str, Any]:
        """Atomically store an event's outcome; return the item after the write (with any token)."""
        ...

    def put_snapshot(self, snapshot: Snapshot) -> None: ...

    def get_snapshot(self, environment: str) -> Snapshot | None: ...

    def set_snapshot_state(self, environment: str, operation_id: str, state: str) -> bool:
        """Move the snapshot taken by that operation to a new state; False if another snapshot replaced it."""
        ...


class Notifier(Protocol):
    def publish(self, topic: str, subject: str, message: dict[str, Any]) -> bool:
        """Publish to an SNS topic (name or ARN); False if it could not be delivered (logged)."""
        ...


class Executor(Protocol):
    """Runs operations as state machine executions."""

    def start(self, kind: OpKind, name: str, payload: dict[str, Any]) -> str: ...

    def status(self, execution_arn: str) -> str | None:
        """RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED, or None if unknown."""
        ...

    def stop(self, execution_arn: str, cause: str) -> None: ...

    def start_batch(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        """Start the named state machine (teardown, restore) that runs several operations; idempotent by name."""
        ...
