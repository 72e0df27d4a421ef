"""Nightly teardown and morning restore: who is selected, what is recorded, and keep-alives. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controlplane.domain.model import Environment, EnvStatus, Tier
from controlplane.domain.validation import InvalidInput, check_object

MAX_KEEP_ALIVE_SECONDS = 14 * 24 * 3600


def teardown_selection(
    environments: Iterable[Environment], keep_alives: Mapping[str, float], now: float
) -> list[Environment]:
    """Environments the nightly run tears down: tier dev, ``nightly_teardown`` on, ready (something runs), and
    no keep-alive that is still live. Staging and prod are never selected, whatever their settings say."""
    return [
        env
        for env in environments
        if env.tier is Tier.DEV
        and env.settings.nightly_teardown
        and env.status is EnvStatus.READY
        and keep_alives.get(env.name, 0.0) <= now
    ]


@dataclass(frozen=True)
class Snapshot:
    """What an environment ran before the nightly teardown; the morning restore brings exactly this back."""

    environment: str
    desired_count: int
    min_count: int | None  # autoscaling limits, None when the service had no scalable target
    max_count: int | None
    image_digest: str
    operation_id: str  # the teardown operation that took it
    state: str = "taken"  # taken | torn_down | restored
    taken_at: float = 0.0

    @property
    def autoscaling(self) -> bool:
        return self.min_count is not None and self.max_count is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "desired_count": self.desired_count,
            "min_count": self.min_count,
            "max_count": self.max_count,
            "image_digest": self.image_digest,
            "operation_id": self.operation_id,
            "state": self.state,
            "taken_at": self.taken_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        low, high = data.get("min_count"), data.get("max_count")
        return cls(
            environment=str(data["environment"]),
            desired_count=int(data["desired_count"]),
            min_count=int(low) if low is not None else None,
            max_count=int(high) if high is not None else None,
            image_digest=str(data["image_digest"]),
            operation_id=str(data["operation_id"]),
            state=str(data.get("state", "taken")),
            taken_at=float(data.get("taken_at") or 0.0),
        )

    def restore_params(self) -> dict[str, Any]:
        """The provision overrides that bring the environment back exactly."""
        params: dict[str, Any] = {"image_digest": self.image_digest, "desired_count": self.desired_count}
        if self.autoscaling:
            params["autoscaling"] = {"min_count": self.min_count, "max_count": self.max_count}
        else:
            params["autoscaling"] = None
        return params


def restore_selection(environments: Iterable[Environment], snapshots: Mapping[str, Snapshot]) -> list[Environment]:
    """Environments the morning run restores: torn down by the nightly run (and still destroyed), tier dev."""
    return [
        env
        for env in environments
        if env.tier is Tier.DEV
        and env.status is EnvStatus.DESTROYED
        and env.name in snapshots
        and snapshots[env.name].state == "torn_down"
    ]


def keep_alive_request(body: Any, now: float) -> float:
    """``{"until": "<ISO 8601 time>"}``: a time in the future, at most 14 days ahead."""
    body = check_object(body)
    unknown = sorted(set(body) - {"until"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; allowed: until")
    until = body.get("until")
    if not isinstance(until, str):
        raise InvalidInput('until is required: an ISO 8601 time, e.g. {"until": "2026-11-26T23:00:00Z"}')
    try:
        parsed = datetime.fromisoformat(until.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"until {until!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ts = parsed.timestamp()
    if ts <= now:
        raise InvalidInput("until must be in the future")
    if ts - now > MAX_KEEP_ALIVE_SECONDS:
        raise InvalidInput("until must be at most 14 days ahead")
    return ts


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_id(event_time: str) -> str:
    """A scheduled run's id, from its event's time: a retried delivery of the same event is the same run."""
    parsed = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y%m%dt%H%M%S")
