"""Nightly teardown and morning restore: the selection (property-tested), keep-alives, and the batch use cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.domain.model import Environment, EnvSettings, EnvStatus, OpKind, Tier
from controlplane.domain.schedule import (
    Snapshot,
    iso,
    keep_alive_request,
    restore_selection,
    run_id,
    teardown_selection,
)
from controlplane.domain.validation import InvalidInput
from controlplane.errors import NotFound, ValidationFailed
from controlplane.service import ControlService
from controlplane.settings import Settings
from controlplane.store.memory import MemoryStore
from tests.fakes import FakeExecutor

NOW = 1_800_000_000.0

environments = st.builds(
    Environment,
    name=st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True),
    tier=st.sampled_from(list(Tier)),
    status=st.sampled_from(list(EnvStatus)),
    settings=st.builds(EnvSettings, nightly_teardown=st.booleans(), protected=st.booleans()),
)
registries = st.lists(environments, max_size=25, unique_by=lambda e: e.name)
keep_alive_offsets = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True), st.floats(-86400, 86400, allow_nan=False), max_size=10
)


@given(registries, keep_alive_offsets)
def test_nightly_selection_is_exactly_the_ready_dev_environments_with_teardown_on_and_no_live_keep_alive(
    envs: list[Environment], offsets: dict[str, float]
) -> None:
    # GIVEN any registry (any mix of tiers, statuses, flags) and keep-alives (live or expired)
    names = [e.name for e in envs]
    keep_alives = {name: NOW + offset for name, offset in offsets.items()}
    for e in envs[::3]:  # some keep-alives name environments of the registry
        keep_alives.setdefault(e.name, NOW + 3600)
    # WHEN the nightly run selects
    selected = teardown_selection(envs, keep_alives, NOW)
    # THEN only dev environments with teardown on and no live keep-alive; never staging or prod
    for env in selected:
        assert env.tier is Tier.DEV and env.settings.nightly_teardown
        assert keep_alives.get(env.name, 0.0) <= NOW
    assert all(e.tier not in (Tier.STAGING, Tier.PROD) for e in selected)
    # AND every such environment that runs something is selected
    expected = {
        e.name
        for e in envs
        if e.tier is Tier.DEV
        and e.settings.nightly_teardown
        and e.status is EnvStatus.READY
        and keep_alives.get(e.name, 0.0) <= NOW
    }
    assert {e.name for e in selected} == expected and len(selected) == len(set(names) & expected)


def snap(env: str, state: str) -> Snapshot:
    return Snapshot(env, 2, None, None, "sha256:" + "a" * 64, f"destroy-x-{env}", state)


def test_restore_selects_only_what_the_night_tore_down() -> None:
    envs = [
        Environment("dev", Tier.DEV, EnvStatus.DESTROYED),
        Environment("dev2", Tier.DEV, EnvStatus.DESTROYED),  # destroyed by hand: its snapshot was restored before
        Environment("demo", Tier.DEV, EnvStatus.READY),  # already back
        Environment("prod", Tier.PROD, EnvStatus.DESTROYED),
    ]
    snapshots = {e.name: snap(e.name, "torn_down") for e in envs} | {"dev2": snap("dev2", "restored")}
    assert [e.name for e in restore_selection(envs, snapshots)] == ["dev"]


def test_keep_alive_needs_a_future_iso_time_within_two_weeks() -> None:
    assert keep_alive_request({"until": iso(NOW + 3600)}, NOW) == NOW + 3600
    for bad in (None, {}, {"until": 5}, {"until": "tomorrow"}, {"until": "2020-01-01T00:00:00Z"}, {"x": 1}):
        with pytest.raises(InvalidInput):
            keep_alive_request(bad, NOW)
    with pytest.raises(InvalidInput, match="14 days"):
        keep_alive_request({"until": iso(NOW + 15 * 86400)}, NOW)


def test_run_id_comes_from_the_scheduled_events_time() -> None:
    assert run_id("2026-11-25T20:00:00Z") == "20261125t200000"


# use cases ---------------------------------------------------------------------------------------------------
@pytest.fixture
def svc() -> ControlService:
    s = ControlService(MemoryStore(), FakeExecutor(), Settings.from_env({}), lambda: NOW)
    s.ensure_seeded()
    for name in ("dev", "staging", "prod"):
        env = s.store.get_environment(name)
        assert env is not None
        s.store.put_environment(env.replace(status=EnvStatus.READY, settings=EnvSettings(nightly_teardown=True)))
    s.put_environment("dev2", {"tier": "dev"})
    qa = s.store.get_environment("dev2")
    assert qa is not None
    s.store.put_environment(qa.replace(status=EnvStatus.READY))
    return s


def batches(svc: ControlService) -> list[tuple[str, str, dict[str, object]]]:
    assert isinstance(svc.executor, FakeExecutor)
    return svc.executor.batches


def test_nightly_teardown_is_one_execution_with_one_destroy_operation_per_selected_env(svc: ControlService) -> None:
    # GIVEN dev and qa (dev tier, teardown on), staging and prod with teardown on too
    # WHEN the nightly run fires
    result = svc.nightly_teardown("20261125t200000")
    # THEN one execution of the teardown machine carries one destroy operation per dev environment
    [(machine, name, payload)] = batches(svc)
    assert (machine, name) == ("teardown", "teardown-20261125t200000")
    items = payload["items"]
    assert isinstance(items, list)
    assert sorted(i["environment"] for i in items) == ["dev", "dev2"]
    assert all(i["kind"] == "destroy" and i["params"] == {"nightly": True} for i in items)
    for op_id in result["operations"]:
        op = svc.store.get_operation(op_id)
        assert op is not None and op.kind is OpKind.DESTROY and op.trigger == "schedule"
        assert op.execution_arn and op.execution_arn.endswith("teardown-20261125t200000")
        assert svc.store.get_lock(op.environment) is not None


def test_a_keep_alive_skips_the_night_and_delete_ends_it(svc: ControlService) -> None:
    svc.keep_alive("dev2", {"until": iso(NOW + 3600)})
    assert [e.name for e in svc.teardown_candidates()] == ["dev"]
    svc.end_keep_alive("dev2")
    assert [e.name for e in svc.teardown_candidates()] == ["dev", "dev2"]
    with pytest.raises(NotFound):
        svc.end_keep_alive("dev2")
    with pytest.raises(ValidationFailed):
        svc.keep_alive("dev2", {"until": "yesterday"})


def test_a_locked_env_is_skipped_with_the_reason_and_a_second_firing_starts_nothing(svc: ControlService) -> None:
    running, _ = svc.start(OpKind.DEPLOY, "dev2", {})
    first = svc.nightly_teardown("20261125t200000")
    assert running.id in first["skipped"]["dev2"]
    again = svc.nightly_teardown("20261125t200000")
    assert again["operations"] == [] and "already started" in again["skipped"]["dev"]
    assert len(batches(svc)) == 1


def test_morning_restore_can_be_disabled() -> None:
    svc = ControlService(
        MemoryStore(), FakeExecutor(), Settings.from_env({"MORNING_RESTORE_ENABLED": "false"}), lambda: NOW
    )
    assert "disabled" in svc.morning_restore("20261126t060000")["skipped"]


def test_cancelling_one_environment_of_a_nightly_run_leaves_the_shared_execution_running(svc: ControlService) -> None:
    result = svc.nightly_teardown("20261125t200000")
    dev_op = next(o for o in result["operations"] if o.endswith("-dev"))
    cancelled = svc.cancel(dev_op)
    assert cancelled.status.value == "ABORTED" and svc.store.get_lock("dev") is None
    assert isinstance(svc.executor, FakeExecutor) and svc.executor.stopped == []  # dev2's teardown goes on
