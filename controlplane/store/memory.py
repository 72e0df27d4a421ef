"""The registry in memory, with the DynamoDB registry's semantics (one contract test runs against both)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

from controlplane.domain.model import (
    CancelRequest,
    Environment,
    EnvSettings,
    Lock,
    Operation,
    OpKind,
    OpStatus,
    PushRecord,
    ServiceState,
    StepRecord,
    Tier,
)
from controlplane.domain.schedule import Snapshot
from controlplane.errors import Cancelled
from controlplane.ports import (
    Begin,
    End,
    Ended,
    EnvironmentMissing,
    IdempotencyReplay,
    LockHeld,
    OperationEnded,
    OperationExists,
    Page,
    StatusRefused,
    VersionConflict,
)
from controlplane.store import cursor


class MemoryRegistry:
    def __init__(self) -> None:
        self._envs: dict[str, Environment] = {}
        self._ops: dict[str, Operation] = {}
        self._idem: dict[str, tuple[str, str]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._waits: dict[str, dict[str, Any]] = {}
        self._retries: dict[str, dict[str, int]] = {}
        self._mutex = threading.RLock()

    # environments -----------------------------------------------------------------------------------------
    def get_environment(self, name: str) -> Environment | None:
        return self._envs.get(name)

    def list_environments(self, limit: int, cursor_: str | None = None) -> Page[Environment]:
        after = cursor.after(cursor_, "envs", str) if cursor_ else ""
        names = sorted(n for n in self._envs if n > after)
        page = names[:limit]
        more = len(names) > limit
        return Page(
            [self._envs[n] for n in page], cursor.encode({"scope": "envs", "after": page[-1]}) if more else None
        )

    def create_environment(self, env: Environment) -> bool:
        with self._mutex:
            if env.name in self._envs:
                return False
            self._envs[env.name] = env.replace(version=1)
            return True

    def _bump(self, env: Environment, now: float | None = None, **changes: Any) -> Environment:
        updated = env.replace(version=env.version + 1, **changes)
        if now is not None:
            updated = updated.replace(updated_at=now)
        self._envs[env.name] = updated
        return updated

    def update_settings(
        self, name: str, tier: Tier, tier_source: str, settings: EnvSettings, expected_version: int, now: float
    ) -> Environment:
        with self._mutex:
            env = self._envs.get(name)
            if env is None:
                raise EnvironmentMissing(name)
            if env.version != expected_version:
                raise VersionConflict(name)
            return self._bump(env, now, tier=tier, tier_source=tier_source, settings=settings)

    def record_service(
        self, name: str, service: ServiceState, url: str | None, now: float, expected_version: int
    ) -> bool:
        with self._mutex:
            env = self._envs.get(name)
            if env is None or env.lock is not None or env.version != expected_version:
                return False
            self._bump(env, now, service=service, url=url or env.url)
            return True

    def set_keep_alive(self, name: str, until: float | None, now: float) -> bool:
        with self._mutex:
            env = self._envs.get(name)
            if env is None:
                raise EnvironmentMissing(name)
            if until is None and env.keep_alive_until is None:
                return False
            self._bump(env, now, keep_alive_until=until)
            return True

    def offer_push(self, name: str, record: PushRecord) -> bool:
        with self._mutex:
            env = self._envs.get(name)
            if env is None:
                raise EnvironmentMissing(name)
            stored = env.push
            if stored is not None and (stored.digest == record.digest or record.pushed_at < stored.pushed_at):
                return False
            self._bump(env, push=record)
            return True

    def set_push_state(self, name: str, digest: str, state: str, note: str = "") -> bool:
        with self._mutex:
            env = self._envs.get(name)
            if env is None or env.push is None or env.push.digest != digest:
                return False
            self._bump(env, push=env.push.replace(state=state, note=note))
            return True

    # operations -------------------------------------------------------------------------------------------
    def get_operation(self, op_id: str) -> Operation | None:
        op = self._ops.get(op_id)
        return self._with_attempts(op) if op is not None else None

    def list_operations(
        self,
        environment: str,
        limit: int,
        cursor_: str | None = None,
        statuses: Sequence[OpStatus] = (),
        kinds: Sequence[OpKind] = (),
    ) -> Page[Operation]:
        scope = f"ops:{environment}"
        after = tuple(cursor.after(cursor_, scope, list)) if cursor_ else None
        ops = sorted(
            (o for o in self._ops.values() if o.environment == environment),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        if after is not None:
            ops = [o for o in ops if (o.created_at, o.id) < (float(after[0]), str(after[1]))]
        ops = [o for o in ops if (not statuses or o.status in statuses) and (not kinds or o.kind in kinds)]
        page = [self._with_attempts(o) for o in ops[:limit]]
        more = len(ops) > limit
        nxt = cursor.encode({"scope": scope, "after": [page[-1].created_at, page[-1].id]}) if more else None
        return Page(page, nxt)

    def _running(self, op_id: str) -> Operation:
        op = self._ops.get(op_id)
        if op is None or op.status.finished:
            raise OperationEnded(op_id)
        return op

    def record_steps(self, op_id: str, records: Sequence[StepRecord]) -> CancelRequest | None:
        with self._mutex:
            op = self._running(op_id)
            for rec in records:
                op = op.with_step(rec)
            self._ops[op_id] = op
            return op.cancel

    def record_retry(self, op_id: str, record: StepRecord) -> None:
        with self._mutex:
            op = self._running(op_id)
            counts = self._retries.setdefault(op_id, {})
            counts[record.name] = counts.get(record.name, 0) + 1
            self._ops[op_id] = op.with_step(record)

    def _with_attempts(self, op: Operation) -> Operation:
        counts = self._retries.get(op.id, {})
        if not counts:
            return op
        return op.replace(steps=tuple(s.replace(attempts=1 + counts.get(s.name, 0)) for s in op.steps))

    def request_cancel(self, op_id: str, request: CancelRequest) -> Operation:
        with self._mutex:
            op = self._running(op_id)
            if op.cancel is None:
                op = op.replace(cancel=request)
                self._ops[op_id] = op
            return op

    # the ledger -------------------------------------------------------------------------------------------
    def begin(self, begin: Begin) -> None:
        op = begin.operation
        with self._mutex:
            if begin.idempotency is not None and begin.idempotency[0] in self._idem:
                fingerprint, stored_op = self._idem[begin.idempotency[0]]
                raise IdempotencyReplay(fingerprint, stored_op)
            if op.id in self._ops:
                raise OperationExists(op.id)
            env = self._envs.get(op.environment)
            if env is None:
                raise EnvironmentMissing(op.environment)
            if env.lock is not None:
                raise LockHeld(env.name, env.lock)
            if env.status not in begin.starts_from:
                raise StatusRefused(env.status)
            if begin.expected_version is not None and env.version != begin.expected_version:
                raise VersionConflict(env.name)
            changes: dict[str, Any] = {
                "lock": Lock(op.id, op.kind, begin.lock_expires_at),
                "last_operation_id": op.id,
                "status": begin.transitional or env.status,
            }
            self._ops[op.id] = op
            self._bump(env, op.created_at, **changes)
            if begin.idempotency is not None:
                self._idem[begin.idempotency[0]] = (begin.idempotency[1], op.id)

    def end(self, end: End) -> Ended:
        with self._mutex:
            op = self._ops.get(end.operation_id)
            if op is None or op.status.finished:
                return Ended(ended=False, lock_released=False)
            if end.unless_cancelled and op.cancel is not None:
                return Ended(ended=False, lock_released=False, cancelled=True)
            for rec in end.steps:
                op = op.with_step(rec)
            self._ops[op.id] = op.replace(
                status=end.status, ended_at=end.ended_at, error=end.error, result={**op.result, **end.result}
            )
            env = self._envs.get(end.environment)
            if env is None or env.lock is None or env.lock.operation_id != end.operation_id:
                return Ended(ended=True, lock_released=False)
            changes: dict[str, Any] = {"lock": None}
            if end.env_status is not None:
                changes["status"] = end.env_status
            if end.service is not None:
                changes["service"] = end.service
            if end.intended is not None:
                changes["intended"] = end.intended
            elif end.clear_intended:
                changes["intended"] = None
            if end.url is not None:
                changes["url"] = end.url
            self._bump(env, end.ended_at, **changes)
            pending = env.push if env.push is not None and env.push.state == "pending" else None
            return Ended(ended=True, lock_released=True, pending_push=pending)

    # waits ------------------------------------------------------------------------------------------------
    def register_wait(
        self,
        key: str,
        token: str,
        records: Sequence[StepRecord],
        operation_id: str,
        carry: dict[str, Any],
        cancellable: bool = True,
    ) -> dict[str, Any]:
        with self._mutex:
            op = self._running(operation_id)
            for rec in records:
                op = op.with_step(rec)
            self._ops[operation_id] = op.replace(wait_key=key)
            item = self._waits.setdefault(key, {})
            item.update(token=token, operation_id=operation_id, step=records[-1].name, carry=carry)
            result = dict(item)
        if cancellable and op.cancel is not None:
            raise Cancelled(f"operation {operation_id} was cancelled")
        return result

    def record_wait_outcome(self, key: str, outcome: dict[str, Any], now: float) -> dict[str, Any]:
        with self._mutex:
            item = self._waits.setdefault(key, {})
            item["outcome"] = outcome
            return dict(item)

    def get_wait(self, key: str) -> dict[str, Any] | None:
        item = self._waits.get(key)
        return dict(item) if item is not None else None

    # snapshots ----------------------------------------------------------------------------------------------
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
