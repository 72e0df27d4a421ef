"""EventBridge entry points (Chalice blueprint): thin handlers that parse the event and call a use case.

They are plain Lambda functions: their rules and schedules are declared once, in ``controlplane/deployment.py``
(``EVENT_RULES``), and created by Terraform from the file generated from it; the sandbox routes events with the
same declaration.

Events are best effort and delivered at least once; Lambda retries an asynchronous invocation that raises. So a
malformed event (anything not shaped as AWS documents it, a non-object included) is logged and dropped (raising
would only retry it), while a transient AWS failure is raised so Lambda retries it (twice, then the event goes to
the functions' on-failure destination, a queue with an alarm: see terraform/modules/controlplane).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, CloudWatchEvent

from controlplane import container
from controlplane.domain.events import (
    MalformedEvent,
    WaitResult,
    parse_codebuild_state,
    parse_ecr_push,
    parse_ecs_deployment,
)
from controlplane.domain.schedule import run_id
from controlplane.errors import TransientError
from controlplane.observability import logger
from controlplane.waits import Outcome

events = Blueprint(__name__)


class RawEvent(CloudWatchEvent):
    """Chalice's CloudWatchEvent without its errors on a missing envelope key or a non-object event: the
    handlers validate what they get."""

    def _extract_attributes(self, event_dict: Any) -> None:
        data = event_dict if isinstance(event_dict, dict) else {}
        self.detail_type = str(data.get("detail-type", ""))
        self.source = str(data.get("source", ""))
        self.detail = data.get("detail")  # type: ignore[assignment]
        self.time = str(data.get("time", ""))
        self.event_id = str(data.get("id", ""))


def handler(fn: Callable[[CloudWatchEvent], dict[str, Any]]) -> Any:
    """Register ``fn`` as the plain Lambda function of its name, handed the event as a RawEvent (what the rule
    declared in controlplane/deployment.py delivers)."""

    @logger.inject_lambda_context(clear_state=True)  # each invocation logs its own request and keys only
    def invoke(event: Any, context: Any) -> dict[str, Any]:
        return fn(RawEvent(event, context))

    invoke.__name__ = invoke.__qualname__ = fn.__name__
    invoke.__doc__ = fn.__doc__
    return events.lambda_function(name=fn.__name__)(invoke)


@handler
def on_ecr_push(event: CloudWatchEvent) -> dict[str, Any]:
    raw = event.to_dict()
    logger.append_keys(event_id=raw.get("id") if isinstance(raw, dict) else None)
    try:
        push = parse_ecr_push(raw)
    except MalformedEvent as exc:
        logger.warning("malformed ECR event dropped", extra={"reason": str(exc)})
        return {"outcome": "dropped", "reason": str(exc)}
    if push is None:
        return {"outcome": "ignored", "reason": "not a successful push"}
    try:
        outcomes = container.current().pushes.on_image_push(push)
    except TransientError:
        raise
    except Exception as exc:  # never a retry loop on a bug: log it with the event and drop
        logger.exception("ECR push not handled", extra={"push": push.to_dict()})
        return {"outcome": "error", "reason": f"{type(exc).__name__}: {exc}"}
    for outcome in outcomes:
        logger.info("ECR push", extra={"push": push.to_dict(), **outcome})
    if not outcomes:
        logger.info("ECR push matches no environment's deploy_on_push policy", extra={"push": push.to_dict()})
    return {"outcome": "handled", "environments": outcomes}


def _resolve(event: CloudWatchEvent, parse: Any, error: str) -> dict[str, Any]:
    try:
        result: WaitResult | None = parse(event.to_dict())
    except MalformedEvent as exc:
        logger.warning("malformed event dropped", extra={"reason": str(exc)})
        return {"outcome": "dropped", "reason": str(exc)}
    if result is None:
        return {"outcome": "ignored"}
    outcome = Outcome(ok=result.ok, error="" if result.ok else error, message=result.reason, details=result.details)
    resolved = container.current().waits.resolve(result.key, outcome)
    logger.info("wait outcome", extra={"key": result.key, "ok": result.ok, "waiting_step_resolved": resolved})
    return {"outcome": "resolved" if resolved else "stored", "key": result.key}


@handler
def on_ecs_deployment(event: CloudWatchEvent) -> dict[str, Any]:
    """Resolves the rollout waiting for this deployment id (stored first if it is not waiting yet)."""
    return _resolve(event, parse_ecs_deployment, "DeploymentFailed")


@handler
def on_codebuild_state(event: CloudWatchEvent) -> dict[str, Any]:
    """Resolves the build waiting for this build id."""
    return _resolve(event, parse_codebuild_state, "BuildFailed")


# Schedules raise their errors (Lambda retries the same event; the run id comes from its time, so a retry is the
# same run and starts nothing twice).
@handler
def nightly_teardown(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.nightly_teardown(run_id(event.time))
    logger.info("nightly teardown", extra=result)
    return result


@handler
def morning_restore(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.morning_restore(run_id(event.time))
    logger.info("morning restore", extra=result)
    return result


@handler
def teardown_reminder(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.teardown_reminder()
    logger.info("teardown reminder", extra=result)
    return result


@handler
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.reconcile()
    logger.info("reconcile", extra=result)
    return result
