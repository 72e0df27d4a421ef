"""Fakes: a fault-injecting client wrapper and an in-memory executor."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from botocore.exceptions import ClientError

from controlplane.domain.model import OpKind


def client_error(code: str, status: int = 400, operation: str = "Operation") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"injected {code}"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class Faults:
    """Plan failures per (service, method): each call pops the next planned outcome (an exception or None)."""

    def __init__(self) -> None:
        self.plan: dict[tuple[str, str], list[BaseException | None]] = defaultdict(list)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)

    def fail(self, service: str, method: str, *outcomes: BaseException | None) -> None:
        self.plan[(service, method)].extend(outcomes)

    def always(self, service: str, method: str, error: BaseException, times: int = 100) -> None:
        self.fail(service, method, *([error] * times))

    def wrap(self, service: str, client: Any) -> Any:
        return FaultyClient(service, client, self)


class FaultyClient:
    def __init__(self, service: str, inner: Any, faults: Faults) -> None:
        self._service, self._inner, self._faults = service, inner, faults

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("get_paginator") or name == "meta":
            return attr
        key = (self._service, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._faults.calls[key] += 1
            planned = self._faults.plan.get(key)
            if planned:
                outcome = planned.pop(0)
                if outcome is not None:
                    raise outcome
            return attr(*args, **kwargs)

        return call


class Clock:
    """A settable clock (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeExecutor:
    """Records starts; statuses are set by the test."""

    def __init__(self) -> None:
        self.started: list[tuple[OpKind, str, dict[str, Any]]] = []
        self.batches: list[tuple[str, str, dict[str, Any]]] = []
        self.statuses: dict[str, str] = {}
        self.stopped: list[str] = []
        self.fail_start: BaseException | None = None

    def start(self, kind: OpKind, name: str, payload: dict[str, Any]) -> str:
        if self.fail_start is not None:
            raise self.fail_start
        arn = f"arn:aws:states:us-east-1:123456789012:execution:cart-controlplane-test-{kind.value}:{name}"
        self.started.append((kind, name, payload))
        self.statuses[arn] = "RUNNING"
        return arn

    def start_batch(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        if self.fail_start is not None:
            raise self.fail_start
        arn = f"arn:aws:states:us-east-1:123456789012:execution:cart-controlplane-test-{machine}:{name}"
        self.batches.append((machine, name, payload))
        self.statuses[arn] = "RUNNING"
        return arn

    def status(self, execution_arn: str) -> str | None:
        return self.statuses.get(execution_arn)

    def stop(self, execution_arn: str, cause: str) -> None:
        self.stopped.append(execution_arn)
        self.statuses[execution_arn] = "ABORTED"
