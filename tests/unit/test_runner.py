"""The step runner and the phases against in-memory fakes: explicit results, the timeline, cancel, errors, and
the one ending (the registry says what ECS runs afterwards)."""

from __future__ import annotations

import pytest

from controlplane.domain.contract import BuildSource
from controlplane.domain.events import deployment_key
from controlplane.domain.model import CancelRequest, EnvStatus, OpStatus, StepStatus
from controlplane.errors import Cancelled, DeploymentFailed, ImageNotFound, InvalidState, TransientError
from controlplane.steps import run_step
from controlplane.waits import Outcome
from tests.fakes import contract
from tests.unit.engine import Engine


def provisioned() -> Engine:
    e = Engine()
    e.platform.push("cart-service-dev", "v1")
    op = e.run("provision")
    assert op.status is OpStatus.SUCCEEDED, op.error
    return e


def assert_matches_ecs(e: Engine, env: str = "dev") -> None:
    """The registry's record of what runs equals what the (fake) ECS reports."""
    record = e.c.environments.get(env)
    svc = e.platform.services.get(env)
    if svc is None or svc.status == "INACTIVE":
        assert record.service is None or not record.service.exists
        return
    assert record.service is not None and record.service.task_definition_arn == svc.task_definition
    assert record.service.image_digest == e.platform.task_definitions[svc.task_definition].split("@")[1]


class TestHappyPaths:
    def test_provision_records_each_phase_and_what_ecs_runs(self) -> None:
        # GIVEN an image in dev's repository WHEN dev is provisioned
        e = provisioned()
        op = e.c.registry.list_operations("dev", 1).items[0]
        # THEN the timeline is the flow's phases in order, each SUCCEEDED, the image came from the repository
        assert [(s.name, s.status) for s in op.steps] == [
            ("prepare", StepStatus.SUCCEEDED),
            ("rollout", StepStatus.SUCCEEDED),
            ("health_check", StepStatus.SUCCEEDED),
            ("finish", StepStatus.SUCCEEDED),
        ]
        env = e.c.environments.get("dev")
        assert env.status is EnvStatus.READY and env.lock is None and env.drift is None
        assert env.intended is not None and env.intended.image_tag == "v1"
        assert env.url == "http://cart-dev.example.com"
        assert_matches_ecs(e)

    def test_an_empty_repository_is_built_from_the_contracts_source_first(self) -> None:
        # GIVEN a first provision on a fresh account: no image yet, the contract names the CI/CD source
        e = Engine()
        source = BuildSource("GITHUB", "https://github.com/example/cart-service.git", "develop", "arn:conn")
        e.platform.contracts_["dev"] = contract("dev", build_source=source)
        op = e.run("provision")
        # THEN it builds the image from that repository's branch, then deploys it
        assert op.status is OpStatus.SUCCEEDED, op.error
        assert [s.name for s in op.steps] == ["prepare", "build", "rollout", "health_check", "finish"]
        assert "start_build:None:develop" in e.platform.calls
        assert_matches_ecs(e)

    def test_an_empty_repository_without_a_source_fails_at_once_saying_what_to_do(self) -> None:
        e = Engine()
        _op, state = e.submit("provision")
        with pytest.raises(ImageNotFound, match="Push an image"):
            e.step("prepare", state)
        assert not any(c.startswith("start_build") for c in e.platform.calls)

    def test_redeploy_uses_what_ecs_runs_not_the_record(self) -> None:
        # GIVEN a registry whose record was tampered with (drift) WHEN `deploy {}` runs
        e = provisioned()
        running = e.platform.services["dev"].task_definition
        op = e.run("deploy")
        # THEN ECS's own task definition was redeployed (a new deployment of it), and recorded
        assert op.status is OpStatus.SUCCEEDED
        assert op.result["task_definition_arn"] == running
        assert "apply_service:None" in e.platform.calls
        assert_matches_ecs(e)

    def test_a_token_phase_record_keeps_its_real_start(self) -> None:
        e = provisioned()
        op, state = e.submit("deploy")
        e.clock.advance(5)
        state, token = e.step("rollout", state)
        started = e.op(op.id).step("rollout")
        assert started is not None and started.status is StepStatus.RUNNING
        assert started.detail["deployment_id"] and started.detail["wait"].startswith("deployment#")
        e.clock.advance(30)
        e.rollout_completes()
        assert token is not None
        state = e.resume(state, "rollout", token)
        e.clock.advance(1)
        e.step("finish", state)
        done = e.op(op.id).step("rollout")
        assert done is not None and done.status is StepStatus.SUCCEEDED
        # from the moment the phase began (the operation's start: it is the first) to the event that ended it
        assert done.duration_seconds == pytest.approx(35, abs=0.01)


class TestCancel:
    def test_a_cancel_before_the_end_rolls_a_begun_rollout_back(self) -> None:
        # GIVEN dev runs v1 and a deploy of v2 has begun its rollout
        e = provisioned()
        before = e.platform.services["dev"].task_definition
        e.platform.push("cart-service-dev", "v2")
        op, state = e.submit("deploy", body={"image_tag": "v2"})
        _, _token = e.step("rollout", state)
        new = e.platform.services["dev"].task_definition
        assert new != before
        # WHEN it is cancelled: the parked token is failed with Cancelled
        e.c.operations.cancel(op.id)
        assert e.sender.sent[-1][0] == "failure" and e.sender.sent[-1][2][0] == "Cancelled"
        # THEN the cancel path rolls ECS back to the previous task definition and waits for it
        state2, cancel_token = e.step("cancel", state)
        assert e.platform.services["dev"].task_definition == before
        e.rollout_completes()
        assert cancel_token is not None
        state2 = e.resume(state2, "cancel", cancel_token)
        e.step("finish", state2)
        ended = e.op(op.id)
        assert ended.status is OpStatus.ABORTED
        assert ended.result["cancel"]["undone"].startswith("rolled back to")
        assert [s.status for s in ended.steps if s.name == "rollout"] == [StepStatus.FAILED]
        assert ended.running_step() is None
        env = e.c.environments.get("dev")
        assert env.status is EnvStatus.READY and env.lock is None and env.intended is not None
        assert env.intended.task_definition_arn == before and env.drift is None
        assert_matches_ecs(e)

    def test_let_the_rollout_finish_records_the_new_revision(self) -> None:
        e = provisioned()
        e.platform.push("cart-service-dev", "v2")
        op, state = e.submit("deploy", body={"image_tag": "v2"})
        e.step("rollout", state)
        new = e.platform.services["dev"].task_definition
        e.c.operations.cancel(op.id, "finish")
        state2, token = e.step("cancel", state)
        assert token is not None
        state2 = e.resume(state2, "cancel", token)  # nothing to undo: resolved at once
        e.step("finish", state2)
        assert e.op(op.id).status is OpStatus.ABORTED
        env = e.c.environments.get("dev")
        assert env.intended is not None and env.intended.task_definition_arn == new
        assert_matches_ecs(e)

    def test_a_cancel_requested_before_the_park_is_seen_at_the_park(self) -> None:
        # GIVEN a cancel that arrives while the rollout Lambda runs (before it parks its token)
        e = provisioned()
        op, state = e.submit("deploy")
        e.c.registry.request_cancel(op.id, CancelRequest("rollback", e.clock()))
        # THEN the rollout records what it started, then raises Cancelled for the cancel path
        with pytest.raises(Cancelled):
            e.step("rollout", state)
        rec = e.op(op.id).step("rollout")
        assert rec is not None and rec.detail["deployment_id"]

    def test_a_cancel_at_a_poll_stops_the_destroy_at_its_next_boundary(self) -> None:
        e = provisioned()
        op, state = e.submit("destroy")
        state, _ = e.step("prepare", state)
        state, _ = e.step("drain", state)
        assert state["step"]["result"] == "poll"
        e.c.operations.cancel(op.id)
        with pytest.raises(Cancelled):
            e.step("drain", state)
        state2, token = e.step("cancel", state)
        assert token is not None
        e.step("finish", e.resume(state2, "cancel", token))
        ended = e.op(op.id)
        assert ended.status is OpStatus.ABORTED and ended.running_step() is None
        # a drained-to-zero service is half removed: failed, and said so; the lock is free
        env = e.c.environments.get("dev")
        assert env.status is EnvStatus.FAILED and env.lock is None
        assert_matches_ecs(e)

    def test_a_cancel_that_arrives_after_the_rollout_succeeded_still_rolls_back(self) -> None:
        e = provisioned()
        e.platform.push("cart-service-dev", "v2")
        op, state = e.submit("deploy", body={"image_tag": "v2"})
        state, token = e.step("rollout", state)
        e.rollout_completes()
        assert token is not None
        state = e.resume(state, "rollout", token)
        e.c.operations.cancel(op.id)
        with pytest.raises(Cancelled):
            e.step("finish", state)
        assert e.op(op.id).status is OpStatus.RUNNING  # nothing was recorded as succeeded


class TestFailures:
    def test_a_transient_error_keeps_the_step_running_and_counts_attempts(self) -> None:
        e = provisioned()
        op, state = e.submit("destroy")

        def flaky(*_: object) -> object:
            raise TransientError("Throttling")

        e.platform.read_contract = flaky  # type: ignore[assignment,method-assign]
        for _ in range(2):
            with pytest.raises(TransientError):
                e.step("prepare", state)
        rec = e.op(op.id).step("prepare")
        assert rec is not None and rec.status is StepStatus.RUNNING and rec.attempts == 3  # two failed, one to go
        assert rec.error == "Throttling"
        # a later success keeps the count
        del e.platform.read_contract
        e.step("prepare", state)
        done = e.op(op.id).step("prepare")
        assert done is not None and done.status is StepStatus.SUCCEEDED and done.attempts == 3

    def test_a_permanent_error_fails_the_step_and_the_failure_path_ends_it_truthfully(self) -> None:
        e = provisioned()
        op, state = e.submit("deploy", body={"image_tag": "nope"})
        with pytest.raises(Exception) as failed:
            e.step("rollout", state)
        state["error"] = {"Error": type(failed.value).__name__, "Cause": str(failed.value)}
        out, _ = e.step("fail", state)
        assert out["failure"]["error"] == "ImageNotFound" and "rollout" in out["failure"]["cause"]
        ended = e.op(op.id)
        assert ended.status is OpStatus.FAILED and ended.error is not None
        assert ended.error["step"] == "rollout" and ended.error["code"] == "ImageNotFound"
        env = e.c.environments.get("dev")
        assert env.status is EnvStatus.READY and env.lock is None  # v1 still serves
        assert_matches_ecs(e)

    def test_a_rolled_back_deploy_fails_and_names_what_ecs_serves_instead(self) -> None:
        e = provisioned()
        before = e.platform.services["dev"].task_definition
        e.platform.push("cart-service-dev", "broken-1")
        op, state = e.submit("deploy", body={"image_tag": "broken-1"})
        _, _token = e.step("rollout", state)
        e.rollout_completes(ok=False)
        assert e.sender.sent[-1][0] == "failure" and e.sender.sent[-1][2][0] == "DeploymentFailed"
        state["error"] = {"Error": "DeploymentFailed", "Cause": ""}  # the cause may not survive the hop
        out, _ = e.step("fail", state)
        ended = e.op(op.id)
        assert ended.status is OpStatus.FAILED and ended.error is not None
        assert ended.error["message"] == "circuit breaker"  # from the event, through the wait item
        assert ended.error["details"]["rolled_back_to"]["task_definition_arn"] == before
        assert ended.error["details"]["stopped_tasks"][0]["stopped_reason"]
        assert out["failure"] == {"error": "DeploymentFailed", "cause": "rollout: circuit breaker"}
        env = e.c.environments.get("dev")
        assert env.status is EnvStatus.READY and env.intended is not None
        assert env.intended.task_definition_arn == before
        assert_matches_ecs(e)

    def test_redeploy_without_a_service_says_to_provision(self) -> None:
        e = Engine()
        _, state = e.submit("provision")
        with pytest.raises(InvalidState, match="provision it first"):
            state["kind"] = "deploy"
            run_step(e.c.deps, "rollout", state, "t")


class TestWaits:
    def test_an_event_that_arrives_before_the_token_still_resolves_it_once(self) -> None:
        e = provisioned()
        op, state = e.submit("deploy")
        # the deployment the rollout will start is completed, and its event handled, before the token is parked
        original = e.platform.apply_service

        def apply_and_complete(*args: object, **kwargs: object) -> object:
            change = original(*args, **kwargs)  # type: ignore[arg-type]
            e.platform.complete("dev")
            e.c.waits.resolve(deployment_key(change.deployment_id), Outcome(True, message="early"))
            return change

        e.platform.apply_service = apply_and_complete  # type: ignore[assignment,method-assign]
        _, token = e.step("rollout", state)
        successes = [s for s in e.sender.sent if s[0] == "success" and s[1] == token]
        assert len(successes) == 1 and successes[0][2]["deployment_id"]
        assert isinstance(op.id, str)

    def test_a_failed_wait_raises_for_the_failure_path(self) -> None:
        e = provisioned()
        _, state = e.submit("deploy")
        e.step("rollout", state)
        e.platform.services["dev"].deployments[0]["rolloutState"] = "FAILED"
        with pytest.raises(DeploymentFailed):
            e.step("check_rollout", state)
