"""The Chalice configuration: stages, per-function timeouts, and the reviewed (not generated) IAM policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import app as chalice_app

ROOT = Path(__file__).resolve().parents[1]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s["Effect"] == "Allow"]


def listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_policy_is_reviewed_not_generated() -> None:
    assert CONFIG["autogen_policy"] is False
    assert (ROOT / ".chalice" / CONFIG["iam_policy_file"]).is_file()


def test_every_function_has_a_timeout_in_every_stage() -> None:
    functions = {f.name for f in chalice_app.app.pure_lambda_functions}
    functions |= {e.name for e in chalice_app.app.event_sources} | {"api_handler"}
    assert set(CONFIG["stages"]) >= {"dev", "prod"}
    for name, stage in CONFIG["stages"].items():
        configured = stage["lambda_functions"]
        assert set(configured) == functions, f"stage {name}"
        assert all(1 <= c["lambda_timeout"] <= 900 for c in configured.values())
        assert stage["environment_variables"]["CONTROLPLANE_STAGE"] == name


def test_no_destructive_action_on_every_resource() -> None:
    policy = json.loads((ROOT / ".chalice" / CONFIG["iam_policy_file"]).read_text())
    for statement in statements(policy):
        destructive = [
            a
            for a in listed(statement["Action"])
            if any(verb in a.split(":", 1)[1] for verb in ("Delete", "Deregister", "Stop", "Update", "Put", "Create"))
        ]
        if destructive and "*" in listed(statement["Resource"]):
            # only these carry no resource-level permissions in AWS
            assert set(destructive) <= {
                "application-autoscaling:PutScalingPolicy",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
            }, statement["Sid"]


def test_policy_never_reaches_the_state_backend_or_the_cart_data() -> None:
    text = (ROOT / ".chalice" / CONFIG["iam_policy_file"]).read_text()
    assert "tfstate" not in text and "s3:" not in text
    policy = json.loads(text)
    for statement in statements(policy):
        for resource in listed(statement["Resource"]):
            if "-carts" in resource:
                assert listed(statement["Action"]) == ["dynamodb:DescribeTable"]
