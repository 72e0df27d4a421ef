"""cartctl's live view in a real terminal (tmux) against the sandbox, with a rollout the emulation makes last 3 s:
the screen is read mid-run and at the end, for a deploy that succeeds and for one that ECS rolls back.

With CARTCTL_UPDATE_DOCS=1 the mid-run capture and the failure summary are written to docs/cli-live-view.txt
(the README shows them); otherwise to the test's tmp dir."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.sandbox.client import ApiClient
from controlplane.sandbox.server import Sandbox
from tests.cli.test_terminal import Pane, exit_code
from tests.integration.inprocess import running_sandbox
from tests.integration.test_cartctl_sandbox import operator_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"),
]
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cli-live-view.txt"
DESIRED = 3


def wait_op(api: ApiClient, op_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, op = api.get(f"/operations/{op_id}")
        if op["status"] != "RUNNING":
            return dict(op)
        time.sleep(0.2)
    raise AssertionError(f"{op_id} still running")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """dev provisioned to run 3 tasks, with images v1.4.2 and broken-1 built."""
    with running_sandbox(deploy_seconds=3.0, build_seconds=0.5, drain_seconds=0.5) as box:
        api = ApiClient(box.api_endpoint)
        assert api.put("/environments/dev", {"desired_count": DESIRED})[0] == 200
        for path, body in (
            ("provision", {}),
            ("builds", {"source_version": "v1.4.2"}),
            ("builds", {"source_version": "broken-1"}),
        ):
            status, op = api.post(f"/environments/dev/{path}", body)
            assert status == 202, op
            assert wait_op(api, op["id"])["status"] == "SUCCEEDED"
        yield box


@pytest.fixture
def terminal(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    """``cartctl ARGS`` in a tmux server of its own (110x40), as an operator's shell runs it; EXIT=<code> at the end."""
    socket = f"cartctl-sandbox-{uuid.uuid4().hex[:8]}"
    started: list[Pane] = []

    def start(*args: str) -> Pane:
        env = {**operator_env(sandbox.api_endpoint), "TERM": "xterm-256color", "CARTCTL_POLL_INTERVAL": "0.5"}
        for inherited in ("NO_COLOR", "COLUMNS", "LINES"):  # the pane's own size and colours, as in a shell
            env.pop(inherited, None)
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if k.isidentifier())
        command = shlex.join([sys.executable, "-m", "controlplane.cli", *args])
        script = tmp_path / f"run-{len(started)}.sh"
        # tmux hands a new pane the environment of whoever started its server (COLUMNS too): the pane's own size
        script.write_text(
            f"{exports}unset COLUMNS LINES\ncd {shlex.quote(str(ROOT))}\n{command}\necho EXIT=$?\nsleep 300\n"
        )
        pane = Pane(socket, f"cartctl-{len(started)}")
        pane.tmux("new-session", "-d", "-s", pane.session, "-x", "110", "-y", "40", f"bash {shlex.quote(str(script))}")
        started.append(pane)
        return pane

    yield start
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def keep(name: str, screen: str, tmp_path: Path, captures: dict[str, str]) -> None:
    captures[name] = "\n".join(line.rstrip() for line in screen.rstrip().splitlines())
    (tmp_path / f"{name}.txt").write_text(captures[name] + "\n")


@pytest.fixture(scope="module")
def captures() -> Iterator[dict[str, str]]:
    shown: dict[str, str] = {}
    yield shown
    if os.environ.get("CARTCTL_UPDATE_DOCS") == "1" and {"mid-run", "failure"} <= set(shown):
        DOC.write_text(
            "cartctl in a terminal against the sandbox (python -m controlplane sandbox --deploy-seconds 3),\n"
            "captured with tmux capture-pane by tests/integration/test_cartctl_live_view.py.\n\n"
            "$ cartctl deploy dev --tag v1.4.2 --wait        (mid-run: the live view)\n\n"
            f"{shown['mid-run']}\n\n"
            "$ cartctl deploy dev --tag broken-1 --wait      (the end: the failure summary; exit code 10)\n\n"
            f"{shown['failure']}\n"
        )


def test_deploy_wait_draws_the_live_view_then_the_summary_and_gantt(
    terminal: Callable[..., Pane], tmp_path: Path, captures: dict[str, str]
) -> None:
    # GIVEN dev runs 3 tasks WHEN a deploy is followed in a terminal
    pane = terminal("deploy", "dev", "--tag", "v1.4.2", "--wait")
    # THEN mid-run: the header, the rollout step running with its elapsed time, the ECS task counts
    live = pane.wait_for(lambda s: re.search(r"rollout\s+RUNNING\s+[1-9]\.\ds", s) is not None and "pending" in s)
    keep("mid-run", live, tmp_path, captures)
    assert re.search(r"deploy dev  deploy_dev_\S+  RUNNING  \d+\.\ds", live), live
    assert re.search(r"step\s+state\s+elapsed", live)
    assert re.search(rf"rollout\s+IN_PROGRESS\s+running [0-3]/{DESIRED}  pending [0-3]  failed 0", live), live
    assert "cart-service-dev:" in live and "Ctrl-C: cancel the operation or stop following" in live
    assert exit_code(live) is None
    # THEN at the end: the summary replaced the live view, with the Gantt of the steps; exit 0
    end = pane.wait_for(lambda s: exit_code(s) is not None)
    keep("success", end, tmp_path, captures)
    assert exit_code(end) == 0, end
    assert re.search(r"Status\s+SUCCEEDED  after \d+\.\ds", end)
    assert re.search(rf"Rollout\s+\S+\s+running [0-3]/{DESIRED}  pending [0-3]  failed 0", end)
    gantt = [line for line in end.splitlines() if "│" in line]
    assert [line.split()[1] for line in gantt] == ["rollout", "finish"]
    assert "█" in gantt[0] and re.search(r"└─+", end) and re.search(r"^\s+0s\s+.*\d\.\ds\s*$", end, re.M)
    assert "Ctrl-C" not in end


def test_a_rolled_back_deploy_ends_on_the_failure_summary(
    terminal: Callable[..., Pane], tmp_path: Path, captures: dict[str, str]
) -> None:
    # GIVEN v1.4.2 serves (the test before) WHEN broken-1 is deployed and followed
    pane = terminal("deploy", "dev", "--tag", "broken-1", "--wait")
    pane.wait_for(lambda s: re.search(r"rollout\s+RUNNING", s) is not None)
    end = pane.wait_for(lambda s: exit_code(s) is not None)
    keep("failure", end, tmp_path, captures)
    # THEN exit 10 on a summary naming the revision served again and why the tasks stopped
    assert exit_code(end) == 10, end
    flat = " ".join(end.split())
    assert "Status FAILED" in flat and "Error rollout DeploymentFailed" in flat
    assert re.search(r"Rolled back to cart-service-dev:(\d+) \(revision \1\)", flat)
    assert "exit 1 Essential container in task exited" in flat
    assert [line.split()[1] for line in end.splitlines() if "│" in line] == ["rollout"]
