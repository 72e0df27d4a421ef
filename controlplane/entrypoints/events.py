"""EventBridge entry points (Chalice blueprint): thin handlers that parse the event and call a use case.

Events are best effort and delivered at least once; Lambda retries an asynchronous invocation that raises. So a
malformed event is logged and dropped (raising would only retry it), while a transient AWS failure is raised
so Lambda retries it (twice, then the event goes to the function's on-failure destination).
"""

from __future__ import annotations

import os
from typing import Any

from chalice.app import Blueprint, CloudWatchEvent

from controlplane import container
from controlplane.domain.events import ECR_PUSH_PATTERN, MalformedEvent, parse_ecr_push
from controlplane.domain.schedule import run_id
from controlplane.errors import TransientError
from controlplane.observability import logger

events = Blueprint(__name__)

# Read when the app is packaged (chalice package turns them into the rules' schedule expressions).
NIGHTLY_TEARDOWN_SCHEDULE = os.environ.get("NIGHTLY_TEARDOWN_SCHEDULE", "cron(0 20 ? * MON-FRI *)")
MORNING_RESTORE_SCHEDULE = os.environ.get("MORNING_RESTORE_SCHEDULE", "cron(0 6 ? * MON-FRI *)")


class RawEvent(CloudWatchEvent):
    """Chalice's CloudWatchEvent without its KeyError on a missing envelope key: the handler validates."""

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        self.detail_type = str(event_dict.get("detail-type", ""))
        self.source = str(event_dict.get("source", ""))
        self.detail = event_dict.get("detail")  # type: ignore[assignment]
        self.time = str(event_dict.get("time", ""))
        self.event_id = str(event_dict.get("id", ""))


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
        outcomes = container.current().service.on_image_push(push)
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


# schedules: errors are raised (Lambda retries the same event; the run id comes from its time, so a retry is the
# same run and starts nothing twice).
@events.schedule(NIGHTLY_TEARDOWN_SCHEDULE, name="nightly_teardown", description="Tear down dev for the night")
def nightly_teardown(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().service.nightly_teardown(run_id(event.time))
    logger.info("nightly teardown", extra=result)
    return result


@events.schedule(MORNING_RESTORE_SCHEDULE, name="morning_restore", description="Restore what the night tore down")
def morning_restore(event: CloudWatchEvent) -> dict[str, Any]:
    result = container.current().service.morning_restore(run_id(event.time))
    logger.info("morning restore", extra=result)
    return result
