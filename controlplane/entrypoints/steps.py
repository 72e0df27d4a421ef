"""The state machines' Lambda steps: one Chalice function per phase of ``domain/flows.py``, named ``step_<phase>``.

Handlers re-raise: Step Functions' Retry and Catch must see the failure (its error name is the class name).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from controlplane import container
from controlplane.domain.flows import PHASES
from controlplane.observability import logger, record_step_outcome
from controlplane.steps import State, run_step

steps = Blueprint(__name__)


def _register(phase: str) -> Any:
    @logger.inject_lambda_context(clear_state=True)  # each invocation logs its own request and keys only
    def handler(event: State, context: Any) -> State:
        token = None
        if "task_token" in event and "state" in event:  # a .waitForTaskToken task: {"state": $, "task_token": ...}
            event, token = event["state"], str(event["task_token"])
        logger.append_keys(operation_id=event.get("operation_id"), environment=event.get("environment"), step=phase)
        ok = False
        try:
            result = run_step(container.current().deps, phase, event, token)
            ok = True
            return result
        except Exception as exc:
            logger.warning("step failed", extra={"error_type": type(exc).__name__, "error": str(exc)})
            raise
        finally:
            record_step_outcome(phase, ok)
            logger.remove_keys(["operation_id", "environment", "step"])

    handler.__name__ = handler.__qualname__ = PHASES[phase].function
    return steps.lambda_function(name=PHASES[phase].function)(handler)


# Module attributes, so each function's handler string (app.step_<phase>) resolves to it.
HANDLERS = {PHASES[name].function: _register(name) for name in PHASES}
globals().update(HANDLERS)
