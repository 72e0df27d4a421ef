"""The scheduled runs: nightly teardown of dev, morning restore, the teardown reminder, and reconcile.

The nightly teardown and the morning restore each start ONE execution of a batch state machine (a Map over the
selected environments, ``max_concurrency`` at a time); every environment gets its own operation (its lock, its
timeline, its end), so one environment's failure or cancel ends only its own iteration. A schedule delivered
twice is one run: operation ids come from the run id (the event's time) and the environment.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from controlplane.domain.lifecycle import scheduled_operation_id
from controlplane.domain.model import Environment, Operation, OpKind
from controlplane.domain.notifications import teardown_reminder
from controlplane.domain.schedule import iso, restore_selection, teardown_selection
from controlplane.environments import Environments
from controlplane.errors import TransientError
from controlplane.observability import logger
from controlplane.operations import START_ATTEMPTS, Operations
from controlplane.ports import (
    Clock,
    EnvironmentMissing,
    IdempotencyReplay,
    LockHeld,
    Notifier,
    OperationExists,
    Registry,
    StatusRefused,
    VersionConflict,
    every_environment,
)
from controlplane.settings import Settings


class Schedules:
    def __init__(
        self,
        registry: Registry,
        operations: Operations,
        environments: Environments,
        settings: Settings,
        clock: Clock = time.time,
        notifier: Notifier | None = None,
    ) -> None:
        self.registry = registry
        self.operations = operations
        self.environments = environments
        self.settings = settings
        self.clock = clock
        self.notifier = notifier

    def all_environments(self) -> Iterator[Environment]:
        return every_environment(self.registry)

    def teardown_candidates(self) -> list[Environment]:
        return teardown_selection(self.all_environments(), self.clock())

    def nightly_teardown(self, run_id: str) -> dict[str, Any]:
        """Tear down the selected dev environments (snapshotting what runs for the morning)."""
        envs = self.teardown_candidates()
        return self._batch("teardown", run_id, OpKind.DESTROY, {env.name: {"nightly": True} for env in envs})

    def morning_restore(self, run_id: str) -> dict[str, Any]:
        """Re-provision what the nightly run tore down, to the recorded desired count, limits and digest."""
        if not self.settings.morning_restore_enabled:
            return {"run": run_id, "skipped": "the morning restore is disabled (MORNING_RESTORE_ENABLED=false)"}
        envs = list(self.all_environments())
        snapshots = {e.name: snap for e in envs if (snap := self.registry.get_snapshot(e.name)) is not None}
        params = {
            e.name: {
                **snapshots[e.name].restore_params(),
                "restore": True,
                "snapshot_operation_id": snapshots[e.name].operation_id,
            }
            for e in restore_selection(envs, snapshots)
        }
        return self._batch("restore", run_id, OpKind.PROVISION, params)

    def _batch(self, machine: str, run_id: str, kind: OpKind, params: dict[str, dict[str, Any]]) -> dict[str, Any]:
        execution = f"{machine}-{run_id}"
        items: list[dict[str, Any]] = []
        ops: list[Operation] = []
        skipped: dict[str, str] = {}
        for name, p in params.items():
            env = self.registry.get_environment(name)
            if env is None:
                continue
            op_id = scheduled_operation_id(kind, name, run_id)
            try:
                op, payload = self._prepare(env, kind, p, op_id, (machine, execution))
            except (OperationExists, IdempotencyReplay):  # this run already started it (the schedule fired twice)
                skipped[name] = f"already started by this run ({op_id})"
                continue
            except LockHeld as held:
                skipped[name] = f"operation {held.lock.operation_id} is running on {name}"
                continue
            except (StatusRefused, EnvironmentMissing, VersionConflict) as exc:
                skipped[name] = f"{name} cannot start a {kind.value} now ({exc})"
                continue
            ops.append(op)
            items.append(payload)
        result: dict[str, Any] = {"run": execution, "operations": [o.id for o in ops], "skipped": skipped}
        if not items:
            return result
        payload = {"run": run_id, "items": items, "max_concurrency": self.settings.batch_concurrency}
        try:
            arn = self.operations.executor.start(machine, execution, payload)
        except Exception as exc:
            for op in ops:
                self.operations.abandon(op, exc)
            raise
        return result | {"execution_arn": arn}

    def _prepare(
        self, env: Environment, kind: OpKind, params: dict[str, Any], op_id: str, execution: tuple[str, str]
    ) -> tuple[Operation, dict[str, Any]]:
        for attempt in range(START_ATTEMPTS):
            try:
                return self.operations.prepare(env, kind, params, "schedule", op_id, execution=execution)
            except VersionConflict:  # it changed since it was read: read it again
                fresh = self.registry.get_environment(env.name)
                if fresh is None or attempt == START_ATTEMPTS - 1:
                    raise
                env = fresh
        raise AssertionError("unreachable")

    def teardown_reminder(self) -> dict[str, Any]:
        """Tell each environment the nightly run will tear down (and that names a topic) how to keep it."""
        sent: list[str] = []
        until = iso(self.clock() + 24 * 3600)
        for env in self.teardown_candidates():
            if not env.settings.notification_topic or self.notifier is None:
                continue
            subject, message = teardown_reminder(env, self.settings.nightly_teardown_schedule, until)
            if self.notifier.publish(env.settings.notification_topic, subject, message):
                sent.append(env.name)
        return {"reminded": sent}

    def reconcile(self) -> dict[str, Any]:
        """Make the registry say what AWS runs: register environments Terraform published, end operations whose
        execution died, and record what ECS runs for every environment no operation holds."""
        found = self.environments.discover()
        ended: list[str] = []
        refreshed: list[str] = []
        for env in self.all_environments():
            try:
                if env.lock is not None:
                    holder = self.registry.get_operation(env.lock.operation_id)
                    if holder is not None and self.operations.reconcile(holder).status.finished:
                        ended.append(holder.id)
                elif self.environments.refresh(env):
                    refreshed.append(env.name)
            except TransientError as exc:  # one environment's trouble does not stop the others
                logger.warning("environment not reconciled", extra={"environment": env.name, "error": str(exc)})
        drift = [e.name for e in self.all_environments() if e.drift]
        return found | {"ended": ended, "refreshed": refreshed, "drift": drift}
