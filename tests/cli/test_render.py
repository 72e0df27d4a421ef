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


def test_summary_of_a_circuit_breaker_rollback_names_everything_needed_to_act() -> None:
    op = load_fixture("deploy-failed-rollback.json")
    text = text_of(render.summary(op, ended(op)), width=240)
    assert "FAILED  after 8.2s" in text
    assert re.search(r"Error\s+wait_deployment  DeploymentFailed", text)
    assert "circuit breaker tripped after 3 failed tasks" in text
    assert "Rolled back to  cart-service-dev:6 (revision 6)  image sha256:" + "c3" * 32 in text.replace("\n", "")
    assert text.count("exit 1  Essential container in task exited") == 3
    assert "deployment ecs-svc/0000000000000000002 failed" in text  # the service events
    assert "/ecs/cart-service-dev  cart/cart/0f3c9a0e4b1d2c7a8f90e1d2c3b4a50" in text
    assert "console.aws.amazon.com/cloudwatch/home" in text
    assert re.search(r"Started\s+2026-11-28 01:45:05 UTC \(2 min ago\)  trigger api", text)


def test_summary_of_a_failed_build_shows_the_phase_its_context_and_the_log_link() -> None:
    op = load_fixture("build-failed.json")
    text = text_of(render.summary(op, ended(op)))
    assert "FAILED" in text and "wait_build  BuildFailed" in text
    assert "failed in phase BUILD" in text
    assert "COMMAND_EXECUTION_ERROR" in text
    assert "codebuild/projects/cart-service-dev/history" in text


def test_summary_of_aborted_and_timed_out_operations() -> None:
    aborted = load_fixture("deploy-aborted.json")
    text = text_of(render.summary(aborted, ended(aborted)))
    assert "ABORTED  after 4.5s" in text
    assert re.search(r"Cancel\s+requested 2026-11-28 01:51:49 UTC .*rollout rollback", text)
    assert "wait_deployment  Cancelled" in text
    timed_out = load_fixture("deploy-timed-out.json")
    text = text_of(render.summary(timed_out, ended(timed_out)))
    assert "TIMED_OUT" in text and "States.Timeout" in text and "has started 1 tasks" in text


def test_summary_shows_the_last_seen_rollout_counts_once_the_operation_ended() -> None:
    op = load_fixture("deploy-succeeded.json")
    last = load_fixture("deploy-running.json")["progress"]
    text = text_of(render.summary(op, ended(op), last_progress=last), width=160)
    assert re.search(r"Rollout\s+IN_PROGRESS\s+running 1/3  pending 2  failed 0 .*\(last seen\)", text)
    assert "Result" in text and "task_definition_arn=" in text


def gantt_rows(op: dict[str, Any], width: int = 80) -> list[str]:
    return [line.plain for line in render.gantt_lines(op, ended(op), width)]


def test_gantt_places_each_step_on_one_time_axis() -> None:
    op = load_fixture("deploy-succeeded.json")
    rows = gantt_rows(op, width=80)
    steps = op["steps"]
    assert len(rows) == len(steps) + 2  # a bar per step, the axis, its labels
    bars = rows[: len(steps)]
    assert all(len(row) == len(bars[0]) for row in bars), "every bar row has the same width"
    starts, lengths = [], []
    for row, step in zip(bars, steps, strict=True):
        assert step["name"] in row and row.startswith("✓ ")
        track = row.split("│", 1)[1][:-8]
        starts.append(len(track) - len(track.lstrip(" ")))
        lengths.append(track.count("█"))
    assert starts == sorted(starts), "steps start in order along the axis"
    longest = max(range(len(steps)), key=lambda i: steps[i]["duration_seconds"])
    assert lengths.index(max(lengths)) == longest  # wait_deployment: 6 of 8.4 seconds
    assert steps[longest]["name"] == "wait_deployment"
    total = sum(s["duration_seconds"] for s in steps)
    assert abs(lengths[longest] / len(track) - steps[longest]["duration_seconds"] / total) < 0.05
    assert rows[-1].strip().startswith("0s") and rows[-1].rstrip().endswith("8.4s")
    assert "6.0s" in bars[longest] and "└" in rows[-2]


def test_gantt_golden_for_a_failed_deploy() -> None:
    op = load_fixture("deploy-failed-rollback.json")
    assert "\n".join(gantt_rows(op, width=72)) == "\n".join(
        [
            "✓ validate                 │█                                      0.3s",
            "✓ lock                     │ █                                     0.2s",
            "✓ resolve_image            │  ██                                   0.4s",
            "✓ register_task_definition │    ██                                 0.4s",
            "✓ apply_service            │      ██                               0.6s",
            "✗ wait_deployment          │        ██████████████████████████     6.0s",
            "✓ record_failure           │                                  █    0.3s",
            "                           └───────────────────────────────────",
            "                            0s              4.1s           8.2s",
        ]
    )


def test_gantt_of_a_running_operation_runs_to_now() -> None:
    op = load_fixture("deploy-running.json")
    now = parse_ts(op["created_at"]) + timedelta(seconds=4.2)  # type: ignore[operator]
    rows = [line.plain for line in render.gantt_lines(op, now, 80)]
    assert rows[-1].rstrip().endswith("4.2s")
    running = next(r for r in rows if "wait_deployment" in r)
    assert running.startswith("● ") and running.split("│", 1)[1].rstrip().endswith("s")


def test_live_view_shows_steps_states_elapsed_and_the_rollout_counts() -> None:
    op = load_fixture("deploy-running.json")
    now = parse_ts(op["created_at"]) + timedelta(seconds=4.2)  # type: ignore[operator]
    text = text_of(render.LiveView(op, lambda: now, footer="Ctrl-C: cancel"))
    assert f"deploy dev  {op['id']}  RUNNING  4.2s" in text
    for step in op["steps"]:
        assert step["name"] in text
    assert re.search(r"validate\s+SUCCEEDED\s+0.3s", text)
    assert re.search(r"wait_deployment\s+RUNNING\s+2.3s", text)  # running since 1.9 s: elapsed to now
    assert re.search(r"rollout\s+IN_PROGRESS\s+running 1/3  pending 2  failed 0", text)
    assert "cart-service-dev:8" in text and "Ctrl-C: cancel" in text


def test_live_view_shows_the_build_phase() -> None:
    op = load_fixture("build-running.json")
    now = parse_ts(op["created_at"]) + timedelta(seconds=2.6)  # type: ignore[operator]
    text = text_of(render.LiveView(op, lambda: now))
    assert re.search(r"build\s+phase DOWNLOAD_SOURCE  IN_PROGRESS", text)
    assert re.search(r"wait_build\s+RUNNING\s+1.6s", text)


def test_plain_progress_prints_one_line_per_change() -> None:
    running = load_fixture("deploy-running.json")
    done = load_fixture("deploy-succeeded.json")
    plain = render.PlainProgress()
    now = ended(done, 0)
    first = plain.lines(running, now)
    assert first[0].endswith(f"{running['id']}: deploy dev RUNNING")
    assert any("step wait_deployment RUNNING" in line for line in first)
    assert any("rollout IN_PROGRESS running 1/3 pending 2 failed 0" in line for line in first)
    assert plain.lines(running, now) == []  # nothing changed, nothing printed
    last = plain.lines(done, now)
    assert any("step wait_deployment SUCCEEDED (6.0s)" in line for line in last)
    assert any("step unlock SUCCEEDED" in line for line in last)
    assert last[-1].endswith("SUCCEEDED after 8.4s")
    assert not any("step validate" in line for line in last)


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
            "deploy_on_push": {"match": "exact", "pattern": "latest", "repository": "cart-service-dev"},
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


def test_operations_table_wide_and_narrow() -> None:
    ops = [load_fixture("deploy-failed-rollback.json"), load_fixture("deploy-succeeded.json")]
    wide = text_of(render.operations_table(ops, ended(ops[0])), width=140)
    assert re.search(
        r"deploy-\S+\s+FAILED\s+api\s+01:45:05 \(2 min ago\)\s+8.2s\s+wait_deployment: DeploymentFailed", wide
    )
    assert re.search(r"deploy-\S+\s+SUCCEEDED\s+api\s+01:43:25 \(3 min ago\)\s+8.4s$", wide, re.M)
    narrow = text_of(render.operations_table(ops, ended(ops[0])), width=80)
    assert all(len(line) <= 80 for line in narrow.splitlines())
    assert re.search(r"deploy-\S+ FAILED +2 min ago +8.2s DeploymentFailed$", narrow, re.M)
