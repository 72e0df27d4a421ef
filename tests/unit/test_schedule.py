"""Nightly teardown and morning restore: the selection (property-tested), keep-alives, and the batch use cases."""

from __future__ import annotations

import dataclasses

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
from controlplane.errors import InvalidState, NotFound, ValidationFailed
from tests.fakes import contract
from tests.unit.engine import SETTINGS, Engine

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
    envs = [e.replace(keep_alive_until=keep_alives.get(e.name)) for e in envs]
    # WHEN the nightly run selects
    selected = teardown_selection(envs, NOW)
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
        and e.status in (EnvStatus.READY, EnvStatus.DEPLOYING, EnvStatus.PROVISIONING)
        and keep_alives.get(e.name, 0.0) <= NOW
    }
    assert {e.name for e in selected} == expected and len(selected) == len(set(names) & expected)


def snap(env: str, state: str) -> Snapshot:
    return Snapshot(env, 2, None, None, "sha256:" + "a" * 64, f"destroy_{env}_x", state)


def test_restore_selects_only_what_the_night_tore_down() -> None:
    envs = [
        Environment("dev", Tier.DEV, status=EnvStatus.DESTROYED),
        Environment("dev2", Tier.DEV, status=EnvStatus.DESTROYED),  # destroyed by hand after a restore
        Environment("demo", Tier.DEV, status=EnvStatus.READY),  # already back
        Environment("prod", Tier.PROD, status=EnvStatus.DESTROYED),
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
def e() -> Engine:
    """dev and dev2 (dev tier), staging and prod: all ready, all with the nightly teardown asked for."""
    engine = Engine(envs=(("dev", "dev"), ("dev2", "dev"), ("staging", "staging"), ("prod", "prod")))
    for name in ("dev", "dev2", "staging", "prod"):
        engine.platform.push(f"cart-service-{name}", "v1")
        assert engine.run("provision", name, {} if name.startswith("dev") else None).status.value == "SUCCEEDED"
        engine.c.environments.put(name, {"nightly_teardown": True})
    return engine


def batches(e: Engine) -> list[tuple[str, str, dict[str, object]]]:
    return [(m, n, p) for m, n, p in e.executor.started if m in ("teardown", "restore")]


def test_nightly_teardown_is_one_execution_with_one_destroy_operation_per_selected_env(e: Engine) -> None:
    # GIVEN dev and dev2 (dev tier, teardown on), staging and prod with teardown asked for too
    # WHEN the nightly run fires
    result = e.c.schedules.nightly_teardown("20261125t200000")
    # THEN one execution of the teardown machine carries one destroy operation per dev environment
    [(machine, name, payload)] = batches(e)
    assert (machine, name) == ("teardown", "teardown-20261125t200000")
    items = payload["items"]
    assert isinstance(items, list) and payload["max_concurrency"] == SETTINGS.batch_concurrency
    assert sorted(i["environment"] for i in items) == ["dev", "dev2"]
    assert all(i["kind"] == "destroy" and i["params"] == {"nightly": True} for i in items)
    for op_id in result["operations"]:
        op = e.op(op_id)
        assert op.kind is OpKind.DESTROY and op.trigger == "schedule"
        assert op.execution_arn and op.execution_arn.endswith("teardown-20261125t200000")
        assert e.c.environments.get(op.environment).lock is not None


def test_the_teardown_refuses_an_environment_whose_contract_is_not_dev(e: Engine) -> None:
    # GIVEN a registry that wrongly says dev2 is dev while Terraform published it as prod
    e.platform.contracts_["dev2"] = contract("dev2", "prod")
    e.c.schedules.nightly_teardown("20261125t200000")
    payload = next(p for p in batches(e)[0][2]["items"] if p["environment"] == "dev2")  # type: ignore[union-attr]
    # THEN its prepare phase refuses it: the contract's tier is the environment's
    with pytest.raises(InvalidState, match="prod"):
        e.step("prepare", payload)


def test_a_keep_alive_skips_the_night_and_delete_ends_it(e: Engine) -> None:
    e.c.environments.keep_alive("dev2", {"until": iso(e.clock() + 3600)})
    assert [x.name for x in e.c.schedules.teardown_candidates()] == ["dev"]
    e.c.environments.end_keep_alive("dev2")
    assert [x.name for x in e.c.schedules.teardown_candidates()] == ["dev", "dev2"]
    with pytest.raises(NotFound):
        e.c.environments.end_keep_alive("dev2")
    with pytest.raises(ValidationFailed):
        e.c.environments.keep_alive("dev2", {"until": "yesterday"})


def test_a_locked_env_is_skipped_with_the_reason_and_a_second_firing_starts_nothing(e: Engine) -> None:
    running, _ = e.submit("deploy", "dev2")
    first = e.c.schedules.nightly_teardown("20261125t200000")
    assert running.id in first["skipped"]["dev2"]
    # a second delivery of the same schedule starts nothing: dev is being torn down by the first
    again = e.c.schedules.nightly_teardown("20261125t200000")
    assert again["operations"] == [] and "dev" not in again["skipped"]
    assert len(batches(e)) == 1


def test_morning_restore_can_be_disabled(e: Engine) -> None:
    e.c.schedules.settings = dataclasses.replace(SETTINGS, morning_restore_enabled=False)
    assert "disabled" in e.c.schedules.morning_restore("20261126t060000")["skipped"]


def test_cancelling_one_environment_of_a_nightly_run_cancels_only_it(e: Engine) -> None:
    result = e.c.schedules.nightly_teardown("20261125t200000")
    dev_op = next(o for o in result["operations"] if o.startswith("destroy_dev_"))
    cancelled = e.c.operations.cancel(dev_op)
    # the shared execution runs on: the cancel is cooperative (dev's own next phase takes the cancel path)
    assert cancelled.cancel is not None and cancelled.status.value == "RUNNING"
    other = next(o for o in result["operations"] if o.startswith("destroy_dev2_"))
    assert e.op(other).cancel is None
