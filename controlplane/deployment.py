"""The control plane's deployment settings, declared once: stages and every Lambda function's settings.

``.chalice/config.json`` is generated from this module and ``domain/flows.py`` (``python -m controlplane
generate``); a test fails when the committed file drifts. Terraform reads the same generated file through the
Chalice package, so a function's timeout is written in one place.
"""

from __future__ import annotations

from typing import Any

from controlplane.domain.flows import PHASES

APP_NAME = "cart-controlplane"
MEMORY_MB = 256
DEFAULT_TIMEOUT_SECONDS = 30

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


def function_timeouts() -> dict[str, int]:
    """Every function's timeout: one per flow phase (step_<phase>), the event handlers, the API."""
    return {p.function: p.timeout_seconds for p in PHASES.values()} | HANDLER_TIMEOUTS


def chalice_config() -> dict[str, Any]:
    functions = {name: {"lambda_timeout": seconds} for name, seconds in sorted(function_timeouts().items())}
    return {
        "version": "2.0",
        "app_name": APP_NAME,
        "autogen_policy": False,
        "iam_policy_file": "policy-controlplane.json",
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
