"""Small statistics: every figure is a median over several runs with its spread."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (q in [0, 1]) of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def summary(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """median, p25, p75, min, max and n of the runs (rounded)."""
    if not values:
        return {"n": 0, "median": None, "p25": None, "p75": None, "min": None, "max": None}
    return {
        "n": len(values),
        "median": round(float(statistics.median(values)), digits),
        "p25": round(quantile(values, 0.25), digits),
        "p75": round(quantile(values, 0.75), digits),
        "min": round(float(min(values)), digits),
        "max": round(float(max(values)), digits),
    }


def latency(values: Sequence[float], digits: int = 2) -> dict[str, Any]:
    """Latency percentiles in milliseconds for a list of seconds."""
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(quantile(ms, 0.5), digits),
        "p90_ms": round(quantile(ms, 0.9), digits),
        "p99_ms": round(quantile(ms, 0.99), digits),
        "max_ms": round(max(ms), digits),
    }


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)
