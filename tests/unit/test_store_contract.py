"""The registry port's contract, run against both adapters (in memory, and DynamoDB under moto)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from controlplane.domain.model import (
    CancelRequest,
    Environment,
    EnvSettings,
    EnvStatus,
    Intended,
    Operation,
    OpKind,
    OpStatus,
    PushRecord,
    ServiceState,
    StepRecord,
    StepStatus,
    Tier,
)
from controlplane.domain.schedule import Snapshot
from controlplane.errors import Cancelled
from controlplane.ports import (
    BadCursor,
    Begin,
    End,
    EnvironmentMissing,
    IdempotencyReplay,
    LockHeld,
    OperationEnded,
    OperationExists,
    Registry,
    StatusRefused,
    VersionConflict,
)
from controlplane.store import cursor
from controlplane.store.dynamodb import DynamoRegistry, create_registry_table
from controlplane.store.memory import MemoryRegistry

ANY = frozenset(EnvStatus)


@pytest.fixture(params=["memory", "dynamodb"])
def reg(request: pytest.FixtureRequest) -> Iterator[Registry]:
    if request.param == "memory":
        yield MemoryRegistry()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_registry_table(client, "registry")
        yield DynamoRegistry(client, "registry")


def env(name: str = "dev", **changes: object) -> Environment:
    return Environment(name=name, tier=Tier.DEV, tier_source="contract", updated_at=1.0).replace(**changes)


def op(op_id: str, env_name: str = "dev", at: float = 10.0, kind: OpKind = OpKind.DEPLOY) -> Operation:
    first = StepRecord("rollout", StepStatus.RUNNING, at)
    return Operation(op_id, kind, env_name, "api", {"a": 1}, created_at=at, steps=(first,), before=EnvStatus.READY)


def begin(reg: Registry, op_id: str, key: tuple[str, str] | None = None, kind: OpKind = OpKind.DEPLOY) -> Operation:
    o = op(op_id, kind=kind)
    reg.begin(Begin(o, 100.0, ANY, EnvStatus.DEPLOYING, key))
    return o


def end(op_id: str, status: OpStatus = OpStatus.SUCCEEDED, **changes: object) -> End:
    values: dict[str, object] = {
        "operation_id": op_id,
        "environment": "dev",
        "status": status,
        "ended_at": 20.0,
        "error": None,
        "result": {"r": 1},
        "env_status": EnvStatus.READY,
        "service": ServiceState("ACTIVE", "arn:td:2", "sha256:b", desired_count=1, running_count=1, observed_at=20.0),
        "intended": Intended("arn:td:2", "sha256:b", "v2", op_id, 20.0),
    }
    return End(**(values | changes))  # type: ignore[arg-type]


class TestEnvironments:
    def test_create_once_and_page_by_name(self, reg: Registry) -> None:
        for name in ("dev", "qa", "prod", "staging"):
            assert reg.create_environment(env(name)) is True
        assert reg.create_environment(env("dev", updated_at=5.0)) is False
        first = reg.list_environments(3)
        assert [e.name for e in first.items] == ["dev", "prod", "qa"] and first.next
        rest = reg.list_environments(3, first.next)
        assert [e.name for e in rest.items] == ["staging"] and rest.next is None

    def test_a_cursor_from_elsewhere_is_refused(self, reg: Registry) -> None:
        reg.create_environment(env())
        for bad in ("nope", "e30", "x" * 3000):
            with pytest.raises(BadCursor):
                reg.list_environments(1, bad)
        ops_cursor = reg.list_operations("dev", 1).next
        assert ops_cursor is None

    def test_a_forged_cursor_of_the_right_listing_is_refused(self, reg: Registry) -> None:
        # GIVEN cursors that decode and name the right listing but carry no key, another store's key, a key of
        # another partition or a key of the wrong shape (a cursor of the DynamoDB store read by the in-memory
        # one, or the reverse, included)
        reg.create_environment(env())
        key = {"pk": {"S": "ENV#dev"}, "sk": {"S": "ENV"}, "gsi1pk": {"S": "ENVS"}, "gsi1sk": {"S": "dev"}}
        forged = [
            {"scope": "envs"},
            {"scope": "envs", "key": None},
            {"scope": "envs", "key": {**key, "gsi1pk": {"S": "ENVOPS#dev"}}},
            {"scope": "envs", "key": {**key, "gsi1sk": {"N": "1"}}},
            {"scope": "envs", "key": {"pk": {"S": "x"}}},
            {"scope": "envs", "after": 7},
        ]
        if isinstance(reg, DynamoRegistry):
            forged.append({"scope": "envs", "after": "dev"})  # the in-memory store's cursor
        else:
            forged.append({"scope": "envs", "key": key})  # the DynamoDB store's cursor
        for data in forged:
            # WHEN a listing is asked for the page after it; THEN it is a BadCursor (a 400), never a KeyError
            with pytest.raises(BadCursor):
                reg.list_environments(1, cursor.encode(data))
        for data in (
            {"scope": "ops:dev", "after": ["x", 1]},
            {"scope": "ops:dev", "key": {**key, "gsi1pk": {"S": "ENVS"}}},
        ):
            with pytest.raises(BadCursor):
                reg.list_operations("dev", 1, cursor.encode(data))

    def test_settings_are_conditional_on_the_version_read(self, reg: Registry) -> None:
        reg.create_environment(env())
        v1 = reg.get_environment("dev")
        assert v1 is not None
        updated = reg.update_settings("dev", Tier.DEV, "contract", EnvSettings(protected=True), v1.version, 2.0)
        assert updated.settings.protected and updated.version == v1.version + 1
        with pytest.raises(VersionConflict):
            reg.update_settings("dev", Tier.DEV, "contract", EnvSettings(), v1.version, 3.0)
        with pytest.raises(EnvironmentMissing):
            reg.update_settings("nope", Tier.DEV, "contract", EnvSettings(), 1, 3.0)

    def test_a_settings_write_never_touches_what_operations_own(self, reg: Registry) -> None:
        # GIVEN an operation holding dev WHEN the settings change THEN the lock, the status, what runs stay
        reg.create_environment(env(status=EnvStatus.READY))
        begin(reg, "deploy_dev_1")
        held = reg.get_environment("dev")
        assert held is not None and held.lock is not None
        reg.update_settings("dev", Tier.DEV, "contract", EnvSettings(nightly_teardown=True), held.version, 5.0)
        reg.end(end("deploy_dev_1"))
        after = reg.get_environment("dev")
        assert after is not None
        assert after.settings.nightly_teardown is True  # the settings write is kept
        assert after.status is EnvStatus.READY and after.lock is None  # the operation's end is kept
        assert after.intended is not None and after.intended.image_digest == "sha256:b"

    def test_keep_alive_is_set_and_cleared_once(self, reg: Registry) -> None:
        reg.create_environment(env())
        assert reg.set_keep_alive("dev", 500.0, 1.0) is True
        got = reg.get_environment("dev")
        assert got is not None and got.keep_alive_until == 500.0
        assert reg.set_keep_alive("dev", None, 2.0) is True
        assert reg.set_keep_alive("dev", None, 3.0) is False
        with pytest.raises(EnvironmentMissing):
            reg.set_keep_alive("nope", 1.0, 1.0)

    def test_record_service_only_while_unlocked_and_unchanged(self, reg: Registry) -> None:
        reg.create_environment(env())
        e = reg.get_environment("dev")
        assert e is not None
        seen = ServiceState("ACTIVE", "arn:td:1", observed_at=3.0)
        assert reg.record_service("dev", seen, "http://x", 3.0, e.version) is True
        assert reg.record_service("dev", seen, None, 4.0, e.version) is False  # the version moved
        e = reg.get_environment("dev")
        assert e is not None and e.service == seen and e.url == "http://x"
        begin(reg, "deploy_dev_1")
        locked = reg.get_environment("dev")
        assert locked is not None
        assert reg.record_service("dev", seen, None, 5.0, locked.version) is False  # an operation holds it


class TestPushes:
    def test_newest_wins_and_a_digest_is_seen_once(self, reg: Registry) -> None:
        reg.create_environment(env())
        a = PushRecord("sha256:a", "latest", 100.0, "pending", "deploy_dev_push-a")
        b = PushRecord("sha256:b", "latest", 101.0, "pending", "deploy_dev_push-b")
        assert reg.offer_push("dev", a) is True
        assert reg.offer_push("dev", a) is False  # the same digest again
        assert reg.offer_push("dev", b) is True
        assert reg.offer_push("dev", a.replace(pushed_at=99.0, digest="sha256:c")) is False  # older
        got = reg.get_environment("dev")
        assert got is not None and got.push is not None and got.push.digest == "sha256:b"
        assert got.push.state == "pending"
        assert reg.set_push_state("dev", "sha256:a", "started") is False  # replaced
        assert reg.set_push_state("dev", "sha256:b", "started") is True
        got = reg.get_environment("dev")
        assert got is not None and got.push is not None and got.push.state == "started"


class TestTheLedger:
    def test_begin_takes_the_lock_sets_the_status_and_creates_the_operation(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        o = begin(reg, "deploy_dev_1")
        held = reg.get_environment("dev")
        assert held is not None and held.lock is not None and held.lock.operation_id == o.id
        assert held.status is EnvStatus.DEPLOYING and held.last_operation_id == o.id
        stored = reg.get_operation(o.id)
        assert stored is not None and stored.status is OpStatus.RUNNING and stored.before is EnvStatus.READY
        assert [s.name for s in stored.steps] == ["rollout"]

    def test_begin_is_all_or_nothing(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        begin(reg, "deploy_dev_1", key=("k1", "fp1"))
        # a second operation: the lock is held; nothing of it is written, its key is not reserved
        with pytest.raises(LockHeld) as held:
            begin(reg, "deploy_dev_2", key=("k2", "fp2"))
        assert held.value.lock.operation_id == "deploy_dev_1"
        assert reg.get_operation("deploy_dev_2") is None
        reg.end(end("deploy_dev_1"))
        begin(reg, "deploy_dev_3", key=("k2", "fp3"))  # k2 was not kept by the refused request
        with pytest.raises(IdempotencyReplay) as replay:
            begin(reg, "deploy_dev_4", key=("k2", "fp4"))
        assert (replay.value.fingerprint, replay.value.operation_id) == ("fp3", "deploy_dev_3")

    def test_begin_refusals_say_why(self, reg: Registry) -> None:
        with pytest.raises(EnvironmentMissing):
            begin(reg, "deploy_dev_1")
        reg.create_environment(env(status=EnvStatus.DESTROYED))
        with pytest.raises(StatusRefused) as refused:
            reg.begin(Begin(op("deploy_dev_1"), 100.0, frozenset({EnvStatus.READY}), EnvStatus.DEPLOYING))
        assert refused.value.status is EnvStatus.DESTROYED
        reg.begin(Begin(op("deploy_dev_1"), 100.0, ANY, EnvStatus.DEPLOYING))
        reg.end(end("deploy_dev_1"))
        with pytest.raises(OperationExists):
            reg.begin(Begin(op("deploy_dev_1"), 100.0, ANY, EnvStatus.DEPLOYING))

    def test_begin_is_conditional_on_the_environment_as_read(self, reg: Registry) -> None:
        # GIVEN dev read at some version, then changed by someone else (an operation's end, a settings PUT)
        reg.create_environment(env(status=EnvStatus.READY))
        read = reg.get_environment("dev")
        assert read is not None
        reg.update_settings("dev", Tier.DEV, "contract", EnvSettings(protected=True), read.version, 2.0)
        # THEN an operation started from the stale read is refused (its "status before" would be wrong)
        stale = Begin(op("deploy_dev_1"), 100.0, ANY, EnvStatus.DEPLOYING, expected_version=read.version)
        with pytest.raises(VersionConflict):
            reg.begin(stale)
        assert reg.get_operation("deploy_dev_1") is None
        fresh = reg.get_environment("dev")
        assert fresh is not None
        reg.begin(Begin(op("deploy_dev_1"), 100.0, ANY, EnvStatus.DEPLOYING, expected_version=fresh.version))

    def test_end_records_settles_and_releases_once(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        begin(reg, "deploy_dev_1")
        first = reg.end(end("deploy_dev_1", steps=[StepRecord("rollout", StepStatus.SUCCEEDED, 10.0, 19.0)]))
        assert first.ended and first.lock_released and first.pending_push is None
        again = reg.end(end("deploy_dev_1", OpStatus.FAILED))
        assert not again.ended
        stored = reg.get_operation("deploy_dev_1")
        assert stored is not None and stored.status is OpStatus.SUCCEEDED and stored.result == {"r": 1}
        assert stored.ended_at == 20.0 and [s.status for s in stored.steps] == [StepStatus.SUCCEEDED]
        after = reg.get_environment("dev")
        assert after is not None and after.lock is None and after.status is EnvStatus.READY
        assert after.service is not None and after.service.task_definition_arn == "arn:td:2"

    def test_end_hands_over_the_pending_push(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        begin(reg, "deploy_dev_1")
        push = PushRecord("sha256:p", "latest", 5.0, "pending", "deploy_dev_push-p")
        reg.offer_push("dev", push)
        ended = reg.end(end("deploy_dev_1"))
        assert ended.lock_released and ended.pending_push is not None and ended.pending_push.digest == "sha256:p"

    def test_end_unless_cancelled(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        begin(reg, "deploy_dev_1")
        reg.request_cancel("deploy_dev_1", CancelRequest("rollback", 15.0))
        refused = reg.end(end("deploy_dev_1", unless_cancelled=True))
        assert refused.cancelled and not refused.ended
        stored = reg.get_operation("deploy_dev_1")
        assert stored is not None and stored.status is OpStatus.RUNNING
        assert reg.end(end("deploy_dev_1", OpStatus.ABORTED)).ended

    def test_end_of_an_operation_without_the_lock_leaves_the_environment(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        reg.begin(Begin(op("build_dev_1", kind=OpKind.BUILD), 100.0, ANY, None))
        reg.end(end("build_dev_1"))  # released
        begin(reg, "deploy_dev_2")
        stray = reg.end(end("build_dev_1", OpStatus.FAILED))
        assert not stray.ended  # already ended
        held = reg.get_environment("dev")
        assert held is not None and held.lock is not None and held.lock.operation_id == "deploy_dev_2"


class TestOperations:
    def test_steps_of_a_running_operation_and_its_cancel(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        begin(reg, "deploy_dev_1")
        assert reg.record_steps("deploy_dev_1", [StepRecord("rollout", StepStatus.RUNNING, 10.0, polls=2)]) is None
        first = reg.request_cancel("deploy_dev_1", CancelRequest("finish", 11.0))
        second = reg.request_cancel("deploy_dev_1", CancelRequest("rollback", 12.0))
        assert first.cancel == second.cancel == CancelRequest("finish", 11.0)  # the first request stands
        seen = reg.record_steps("deploy_dev_1", [StepRecord("finish", StepStatus.RUNNING, 12.0)])
        assert seen is not None and seen.mode == "finish"
        reg.end(end("deploy_dev_1", OpStatus.ABORTED))
        with pytest.raises(OperationEnded):
            reg.record_steps("deploy_dev_1", [StepRecord("finish", StepStatus.SUCCEEDED, 12.0, 13.0)])
        with pytest.raises(OperationEnded):
            reg.request_cancel("deploy_dev_1", CancelRequest("rollback", 14.0))

    def test_listing_is_newest_first_filtered_and_paged(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        for i in range(5):
            o = op(f"deploy_dev_{i}", at=10.0 + i)
            reg.begin(Begin(o, 100.0, ANY, EnvStatus.DEPLOYING))
            reg.end(end(o.id, OpStatus.FAILED if i % 2 else OpStatus.SUCCEEDED))
        page = reg.list_operations("dev", 2)
        assert [o.id for o in page.items] == ["deploy_dev_4", "deploy_dev_3"] and page.next
        rest = reg.list_operations("dev", 10, page.next)
        assert [o.id for o in rest.items] == ["deploy_dev_2", "deploy_dev_1", "deploy_dev_0"] and rest.next is None
        failed = reg.list_operations("dev", 10, statuses=[OpStatus.FAILED])
        assert [o.id for o in failed.items] == ["deploy_dev_3", "deploy_dev_1"]
        assert reg.list_operations("dev", 10, kinds=[OpKind.BUILD]).items == []


class TestWaits:
    def test_token_and_outcome_meet_whichever_comes_first(self, reg: Registry) -> None:
        reg.create_environment(env(status=EnvStatus.READY))
        begin(reg, "deploy_dev_1")
        rec = StepRecord("rollout", StepStatus.RUNNING, 10.0, detail={"deployment_id": "d1"})
        parked = reg.register_wait("deployment#d1", "tok", [rec], "deploy_dev_1", {"x": 1})
        assert parked["token"] == "tok" and "outcome" not in parked
        resolved = reg.record_wait_outcome("deployment#d1", {"ok": True}, 11.0)
        assert resolved["token"] == "tok" and resolved["carry"] == {"x": 1}
        early = reg.record_wait_outcome("deployment#d2", {"ok": False}, 11.0)
        assert "token" not in early
        reg.request_cancel("deploy_dev_1", CancelRequest("rollback", 12.0))
        with pytest.raises(Cancelled):  # written, then the cancel is reported
            reg.register_wait("deployment#d2", "tok2", [rec], "deploy_dev_1", {})
        after = reg.get_wait("deployment#d2")
        assert after is not None and after["token"] == "tok2" and after["outcome"] == {"ok": False}
        stored = reg.get_operation("deploy_dev_1")
        assert stored is not None and stored.wait_key == "deployment#d2"
        own = reg.register_wait("deployment#d3", "tok3", [rec], "deploy_dev_1", {}, cancellable=False)
        assert own["token"] == "tok3"
        reg.end(end("deploy_dev_1", OpStatus.ABORTED))
        with pytest.raises(OperationEnded):
            reg.register_wait("deployment#d4", "tok4", [rec], "deploy_dev_1", {})


class TestSnapshots:
    def test_a_snapshot_moves_only_when_it_is_the_operations(self, reg: Registry) -> None:
        snap = Snapshot("dev", 2, 1, 4, "sha256:a", "destroy_dev_1", taken_at=5.0)
        reg.put_snapshot(snap)
        assert reg.get_snapshot("dev") == snap
        assert reg.set_snapshot_state("dev", "destroy_dev_2", "torn_down") is False
        assert reg.set_snapshot_state("dev", "destroy_dev_1", "torn_down") is True
        got = reg.get_snapshot("dev")
        assert got is not None and got.state == "torn_down"
