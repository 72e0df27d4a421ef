"""Every state machine executed end to end under moto (real ASL, the sandbox's emulation), with permanent and
transient failures, cancels, stopped executions and timeouts. After every end, the registry says what ECS runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from controlplane import container
from controlplane.domain.flows import FLOWS
from controlplane.domain.model import EnvStatus, OpKind, OpStatus, StepStatus
from tests.conftest import MotoWorld, make_world
from tests.fakes import Faults, client_error


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def faulty(faults: Faults) -> Iterator[MotoWorld]:
    yield from make_world({"dev": "dev"}, build=lambda: container.build(wrap=faults.wrap))


def provisioned(aws: MotoWorld, env: str = "dev") -> MotoWorld:
    op = aws.run("provision", env, {"source_version": "v1"})
    assert op.status is OpStatus.SUCCEEDED, op.error
    return aws


def assert_registry_matches_ecs(aws: MotoWorld, env: str = "dev") -> None:
    """The registry's record of what runs is what describe-services (and the task definition) report."""
    record = aws.env(env)
    assert record.lock is None, f"{env} is still held by {record.lock}"
    assert record.status not in (EnvStatus.PROVISIONING, EnvStatus.DEPLOYING, EnvStatus.DESTROYING)
    found = aws.client("ecs").describe_services(cluster=f"ecommerce-{env}", services=[f"cart-service-{env}"])
    services = [s for s in found["services"] if s["status"] != "INACTIVE"]
    if not services:
        assert record.service is None or not record.service.exists
        return
    svc = services[0]
    image = aws.client("ecs").describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"][
        "containerDefinitions"
    ][0]["image"]
    assert record.service is not None
    assert record.service.task_definition_arn == svc["taskDefinition"]
    assert record.service.image_digest == image.rsplit("@", 1)[1]


def ended_cleanly(op: Any) -> None:
    assert op.status.finished and op.running_step() is None, [(s.name, s.status) for s in op.steps]


def lambda_phases(aws: MotoWorld, execution_arn: str) -> list[str]:
    sfn = aws.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [
        json.loads(e["taskScheduledEventDetails"]["parameters"])["FunctionName"].split("-step_", 1)[1]
        for e in events
        if e["type"] == "TaskScheduled"
    ]


def wait_execution(aws: MotoWorld, arn: str, timeout: float = 20) -> str:
    sfn = aws.client("stepfunctions")
    deadline = time.time() + timeout
    while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
        assert time.time() < deadline, f"{arn} still running"
        time.sleep(0.02)
    return str(status)


class TestLifecycle:
    def test_provision_build_deploy_redeploy_destroy(self, aws: MotoWorld) -> None:
        # GIVEN an empty repository WHEN dev is provisioned THEN a first image is built from the contract's
        # source and deployed, pinned to its digest, on Fargate Spot
        op = aws.run("provision")
        assert op.status is OpStatus.SUCCEEDED, op.error
        assert [s.name for s in op.steps] == ["prepare", "build", "rollout", "health_check", "finish"]
        assert all(s.status is StepStatus.SUCCEEDED for s in op.steps)
        env = aws.env()
        assert env.status is EnvStatus.READY and env.intended is not None and env.drift is None
        assert env.url and env.url.startswith("http://cart-dev-alb")
        svc = aws.service_description()
        assert svc["runningCount"] == 1 and svc["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE_SPOT"
        alarms = svc["deploymentConfiguration"]["alarms"]
        assert alarms["rollback"] is True and "cart-service-dev-target-5xx" in alarms["alarmNames"]
        assert_registry_matches_ecs(aws)

        # build a new version, deploy it by tag; then redeploy what runs
        build = aws.run("build", body={"source_version": "v2"})
        assert build.status is OpStatus.SUCCEEDED and build.result["image_tag"] == "v2"
        deploy = aws.run("deploy", body={"image_tag": "v2"})
        assert deploy.status is OpStatus.SUCCEEDED, deploy.error
        assert lambda_phases(aws, str(deploy.execution_arn)) == list(FLOWS[OpKind.DEPLOY].phases)
        assert aws.env().service.image_digest == build.result["image_digest"]  # type: ignore[union-attr]
        again = aws.run("deploy")
        assert again.status is OpStatus.SUCCEEDED
        assert again.result["task_definition_arn"] == deploy.result["task_definition_arn"]
        assert again.result["deployment_id"] != deploy.result["deployment_id"]
        assert_registry_matches_ecs(aws)

        # destroy: everything the control plane made is gone; the base, the data table and the state stay
        destroy = aws.run("destroy")
        assert destroy.status is OpStatus.SUCCEEDED, destroy.error
        assert [s.name for s in destroy.steps] == list(FLOWS[OpKind.DESTROY].phases)
        contract = aws.container.platform.read_contract("dev")
        assert aws.container.platform.inventory(contract).leftovers() == []
        assert aws.container.platform.tagged_leftovers(contract) == []
        assert aws.env().status is EnvStatus.DESTROYED and aws.env().intended is None
        assert aws.client("dynamodb").describe_table(TableName="cart-service-dev-carts")["Table"]
        assert aws.client("ecs").describe_clusters(clusters=["ecommerce-dev"])["clusters"][0]["status"] == "ACTIVE"
        assert aws.client("s3").list_objects_v2(Bucket=aws.world.backend.bucket)["KeyCount"] == 1
        assert_registry_matches_ecs(aws)

    def test_destroy_is_idempotent_when_already_gone(self, aws: MotoWorld) -> None:
        first, second = aws.run("destroy"), aws.run("destroy")
        assert (first.status, second.status) == (OpStatus.SUCCEEDED, OpStatus.SUCCEEDED)

    def test_prod_profile_has_autoscaling_and_on_demand(self, aws_all: MotoWorld) -> None:
        provisioned(aws_all, "prod")
        svc = aws_all.service_description("prod")
        assert svc["desiredCount"] == 3 and svc["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE"
        targets = aws_all.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")
        (target,) = targets["ScalableTargets"]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 10)

    def test_a_deploy_leaves_the_desired_count_to_autoscaling(self, aws_all: MotoWorld) -> None:
        # GIVEN prod scaled out to 8 by its autoscaling WHEN a deploy runs THEN it still runs 8, not the profile's 3
        provisioned(aws_all, "prod")
        ecs = aws_all.client("ecs")
        ecs.update_service(cluster="ecommerce-prod", service="cart-service-prod", desiredCount=8)
        time.sleep(0.2)
        assert aws_all.run("deploy", "prod").status is OpStatus.SUCCEEDED
        assert aws_all.service_description("prod")["desiredCount"] == 8

    def test_a_contract_change_reaches_the_running_service_on_the_next_deploy(self, aws: MotoWorld) -> None:
        provisioned(aws)
        ssm = aws.client("ssm")
        name = "/cart-service/dev/contract"
        doc = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        doc["security_group_ids"] = [*doc["security_group_ids"], doc["security_group_ids"][0]]
        doc["alarm_names"] = ["cart-service-dev-p95-latency"]
        ssm.put_parameter(Name=name, Value=json.dumps(doc), Overwrite=True, Type="String")
        assert aws.run("deploy").status is OpStatus.SUCCEEDED
        svc = aws.service_description()
        assert svc["deploymentConfiguration"]["alarms"]["alarmNames"] == ["cart-service-dev-p95-latency"]
        assert len(svc["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]) == 2


class TestFailures:
    def test_provision_fails_at_prepare_when_the_base_is_missing(self, aws: MotoWorld) -> None:
        aws.client("ecr").delete_repository(repositoryName="cart-service-dev", force=True)
        op = aws.run("provision")
        assert op.status is OpStatus.FAILED and op.error is not None
        assert (op.error["step"], op.error["code"]) == ("prepare", "BaseInfrastructureMissing")
        assert "ECR repository" in op.error["message"]
        assert aws.env().status is EnvStatus.ABSENT  # nothing was made: the status it had
        ended_cleanly(op)
        assert wait_execution(aws, str(op.execution_arn)) == "FAILED"
        sfn = aws.client("stepfunctions").describe_execution(executionArn=op.execution_arn)
        assert sfn["error"] == "BaseInfrastructureMissing"  # the step's real error, not a generic one
        assert sfn["cause"].startswith("prepare: base infrastructure missing")

    def test_a_failed_build_names_its_phase_context_and_logs(self, aws: MotoWorld) -> None:
        op = aws.run("build", body={"source_version": "fail-tests"})
        assert op.status is OpStatus.FAILED and op.error is not None and op.error["step"] == "build"
        assert "in phase BUILD" in op.error["message"] and "COMMAND_EXECUTION_ERROR" in op.error["message"]
        assert op.error["details"]["build"]["logs_url"].startswith("https://")
        assert aws.env().status is EnvStatus.ABSENT  # a build never moves the status
        ended_cleanly(op)

    def test_a_circuit_breaker_rollback_fails_the_deploy_and_explains_itself(self, aws: MotoWorld) -> None:
        provisioned(aws)
        before = aws.env()
        assert aws.run("build", body={"source_version": "broken-1"}).status is OpStatus.SUCCEEDED
        op = aws.run("deploy", body={"image_tag": "broken-1"})
        assert op.status is OpStatus.FAILED and op.error is not None
        assert (op.error["step"], op.error["code"]) == ("rollout", "DeploymentFailed")
        assert "circuit breaker" in op.error["message"]
        details = op.error["details"]
        assert before.intended is not None
        assert details["rolled_back_to"]["task_definition_arn"] == before.intended.task_definition_arn
        assert details["rolled_back_to"]["image_digest"] == before.intended.image_digest
        assert details["stopped_tasks"][0]["stopped_reason"] == "Essential container in task exited"
        assert details["stopped_tasks"][0]["exit_code"] == 1
        assert any("rolling back" in e["message"] for e in details["service_events"])
        assert details["logs"]["group"] == "/cart-service/dev/app" and details["logs"]["stream"].startswith("cart/")
        after = aws.env()
        assert after.status is EnvStatus.READY and after.intended == before.intended and after.drift is None
        assert_registry_matches_ecs(aws)
        ended_cleanly(op)

    def test_a_deploy_into_an_inactive_cluster_fails(self, aws: MotoWorld) -> None:
        provisioned(aws)
        ecs = aws.client("ecs")
        ecs.update_service(cluster="ecommerce-dev", service="cart-service-dev", desiredCount=0)
        ecs.delete_service(cluster="ecommerce-dev", service="cart-service-dev", force=True)
        ecs.delete_cluster(cluster="ecommerce-dev")
        op = aws.run("deploy")
        assert op.status is OpStatus.FAILED and op.error is not None
        assert op.error["code"] in ("BaseInfrastructureMissing", "InvalidState")
        assert aws.env().status is EnvStatus.FAILED  # nothing serves any more, and the record says so

    def test_the_sandbox_refuses_to_delete_a_cluster_that_has_services(self, aws: MotoWorld) -> None:
        provisioned(aws)
        with pytest.raises(Exception, match="ClusterContainsServicesException"):
            aws.client("ecs").delete_cluster(cluster="ecommerce-dev")

    def test_a_sweep_that_finds_leftovers_fails_and_names_them(self, aws: MotoWorld) -> None:
        provisioned(aws)
        tags = {"cart:environment": "dev", "cart:managed-by": "controlplane"}
        aws.client("logs").create_log_group(logGroupName="/stray/dev/debug", tags=tags)
        op = aws.run("destroy")
        assert op.status is OpStatus.FAILED and op.error is not None and op.error["step"] == "sweep"
        assert "/stray/dev/debug" in op.error["message"]
        assert aws.env().status is EnvStatus.FAILED
        assert_registry_matches_ecs(aws)

    def test_a_refused_call_names_the_call_and_code_and_never_the_account(
        self, faulty: MotoWorld, faults: Faults
    ) -> None:
        # GIVEN a provisioned dev whose step role lacks ecs:UpdateService (AWS's own AccessDenied text)
        provisioned(faulty)
        account = faulty.world.account
        denied = ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": f"User: arn:aws:sts::{account}:assumed-role/cart-controlplane-dev-steps/step_rollout "
                    "is not authorized to perform: ecs:UpdateService on resource: "
                    f"arn:aws:ecs:eu-central-1:{account}:service/ecommerce-dev/cart-service-dev",
                },
                "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "req-1"},
            },
            "UpdateService",
        )
        faults.fail("ecs", "update_service", denied)
        calls_before = faults.calls[("ecs", "update_service")]
        # WHEN a deploy runs
        op = faulty.run("deploy")
        # THEN it fails at once (not retried) with the call, AWS's code and its words, the account masked
        assert op.status is OpStatus.FAILED and op.error is not None
        assert (op.error["step"], op.error["code"]) == ("rollout", "AwsRefused")
        assert op.error["message"].startswith("UpdateService refused (AccessDeniedException): User: arn:aws:sts::<acc")
        assert "ecs:UpdateService" in op.error["message"] and "[request req-1]" in op.error["message"]
        assert faults.calls[("ecs", "update_service")] == calls_before + 1
        answer = faulty.api.operation(op.id)  # what GET /operations/{id} answers (its execution ARN names the account)
        said = json.dumps([answer["error"], [step.get("error") for step in answer["steps"]]])
        assert account not in said and "An error occurred" not in said and "<account>" in said
        # AND the execution's own error is the step's, with the same words
        # (the registry closes the operation in the Catch's step, a moment before the execution's Fail state)
        assert wait_execution(faulty, str(op.execution_arn)) == "FAILED"
        described = faulty.client("stepfunctions").describe_execution(executionArn=op.execution_arn)
        assert described["error"] == "AwsRefused"
        assert (
            "UpdateService refused (AccessDeniedException)" in described["cause"] and account not in described["cause"]
        )
        assert_registry_matches_ecs(faulty)
        ended_cleanly(op)


class TestTransientFailures:
    """One throttling error: Step Functions retries the phase with backoff and the operation succeeds."""

    @pytest.mark.parametrize(
        ("kind", "body", "service", "method", "step", "needs_service"),
        [
            ("provision", {"source_version": "v1"}, "ecs", "register_task_definition", "rollout", False),
            ("build", {"source_version": "v9"}, "codebuild", "start_build", "build", False),
            ("deploy", {}, "ecs", "update_service", "rollout", True),
            ("destroy", {}, "logs", "delete_log_group", "sweep", True),
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
        assert record is not None and record.attempts == 2 and record.status is StepStatus.SUCCEEDED
        assert faults.calls[(service, method)] >= 2
        assert_registry_matches_ecs(faulty)


class TestWaitsCancelAndDeadExecutions:
    def test_a_wait_that_runs_out_of_budget_records_the_real_end_state(self, aws: MotoWorld) -> None:
        # GIVEN a rollout slower than the wait's budget
        provisioned(aws)
        aws.build_image("v2")
        aws.emulator.deploy_seconds = 60
        op = aws.run("deploy", body={"image_tag": "v2", "wait": {"interval_seconds": 1, "timeout_seconds": 1}})
        # THEN one describe call finds it still rolling: TIMED_OUT, and the record shows what ECS runs now
        assert op.status is OpStatus.TIMED_OUT and op.error is not None and op.error["step"] == "rollout"
        env = aws.env()
        assert env.service is not None and env.service.rollout_state == "IN_PROGRESS"
        assert env.status is EnvStatus.READY
        assert_registry_matches_ecs(aws)
        ended_cleanly(op)

    def test_a_lost_event_is_decided_by_one_describe_call_when_the_budget_ends(self, aws: MotoWorld) -> None:
        provisioned(aws)
        aws.emulator.listeners.remove(aws.router.on_emulated)
        try:
            op = aws.run("deploy", body={"wait": {"interval_seconds": 1, "timeout_seconds": 1}})
        finally:
            aws.emulator.listeners.append(aws.router.on_emulated)
        assert op.status is OpStatus.SUCCEEDED, op.error
        assert [s.name for s in op.steps] == ["rollout", "check_rollout", "finish"]
        assert_registry_matches_ecs(aws)

    def test_a_slow_rollout_takes_as_many_state_transitions_as_a_quick_one(self, aws: MotoWorld) -> None:
        provisioned(aws)
        sfn = aws.client("stepfunctions")

        def history(deploy_seconds: float) -> tuple[int, float]:
            aws.emulator.deploy_seconds = deploy_seconds
            started = time.time()
            op = aws.run("deploy", body={"wait": {"interval_seconds": 1, "timeout_seconds": 60}})
            assert op.status is OpStatus.SUCCEEDED, op.error
            took = time.time() - started
            wait_execution(aws, str(op.execution_arn))
            return len(sfn.get_execution_history(executionArn=op.execution_arn, maxResults=1000)["events"]), took

        quick, quick_took = history(0)
        slow, slow_took = history(2)
        assert slow_took > quick_took + 1 and slow == quick  # no polling loop: the event resumes it

    def test_cancel_during_the_rollout_rolls_ecs_back_and_waits_for_it(self, aws: MotoWorld) -> None:
        # GIVEN v1 runs and a deploy of v2 is rolling out (slowly)
        provisioned(aws)
        before = aws.env().intended
        aws.build_image("v2")
        aws.emulator.deploy_seconds = 1.0
        op = aws.start("deploy", body={"image_tag": "v2"})
        aws.wait_for(lambda: (aws.container.operations.get(op.id).step("rollout") or _none()).detail.get("wait"))
        # WHEN it is cancelled
        aws.container.operations.cancel(op.id)
        ended = aws.wait(op.id)
        # THEN the cancel path rolled ECS back to v1's task definition and waited for that rollout
        assert ended.status is OpStatus.ABORTED and ended.result["cancel"]["undone"].startswith("rolled back to")
        assert [s.name for s in ended.steps] == ["rollout", "cancel", "finish"]
        ended_cleanly(ended)
        assert aws.service_description()["taskDefinition"] == before.task_definition_arn  # type: ignore[union-attr]
        assert aws.env().intended == before and aws.env().drift is None
        assert_registry_matches_ecs(aws)
        assert wait_execution(aws, str(op.execution_arn)) == "FAILED"  # ended through its cancel path
        aws.emulator.deploy_seconds = 0
        assert aws.run("deploy").status is OpStatus.SUCCEEDED  # usable again at once

    def test_a_stopped_execution_is_reconciled_from_what_ecs_runs(self, aws: MotoWorld) -> None:
        # GIVEN a deploy of v2 whose execution is stopped by hand in the console while ECS rolls out
        provisioned(aws)
        aws.build_image("v2")
        aws.emulator.deploy_seconds = 0.5
        op = aws.start("deploy", body={"image_tag": "v2"})
        aws.wait_for(lambda: (aws.container.operations.get(op.id).step("rollout") or _none()).detail.get("wait"))
        aws.client("stepfunctions").stop_execution(executionArn=op.execution_arn, error="ByHand")
        time.sleep(1.0)  # ECS finishes the rollout regardless
        # WHEN the reconcile schedule runs
        aws.container.schedules.reconcile()
        # THEN the operation is ABORTED and the record says ECS runs v2 (what it really runs)
        ended = aws.container.operations.get(op.id)
        assert ended.status is OpStatus.ABORTED
        ended_cleanly(ended)
        assert_registry_matches_ecs(aws)
        assert aws.env().status is EnvStatus.READY

    def test_a_cancel_with_let_it_finish_records_the_new_revision(self, aws: MotoWorld) -> None:
        provisioned(aws)
        aws.build_image("v2")
        aws.emulator.deploy_seconds = 0.5
        op = aws.start("deploy", body={"image_tag": "v2"})
        aws.wait_for(lambda: (aws.container.operations.get(op.id).step("rollout") or _none()).detail.get("wait"))
        aws.container.api.cancel(op.id, {"rollout": "finish"})
        ended = aws.wait(op.id)
        assert ended.status is OpStatus.ABORTED and "left to finish" in ended.result["cancel"]["undone"]
        new = aws.service_description()["taskDefinition"]
        assert aws.env().intended is not None and aws.env().intended.task_definition_arn == new  # type: ignore[union-attr]
        assert_registry_matches_ecs(aws)


def _none() -> Any:
    class Empty:
        detail: dict[str, Any] = {}

    return Empty()
