"""Every state machine executed end to end under moto (real ASL), with permanent and transient failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from controlplane import container
from controlplane.domain.model import EnvStatus, OpStatus
from controlplane.domain.plans import STEP_ORDER, OpKind
from tests.conftest import MotoWorld, make_world
from tests.fakes import Faults, client_error


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def faulty(faults: Faults) -> Iterator[MotoWorld]:
    yield from make_world({"dev": "dev"}, build=lambda: container.build(wrap=faults.wrap))


def provisioned(aws: MotoWorld) -> MotoWorld:
    op = aws.run("provision", body={"source_version": "v1"})
    assert op.status is OpStatus.SUCCEEDED, op.error
    return aws


def assert_unlocked(aws: MotoWorld, env: str = "dev") -> None:
    assert aws.store.get_lock(env) is None


def lambda_steps(aws: MotoWorld, execution_arn: str) -> list[str]:
    """The Lambda steps an execution ran, in order (from the execution history)."""
    sfn = aws.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    names = []
    for e in events:
        if e["type"] == "TaskScheduled":
            fn = json.loads(e["taskScheduledEventDetails"]["parameters"])["FunctionName"]
            names.append(fn.split("-step_", 1)[1])
    return names


def dedupe(steps: list[str]) -> list[str]:
    return [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]


class TestLifecycle:
    def test_provision_build_deploy_destroy(self, aws: MotoWorld) -> None:
        # GIVEN an empty repository WHEN dev is provisioned THEN a first image is built and deployed
        op = aws.run("provision", body={"source_version": "v1"})
        assert op.status is OpStatus.SUCCEEDED, op.error
        ran = dedupe(lambda_steps(aws, op.execution_arn))
        assert [s for s in ran if s in STEP_ORDER[OpKind.PROVISION]] == list(STEP_ORDER[OpKind.PROVISION])
        assert "wait_build" in ran
        env = aws.service.get_environment("dev")
        assert env.status is EnvStatus.READY and env.image_digest == op.result["image_digest"]
        ecs = aws.client("ecs")
        svc = ecs.describe_services(cluster="cart-service-dev", services=["cart-service-dev"])["services"][0]
        assert svc["runningCount"] == 1 and svc["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE_SPOT"
        td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        assert td["containerDefinitions"][0]["image"].endswith("@" + env.image_digest)  # pinned to the digest
        assert_unlocked(aws)

        # build a new version, then deploy it by tag
        build = aws.run("build", body={"source_version": "v2"})
        assert build.status is OpStatus.SUCCEEDED and build.result["image_tag"] == "v2"
        assert dedupe(lambda_steps(aws, build.execution_arn)) == list(STEP_ORDER[OpKind.BUILD])
        deploy = aws.run("deploy", body={"image_tag": "v2"})
        assert deploy.status is OpStatus.SUCCEEDED, deploy.error
        assert dedupe(lambda_steps(aws, deploy.execution_arn)) == list(STEP_ORDER[OpKind.DEPLOY])
        assert aws.service.get_environment("dev").image_digest == build.result["image_digest"]

        # redeploy the current image: a force-new-deployment on the same task definition
        again = aws.run("deploy", body={})
        assert again.status is OpStatus.SUCCEEDED
        assert again.result["task_definition_arn"] == deploy.result["task_definition_arn"]
        assert again.result["deployment_id"] != deploy.result["deployment_id"]

        # destroy: everything the control plane made is gone, the base and data table stay
        destroy = aws.run("destroy")
        assert destroy.status is OpStatus.SUCCEEDED, destroy.error
        assert dedupe(lambda_steps(aws, destroy.execution_arn)) == list(STEP_ORDER[OpKind.DESTROY])
        contract = aws.container.platform.read_contract("dev")
        assert aws.container.platform.inventory(contract).leftovers() == []
        assert aws.container.platform.tagged_leftovers(contract) == []
        assert (
            aws.client("ecs").list_task_definitions(familyPrefix="cart-service-dev", status="INACTIVE")[
                "taskDefinitionArns"
            ]
            == []
        )  # deregistered, then deleted
        assert aws.service.get_environment("dev").status is EnvStatus.DESTROYED
        assert aws.client("dynamodb").describe_table(TableName="cart-service-dev-carts")["Table"]
        assert aws.client("ecs").describe_clusters(clusters=["cart-service-dev"])["clusters"][0]["status"] == "ACTIVE"
        state = aws.client("s3").list_objects_v2(Bucket=aws.world.backend.bucket)["KeyCount"]
        assert state == 1
        assert_unlocked(aws)

    def test_destroy_is_idempotent_when_already_gone(self, aws: MotoWorld) -> None:
        first = aws.run("destroy")
        second = aws.run("destroy")
        assert (first.status, second.status) == (OpStatus.SUCCEEDED, OpStatus.SUCCEEDED)

    def test_prod_profile_has_autoscaling_and_on_demand(self, aws_all: MotoWorld) -> None:
        op = aws_all.run("provision", env="prod")
        assert op.status is OpStatus.SUCCEEDED, op.error
        svc = aws_all.client("ecs").describe_services(cluster="cart-service-prod", services=["cart-service-prod"])
        assert svc["services"][0]["desiredCount"] == 3
        assert svc["services"][0]["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE"
        targets = aws_all.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")
        (target,) = targets["ScalableTargets"]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 10)


class TestPermanentFailures:
    def test_provision_fails_at_check_base_when_the_base_is_missing(self, aws: MotoWorld) -> None:
        aws.client("ecr").delete_repository(repositoryName="cart-service-dev", force=True)
        op = aws.run("provision")
        assert op.status is OpStatus.FAILED
        assert op.error["step"] == "check_base" and "ECR repository" in op.error["message"]
        assert op.error["code"] == "BaseInfrastructureMissing"
        assert aws.service.get_environment("dev").status is EnvStatus.FAILED
        assert_unlocked(aws)

    def test_build_fails_when_codebuild_fails(self, aws: MotoWorld) -> None:
        op = aws.run("build", body={"source_version": "fail-tests"})
        assert op.status is OpStatus.FAILED and op.error["step"] == "wait_build"
        assert "FAILED" in op.error["message"]
        assert aws.service.get_environment("dev").status is EnvStatus.ABSENT  # a build never moves the status
        assert_unlocked(aws)

    def test_deploy_rolled_back_by_the_circuit_breaker_is_failed(self, aws: MotoWorld) -> None:
        provisioned(aws)
        before = aws.service.get_environment("dev")
        assert aws.run("build", body={"source_version": "broken-1"}).status is OpStatus.SUCCEEDED
        op = aws.run("deploy", body={"image_tag": "broken-1"})
        assert op.status is OpStatus.FAILED and op.error["step"] == "wait_deployment"
        assert op.error["code"] == "DeploymentFailed" and "circuit breaker" in op.error["message"]
        after = aws.service.get_environment("dev")
        assert after.status is EnvStatus.READY and after.image_digest == before.image_digest
        svc = aws.client("ecs").describe_services(cluster="cart-service-dev", services=["cart-service-dev"])
        assert svc["services"][0]["taskDefinition"] == before.task_definition_arn  # rolled back, still serving
        assert_unlocked(aws)

    def test_deploy_of_an_unknown_tag_fails_at_resolve(self, aws: MotoWorld) -> None:
        provisioned(aws)
        op = aws.run("deploy", body={"image_tag": "nope"})
        assert op.status is OpStatus.FAILED and op.error["step"] == "resolve_image"
        assert aws.service.get_environment("dev").status is EnvStatus.READY
        assert_unlocked(aws)

    def test_deploy_to_an_environment_never_provisioned_fails_at_validate(self, aws: MotoWorld) -> None:
        op = aws.run("deploy", body={})
        assert op.status is OpStatus.FAILED and op.error["step"] == "validate"
        assert "provision it before deploying" in op.error["message"]
        assert aws.service.get_environment("dev").status is EnvStatus.ABSENT

    def test_destroy_fails_when_images_cannot_be_deleted(self, faulty: MotoWorld, faults: Faults) -> None:
        provisioned(faulty)
        faults.always("ecr", "batch_delete_image", client_error("AccessDeniedException", 403))
        op = faulty.run("destroy")
        assert op.status is OpStatus.FAILED and op.error["step"] == "delete_images"
        assert faulty.service.get_environment("dev").status is EnvStatus.FAILED
        assert_unlocked(faulty)
        # the environment is consistent: what ran before the failure is done, the rest is not
        svc = faulty.client("ecs").describe_services(cluster="cart-service-dev", services=["cart-service-dev"])
        assert svc["services"][0]["status"] == "INACTIVE"
        assert faulty.client("ecr").describe_images(repositoryName="cart-service-dev")["imageDetails"]

    def test_sweep_fails_when_something_tagged_for_the_environment_remains(self, aws: MotoWorld) -> None:
        provisioned(aws)
        tags = {"cart:environment": "dev", "cart:managed-by": "controlplane"}
        aws.client("logs").create_log_group(logGroupName="/stray/dev/debug", tags=tags)
        op = aws.run("destroy")
        assert op.status is OpStatus.FAILED and op.error["step"] == "sweep"
        assert "/stray/dev/debug" in op.error["message"]
        assert_unlocked(aws)


class TestTransientFailures:
    """One throttling error: Step Functions retries the step with backoff and the operation succeeds."""

    @pytest.mark.parametrize(
        ("kind", "body", "service", "method", "step", "needs_service"),
        [
            ("provision", {}, "ecs", "register_task_definition", "register_task_definition", False),
            ("build", {"source_version": "v9"}, "codebuild", "start_build", "start_build", False),
            ("deploy", {}, "ecs", "update_service", "apply_service", True),
            ("destroy", {}, "logs", "delete_log_group", "delete_log_groups", True),
        ],
    )
    def test_retried_and_succeeds(
        self,
        faulty: MotoWorld,
        faults: Faults,
        kind: str,
        body: dict[str, str],
        service: str,
        method: str,
        step: str,
        needs_service: bool,
    ) -> None:
        if needs_service:
            provisioned(faulty)
        faults.fail(service, method, client_error("ThrottlingException", 400))
        op = faulty.run(kind, body=body)
        assert op.status is OpStatus.SUCCEEDED, op.error
        record = op.step(step)
        assert record is not None and record.attempts == 2
        assert faults.calls[(service, method)] >= 2
        assert_unlocked(faulty)


class TestWaitsAndCancel:
    def test_a_wait_that_runs_out_of_budget_times_out(self, aws: MotoWorld) -> None:
        # GIVEN a rollout slower than the wait's budget
        provisioned(aws)
        aws.emulator.deploy_seconds = 60
        op = aws.run("deploy", body={"wait": {"interval_seconds": 1, "timeout_seconds": 1}})
        # THEN no event ends the wait; one describe call (check_deployment) finds it still rolling: TIMED_OUT
        assert op.status is OpStatus.TIMED_OUT and op.error["step"] == "check_deployment"
        wait = op.step("wait_deployment")
        assert wait is not None and wait.error == "no event within the wait's timeout budget"
        assert aws.service.get_environment("dev").status is EnvStatus.READY
        assert_unlocked(aws)

    def test_a_lost_event_is_decided_by_one_describe_call_when_the_budget_ends(self, aws: MotoWorld) -> None:
        # GIVEN ECS completes the rollout but its event never arrives (EventBridge is best effort)
        provisioned(aws)
        aws.emulator.listeners.remove(aws.router.on_emulated)
        try:
            op = aws.run("deploy", body={"wait": {"interval_seconds": 1, "timeout_seconds": 1}})
        finally:
            aws.emulator.listeners.append(aws.router.on_emulated)
        # THEN the wait ends with the budget and the describe call finds it COMPLETED: the deploy succeeds
        assert op.status is OpStatus.SUCCEEDED, op.error
        assert [s.name for s in op.steps if s.name.startswith(("wait_", "check_"))] == [
            "wait_deployment",
            "check_deployment",
        ]

    def test_a_slow_rollout_takes_as_many_state_transitions_as_a_quick_one(self, aws: MotoWorld) -> None:
        # GIVEN one deploy whose rollout is instant and one that takes 2 s
        provisioned(aws)
        sfn = aws.client("stepfunctions")

        def transitions(deploy_seconds: float) -> tuple[int, float]:
            aws.emulator.deploy_seconds = deploy_seconds
            started = time.time()
            op = aws.run("deploy", body={"wait": {"interval_seconds": 1, "timeout_seconds": 60}})
            assert op.status is OpStatus.SUCCEEDED, op.error
            took = time.time() - started
            deadline = time.time() + 10  # the unlock step records the end a moment before the execution ends
            while sfn.describe_execution(executionArn=op.execution_arn)["status"] == "RUNNING":
                assert time.time() < deadline
                time.sleep(0.02)
            events = sfn.get_execution_history(executionArn=op.execution_arn, maxResults=1000)["events"]
            return len(events), took

        quick, quick_took = transitions(0)
        slow, slow_took = transitions(2)
        # THEN the slow one took longer but its history has exactly as many events: no polling loop
        assert slow_took > quick_took + 1
        assert slow == quick

    def test_cancel_aborts_the_execution_and_frees_the_environment(self, aws: MotoWorld) -> None:
        provisioned(aws)
        aws.emulator.deploy_seconds = 60
        started, _ = aws.service.start(OpKind.DEPLOY, "dev", {"wait": {"interval_seconds": 1}})
        deadline = time.time() + 10
        while aws.store.get_operation(started.id).step("wait_deployment") is None and time.time() < deadline:
            time.sleep(0.05)  # cancel while ECS works, as a user would
        op = aws.service.cancel(started.id)
        assert op.status is OpStatus.ABORTED
        sfn = aws.client("stepfunctions")
        assert sfn.describe_execution(executionArn=started.execution_arn)["status"] == "ABORTED"
        assert_unlocked(aws)
        assert aws.service.get_environment("dev").status is EnvStatus.READY
        aws.emulator.deploy_seconds = 0  # the environment is usable again at once
        assert aws.run("deploy", body={}).status is OpStatus.SUCCEEDED
