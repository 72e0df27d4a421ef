"""The registry port's contract, run against both adapters (in-memory, and DynamoDB under moto)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from controlplane.domain.model import Operation, OpKind, OpStatus, StepRecord, StepStatus, seed_environments
from controlplane.ports import LockHeld, Store
from controlplane.store.dynamodb import DynamoStore, create_registry_table
from controlplane.store.memory import MemoryStore


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_registry_table(client, "registry")
        yield DynamoStore(client, "registry")


def op(op_id: str, env: str = "dev", at: float = 1.0) -> Operation:
    return Operation(id=op_id, kind=OpKind.DEPLOY, environment=env, trigger="api", params={"a": 1}, created_at=at)


def test_environments_create_once(store: Store) -> None:
    dev = seed_environments(0.0)[0]
    assert store.create_environment(dev) is True
    assert store.create_environment(dev.replace(updated_at=5.0)) is False
    assert store.get_environment("dev") == dev
    assert [e.name for e in store.list_environments()] == ["dev"]


def test_lock_is_exclusive_renewable_and_expires(store: Store) -> None:
    store.acquire_lock("dev", "op-a", now=100.0, lease_seconds=10)
    with pytest.raises(LockHeld) as held:
        store.acquire_lock("dev", "op-b", now=105.0, lease_seconds=10)
    assert held.value.lock.operation_id == "op-a"
    store.acquire_lock("dev", "op-a", now=105.0, lease_seconds=10)  # renewal by the holder
    store.acquire_lock("dev", "op-b", now=116.0, lease_seconds=10)  # after the lease ran out
    assert store.release_lock("dev", "op-a") is False
    assert store.release_lock("dev", "op-b") is True
    assert store.get_lock("dev") is None


def test_operation_finishes_once(store: Store) -> None:
    store.create_operation(op("deploy-1"))
    assert store.finish_operation("deploy-1", OpStatus.SUCCEEDED, 2.0, result={"x": 1}) is True
    assert store.finish_operation("deploy-1", OpStatus.ABORTED, 3.0) is False
    got = store.get_operation("deploy-1")
    assert got is not None and got.status is OpStatus.SUCCEEDED and got.result == {"x": 1} and got.ended_at == 2.0


def test_steps_are_kept_in_order(store: Store) -> None:
    store.create_operation(op("deploy-1"))
    store.record_step("deploy-1", StepRecord("lock", 2, StepStatus.SUCCEEDED, 1.0, 1.5))
    store.record_step("deploy-1", StepRecord("validate", 1, StepStatus.SUCCEEDED, 0.5, 1.0))
    store.record_step("deploy-1", StepRecord("lock", 2, StepStatus.SUCCEEDED, 1.0, 1.7, attempts=2))
    got = store.get_operation("deploy-1")
    assert got is not None
    assert [(s.name, s.attempts) for s in got.steps] == [("validate", 1), ("lock", 2)]


def test_operations_newest_first_per_environment(store: Store) -> None:
    for i in range(3):
        store.create_operation(op(f"deploy-{i}", at=float(i)))
    store.create_operation(op("deploy-x", env="prod", at=9.0))
    assert [o.id for o in store.list_operations("dev")] == ["deploy-2", "deploy-1", "deploy-0"]
    assert [o.id for o in store.list_operations("dev", limit=1)] == ["deploy-2"]


def test_idempotency_records(store: Store) -> None:
    assert store.remember_request("k", "fp1", "deploy-1", 0.0) is None
    assert store.remember_request("k", "fp2", "deploy-2", 1.0) == ("fp1", "deploy-1")


def test_push_record_newest_wins_and_state_changes_only_for_that_digest(store: Store) -> None:
    from controlplane.domain.events import PushRecord

    def rec(digest: str, at: float) -> PushRecord:
        return PushRecord("dev", digest, "latest", at, "pending", f"deploy-push-{digest}")

    assert store.record_push(rec("a", 10.0)) is True
    assert store.record_push(rec("a", 11.0)) is False  # same digest: a duplicate
    assert store.record_push(rec("b", 9.0)) is False  # older: stale
    assert store.record_push(rec("c", 10.0)) is True  # same second, another digest: the later arrival wins
    assert store.set_push_state("dev", "a", "started") is False  # replaced by c
    assert store.set_push_state("dev", "c", "started") is True
    stored = store.get_push("dev")
    assert stored is not None and (stored.digest, stored.state) == ("c", "started")


def test_keep_alives_and_snapshots(store: Store) -> None:
    from controlplane.domain.schedule import Snapshot

    store.set_keep_alive("dev", 500.0)
    assert store.keep_alives() == {"dev": 500.0}
    assert store.clear_keep_alive("dev") is True and store.clear_keep_alive("dev") is False
    snap = Snapshot("dev", 3, 2, 5, "sha256:" + "a" * 64, "destroy-n-dev", taken_at=1.0)
    store.put_snapshot(snap)
    assert store.get_snapshot("dev") == snap
    assert store.set_snapshot_state("dev", "destroy-other", "torn_down") is False
    assert store.set_snapshot_state("dev", "destroy-n-dev", "torn_down") is True
    stored = store.get_snapshot("dev")
    assert stored is not None and stored.state == "torn_down"


def test_a_wait_item_joins_the_token_and_the_outcome_whichever_comes_first(store: Store) -> None:
    first = store.record_wait_outcome("deployment#1", {"ok": True}, 1.0)
    assert "token" not in first and first["outcome"] == {"ok": True}
    joined = store.register_wait("deployment#1", "tok", "deploy-1", "wait_deployment", 2.0)
    assert joined == {"token": "tok", "operation_id": "deploy-1", "step": "wait_deployment", "outcome": {"ok": True}}
    alone = store.register_wait("build#2", "tok2", "build-1", "wait_build", 2.0)
    assert "outcome" not in alone
