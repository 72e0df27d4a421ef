"""The pure domain: validation messages, the contract parser, plans and status rules."""

from __future__ import annotations

import json

import pytest

from controlplane.domain import validation as v
from controlplane.domain.contract import ContractError, parse_contract, tier_profile
from controlplane.domain.model import (
    EnvSettings,
    EnvStatus,
    OpKind,
    Tier,
    default_settings,
    seed_environments,
    status_after_failure,
)
from controlplane.domain.plans import STEP_ORDER, Inventory, destroy_plan


def contract_doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "version": 1,
        "environment": "dev",
        "tier": "dev",
        "cluster_name": "c",
        "service_name": "s",
        "task_family": "f",
        "container_name": "cart",
        "container_port": 8080,
        "task_cpu": "256",
        "task_memory": "512",
        "subnet_ids": ["subnet-1"],
        "security_group_ids": ["sg-1"],
        "target_group_arn": "arn:tg",
        "ecr_repository_name": "r",
        "data_table_name": "t",
        "codebuild_project_name": "p",
        "execution_role_arn": "arn:e",
        "task_role_arn": "arn:t",
        "log_group_name": "/cart-service/dev/app",
        "profile": tier_profile("dev").to_dict(),
    }
    doc.update(changes)
    return doc


class TestNames:
    @pytest.mark.parametrize("name", ["dev", "prod", "pr-123", "preview-feature-x1"])
    def test_valid_names_pass(self, name: str) -> None:
        assert v.check_name(name) == name

    @pytest.mark.parametrize("name", ["", "a", "Dev", "dev_1", "-dev", "dev-", "x" * 25, "d.v", "dev/../x"])
    def test_invalid_names_say_what_is_expected(self, name: str) -> None:
        with pytest.raises(v.InvalidInput, match="lowercase letters, digits and '-'"):
            v.check_name(name)


class TestBodies:
    def test_deploy_accepts_tag_digest_or_nothing(self) -> None:
        assert v.deploy_request({"image_tag": "v1.2.3"}) == {"image_tag": "v1.2.3"}
        assert v.deploy_request({"image_digest": "sha256:" + "a" * 64}) == {"image_digest": "sha256:" + "a" * 64}
        assert v.deploy_request({}) == {}
        assert v.deploy_request(None) == {}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"image_tag": "v1", "image_digest": "sha256:" + "a" * 64}, "not both"),
            ({"image_digest": "sha256:abc"}, "64 hex"),
            ({"image_tag": "bad tag"}, "valid image tag"),
            ({"image_tag": 3}, "valid image tag"),
            ({"imagetag": "v1"}, "unknown field"),
            ([1, 2], "JSON object"),
            ({"wait": {"interval_seconds": 0}}, "from 1 to 300"),
            ({"wait": {"timeout_seconds": True}}, "timeout_seconds"),
        ],
    )
    def test_deploy_rejects_bad_bodies_with_a_reason(self, body: object, message: str) -> None:
        with pytest.raises(v.InvalidInput, match=message):
            v.deploy_request(body)

    def test_build_requires_a_source_version(self) -> None:
        with pytest.raises(v.InvalidInput, match="source_version is required"):
            v.build_request({})
        assert v.build_request({"source_version": "feature/x"}) == {"source_version": "feature/x"}

    def test_wait_budget_is_passed_through(self) -> None:
        assert v.provision_request({"wait": {"interval_seconds": 2, "timeout_seconds": 60}}) == {
            "wait": {"interval_seconds": 2, "timeout_seconds": 60}
        }

    def test_prod_keeps_at_least_three_tasks(self) -> None:
        with pytest.raises(v.InvalidInput, match="from 3 to 50"):
            v.settings_request({"desired_count": 2}, EnvSettings(), Tier.PROD)
        tier, settings = v.settings_request({"desired_count": 4}, EnvSettings(), Tier.PROD)
        assert (tier, settings.desired_count) == (Tier.PROD, 4)

    @pytest.mark.parametrize(
        "policy",
        [
            {"match": "exact", "pattern": "latest"},
            {"match": "glob", "pattern": "release-*"},
            {"match": "semver", "pattern": ">=1.2.0 <2.0.0", "repository": "cart-service-dev"},
        ],
    )
    def test_deploy_on_push_policies(self, policy: dict[str, str]) -> None:
        _, settings = v.settings_request({"deploy_on_push": policy}, EnvSettings(), Tier.DEV)
        assert settings.deploy_on_push is not None and settings.deploy_on_push.match == policy["match"]

    def test_deploy_on_push_rejects_unknown_match(self) -> None:
        with pytest.raises(v.InvalidInput, match="exact, glob, semver"):
            v.settings_request({"deploy_on_push": {"match": "regex", "pattern": ".*"}}, EnvSettings(), Tier.DEV)


class TestContract:
    def test_round_trip(self) -> None:
        k = parse_contract(json.dumps(contract_doc()), "dev")
        assert parse_contract(k.to_json(), "dev") == k
        assert k.container_insights_log_group == "/aws/ecs/containerinsights/c/performance"

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"version": 2}, "version 2 is not supported"),
            ({"environment": "prod"}, "for environment 'prod'"),
            ({"subnet_ids": []}, "subnet_ids"),
            ({"container_port": "x"}, "container_port"),
            ({"profile": {**tier_profile("dev").to_dict(), "min_count": 5}}, "min_count <= desired_count"),
        ],
    )
    def test_problems_name_the_field(self, changes: dict[str, object], message: str) -> None:
        with pytest.raises(ContractError, match=message):
            parse_contract(json.dumps(contract_doc(**changes)), "dev")

    def test_missing_field(self) -> None:
        doc = contract_doc()
        del doc["target_group_arn"]
        with pytest.raises(ContractError, match="'target_group_arn' is missing"):
            parse_contract(doc, "dev")

    def test_not_json(self) -> None:
        with pytest.raises(ContractError, match="not valid JSON"):
            parse_contract("{", "dev")

    def test_settings_table(self) -> None:
        dev, prod = tier_profile("dev"), tier_profile("prod")
        assert (dev.desired_count, dev.fargate_spot, dev.autoscaling) == (1, True, False)
        assert (prod.desired_count >= 3, prod.fargate_spot, prod.autoscaling) == (True, False, True)


class TestModel:
    def test_seeds_follow_the_table(self) -> None:
        seeds = {e.name: e for e in seed_environments(0.0)}
        assert set(seeds) == {"dev", "staging", "prod"}
        assert seeds["dev"].settings.nightly_teardown is True
        assert seeds["dev"].settings.deploy_on_push is not None
        assert seeds["prod"].settings.deploy_on_push is None
        assert all(e.status is EnvStatus.ABSENT for e in seeds.values())

    def test_confirmation_rule(self) -> None:
        seeds = {e.name: e for e in seed_environments(0.0)}
        assert not seeds["dev"].requires_confirmation()
        assert seeds["staging"].requires_confirmation() and seeds["prod"].requires_confirmation()
        protected = seeds["dev"].replace(settings=EnvSettings(protected=True))
        assert protected.requires_confirmation()

    def test_status_after_failure(self) -> None:
        assert status_after_failure(OpKind.DEPLOY, EnvStatus.DEPLOYING) is EnvStatus.READY
        assert status_after_failure(OpKind.PROVISION, EnvStatus.PROVISIONING) is EnvStatus.FAILED
        assert status_after_failure(OpKind.DESTROY, EnvStatus.DESTROYING) is EnvStatus.FAILED
        assert status_after_failure(OpKind.BUILD, EnvStatus.READY) is EnvStatus.READY
        assert status_after_failure(OpKind.DEPLOY, EnvStatus.DESTROYED) is EnvStatus.DESTROYED

    def test_default_settings_by_tier(self) -> None:
        assert default_settings("pr-1", Tier.DEV).deploy_on_push is not None
        assert default_settings("x", Tier.PROD) == EnvSettings(notification_topic="cart-service-x-notifications")


class TestDestroyPlan:
    def inventory(self, **changes: object) -> Inventory:
        base: dict[str, object] = dict(
            environment="dev",
            cluster="c",
            service_name="s",
            service_status="ACTIVE",
            desired_count=1,
            running_count=1,
            scalable_target=False,
            task_definitions=("td:1", "td:2"),
            images=("sha256:a",),
            log_groups=("/cart-service/dev/app",),
        )
        base.update(changes)
        return Inventory(**base)  # type: ignore[arg-type]

    def test_order_matches_the_state_machine(self) -> None:
        plan = [s["step"] for s in destroy_plan(self.inventory())]
        machine = [s for s in STEP_ORDER[OpKind.DESTROY] if s not in ("validate", "wait_inactive")]
        assert plan == machine

    def test_plan_names_what_it_will_touch(self) -> None:
        plan = {s["step"]: s for s in destroy_plan(self.inventory())}
        assert plan["deregister_task_definitions"]["resources"] == ["td:1", "td:2"]
        assert plan["delete_images"]["resources"] == ["sha256:a"]

    def test_leftovers(self) -> None:
        assert (
            self.inventory(service_status="INACTIVE", task_definitions=(), images=(), log_groups=()).leftovers() == []
        )
        assert len(self.inventory().leftovers()) == 5
