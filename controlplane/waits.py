"""Event-driven waits: a Step Functions task token, resolved by the AWS event that reports the outcome.

A token phase (``flows.StepKind.TOKEN``) starts something (an ECS deployment, a CodeBuild build) and parks its
task token under a key (``deployment#<id>``, ``build#<id>``) together with what the rest of the flow needs to
know about it (the ``carry``: a waitForTaskToken Lambda's own return value is discarded, so the wait's result is
the only way back into the execution). The event handler records the outcome under the same key. Both writes
are atomic on one registry item and return the item as it is after the write, so whichever comes second sees the
other's half and sends the token's result: an event that arrives before the token is parked still resolves the
wait, and the result is sent once. A cancel resolves a parked token with the ``Cancelled`` error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controlplane.asl import CANCELLED
from controlplane.domain.flows import CANCEL_PHASE
from controlplane.domain.model import StepRecord
from controlplane.domain.times import iso
from controlplane.ports import Clock, TokenSender, WaitStore


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""  # the error name Step Functions sees (DeploymentFailed, BuildFailed)
    message: str = ""
    details: dict[str, Any] | None = None  # what the event said beyond ok/failed (a build's phase and logs)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, "message": self.message, "details": self.details or {}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            bool(data["ok"]), str(data.get("error", "")), str(data.get("message", "")), data.get("details") or None
        )


class Waits:
    def __init__(self, store: WaitStore, sender: TokenSender, clock: Clock) -> None:
        self.store, self.sender, self.clock = store, sender, clock

    def park(
        self,
        key: str,
        token: str,
        records: Sequence[StepRecord],
        operation_id: str,
        carry: dict[str, Any],
        cancellable: bool = True,
    ) -> bool:
        """Park the token and write the step records (the waiting step's is the last). True if the outcome was
        already there (then the wait is resolved now). Raises errors.Cancelled if the operation was cancelled,
        unless the wait is not ``cancellable`` (the cancel path waiting for its own rollback)."""
        item = self.store.register_wait(key, token, records, operation_id, carry, cancellable)
        if item.get("outcome") is None:
            return False
        self._send(item, Outcome.from_dict(item["outcome"]))
        return True

    def resolve(self, key: str, outcome: Outcome) -> bool:
        """Record the outcome an event reports. True if a parked token was found (and resolved)."""
        item = self.store.record_wait_outcome(key, {**outcome.to_dict(), "at": iso(self.clock())}, self.clock())
        if not item.get("token"):
            return False
        self._send(item, outcome)
        return True

    def cancel(self, key: str, reason: str) -> bool:
        """Fail a parked token with ``Cancelled`` (the state machine's cancel path takes over). The cancel path's
        own wait (for the rollback it started) is left alone: a repeated cancel must not fail the rollback."""
        item = self.store.get_wait(key)
        if not item or not item.get("token") or item.get("step") == CANCEL_PHASE:
            return False
        self.sender.failure(str(item["token"]), CANCELLED, reason)
        return True

    def _send(self, item: dict[str, Any], outcome: Outcome) -> None:
        token = str(item["token"])
        if outcome.ok:
            at = item.get("outcome", {}).get("at") or iso(self.clock())
            self.sender.success(token, {**(item.get("carry") or {}), "ok": True, "message": outcome.message, "at": at})
        else:
            self.sender.failure(token, outcome.error, outcome.message)
