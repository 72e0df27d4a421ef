"""Test harness: fake credentials, no request ever leaves the machine, and the moto world fixture."""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REGION = "eu-central-1"

# Fake credentials and region before anything imports boto3; the real AWS is never reachable from a test.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
# Nothing of the caller's shell shapes a test: pytest-xdist's workers get COLUMNS=80, which cartctl honours.
for leaked in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "COLUMNS", "LINES"):
    os.environ.pop(leaked, None)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkGuardError(AssertionError):
    pass


def _allowed(address: Any) -> bool:
    if not isinstance(address, tuple):  # unix sockets
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _allowed(address):
        raise NetworkGuardError(f"a test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _allowed(address):
        raise NetworkGuardError(f"a test tried to reach {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


SPLIT_FILES = (  # each test its own scope: these apply copies of the roots, each against its own moto server
    "tests/terraform/test_integration.py",  # its two applies are its first tests, so they start on two workers
)
SERIAL_DIRS = (  # the first prefix a test's id starts with is its scope
    *SPLIT_FILES,  # the longest units, first
    "tests/terraform/",  # in-tree Terraform roots and one run of each test file: one worker runs them in order
    "tests/integration/hostile/",  # one session-scoped sandbox: another module's sandbox in between would reset
    # moto's in-process backends under it
)


def _serial_scope(nodeid: str) -> str | None:
    return next((d for d in SERIAL_DIRS if nodeid.startswith(d)), None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The serial scopes first, in SERIAL_DIRS's order: their long units start at once, each on a worker of its
    own, and the modules fill in around them."""
    order = {d: i for i, d in enumerate(SERIAL_DIRS)}
    items.sort(key=lambda item: order.get(_serial_scope(item.nodeid) or "", len(SERIAL_DIRS)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``make test`` runs on xdist workers (``JOBS``): a module's tests go to one of them, those under each of
    SERIAL_DIRS all to the same one, and each test of SPLIT_FILES to one of its own.

    (xdist's own ``xdist_group`` mark does not reach the scheduler under pytest 9, which no longer reads the
    ``_nodeid`` that xdist rewrites, so the grouping is declared here, on xdist's scheduler hook.)"""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # xdist would order scopes by their number of tests: keep ours

    class SerialDirs(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:  # a module's tests stay together and in order (some build on
            # the state the one before left, as test_cartctl_sandbox.py's do)
            if nodeid.startswith(SPLIT_FILES):
                return nodeid
            return _serial_scope(nodeid) or nodeid.split("::", 1)[0]

    return SerialDirs(config, log)


@dataclass
class MotoWorld:
    """A seeded, in-process AWS (moto with real ASL execution and the sandbox's emulation)."""

    world: Any
    emulator: Any
    container: Any
    router: Any = None

    @property
    def api(self) -> Any:
        return self.container.api

    @property
    def registry(self) -> Any:
        return self.container.registry

    def env(self, name: str = "dev") -> Any:
        return self.container.environments.get(name)

    def client(self, name: str) -> Any:
        from controlplane.aws import clients

        return clients.client(name, region=REGION)

    def wait(self, op_id: str, timeout: float = 60.0) -> Any:
        deadline = time.time() + timeout
        while time.time() < deadline:
            op = self.container.operations.get(op_id)
            if op.status.value != "RUNNING":
                return op
            time.sleep(0.05)
        raise AssertionError(f"operation {op_id} still running after {timeout}s")

    def start(self, kind: str, env: str = "dev", body: Any = None, key: str | None = None) -> Any:
        from controlplane.domain.model import OpKind

        op, _ = self.api.submit(OpKind(kind), env, body if body is not None else {}, key)
        return op

    def run(self, kind: str, env: str = "dev", body: Any = None, key: str | None = None) -> Any:
        return self.wait(self.start(kind, env, body, key).id)

    def build_image(self, tag: str, env: str = "dev") -> str:
        """An image tagged ``tag`` in the environment's repository (built by a build operation); its digest."""
        op = self.run("build", env, {"source_version": tag})
        assert op.status.value == "SUCCEEDED", op.error
        return str(op.result["image_digest"])

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError("condition not met in time")

    def service_description(self, env: str = "dev") -> dict[str, Any]:
        (svc,) = self.client("ecs").describe_services(cluster=f"ecommerce-{env}", services=[f"cart-service-{env}"])[
            "services"
        ]
        return dict(svc)


def make_world(
    environments: dict[str, str], build: Callable[..., Any] | None = None, events: bool = True
) -> Iterator[MotoWorld]:
    """As the sandbox runs: the emulation ticks on its own and AWS-shaped events (ECR pushes, ECS deployment and
    CodeBuild state changes) reach the app's handlers; the deploy and build waits need them."""
    from moto import mock_aws

    from controlplane import container
    from controlplane.aws import clients
    from controlplane.sandbox import emulation, seed
    from controlplane.sandbox.events import EventRouter

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        emulator = emulation.install(emulation.Emulator(deploy_seconds=0, build_seconds=0, drain_seconds=0))
        world = seed.seed_all(lambda s: clients.client(s, region=REGION), REGION, environments=environments)
        saved = dict(os.environ)
        os.environ.update(world.env_vars)
        box = (build or container.build)()
        container.reset(box)
        box.environments.discover()
        emulator.start_ticker(interval=0.05)
        router = None
        if events:
            make = lambda s: clients.client(s, region=REGION)  # noqa: E731
            router = EventRouter(make, world.function_prefix, world.account, REGION)
            emulator.listeners.append(router.on_emulated)
        try:
            yield MotoWorld(world=world, emulator=emulator, container=box, router=router)
        finally:
            emulator.stop_ticker()
            if router is not None:
                router.wait_idle(timeout=30)
                emulator.listeners.remove(router.on_emulated)
                router.stop()
            container.reset()
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture
def aws() -> Iterator[MotoWorld]:
    """dev only: the fast default."""
    yield from make_world({"dev": "dev"})


@pytest.fixture
def aws_events() -> Iterator[MotoWorld]:
    """dev only, with the sandbox's EventBridge delivering events to the app's handlers."""
    yield from make_world({"dev": "dev"}, events=True)


@pytest.fixture
def aws_all() -> Iterator[MotoWorld]:
    """dev, staging and prod."""
    yield from make_world({"dev": "dev", "staging": "staging", "prod": "prod"})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Figures a test recorded (``record_property("figures", ...)``: the schemathesis and fuzz runs' counts and
    results), printed at the end of the run; they travel in the test's report, so xdist's workers' reach it too."""
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", "") == "call"
        for key, value in getattr(report, "user_properties", [])
        if key == "figures"
    ]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
