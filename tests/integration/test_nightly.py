"""Nightly teardown and morning restore in emulated AWS: the schedules' handlers, fired with the event a scheduled
rule delivers, run ONE execution each (a Map over environments) and bring dev back exactly."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.domain.model import EnvStatus, OpStatus
from controlplane.domain.schedule import iso
from tests.conftest import MotoWorld, make_world
from tests.samples import load


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    yield from make_world({"dev": "dev", "demo": "dev", "staging": "staging"})


def fire(aws: MotoWorld, schedule: str, at: str) -> Any:
    event = load("scheduled-event.json")
    event["time"] = at
    event["resources"] = [f"arn:aws:events:eu-central-1:{aws.world.account}:rule/{aws.world.function_prefix}{schedule}"]
    response = aws.client("lambda").invoke(
        FunctionName=aws.world.function_prefix + schedule, Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def wait_execution(aws: MotoWorld, arn: str, timeout: float = 60) -> dict[str, Any]:
    sfn, deadline = aws.client("stepfunctions"), time.time() + timeout
    while time.time() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            return dict(desc)
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running")


def running(aws: MotoWorld, env: str) -> dict[str, Any]:
    """What the environment runs: desired count, autoscaling limits, image digest (read from AWS)."""
    name, cluster = f"cart-service-{env}", f"ecommerce-{env}"
    svc = aws.client("ecs").describe_services(cluster=cluster, services=[name])["services"][0]
    image = aws.client("ecs").describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    targets = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{name}"]
    )["ScalableTargets"]
    limits = (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) if targets else None
    return {
        "status": svc["status"],
        "desired": svc["desiredCount"],
        "limits": limits,
        "digest": image["containerDefinitions"][0]["image"].split("@", 1)[1],
    }


def test_nightly_teardown_then_morning_restore_brings_dev_back_exactly(world: MotoWorld) -> None:
    aws = world
    for env in ("dev", "demo", "staging"):
        op = aws.run("provision", env=env, body={"source_version": "v1"})
        assert op.status is OpStatus.SUCCEEDED, op.error
    # GIVEN dev scaled out of band to 3 tasks with autoscaling limits 2..5, and demo kept alive for tonight
    name, cluster = "cart-service-dev", "ecommerce-dev"
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{cluster}/{name}",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=5,
    )
    aws.client("ecs").update_service(cluster=cluster, service=name, desiredCount=3)
    before = running(aws, "dev")
    assert before["desired"] == 3 and before["limits"] == (2, 5)
    aws.container.environments.keep_alive("demo", {"until": iso(time.time() + 3600)})

    # WHEN the nightly schedule fires
    night = fire(aws, "nightly_teardown", "2026-11-25T20:00:00Z")
    # THEN one execution tears down dev only: demo is kept alive, staging is never selected
    assert [op.split("_")[1] for op in night["operations"]] == ["dev"]
    assert wait_execution(aws, night["execution_arn"])["status"] == "SUCCEEDED"
    [op_id] = night["operations"]
    op = aws.container.operations.get(op_id)
    assert op.status is OpStatus.SUCCEEDED and op.trigger == "schedule", op.error
    assert op.result["snapshot"]["desired_count"] == 3
    assert aws.env("dev").status is EnvStatus.DESTROYED and aws.env("dev").lock is None
    assert running(aws, "demo")["status"] == "ACTIVE" and running(aws, "staging")["status"] == "ACTIVE"
    ecs = aws.client("ecs")
    assert ecs.describe_services(cluster=cluster, services=[name])["services"][0]["status"] == "INACTIVE"

    # WHEN the morning schedule fires
    morning = fire(aws, "morning_restore", "2026-11-26T06:00:00Z")
    assert wait_execution(aws, morning["execution_arn"])["status"] == "SUCCEEDED"
    [restore_id] = morning["operations"]
    restored = aws.container.operations.get(restore_id)
    assert restored.status is OpStatus.SUCCEEDED, restored.error
    # THEN dev runs the same desired count, autoscaling limits and image digest as before the night
    after = running(aws, "dev")
    assert {k: after[k] for k in ("desired", "limits", "digest")} == {
        k: before[k] for k in ("desired", "limits", "digest")
    }
    assert aws.env("dev").status is EnvStatus.READY
    # AND a second firing of the morning schedule restores nothing twice
    assert fire(aws, "morning_restore", "2026-11-26T06:00:00Z")["operations"] == []


def test_the_teardown_refuses_staging_even_if_asked_directly(world: MotoWorld) -> None:
    # GIVEN a teardown item for staging (as if the registry were tampered with)
    aws = world
    assert aws.run("provision", env="staging", body={}).status is OpStatus.SUCCEEDED
    from controlplane.domain.model import OpKind

    schedules = aws.container.schedules
    result = schedules._batch("teardown", "20261125t200000", OpKind.DESTROY, {"staging": {"nightly": True}})
    assert wait_execution(aws, result["execution_arn"])["status"] == "SUCCEEDED"  # the Map goes on
    op = aws.container.operations.get(result["operations"][0])
    # THEN its prepare phase refuses (the contract says staging), and staging still runs, recorded as ready
    assert op.status is OpStatus.FAILED and op.error is not None and "only tears down dev" in op.error["message"]
    assert running(aws, "staging")["status"] == "ACTIVE"
    assert aws.env("staging").status is EnvStatus.READY, (aws.env("staging"), op)
    assert aws.env("staging").lock is None
