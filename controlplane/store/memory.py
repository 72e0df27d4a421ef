"""In-memory registry with the same semantics as the DynamoDB one (for unit tests and dry runs)."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from controlplane.domain.events import PushRecord
from controlplane.domain.model import Environment, Lock, Operation, OpStatus, StepRecord
from controlplane.domain.schedule import Snapshot
from controlplane.ports import LockHeld, OperationExists


class MemoryStore:
    def __init__(self) -> None:
        self._envs: dict[str, Environment] = {}
        self._ops: dict[str, Operation] = {}
        self._locks: dict[str, Lock] = {}
        self._idem: dict[str, tuple[str, str]] = {}
        self._pushes: dict[str, PushRecord] = {}
        self._keep_alives: dict[str, float] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._waits: dict[str, dict[str, Any]] = {}
        self._mutex = threading.Lock()

    def get_environment(self, name: str) -> Environment | None:
        return self._envs.get(name)

    def list_environments(self) -> list[Environment]:
        return [self._envs[k] for k in sorted(self._envs)]

    def put_environment(self, env: Environment) -> None:
        self._envs[env.name] = env

    def create_environment(self, env: Environment) -> bool:
        with self._mutex:
            if env.name in self._envs:
                return False
            self._envs[env.name] = env
            return True

    def create_operation(self, op: Operation) -> None:
        with self._mutex:
            if op.id in self._ops:
                raise OperationExists(op.id)
            self._ops[op.id] = op

    def get_operation(self, op_id: str) -> Operation | None:
        return self._ops.get(op_id)

    def list_operations(self, environment: str, limit: int = 50) -> list[Operation]:
        ops = [o for o in self._ops.values() if o.environment == environment]
        ops.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return ops[:limit]

    def record_step(self, op_id: str, step: StepRecord) -> None:
        with self._mutex:
            self._ops[op_id] = self._ops[op_id].with_step(step)

    def set_execution(self, op_id: str, execution_arn: str) -> None:
        with self._mutex:
            self._ops[op_id] = self._ops[op_id].replace(execution_arn=execution_arn)

    def finish_operation(
        self,
        op_id: str,
        status: OpStatus,
        ended_at: float,
        error: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
    ) -> bool:
        with self._mutex:
            op = self._ops[op_id]
            if op.status.finished:
                return False
            self._ops[op_id] = op.replace(
                status=status, ended_at=ended_at, error=error, result={**op.result, **(result or {})}
            )
            return True

    def acquire_lock(self, environment: str, op_id: str, now: float, lease_seconds: float) -> Lock:
        with self._mutex:
            held = self._locks.get(environment)
            if held and held.operation_id != op_id and not held.expired(now):
                raise LockHeld(held)
            lock = Lock(environment=environment, operation_id=op_id, expires_at=now + lease_seconds)
            self._locks[environment] = lock
            return lock

    def release_lock(self, environment: str, op_id: str) -> bool:
        with self._mutex:
            held = self._locks.get(environment)
            if held and held.operation_id == op_id:
                del self._locks[environment]
                return True
            return False

    def get_lock(self, environment: str) -> Lock | None:
        return self._locks.get(environment)

    def remember_request(self, key: str, fingerprint: str, op_id: str, now: float) -> tuple[str, str] | None:
        with self._mutex:
            if key in self._idem:
                return self._idem[key]
            self._idem[key] = (fingerprint, op_id)
            return None

    def get_push(self, environment: str) -> PushRecord | None:
        return self._pushes.get(environment)

    def record_push(self, record: PushRecord) -> bool:
        with self._mutex:
            stored = self._pushes.get(record.environment)
            if stored is not None and (stored.digest == record.digest or record.pushed_at < stored.pushed_at):
                return False
            self._pushes[record.environment] = record
            return True

    def set_push_state(self, environment: str, digest: str, state: str, note: str = "") -> bool:
        with self._mutex:
            stored = self._pushes.get(environment)
            if stored is None or stored.digest != digest:
                return False
            self._pushes[environment] = dataclasses.replace(stored, state=state, note=note)
            return True

    def set_keep_alive(self, environment: str, until: float) -> None:
        self._keep_alives[environment] = until

    def clear_keep_alive(self, environment: str) -> bool:
        return self._keep_alives.pop(environment, None) is not None

    def keep_alives(self) -> dict[str, float]:
        return dict(self._keep_alives)

    def put_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshots[snapshot.environment] = snapshot

    def get_snapshot(self, environment: str) -> Snapshot | None:
        return self._snapshots.get(environment)

    def set_snapshot_state(self, environment: str, operation_id: str, state: str) -> bool:
        with self._mutex:
            stored = self._snapshots.get(environment)
            if stored is None or stored.operation_id != operation_id:
                return False
            self._snapshots[environment] = dataclasses.replace(stored, state=state)
            return True

    def register_wait(self, key: str, token: str, operation_id: str, step: str, now: float) -> dict[str, Any]:
        with self._mutex:
            item = self._waits.setdefault(key, {})
            item.update(token=token, operation_id=operation_id, step=step)
            return dict(item)

    def record_wait_outcome(self, key: str, outcome: dict[str, Any], now: float) -> dict[str, Any]:
        with self._mutex:
            item = self._waits.setdefault(key, {})
            item["outcome"] = outcome
            return dict(item)
