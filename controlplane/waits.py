"""Event-driven waits: a Step Functions task token, resolved by the event that reports the outcome.

The waiting step registers its token under a key (``deployment#<id>``, ``build#<id>``); the event handler records
the outcome under the same key. Both are single atomic writes to one registry item that return the item as it is
after the write, so whichever of the two comes second sees the other's half and sends the token's result: an
event that arrives before the token is stored still resolves the wait, and the result is sent once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from controlplane.domain.model import StepStatus
from controlplane.ports import Clock, Store


class TokenSender(Protocol):
    def success(self, token: str, output: dict[str, Any]) -> None: ...

    def failure(self, token: str, error: str, cause: str) -> None: ...


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""  # the error name Step Functions sees (DeploymentFailed, BuildFailed)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(bool(data["ok"]), str(data.get("error", "")), str(data.get("message", "")))


def deployment_key(deployment_id: str) -> str:
    return f"deployment#{deployment_id}"


def build_key(build_id: str) -> str:
    return f"build#{build_id.rsplit('build/', 1)[-1]}"  # an event names the build's ARN, StartBuild its id


class Waits:
    def __init__(self, store: Store, sender: TokenSender, clock: Clock) -> None:
        self.store, self.sender, self.clock = store, sender, clock

    def register(self, key: str, token: str, operation_id: str, step: str) -> bool:
        """Store the waiting step's token. True if the outcome was already there (and the wait is resolved)."""
        item = self.store.register_wait(key, token, operation_id, step, self.clock())
        if item.get("outcome") is None:
            return False
        self._send(item, Outcome.from_dict(item["outcome"]))
        return True

    def resolve(self, key: str, outcome: Outcome) -> bool:
        """Record the outcome an event reports. True if a waiting step was found (and resolved)."""
        item = self.store.record_wait_outcome(key, outcome.to_dict(), self.clock())
        if not item.get("token"):
            return False
        self._send(item, outcome)
        return True

    def _send(self, item: dict[str, Any], outcome: Outcome) -> None:
        token, op_id, step = str(item["token"]), str(item["operation_id"]), str(item["step"])
        if outcome.ok:
            self.sender.success(token, {"ok": True, "message": outcome.message})
            return
        # moto 5.2.5 drops SendTaskFailure's cause (a canary test watches it): the step's timeline carries it.
        op = self.store.get_operation(op_id)
        rec = op.step(step) if op else None
        if rec is not None and rec.status is StepStatus.RUNNING:
            failed = replace(rec, status=StepStatus.FAILED, error=outcome.message[:1000], ended_at=self.clock())
            self.store.record_step(op_id, failed)
        self.sender.failure(token, outcome.error, outcome.message)
