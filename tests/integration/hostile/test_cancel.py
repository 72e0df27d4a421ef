"""Cancel at every step (issue 8, 1): destroy, deploy and provision cancelled at increasing delays after they
started and during each of their phases. However it ends, the operation is ended cleanly (ABORTED, or what it
ended as when the cancel's 409 says it had ended first), the environment is released in a settled status with the
registry saying what ECS runs, and the next deploy or provision is accepted and succeeds."""

from __future__ import annotations

import time
from typing import Any

import pytest

from controlplane.sandbox.server import Sandbox
from tests.integration.hostile.harness import ANY, Hostile, step_status

DELAYS = (0.0, 0.02, 0.05, 0.2)
# Phases long enough (an ECS rollout, a build, a drain poll, a delete poll) that a cancel sent once the step shows
# RUNNING lands inside it; the others (prepare, sweep, a health check that passes at its first call) may be over
# before the cancel arrives, and the case then checks the end state only.
LONG_PHASES = {"build", "rollout", "drain", "delete_service"}


def _cancel(h: Hostile, op: dict[str, Any], when: float | str, mode: str | None = None) -> tuple[int, dict[str, Any]]:
    """Cancel ``op`` ``when`` seconds after it was accepted, or as soon as the phase ``when`` runs."""
    if isinstance(when, str):
        h.wait_step(op["id"], when)
    elif when:
        time.sleep(when)
    status, body = h.api.post(f"/operations/{op['id']}/cancel", {"rollout": mode} if mode else {})
    return status, dict(body)


def _check_cancel_outcome(h: Hostile, when: float | str, status: int, answer: dict[str, Any]) -> dict[str, Any]:
    """The cancel's answer decides what the operation must end as. Returns the ended operation."""
    op_id = answer["id"] if status == 202 else None
    if status == 409:
        # THEN it had already ended: the 409 says how, and that is how it stays
        assert answer["error"]["code"] == "Conflict", answer
        return {"conflict": answer["error"]["status"]}
    assert status == 202, (status, answer)
    assert answer["cancel"] is not None and answer["cancel"]["requested_at"].endswith("Z"), answer
    if isinstance(when, str) and when in LONG_PHASES:
        assert step_status(answer, when) == "RUNNING", f"the cancel did not land during {when}: {answer['steps']}"
    assert op_id is not None
    ended = h.wait_op(op_id)
    # THEN a cancelled operation ends ABORTED (the only path that could end it otherwise is its own failure)
    assert ended["status"] == "ABORTED", ended
    assert ended["error"]["code"] == "Cancelled", ended["error"]
    assert step_status(ended, "cancel") == "SUCCEEDED", ended["steps"]
    interrupted = [s for s in ended["steps"] if s["status"] == "FAILED"]
    assert all(s["error"] == "cancelled" for s in interrupted), interrupted
    return ended


def _ended(h: Hostile, op: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
    if "conflict" in outcome:
        ended = h.wait_op(op["id"])
        assert ended["status"] == outcome["conflict"], (ended["status"], outcome)
    else:
        ended = outcome
    interrupted = [s["name"] for s in ended["steps"] if s["status"] == "FAILED"]
    print(f"{op['kind']}: {ended['status']}, interrupted {interrupted or '-'}")
    return ended


def _rollout_began(op: dict[str, Any]) -> bool:
    return any(s["name"] == "rollout" and s["detail"].get("deployment_id") for s in op["steps"])


# deploy -------------------------------------------------------------------------------------------------------
DEPLOY_CASES = [*((d, None) for d in DELAYS), ("rollout", None), ("rollout", "finish"), (0.05, "finish")]


@pytest.mark.parametrize(("when", "mode"), DEPLOY_CASES, ids=[f"{w}-{m or 'rollback'}" for w, m in DEPLOY_CASES])
def test_cancel_deploy(h: Hostile, when: float | str, mode: str | None) -> None:
    # GIVEN a provisioned environment and a new image in its repository
    env = h.provisioned_env("cd")
    before_td, before_digest = h.ecs_runs(env)
    assert before_td is not None
    new_digest = h.push_image(env, "v2")
    # WHEN a deploy of that image is cancelled
    op = h.start("POST", f"/environments/{env}/deployments", {"image_tag": "v2"})
    status, answer = _cancel(h, op, when, mode)
    ended = _ended(h, op, _check_cancel_outcome(h, when, status, answer))
    # THEN the registry says what ECS runs, and it is what the deploy's end means
    envb = h.assert_ended_cleanly(ended, intended=True)
    td, digest = h.ecs_runs(env)
    if ended["status"] == "SUCCEEDED" or (mode == "finish" and _rollout_began(ended)):
        assert digest == new_digest and td != before_td, (td, digest)  # the new revision stays, recorded
        assert envb["intended"]["operation_id"] == op["id"], envb["intended"]
    else:
        assert ended["status"] == "ABORTED", ended
        # a rollout that began is rolled back to the previous task definition (or never began)
        assert (td, digest) == (before_td, before_digest), (td, digest, before_td)
        assert envb["intended"]["operation_id"] != op["id"], envb["intended"]
        if _rollout_began(ended):
            assert ended["result"]["cancel"]["undone"] == f"rolled back to {before_td}", ended["result"]
    assert envb["status"] == "ready", envb
    # AND the next deploy is accepted and succeeds
    newer = h.push_image(env, "v3")
    follow = h.run("POST", f"/environments/{env}/deployments", {"image_tag": "v3"})
    assert follow["status"] == "SUCCEEDED", follow
    h.assert_ended_cleanly(follow, intended=True)
    assert h.ecs_runs(env)[1] == newer


# provision ------------------------------------------------------------------------------------------------------
PROVISION_CASES: list[float | str] = [*DELAYS, "prepare", "build", "rollout", "health_check"]


@pytest.mark.parametrize("when", PROVISION_CASES, ids=[str(w) for w in PROVISION_CASES])
def test_cancel_provision(h: Hostile, when: float | str) -> None:
    # GIVEN an environment that was never provisioned (its image is built first)
    env = h.new_env("cp")
    # WHEN its provision is cancelled
    op = h.start("POST", f"/environments/{env}/provision", {})
    status, answer = _cancel(h, op, when)
    ended = _ended(h, op, _check_cancel_outcome(h, when, status, answer))
    # THEN it is released, settled from what ECS runs, and the registry says what that is
    envb = h.assert_ended_cleanly(ended, intended=True if ended["status"] == "SUCCEEDED" else None)
    td, _ = h.ecs_runs(env)
    if ended["status"] == "ABORTED":
        # nothing created: it stays absent; a service left as it runs: failed, never ready or provisioning
        assert envb["status"] == ("failed" if td else "absent"), (envb["status"], td)
        if step_status(ended, "build") is not None and td is None and when == "build":
            assert "stopped" in ended["result"]["cancel"]["undone"], ended["result"]
    # AND the next provision is accepted and succeeds
    follow = h.run("POST", f"/environments/{env}/provision", {})
    assert follow["status"] == "SUCCEEDED", follow
    envb = h.assert_ended_cleanly(follow, intended=True)
    assert envb["status"] == "ready"


# destroy --------------------------------------------------------------------------------------------------------
DESTROY_CASES: list[float | str] = [*DELAYS, "prepare", "drain", "delete_service", "sweep"]


@pytest.mark.parametrize("when", DESTROY_CASES, ids=[str(w) for w in DESTROY_CASES])
def test_cancel_destroy(h: Hostile, when: float | str) -> None:
    # GIVEN a provisioned environment
    env = h.provisioned_env("cx")
    # WHEN its destroy is cancelled
    op = h.start("POST", f"/environments/{env}/destroy", {})
    status, answer = _cancel(h, op, when)
    ended = _ended(h, op, _check_cancel_outcome(h, when, status, answer))
    # THEN it is released, settled from what ECS runs, and the registry says what that is
    envb = h.assert_ended_cleanly(ended, intended=None if ended["status"] == "SUCCEEDED" else ANY)
    svc = h.ecs_service(env)
    if ended["status"] == "SUCCEEDED":
        assert envb["status"] == "destroyed"
    elif svc is not None and svc["status"] == "ACTIVE" and svc["desiredCount"] > 0:
        assert envb["status"] == "ready", envb  # stopped before it drained anything: it still serves
        assert ended["result"]["cancel"]["undone"] == "nothing had changed yet", ended["result"]
    else:
        assert envb["status"] == "failed", envb  # half removed, and the record says the destroy had begun
        assert ended["result"]["cancel"]["undone"].startswith("nothing: the destroy had begun"), ended["result"]
    # AND the next provision is accepted and succeeds
    follow = h.run("POST", f"/environments/{env}/provision", {})
    assert follow["status"] == "SUCCEEDED", follow
    envb = h.assert_ended_cleanly(follow, intended=True)
    assert envb["status"] == "ready"


def test_a_second_cancel_while_the_rollback_runs_changes_nothing(h: Hostile) -> None:
    # GIVEN a deploy of a new image cancelled during its rollout, its cancel path rolling ECS back
    env = h.provisioned_env("cd")
    before_td, _ = h.ecs_runs(env)
    h.push_image(env, "v2")
    op = h.start("POST", f"/environments/{env}/deployments", {"image_tag": "v2"})
    status, answer = _cancel(h, op, "rollout")
    assert status == 202, answer
    h.wait_step(op["id"], "cancel")
    # WHEN the cancel is asked for again (a retried request, a second user)
    again, body = h.api.post(f"/operations/{op['id']}/cancel", {})
    # THEN it is accepted (or refused as ended) and the operation still ends ABORTED, rolled back
    assert again in (202, 409), body
    ended = h.wait_op(op["id"])
    assert ended["status"] == "ABORTED", (ended["status"], ended["error"])
    h.assert_ended_cleanly(ended, intended=True)
    assert h.ecs_runs(env)[0] == before_td


def test_a_push_deploy_cancelled_in_its_quiet_period_changes_nothing(h: Hostile, sandbox: Sandbox) -> None:
    # GIVEN a provisioned environment whose push policy waits 2 s of quiet, and a push that started its deploy
    env = h.provisioned_env("cq")
    before_td, before_digest = h.ecs_runs(env)
    family = f"cart-service-{env}"
    revisions = h.client("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
    policy = {"match": "exact", "pattern": "latest", "quiet_seconds": 2}
    assert h.api.put(f"/environments/{env}", {"deploy_on_push": policy})[0] == 200
    h.push_image(env, "latest")
    assert sandbox.router is not None and sandbox.router.wait_idle(30)
    op_id = h.env(env)["locked_by"]
    assert op_id is not None and op_id.startswith(f"deploy_{env}_push-"), h.env(env)
    # WHEN it is cancelled during its quiet period
    status, answer = h.api.post(f"/operations/{op_id}/cancel", {})
    assert status == 202, answer
    ended = h.wait_op(op_id)
    # THEN it is ABORTED having done nothing: no task definition registered, no ECS deployment started
    assert ended["status"] == "ABORTED", (ended["status"], ended["error"])
    assert ended["result"]["cancel"]["undone"] == "nothing had changed yet", ended["result"]
    h.assert_ended_cleanly(ended, intended=True)
    assert h.ecs_runs(env) == (before_td, before_digest)
    assert h.client("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == revisions
    svc = h.ecs_service(env)
    assert svc is not None
    assert [d["taskDefinition"] for d in svc["deployments"]] == [before_td], svc["deployments"]
    # AND the next push deploys
    newest = h.push_image(env, "latest")
    assert sandbox.router.wait_idle(30)
    follow_id = h.env(env)["locked_by"]
    assert follow_id is not None
    follow = h.wait_op(follow_id)
    assert follow["status"] == "SUCCEEDED", follow
    h.assert_ended_cleanly(follow, intended=True)
    assert h.ecs_runs(env)[1] == newest
