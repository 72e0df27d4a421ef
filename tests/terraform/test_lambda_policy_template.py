"""The functions' one policy is rendered the same by Terraform (templatefile in modules/controlplane) and by the
sandbox and tests (controlplane/sandbox/iam.py), and fits AWS's size limit for a role's inline policies."""

from __future__ import annotations

import json

import pytest

from controlplane.sandbox.iam import PolicyInputs, render_policy

from . import tf_render
from .conftest import TF_DIR

KEY = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"  # the module's test file


def test_terraform_and_the_sandbox_render_the_same_policy(terraform_env: dict[str, str]) -> None:
    state = tf_render.apply_states(TF_DIR / "modules" / "controlplane", "tests/controlplane.tftest.hcl", terraform_env)
    [attached] = [
        r["values"]["policy"]
        for r in tf_render.resources(state["least_privilege"])
        if r["type"] == "aws_iam_role_policy" and r["name"] == "lambda"
    ]
    expected = render_policy(PolicyInputs("dev", ("dev", "qa"), "123456789012", "eu-central-1", kms_key_arn=KEY))
    assert json.loads(attached) == expected


@pytest.mark.parametrize("count", [1, 4])
def test_the_policy_fits_a_roles_inline_policy_limit(count: int) -> None:
    """AWS counts a role's inline policies without whitespace: at most 10,240 characters. A stage manages at most
    four environments (modules/controlplane validates it); longest names: stage 16, environments 15 characters."""
    environments = tuple(f"env{i}-abcdefghij" for i in range(count))
    policy = render_policy(PolicyInputs("stage-abcdefghij", environments))
    assert len(json.dumps(policy, separators=(",", ":"))) <= 10240
