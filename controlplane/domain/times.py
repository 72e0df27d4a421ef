"""Time as the control plane writes it: ISO 8601 UTC with milliseconds and a trailing Z, everywhere (the API, the
registry, notifications). Internally times are epoch seconds (floats). Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class BadTime(ValueError):
    """Not an ISO 8601 time."""


def iso(ts: float) -> str:
    """2026-11-28T01:43:25.453Z"""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_or_none(ts: float | None) -> str | None:
    return None if ts is None else iso(ts)


def parse_iso(value: str) -> float:
    """An ISO 8601 time (a zone-less time is UTC) as epoch seconds; BadTime if it is not one."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        raise BadTime(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def read_time(value: Any) -> float | None:
    """A stored time: ISO string (or, for documents written before times were ISO, a number)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return parse_iso(str(value))


def stamp(ts: float) -> str:
    """A compact UTC stamp for ids: 20261128t014325."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dt%H%M%S")
