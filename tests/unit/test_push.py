"""Redeploy on ECR push: event parsing, tag policies, and the best-effort rules (no AWS: memory registry)."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.domain.events import MalformedEvent, parse_ecr_push, push_matches
from controlplane.domain.lifecycle import push_operation_id
from controlplane.domain.model import DeployOnPush, EnvStatus, OpStatus
from controlplane.domain.semver import SemverError, parse_range, parse_version, satisfies
from controlplane.domain.validation import InvalidInput, deploy_on_push
from controlplane.errors import Superseded
from controlplane.operations import Closing
from controlplane.ports import End
from tests.fakes import contract
from tests.samples import digest, ecr_push, load
from tests.unit.engine import Engine


@pytest.fixture
def e() -> Engine:
    """dev, staging and prod published; dev provisioned (ready) and idle."""
    engine = Engine(envs=(("dev", "dev"), ("staging", "staging"), ("prod", "prod")))
    engine.platform.push("cart-service-dev", "v0")
    assert engine.run("provision").status is OpStatus.SUCCEEDED
    return engine


def started(e: Engine) -> list[tuple[str, dict[str, Any]]]:
    return [(name, payload["params"]) for machine, name, payload in e.executor.started if name.startswith("deploy_")]


def push(e: Engine, **kw: Any) -> list[dict[str, Any]]:
    parsed = parse_ecr_push(ecr_push(**kw))
    assert parsed is not None
    return e.c.pushes.on_image_push(parsed)


def finish(e: Engine, op_id: str, status: OpStatus = OpStatus.SUCCEEDED) -> None:
    """An operation's end, as its finish (or failure) phase ends it: through the one ending."""
    op = e.op(op_id)
    e.c.operations.close(
        Closing(op.id, op.environment, op.kind, status, op.before or EnvStatus.READY, contract=contract(op.environment))
    )


# events ------------------------------------------------------------------------------------------------------
def test_the_documented_sample_event_parses() -> None:
    # GIVEN the AWS documentation's sample, with a full-length digest
    event = load("ecr-image-push.json")
    event["detail"]["image-digest"] = digest("x")
    # THEN it is a push of that repository, tag and digest at that time
    parsed = parse_ecr_push(event)
    assert parsed is not None
    assert (parsed.repository, parsed.tag, parsed.digest) == ("my-repository-name", "latest", digest("x"))
    assert parsed.pushed_at == 1573869274.0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("detail"),
        lambda e: e.update(detail="nope"),
        lambda e: e["detail"].pop("repository-name"),
        lambda e: e["detail"].update({"image-digest": "sha256:abc"}),
        lambda e: e["detail"].update({"image-tag": "bad tag!"}),
        lambda e: e.update(time="yesterday"),
        lambda e: e.pop("time"),
        lambda e: e.update(source="aws.s3"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(mutate: Any) -> None:
    event = ecr_push()
    mutate(event)
    with pytest.raises(MalformedEvent):
        parse_ecr_push(event)


def test_a_failed_push_or_another_action_is_not_a_push() -> None:
    assert parse_ecr_push(ecr_push(result="FAILURE")) is None
    assert parse_ecr_push(ecr_push(**{"action-type": "DELETE"})) is None


# policies ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("match", "pattern", "tag", "expected"),
    [
        ("exact", "latest", "latest", True),
        ("exact", "latest", "latest2", False),
        ("glob", "release-*", "release-2026.11", True),
        ("glob", "release-*", "hotfix-1", False),
        ("glob", "v1.?.*", "v1.2.3", True),
        ("semver", "^1.2.0", "v1.4.0", True),
        ("semver", "^1.2.0", "2.0.0", False),
        ("semver", "^1.2.0", "1.5.0-rc.1", False),
        ("semver", "~1.2.3", "1.2.9", True),
        ("semver", "~1.2.3", "1.3.0", False),
        ("semver", ">=1.0.0 <1.5.0", "1.4.99", True),
        ("semver", ">=1.0.0 <1.5.0", "1.5.0", False),
        ("semver", "1.x || >=3.0.0", "3.1.0", True),
        ("semver", "1.x || >=3.0.0", "2.0.0", False),
        ("semver", "*", "0.0.1", True),
        ("semver", "^1.0.0", "latest", False),
        ("semver", "^0.2.3", "0.2.9", True),
        ("semver", "^0.2.3", "0.3.0", False),
        ("semver", ">=2.0.0-rc.1", "2.0.0-rc.2", True),
        ("semver", "^1.2", "1.5.0", True),
        ("semver", "^1.2", "v2.0.0", False),
        ("semver", "1.2.3 - 2.3.4", "v2.3.4", True),
        ("semver", "1.2.3 - 2.3.4", "2.3.5", False),
        ("semver", "^1.2", "V1.5.0", False),  # not a version to node-semver
    ],
)
def test_each_tag_policy_kind(match: str, pattern: str, tag: str, expected: bool) -> None:
    policy = DeployOnPush(match=match, pattern=pattern)
    parsed = parse_ecr_push(ecr_push(tag=tag))
    assert parsed is not None
    assert push_matches(policy, "dev", parsed) is expected


def test_a_policy_only_matches_its_repository() -> None:
    parsed = parse_ecr_push(ecr_push(repository="cart-service-staging"))
    assert parsed is not None
    assert not push_matches(DeployOnPush("exact", "latest"), "dev", parsed)
    assert push_matches(DeployOnPush("exact", "latest", "cart-service-staging"), "dev", parsed)


def test_semver_ordering_and_bad_ranges() -> None:
    versions = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0"]
    parsed = [parse_version(v) for v in versions]
    assert all(p is not None for p in parsed)
    keys = [p.key for p in parsed if p is not None]
    assert keys == sorted(keys)
    assert parse_version("1.2") is None and parse_version("latest") is None
    for bad in ("", ">=", "^banana", "1.2.3 ||", ">x"):
        with pytest.raises(SemverError):
            parse_range(bad)
    v = parse_version("1.2.3")
    assert v is not None and satisfies(v, "=1.2.3") and not satisfies(v, ">1.2.3")


def test_a_semver_policy_with_a_bad_range_is_refused_by_the_api() -> None:
    with pytest.raises(InvalidInput, match="semver"):
        deploy_on_push({"match": "semver", "pattern": "^^1"})
    assert deploy_on_push({"match": "semver", "pattern": "^1.2"}) == DeployOnPush("semver", "^1.2")


# the best-effort rules ---------------------------------------------------------------------------------------
def test_a_matching_push_starts_one_deploy_pinned_to_the_digest(e: Engine) -> None:
    # GIVEN dev (default policy: exact "latest") WHEN latest is pushed
    [outcome] = push(e, image_digest=digest("a"))
    # THEN a deploy of that digest starts, triggered by the push, under the id derived from env and digest
    assert outcome["outcome"] == "started"
    assert started(e) == [(push_operation_id("dev", digest("a")), {"image_digest": digest("a")})]
    assert e.op(outcome["operation_id"]).trigger == "ecr-push"


def test_the_same_digest_twice_or_under_several_tags_deploys_once(e: Engine) -> None:
    e.c.environments.put("dev", {"deploy_on_push": {"match": "glob", "pattern": "*"}})
    # GIVEN one digest WHEN its event is delivered twice and it is also pushed as two more tags
    push(e, image_digest=digest("a"), tag="v1")
    push(e, image_digest=digest("a"), tag="v1")
    outcomes = push(e, image_digest=digest("a"), tag="latest", time="2026-11-25T20:00:05Z")
    push(e, image_digest=digest("a"), tag="stable", time="2026-11-25T20:00:06Z")
    # THEN one deploy started, and the later events say why they did nothing
    assert len(started(e)) == 1
    assert outcomes[0]["outcome"] == "duplicate"


def test_a_burst_coalesces_newest_wins_and_older_pending_never_deploy(e: Engine) -> None:
    # GIVEN a push that started a deploy
    first = push(e, image_digest=digest("a"), time="2026-11-25T20:00:00Z")[0]["operation_id"]
    # WHEN three more pushes land while it runs
    queued = [push(e, image_digest=digest(x), time=f"2026-11-25T20:00:0{i}Z")[0] for i, x in enumerate("bcd", 1)]
    # THEN each is queued, not started
    assert [q["outcome"] for q in queued] == ["queued"] * 3 and len(started(e)) == 1
    # WHEN the running deploy ends THEN only the newest (d) deploys; b and c never do
    finish(e, first)
    assert [p["image_digest"] for _, p in started(e)] == [digest("a"), digest("d")]
    assert e.c.environments.get("dev").lock is not None


def test_out_of_order_delivery_never_regresses(e: Engine) -> None:
    # GIVEN the newer push (b, 20:00:05) arrived first and deployed
    first = push(e, image_digest=digest("b"), time="2026-11-25T20:00:05Z")[0]["operation_id"]
    finish(e, first)
    # WHEN the older push (a, 20:00:01) arrives late
    [outcome] = push(e, image_digest=digest("a"), time="2026-11-25T20:00:01Z")
    # THEN it is dropped as stale, with the reason
    assert outcome["outcome"] == "stale" and digest("b") in outcome["reason"]
    assert [p["image_digest"] for _, p in started(e)] == [digest("b")]


def test_a_push_during_a_running_operation_is_queued_then_deployed(e: Engine) -> None:
    # GIVEN a deploy started through the API, holding the environment
    api_op, _ = e.submit("deploy", body={"image_tag": "v0"})
    # WHEN latest is pushed
    [outcome] = push(e, image_digest=digest("a"))
    # THEN it is queued behind the running operation, never raced
    assert outcome["outcome"] == "queued" and api_op.id in outcome["reason"]
    assert len(started(e)) == 1
    # WHEN the running operation ends THEN the queued push deploys
    finish(e, api_op.id)
    assert started(e)[-1] == (push_operation_id("dev", digest("a")), {"image_digest": digest("a")})


def test_destroy_wins_a_push_during_a_destroy_is_dropped_never_queued(e: Engine) -> None:
    # GIVEN dev being destroyed
    destroy, _ = e.submit("destroy")
    # WHEN latest is pushed during the destroy THEN it is dropped, with the reason, and nothing is queued
    [outcome] = push(e, image_digest=digest("a"))
    assert outcome["outcome"] == "dropped" and "destroy wins" in outcome["reason"]
    assert e.c.environments.get("dev").push is None
    finish(e, destroy.id)
    assert all(not n.startswith("deploy_") for n, _ in started(e))


def test_a_push_queued_before_a_destroy_is_dropped_when_the_destroy_ends(e: Engine) -> None:
    # GIVEN a push queued behind a deploy, then a destroy that takes over once the deploy ends
    api_op, _ = e.submit("deploy", body={"image_tag": "v0"})
    push(e, image_digest=digest("a"))
    e.registry.set_push_state("dev", digest("a"), "pending")
    e.c.registry.end(
        End(api_op.id, "dev", OpStatus.SUCCEEDED, e.clock(), None, {}, env_status=EnvStatus.READY)
    )  # ended without starting the push (a crash between the two): the push stays pending
    destroy, _ = e.submit("destroy")
    finish(e, destroy.id, OpStatus.SUCCEEDED)
    # THEN the destroyed environment drops it, saying why
    record = e.c.environments.get("dev").push
    assert record is not None and record.state == "dropped" and "destroyed" in record.note
    assert [n for n, _ in started(e) if n.startswith("deploy_")] == [api_op.id]


def test_a_push_for_a_destroyed_environment_does_nothing_and_says_why(e: Engine) -> None:
    destroy, _ = e.submit("destroy")
    finish(e, destroy.id)
    [outcome] = push(e, image_digest=digest("a"))
    assert outcome["outcome"] == "dropped" and "destroyed" in outcome["reason"]


def test_staging_and_prod_do_not_deploy_on_push_by_default(e: Engine) -> None:
    for env in ("staging", "prod"):
        assert push(e, repository=f"cart-service-{env}") == []


def test_cancel_ends_the_operation_and_then_the_queued_push_starts(e: Engine) -> None:
    api_op, _ = e.submit("deploy")
    push(e, image_digest=digest("a"))
    e.c.operations.cancel(api_op.id)
    e.executor.statuses[str(api_op.execution_arn)] = "ABORTED"  # what the cancel path ends in
    finish(e, api_op.id, OpStatus.ABORTED)
    assert started(e)[-1][1] == {"image_digest": digest("a")}


def test_with_a_quiet_period_a_superseded_push_deploy_stands_down(e: Engine) -> None:
    # GIVEN dev's policy waits 5 s before a push deploys
    e.c.environments.put("dev", {"deploy_on_push": {"match": "exact", "pattern": "latest", "quiet_seconds": 5}})
    [first] = push(e, image_digest=digest("a"), time="2026-11-25T20:00:00Z")
    _, payload = next((m, p) for m, n, p in e.executor.started if n == first["operation_id"])
    assert payload["quiet_seconds"] == 5  # the state machine waits that long first
    # WHEN a newer push lands within the quiet period
    push(e, image_digest=digest("b"), time="2026-11-25T20:00:02Z")
    # THEN the first deploy stands down at its rollout, without touching ECS
    with pytest.raises(Superseded):
        e.step("rollout", payload)
    assert not any(call.startswith("apply_service") and digest("a") in call for call in e.platform.calls)
