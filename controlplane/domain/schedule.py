"""Nightly teardown and morning restore: who is selected, what is recorded, and keep-alives. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from controlplane.domain.model import Environment, EnvStatus, Tier
from controlplane.domain.times import BadTime, iso, parse_iso, read_time, stamp
from controlplane.domain.validation import InvalidInput, check_object

__all__ = ["Snapshot", "iso", "keep_alive_request", "restore_selection", "run_id", "teardown_selection"]

MAX_KEEP_ALIVE_SECONDS = 14 * 24 * 3600


def teardown_selection(environments: Iterable[Environment], now: float) -> list[Environment]:
    """Environments the nightly run tears down: tier dev, ``nightly_teardown`` on, something runs (ready, or an
    operation is putting it there: the run skips those, saying which operation holds them), and no keep-alive
    that is still live. Staging and prod are never selected, whatever their settings say (and the teardown's
    prepare phase refuses anything its contract does not call dev)."""
    return [
        env
        for env in environments
        if env.tier is Tier.DEV
        and env.settings.nightly_teardown
        and env.status in RUNS_SOMETHING
        and env.keep_alive(now) is None
    ]


RUNS_SOMETHING = (EnvStatus.READY, EnvStatus.DEPLOYING, EnvStatus.PROVISIONING)


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
            "taken_at": iso(self.taken_at),
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
            taken_at=read_time(data.get("taken_at")) or 0.0,
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
        ts = parse_iso(until)
    except BadTime:
        raise InvalidInput(f"until {until!r} is not an ISO 8601 time") from None
    if ts <= now:
        raise InvalidInput("until must be in the future")
    if ts - now > MAX_KEEP_ALIVE_SECONDS:
        raise InvalidInput("until must be at most 14 days ahead")
    return ts


def run_id(event_time: str) -> str:
    """A scheduled run's id, from its event's time: a retried delivery of the same event is the same run."""
    return stamp(parse_iso(event_time))
