"""Composition root: builds the adapters once per process from Settings and hands them to the entry points."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlplane.aws.clients import client
from controlplane.aws.notify import SnsNotifier
from controlplane.aws.platform import AwsPlatform, Clients
from controlplane.aws.sfn import StepFunctionsExecutor, TaskTokens
from controlplane.environments import Environments
from controlplane.operations import Operations
from controlplane.ports import Clock, Platform, Registry
from controlplane.pushes import Pushes
from controlplane.schedules import Schedules
from controlplane.service import ControlApi
from controlplane.settings import Settings
from controlplane.steps import Deps
from controlplane.store.dynamodb import DynamoRegistry
from controlplane.waits import Waits


@dataclass
class Container:
    settings: Settings
    registry: Registry
    platform: Platform
    operations: Operations
    environments: Environments
    pushes: Pushes
    schedules: Schedules
    waits: Waits
    deps: Deps
    api: ControlApi


def wire(
    settings: Settings,
    registry: Registry,
    platform: Platform,
    executor: Any,
    sender: Any,
    clock: Clock = time.time,
    notifier: Any = None,
) -> Container:
    """Wire the use cases onto any adapters (AWS ones in ``build``; fakes in the unit tests)."""
    waits = Waits(registry, sender, clock)
    operations = Operations(registry, executor, platform, settings, waits, clock, notifier)
    pushes = Pushes(registry, operations)
    operations.after_release = pushes.start_pending
    environments = Environments(registry, platform, clock)
    schedules = Schedules(registry, operations, environments, settings, clock, notifier)
    deps = Deps(registry, platform, operations, waits, clock)
    api = ControlApi(registry, platform, operations, environments)
    return Container(settings, registry, platform, operations, environments, pushes, schedules, waits, deps, api)


def build(
    settings: Settings | None = None,
    clock: Clock = time.time,
    wrap: Callable[[str, Any], Any] | None = None,
) -> Container:
    """Wire the AWS adapters. ``wrap(service, client)`` may decorate each boto3 client (tests inject faults)."""
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
    sfn, sts = c("stepfunctions"), c("sts")
    account: list[str] = []
    lock = threading.Lock()

    def prefix() -> str:
        if s.state_machine_prefix:
            return s.state_machine_prefix
        with lock:
            if not account:
                account.append(str(sts.get_caller_identity()["Account"]))
        return s.state_machine_prefix_for(account[0])

    return wire(
        s,
        DynamoRegistry(clients.dynamodb, s.registry_table),
        AwsPlatform(clients, s.contract_prefix, s.environments),
        StepFunctionsExecutor(sfn, prefix),
        TaskTokens(sfn),
        clock,
        SnsNotifier(c("sns"), sts, s.region),
    )


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
