"""Use cases behind the HTTP API, the schedules and the events. No AWS SDK here: ports only."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from controlplane.domain import validation as v
from controlplane.domain.events import ImagePush, PushRecord, push_matches, push_operation_id
from controlplane.domain.model import (
    Environment,
    EnvStatus,
    Operation,
    OpKind,
    OpStatus,
    default_settings,
    request_fingerprint,
    seed_environments,
    status_after_failure,
)
from controlplane.domain.notifications import teardown_reminder
from controlplane.domain.plans import Inventory, destroy_plan
from controlplane.domain.schedule import iso, keep_alive_request, restore_selection, teardown_selection
from controlplane.errors import (
    ApiError,
    BaseInfrastructureMissing,
    ConfirmationRequired,
    Conflict,
    IdempotencyKeyReused,
    NotFound,
    OperationInProgress,
    ValidationFailed,
)
from controlplane.notify import notify_end
from controlplane.ports import Clock, Executor, LockHeld, Notifier, OperationExists, Store
from controlplane.settings import Settings

VALIDATORS: dict[OpKind, Callable[[Any], dict[str, Any]]] = {
    OpKind.PROVISION: v.provision_request,
    OpKind.BUILD: v.build_request,
    OpKind.DEPLOY: v.deploy_request,
    OpKind.DESTROY: v.destroy_request,
}
# How many waits an operation can hold its lock across: the lock's lease covers them all, then expires.
WAITS_PER_OPERATION = {OpKind.PROVISION: 2, OpKind.BUILD: 1, OpKind.DEPLOY: 1, OpKind.DESTROY: 2}


def new_operation_id(kind: OpKind, now: float, idempotency_key: str | None = None, scope: str = "") -> str:
    stamp = time.strftime("%Y%m%dt%H%M%S", time.gmtime(now))
    if idempotency_key is not None:
        suffix = hashlib.sha256(f"{scope}|{idempotency_key}".encode()).hexdigest()[:12]
        return f"{kind.value}-k{suffix}"
    return f"{kind.value}-{stamp}-{secrets.token_hex(4)}"


def _invalid(exc: v.InvalidInput) -> ValidationFailed:
    return ValidationFailed(str(exc))


class ControlService:
    def __init__(
        self,
        store: Store,
        executor: Executor,
        settings: Settings,
        clock: Clock = time.time,
        inventory: Callable[[str], Inventory] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.settings = settings
        self.clock = clock
        self._inventory = inventory
        self.notifier = notifier
        self._seeded = False

    # environments -------------------------------------------------------------------------------------------
    def ensure_seeded(self) -> None:
        """The three seed environments exist by default (created once, never overwritten)."""
        if self._seeded:
            return
        for env in seed_environments(self.clock()):
            self.store.create_environment(env)
        self._seeded = True

    def list_environments(self) -> list[Environment]:
        self.ensure_seeded()
        return self.store.list_environments()

    def get_environment(self, name: str) -> Environment:
        try:
            v.check_name(name)
        except v.InvalidInput as exc:
            raise _invalid(exc) from None
        self.ensure_seeded()
        env = self.store.get_environment(name)
        if env is None:
            raise NotFound(f"environment {name!r} does not exist")
        return env

    def put_environment(self, name: str, body: Any) -> tuple[Environment, bool]:
        """Create (tier required) or update an environment's settings. Returns (env, created)."""
        try:
            v.check_name(name)
            body = v.check_object(body)
            self.ensure_seeded()
            current = self.store.get_environment(name)
            if current is None:
                if "tier" not in body:
                    raise v.InvalidInput("tier is required to create an environment (dev, staging or prod)")
                tier = v.check_tier(body["tier"])
                tier, settings = v.settings_request(body, default_settings(name, tier), tier)
                env = Environment(name=name, tier=tier, settings=settings, updated_at=self.clock())
                if not self.store.create_environment(env):
                    raise Conflict(f"environment {name!r} was created concurrently; retry")
                return env, True
            tier, settings = v.settings_request(body, current.settings, current.tier)
        except v.InvalidInput as exc:
            raise _invalid(exc) from None
        if tier is not current.tier and current.status not in (EnvStatus.ABSENT, EnvStatus.DESTROYED):
            raise Conflict(
                f"the tier of {name!r} can only change while it is absent or destroyed (it is {current.status.value})"
            )
        env = current.replace(tier=tier, settings=settings, updated_at=self.clock())
        self.store.put_environment(env)
        return env, False

    # operations ---------------------------------------------------------------------------------------------
    def start(
        self,
        kind: OpKind,
        name: str,
        body: Any,
        trigger: str = "api",
        idempotency_key: str | None = None,
        operation_id: str | None = None,
    ) -> tuple[Operation, bool]:
        """Start an operation. Returns (operation, created); created is False for an idempotent replay."""
        env = self.get_environment(name)
        try:
            params = VALIDATORS[kind](body)
            if idempotency_key is not None:
                v.check_idempotency_key(idempotency_key)
        except v.InvalidInput as exc:
            raise _invalid(exc) from None
        if kind is OpKind.DESTROY and env.requires_confirmation() and params.get("confirm") != name:
            raise ConfirmationRequired(
                f"destroying {name!r} ({env.tier.value}{', protected' if env.settings.protected else ''}) "
                f'needs {{"confirm": "{name}"}} in the body'
            )
        now = self.clock()
        op_id = operation_id or new_operation_id(kind, now, idempotency_key, scope=f"{name}|{kind.value}")
        if idempotency_key is not None:
            fingerprint = request_fingerprint(kind.value, name, v.check_object(body))
            seen = self.store.remember_request(idempotency_key, fingerprint, op_id, now)
            if seen is not None:
                if seen[0] != fingerprint:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used with a different request; use a new key",
                        operation_id=seen[1],
                    )
                existing = self.store.get_operation(seen[1])
                if existing is not None:
                    return existing, False
        elif operation_id is not None:
            existing = self.store.get_operation(operation_id)
            if existing is not None:
                return existing, False

        prepared = self._prepare(kind, name, params, trigger, op_id, now)
        if isinstance(prepared, Operation):
            return prepared, False
        op, payload = prepared
        try:
            arn = self.executor.start(kind, op_id, payload)
            self.store.set_execution(op_id, arn)
        except Exception as exc:
            self._abandon(op, exc)
            raise
        return self.store.get_operation(op_id) or op.replace(execution_arn=arn), True

    def _prepare(
        self, kind: OpKind, name: str, params: dict[str, Any], trigger: str, op_id: str, now: float
    ) -> Operation | tuple[Operation, dict[str, Any]]:
        """Take the lock and create the operation; returns the existing operation if the id is already taken,
        else the new operation and its execution payload."""
        wait = {
            "interval_seconds": self.settings.wait_interval_seconds,
            "timeout_seconds": self.settings.wait_timeout_seconds,
            **params.pop("wait", {}),
        }
        lease = wait["timeout_seconds"] * WAITS_PER_OPERATION[kind] + self.settings.lock_margin_seconds
        self._lock(name, op_id, now, lease)
        op = Operation(id=op_id, kind=kind, environment=name, trigger=trigger, params=params, created_at=now)
        try:
            self.store.create_operation(op)
        except OperationExists:  # a concurrent start of the same deterministic id won: that is the operation
            existing = self.store.get_operation(op_id)
            if existing is None:
                raise
            return existing
        except Exception:
            self.store.release_lock(name, op_id)
            raise
        payload = {
            "operation_id": op_id,
            "environment": name,
            "kind": kind.value,
            "params": params,
            "wait": wait,
            "lease_seconds": lease,
            "ctx": {},
        }
        return op, payload

    def _abandon(self, op: Operation, exc: BaseException) -> None:
        if self.store.get_operation(op.id) is not None:
            self.store.finish_operation(
                op.id, OpStatus.FAILED, self.clock(), {"step": "start", "message": f"could not start: {exc}"}
            )
        self.store.release_lock(op.environment, op.id)

    def _lock(self, name: str, op_id: str, now: float, lease: float) -> None:
        for attempt in (1, 2):
            try:
                self.store.acquire_lock(name, op_id, now, lease)
                return
            except LockHeld as held:
                holder = held.lock.operation_id
                if attempt == 1 and self._reconcile_holder(name, holder):
                    continue
                raise OperationInProgress(
                    f"operation {holder} is running on {name!r}; wait for it or cancel it",
                    running_operation=holder,
                ) from None

    def _reconcile_holder(self, name: str, holder_id: str) -> bool:
        """Release a lock whose operation has in fact ended (abort, timeout, crash). True if released."""
        holder = self.store.get_operation(holder_id)
        if holder is not None:
            holder = self.reconcile(holder)
        if holder is None or holder.status.finished:
            self.store.release_lock(name, holder_id)  # False if its own unlock step got there first: fine
            return True
        return False

    def reconcile(self, op: Operation) -> Operation:
        """If the execution ended without recording (aborted, timed out, crashed), record that and unlock."""
        if op.status.finished or not op.execution_arn:
            return op
        status = self.executor.status(op.execution_arn)
        if status in (None, "RUNNING"):
            return op
        final = {"SUCCEEDED": OpStatus.FAILED, "FAILED": OpStatus.FAILED}.get(status, OpStatus(status))
        self._settle_environment(op)
        self.store.release_lock(op.environment, op.id)
        if self.store.finish_operation(
            op.id, final, self.clock(), {"message": f"the execution ended ({status}) without recording an outcome"}
        ):
            notify_end(self.store, self.notifier, op.id)
        return self.store.get_operation(op.id) or op

    def _settle_environment(self, op: Operation) -> None:
        env = self.store.get_environment(op.environment)
        if env is not None and env.last_operation_id == op.id:
            new_status = status_after_failure(op.kind, env.status)
            if new_status is not env.status:
                self.store.put_environment(env.replace(status=new_status, updated_at=self.clock()))

    def get_operation(self, op_id: str) -> Operation:
        try:
            v.check_operation_id(op_id)
        except v.InvalidInput as exc:
            raise _invalid(exc) from None
        op = self.store.get_operation(op_id)
        if op is None:
            raise NotFound(f"operation {op_id!r} does not exist")
        reconciled = self.reconcile(op)
        if reconciled.status.finished and not op.status.finished:  # its lock was released just now
            self.start_pending_push(op.environment)
        return reconciled

    def list_operations(self, name: str, limit: int = 50) -> list[Operation]:
        self.get_environment(name)
        return self.store.list_operations(name, limit)

    def cancel(self, op_id: str) -> Operation:
        op = self.get_operation(op_id)
        if op.status.finished:
            raise Conflict(f"operation {op_id} already finished ({op.status.value})", status=op.status.value)
        # An execution named after the operation is stopped. A shared one (the nightly teardown's or the morning
        # restore's Map) goes on for the other environments: this one's next step sees it finished and stops.
        if op.execution_arn and op.execution_arn.rsplit(":", 1)[-1] == op.id:
            self.executor.stop(op.execution_arn, f"cancelled through the API at {self.clock():.0f}")
        self._settle_environment(op)
        self.store.release_lock(op.environment, op_id)
        if self.store.finish_operation(op_id, OpStatus.ABORTED, self.clock(), {"message": "cancelled through the API"}):
            notify_end(self.store, self.notifier, op_id)
        self.start_pending_push(op.environment)
        return self.store.get_operation(op_id) or op

    # redeploy on push ---------------------------------------------------------------------------------------
    def on_image_push(self, push: ImagePush) -> list[dict[str, Any]]:
        """Route one ECR push to every environment whose deploy_on_push policy matches it.

        Returns one outcome per matching environment (``started``, ``queued``, ``duplicate``, ``stale``,
        ``ignored``), each with the reason, for the log. Rules: see controlplane/domain/events.py.
        """
        self.ensure_seeded()
        outcomes: list[dict[str, Any]] = []
        for env in self.store.list_environments():
            if push_matches(env.settings.deploy_on_push, env.name, push):
                outcomes.append({"environment": env.name, **self._push_to(env, push)})
        return outcomes

    def _push_to(self, env: Environment, push: ImagePush) -> dict[str, Any]:
        if env.status in (EnvStatus.ABSENT, EnvStatus.DESTROYED):
            return {
                "outcome": "ignored",
                "reason": f"environment {env.name} is {env.status.value}: a push does not provision it",
            }
        op_id = push_operation_id(env.name, push.digest)
        record = PushRecord(env.name, push.digest, push.tag, push.pushed_at, "pending", op_id)
        if not self.store.record_push(record):
            stored = self.store.get_push(env.name)
            if stored is not None and stored.digest == push.digest:
                return {
                    "outcome": "duplicate",
                    "reason": f"digest {push.digest} was already seen for {env.name} ({stored.state})",
                    "operation_id": stored.operation_id,
                }
            newest = stored.digest if stored else "?"
            return {"outcome": "stale", "reason": f"older than the newest push to {env.name} ({newest})"}
        return self.start_pending_push(env.name)

    def start_pending_push(self, name: str) -> dict[str, Any]:
        """Start the environment's pending push unless another operation holds the lock (then it stays queued).

        Called for every push and after every release of an environment's lock (unlock and failure steps,
        cancel, reconcile). A push is recorded before its start is tried, and an operation releases its lock
        before it looks for a pending push, so a push that found the lock held is always picked up.
        """
        rec = self.store.get_push(name)
        if rec is None or rec.state != "pending":
            return {"outcome": "none"}
        env = self.store.get_environment(name)
        if env is None or env.status in (EnvStatus.ABSENT, EnvStatus.DESTROYED):
            why = f"environment {name} is {env.status.value if env else 'gone'}: the pending push is dropped"
            self.store.set_push_state(name, rec.digest, "dropped", why)
            return {"outcome": "dropped", "reason": why}
        try:
            op, created = self.start(
                OpKind.DEPLOY, name, {"image_digest": rec.digest}, trigger="ecr-push", operation_id=rec.operation_id
            )
        except OperationInProgress as exc:
            return {
                "outcome": "queued",
                "reason": f"{name} is locked by {exc.details.get('running_operation')}; deploys when it ends",
                "operation_id": rec.operation_id,
            }
        except ApiError as exc:
            self.store.set_push_state(name, rec.digest, "dropped", str(exc))
            return {"outcome": "dropped", "reason": str(exc)}
        self.store.set_push_state(name, rec.digest, "started")
        if not created:
            return {
                "outcome": "duplicate",
                "reason": f"digest {rec.digest} was already deployed to {name} by a push ({op.status.value})",
                "operation_id": op.id,
            }
        return {"outcome": "started", "operation_id": op.id}

    def destroy_plan(self, name: str, body: Any = None) -> dict[str, Any]:
        """The ordered destroy plan; reads only."""
        env = self.get_environment(name)
        try:
            v.destroy_request(body)
        except v.InvalidInput as exc:
            raise _invalid(exc) from None
        if self._inventory is None:
            raise NotFound("destroy plans are not available in this deployment")
        try:
            inv = self._inventory(name)
        except BaseInfrastructureMissing as exc:
            raise Conflict(str(exc)) from None
        return {
            "environment": name,
            "dry_run": True,
            "requires_confirmation": env.requires_confirmation(),
            "steps": destroy_plan(inv),
            "never_touched": [
                "the Terraform state backend (bucket and lock table)",
                "the cart data table",
                "the Terraform-owned base (network, load balancer, cluster, ECR repository)",
            ],
        }

    # keep-alive, nightly teardown, morning restore -----------------------------------------------------------
    def keep_alive(self, name: str, body: Any) -> dict[str, Any]:
        env = self.get_environment(name)
        try:
            until = keep_alive_request(body, self.clock())
        except v.InvalidInput as exc:
            raise _invalid(exc) from None
        self.store.set_keep_alive(env.name, until)
        return {"environment": env.name, "keep_alive_until": iso(until)}

    def end_keep_alive(self, name: str) -> dict[str, Any]:
        env = self.get_environment(name)
        if not self.store.clear_keep_alive(env.name):
            raise NotFound(f"environment {name!r} has no keep-alive")
        return {"environment": env.name, "keep_alive_until": None}

    def keep_alive_until(self, name: str) -> float | None:
        until = self.store.keep_alives().get(name)
        return until if until is not None and until > self.clock() else None

    def teardown_candidates(self) -> list[Environment]:
        self.ensure_seeded()
        return teardown_selection(self.store.list_environments(), self.store.keep_alives(), self.clock())

    def nightly_teardown(self, run_id: str) -> dict[str, Any]:
        """Tear down the selected dev environments in ONE execution of the teardown state machine (a Map with
        bounded concurrency). Each environment gets its own destroy operation (trigger ``schedule``, lock,
        timeline), whose snapshot step records what the morning restore brings back."""
        envs = self.teardown_candidates()
        return self._batch("teardown", run_id, OpKind.DESTROY, {env.name: {"nightly": True} for env in envs})

    def morning_restore(self, run_id: str) -> dict[str, Any]:
        """Re-provision what the nightly run tore down, to the recorded desired count, limits and digest."""
        if not self.settings.morning_restore_enabled:
            return {"run": run_id, "skipped": "the morning restore is disabled (MORNING_RESTORE_ENABLED=false)"}
        self.ensure_seeded()
        envs = self.store.list_environments()
        snapshots = {e.name: snap for e in envs if (snap := self.store.get_snapshot(e.name)) is not None}
        selected = restore_selection(envs, snapshots)
        params = {
            e.name: {
                **snapshots[e.name].restore_params(),
                "restore": True,
                "snapshot_operation_id": snapshots[e.name].operation_id,
            }
            for e in selected
        }
        return self._batch("restore", run_id, OpKind.PROVISION, params)

    def _batch(self, machine: str, run_id: str, kind: OpKind, params: dict[str, dict[str, Any]]) -> dict[str, Any]:
        now = self.clock()
        items: list[dict[str, Any]] = []
        ops: list[Operation] = []
        skipped: dict[str, str] = {}
        for name, p in params.items():
            op_id = f"{kind.value}-{run_id}-{name}"
            try:
                prepared = self._prepare(kind, name, dict(p), "schedule", op_id, now)
            except OperationInProgress as exc:
                skipped[name] = exc.message
                continue
            if isinstance(prepared, Operation):  # this run already started it (the schedule fired twice)
                skipped[name] = f"already started by this run ({prepared.id})"
                continue
            op, payload = prepared
            ops.append(op)
            items.append(payload)
        result: dict[str, Any] = {"run": f"{machine}-{run_id}", "operations": [o.id for o in ops], "skipped": skipped}
        if not items:
            return result
        try:
            arn = self.executor.start_batch(machine, f"{machine}-{run_id}", {"run": run_id, "items": items})
        except Exception as exc:
            for op in ops:
                self._abandon(op, exc)
            raise
        for op in ops:
            self.store.set_execution(op.id, arn)
        return result | {"execution_arn": arn}

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
