"""Powertools Logger (structured JSON), Metrics and, when tracing is on, Tracer; shared by every entry point.

The X-Ray SDK is imported only when tracing is on (in Lambda, unless POWERTOOLS_TRACE_DISABLED=true): it costs
about 140 ms of every cold start otherwise. The log level can be changed after import (``configure``), so a
process that sets its environment late (the sandbox) still gets the level it asked for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "cart-controlplane"
NAMESPACE = "CartControlPlane"
F = TypeVar("F", bound=Callable[..., Any])


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).lower() == "true"


# single_metric() does not honour POWERTOOLS_METRICS_DISABLED by itself.
METRICS_ENABLED = not _flag("POWERTOOLS_METRICS_DISABLED", "false")
TRACING_ENABLED = "AWS_LAMBDA_FUNCTION_NAME" in os.environ and not _flag("POWERTOOLS_TRACE_DISABLED", "false")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def configure(level: str | None = None, metrics_on: bool | None = None) -> None:
    """Change the log level (and metrics) after import."""
    global METRICS_ENABLED
    if level:
        logger.setLevel(level.upper())
        logging.getLogger("aws_lambda_powertools").setLevel(level.upper())
    if metrics_on is not None:
        METRICS_ENABLED = metrics_on


def traced(fn: F) -> F:
    """Trace the function with X-Ray when tracing is on; otherwise it is returned as it is."""
    if not TRACING_ENABLED:
        return fn
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE).capture_method(fn)


def record_step_outcome(step: str, ok: bool) -> None:
    if not METRICS_ENABLED:
        return
    name = "StepSucceeded" if ok else "StepFailed"
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="step", value=step)


def record_operation_started(kind: str, trigger: str) -> None:
    """One metric for every operation started, with its kind and trigger as dimensions."""
    if not METRICS_ENABLED:
        return
    with single_metric(name="OperationsStarted", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="kind", value=kind)
        metric.add_dimension(name="trigger", value=trigger)


__all__ = [
    "NAMESPACE",
    "SERVICE",
    "configure",
    "logger",
    "metrics",
    "record_operation_started",
    "record_step_outcome",
    "traced",
]
