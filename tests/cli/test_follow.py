"""The follow loop with a stub client: polls until the end, rides out failing polls, and what Ctrl-C does."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

from controlplane.cli.api import Reply
from controlplane.cli.errors import Rejected, ServerError, Unreachable
from controlplane.cli.exitcodes import ExitCode
from controlplane.cli.follow import Follower
from tests.cli.conftest import load_fixture

RUNNING = load_fixture("deploy-running.json")
OP_ID = RUNNING["id"]


class StubClient:
    """Answers GET /operations/{id} from a script of operations or exceptions; records the calls."""

    def __init__(self, script: list[Any], cancelled: dict[str, Any] | None = None) -> None:
        self.script = list(script)
        self.cancelled = cancelled
        self.calls: list[tuple[str, str, Any]] = []
        self.clock_offset = 0.0

    def get(self, path: str, **query: Any) -> Any:
        self.calls.append(("GET", path, None))
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, BaseException):
            raise item
        return item

    def request(self, method: str, path: str, *, body: Any = None, **_: Any) -> Reply:
        self.calls.append((method, path, body))
        if isinstance(self.cancelled, BaseException):
            raise self.cancelled
        return Reply(202, self.cancelled or RUNNING)


def with_status(status: str, **extra: Any) -> dict[str, Any]:
    op = dict(RUNNING, status=status, ended_at="2026-11-28T01:43:33.400Z", **extra)
    op.pop("progress", None)
    return op


def follower(client: StubClient, *, interactive: bool, confirm: Callable[[str], bool] | None = None) -> Follower:
    notices: list[str] = []
    f = Follower(
        client,  # type: ignore[arg-type]
        Console(file=io.StringIO(), width=100),
        live=False,
        interactive=interactive,
        confirm=confirm or (lambda q: pytest.fail(f"asked {q!r}")),
        notice=notices.append,
        interval=0.0,
        patience=5.0,
    )
    f.notices = notices  # type: ignore[attr-defined]
    return f


def test_polls_until_the_operation_ends_and_keeps_the_last_rollout_seen() -> None:
    client = StubClient([RUNNING, RUNNING, with_status("SUCCEEDED")])
    result = follower(client, interactive=False).follow(OP_ID)
    assert result.exit_code is ExitCode.OK and result.op["status"] == "SUCCEEDED"
    assert result.last_progress == RUNNING["progress"]
    assert [c[1] for c in client.calls] == [f"/operations/{OP_ID}"] * 3


@pytest.mark.parametrize(
    ("status", "code"),
    [("FAILED", ExitCode.FAILED), ("ABORTED", ExitCode.ABORTED), ("TIMED_OUT", ExitCode.TIMED_OUT)],
)
def test_the_exit_code_is_the_final_status(status: str, code: ExitCode) -> None:
    assert follower(StubClient([RUNNING, with_status(status)]), interactive=False).follow(OP_ID).exit_code is code


def test_failing_polls_are_ridden_out_until_patience_ends() -> None:
    flaky = StubClient([RUNNING, Unreachable("down"), ServerError("503"), with_status("SUCCEEDED")])
    assert follower(flaky, interactive=False).follow(OP_ID).exit_code is ExitCode.OK
    down = StubClient([RUNNING, Unreachable("down for good")])
    f = follower(down, interactive=False)
    f.patience = 0.0
    with pytest.raises(Unreachable):
        f.follow(OP_ID)


def test_ctrl_c_without_a_terminal_stops_following_and_leaves_the_operation_running() -> None:
    client = StubClient([RUNNING, KeyboardInterrupt()])
    f = follower(client, interactive=False)
    result = f.follow(OP_ID)
    assert result.exit_code is ExitCode.DETACHED
    assert not [c for c in client.calls if c[0] == "POST"]
    assert "still running" in f.notices[-1] and f"cartctl follow {OP_ID}" in f.notices[-1]  # type: ignore[attr-defined]


def test_ctrl_c_then_yes_cancels_and_keeps_following_to_the_end() -> None:
    asked: list[str] = []
    client = StubClient([RUNNING, KeyboardInterrupt(), RUNNING, with_status("ABORTED")], cancelled=RUNNING)
    f = follower(client, interactive=True, confirm=lambda q: asked.append(q) or True)
    result = f.follow(OP_ID)
    assert asked == [f"Cancel operation {OP_ID}?"]
    assert ("POST", f"/operations/{OP_ID}/cancel", {"rollout": "rollback"}) in client.calls
    assert result.exit_code is ExitCode.ABORTED


def test_ctrl_c_then_no_or_a_second_ctrl_c_detaches() -> None:
    for answer in (lambda q: False, _raise_interrupt):
        client = StubClient([RUNNING, KeyboardInterrupt()])
        result = follower(client, interactive=True, confirm=answer).follow(OP_ID)
        assert result.exit_code is ExitCode.DETACHED
        assert not [c for c in client.calls if c[0] == "POST"]


def test_ctrl_c_after_the_cancel_was_sent_just_stops_following() -> None:
    client = StubClient([RUNNING, KeyboardInterrupt(), RUNNING, KeyboardInterrupt()], cancelled=RUNNING)
    result = follower(client, interactive=True, confirm=lambda q: True).follow(OP_ID)
    assert result.exit_code is ExitCode.DETACHED
    assert len([c for c in client.calls if c[0] == "POST"]) == 1


def test_a_refused_cancel_is_reported_and_following_goes_on() -> None:
    refused = Rejected(409, "Conflict", "operation already ended (SUCCEEDED)")
    client = StubClient([RUNNING, KeyboardInterrupt(), with_status("SUCCEEDED")], cancelled=refused)  # type: ignore[arg-type]
    f = follower(client, interactive=True, confirm=lambda q: True)
    assert f.follow(OP_ID).exit_code is ExitCode.OK
    assert any("cancel was refused" in n for n in f.notices)  # type: ignore[attr-defined]


def _raise_interrupt(question: str) -> bool:
    raise KeyboardInterrupt
