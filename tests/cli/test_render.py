"""Rendering from recorded operation JSON: the summary with its error details, the Gantt, the live view, the plain
progress lines, the tables. No network: pure functions of (JSON, now)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from controlplane.cli import render
from controlplane.cli.timefmt import parse_ts
from tests.cli.conftest import load_fixture


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def text_of(renderable: Any, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None, highlight=False)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def ended(op: dict[str, Any], plus: float = 120) -> datetime:
    moment = parse_ts(op["ended_at"] or op["created_at"])
    assert moment is not None
    return moment + timedelta(seconds=plus)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_summary_of_a_circuit_breaker_rollback_names_everything_needed_to_act() -> None:
    # GIVEN a deploy of a broken image, as the sandbox recorded it (ECS rolled back)
    op = load_fixture("deploy-failed-rollback.json")
    details = op["error"]["details"]
    # WHEN summed up THEN the error, the revision rolled back to, the stopped tasks, events and logs are named
    text = text_of(render.summary(op, ended(op)), width=240)
    assert "FAILED  after 3.4s" in text
    assert re.search(r"Error\s+rollout  DeploymentFailed", text)
    assert "ECS deployment circuit breaker: tasks failed to start." in text
    back = details["rolled_back_to"]
    assert f"Rolled back to  cart-service-dev:2 (revision 2)  image {back['image_digest']}" in text
    assert text.count("exit 1  Essential container in task exited") == 3
    assert details["stopped_tasks"][0]["task_id"][:12] in text
    assert "deployment failed: tasks failed to start." in text  # the service events
    assert f"/cart-service/dev/app  {details['logs']['stream']}" in text
    assert "console.aws.amazon.com/cloudwatch/home" in text
    assert re.search(r"Started\s+2026-11-28 03:03:20 UTC \(2 min ago\)  trigger api", text)


def test_summary_of_a_failed_build_shows_the_phase_its_context_and_the_log_link() -> None:
    op = load_fixture("build-failed.json")
    text = flat(text_of(render.summary(op, ended(op))))
    assert "FAILED" in text and "build BuildFailed" in text
    assert "failed in phase BUILD" in text
    assert "COMMAND_EXECUTION_ERROR" in text
    assert "group=/aws/codebuild/cart-service-dev-image" in text.replace(" ", "")


def test_summary_of_aborted_and_timed_out_operations() -> None:
    aborted = load_fixture("deploy-aborted.json")
    text = text_of(render.summary(aborted, ended(aborted)))
    assert "ABORTED  after 4.6s" in text
    assert re.search(r"Cancel\s+requested 2026-11-28 03:03:28 UTC .*rollout rollback", text)
    assert re.search(r"Error\s+-  Cancelled", text) and "rolled back to" in flat(text)
    timed_out = load_fixture("deploy-timed-out.json")
    text = flat(text_of(render.summary(timed_out, ended(timed_out))))
    assert "TIMED_OUT" in text and "rollout WaitTimeout" in text and "did not finish within 1s" in text


def test_summary_shows_the_last_seen_rollout_counts_once_the_operation_ended() -> None:
    op = load_fixture("deploy-succeeded.json")
    last = load_fixture("deploy-running.json")["progress"]
    text = text_of(render.summary(op, ended(op), last_progress=last), width=160)
    assert re.search(r"Rollout\s+IN_PROGRESS\s+running 0/1  pending 1  failed 0 .*\(last seen\)", text)
    assert "Result" in text and "task_definition_arn=" in text


def gantt_rows(op: dict[str, Any], width: int = 80) -> list[str]:
    return [line.plain for line in render.gantt_lines(op, ended(op), width)]


def test_gantt_places_each_step_on_one_time_axis() -> None:
    # GIVEN a cancelled deploy: its rollout, the cancel that rolled it back, the finish
    op = load_fixture("deploy-aborted.json")
    rows = gantt_rows(op, width=80)
    steps = op["steps"]
    assert len(rows) == len(steps) + 2  # a bar per step, the axis, its labels
    bars = rows[: len(steps)]
    assert all(len(row) == len(bars[0]) for row in bars), "every bar row has the same width"
    starts, lengths = [], []
    for row, step in zip(bars, steps, strict=True):
        assert step["name"] in row and row.startswith("✓ " if step["status"] == "SUCCEEDED" else "✗ ")
        track = row.split("│", 1)[1][:-8]
        starts.append(len(track) - len(track.lstrip(" ")))
        lengths.append(track.count("█"))
    assert starts == sorted(starts), "steps start in order along the axis"
    longest = max(range(len(steps)), key=lambda i: steps[i]["duration_seconds"])
    assert lengths.index(max(lengths)) == longest and steps[longest]["name"] == "cancel"
    total = (parse_ts(op["ended_at"]) - parse_ts(op["created_at"])).total_seconds()  # type: ignore[operator]
    assert abs(lengths[longest] / len(track) - steps[longest]["duration_seconds"] / total) < 0.05
    assert rows[-1].strip().startswith("0s") and rows[-1].rstrip().endswith("4.6s")
    assert "3.2s" in bars[longest] and "└" in rows[-2]


def test_gantt_golden_for_a_cancelled_deploy() -> None:
    op = load_fixture("deploy-aborted.json")
    assert "\n".join(gantt_rows(op, width=72)) == "\n".join(
        [
            "✗ rollout │███████████████                                         1.3s",
            "✓ cancel  │               ████████████████████████████████████     3.2s",
            "✓ finish  │                                                   █    0.0s",
            "          └────────────────────────────────────────────────────",
            "           0s         1.1s         2.3s         3.4s       4.6s",
        ]
    )


def test_gantt_of_a_running_operation_runs_to_now() -> None:
    op = load_fixture("deploy-running.json")
    now = parse_ts(op["created_at"]) + timedelta(seconds=4.2)  # type: ignore[operator]
    rows = [line.plain for line in render.gantt_lines(op, now, 80)]
    assert rows[-1].rstrip().endswith("4.2s")
    running = next(r for r in rows if "rollout" in r)
    assert running.startswith("● ") and running.split("│", 1)[1].rstrip().endswith("4.2s")


def test_live_view_shows_steps_states_elapsed_and_the_rollout_counts() -> None:
    op = load_fixture("deploy-running.json")
    now = parse_ts(op["created_at"]) + timedelta(seconds=2.0)  # type: ignore[operator]
    text = text_of(render.LiveView(op, lambda: now, footer="Ctrl-C: cancel"))
    assert f"deploy dev  {op['id']}  RUNNING  2.0s" in text
    assert re.search(r"rollout\s+RUNNING\s+2.0s", text)
    assert re.search(r"rollout\s+IN_PROGRESS\s+running 0/1  pending 1  failed 0", text)
    assert "cart-service-dev:2" in text and "Ctrl-C: cancel" in text


def test_live_view_shows_the_build_phase() -> None:
    op = load_fixture("build-running.json")
    now = parse_ts(op["created_at"]) + timedelta(seconds=1.6)  # type: ignore[operator]
    text = text_of(render.LiveView(op, lambda: now))
    assert re.search(r"build\s+phase BUILD  IN_PROGRESS", text)
    assert re.search(r"build\s+RUNNING\s+1.6s", text)


def test_plain_progress_prints_one_line_per_change() -> None:
    running = load_fixture("deploy-running.json")
    done = load_fixture("deploy-succeeded.json")
    plain = render.PlainProgress()
    now = ended(done, 0)
    first = plain.lines(running, now)
    assert first[0].endswith(f"{running['id']}: deploy dev RUNNING")
    assert any("step rollout RUNNING" in line for line in first)
    assert any("rollout IN_PROGRESS running 0/1 pending 1 failed 0" in line for line in first)
    assert plain.lines(running, now) == []  # nothing changed, nothing printed
    last = plain.lines(done, now)
    assert any("step rollout SUCCEEDED (3.4s)" in line for line in last)
    assert any("step finish SUCCEEDED" in line for line in last)
    assert last[-1].endswith("SUCCEEDED after 3.5s")


def test_environment_tables_and_detail() -> None:
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    env = {
        "name": "dev",
        "tier": "dev",
        "tier_source": "contract",
        "status": "ready",
        "version": 7,
        "settings": {
            "desired_count": None,
            "nightly_teardown": True,
            "deploy_on_push": {
                "match": "exact",
                "pattern": "latest",
                "repository": "cart-service-dev",
                "quiet_seconds": 0,
            },
            "protected": False,
            "notification_topic": "cart-service-dev-notifications",
        },
        "locked_by": None,
        "service": {
            "status": "ACTIVE",
            "task_definition_arn": "arn:aws:ecs:us-east-1:1:task-definition/cart-service-dev:7",
            "image_digest": "sha256:" + "a" * 64,
            "image_tag": "latest",
            "desired_count": 2,
            "running_count": 1,
            "rollout_state": "COMPLETED",
            "observed_at": "2026-11-28T01:59:00Z",
        },
        "intended": None,
        "drift": "ECS runs cart-service-dev:7 but cart-service-dev:8 was deployed",
        "keep_alive_until": "2026-11-28T05:00:00Z",
        "updated_at": "2026-11-28T01:00:00.000Z",
    }
    table = text_of(render.environments_table([env], now))
    assert re.search(r"dev\s+dev\s+ready \(drift\)\s+latest\s+1/2\s+-\s+in 3 h\s+1 h ago", table)
    detail = text_of(render.environment_detail(env, now))
    assert "Drift" in detail and "cart-service-dev:8 was deployed" in detail
    assert "deploy_on_push exact:latest@cart-service-dev" in detail
    assert "Keep-alive      2026-11-28 05:00:00 UTC (in 3 h)" in detail
    locked = dict(env, locked_by="deploy_dev_20261128t014325-ab12cd34")
    assert "deploy_dev_20261128t014325-ab12cd34" in text_of(render.environments_table([locked], now), width=140)
    assert re.search(r"1/2\s+deploy\s", text_of(render.environments_table([locked], now), width=90))


def test_operations_table_wide_and_narrow() -> None:
    ops = [load_fixture("deploy-failed-rollback.json"), load_fixture("deploy-succeeded.json")]
    wide = text_of(render.operations_table(ops, ended(ops[0])), width=140)
    assert re.search(r"deploy_dev_\S+\s+FAILED\s+api\s+03:03:20 \(2 min ago\)\s+3.4s\s+rollout: DeploymentFailed", wide)
    assert re.search(r"deploy_dev_\S+\s+SUCCEEDED\s+api\s+03:03:14 \(2 min ago\)\s+3.5s$", wide, re.M)
    narrow = text_of(render.operations_table(ops, ended(ops[0])), width=80)
    assert all(len(line) <= 80 for line in narrow.splitlines())
    assert re.search(r"deploy_dev_\S+ FAILED +2 min ago +DeploymentFailed$", narrow, re.M)
    medium = text_of(render.operations_table(ops, ended(ops[0])), width=100)
    assert re.search(r"deploy_dev_\S+ FAILED +2 min ago +3.4s +DeploymentFailed$", medium, re.M)
