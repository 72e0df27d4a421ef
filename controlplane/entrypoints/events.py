"""EventBridge entry points (Chalice blueprint): thin handlers that parse the event and call a use case.

Events are best effort and delivered at least once; Lambda retries an asynchronous invocation that raises. So a
malformed event (anything not shaped as AWS documents it, a non-object included) is logged and dropped (raising
would only retry it), while a transient AWS failure is raised so Lambda retries it (twice, then the event goes to
the functions' on-failure destination, a queue with an alarm: see terraform/modules/controlplane).
"""

from __future__ import annotations

import os
from typing import Any

from chalice.app import Blueprint, CloudWatchEvent

from controlplane import container
from controlplane.domain.events import (
    CODEBUILD_PATTERN,
    ECR_PUSH_PATTERN,
    ECS_DEPLOYMENT_PATTERN,
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

# Read when the app is packaged (chalice package turns them into the rules' schedule expressions).
NIGHTLY_TEARDOWN_SCHEDULE = os.environ.get("NIGHTLY_TEARDOWN_SCHEDULE", "cron(0 20 ? * MON-FRI *)")
MORNING_RESTORE_SCHEDULE = os.environ.get("MORNING_RESTORE_SCHEDULE", "cron(0 6 ? * MON-FRI *)")
TEARDOWN_REMINDER_SCHEDULE = os.environ.get("TEARDOWN_REMINDER_SCHEDULE", "cron(30 19 ? * MON-FRI *)")
RECONCILE_SCHEDULE = os.environ.get("RECONCILE_SCHEDULE", "rate(5 minutes)")


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


def _lenient(handler: Any) -> Any:
    handler.event_class = RawEvent
    return handler


@_lenient
@events.on_cw_event(ECR_PUSH_PATTERN, name="on_ecr_push")
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


@_lenient
@events.on_cw_event(ECS_DEPLOYMENT_PATTERN, name="on_ecs_deployment")
def on_ecs_deployment(event: CloudWatchEvent) -> dict[str, Any]:
    """Resolves the rollout waiting for this deployment id (stored first if it is not waiting yet)."""
    return _resolve(event, parse_ecs_deployment, "DeploymentFailed")


@_lenient
@events.on_cw_event(CODEBUILD_PATTERN, name="on_codebuild_state")
def on_codebuild_state(event: CloudWatchEvent) -> dict[str, Any]:
    """Resolves the build waiting for this build id."""
    return _resolve(event, parse_codebuild_state, "BuildFailed")


# Schedules raise their errors (Lambda retries the same event; the run id comes from its time, so a retry is the
# same run and starts nothing twice).
@events.schedule(NIGHTLY_TEARDOWN_SCHEDULE, name="nightly_teardown", description="Tear down dev for the night")
def nightly_teardown(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.nightly_teardown(run_id(event.time))
    logger.info("nightly teardown", extra=result)
    return result


@events.schedule(MORNING_RESTORE_SCHEDULE, name="morning_restore", description="Restore what the night tore down")
def morning_restore(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.morning_restore(run_id(event.time))
    logger.info("morning restore", extra=result)
    return result


@events.schedule(TEARDOWN_REMINDER_SCHEDULE, name="teardown_reminder", description="Warn before the teardown")
def teardown_reminder(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.teardown_reminder()
    logger.info("teardown reminder", extra=result)
    return result


@events.schedule(RECONCILE_SCHEDULE, name="reconcile", description="Make the registry say what AWS runs")
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().schedules.reconcile()
    logger.info("reconcile", extra=result)
    return result
