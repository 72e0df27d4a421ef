"""Who may act on which environment: the operator roles' policies (terraform/modules/operator_roles, rendered by
its terraform test with the mocked provider) evaluated against every route of the control plane's API.

The evaluator is the project's one (controlplane/sandbox/iam.py, which also checks the functions' policy against
every call the control plane makes): Allow/Deny statements of Action/NotAction and Resource/NotResource with the
wildcards `*` (any run of characters, `/` included) and `?` (one character), the Condition operators the policies
use; an explicit Deny wins over any Allow; nothing allowed is an implicit deny. It refuses what it does not know (an
unknown operator or statement key), so a test cannot silently evaluate a policy it does not understand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from controlplane.domain.lifecycle import new_operation_id
from controlplane.domain.model import OpKind
from controlplane.sandbox.iam import ALLOW, DENY, IMPLICIT, Request, evaluate

from . import tf_render
from .conftest import TF_DIR

MODULE = TF_DIR / "modules" / "operator_roles"
API = "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5"  # tests/operator_roles.tftest.hcl
STAGE = "api"

# ---------------------------------------------------------------- the IAM evaluator (controlplane/sandbox/iam.py)


def test_the_evaluator_itself() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:*", "Resource": ["arn:x/api/GET/*", "arn:x/api/POST/a?c"]},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:x/api/GET/secret/*"},
        ]
    }
    assert evaluate(policy, "execute-api:Invoke", "arn:x/api/GET/a/b/c") == ALLOW  # * spans slashes
    assert evaluate(policy, "execute-api:Invoke", "arn:x/api/POST/abc") == ALLOW  # ? is one character
    assert evaluate(policy, "execute-api:Invoke", "arn:x/api/POST/abbc") == IMPLICIT
    assert evaluate(policy, "execute-api:Invoke", "arn:x/api/GET/secret/1") == DENY  # explicit deny wins
    assert evaluate(policy, "EXECUTE-API:invoke", "arn:x/api/GET/a") == ALLOW  # actions are case-insensitive
    assert evaluate(policy, "execute-api:Invoke", "arn:x/api/get/a") == IMPLICIT  # resources are not
    # conditions: an Allow applies only when its condition holds (a missing key: it does not), negated operators
    conditioned = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:r/*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*", "Condition": {"StringNotLike": {"k": "x*"}}},
        ]
    }
    assert (
        evaluate(conditioned, Request("iam:PassRole", "arn:r/1", {"iam:PassedToService": ("ecs-tasks.amazonaws.com",)}))
        == ALLOW
    )
    assert (
        evaluate(conditioned, Request("iam:PassRole", "arn:r/1", {"iam:PassedToService": ("lambda.amazonaws.com",)}))
        == IMPLICIT
    )
    assert evaluate(conditioned, Request("iam:PassRole", "arn:r/1")) == IMPLICIT
    assert evaluate(conditioned, Request("s3:GetObject", "o")) == ALLOW  # NotAction; a missing key is "not like"
    assert evaluate(conditioned, Request("s3:GetObject", "o", {"k": ("xy",)})) == IMPLICIT
    with pytest.raises(ValueError):  # what it does not know, it refuses
        evaluate(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "a", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}}
                ]
            },
            "a",
            "b",
        )


# ---------------------------------------------------------------- the API


def operation_id(env: str) -> str:
    """An operation of env, named as the control plane names it (the roles rely on the environment in it)."""
    return new_operation_id(OpKind.DEPLOY, env, 1_800_000_000.0)


def routes(env: str) -> list[tuple[str, str]]:
    """Every (method, path) of the API, with {name} = env and {id} = an operation of env."""
    op = operation_id(env)
    return [
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/environments"),
        ("GET", f"/environments/{env}"),
        ("PUT", f"/environments/{env}"),
        ("POST", f"/environments/{env}/provision"),
        ("POST", f"/environments/{env}/builds"),
        ("POST", f"/environments/{env}/deployments"),
        ("POST", f"/environments/{env}/destroy"),
        ("GET", f"/environments/{env}/operations"),
        ("GET", f"/operations/{op}"),
        ("POST", f"/operations/{op}/cancel"),
        ("POST", f"/environments/{env}/keep-alive"),
        ("DELETE", f"/environments/{env}/keep-alive"),
    ]


def arn(method: str, path: str) -> str:
    return f"{API}/{STAGE}/{method}{path}"


@pytest.fixture(scope="module")
def policies(terraform_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The permission policy of each role, as the module attaches it (its terraform test's apply run)."""
    state = tf_render.apply_states(MODULE, "tests/operator_roles.tftest.hcl", terraform_env)["roles_and_policies"]
    attached = {
        r["index"]: json.loads(r["values"]["policy"])
        for r in tf_render.resources(state)
        if r["type"] == "aws_iam_role_policy"
    }
    assert set(attached) == {"dev-deployer", "staging-operator", "prod-operator", "readonly"}
    return attached


def decide(policies: dict[str, dict[str, Any]], role: str, method: str, path: str) -> str:
    return evaluate(policies[role], "execute-api:Invoke", arn(method, path))


# What each role may do: (environment -> allowed to change it?) and reads everywhere.
MAY_CHANGE = {
    "dev-deployer": {"dev"},
    "staging-operator": {"staging"},
    "prod-operator": {"prod"},
    "readonly": set(),
}
# Environments a role is explicitly denied (a guard that holds whatever else is attached to the role).
DENIED = {
    "dev-deployer": {"staging", "prod"},
    "staging-operator": {"prod"},
    "prod-operator": set(),
    "readonly": set(),
}


@pytest.mark.parametrize("role", sorted(MAY_CHANGE))
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_route_for_every_role(policies: dict[str, Any], role: str, env: str) -> None:
    wrong = []
    for method, path in routes(env):
        got = decide(policies, role, method, path)
        if method == "GET" or env in MAY_CHANGE[role]:
            expected = ALLOW
        elif env in DENIED[role]:
            expected = DENY
        else:
            expected = IMPLICIT
        if got != expected:
            wrong.append(f"{role} {method} {path}: {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_dev_deployer_cannot_destroy_prod(policies: dict[str, Any]) -> None:
    assert decide(policies, "dev-deployer", "POST", "/environments/prod/destroy") == DENY
    assert decide(policies, "dev-deployer", "POST", "/environments/dev/destroy") == ALLOW
    assert decide(policies, "prod-operator", "POST", "/environments/prod/destroy") == ALLOW


def test_look_alike_environments_are_not_covered(policies: dict[str, Any]) -> None:
    """dev-deployer's grants name dev exactly: not dev-2, not devx, and not their operations."""
    for env in ("dev-2", "devx", "d"):
        for method, path in routes(env):
            if method != "GET":
                assert decide(policies, "dev-deployer", method, path) == IMPLICIT, (env, method, path)


def test_operations_without_the_environment_in_their_id_cannot_be_cancelled_by_a_tier_role(
    policies: dict[str, Any],
) -> None:
    """An id that does not carry the environment (the older <kind>-<stamp>-<hex>) matches no tier's grant."""
    for role in MAY_CHANGE:
        assert decide(policies, role, "POST", "/operations/deploy-20260101t120000-ab12cd34/cancel") != ALLOW
        assert decide(policies, role, "GET", "/operations/deploy-20260101t120000-ab12cd34") == ALLOW


def test_readonly_reads_everything_and_changes_nothing(policies: dict[str, Any]) -> None:
    for env in ("dev", "staging", "prod"):
        for method, path in routes(env):
            assert (decide(policies, "readonly", method, path) == ALLOW) == (method == "GET"), (method, path)
