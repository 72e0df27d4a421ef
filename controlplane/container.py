"""Composition root: builds the adapters once per process from Settings and hands them to entry points."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlplane.aws.clients import client
from controlplane.aws.notify import SnsNotifier
from controlplane.aws.platform import Clients, Platform
from controlplane.aws.sfn import StepFunctionsExecutor, TaskTokens
from controlplane.domain.model import OpKind
from controlplane.ports import Clock, Store
from controlplane.service import ControlService
from controlplane.settings import Settings
from controlplane.steps import Deps
from controlplane.store.dynamodb import DynamoStore
from controlplane.waits import Waits


class LazyExecutor:
    """Finds the account (STS) on first use when STATE_MACHINE_PREFIX is not configured."""

    def __init__(self, settings: Settings, sfn: Any, sts: Any) -> None:
        self._settings, self._sfn, self._sts = settings, sfn, sts
        self._inner: StepFunctionsExecutor | None = None

    def _get(self) -> StepFunctionsExecutor:
        if self._inner is None:
            prefix = self._settings.state_machine_prefix
            if not prefix:
                prefix = self._settings.state_machine_prefix_for(self._sts.get_caller_identity()["Account"])
            self._inner = StepFunctionsExecutor(self._sfn, prefix)
        return self._inner

    def start(self, kind: OpKind, name: str, payload: dict[str, Any]) -> str:
        return self._get().start(kind, name, payload)

    def status(self, execution_arn: str) -> str | None:
        return self._get().status(execution_arn)

    def stop(self, execution_arn: str, cause: str) -> None:
        self._get().stop(execution_arn, cause)

    def start_batch(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        return self._get().start_batch(machine, name, payload)


@dataclass
class Container:
    settings: Settings
    store: Store
    platform: Platform
    service: ControlService
    deps: Deps
    waits: Waits


def build(
    settings: Settings | None = None,
    clock: Clock = time.time,
    wrap: Callable[[str, Any], Any] | None = None,
) -> Container:
    """Wire the adapters. ``wrap(service, client)`` may decorate each boto3 client (tests inject faults)."""
    s = settings or Settings.from_env()

    def c(name: str) -> Any:
        made = client(name, region=s.region)
        return wrap(name, made) if wrap else made

    clients = Clients(
        ecs=c("ecs"),
        ecr=c("ecr"),
        codebuild=c("codebuild"),
        logs=c("logs"),
        elbv2=c("elbv2"),
        autoscaling=c("application-autoscaling"),
        ssm=c("ssm"),
        ec2=c("ec2"),
        dynamodb=c("dynamodb"),
        tagging=c("resourcegroupstaggingapi"),
    )
    store = DynamoStore(clients.dynamodb, s.registry_table)
    platform = Platform(clients, s.contract_prefix)
    sfn = c("stepfunctions")
    executor = LazyExecutor(s, sfn, c("sts"))
    notifier = SnsNotifier(c("sns"), c("sts"), s.region)
    service = ControlService(
        store,
        executor,
        s,
        clock,
        inventory=lambda name: platform.inventory(platform.read_contract(name)),
        notifier=notifier,
    )
    waits = Waits(store, TaskTokens(sfn), clock)
    deps = Deps(store, platform, clock, on_released=service.start_pending_push, waits=waits, notifier=notifier)
    return Container(settings=s, store=store, platform=platform, service=service, deps=deps, waits=waits)


_lock = threading.Lock()
_current: Container | None = None


def current() -> Container:
    global _current
    with _lock:
        if _current is None:
            _current = build()
        return _current


def reset(container: Container | None = None) -> None:
    """Drop (or replace) the process's container; used when settings change (tests, the sandbox)."""
    global _current
    with _lock:
        _current = container
