"""The control plane's deployment settings, declared once: stages, every Lambda function's settings, and the
EventBridge rules and schedules that invoke the event handlers.

Generated from this module and ``domain/flows.py`` (``python -m controlplane generate``; a test fails when a
committed file drifts):

- ``.chalice/config.json`` (stages, per-function timeouts) for ``chalice package``, which builds the deployment zip;
- ``terraform/modules/controlplane/generated/functions.json``: every function's handler, timeout and memory, and
  the environment every function gets; Terraform creates the functions from it;
- ``terraform/modules/controlplane/generated/events.json``: every rule (event pattern or schedule) and the function
  it invokes; Terraform creates each rule, its target (retry policy, dead-letter queue) and its permission from it,
  and the sandbox's EventBridge routes events with the same declaration (``sandbox/events.py``).

The Chalice app registers the event handlers as plain Lambda functions, so ``chalice package`` emits no rule of
its own: each rule has one owner, this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controlplane.domain.events import CODEBUILD_PATTERN, ECR_PUSH_PATTERN, ECS_DEPLOYMENT_PATTERN
from controlplane.domain.flows import PHASES

APP_NAME = "cart-controlplane"
# The Lambda runtime: the Python `chalice package` runs with (the zip's dependencies are built for it; the packager
# refuses another).
RUNTIME = "python3.11"
MEMORY_MB = 256
DEFAULT_TIMEOUT_SECONDS = 30
# Chalice needs a role when it does not manage one; the deployment zip does not depend on it and Terraform gives
# every function the role of terraform/modules/controlplane. Never deployed.
PLACEHOLDER_ROLE_ARN = "arn:aws:iam::000000000000:role/set-by-terraform-modules-controlplane"

# The event handlers and schedules (entrypoints/events.py) and the API.
HANDLER_TIMEOUTS: dict[str, int] = {
    "api_handler": 30,
    "on_ecr_push": 60,
    "on_ecs_deployment": 30,
    "on_codebuild_state": 30,
    "nightly_teardown": 60,
    "morning_restore": 60,
    "teardown_reminder": 60,
    "reconcile": 120,
}

STAGES: dict[str, dict[str, str]] = {
    "dev": {"POWERTOOLS_LOG_LEVEL": "DEBUG"},
    "prod": {"POWERTOOLS_LOG_LEVEL": "INFO"},
}

COMMON_ENVIRONMENT = {
    "CONTRACT_PARAMETER_PREFIX": "/cart-service",
    "POWERTOOLS_SERVICE_NAME": APP_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": "CartControlPlane",
    "WAIT_INTERVAL_SECONDS": "10",
    "WAIT_TIMEOUT_SECONDS": "1800",
}

# Repositories whose pushes reach the control plane (docs/contract.md "Names": cart-service-<env>).
REPOSITORY_PREFIX = "cart-service-"


@dataclass(frozen=True)
class EventRule:
    """One EventBridge rule: ``cart-controlplane-<stage>-<name>``, invoking the function ``function``
    asynchronously (Terraform gives its target a retry policy and the failure queue as dead-letter queue)."""

    name: str
    function: str
    description: str
    event_pattern: dict[str, Any] | None = None
    schedule_expression: str | None = None  # UTC; Terraform's schedule_overrides may replace it per stage

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "description": self.description,
            "event_pattern": self.event_pattern,
            "schedule_expression": self.schedule_expression,
        }


EVENT_RULES: tuple[EventRule, ...] = (
    EventRule(
        "ecr-push",
        "on_ecr_push",
        f"Successful pushes to {REPOSITORY_PREFIX}* repositories (deploy on push)",
        event_pattern={
            **ECR_PUSH_PATTERN,
            "detail": {**ECR_PUSH_PATTERN["detail"], "repository-name": [{"prefix": REPOSITORY_PREFIX}]},
        },
    ),
    EventRule(
        "ecs-deployment",
        "on_ecs_deployment",
        "ECS deployment outcomes (resolve the rollout waiting for them)",
        event_pattern=ECS_DEPLOYMENT_PATTERN,
    ),
    EventRule(
        "codebuild-state",
        "on_codebuild_state",
        "CodeBuild build outcomes (resolve the build waiting for them)",
        event_pattern=CODEBUILD_PATTERN,
    ),
    EventRule(
        "nightly-teardown",
        "nightly_teardown",
        "Tear down the environments with nightly_teardown on",
        schedule_expression="cron(0 20 ? * MON-FRI *)",
    ),
    EventRule(
        "morning-restore",
        "morning_restore",
        "Restore what the night tore down",
        schedule_expression="cron(0 6 ? * MON-FRI *)",
    ),
    EventRule(
        "teardown-reminder",
        "teardown_reminder",
        "Warn before the nightly teardown",
        schedule_expression="cron(30 19 ? * MON-FRI *)",
    ),
    EventRule(
        "reconcile",
        "reconcile",
        "Make the registry say what AWS runs",
        schedule_expression="rate(5 minutes)",
    ),
)
RULES: dict[str, EventRule] = {r.name: r for r in EVENT_RULES}
NIGHTLY_TEARDOWN_RULE = "nightly-teardown"


def rule_for(function: str) -> EventRule:
    return next(r for r in EVENT_RULES if r.function == function)


def function_timeouts() -> dict[str, int]:
    """Every function's timeout: one per flow phase (step_<phase>), the event handlers, the API."""
    return {p.function: p.timeout_seconds for p in PHASES.values()} | HANDLER_TIMEOUTS


def chalice_config() -> dict[str, Any]:
    functions = {name: {"lambda_timeout": seconds} for name, seconds in sorted(function_timeouts().items())}
    return {
        "version": "2.0",
        "app_name": APP_NAME,
        # No IAM here: terraform/modules/controlplane owns the functions' role and its one policy.
        "manage_iam_role": False,
        "iam_role_arn": PLACEHOLDER_ROLE_ARN,
        "lambda_memory_size": MEMORY_MB,
        "lambda_timeout": DEFAULT_TIMEOUT_SECONDS,
        "xray": True,
        "environment_variables": COMMON_ENVIRONMENT,
        "stages": {
            stage: {
                "api_gateway_stage": "api",
                "environment_variables": {
                    "CONTROLPLANE_STAGE": stage,
                    "REGISTRY_TABLE": f"{APP_NAME}-{stage}-registry",
                    **extra,
                },
                "lambda_functions": functions,
            }
            for stage, extra in STAGES.items()
        },
    }


def functions_document(handlers: dict[str, str]) -> dict[str, Any]:
    """What Terraform creates the functions from: handler (as the Chalice app registers it), timeout, memory;
    the environment every function gets, and the extra one of a known stage (Terraform adds the stage's names)."""
    timeouts = function_timeouts()
    if set(handlers) != set(timeouts):
        raise ValueError(f"the app's functions {sorted(handlers)} differ from the declared {sorted(timeouts)}")
    return {
        "runtime": RUNTIME,
        "memory_mb": MEMORY_MB,
        "environment": COMMON_ENVIRONMENT,
        "stage_environment": STAGES,
        "functions": {
            name: {"handler": handlers[name], "timeout": timeouts[name], "asynchronous": _is_rule_target(name)}
            for name in sorted(timeouts)
        },
    }


def _is_rule_target(function: str) -> bool:
    return any(r.function == function for r in EVENT_RULES)


def events_document() -> dict[str, Any]:
    return {"rules": {r.name: r.to_dict() for r in EVENT_RULES}}
