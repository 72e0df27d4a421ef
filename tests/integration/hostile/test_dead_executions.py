"""Executions that die under an operation (issue 8, 2): StopExecution by hand mid-rollout, and a wait whose budget
ends before a slow rollout does. The operation is ended from what ECS runs, and the registry ends up saying what
ECS runs, by the reconcile schedule or by the next write to the environment."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.sandbox.server import Sandbox
from tests.integration.hostile.harness import ANY, Hostile, step_status


def _stopped_mid_rollout(h: Hostile) -> tuple[str, dict[str, Any], str | None]:
    """A deploy of a new image whose execution is stopped by hand while ECS rolls it out."""
    env = h.provisioned_env("st")
    before_td, _ = h.ecs_runs(env)
    h.push_image(env, "v2")
    op = h.start("POST", f"/environments/{env}/deployments", {"image_tag": "v2"})
    running = h.wait_step(op["id"], "rollout")
    assert step_status(running, "rollout") == "RUNNING", running
    sfn = h.client("stepfunctions")
    sfn.stop_execution(executionArn=op["execution_arn"], cause="stopped by hand")
    deadline = time.time() + 10
    while sfn.describe_execution(executionArn=op["execution_arn"])["status"] != "ABORTED":
        assert time.time() < deadline, "the execution was not stopped"
        time.sleep(0.05)
    return env, op, before_td


def _settled_rollout(h: Hostile, env: str, timeout: float = 15) -> None:
    """Wait until ECS has no rollout in progress for the environment's service."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        svc = h.ecs_service(env) or {}
        if all(d.get("rolloutState") != "IN_PROGRESS" for d in svc.get("deployments", [])):
            return
        time.sleep(0.1)
    raise AssertionError(f"{env}'s rollout still in progress after {timeout}s")


def test_stop_execution_mid_rollout_then_reconcile(h: Hostile) -> None:
    # GIVEN a deploy whose execution was stopped by hand mid-rollout, and ECS finishing that rollout anyway
    env, op, before_td = _stopped_mid_rollout(h)
    _settled_rollout(h, env)
    # WHEN the reconcile schedule runs
    h.fire("reconcile")
    # THEN the operation is ended ABORTED from its execution, its step no longer RUNNING, the lock released
    ended = h.op(op["id"])
    assert ended["status"] == "ABORTED", ended
    assert ended["error"]["code"] == "ExecutionEnded" and ended["error"]["step"] == "rollout", ended["error"]
    assert step_status(ended, "rollout") == "FAILED"
    envb = h.assert_ended_cleanly(ended, intended=ANY)
    # AND the registry says what ECS runs: the revision the stopped deploy registered, serving
    td, _ = h.ecs_runs(env)
    assert td is not None and td != before_td
    assert envb["status"] == "ready", envb
    assert (envb["drift"] is None) == (envb["intended"]["task_definition_arn"] == td), envb


def test_stop_execution_mid_rollout_then_the_next_deploy(h: Hostile) -> None:
    # GIVEN a deploy whose execution was stopped by hand mid-rollout (no reconcile runs)
    env, op, _ = _stopped_mid_rollout(h)
    _settled_rollout(h, env)
    # WHEN the next deploy is asked for
    newer = h.push_image(env, "v3")
    status, follow = h.api.post(f"/environments/{env}/deployments", {"image_tag": "v3"})
    # THEN it is accepted (the dead execution's operation is ended and its lock released first) and succeeds
    assert status == 202, follow
    ended = h.op(op["id"])
    assert ended["status"] == "ABORTED", ended
    assert not [s for s in ended["steps"] if s["status"] == "RUNNING"], ended["steps"]
    done = h.wait_op(follow["id"])
    assert done["status"] == "SUCCEEDED", done
    h.assert_ended_cleanly(done, intended=True)
    assert h.ecs_runs(env)[1] == newer


@pytest.fixture
def slow_rollouts(sandbox: Sandbox) -> Iterator[None]:
    """ECS rollouts of 3 s (as Sandbox(deploy_seconds=3) runs them) for one test."""
    assert sandbox.emulator is not None
    saved = sandbox.emulator.deploy_seconds
    sandbox.emulator.deploy_seconds = 3.0
    try:
        yield
    finally:
        sandbox.emulator.deploy_seconds = saved


def test_wait_timeout_records_what_runs(h: Hostile, slow_rollouts: None) -> None:
    # GIVEN a provisioned environment and a new image, with 3 s rollouts
    env = h.provisioned_env("to")
    before_td, _ = h.ecs_runs(env)
    digest = h.push_image(env, "v2")
    # WHEN it is deployed with a 1 s wait budget
    op = h.run("POST", f"/environments/{env}/deployments", {"image_tag": "v2", "wait": {"timeout_seconds": 1}})
    # THEN the operation TIMED_OUT, and records what ECS runs at that moment: the new revision, still rolling out
    assert op["status"] == "TIMED_OUT", op
    assert op["error"]["code"] == "WaitTimeout", op["error"]
    envb = h.assert_ended_cleanly(op)
    td, running_digest = h.ecs_runs(env)
    assert td != before_td and running_digest == digest
    assert envb["service"]["rollout_state"] == "IN_PROGRESS", envb["service"]
    assert envb["status"] == "ready", envb
    # AND once ECS finished it, the reconcile records the finished rollout
    _settled_rollout(h, env)
    h.fire("reconcile")
    envb = h.assert_registry_matches_ecs(env)
    assert envb["service"]["rollout_state"] == "COMPLETED", envb["service"]


def test_wait_timeout_then_ecs_rolls_back(h: Hostile, slow_rollouts: None) -> None:
    # GIVEN a provisioned environment and a broken image, with 3 s rollouts
    env = h.provisioned_env("to")
    before_td, before_digest = h.ecs_runs(env)
    h.push_image(env, "broken-1")
    # WHEN it is deployed with a 1 s wait budget, and ECS's circuit breaker rolls it back after the operation ended
    op = h.run("POST", f"/environments/{env}/deployments", {"image_tag": "broken-1", "wait": {"timeout_seconds": 1}})
    assert op["status"] == "TIMED_OUT", op
    h.assert_ended_cleanly(op)
    _settled_rollout(h, env)
    assert h.ecs_runs(env) == (before_td, before_digest)
    # THEN the reconcile makes the registry say so: the previous revision serves, as the control plane deployed it
    h.fire("reconcile")
    envb = h.assert_registry_matches_ecs(env, intended=True)
    assert envb["status"] == "ready" and envb["locked_by"] is None, envb
