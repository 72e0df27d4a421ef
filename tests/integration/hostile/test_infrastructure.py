"""What AWS does under the control plane (issue 8, 8): a cluster deleted by hand, a circuit-breaker rollback, and
events that are not objects."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from controlplane.sandbox.seed import cluster_name
from tests.integration.hostile.harness import Hostile, step_status


def _delete_service_and_cluster(h: Hostile, env: str) -> None:
    ecs = h.client("ecs")
    # AWS refuses to delete a cluster that still has an active service, and so does the sandbox
    with pytest.raises(ClientError) as refused:
        ecs.delete_cluster(cluster=cluster_name(env))
    assert refused.value.response["Error"]["Code"] == "ClusterContainsServicesException"
    ecs.delete_service(cluster=cluster_name(env), service=f"cart-service-{env}", force=True)
    ecs.delete_cluster(cluster=cluster_name(env))
    (cluster,) = ecs.describe_clusters(clusters=[cluster_name(env)])["clusters"]
    assert cluster["status"] == "INACTIVE", cluster


@pytest.mark.parametrize("body", [{}, {"image_tag": "v2"}], ids=["redeploy", "new-image"])
def test_a_deploy_into_an_inactive_cluster_fails(h: Hostile, body: dict[str, Any]) -> None:
    # GIVEN a provisioned environment whose service and cluster were deleted by hand
    env = h.provisioned_env("ic")
    h.push_image(env, "v2")
    _delete_service_and_cluster(h, env)
    # WHEN it is deployed
    started = time.time()
    op = h.run("POST", f"/environments/{env}/deployments", body)
    # THEN the deploy FAILS at its rollout, promptly (not at the end of its wait), naming the missing base
    assert op["status"] == "FAILED", op
    assert op["error"]["step"] == "rollout", op["error"]
    assert op["error"]["code"] in ("BaseInfrastructureMissing", "InvalidState"), op["error"]
    assert cluster_name(env) in op["error"]["message"] or "provision" in op["error"]["message"], op["error"]
    assert time.time() - started < 20
    # AND it ends cleanly: released, settled from what ECS runs (nothing), the registry saying so
    envb = h.assert_ended_cleanly(op)
    assert envb["status"] == "failed", envb
    assert envb["service"] is None or envb["service"]["status"] != "ACTIVE", envb["service"]
    assert envb["drift"] is not None, envb  # it deployed a service that no longer runs: the read says so


def test_a_circuit_breaker_rollback_fails_the_deploy_promptly(h: Hostile) -> None:
    # GIVEN a provisioned environment and an image that cannot start
    env = h.provisioned_env("cb")
    before = h.ecs_runs(env)
    h.push_image(env, "broken-7")
    # WHEN it is deployed
    started = time.time()
    op = h.run("POST", f"/environments/{env}/deployments", {"image_tag": "broken-7"})
    # THEN the deploy FAILS from ECS's own event (within seconds, not at the end of its 300 s wait)
    assert time.time() - started < 20, time.time() - started
    assert op["status"] == "FAILED" and op["error"]["code"] == "DeploymentFailed", op["error"]
    assert step_status(op, "rollout") == "FAILED"
    rolled_back = op["error"]["details"]["rolled_back_to"]
    assert rolled_back["task_definition_arn"] == before[0] and rolled_back["image_digest"] == before[1], rolled_back
    # AND ECS serves the previous revision, and the registry says so, as deployed before
    assert h.ecs_runs(env) == before
    envb = h.assert_ended_cleanly(op, intended=True)
    assert envb["status"] == "ready", envb


@pytest.mark.parametrize("payload", [[1, 2, 3], [{"source": "aws.ecr"}], "a string", 42, None, True, []])
@pytest.mark.parametrize("function", ["on_ecr_push", "on_ecs_deployment", "on_codebuild_state"])
def test_a_non_object_event_is_dropped_without_an_error(h: Hostile, function: str, payload: Any) -> None:
    # GIVEN a provisioned environment, released
    env = h.provisioned_env("ev") if function == "on_ecr_push" and payload == [1, 2, 3] else None
    before = h.env(env) if env else None
    # WHEN the event function is invoked (as EventBridge would, through the Lambda API) with a non-object event
    answer = h.client("lambda").invoke(
        FunctionName=h.function_prefix + function,
        InvocationType="RequestResponse",
        Payload=json.dumps(payload).encode(),
    )
    result = json.loads(answer["Payload"].read() or b"null")
    # THEN it returns normally (no function error, so no retry), saying the event was dropped
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer, (answer, result)
    assert isinstance(result, dict) and result.get("outcome") == "dropped", result
    # AND nothing changed
    if env and before:
        after = h.env(env)
        assert after["version"] == before["version"] and after["locked_by"] is None, after
