"""A sandbox started in this test process on free loopback ports, and put away again: a fresh emulated AWS each
time, the process's environment variables and the app's container as they were before."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from controlplane.sandbox.server import Sandbox


def _reset_emulated_aws() -> None:
    from moto.moto_api._internal import moto_api_backend

    moto_api_backend.reset()


@contextmanager
def running_sandbox(**options: Any) -> Iterator[Sandbox]:
    """``Sandbox(**options)`` on free ports (no reconcile timer unless asked), started and stopped."""
    from controlplane import container

    saved = dict(os.environ)
    _reset_emulated_aws()
    box = Sandbox(aws_port=0, api_port=0, **{"reconcile_seconds": 0.0, **options})
    box.start()
    try:
        yield box
    finally:
        box.stop()
        container.reset()
        _reset_emulated_aws()
        os.environ.clear()
        os.environ.update(saved)


def wait_until_idle(box: Sandbox, timeout: float = 60.0) -> None:
    """Until no operation runs on any environment the sandbox knows."""
    import json
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{box.api_endpoint}/environments?limit=200", timeout=10) as resp:
            envs = json.loads(resp.read())["environments"]
        if not any(e["locked_by"] for e in envs):
            return
        time.sleep(0.2)
    raise AssertionError(f"operations still running after {timeout}s")
