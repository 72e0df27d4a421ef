"""Canaries for the sandbox's moto workarounds (moto is pinned; these fail first when an upgrade moves things)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from importlib.metadata import version
from typing import Any

from controlplane.sandbox import emulation
from tests.conftest import MotoWorld


def test_moto_is_the_pinned_version() -> None:
    assert version("moto") == "5.2.5"


def test_every_patched_moto_callable_still_has_the_assumed_signature(aws: MotoWorld) -> None:
    expected = {
        "LambdaFunction._invoke_lambda": ["self", "event"],
        "EC2ContainerServiceBackend.update_service": ["self", "service_properties"],
        "EC2ContainerServiceBackend.delete_service": ["self", "cluster_name", "service_name", "force"],
        "EC2ContainerServiceResponse.create_service": ["self"],
        "CodeBuildResponse.start_build": ["self"],
        "CodeBuildBackend.start_build": ["self", "project_name", "source_version", "artifact_override"],
        "CodeBuildBackend.batch_get_builds": ["self", "ids"],
        "ECRBackend.put_image": [
            "self",
            "repository_name",
            "image_manifest",
            "image_tag",
            "image_manifest_mediatype",
            "digest",
        ],
        "SfnEnvironment.set_stop": ["self", "stop_date", "cause", "error"],
        "SfnEnvironment.set_error": ["self", "error"],
    }
    for name, params in expected.items():
        assert list(inspect.signature(emulation.ORIGINALS[name]).parameters) == params, name
    assert {n for n in emulation.ORIGINALS if n.startswith("DynamoDBBackend.")} == {
        f"DynamoDBBackend.{n}"
        for n in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query", "scan")
    }


UNPATCHED = r"""
import json, os
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
import boto3
from moto import mock_aws
with mock_aws():
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="g", Description="d", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[{"name": "a", "image": "i", "memory": 512}])
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="f", desiredCount=1,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}})
    svc = ecs.describe_services(cluster="c", services=["s"])["services"][0]
    cb = boto3.client("codebuild")
    cb.create_project(name="proj", source={"type": "NO_SOURCE", "location": "x"}, artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole="arn:aws:iam::123456789012:role/r")
    build = cb.start_build(projectName="proj")["build"]
    status = cb.batch_get_builds(ids=[build["id"]])["builds"][0]["buildStatus"]
    print(json.dumps({"rollout": svc["deployments"][0]["rolloutState"], "running": svc["runningCount"],
                      "capacity": "capacityProviderStrategy" in svc, "build": status}))
"""


def test_moto_still_has_the_gaps_the_emulation_fills() -> None:
    """Run plain moto (no patches) in a fresh interpreter: if a gap closes, drop the matching patch."""
    env = {"PATH": os.environ["PATH"]}  # nothing inherited: no endpoint of a sandbox another test started
    out = subprocess.run(
        [sys.executable, "-c", UNPATCHED], capture_output=True, text=True, check=True, timeout=120, env=env
    )
    seen = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"rollout": "IN_PROGRESS", "running": 0, "capacity": False, "build": "SUCCEEDED"}


def test_patched_moto_progresses_and_pushes(aws: MotoWorld) -> None:
    aws.emulator.build_seconds = 0
    op = aws.run("build", body={"source_version": "canary"})
    assert op.status.value == "SUCCEEDED"
    images = aws.client("ecr").describe_images(repositoryName="cart-service-dev")["imageDetails"]
    assert [i["imageTags"] for i in images] == [["canary"]]


TOKENS: list[dict[str, str]] = []


def token_handler(event: dict[str, str], context: object) -> dict[str, bool]:
    TOKENS.append(event)
    return {"registered": True}


def test_task_token_waits_work_and_the_gaps_the_workarounds_cover(aws: MotoWorld) -> None:
    """lambda:invoke.waitForTaskToken + TimeoutSecondsPath + SendTaskSuccess/Failure run under moto 5.2.5.
    Gaps: SendTaskFailure drops the cause (waits.py puts it on the step's timeline) and StopExecution did not end
    a state waiting for a token (emulation.py interrupts it: ABORTED at once)."""
    import io
    import json
    import time
    import zipfile

    lam, sfn = aws.client("lambda"), aws.client("stepfunctions")
    role = aws.client("iam").create_role(RoleName="canary", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").writestr("x", "x")
    lam.create_function(
        FunctionName="canary",
        Runtime="python3.12",
        Role=role,
        Handler="tests.test_moto_canaries.token_handler",
        Code={"ZipFile": buf.getvalue()},
    )
    asl = {
        "StartAt": "W",
        "States": {
            "W": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "canary", "Payload": {"task_token.$": "$$.Task.Token"}},
                "TimeoutSecondsPath": "$.timeout",
                "ResultPath": "$.result",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    arn = sfn.create_state_machine(name="canary", definition=json.dumps(asl), roleArn=role)["stateMachineArn"]

    def run(name: str, timeout: int, act: Any) -> dict[str, Any]:
        TOKENS.clear()
        ex = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps({"timeout": timeout}))
        deadline = time.time() + 10
        while not TOKENS:
            assert time.time() < deadline
            time.sleep(0.02)
        act(TOKENS[0]["task_token"], ex["executionArn"])
        while sfn.describe_execution(executionArn=ex["executionArn"])["status"] == "RUNNING":
            assert time.time() < deadline
            time.sleep(0.02)
        desc = sfn.describe_execution(executionArn=ex["executionArn"])
        return {"status": desc["status"], "output": json.loads(desc.get("output") or "null")}

    ok = run("ok", 60, lambda t, _: sfn.send_task_success(taskToken=t, output='{"done": true}'))
    assert ok["output"]["result"] == {"done": True}
    failed = run("failed", 60, lambda t, _: sfn.send_task_failure(taskToken=t, error="DeploymentFailed", cause="why"))
    assert failed["output"]["error"] == {"Error": "DeploymentFailed", "Cause": None}  # the cause is dropped
    timed_out = run("timeout", 1, lambda t, _: None)
    assert timed_out["output"]["error"]["Error"] == "States.Timeout"
    stopped = run("stopped", 60, lambda t, ex: sfn.stop_execution(executionArn=ex, error="Cancelled", cause="x"))
    assert stopped["status"] == "ABORTED"
