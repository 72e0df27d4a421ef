"""Task-token waits: the event may come before or after the token; the result is sent exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.domain.events import MalformedEvent, parse_codebuild_state, parse_ecs_deployment
from controlplane.domain.model import Operation, OpKind, StepRecord, StepStatus
from controlplane.store.memory import MemoryStore
from controlplane.waits import Outcome, Waits, build_key, deployment_key
from tests.samples import load


class Sender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def success(self, token: str, output: dict[str, Any]) -> None:
        self.sent.append(("success", token, output))

    def failure(self, token: str, error: str, cause: str) -> None:
        self.sent.append(("failure", token, (error, cause)))


@pytest.fixture
def waits() -> Waits:
    store = MemoryStore()
    store.create_operation(Operation(id="deploy-1", kind=OpKind.DEPLOY, environment="dev", trigger="api", params={}))
    store.record_step("deploy-1", StepRecord("wait_deployment", 1, StepStatus.RUNNING, 0.0))
    return Waits(store, Sender(), lambda: 1.0)


def sent(waits: Waits) -> list[tuple[str, str, Any]]:
    assert isinstance(waits.sender, Sender)
    return waits.sender.sent


def test_token_first_then_event_resolves_once(waits: Waits) -> None:
    assert waits.register(deployment_key("ecs-svc/1"), "tok", "deploy-1", "wait_deployment") is False
    assert waits.resolve(deployment_key("ecs-svc/1"), Outcome(ok=True, message="done")) is True
    assert sent(waits) == [("success", "tok", {"ok": True, "message": "done"})]


def test_event_first_then_token_still_resolves_once(waits: Waits) -> None:
    # GIVEN the deployment's event arrives before the wait stored its token
    assert waits.resolve(deployment_key("ecs-svc/1"), Outcome(ok=True)) is False
    assert sent(waits) == []
    # WHEN the wait registers THEN it finds the outcome and resolves itself
    assert waits.register(deployment_key("ecs-svc/1"), "tok", "deploy-1", "wait_deployment") is True
    assert [s[0] for s in sent(waits)] == ["success"]


def test_a_failure_carries_its_reason_on_the_timeline(waits: Waits) -> None:
    waits.register(deployment_key("ecs-svc/1"), "tok", "deploy-1", "wait_deployment")
    waits.resolve(deployment_key("ecs-svc/1"), Outcome(ok=False, error="DeploymentFailed", message="circuit breaker"))
    assert sent(waits) == [("failure", "tok", ("DeploymentFailed", "circuit breaker"))]
    op = waits.store.get_operation("deploy-1")
    step = op.step("wait_deployment") if op else None
    assert step is not None and step.status is StepStatus.FAILED and step.error == "circuit breaker"


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
