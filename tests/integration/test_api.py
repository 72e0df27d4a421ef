"""The HTTP control API through Chalice's test client, against the moto world."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.app import IAMAuthorizer
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app as chalice_app
from tests.conftest import MotoWorld


@pytest.fixture
def http(aws_all: MotoWorld) -> Iterator[Any]:
    with Client(chalice_app.app) as client:
        yield client.http


def call(http: Any, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"headers": {"Content-Type": "application/json", **headers}}
    if body is not None:
        kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
    resp = getattr(http, method.lower())(path, **kwargs)
    return resp.status_code, json.loads(resp.body) if resp.body else None


def assert_error(status: int, body: Any, expected_status: int, code: str | None = None) -> None:
    assert status == expected_status, body
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code


def test_every_route_but_health_carries_the_iam_authorizer() -> None:
    routes = chalice_app.app.routes
    assert routes, "no routes registered"
    for path, methods in routes.items():
        for method, entry in methods.items():
            if path == "/health":
                assert entry.authorizer is None
            else:
                assert isinstance(entry.authorizer, IAMAuthorizer), f"{method} {path} has no IAM authorizer"


def test_health_and_seed_environments(http: Any) -> None:
    assert call(http, "GET", "/health") == (200, {"status": "ok"})
    status, body = call(http, "GET", "/environments")
    assert status == 200
    envs = {e["name"]: e for e in body["environments"]}
    assert set(envs) == {"dev", "staging", "prod"}
    assert envs["dev"]["settings"]["nightly_teardown"] is True and envs["dev"]["status"] == "absent"


def test_unknown_and_invalid_environments(http: Any) -> None:
    assert_error(*call(http, "GET", "/environments/nope"), 404, "NotFound")
    status, body = call(http, "GET", "/environments/Not_Valid")
    assert_error(status, body, 400, "ValidationError")
    assert "lowercase" in body["error"]["message"]
    assert_error(*call(http, "POST", "/environments/nope/deployments", {}), 404)


def test_put_creates_then_updates(http: Any) -> None:
    status, env = call(http, "PUT", "/environments/pr-7", {"tier": "dev", "desired_count": 1})
    assert status == 201 and env["tier"] == "dev" and env["settings"]["desired_count"] == 1
    status, env = call(http, "PUT", "/environments/pr-7", {"deploy_on_push": {"match": "glob", "pattern": "pr-7-*"}})
    assert status == 200 and env["settings"]["deploy_on_push"]["match"] == "glob"
    assert env["settings"]["desired_count"] == 1
    status, body = call(http, "PUT", "/environments/prod", {"desired_count": 1})
    assert_error(status, body, 400, "ValidationError")
    assert "from 3" in body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1]", "JSON object"),
        ({"image_tag": "a b"}, "image tag"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_bad_bodies_are_400_with_a_reason(http: Any, body: Any, fragment: str) -> None:
    status, resp = call(http, "POST", "/environments/dev/deployments", body)
    assert_error(status, resp, 400)
    assert fragment in resp["error"]["message"]


def test_operation_lifecycle_conflict_and_cancel(http: Any, aws_all: MotoWorld) -> None:
    aws_all.emulator.build_seconds = 60  # the provision will be busy building
    status, op = call(http, "POST", "/environments/dev/provision", {"wait": {"interval_seconds": 1}})
    assert status == 202 and op["status"] == "RUNNING" and op["kind"] == "provision" and op["trigger"] == "api"

    # a second mutating call on the same environment: 409 naming the running operation
    status, body = call(http, "POST", "/environments/dev/deployments", {})
    assert_error(status, body, 409, "OperationInProgress")
    assert body["error"]["running_operation"] == op["id"]
    status, env = call(http, "GET", "/environments/dev")
    assert env["locked_by"] == op["id"]

    status, got = call(http, "GET", f"/operations/{op['id']}")
    assert status == 200 and got["status"] == "RUNNING"
    status, listed = call(http, "GET", "/environments/dev/operations")
    assert [o["id"] for o in listed["operations"]] == [op["id"]]

    deadline = time.time() + 10
    while aws_all.store.get_operation(op["id"]).step("wait_build") is None and time.time() < deadline:
        time.sleep(0.05)  # cancel while the build runs, as a user would
    status, cancelled = call(http, "POST", f"/operations/{op['id']}/cancel")
    assert status == 202 and cancelled["status"] == "ABORTED"
    assert_error(*call(http, "POST", f"/operations/{op['id']}/cancel"), 409)
    status, env = call(http, "GET", "/environments/dev")
    assert env["locked_by"] is None


def test_idempotency_key(http: Any) -> None:
    first = call(http, "POST", "/environments/staging/builds", {"source_version": "v1"}, **{"Idempotency-Key": "b-1"})
    again = call(http, "POST", "/environments/staging/builds", {"source_version": "v1"}, **{"Idempotency-Key": "b-1"})
    assert first[0] == again[0] == 202 and first[1]["id"] == again[1]["id"]
    status, body = call(
        http, "POST", "/environments/staging/builds", {"source_version": "v2"}, **{"Idempotency-Key": "b-1"}
    )
    assert_error(status, body, 422, "IdempotencyKeyReused")
    assert body["error"]["operation_id"] == first[1]["id"]


def test_destroy_confirmation_and_dry_run(http: Any, aws_all: MotoWorld) -> None:
    status, body = call(http, "POST", "/environments/prod/destroy", {})
    assert_error(status, body, 400, "ConfirmationRequired")
    assert '"confirm": "prod"' in body["error"]["message"]
    assert aws_all.run("provision").status.value == "SUCCEEDED"
    status, plan = call(http, "POST", "/environments/dev/destroy?dry_run=true", {})
    assert status == 200 and plan["dry_run"] is True
    steps = [s["step"] for s in plan["steps"]]
    assert steps.index("scale_down") < steps.index("delete_service") < steps.index("delete_images")
    assert any("state backend" in n for n in plan["never_touched"])
    svc = aws_all.client("ecs").describe_services(cluster="cart-service-dev", services=["cart-service-dev"])
    assert svc["services"][0]["status"] == "ACTIVE"  # nothing changed
    assert aws_all.store.list_operations("dev")[0].kind.value == "provision"  # no destroy operation created
    assert_error(*call(http, "POST", "/environments/dev/destroy?dry_run=maybe", {}), 400)


def test_operation_ids_are_checked(http: Any) -> None:
    assert_error(*call(http, "GET", "/operations/deploy-nope"), 404, "NotFound")
    assert_error(*call(http, "GET", "/operations/..%2F..%2Fetc"), 400, "ValidationError")
    assert_error(*call(http, "GET", "/environments/dev/operations?limit=0"), 400)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=15), children, max_size=4),
    max_leaves=8,
)
bodies = (
    st.dictionaries(
        st.sampled_from(["tier", "desired_count", "nightly_teardown", "deploy_on_push", "protected", "x"]),
        json_values,
        max_size=4,
    )
    | json_values
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_bad_input_is_never_a_500(http: Any, body: Any) -> None:
    status, resp = call(http, "PUT", "/environments/pr-fuzz", body)
    assert status in (200, 201, 400, 409), resp
    status, resp = call(http, "POST", "/environments/pr-fuzz/destroy?dry_run=true", body)
    assert status in (200, 400, 404, 409), resp
