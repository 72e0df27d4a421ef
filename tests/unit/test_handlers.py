"""The Lambda entry points: thin, and each invocation logs with its own keys only."""

from __future__ import annotations

from typing import Any

from controlplane.entrypoints import events
from controlplane.observability import logger
from controlplane.sandbox.emulation import LambdaContext


def invoke(name: str, event: Any) -> Any:
    return getattr(events, name)(event, LambdaContext(function_name=f"cart-controlplane-test-{name}"))


def test_an_invocation_does_not_inherit_the_keys_of_the_one_before() -> None:
    # GIVEN an ECR push event (malformed: dropped before it reaches the registry) that names its event id
    out = invoke("on_ecr_push", {"id": "evt-1", "source": "aws.ecr", "detail-type": "ECR Image Action"})
    assert out["outcome"] == "dropped"
    assert logger.get_current_keys().get("event_id") == "evt-1"
    # WHEN the same process runs another function next (Lambda reuses the process)
    assert invoke("on_ecs_deployment", "not an event")["outcome"] == "dropped"
    # THEN the first invocation's keys are gone, and the second logs its own function
    keys = logger.get_current_keys()
    assert "event_id" not in keys
    assert keys["function_name"] == "cart-controlplane-test-on_ecs_deployment"


def test_a_malformed_event_of_any_shape_is_dropped_not_raised() -> None:
    for event in (None, [], "x", 3, {"detail": "not an object"}, {"source": "aws.ecs"}):
        assert invoke("on_ecs_deployment", event)["outcome"] == "dropped"
        assert invoke("on_codebuild_state", event)["outcome"] == "dropped"
        assert invoke("on_ecr_push", event)["outcome"] == "dropped"
