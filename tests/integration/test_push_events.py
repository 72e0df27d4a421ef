"""ECR pushes in emulated AWS: PutImage produces the ECR event, the sandbox's EventBridge delivers it to the
Chalice handler (through the moto Lambda API), and the handler's deploy runs the real state machine."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from controlplane.domain.lifecycle import push_operation_id
from controlplane.domain.model import EnvStatus, OpStatus
from controlplane.sandbox.emulation import manifest_json
from tests.conftest import MotoWorld
from tests.samples import ecr_push


def put_image(aws: MotoWorld, tag: str, seed: str, repo: str = "cart-service-dev") -> str:
    image = aws.client("ecr").put_image(repositoryName=repo, imageManifest=manifest_json(seed), imageTag=tag)["image"]
    return str(image["imageId"]["imageDigest"])


def invoke(aws: MotoWorld, function: str, event: Any) -> Any:
    response = aws.client("lambda").invoke(
        FunctionName=aws.world.function_prefix + function, Payload=json.dumps(event).encode()
    )
    return json.loads(response["Payload"].read())


def wait_for_operation(aws: MotoWorld, op_id: str, timeout: float = 10.0) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        op = aws.registry.get_operation(op_id)
        if op is not None:
            return aws.wait(op_id)
        time.sleep(0.05)
    raise AssertionError(f"operation {op_id} never started")


def test_put_image_redeploys_dev_through_the_event(aws_events: MotoWorld) -> None:
    aws = aws_events
    assert aws.run("provision", body={"source_version": "v1"}).status is OpStatus.SUCCEEDED
    # WHEN an image is pushed as latest with the ECR API
    pushed_at = time.time()
    digest = put_image(aws, "latest", "build-42")
    # THEN the ECR event reaches the handler within 5 s, and a deploy pinned to the digest succeeds
    assert aws.router.wait_idle(timeout=5)
    delivered = [(fn, ev) for fn, ev, _ in aws.router.delivered if fn.endswith("on_ecr_push")]
    assert delivered and time.time() - pushed_at < 5
    event = delivered[-1][1]
    assert event["detail"] == {
        "result": "SUCCESS",
        "repository-name": "cart-service-dev",
        "image-digest": digest,
        "action-type": "PUSH",
        "image-tag": "latest",
    }
    assert event["detail-type"] == "ECR Image Action" and event["source"] == "aws.ecr"
    op = wait_for_operation(aws, push_operation_id("dev", digest))
    assert op.status is OpStatus.SUCCEEDED and op.trigger == "ecr-push", op.error
    service = aws.env().service
    assert service is not None and service.image_digest == digest


def test_a_push_while_deploying_is_deployed_when_the_running_operation_ends(aws_events: MotoWorld) -> None:
    aws = aws_events
    assert aws.run("provision", body={"source_version": "v1"}).status is OpStatus.SUCCEEDED
    aws.emulator.deploy_seconds = 1.0  # the running deploy takes a while
    running = aws.start("deploy")
    # WHEN latest is pushed while that deploy runs
    digest = put_image(aws, "latest", "build-43")
    assert aws.router.wait_idle(timeout=5)
    record = aws.env().push
    assert record is not None and record.state == "pending"  # queued, not raced
    # THEN the running deploy ends first, and its end starts the queued push's deploy
    assert aws.wait(running.id).status is OpStatus.SUCCEEDED
    aws.emulator.deploy_seconds = 0
    op = wait_for_operation(aws, push_operation_id("dev", digest))
    assert op.status is OpStatus.SUCCEEDED, op.error
    assert op.created_at >= (aws.container.operations.get(running.id).ended_at or 0) - 0.001
    service = aws.env().service
    assert service is not None and service.image_digest == digest


def test_dev_takes_latest_again_and_again_while_prod_keeps_tags_immutable(aws_all: MotoWorld) -> None:
    first = put_image(aws_all, "latest", "dev-1")
    second = put_image(aws_all, "latest", "dev-2")  # a mutable repository: the tag moves
    assert first != second
    put_image(aws_all, "v1.0.0", "prod-1", repo="cart-service-prod")
    with pytest.raises(Exception, match=r"Image(Tag)?AlreadyExists"):
        put_image(aws_all, "v1.0.0", "prod-2", repo="cart-service-prod")


def test_malformed_and_foreign_events_are_logged_and_dropped_never_raised(aws_events: MotoWorld) -> None:
    aws = aws_events
    broken = ecr_push()
    del broken["detail"]["image-digest"]
    assert invoke(aws, "on_ecr_push", broken)["outcome"] == "dropped"
    assert invoke(aws, "on_ecr_push", {"hello": "world"})["outcome"] == "dropped"
    for not_an_object in ([1, 2], "push", 7, None):
        assert invoke(aws, "on_ecr_push", not_an_object)["outcome"] == "dropped"
        assert invoke(aws, "on_ecs_deployment", not_an_object)["outcome"] == "dropped"
    assert invoke(aws, "on_ecr_push", ecr_push(result="FAILURE"))["outcome"] == "ignored"
    # a push for a repository no environment follows: handled, nothing started
    assert invoke(aws, "on_ecr_push", ecr_push(repository="someone-else"))["environments"] == []
    assert aws.registry.list_operations("dev", 10).items == []


def test_a_push_for_a_destroyed_environment_starts_nothing(aws_events: MotoWorld) -> None:
    aws = aws_events
    assert aws.run("provision", body={"source_version": "v1"}).status is OpStatus.SUCCEEDED
    assert aws.run("destroy").status is OpStatus.SUCCEEDED
    before = len(aws.registry.list_operations("dev", 50).items)
    result = invoke(aws, "on_ecr_push", ecr_push())
    assert result["environments"][0]["outcome"] == "dropped"
    assert "destroyed" in result["environments"][0]["reason"]
    assert len(aws.registry.list_operations("dev", 50).items) == before


def test_pushes_during_a_destroy_neither_fail_it_nor_deploy_after_it(aws_events: MotoWorld) -> None:
    # GIVEN dev running WHEN latest is pushed again and again while dev is destroyed
    aws = aws_events
    assert aws.run("provision", body={"source_version": "v1"}).status is OpStatus.SUCCEEDED
    aws.emulator.drain_seconds = 0.5
    destroy = aws.start("destroy")
    pushes = 0
    while aws.container.operations.get(destroy.id).status is OpStatus.RUNNING:
        put_image(aws, "latest", f"storm-{pushes}")
        pushes += 1
        time.sleep(0.05)
    assert aws.router.wait_idle(timeout=10)
    # THEN the destroy succeeded (images pushed meanwhile were swept too), and nothing deployed afterwards
    ended = aws.container.operations.get(destroy.id)
    assert pushes > 3 and ended.status is OpStatus.SUCCEEDED, ended.error
    assert aws.env().status is EnvStatus.DESTROYED
    deploys = [o for o in aws.registry.list_operations("dev", 50).items if o.kind.value == "deploy"]
    assert deploys == []
    assert aws.service_description()["status"] == "INACTIVE"
