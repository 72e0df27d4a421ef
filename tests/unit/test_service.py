"""Use cases with the in-memory registry and a fake executor (no AWS at all)."""

from __future__ import annotations

import pytest

from controlplane.domain.model import EnvStatus, OpKind, OpStatus
from controlplane.errors import (
    ConfirmationRequired,
    Conflict,
    IdempotencyKeyReused,
    NotFound,
    OperationInProgress,
    ValidationFailed,
)
from controlplane.service import ControlService
from controlplane.settings import Settings
from controlplane.store.memory import MemoryStore
from tests.fakes import Clock, FakeExecutor


@pytest.fixture
def svc() -> ControlService:
    return ControlService(MemoryStore(), FakeExecutor(), Settings.from_env({}), Clock())


def executor(svc: ControlService) -> FakeExecutor:
    assert isinstance(svc.executor, FakeExecutor)
    return svc.executor


def test_seed_environments_exist_by_default(svc: ControlService) -> None:
    assert [e.name for e in svc.list_environments()] == ["dev", "prod", "staging"]


def test_start_returns_a_running_operation_and_starts_one_execution(svc: ControlService) -> None:
    # GIVEN dev  WHEN a deploy is requested
    op, created = svc.start(OpKind.DEPLOY, "dev", {"image_tag": "v1"})
    # THEN it is RUNNING, the execution is named after it, and it holds the lock
    assert created and op.status is OpStatus.RUNNING and op.params == {"image_tag": "v1"}
    kind, name, payload = executor(svc).started[0]
    assert (kind, name) == (OpKind.DEPLOY, op.id)
    assert payload["wait"] == {"interval_seconds": 10, "timeout_seconds": 1800}
    lock = svc.store.get_lock("dev")
    assert lock is not None and lock.operation_id == op.id


def test_second_mutation_gets_409_naming_the_running_operation(svc: ControlService) -> None:
    first, _ = svc.start(OpKind.DEPLOY, "dev", {})
    with pytest.raises(OperationInProgress) as err:
        svc.start(OpKind.DESTROY, "dev", {})
    assert err.value.status_code == 409 and err.value.details["running_operation"] == first.id
    assert len(executor(svc).started) == 1


def test_other_environments_are_not_blocked(svc: ControlService) -> None:
    svc.start(OpKind.DEPLOY, "dev", {})
    op, created = svc.start(OpKind.DEPLOY, "staging", {})
    assert created and op.environment == "staging"


def test_a_lock_whose_execution_ended_is_reconciled(svc: ControlService) -> None:
    # GIVEN an operation whose execution was aborted outside the API (console, timeout)
    first, _ = svc.start(OpKind.DEPLOY, "dev", {})
    assert first.execution_arn
    executor(svc).statuses[first.execution_arn] = "TIMED_OUT"
    # WHEN a new operation is requested THEN it starts, and the old one is recorded TIMED_OUT
    second, created = svc.start(OpKind.DEPLOY, "dev", {})
    assert created and second.id != first.id
    assert svc.get_operation(first.id).status is OpStatus.TIMED_OUT


def test_expired_lease_frees_the_lock(svc: ControlService) -> None:
    svc.store.acquire_lock("dev", "deploy-ghost", svc.clock(), 10)
    assert isinstance(svc.clock, Clock)
    svc.clock.now += 11
    _op, created = svc.start(OpKind.DEPLOY, "dev", {})
    assert created


def test_idempotency_key_replays_and_rejects_a_different_body(svc: ControlService) -> None:
    op, created = svc.start(OpKind.DEPLOY, "dev", {"image_tag": "v1"}, idempotency_key="k-1")
    again, created_again = svc.start(OpKind.DEPLOY, "dev", {"image_tag": "v1"}, idempotency_key="k-1")
    assert created and not created_again and again.id == op.id
    with pytest.raises(IdempotencyKeyReused) as err:
        svc.start(OpKind.DEPLOY, "dev", {"image_tag": "v2"}, idempotency_key="k-1")
    assert err.value.status_code == 422
    assert len(executor(svc).started) == 1


def test_failed_start_releases_the_lock_and_records_the_failure(svc: ControlService) -> None:
    executor(svc).fail_start = RuntimeError("states unavailable")
    with pytest.raises(RuntimeError):
        svc.start(OpKind.DEPLOY, "dev", {})
    assert svc.store.get_lock("dev") is None
    (op,) = svc.list_operations("dev")
    assert op.status is OpStatus.FAILED and "states unavailable" in str(op.error)


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_destroy_of_staging_and_prod_needs_confirmation(svc: ControlService, env: str) -> None:
    with pytest.raises(ConfirmationRequired, match=f'"confirm": "{env}"'):
        svc.start(OpKind.DESTROY, env, {})
    with pytest.raises(ConfirmationRequired):
        svc.start(OpKind.DESTROY, env, {"confirm": "dev"})
    op, _ = svc.start(OpKind.DESTROY, env, {"confirm": env})
    assert op.kind is OpKind.DESTROY


def test_protected_dev_needs_confirmation(svc: ControlService) -> None:
    svc.put_environment("dev", {"protected": True})
    with pytest.raises(ConfirmationRequired, match="protected"):
        svc.start(OpKind.DESTROY, "dev", {})


def test_unknown_environment_is_404_and_bad_names_400(svc: ControlService) -> None:
    with pytest.raises(NotFound):
        svc.start(OpKind.DEPLOY, "nope", {})
    with pytest.raises(ValidationFailed):
        svc.start(OpKind.DEPLOY, "Bad_Name", {})
    with pytest.raises(ValidationFailed, match="unknown field"):
        svc.start(OpKind.DEPLOY, "dev", {"image": "x"})


def test_put_creates_with_tier_and_updates_settings(svc: ControlService) -> None:
    env, created = svc.put_environment("pr-42", {"tier": "dev", "desired_count": 2})
    assert created and env.settings.desired_count == 2 and env.settings.nightly_teardown
    env, created = svc.put_environment("pr-42", {"nightly_teardown": False})
    assert not created and env.settings.desired_count == 2 and not env.settings.nightly_teardown
    with pytest.raises(ValidationFailed, match="tier is required"):
        svc.put_environment("pr-43", {"desired_count": 1})


def test_tier_cannot_change_under_a_live_environment(svc: ControlService) -> None:
    env = svc.get_environment("dev")
    svc.store.put_environment(env.replace(status=EnvStatus.READY))
    with pytest.raises(Conflict, match="absent or destroyed"):
        svc.put_environment("dev", {"tier": "prod"})


def test_cancel_stops_the_execution_and_releases_the_lock(svc: ControlService) -> None:
    op, _ = svc.start(OpKind.DEPLOY, "dev", {})
    cancelled = svc.cancel(op.id)
    assert cancelled.status is OpStatus.ABORTED
    assert executor(svc).stopped == [op.execution_arn]
    assert svc.store.get_lock("dev") is None
    with pytest.raises(Conflict, match="already finished"):
        svc.cancel(op.id)


def test_operations_are_listed_newest_first(svc: ControlService) -> None:
    ids = []
    for _ in range(3):
        op, _ = svc.start(OpKind.BUILD, "dev", {"source_version": "main"})
        ids.append(op.id)
        svc.cancel(op.id)
        assert isinstance(svc.clock, Clock)
        svc.clock.now += 1
    assert [o.id for o in svc.list_operations("dev")] == ids[::-1]
