"""The Chalice configuration: stages and per-function timeouts; no IAM (Terraform owns the functions' role and its
one policy, terraform/modules/controlplane/lambda-policy.json.tftpl)."""

from __future__ import annotations

import json
from pathlib import Path

import app as chalice_app

ROOT = Path(__file__).resolve().parents[1]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


def test_chalice_holds_no_policy_of_its_own() -> None:
    assert CONFIG["manage_iam_role"] is False and CONFIG["iam_role_arn"].startswith("arn:aws:iam::000000000000:")
    assert "iam_policy_file" not in CONFIG and "autogen_policy" not in CONFIG
    assert not list((ROOT / ".chalice").glob("policy*.json")), "the Lambda policy lives once, in Terraform"


def test_every_function_has_a_timeout_in_every_stage() -> None:
    functions = {f.name for f in chalice_app.app.pure_lambda_functions} | {"api_handler"}
    assert set(CONFIG["stages"]) >= {"dev", "prod"}
    for name, stage in CONFIG["stages"].items():
        configured = stage["lambda_functions"]
        assert set(configured) == functions, f"stage {name}"
        assert all(1 <= c["lambda_timeout"] <= 900 for c in configured.values())
        assert stage["environment_variables"]["CONTROLPLANE_STAGE"] == name


def test_the_app_declares_no_event_source_of_its_own() -> None:
    """Rules and schedules have one owner (controlplane/deployment.py, created by Terraform): the app registers
    their handlers as plain functions, so chalice package emits no second copy."""
    from controlplane.deployment import EVENT_RULES

    assert chalice_app.app.event_sources == []
    plain = {f.name for f in chalice_app.app.pure_lambda_functions}
    assert {r.function for r in EVENT_RULES} <= plain
