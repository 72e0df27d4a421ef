"""Task-token waits: the event may come before or after the token; the result is sent exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.domain.events import (
    MalformedEvent,
    build_key,
    deployment_key,
    parse_codebuild_state,
    parse_ecs_deployment,
)
from controlplane.domain.model import Environment, EnvStatus, Operation, OpKind, StepRecord, StepStatus, Tier
from controlplane.ports import Begin
from controlplane.store.memory import MemoryRegistry
from controlplane.waits import Outcome, Waits
from tests.fakes import FakeSender
from tests.samples import load


@pytest.fixture
def waits() -> Waits:
    registry = MemoryRegistry()
    registry.create_environment(Environment("dev", Tier.DEV, status=EnvStatus.READY))
    first = StepRecord("rollout", StepStatus.RUNNING, 0.0)
    op = Operation("deploy_dev_1", OpKind.DEPLOY, "dev", "api", {}, steps=(first,))
    registry.begin(Begin(op, 100.0, frozenset(EnvStatus), EnvStatus.DEPLOYING))
    return Waits(registry, FakeSender(), lambda: 1.0)


def sent(waits: Waits) -> list[tuple[str, str, Any]]:
    assert isinstance(waits.sender, FakeSender)
    return waits.sender.sent


RECORD = StepRecord("rollout", StepStatus.RUNNING, 0.0, detail={"deployment_id": "ecs-svc/1"})


def park(waits: Waits, key: str = "deployment#ecs-svc/1", token: str = "tok") -> bool:
    return waits.park(key, token, [RECORD], "deploy_dev_1", {"deployment_id": "ecs-svc/1", "started": "s"})


def test_token_first_then_event_resolves_once_carrying_what_the_flow_needs(waits: Waits) -> None:
    assert park(waits) is False
    assert waits.resolve(deployment_key("ecs-svc/1"), Outcome(ok=True, message="done")) is True
    [(kind, token, output)] = sent(waits)
    assert (kind, token) == ("success", "tok")
    assert output["deployment_id"] == "ecs-svc/1" and output["ok"] is True and output["message"] == "done"
    assert output["at"] == "1970-01-01T00:00:01.000Z"  # when the event resolved it: the step's end


def test_event_first_then_token_still_resolves_once(waits: Waits) -> None:
    # GIVEN the deployment's event arrives before the step parked its token
    assert waits.resolve(deployment_key("ecs-svc/1"), Outcome(ok=True)) is False
    assert sent(waits) == []
    # WHEN the step parks THEN it finds the outcome and resolves itself
    assert park(waits) is True
    assert [s[0] for s in sent(waits)] == ["success"]


def test_a_failure_is_sent_with_the_events_reason_and_kept_for_the_failure_path(waits: Waits) -> None:
    park(waits)
    waits.resolve(deployment_key("ecs-svc/1"), Outcome(False, "DeploymentFailed", "circuit breaker", {"x": 1}))
    assert sent(waits) == [("failure", "tok", ("DeploymentFailed", "circuit breaker"))]
    stored = waits.store.get_wait("deployment#ecs-svc/1")
    assert stored is not None and stored["outcome"]["message"] == "circuit breaker"
    assert stored["outcome"]["details"] == {"x": 1}


def test_a_cancel_fails_the_parked_token_with_cancelled(waits: Waits) -> None:
    park(waits)
    assert waits.cancel("deployment#ecs-svc/1", "cancelled") is True
    assert sent(waits) == [("failure", "tok", ("Cancelled", "cancelled"))]
    assert waits.cancel("deployment#unknown", "cancelled") is False


def test_real_shaped_ecs_and_codebuild_events_name_what_they_resolve() -> None:
    done = parse_ecs_deployment(load("ecs-deployment-completed.json"))
    assert done is not None and done.key == deployment_key("ecs-svc/123") and done.ok
    failed = parse_ecs_deployment(load("ecs-deployment-failed.json"))
    assert failed is not None and not failed.ok and "circuit breaker" in failed.reason
    in_progress = load("ecs-deployment-completed.json")
    in_progress["detail"]["eventName"] = "SERVICE_DEPLOYMENT_IN_PROGRESS"
    assert parse_ecs_deployment(in_progress) is None
    build = parse_codebuild_state(load("codebuild-build-state.json"))
    assert build is not None and build.ok
    assert build.key == build_key("my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX")
    broken = load("codebuild-build-state.json")
    del broken["detail"]["build-id"]
    with pytest.raises(MalformedEvent):
        parse_codebuild_state(broken)


def test_a_failed_builds_event_names_its_failed_phase_context_and_logs() -> None:
    event = load("codebuild-build-state.json")
    event["detail"]["build-status"] = "FAILED"
    event["detail"]["current-phase"] = "COMPLETED"
    event["detail"]["additional-information"]["phases"] = [
        {"phase-type": "INSTALL", "phase-status": "SUCCEEDED"},
        {"phase-type": "BUILD", "phase-status": "FAILED", "phase-context": ["COMMAND_EXECUTION_ERROR: exit status 1"]},
    ]
    event["detail"]["additional-information"]["logs"] = {"deep-link": "https://console/logs"}
    result = parse_codebuild_state(event)
    assert result is not None and not result.ok
    assert "phase BUILD: COMMAND_EXECUTION_ERROR: exit status 1" in result.reason  # not "phase COMPLETED"
    assert result.details["build"]["logs_url"] == "https://console/logs"
