"""The live view in a real terminal: cartctl runs inside tmux, and the screen is read with capture-pane mid-run
and at the end; Ctrl-C is sent as keys and the prompt answered. Needs tmux (Debian: apt-get install tmux)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, ControlApi, subprocess_env
from tests.cli.fakeapi import FakeControlApi

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed: the live-view tests need a real terminal (CI can apt-get install tmux)",
    ),
]


@dataclass
class Pane:
    socket: str
    session: str

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait_for(self, ready: Callable[[str], bool], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"the screen never got there; it shows:\n{screen}")


@pytest.fixture
def terminal(control_api: ControlApi, tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    """Start ``cartctl ARGS`` in a new tmux server of its own (120x50); it prints EXIT=<code> when done."""
    socket = f"cartctl-test-{uuid.uuid4().hex[:8]}"

    def start(*args: str) -> Pane:
        env = subprocess_env(control_api.url, TERM="xterm-256color", COLUMNS="", LINES="")
        env.pop("NO_COLOR", None)
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if k.isidentifier())
        command = shlex.join([sys.executable, "-m", "controlplane.cli", *args])
        script = tmp_path / "run.sh"
        script.write_text(f"{exports}cd {shlex.quote(str(ROOT))}\n{command}\necho EXIT=$?\nsleep 300\n")
        pane = Pane(socket, "cartctl")
        pane.tmux("new-session", "-d", "-s", pane.session, "-x", "120", "-y", "50", f"bash {shlex.quote(str(script))}")
        return pane

    yield start
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def exit_code(screen: str) -> int | None:
    found = re.search(r"^EXIT=(\d+)", screen, re.M)
    return int(found.group(1)) if found else None


def test_deploy_wait_draws_the_live_view_then_the_summary_and_gantt(
    terminal: Callable[..., Pane], fake: FakeControlApi, tmp_path: Path
) -> None:
    fake.speed = 0.6  # a rollout of 4.2 s
    pane = terminal("deploy", "dev", "--tag", "v1.4.2", "--wait")
    live = pane.wait_for(lambda s: re.search(r"rollout\s+RUNNING", s) is not None and "running" in s)
    (tmp_path / "live.txt").write_text(live)
    assert re.search(r"deploy dev  deploy_dev_\S+  RUNNING  \d+\.\ds", live)
    assert re.search(r"rollout\s+RUNNING\s+\d+\.\ds", live)
    assert re.search(r"rollout\s+IN_PROGRESS\s+running [0-2]/2  pending [0-2]  failed 0", live)
    assert "Ctrl-C: cancel the operation or stop following" in live
    assert "EXIT=" not in live
    end = pane.wait_for(lambda s: exit_code(s) is not None)
    (tmp_path / "end.txt").write_text(end)
    assert exit_code(end) == 0
    assert re.search(r"Status\s+SUCCEEDED  after \d+\.\ds", end)
    assert re.search(r"Rollout\s+IN_PROGRESS\s+running 2/2  pending 0  failed 0", end)
    gantt = [line for line in end.splitlines() if "│" in line]
    assert [line.split()[1] for line in gantt] == ["rollout", "finish"]
    assert all("█" in line for line in gantt)
    assert re.search(r"└─+", end) and re.search(r"^\s+0s\s+.*\d\.\ds\s*$", end, re.M)
    assert "Ctrl-C" not in end  # the live view is gone; the summary replaced it


def test_ctrl_c_then_y_cancels_the_operation(terminal: Callable[..., Pane], fake: FakeControlApi) -> None:
    fake.speed = 1.5  # a rollout of 10.5 s: time to press keys
    pane = terminal("deploy", "dev", "--wait")
    pane.wait_for(lambda s: re.search(r"rollout\s+RUNNING", s) is not None)
    pane.keys("C-c")
    prompt = pane.wait_for(lambda s: "Cancel operation" in s)
    op_id = re.search(r"Cancel operation (\S+)\? \[y/N\]", prompt)
    assert op_id, prompt
    assert not fake.calls("POST", r"/operations/.*/cancel")
    pane.keys("y", "Enter")
    end = pane.wait_for(lambda s: exit_code(s) is not None)
    cancels = fake.calls("POST", f"/operations/{op_id.group(1)}/cancel")
    assert len(cancels) == 1 and cancels[0]["body"] == {"rollout": "rollback"}
    assert exit_code(end) == 11
    assert "Cancel requested for" in end and re.search(r"Status\s+ABORTED", end)
    assert re.search(r"Cancel\s+requested .* rollout rollback", end)


@pytest.mark.parametrize("answer", [("n", "Enter"), ("C-c",)], ids=["n", "second-ctrl-c"])
def test_ctrl_c_then_n_or_a_second_ctrl_c_leaves_the_operation_running(
    terminal: Callable[..., Pane], fake: FakeControlApi, answer: tuple[str, ...]
) -> None:
    fake.speed = 1.5
    pane = terminal("deploy", "dev", "--wait")
    pane.wait_for(lambda s: re.search(r"rollout\s+RUNNING", s) is not None)
    pane.keys("C-c")
    pane.wait_for(lambda s: "Cancel operation" in s)
    pane.keys(*answer)
    end = pane.wait_for(lambda s: exit_code(s) is not None)
    assert exit_code(end) == 130
    assert "is still running; follow it again with: cartctl follow" in " ".join(end.split())
    assert not fake.calls("POST", r"/operations/.*/cancel")
    assert fake.running("dev") is not None
