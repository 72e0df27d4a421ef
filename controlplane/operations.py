"""An operation's life: how it starts, how it is cancelled, and the one way it ends.

Starting takes the environment's lock, creates the operation (and keeps its Idempotency-Key) in one transaction,
then starts its execution. Ending is ``Operations.close`` whatever ended it (the last step, the failure path, the
cancel path, the reconcile of a dead execution, a start that could not start): read what ECS runs, settle the
environment's status from it, record the operation's end and release the lock (one transaction), notify, then
start a pending push, always in that order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from controlplane.domain import rollout
from controlplane.domain.contract import Contract
from controlplane.domain.flows import FLOWS
from controlplane.domain.lifecycle import STARTS_FROM, TRANSITIONAL, refusal
from controlplane.domain.lifecycle import settle as settle_status
from controlplane.domain.model import (
    CancelRequest,
    Environment,
    EnvStatus,
    Intended,
    Operation,
    OpKind,
    OpStatus,
    PushRecord,
    ServiceState,
    StepRecord,
    StepStatus,
)
from controlplane.domain.notifications import operation_ended
from controlplane.domain.redact import redact, redact_all
from controlplane.errors import (
    ApiError,
    Conflict,
    IdempotencyKeyReused,
    NotFound,
    OperationInProgress,
    TransientError,
)
from controlplane.observability import logger
from controlplane.ports import (
    Begin,
    Clock,
    End,
    Ended,
    EnvironmentMissing,
    Executor,
    IdempotencyReplay,
    LockHeld,
    Notifier,
    OperationEnded,
    OperationExists,
    Platform,
    Registry,
    StatusRefused,
    VersionConflict,
)
from controlplane.settings import Settings
from controlplane.waits import Waits

START_ATTEMPTS = 4  # reads of the environment a start may need when it keeps changing meanwhile
# How many waits an operation can hold its lock across (its lease covers them all; informational).
WAITS_PER_OPERATION = {OpKind.PROVISION: 3, OpKind.BUILD: 1, OpKind.DEPLOY: 2, OpKind.DESTROY: 3}
ReleaseHook = Callable[[str, PushRecord | None], Any]


@dataclass(frozen=True)
class Closing:
    """How an operation ends (the input of ``Operations.close``)."""

    operation_id: str
    environment: str
    kind: OpKind
    status: OpStatus
    before: EnvStatus
    trigger: str = "api"
    created_at: float = 0.0
    error: dict[str, Any] | None = None
    result: dict[str, Any] = field(default_factory=dict)
    steps: Sequence[StepRecord] = ()
    contract: Contract | None = None  # None: what ECS runs cannot be read (the status stays as it was)
    images: Mapping[str, str | None] = field(default_factory=dict)  # task definition ARN -> image, known already
    intended: Intended | None = None
    clear_intended: bool = False
    notify_topic: str | None = None
    unless_cancelled: bool = False


def known_images(env: Environment) -> dict[str, str]:
    """Task definition ARN -> image (``@<digest>``) as recorded for the environment."""
    out: dict[str, str] = {}
    for seen in (env.intended, env.service):
        if seen is not None and seen.task_definition_arn and seen.image_digest:
            out[seen.task_definition_arn] = f"@{seen.image_digest}"
    return out


def first_phase(kind: OpKind) -> str:
    return FLOWS[kind].phases[0]


class Operations:
    def __init__(
        self,
        registry: Registry,
        executor: Executor,
        platform: Platform,
        settings: Settings,
        waits: Waits,
        clock: Clock = time.time,
        notifier: Notifier | None = None,
        after_release: ReleaseHook | None = None,
    ) -> None:
        self.registry = registry
        self.executor = executor
        self.platform = platform
        self.settings = settings
        self.waits = waits
        self.clock = clock
        self.notifier = notifier
        self.after_release = after_release

    # starting ---------------------------------------------------------------------------------------------
    def prepare(
        self,
        env: Environment,
        kind: OpKind,
        params: dict[str, Any],
        trigger: str,
        op_id: str,
        execution: tuple[str, str] | None = None,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[Operation, dict[str, Any]]:
        """Take the lock and create the operation (one transaction); returns it and its execution's input.
        ``execution``: (state machine, execution name) when it runs inside another execution (the schedules').
        Raises the registry's LockHeld, StatusRefused, OperationExists, IdempotencyReplay, EnvironmentMissing."""
        now = self.clock()
        params = dict(params)
        wait = {
            "interval_seconds": self.settings.wait_interval_seconds,
            "timeout_seconds": self.settings.wait_timeout_seconds,
            **params.pop("wait", {}),
        }
        lease = wait["timeout_seconds"] * WAITS_PER_OPERATION[kind] + self.settings.lock_margin_seconds
        first = first_phase(kind)
        op = Operation(
            id=op_id,
            kind=kind,
            environment=env.name,
            trigger=trigger,
            params=params,
            created_at=now,
            steps=(StepRecord(first, StepStatus.RUNNING, now),),
            execution_arn=self.executor.execution_arn(*(execution or (kind.value, op_id))),
            before=env.status,
        )
        begin = Begin(op, now + lease, STARTS_FROM[kind], TRANSITIONAL.get(kind), idempotency, env.version)
        self.registry.begin(begin)
        payload = {
            "operation_id": op_id,
            "environment": env.name,
            "kind": kind.value,
            "trigger": trigger,
            "created_at": now,
            "params": params,
            "wait": wait,
            "quiet_seconds": int(params.get("quiet_seconds") or 0),
            "env": {
                "before": env.status.value,
                "tier": env.tier.value,
                "desired_count": env.settings.desired_count,
                "intended_digest": env.intended.image_digest if env.intended else None,
                "intended_tag": env.intended.image_tag if env.intended else None,
                # what each task definition seen runs (task definitions never change: a recorded pair holds)
                "images": known_images(env),
                "notify": env.settings.notification_topic,
            },
            "ctx": {"started": {first: now}},
        }
        return op, payload

    def start(
        self,
        env: Environment,
        kind: OpKind,
        params: dict[str, Any],
        trigger: str,
        op_id: str,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[Operation, bool]:
        """Start an operation; (operation, created). A replay (same id or Idempotency-Key) returns the first."""
        reconciled = False
        for _ in range(START_ATTEMPTS):
            try:
                op, payload = self.prepare(env, kind, params, trigger, op_id, idempotency=idempotency)
                break
            except VersionConflict:  # it changed since it was read (an operation ended, a setting): read again
                env = self._reread(env)
                continue
            except IdempotencyReplay as replay:
                if idempotency is None or replay.fingerprint != idempotency[1]:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used with a different request; use a new key",
                        operation_id=replay.operation_id,
                    ) from None
                return self.get(replay.operation_id), False
            except OperationExists:
                return self.get(op_id), False
            except EnvironmentMissing:
                raise NotFound(f"environment {env.name!r} does not exist") from None
            except StatusRefused as refused:
                raise Conflict(refusal(kind, refused.status, env.name), status=refused.status.value) from None
            except LockHeld as held:
                if not reconciled and self._holder_ended(held.lock.operation_id):
                    reconciled = True
                    env = self._reread(env)
                    continue
                raise OperationInProgress(
                    f"operation {held.lock.operation_id} is running on {env.name!r}; wait for it or cancel it",
                    running_operation=held.lock.operation_id,
                ) from None
        else:
            raise Conflict(f"environment {env.name!r} kept changing while the operation started; retry")
        try:
            self.executor.start(kind.value, op_id, payload)
        except Exception as exc:
            self.abandon(op, exc)
            raise
        return op, True

    def _reread(self, env: Environment) -> Environment:
        fresh = self.registry.get_environment(env.name)
        if fresh is None:
            raise NotFound(f"environment {env.name!r} does not exist")
        return fresh

    def get(self, op_id: str) -> Operation:
        op = self.registry.get_operation(op_id)
        if op is None:
            raise NotFound(f"operation {op_id!r} does not exist")
        return op

    def abandon(self, op: Operation, exc: BaseException) -> None:
        """Its execution could not be started: end it as failed, nothing ran."""
        self.close(
            Closing(
                op.id,
                op.environment,
                op.kind,
                OpStatus.FAILED,
                op.before or EnvStatus.ABSENT,
                trigger=op.trigger,
                created_at=op.created_at,
                error={"step": "start", "code": type(exc).__name__, "message": f"could not start: {exc}"},
            )
        )

    # cancelling and reconciling ---------------------------------------------------------------------------------
    def cancel(self, op_id: str, mode: str = "rollback") -> Operation:
        """Ask a running operation to stop. Its execution's cancel path undoes a rollout that began (mode
        ``rollback``; ``finish`` lets it finish and records what runs) and ends it ABORTED; an execution that is
        already dead is reconciled now."""
        op = self.get(op_id)
        if op.status.finished:
            raise Conflict(f"operation {op_id} already ended ({op.status.value})", status=op.status.value)
        try:
            op = self.registry.request_cancel(op_id, CancelRequest(mode, self.clock()))
        except OperationEnded:
            raise Conflict(f"operation {op_id} already ended", status=self.get(op_id).status.value) from None
        reconciled = self.reconcile(op)
        if reconciled.status.finished:
            return reconciled
        if op.wait_key:
            self.waits.cancel(op.wait_key, f"operation {op_id} was cancelled ({mode})")
        return self.get(op_id)

    def _holder_ended(self, holder_id: str) -> bool:
        """The lock's holder: if its execution has in fact ended, end it (releasing the lock). True if released."""
        holder = self.registry.get_operation(holder_id)
        if holder is None:
            return False
        return self.reconcile(holder).status.finished

    def reconcile(self, op: Operation) -> Operation:
        """If the operation's execution ended without ending the operation (stopped by hand, timed out, failed
        in its failure path), end it now, from what AWS runs."""
        if op.status.finished or not op.execution_arn:
            return op
        status = self.executor.status(op.execution_arn)
        if status == "RUNNING" or (status is None and self.clock() - op.created_at < 60):
            return op  # running, or just started (its execution may not be visible yet)
        final = {"ABORTED": OpStatus.ABORTED, "TIMED_OUT": OpStatus.TIMED_OUT}.get(status or "", OpStatus.FAILED)
        now = self.clock()
        running = op.running_step()
        steps = (
            [running.replace(status=StepStatus.FAILED, ended_at=now, error="its execution ended")] if running else []
        )
        try:
            contract: Contract | None = self.platform.read_contract(op.environment)
        except Exception:  # what runs cannot be read: the status stays as it was
            contract = None
        message = (
            f"the execution ended ({status or 'not found'}) without ending the operation"
            if status
            else "its execution does not exist"
        )
        self.close(
            Closing(
                op.id,
                op.environment,
                op.kind,
                final,
                op.before or EnvStatus.ABSENT,
                trigger=op.trigger,
                created_at=op.created_at,
                error={"step": running.name if running else None, "code": "ExecutionEnded", "message": message},
                steps=steps,
                contract=contract,
            )
        )
        return self.get(op.id)

    # the one ending --------------------------------------------------------------------------------------------
    def observe(self, k: Contract, images: Mapping[str, str | None]) -> ServiceState | None:
        """What ECS runs now (None if it cannot be read)."""
        try:
            svc = self.platform.describe_service(k)
            td = str(svc.get("taskDefinition") or "") if svc else ""
            known = dict(images)
            if td and td not in known:
                known |= self.platform.task_definition_images([td])
            return rollout.service_state(svc, known, self.clock())
        except TransientError as exc:
            logger.warning("what ECS runs could not be read", extra={"error": str(exc)})
            return None

    def close(self, c: Closing) -> Ended:
        now = self.clock()
        c = replace(  # what the record says about a failure never names the account
            c,
            error=redact_all(c.error) if c.error else c.error,
            steps=[s.replace(error=redact(s.error)) if s.error else s for s in c.steps],
        )
        service = self.observe(c.contract, c.images) if c.contract is not None and c.kind is not OpKind.BUILD else None
        env_status = c.before if c.kind is OpKind.BUILD else settle_status(c.kind, c.status, c.before, service)
        ended = self.registry.end(
            End(
                operation_id=c.operation_id,
                environment=c.environment,
                status=c.status,
                ended_at=now,
                error=c.error,
                result=c.result,
                steps=c.steps,
                env_status=env_status,
                service=service,
                intended=c.intended,
                clear_intended=c.clear_intended,
                url=c.contract.url if c.contract else None,
                unless_cancelled=c.unless_cancelled,
            )
        )
        if not ended.ended:
            return ended
        logger.info(
            "operation ended",
            extra={"operation_id": c.operation_id, "status": c.status.value, "environment_status": env_status.value},
        )
        self._notify(c, now)
        if ended.lock_released and ended.pending_push is not None and self.after_release is not None:
            try:
                self.after_release(c.environment, ended.pending_push)
            except ApiError as exc:  # the push is recorded; the next release or push picks it up
                logger.warning("pending push not started", extra={"environment": c.environment, "error": str(exc)})
        return ended

    def _notify(self, c: Closing, now: float) -> None:
        if self.notifier is None or not c.notify_topic:
            return
        op = Operation(
            id=c.operation_id,
            kind=c.kind,
            environment=c.environment,
            trigger=c.trigger,
            params={},
            status=c.status,
            created_at=c.created_at,
            ended_at=now,
            error=c.error,
            result=c.result,
        )
        subject, message = operation_ended(op)
        try:
            self.notifier.publish(c.notify_topic, subject, message)
        except Exception as exc:  # best effort: a notification never fails an operation
            logger.warning("operation end not published", extra={"operation_id": c.operation_id, "error": str(exc)})
