"""The sandbox's seed (controlplane/sandbox/seed.py) creates what Terraform creates: every attribute the two share
is compared, so they cannot drift apart.

Terraform's side is each environment root applied with the mocked provider by its own test file (tf_render):
everything Terraform computes itself (names, the settings row, the contract document) is exact there; ids and ARNs
the provider would make are the mocks', so resources are compared by name. The sandbox's side is seed_environment
run in moto.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.domain.contract import parse_contract

from . import tf_render
from .conftest import TF_DIR

ENVIRONMENTS = ("dev", "staging", "prod")
# Contract keys only Terraform publishes: none of them is read by the control plane (docs/contract.md).
TERRAFORM_ONLY_KEYS = {"event_bus_name", "build_source_bucket", "build_source_key"}
# Contract values that are ids or ARNs the provider (or moto) generates: compared by the resources' names instead.
GENERATED = {
    "subnet_ids",
    "security_group_ids",
    "target_group_arn",
    "execution_role_arn",
    "task_role_arn",
    "alb_dns_name",
    "notification_topic_arn",
    "build_source",  # Terraform's comes from CI/CD (on in the roots' test); the sandbox's is a fixed example
}


@pytest.fixture(scope="module")
def terraform(terraform_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """What each root creates: resources by address (without module path indexes), and the contract."""
    found = {}
    for env in ENVIRONMENTS:
        states = tf_render.apply_states(TF_DIR / "environments" / env, "tests/settings.tftest.hcl", terraform_env)
        state = states[f"{env}_outputs_after_apply"]
        resources: dict[str, list[dict[str, Any]]] = {}
        for r in tf_render.resources(state):
            resources.setdefault(f"{r['type']}.{r['name']}", []).append(r["values"])
        [parameter] = resources["aws_ssm_parameter.contract"]
        found[env] = {"resources": resources, "contract": json.loads(parameter["value"])}
    return found


@pytest.fixture(scope="module")
def sandbox() -> Iterator[dict[str, dict[str, Any]]]:
    import boto3
    from moto import mock_aws

    from controlplane.sandbox.seed import seed_environment

    with mock_aws():

        def make(service: str) -> Any:
            return boto3.client(service, region_name="eu-central-1")

        seeded = {}
        for i, env in enumerate(ENVIRONMENTS):
            contract = seed_environment(make, env, env, i + 1, "/cart-service")
            repo = make("ecr").describe_repositories(repositoryNames=[contract.ecr_repository_name])["repositories"][0]
            cluster = make("ecs").describe_clusters(clusters=[contract.cluster_name], include=["SETTINGS"])["clusters"][
                0
            ]
            seeded[env] = {
                "contract": json.loads(contract.to_json()),
                "repository": repo,
                "cluster": cluster,
                "topics": [t["TopicArn"].rsplit(":", 1)[-1] for t in make("sns").list_topics()["Topics"]],
                "alarms": [a["AlarmName"] for a in make("cloudwatch").describe_alarms()["MetricAlarms"]],
                "roles": [r["RoleName"] for r in make("iam").list_roles()["Roles"]],
                "tables": make("dynamodb").list_tables()["TableNames"],
                "projects": make("codebuild").list_projects()["projects"],
            }
        yield seeded


def one(found: dict[str, Any], address: str) -> dict[str, Any]:
    [values] = found["resources"][address]
    return values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_repository_mutability(terraform: dict[str, Any], sandbox: dict[str, Any], env: str) -> None:
    """dev takes latest again and again (MUTABLE); staging and prod keep a tag on one image (IMMUTABLE)."""
    tf = one(terraform[env], "aws_ecr_repository.this")
    assert tf["name"] == sandbox[env]["repository"]["repositoryName"] == f"cart-service-{env}"
    assert tf["image_tag_mutability"] == sandbox[env]["repository"]["imageTagMutability"]
    assert tf["image_tag_mutability"] == ("MUTABLE" if env == "dev" else "IMMUTABLE")
    assert (
        tf["image_scanning_configuration"][0]["scan_on_push"]
        is sandbox[env]["repository"]["imageScanningConfiguration"]["scanOnPush"]
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_and_capacity_providers(terraform: dict[str, Any], sandbox: dict[str, Any], env: str) -> None:
    cluster, seeded = one(terraform[env], "aws_ecs_cluster.this"), sandbox[env]["cluster"]
    assert cluster["name"] == seeded["clusterName"] == f"ecommerce-{env}"
    assert {s["name"]: s["value"] for s in cluster["setting"]} == {s["name"]: s["value"] for s in seeded["settings"]}
    providers = one(terraform[env], "aws_ecs_cluster_capacity_providers.this")
    assert sorted(providers["capacity_providers"]) == sorted(seeded["capacityProviders"])
    strategy = {
        s["capacity_provider"]: (s["base"] or 0, s["weight"]) for s in providers["default_capacity_provider_strategy"]
    }
    assert strategy == {
        s["capacityProvider"]: (s.get("base", 0), s["weight"]) for s in seeded["defaultCapacityProviderStrategy"]
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_contract_keys_and_values(terraform: dict[str, Any], sandbox: dict[str, Any], env: str) -> None:
    tf, seeded = terraform[env]["contract"], sandbox[env]["contract"]
    assert set(tf) - set(seeded) == TERRAFORM_ONLY_KEYS
    assert set(seeded) <= set(tf)
    differing = {k: (tf[k], seeded[k]) for k in seeded if k not in GENERATED and tf[k] != seeded[k]}
    assert not differing, differing
    # and the control plane reads both the same way
    assert parse_contract(tf, env).profile == parse_contract(seeded, env).profile
    # with CI/CD on (the roots' test), Terraform publishes where builds come from, as the control plane reads it
    source = parse_contract(tf, env).build_source
    assert source is not None and source.source_type == "GITHUB" and source.connection_arn
    assert source.location == "https://github.com/example-org/cart-service.git"
    assert source.branch == {"dev": "develop"}.get(env, "main")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_named_resources(terraform: dict[str, Any], sandbox: dict[str, Any], env: str) -> None:
    """The resources behind the contract's generated ids, by name: roles, topic, alarms, table, project."""
    tf, seeded = terraform[env], sandbox[env]
    roles = {r["name"] for r in tf["resources"]["aws_iam_role.execution"] + tf["resources"]["aws_iam_role.task"]}
    assert roles == {f"cart-service-{env}-task-execution", f"cart-service-{env}-task"} <= set(seeded["roles"])
    assert one(tf, "aws_sns_topic.notifications")["name"] in seeded["topics"]
    rollback = set(tf["contract"]["alarm_names"])
    terraform_alarms = {
        a["alarm_name"] for k, v in tf["resources"].items() if k.startswith("aws_cloudwatch_metric_alarm.") for a in v
    }
    assert rollback <= terraform_alarms
    assert rollback == {a for a in seeded["alarms"] if a.startswith(f"cart-service-{env}-")}
    assert one(tf, "aws_dynamodb_table.this")["name"] in seeded["tables"]
    assert one(tf, "aws_codebuild_project.image")["name"] in seeded["projects"]
