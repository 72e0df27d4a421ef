"""The state machines' Lambda steps: one Chalice function per step, named ``step_<name>``.

Handlers re-raise: Step Functions' Retry and Catch must see the failure (its error name is the class name).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from controlplane import container
from controlplane.observability import METRICS_ENABLED, NAMESPACE, MetricUnit, logger, single_metric, tracer
from controlplane.steps import State, run_step

steps = Blueprint(__name__)


def _register(step: str) -> Any:
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: State, context: Any) -> State:
        if "task_token" in event and "state" in event:  # a .waitForTaskToken task: {"state": $, "task_token": ...}
            event = {**event["state"], "task_token": event["task_token"]}
        logger.append_keys(operation_id=event.get("operation_id"), environment=event.get("environment"), step=step)
        outcome = "StepFailed"
        try:
            result = run_step(step, container.current().deps, event)
            outcome = "StepSucceeded"
            return result
        except Exception as exc:
            logger.warning("step failed", extra={"error_type": type(exc).__name__, "error": str(exc)})
            raise
        finally:
            if METRICS_ENABLED:
                with single_metric(name=outcome, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
                    metric.add_dimension(name="step", value=step)

    handler.__name__ = handler.__qualname__ = f"step_{step}"
    return steps.lambda_function(name=f"step_{step}")(handler)


step_validate = _register("validate")
step_lock = _register("lock")
step_check_base = _register("check_base")
step_ensure_image = _register("ensure_image")
step_start_build = _register("start_build")
step_wait_build = _register("wait_build")
step_check_build = _register("check_build")
step_record_build = _register("record_build")
step_resolve_image = _register("resolve_image")
step_register_task_definition = _register("register_task_definition")
step_apply_service = _register("apply_service")
step_wait_deployment = _register("wait_deployment")
step_check_deployment = _register("check_deployment")
step_health_check = _register("health_check")
step_snapshot = _register("snapshot")
step_scale_down = _register("scale_down")
step_wait_drained = _register("wait_drained")
step_delete_service = _register("delete_service")
step_wait_inactive = _register("wait_inactive")
step_deregister_task_definitions = _register("deregister_task_definitions")
step_delete_images = _register("delete_images")
step_delete_log_groups = _register("delete_log_groups")
step_sweep = _register("sweep")
step_record = _register("record")
step_unlock = _register("unlock")
step_fail = _register("fail")
