"""The HTTP control API through Chalice's test client, against the moto world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.app import IAMAuthorizer
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app as chalice_app
from tests.conftest import MotoWorld

PUBLIC = ("/health", "/openapi.json")


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
            if path in PUBLIC:
                assert entry.authorizer is None
            else:
                assert isinstance(entry.authorizer, IAMAuthorizer), f"{method} {path} has no IAM authorizer"


def test_health_and_the_environments_terraform_published(http: Any) -> None:
    assert call(http, "GET", "/health") == (200, {"status": "ok"})
    status, body = call(http, "GET", "/environments")
    assert status == 200 and body["next"] is None
    envs = {e["name"]: e for e in body["environments"]}
    assert set(envs) == {"dev", "staging", "prod"}
    assert envs["dev"]["settings"]["nightly_teardown"] is True and envs["dev"]["status"] == "absent"
    assert envs["prod"]["tier_source"] == "contract" and envs["dev"]["updated_at"].endswith("Z")


def test_environments_are_listed_in_pages(http: Any) -> None:
    status, first = call(http, "GET", "/environments?limit=2")
    assert status == 200 and len(first["environments"]) == 2 and first["next"]
    status, rest = call(http, "GET", f"/environments?limit=2&next={first['next']}")
    names = [e["name"] for e in first["environments"] + rest["environments"]]
    assert sorted(names) == ["dev", "prod", "staging"] and rest["next"] is None
    assert_error(*call(http, "GET", "/environments?next=garbage"), 400, "ValidationError")


def test_unknown_and_invalid_environments(http: Any) -> None:
    assert_error(*call(http, "GET", "/environments/nope"), 404, "NotFound")
    status, body = call(http, "GET", "/environments/Not_Valid")
    assert_error(status, body, 400, "ValidationError")
    assert "lowercase" in body["error"]["message"]
    assert_error(*call(http, "POST", "/environments/nope/deployments", {}), 404)


def test_put_creates_then_updates(http: Any) -> None:
    status, env = call(http, "PUT", "/environments/pr-7", {"tier": "dev", "desired_count": 1})
    assert status == 201 and env["tier"] == "dev" and env["settings"]["desired_count"] == 1
    assert env["tier_source"] == "request"
    status, env = call(http, "PUT", "/environments/pr-7", {"deploy_on_push": {"match": "glob", "pattern": "pr-7-*"}})
    assert status == 200 and env["settings"]["deploy_on_push"]["match"] == "glob"
    assert env["settings"]["desired_count"] == 1
    status, body = call(http, "PUT", "/environments/prod", {"desired_count": 1})
    assert_error(status, body, 400, "ValidationError")
    assert "from 3" in body["error"]["message"]
    # the tier comes from Terraform: prod cannot be made dev (and so lose its protections)
    status, body = call(http, "PUT", "/environments/prod", {"tier": "dev", "nightly_teardown": True})
    assert_error(status, body, 409, "Conflict")
    assert call(http, "GET", "/environments/prod")[1]["tier"] == "prod"


def test_if_match_and_etag(http: Any) -> None:
    status, env = call(http, "GET", "/environments/dev")
    version = env["version"]
    status, updated = call(
        http, "PUT", "/environments/dev", {"nightly_teardown": False}, **{"If-Match": f'"{version}"'}
    )
    assert status == 200 and updated["version"] == version + 1
    status, body = call(http, "PUT", "/environments/dev", {"nightly_teardown": True}, **{"If-Match": str(version)})
    assert_error(status, body, 409, "VersionConflict")
    assert_error(*call(http, "PUT", "/environments/dev", {}, **{"If-Match": "abc"}), 400, "ValidationError")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1]", "JSON object"),
        ({"image_tag": "a b"}, "image tag"),
        ({"colour": "red"}, "unknown field"),
        ("[" * 1000 + "]" * 1000, "nested deeper"),
        ('{"image_tag": "v1\\n"}', "image tag"),
    ],
)
def test_bad_bodies_are_400_with_a_reason(http: Any, body: Any, fragment: str) -> None:
    status, resp = call(http, "POST", "/environments/dev/deployments", body)
    assert_error(status, resp, 400)
    assert fragment in resp["error"]["message"]


def test_operation_lifecycle_conflict_and_cancel(http: Any, aws_all: MotoWorld) -> None:
    aws_all.emulator.build_seconds = 60  # the provision will be busy building
    status, op = call(http, "POST", "/environments/dev/provision", {"source_version": "v1"})
    assert status == 202 and op["status"] == "RUNNING" and op["kind"] == "provision" and op["trigger"] == "api"
    assert op["created_at"].endswith("Z") and op["id"].startswith("provision_dev_")

    # a second mutating call on the same environment: 409 naming the running operation
    status, body = call(http, "POST", "/environments/dev/deployments", {})
    assert_error(status, body, 409, "OperationInProgress")
    assert body["error"]["running_operation"] == op["id"]
    status, env = call(http, "GET", "/environments/dev")
    assert env["locked_by"] == op["id"] and env["status"] == "provisioning"

    aws_all.wait_for(
        lambda: "build_id" in getattr(aws_all.container.operations.get(op["id"]).step("build"), "detail", {})
    )
    status, got = call(http, "GET", f"/operations/{op['id']}")
    assert status == 200 and got["status"] == "RUNNING" and got["progress"]["build"]["status"] == "IN_PROGRESS"
    status, listed = call(http, "GET", "/environments/dev/operations?status=RUNNING&kind=provision")
    assert [o["id"] for o in listed["operations"]] == [op["id"]]

    status, cancelled = call(http, "POST", f"/operations/{op['id']}/cancel")
    assert status == 202 and cancelled["cancel"]["mode"] == "rollback"
    ended = aws_all.wait(op["id"])
    assert ended.status.value == "ABORTED" and "stopped" in ended.result["cancel"]["undone"]
    assert_error(*call(http, "POST", f"/operations/{op['id']}/cancel"), 409)
    status, env = call(http, "GET", "/environments/dev")
    assert env["locked_by"] is None and env["status"] == "absent"


def test_no_content_type_or_a_form_type_still_reads_json(http: Any) -> None:
    resp = http.put("/environments/pr-9", body=json.dumps({"tier": "dev"}), headers={})
    assert resp.status_code == 201
    resp = http.put(
        "/environments/pr-9",
        body=json.dumps({"nightly_teardown": False}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200


def test_the_frameworks_own_refusals_come_in_the_envelope(http: Any) -> None:
    resp = http.patch("/environments/dev", body="{}", headers={"Content-Type": "application/json"})
    assert_error(resp.status_code, json.loads(resp.body), 405)
    resp = http.put("/environments/dev", body="{}", headers={"Content-Type": "image/png"})
    assert_error(resp.status_code, json.loads(resp.body), 415, "UnsupportedMediaType")


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
    assert [s["step"] for s in plan["steps"]] == ["prepare", "drain", "delete_service", "sweep", "finish"]
    assert any("state backend" in n for n in plan["never_touched"])
    assert aws_all.service_description()["status"] == "ACTIVE"  # nothing changed
    assert aws_all.registry.list_operations("dev", 1).items[0].kind.value == "provision"  # no destroy created
    assert_error(*call(http, "POST", "/environments/dev/destroy?dry_run=maybe", {}), 400)


def test_operation_ids_and_queries_are_checked(http: Any) -> None:
    assert_error(*call(http, "GET", "/operations/deploy_dev_nope"), 404, "NotFound")
    assert_error(*call(http, "GET", "/operations/deploy-nope"), 400, "ValidationError")
    assert_error(*call(http, "GET", "/operations/..%2F..%2Fetc"), 400, "ValidationError")
    for query in ("limit=0", "limit=%C2%B2", "limit=" + "9" * 4301, "limit=-1", "status=WAT", "kind=deploy,nope"):
        assert_error(*call(http, "GET", f"/environments/dev/operations?{query}"), 400, "ValidationError")
    assert_error(*call(http, "GET", "/environments/dev%0A"), 400, "ValidationError")


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
    if status >= 400:
        assert_error(status, resp, status)
