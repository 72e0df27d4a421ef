"""Times for people: the API's ISO 8601 UTC timestamps shown local and relative; durations parsed and shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_ts(value: Any) -> datetime | None:
    """An API timestamp (``2026-11-28T01:43:25.453Z``; epoch seconds are read too) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_iso(moment: datetime) -> str:
    """``moment`` as the API writes times: UTC with a trailing Z (seconds precision)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_until(text: str) -> datetime:
    """An ISO 8601 time given on the command line; without an offset it is local time. ValueError if not one."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-28T23:00:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # naive: the operator's local time
    return parsed.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """``3h``, ``90m``, ``1h30m``, ``2d``, ``45s`` (a bare number is minutes). ValueError if not one."""
    raw = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        raw += "m"
    pos, total = 0, 0.0
    for match in _DURATION_RE.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos != len(raw):
        raise ValueError(f"{text!r} is not a duration (e.g. 3h, 90m, 1h30m, 2d)")
    if total <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return timedelta(seconds=total)


def fmt_duration(seconds: float | None) -> str:
    """0.4s, 12.3s, 2m05s, 1h02m."""
    if seconds is None:
        return "-"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"


def fmt_relative(moment: datetime, now: datetime) -> str:
    """``just now``, ``3 min ago``, ``in 2 h 5 min``."""
    delta = (moment - now).total_seconds()
    future, span = delta > 0, abs(delta)
    if span < 5:
        return "just now"
    if span < 60:
        text = f"{int(span)} s"
    elif span < 3600:
        text = f"{int(span // 60)} min"
    elif span < 86400:
        hours, minutes = int(span // 3600), int(span % 3600 // 60)
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        days, hours = int(span // 86400), int(span % 86400 // 3600)
        text = f"{days} d {hours} h" if hours else f"{days} d"
    return f"in {text}" if future else f"{text} ago"


def fmt_local(moment: datetime) -> str:
    """``2026-11-28 02:43:25 CET``: the operator's local time."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def fmt_short(moment: datetime, now: datetime) -> str:
    """``02:43:25`` today (local), else ``2026-11-27 02:43``."""
    local, today = moment.astimezone(), now.astimezone()
    return local.strftime("%H:%M:%S") if local.date() == today.date() else local.strftime("%Y-%m-%d %H:%M")


def fmt_clock(moment: datetime) -> str:
    """``02:43:25``, local."""
    return moment.astimezone().strftime("%H:%M:%S")


def fmt_when(value: Any, now: datetime) -> str:
    """A timestamp as local time with how long ago (or until); ``-`` when there is none."""
    moment = parse_ts(value)
    if moment is None:
        return "-"
    return f"{fmt_local(moment)} ({fmt_relative(moment, now)})"


def utcnow() -> datetime:
    return datetime.now(UTC)
