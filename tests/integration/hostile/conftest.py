"""One sandbox for the hostile tests, started in-process on free ports with short emulated rollouts. Each test
works on environments of its own (``Hostile.new_env``), so the tests do not share state beyond the sandbox. The
periodic reconcile is off: what the registry says after an operation is what that operation's end recorded
(the tests that need a reconcile fire it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from controlplane.sandbox.client import ApiClient
from controlplane.sandbox.server import Sandbox
from tests.integration.hostile.harness import Hostile


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Chalice local warns once per route that it cannot enforce IAM auth (the sandbox's banner says so)
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported"))


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    saved = dict(os.environ)
    box = Sandbox(
        aws_port=0,
        api_port=0,
        deploy_seconds=0.3,
        build_seconds=0.2,
        drain_seconds=0.1,
        wait_interval=1,
        reconcile_seconds=0,
    )
    box.start()
    try:
        yield box
    finally:
        box.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def h(sandbox: Sandbox) -> Hostile:
    return Hostile(sandbox, ApiClient(sandbox.api_endpoint, timeout=60))
