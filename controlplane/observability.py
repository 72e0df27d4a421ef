"""Powertools Logger (structured JSON), Tracer and Metrics, shared by every entry point."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "cart-controlplane"
NAMESPACE = "CartControlPlane"
# single_metric() does not honour POWERTOOLS_METRICS_DISABLED by itself.
METRICS_ENABLED = os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() != "true"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

__all__ = ["METRICS_ENABLED", "NAMESPACE", "SERVICE", "MetricUnit", "logger", "metrics", "single_metric", "tracer"]
