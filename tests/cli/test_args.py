"""Argument validation (usage errors are exit 2 and send nothing), help with examples on every command, shell
completion, the exit codes' one table, durations and times on the command line, and the packaging rules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from controlplane.cli import cli
from controlplane.cli.exitcodes import ExitCode, exit_code_table
from controlplane.cli.timefmt import fmt_duration, fmt_relative, parse_duration, parse_ts, parse_until
from tests.cli.conftest import ROOT, Ran
from tests.cli.fakeapi import FakeControlApi

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "dev", "--tag", "v1", "--digest", DIGEST], "give --tag or --digest, not both"),
        (["deploy", "dev", "--digest", "sha256:abc"], "is not an image digest"),
        (["deploy", "dev", "--digest", "SHA256:" + "AB" * 32], "is not an image digest"),
        (["build", "dev"], "Missing option '--source-version'"),
        (["destroy", "dev", "--confirm", "prod"], "must repeat the environment's name ('dev')"),
        (["destroy", "dev", "--dry-run", "--wait"], "nothing to --wait for"),
        (["keep-alive", "set", "dev"], "exactly one of --until ISO or --for DURATION"),
        (["keep-alive", "set", "dev", "--for", "3h", "--until", "2026-11-28T23:00:00Z"], "exactly one of"),
        (["keep-alive", "set", "dev", "--for", "three hours"], "is not a duration"),
        (["keep-alive", "set", "dev", "--until", "tomorrow"], "is not an ISO 8601 time"),
        (["environments", "settings", "dev"], "nothing to change"),
        (["environments", "settings", "dev", "--deploy-on-push", "latest"], "expected MATCH:PATTERN[@REPO]"),
        (["environments", "settings", "dev", "--deploy-on-push", "regex:.*"], "MATCH one of exact, glob, semver"),
        (["environments", "settings", "dev", "--deploy-on-push", "exact:latest@"], "expected MATCH:PATTERN[@REPO]"),
        (
            ["environments", "settings", "dev", "--notification-topic", "t", "--no-notification-topic"],
            "cannot be combined",
        ),
        (["environments", "settings", "dev", "--desired-count", "1", "--tier-default-count"], "cannot be combined"),
        (["environments", "settings", "dev", "--desired-count", "-1"], "-1 is not in the range x>=0"),
        (["environments", "settings", "dev", "--no-protected", "--confirm", "prod"], "must repeat"),
        (["operations", "list", "dev", "--status", "DONE"], "'DONE' is not one of RUNNING"),
        (["operations", "list", "dev", "--kind", "deploy,rollback"], "'rollback' is not one of provision"),
        (["operations", "list", "dev", "--limit", "0"], "0 is not in the range x>=1"),
        (["--endpoint", "ftp://example.com", "environments", "list"], "is not an http(s) URL"),
        (["--endpoint", "127.0.0.1:8000", "environments", "list"], "is not an http(s) URL"),
        (["completion", "powershell"], "'powershell' is not one of 'bash', 'zsh', 'fish'"),
        (["deploy"], "Missing argument 'ENV'"),
        (["nonsense"], "No such command 'nonsense'"),
    ],
)
def test_usage_errors_exit_2_and_send_nothing(
    cartctl: Any, fake: FakeControlApi, args: list[str], message: str
) -> None:
    ran: Ran = cartctl(*args)
    assert ran.code == ExitCode.USAGE == 2
    assert message in " ".join(ran.stderr.split()), ran.stderr
    assert fake.requests == []


def walk(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(prefix, group)]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += walk(command, (*prefix, name))
        else:
            found.append(((*prefix, name), command))
    return found


COMMANDS = walk(cli)


def test_the_command_tree_is_the_documented_one() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert names == {
        "",
        "environments",
        "environments list",
        "environments show",
        "environments settings",
        "provision",
        "build",
        "deploy",
        "destroy",
        "operations",
        "operations list",
        "operations show",
        "follow",
        "cancel",
        "keep-alive",
        "keep-alive set",
        "keep-alive clear",
        "completion",
    }


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "cartctl" for p, _ in COMMANDS])
def test_every_command_has_help_with_examples_and_leaf_commands_take_json(path: tuple[str, ...], command: Any) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="cartctl")
    assert result.exit_code == 0
    assert "Examples:" in result.output and "cartctl " in result.output.split("Examples:", 1)[1]
    assert "Exit codes" in result.output
    if not isinstance(command, click.Group):
        assert "--json" in result.output
    if path and path[0] in ("provision", "build", "deploy", "destroy", "cancel"):
        assert "--wait" in result.output
    # Idempotency-Key: only where the API takes one (the routes that start an operation)
    assert ("--idempotency-key" in result.output) is (
        bool(path) and path[0] in ("provision", "build", "deploy", "destroy")
    )


def test_the_exit_codes_are_distinct_documented_and_in_the_readme() -> None:
    values = [code.value for code in ExitCode]
    assert len(values) == len(set(values))
    assert ExitCode.USAGE == 2  # click's own
    assert {ExitCode.for_status(s) for s in ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")} == {
        ExitCode.OK,
        ExitCode.FAILED,
        ExitCode.ABORTED,
        ExitCode.TIMED_OUT,
    }
    top = CliRunner().invoke(cli, ["--help"], prog_name="cartctl").output
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Operators' CLI", 1)[1]
    for line in exit_code_table().splitlines():
        code, meaning = line.split(None, 1)
        assert re.search(rf"^\s+{code}\s+{re.escape(meaning)}$", top, re.M), line
        assert re.search(rf"\|\s*`?{code}`?\s*\|", section), f"README's CLI section lacks exit code {code}"


def test_completion_scripts_and_clicks_completion_variable() -> None:
    runner = CliRunner()
    for shell, marker in (
        ("bash", "complete -o nosort -F"),
        ("zsh", "#compdef cartctl"),
        ("fish", "complete --no-files"),
    ):
        result = runner.invoke(cli, ["completion", shell], prog_name="cartctl")
        assert result.exit_code == 0 and marker in result.output and "_CARTCTL_COMPLETE" in result.output
    env = {
        **os.environ,
        "_CARTCTL_COMPLETE": "bash_complete",
        "COMP_WORDS": "cartctl operations list dev --status ",
        "COMP_CWORD": "5",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "controlplane.cli"], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    subcommands = subprocess.run(
        [sys.executable, "-m", "controlplane.cli"],
        env={**env, "COMP_WORDS": "cartctl op", "COMP_CWORD": "1"},
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert "plain,operations" in subcommands.stdout.split()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3h", 10800), ("90m", 5400), ("1h30m", 5400), ("2d", 172800), ("45s", 45), ("15", 900), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "3x", "3h junk", "-1h", "0m", "h3"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_times_from_the_api_and_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_ts("2026-11-28T01:43:25.453Z") == datetime(2026, 11, 28, 1, 43, 25, 453000, tzinfo=UTC)
    assert parse_ts("2026-11-28T02:43:25+01:00") == datetime(2026, 11, 28, 1, 43, 25, tzinfo=UTC)
    assert parse_ts(None) is None and parse_ts("not a time") is None
    assert parse_ts(1795830205.0) == datetime(2026, 11, 28, 1, 43, 25, tzinfo=UTC)  # old epoch floats still read
    assert parse_until("2026-11-28T23:00:00Z") == datetime(2026, 11, 28, 23, tzinfo=UTC)
    monkeypatch.setenv("TZ", "Europe/Berlin")
    import time

    time.tzset()
    try:
        assert parse_until("2026-11-28 23:00") == datetime(2026, 11, 28, 22, tzinfo=UTC)  # local time without offset
    finally:
        monkeypatch.undo()
        time.tzset()
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert fmt_relative(now - timedelta(minutes=3), now) == "3 min ago"
    assert fmt_relative(now + timedelta(hours=2, minutes=5), now) == "in 2 h 5 min"
    assert fmt_relative(now - timedelta(days=2, hours=1), now) == "2 d 1 h ago"
    assert fmt_relative(now, now) == "just now"
    assert [fmt_duration(s) for s in (0.04, 12.34, 125, 3725, None)] == ["0.0s", "12.3s", "2m05s", "1h02m", "-"]


def test_the_lambda_side_never_imports_click_or_rich() -> None:
    probe = (
        "import sys\n"
        "import controlplane, app\n"
        "import controlplane.entrypoints.api, controlplane.entrypoints.steps, controlplane.entrypoints.events\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'rich'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_requirements_txt_is_the_lambda_runtimes_and_pyproject_declares_the_cli() -> None:
    import tomllib

    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "click" not in runtime and "rich" not in runtime
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = project["project"]["dependencies"]
    assert "click==8.5.1" in deps and "rich==15.0.0" in deps
    assert project["project"]["scripts"] == {"cartctl": "controlplane.cli:main"}
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["controlplane*"]
    assert "rich==15.0.0" in (ROOT / "requirements-dev.lock").read_text().splitlines()


@pytest.mark.slow
def test_the_wheel_holds_only_the_package_and_the_console_script(tmp_path: Path) -> None:
    import shutil
    import zipfile

    source = tmp_path / "src"  # a copy, so the build leaves nothing in the work tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "controlplane", source / "controlplane", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        check=True,
        capture_output=True,
        cwd=source,
    )
    (wheel,) = tmp_path.glob("cart_controlplane-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"controlplane", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "controlplane/cli/commands.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "cartctl = controlplane.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
