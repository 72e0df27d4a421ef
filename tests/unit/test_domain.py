"""The pure domain: validation messages, the contract parser, plans and status rules."""

from __future__ import annotations

import json

import pytest

from controlplane.domain import validation as v
from controlplane.domain.contract import ContractError, parse_contract, tier_profile
from controlplane.domain.flows import FLOWS
from controlplane.domain.lifecycle import (
    environment_of,
    keyed_operation_id,
    new_operation_id,
    push_operation_id,
    scheduled_operation_id,
    settle,
)
from controlplane.domain.model import (
    Environment,
    EnvSettings,
    EnvStatus,
    Intended,
    OpKind,
    OpStatus,
    ServiceState,
    Tier,
    default_settings,
)
from controlplane.domain.plans import Inventory, destroy_plan


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
    @pytest.mark.parametrize("name", ["dev", "prod", "pr-123", "preview-feat-x1"])
    def test_valid_names_pass(self, name: str) -> None:
        assert v.check_name(name) == name

    @pytest.mark.parametrize(
        "name", ["", "a", "Dev", "dev_1", "-dev", "dev-", "x" * 16, "d.v", "dev/../x", "dev\n", "dev\r\n", "\ndev"]
    )
    def test_invalid_names_say_what_is_expected(self, name: str) -> None:
        with pytest.raises(v.InvalidInput, match="lowercase letters, digits and '-'"):
            v.check_name(name)


class TestTrailingNewlines:
    """Every pattern is a full match: "$" in a pattern also accepts a trailing newline (defect 6)."""

    @pytest.mark.parametrize(
        "check",
        [
            lambda: v.check_tag("v1\n"),
            lambda: v.deploy_request({"image_digest": "sha256:" + "a" * 64 + "\n"}),
            lambda: v.build_request({"source_version": "main\n"}),
            lambda: v.check_idempotency_key("key\n"),
            lambda: v.check_operation_id("deploy_dev_20261128t014325-ab12cd34\n"),
            lambda: v.settings_request({"notification_topic": "topic\n"}, EnvSettings(), Tier.DEV),
            lambda: v.deploy_on_push({"match": "exact", "pattern": "latest", "repository": "cart-service-dev\n"}),
        ],
    )
    def test_refused(self, check: object) -> None:
        with pytest.raises(v.InvalidInput):
            check()  # type: ignore[operator]


class TestQuery:
    @pytest.mark.parametrize("raw", ["\u00b2", "1" * 4301, "-1", "0", "201", "+5", " 5", "5 ", "1e2", "\u0665"])
    def test_limits_outside_ascii_1_to_200_are_refused(self, raw: str) -> None:
        with pytest.raises(v.InvalidInput, match="from 1 to 200"):
            v.limit(raw)

    def test_limit_default_and_value(self) -> None:
        assert (v.limit(None), v.limit("7"), v.limit("200")) == (50, 7, 200)

    def test_filters(self) -> None:
        assert v.choices("RUNNING,FAILED", ("RUNNING", "FAILED", "SUCCEEDED"), "status") == ["RUNNING", "FAILED"]
        with pytest.raises(v.InvalidInput, match="comma-separated"):
            v.choices("RUNNING,nope", ("RUNNING",), "status")


class TestDepth:
    def test_deep_nesting_is_refused_before_parsing(self) -> None:
        with pytest.raises(v.InvalidInput, match="deeper than 32"):
            v.check_depth("[" * 1000 + "]" * 1000)
        with pytest.raises(v.InvalidInput, match="deeper than 32"):
            v.check_depth('{"a":' * 40 + "1" + "}" * 40)

    def test_brackets_inside_strings_do_not_count(self) -> None:
        v.check_depth(json.dumps({"s": "[" * 100 + '\\"{' * 50}))
        v.check_depth("[" * 32 + "]" * 32)


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

    def test_optional_keys(self) -> None:
        source = {
            "type": "GITHUB",
            "location": "https://github.com/o/r.git",
            "branch": "develop",
            "connection_arn": "a",
        }
        doc = contract_doc(alarm_names=["a1", "a2"], build_source=source, alb_dns_name="x.example.com")
        k = parse_contract(doc, "dev")
        assert k.alarm_names == ("a1", "a2") and k.url == "http://x.example.com"
        assert k.build_source is not None and k.build_source.branch == "develop"
        assert parse_contract(k.to_json(), "dev") == k
        with pytest.raises(ContractError, match=r"build_source\.type"):
            parse_contract(contract_doc(build_source={**source, "type": "S3"}), "dev")

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
    def test_confirmation_rule(self) -> None:
        dev = Environment("dev", Tier.DEV, settings=default_settings("dev", Tier.DEV))
        assert not dev.requires_confirmation()
        assert Environment("s", Tier.STAGING).requires_confirmation()
        assert Environment("p", Tier.PROD).requires_confirmation()
        assert dev.replace(settings=EnvSettings(protected=True)).requires_confirmation()

    def test_default_settings_by_tier(self) -> None:
        assert default_settings("pr-1", Tier.DEV).deploy_on_push is not None
        assert default_settings("pr-1", Tier.DEV).nightly_teardown is True
        assert default_settings("x", Tier.PROD) == EnvSettings(notification_topic="cart-service-x-notifications")

    def test_drift_is_a_sentence_when_ecs_runs_something_else(self) -> None:
        want = Intended("arn:td:2", "sha256:b", "v2", "op", 0.0)
        env = Environment("dev", Tier.DEV, intended=want, service=ServiceState("ACTIVE", "arn:td:2"))
        assert env.drift is None
        assert "ECS runs arn:td:1" in str(env.replace(service=ServiceState("ACTIVE", "arn:td:1")).drift)
        assert "runs no service" in str(env.replace(service=ServiceState("INACTIVE")).drift)
        assert "did not deploy" in str(Environment("d", Tier.DEV, service=ServiceState("ACTIVE", "arn:td:9")).drift)

    def test_times_are_iso_utc_everywhere(self) -> None:
        env = Environment("dev", Tier.DEV, updated_at=1795831366.985, keep_alive_until=1795831400.0)
        body = env.to_dict()
        assert body["updated_at"] == "2026-11-28T02:02:46.985Z"
        assert body["keep_alive_until"] == "2026-11-28T02:03:20.000Z"


SERVING = ServiceState("ACTIVE", "arn:td:1", desired_count=1, running_count=1)
DRAINED = ServiceState("ACTIVE", "arn:td:1", desired_count=0)
GONE = ServiceState("INACTIVE")


class TestSettle:
    """Where an environment stands after an operation ends: from the outcome and what ECS runs."""

    @pytest.mark.parametrize(
        ("kind", "outcome", "before", "service", "expected"),
        [
            (OpKind.DEPLOY, OpStatus.SUCCEEDED, EnvStatus.READY, SERVING, EnvStatus.READY),
            (OpKind.DEPLOY, OpStatus.FAILED, EnvStatus.READY, SERVING, EnvStatus.READY),  # rolled back: serves
            (OpKind.DEPLOY, OpStatus.ABORTED, EnvStatus.READY, SERVING, EnvStatus.READY),
            (OpKind.DEPLOY, OpStatus.FAILED, EnvStatus.READY, GONE, EnvStatus.FAILED),
            (OpKind.PROVISION, OpStatus.SUCCEEDED, EnvStatus.ABSENT, SERVING, EnvStatus.READY),
            (OpKind.PROVISION, OpStatus.FAILED, EnvStatus.ABSENT, None, EnvStatus.ABSENT),  # not read: unchanged
            (OpKind.PROVISION, OpStatus.FAILED, EnvStatus.DESTROYED, GONE, EnvStatus.DESTROYED),  # nothing made
            (OpKind.PROVISION, OpStatus.FAILED, EnvStatus.ABSENT, SERVING, EnvStatus.FAILED),  # half made
            (OpKind.PROVISION, OpStatus.ABORTED, EnvStatus.READY, SERVING, EnvStatus.READY),  # reverted
            (OpKind.DESTROY, OpStatus.SUCCEEDED, EnvStatus.READY, GONE, EnvStatus.DESTROYED),
            (OpKind.DESTROY, OpStatus.ABORTED, EnvStatus.READY, SERVING, EnvStatus.READY),  # stopped before drain
            (OpKind.DESTROY, OpStatus.ABORTED, EnvStatus.READY, DRAINED, EnvStatus.FAILED),  # half removed
            (OpKind.DESTROY, OpStatus.FAILED, EnvStatus.READY, GONE, EnvStatus.FAILED),  # sweep left something
            (OpKind.DESTROY, OpStatus.FAILED, EnvStatus.DESTROYED, GONE, EnvStatus.DESTROYED),
            (OpKind.BUILD, OpStatus.FAILED, EnvStatus.READY, GONE, EnvStatus.READY),  # a build moves nothing
        ],
    )
    def test_table(
        self, kind: OpKind, outcome: OpStatus, before: EnvStatus, service: ServiceState | None, expected: EnvStatus
    ) -> None:
        assert settle(kind, outcome, before, service) is expected

    def test_never_a_transitional_status(self) -> None:
        for kind in OpKind:
            for outcome in OpStatus:
                if not outcome.finished:
                    continue
                for before in (EnvStatus.ABSENT, EnvStatus.READY, EnvStatus.DESTROYED, EnvStatus.FAILED):
                    for service in (None, SERVING, DRAINED, GONE):
                        got = settle(kind, outcome, before, service)
                        assert got not in (EnvStatus.PROVISIONING, EnvStatus.DEPLOYING, EnvStatus.DESTROYING)


class TestOperationIds:
    """The environment sits between underscores, so IAM can scope POST /operations/{id}/cancel by environment."""

    def test_every_kind_of_id_names_its_environment(self) -> None:
        ids = [
            new_operation_id(OpKind.DEPLOY, "dev-2", 1_800_000_000.0),
            keyed_operation_id(OpKind.DESTROY, "dev-2", "key-1"),
            push_operation_id("dev-2", "sha256:" + "a" * 64),
            scheduled_operation_id(OpKind.DESTROY, "dev-2", "20261128t200000"),
        ]
        assert [environment_of(i) for i in ids] == ["dev-2"] * 4
        for op_id in ids:
            assert v.check_operation_id(op_id) == op_id
            assert "_dev_" not in op_id  # a policy on environment dev does not match dev-2

    def test_keys_are_deterministic(self) -> None:
        assert keyed_operation_id(OpKind.DEPLOY, "dev", "k") == keyed_operation_id(OpKind.DEPLOY, "dev", "k")
        assert keyed_operation_id(OpKind.DEPLOY, "dev", "k") != keyed_operation_id(OpKind.DEPLOY, "prod", "k")


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

    def test_order_is_the_destroy_flow(self) -> None:
        plan = [s["step"] for s in destroy_plan(self.inventory())]
        assert plan == list(FLOWS[OpKind.DESTROY].phases)

    def test_plan_names_what_it_will_touch(self) -> None:
        plan = {s["step"]: s for s in destroy_plan(self.inventory())}
        assert plan["sweep"]["resources"] == ["td:1", "td:2", "sha256:a", "/cart-service/dev/app"]
        assert plan["drain"]["resources"] == ["c/s"]
        nightly = {s["step"]: s for s in destroy_plan(self.inventory(), nightly=True)}
        assert nightly["sweep"]["resources"] == ["td:1", "td:2"]

    def test_leftovers(self) -> None:
        assert (
            self.inventory(service_status="INACTIVE", task_definitions=(), images=(), log_groups=()).leftovers() == []
        )
        assert len(self.inventory().leftovers()) == 5


class TestRedaction:
    def test_account_ids_in_arns_and_principals_are_masked(self) -> None:
        from controlplane.domain.redact import redact

        text = (
            "User: arn:aws:sts::123456789012:assumed-role/steps/x is not authorized on "
            "arn:aws:ecs:eu-central-1:123456789012:service/c/s; image 123456789012.dkr.ecr.eu-central-1.amazonaws.com/r"
        )
        assert redact(text) == (
            "User: arn:aws:sts::<account>:assumed-role/steps/x is not authorized on "
            "arn:aws:ecs:eu-central-1:<account>:service/c/s; image <account>.dkr.ecr.eu-central-1.amazonaws.com/r"
        )

    def test_digests_deployment_ids_and_times_are_left_alone(self) -> None:
        from controlplane.domain.redact import redact

        kept = "sha256:" + "1" * 64 + " ecs-svc/1234567890123456789 20261128031636 port 123456789012345"
        assert redact(kept) == kept

    def test_every_string_of_a_record_is_masked_but_the_arns_it_records(self) -> None:
        from controlplane.domain.redact import redact_all

        arn = "arn:aws:ecs:eu-central-1:210987654321:task-definition/cart-service-dev:3"
        record = {
            "message": "on 210987654321",
            "details": [{"reason": "pull 210987654321.dkr.ecr", "rolled_back_to": {"task_definition_arn": arn}}],
            "n": 210987654321,
        }
        assert redact_all(record) == {
            "message": "on <account>",
            "details": [{"reason": "pull <account>.dkr.ecr", "rolled_back_to": {"task_definition_arn": arn}}],
            "n": 210987654321,
        }
