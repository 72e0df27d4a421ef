"""The functions' role policy (terraform/modules/controlplane/lambda-policy.json.tftpl) against what the control
plane really calls.

A whole lifecycle runs in the emulated AWS (provision with a build, deploy by tag, redeploy, a broken deploy rolled
back by the circuit breaker, a cancelled deploy, autoscaling on staging, destroy, the nightly teardown and the
morning restore, the reminder and reconcile schedules) while every call of the control plane's clients is recorded
with the IAM action(s) and resource ARN(s) AWS authorizes, the permissions AWS checks implicitly included
(controlplane/sandbox/iam.py). Then:

- the rendered policy allows every one of them;
- every action the policy grants is needed (used by the lifecycle, or listed below with the reason it is not
  exercised here), and removing any one that is used makes the check fail;
- a dev stage's policy denies everything the lifecycle did to another environment (staging), and another stage's
  state machines;
- with the recorder enforcing the policy, a permission taken away fails the real call (AccessDeniedException) and
  the operation with it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.domain.model import OpStatus
from controlplane.sandbox.iam import (
    ALLOW,
    CallRecorder,
    Naming,
    PolicyInputs,
    Request,
    evaluate,
    render_policy,
)
from tests.conftest import REGION, MotoWorld, make_world

ACCOUNT = "123456789012"  # moto's
STAGE = "sandbox"  # seed.seed_all's
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
ENVIRONMENTS = {"dev": "dev", "staging": "staging"}

# Granted but not exercised by the emulated lifecycle, and why each is needed in AWS.
NOT_EXERCISED = {
    "logs:CreateLogStream": "the Lambda runtime writes the functions' logs with the role",
    "logs:PutLogEvents": "the Lambda runtime writes the functions' logs with the role",
    "xray:PutTraceSegments": "active tracing (X-Ray is off in the tests)",
    "xray:PutTelemetryRecords": "active tracing",
    "xray:GetSamplingRules": "active tracing (the X-Ray SDK's sampling)",
    "xray:GetSamplingTargets": "active tracing (the X-Ray SDK's sampling)",
    "sqs:SendMessage": "Lambda sends a failed asynchronous event to the on-failure destination with the role",
    "kms:Encrypt": "the failure queue and the registry are encrypted with the control plane's key",
    "kms:DescribeKey": "KMS-encrypted DynamoDB and SQS describe the key on the caller's behalf",
}


def naming() -> Naming:
    return Naming(ACCOUNT, REGION, controlplane_key_arn=KEY)


def policy_for(environments: tuple[str, ...], stage: str = STAGE) -> dict[str, Any]:
    return render_policy(PolicyInputs(stage, environments, ACCOUNT, REGION, kms_key_arn=KEY))


def start_world(recorder: CallRecorder, environments: dict[str, str]) -> tuple[Iterator[MotoWorld], MotoWorld]:
    from controlplane import container

    world = make_world(environments, build=lambda: container.build(wrap=recorder.wrap))
    return world, next(world)


def lifecycle(aws: MotoWorld) -> None:
    def ok(op: Any) -> Any:
        assert op.status is OpStatus.SUCCEEDED, op.error
        return op

    ok(aws.run("provision", body={"source_version": "v1"}))  # an empty repository: the provision builds first
    aws.build_image("v2")
    ok(aws.run("deploy", body={"image_tag": "v2"}))
    ok(aws.run("deploy", body={}))  # redeploy what runs
    aws.build_image("broken-1")
    broken = aws.run("deploy", body={"image_tag": "broken-1"})
    assert broken.status is OpStatus.FAILED  # the circuit breaker rolled it back
    aws.emulator.deploy_seconds = 1.0
    op = aws.start("deploy", body={"image_tag": "v2"})
    aws.wait_for(lambda: (aws.container.operations.get(op.id).step("rollout") or _none()).detail.get("wait"))
    aws.container.operations.cancel(op.id)
    assert aws.wait(op.id).status is OpStatus.ABORTED
    aws.emulator.deploy_seconds = 0
    aws.emulator.build_seconds = 1.0
    building = aws.start("build", body={"source_version": "v3"})
    aws.wait_for(lambda: (aws.container.operations.get(building.id).step("build") or _none()).detail.get("build_id"))
    assert "build" in aws.api.operation(building.id)["progress"]  # what CodeBuild reports now
    aws.container.operations.cancel(building.id)  # stops the build
    assert aws.wait(building.id).status is OpStatus.ABORTED
    aws.emulator.build_seconds = 0
    ok(aws.run("provision", env="staging", body={"source_version": "s1"}))  # autoscaling: a scalable target
    ok(aws.run("destroy", env="staging", body={"confirm": "staging"}))
    for schedule in ("teardown_reminder", "nightly_teardown", "morning_restore", "reconcile"):
        fire(aws, schedule)


class _none:
    detail: dict[str, Any] = {}


def fire(aws: MotoWorld, schedule: str) -> None:
    import time

    from controlplane.sandbox.events import scheduled_event

    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{aws.world.function_prefix}{schedule}"
    event = scheduled_event(ACCOUNT, REGION, rule)
    event["time"] = {"nightly_teardown": "2026-11-25T20:00:00Z", "morning_restore": "2026-11-26T06:00:00Z"}.get(
        schedule, event["time"]
    )
    response = aws.client("lambda").invoke(
        FunctionName=aws.world.function_prefix + schedule, Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result = json.loads(response["Payload"].read())
    if result.get("execution_arn"):
        sfn, deadline = aws.client("stepfunctions"), time.time() + 60
        while sfn.describe_execution(executionArn=result["execution_arn"])["status"] == "RUNNING":
            assert time.time() < deadline
            time.sleep(0.05)
        for op_id in result.get("operations", []):
            assert aws.container.operations.get(op_id).status is OpStatus.SUCCEEDED


@pytest.fixture(scope="module")
def recorded() -> CallRecorder:
    recorder = CallRecorder(naming())
    world, aws = start_world(recorder, ENVIRONMENTS)
    try:
        lifecycle(aws)
    finally:
        world.close()
    return recorder


def test_every_call_is_named(recorded: CallRecorder) -> None:
    assert recorded.unknown == [], "teach controlplane.sandbox.iam.requests_for these calls"
    used = recorded.actions()
    # the lifecycle reached what matters (a sanity check of the lifecycle itself)
    for action in (
        "codebuild:StartBuild",
        "ecs:RegisterTaskDefinition",
        "iam:PassRole",
        "ecs:CreateService",
        "ecs:UpdateService",
        "states:SendTaskSuccess",
        "codebuild:BatchGetBuilds",
        "codebuild:StopBuild",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "cloudwatch:PutMetricAlarm",
        "iam:CreateServiceLinkedRole",
        "ecs:DeleteService",
        "ecs:DeleteTaskDefinitions",
        "ecr:BatchDeleteImage",
        "logs:DeleteLogGroup",
        "sns:Publish",
        "ssm:GetParameter",
    ):
        assert action in used, action


def test_the_policy_allows_every_call_the_lifecycle_made(recorded: CallRecorder) -> None:
    denied = recorded.denials(policy_for(tuple(ENVIRONMENTS)))
    assert not denied, "denied:\n" + "\n".join(map(str, denied))


def _granted(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def _used(granted: str, recorded: CallRecorder) -> bool:
    return any(
        evaluate({"Statement": [{"Effect": "Allow", "Action": granted, "Resource": "*"}]}, a, "*") == ALLOW
        for a in recorded.actions()
    )


def test_every_granted_action_is_needed(recorded: CallRecorder) -> None:
    granted = _granted(policy_for(tuple(ENVIRONMENTS)))
    unused = {a for a in granted if not _used(a, recorded)} - set(NOT_EXERCISED)
    assert not unused, f"granted but never needed (least privilege: remove them, or say why in NOT_EXERCISED): {unused}"
    assert not set(NOT_EXERCISED) & recorded.actions(), "exercised after all: take it off NOT_EXERCISED"


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    trimmed = copy.deepcopy(policy)
    for statement in trimmed["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        statement["Action"] = [a for a in actions if a != action] or ["none:None"]
    return trimmed


def test_removing_any_used_permission_fails_the_check(recorded: CallRecorder) -> None:
    policy = policy_for(tuple(ENVIRONMENTS))
    for action in sorted(a for a in _granted(policy) if _used(a, recorded)):
        denied = recorded.denials(without(policy, action))
        assert denied and all(evaluate(without(policy, "none"), r) == ALLOW for r in denied), action
    # the implicit permissions AWS checks, by name (the defect this test is for)
    for implicit in (
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        "iam:PassRole",
    ):
        denied = recorded.denials(without(policy, implicit))
        assert any(r.implicit for r in denied), implicit


def test_a_dev_stage_cannot_touch_another_environment(recorded: CallRecorder) -> None:
    """What the lifecycle did to staging, a stage managing dev only may not do (Describe and List calls aside,
    granted on "*" or account-wide patterns where AWS offers nothing narrower or where reading is harmless)."""
    dev_only = policy_for(("dev",))
    staging = [
        r
        for c in recorded.calls
        for r in c.requests
        if ("staging" in r.resource or "staging" in json.dumps(dict(r.context)))
        and not r.action.split(":")[1].startswith(("Describe", "List"))
    ]
    assert staging
    allowed = [str(r) for r in staging if evaluate(dev_only, r) == ALLOW]
    assert not allowed, "\n".join(allowed)

    # and prod's, named as the lifecycle named dev's
    def to_prod(value: str) -> str:
        return "prod" if value == "dev" else value.replace("-dev", "-prod")

    prod = [
        Request(r.action, to_prod(r.resource), {k: tuple(map(to_prod, v)) for k, v in r.context.items()}, r.implicit)
        for c in recorded.calls
        for r in c.requests
        if "-dev" in r.resource and not r.action.split(":")[1].startswith(("Describe", "List"))
    ]
    assert prod and not [str(r) for r in prod if evaluate(dev_only, r) == ALLOW]


def test_a_stage_cannot_run_another_stages_state_machines(recorded: CallRecorder) -> None:
    other = policy_for(tuple(ENVIRONMENTS), stage="prod")
    mine = [r for c in recorded.calls for r in c.requests if r.action.startswith("states:Start")]
    assert mine and all(evaluate(other, r) != ALLOW for r in mine)


def test_a_missing_permission_fails_the_real_call() -> None:
    """Enforcing: the policy without iam:PassRole (which AWS checks implicitly when a task definition names its
    roles) fails RegisterTaskDefinition, so the provision fails with AccessDenied, as it would in AWS."""
    policy = without(policy_for(("dev",)), "iam:PassRole")
    recorder = CallRecorder(naming(), policy=policy)
    world, aws = start_world(recorder, {"dev": "dev"})
    try:
        op = aws.run("provision", body={"source_version": "v1"})
    finally:
        world.close()
    assert op.status is OpStatus.FAILED
    assert "AccessDenied" in json.dumps(op.error) and "iam:PassRole" in json.dumps(op.error), op.error
    assert [c.operation for c in recorder.calls if c.denied] == ["RegisterTaskDefinition"]


def test_the_template_renders_as_terraform_renders_it() -> None:
    """The sandbox renders the same file Terraform does (templatefile); a tiny template with every construct."""
    from controlplane.sandbox.iam import render_template

    text = '{"a": "${x}-${y}", "b": ${jsonencode([for e in envs : "p-${e}"])}, "c": ${jsonencode(flatten([for e in envs : ["${e}1", "${e}2"]]))}, "d": ${jsonencode(envs)}, "e": "$${literal}"}'
    rendered = json.loads(render_template(text, {"x": "1", "y": "2", "envs": ["dev", "qa"]}))
    assert rendered == {
        "a": "1-2",
        "b": ["p-dev", "p-qa"],
        "c": ["dev1", "dev2", "qa1", "qa2"],
        "d": ["dev", "qa"],
        "e": "${literal}",
    }


def test_moto_cannot_enforce_a_scoped_policy() -> None:
    """Canary: why the recorder evaluates the policy instead of moto's IAM enforcement. moto 5.2.5 authorizes an
    ECS call against the resource "*", so an Allow scoped to the cluster's ARN denies it; AWS would allow it."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    from moto.core.authorization import enable_iam_authentication

    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        iam.create_user(UserName="u")
        scoped = {
            "Effect": "Allow",
            "Action": "ecs:DescribeClusters",
            "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c",
        }
        iam.put_user_policy(
            UserName="u", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [scoped]})
        )
        key = iam.create_access_key(UserName="u")["AccessKey"]
        ecs = boto3.client(
            "ecs",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        with enable_iam_authentication():
            try:
                ecs.describe_clusters(clusters=["c"])
                outcome = "allowed"
            except ClientError as exc:
                outcome = str(exc)
    assert "AccessDenied" in outcome, "moto enforces resource-scoped policies now: consider its enforcement"
    assert (
        evaluate(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ecs:DescribeClusters",
                        "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c",
                    }
                ]
            },
            Request("ecs:DescribeClusters", f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c"),
        )
        == ALLOW
    )
