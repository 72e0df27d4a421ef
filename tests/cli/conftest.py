"""Fixtures for cartctl's tests: the control API to talk to (the scripted fake, or a real endpoint), and runners.

``CARTCTL_TEST_ENDPOINT=http://127.0.0.1:8000`` points the behaviour tests at a real control API (the sandbox);
the tests that script the fake (403s, injected failures, timeouts) are skipped then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.cli.fakeapi import FakeControlApi

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
POLL = "0.1"


@dataclass
class ControlApi:
    url: str
    fake: FakeControlApi | None  # None: a real endpoint


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def text(self) -> str:
        """stdout with runs of whitespace as one space (rich pads and wraps)."""
        return " ".join(self.stdout.split())


@pytest.fixture
def control_api() -> Iterator[ControlApi]:
    real = os.environ.get("CARTCTL_TEST_ENDPOINT")
    if real:
        yield ControlApi(real, None)
        return
    fake = FakeControlApi().start()
    try:
        yield ControlApi(fake.url, fake)
    finally:
        fake.stop()


@pytest.fixture
def fake(control_api: ControlApi) -> FakeControlApi:
    if control_api.fake is None:
        pytest.skip("scripts the fake control API; CARTCTL_TEST_ENDPOINT points at a real one")
    return control_api.fake


def cli_env(url: str, **extra: str) -> dict[str, str]:
    env = {
        "CARTCTL_ENDPOINT": url,
        "CARTCTL_POLL_INTERVAL": POLL,
        "TZ": "UTC",
        "NO_COLOR": "1",
    }
    env.update(extra)
    return env


@pytest.fixture
def cartctl(control_api: ControlApi) -> Any:
    """Run cartctl in-process (click's runner: stdout and stderr apart, neither a terminal)."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Ran:
        runner = CliRunner()
        from controlplane.cli import cli

        result = runner.invoke(
            cli, list(args), env=cli_env(control_api.url, **(env or {})), input=input, prog_name="cartctl"
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run


def subprocess_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARTCTL_")}
    env.update(cli_env(url, **extra))
    env["PYTHONPATH"] = str(ROOT)
    return env


def cartctl_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "controlplane.cli", *args]


@pytest.fixture
def cartctl_process(control_api: ControlApi) -> Any:
    """Run cartctl as a process (python -m controlplane.cli), to see real exit codes and streams."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Ran:
        done = subprocess.run(
            cartctl_argv(*args),
            env=subprocess_env(control_api.url, **(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    return run


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data
