"""Fixtures shared by the Terraform tests (tests/terraform is owned by the Terraform side of the project)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TF_DIR = REPO / "terraform"


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too so that `pytest tests/terraform` works without the project's pyproject markers.
    config.addinivalue_line(
        "markers", "terraform_integration: applies Terraform against the emulated AWS; run by .ci/run"
    )


def terraform_binary() -> str | None:
    return os.environ.get("TERRAFORM") or shutil.which("terraform")


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for terraform commands: offline mirror config when the mirror exists, a shared plugin cache."""
    if terraform_binary() is None:
        pytest.skip("terraform binary not found on PATH (install Terraform >= 1.10 to run the Terraform checks)")
    env = dict(os.environ)
    # the CLI config check.sh chooses (its offline mirror's, when that mirror exists): one choice for both
    chosen = subprocess.run(
        ["bash", str(TF_DIR / "scripts" / "check.sh"), "cli-config"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if chosen:
        env["TF_CLI_CONFIG_FILE"] = chosen
    env.setdefault("TF_PLUGIN_CACHE_DIR", str(pathlib.Path.home() / ".cache" / "terraform-plugins"))
    pathlib.Path(env["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    return env
