"""The main job: `python -m controlplane demo` runs the lifecycle and exits 0 only if every check held."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_runs_the_whole_lifecycle_and_passes() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "controlplane", "demo", "--deploy-seconds", "1", "--build-seconds", "0.5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for check in (
        "provision dev",
        "deploy v1.1.0",
        "cartctl fails the pipeline",
        "broken deploy is FAILED",
        "the failure explains itself",
        "previous image still serving",
        "cancel rolls the rollout back",
        "push redeploys dev",
        "duplicate event deploys once",
        "nightly teardown of dev only",
        "morning restore, exactly",
        "dry run changes nothing",
        "destroy dev",
        "nothing of dev left",
        "staging and prod untouched",
        "state backend untouched",
    ):
        assert any(line.startswith(check) and "PASS" in line for line in lines), check
    assert any(re.match(r"(\d+)/\1 checks passed", line) for line in lines)
