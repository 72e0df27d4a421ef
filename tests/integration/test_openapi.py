"""The API's contract: GET /openapi.json is a valid OpenAPI 3.1 document with exactly the Chalice routes, its
request schemas allow exactly what the validators allow, and what the API answers conforms to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from chalice.app import Chalice
from chalice.test import Client
from openapi_spec_validator import validate

import app as chalice_app
from controlplane import openapi
from controlplane.domain import validation as v
from tests.conftest import MotoWorld

HTTP_METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"}


def chalice_routes(app: Chalice) -> set[tuple[str, str]]:
    """(METHOD, path) of every HTTP route the app serves."""
    return {(method, path) for path, methods in app.routes.items() for method in methods if method in HTTP_METHODS}


def validator(doc: dict[str, Any], component: str) -> jsonschema.Draft202012Validator:
    """A validator of one component schema of the document (its $refs resolved within the document)."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def conforms(doc: dict[str, Any], component: str, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(doc, component).iter_errors(body)]


@pytest.fixture
def http(aws_all: MotoWorld) -> Iterator[Any]:
    with Client(chalice_app.app) as client:
        yield client.http


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    # GIVEN the app's routes and the document
    routes, documented = chalice_routes(chalice_app.app), openapi.documented_routes()
    # THEN they are the same (METHOD, path) pairs
    assert routes, "the app has no routes"
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented routes the app does not serve"


def test_a_route_added_without_its_documentation_is_caught() -> None:
    # GIVEN an app with the API's routes plus one more
    extra = Chalice(app_name="extra")
    extra.routes.update({path: dict(methods) for path, methods in chalice_app.app.routes.items()})

    @extra.route("/environments/{name}/restart", methods=["POST"])
    def restart(name: str) -> dict[str, str]:
        return {}

    # WHEN it is compared with the document THEN the new route is the difference
    assert chalice_routes(extra) - openapi.documented_routes() == {("POST", "/environments/{name}/restart")}


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = openapi.document()
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema and its rules (refs, parameters)


def test_it_is_served_without_the_authorizer(http: Any) -> None:
    # WHEN GET /openapi.json THEN 200 JSON, the document itself; only /health and it are public
    resp = http.get("/openapi.json")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    assert json.loads(resp.body) == json.loads(json.dumps(openapi.document()))
    public = {
        path
        for path, ops in openapi.document()["paths"].items()
        if ops["get" if "get" in ops else next(iter(ops))]["security"] == []
    }
    assert public == {"/health", "/openapi.json"}


@pytest.mark.parametrize(
    ("component", "fields"),
    [
        ("EnvironmentSettingsRequest", v.SETTINGS_FIELDS),
        ("DeployOnPush", v.DEPLOY_ON_PUSH_FIELDS),
        ("ProvisionRequest", v.PROVISION_FIELDS),
        ("BuildRequest", v.BUILD_FIELDS),
        ("DeployRequest", v.DEPLOY_FIELDS),
        ("DestroyRequest", v.DESTROY_FIELDS),
        ("CancelRequest", v.CANCEL_FIELDS),
    ],
)
def test_each_request_schema_allows_exactly_the_validators_fields(component: str, fields: frozenset[str]) -> None:
    schema = openapi.document()["components"]["schemas"][component]
    assert set(schema["properties"]) == set(fields) and schema["additionalProperties"] is False


def test_every_operation_documents_its_errors_in_the_envelope() -> None:
    doc = openapi.document()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = {int(c) for c in op["responses"]}
            assert {500, 503} <= codes, f"{method} {path}"
            if op["security"]:
                assert 403 in codes, f"{method} {path}: the IAM authorizer's 403"
            if "requestBody" in op:
                assert {400, 415} <= codes, f"{method} {path}"
            for code in codes:
                if code >= 400:
                    assert op["responses"][str(code)] == {"$ref": f"#/components/responses/E{code}"}
    envelope = doc["components"]["schemas"]["Error"]
    assert envelope["required"] == ["error"] and envelope["additionalProperties"] is False


def test_headers_and_queries_are_documented() -> None:
    doc = openapi.document()
    params = {p["$ref"].rsplit("/", 1)[1] for item in doc["paths"].values() for op in item.values()
              for p in op.get("parameters", [])}  # fmt: skip
    assert {"Limit", "Next", "Status", "Kind", "DryRun", "IdempotencyKey", "IfMatch"} <= params
    starts = [
        doc["paths"][f"/environments/{{name}}/{p}"]["post"] for p in ("provision", "builds", "deployments", "destroy")
    ]
    assert all(
        op["responses"]["202"]["headers"] == {"Location": {"$ref": "#/components/headers/Location"}} for op in starts
    )
    put = doc["paths"]["/environments/{name}"]["put"]
    assert (
        put["responses"]["200"]["headers"]
        == put["responses"]["201"]["headers"]
        == {"ETag": {"$ref": "#/components/headers/ETag"}}
    )


@pytest.mark.parametrize(
    ("component", "body", "ok"),
    [
        ("DeployRequest", {"image_tag": "v1", "image_digest": "sha256:" + "a" * 64}, False),
        ("DeployRequest", {}, True),
        ("BuildRequest", {"image_tag": "v1"}, False),
        ("EnvironmentSettingsRequest", {"desired_count": 51}, False),
        ("EnvironmentSettingsRequest", {"deploy_on_push": {"match": "glob", "pattern": "rel-*"}}, True),
        ("ProvisionRequest", {"autoscaling": {"min_count": 1}}, False),
        ("ProvisionRequest", {"wait": {"interval_seconds": 0}}, False),
        ("ProvisionRequest", {"wait": {"timeout_seconds": 86400}}, True),
        ("CancelRequest", {"rollout": "finish"}, True),
    ],
)
def test_request_schemas_carry_the_validation_rules(component: str, body: Any, ok: bool) -> None:
    assert (conforms(openapi.document(), component, body) == []) is ok


def test_what_the_api_answers_conforms_to_the_document(http: Any, aws_all: MotoWorld) -> None:
    # GIVEN a provisioned dev, a failed build and a deploy of a broken image (the circuit breaker rolls it back)
    doc = openapi.document()
    assert aws_all.run("provision").status.value == "SUCCEEDED"
    failed_build = aws_all.run("build", "dev", {"source_version": "fail-1"})
    aws_all.build_image("broken-1")
    failed_deploy = aws_all.run("deploy", "dev", {"image_tag": "broken-1"})
    assert failed_build.status.value == failed_deploy.status.value == "FAILED"
    # WHEN the API is read THEN every answer conforms to its schema, the failures' details included
    answers = {
        "Environment": http.get("/environments/dev"),
        "EnvironmentPage": http.get("/environments?limit=2"),
        "OperationPage": http.get("/environments/dev/operations?kind=deploy,build"),
        "DestroyPlan": http.post(
            "/environments/dev/destroy?dry_run=true", body="{}", headers={"Content-Type": "application/json"}
        ),
    }
    for component, resp in answers.items():
        assert resp.status_code == 200, resp.body
        assert conforms(doc, component, json.loads(resp.body)) == [], component
    for op in (failed_build, failed_deploy):
        body = json.loads(http.get(f"/operations/{op.id}").body)
        assert conforms(doc, "Operation", body) == [], body["error"]
    details = json.loads(http.get(f"/operations/{failed_deploy.id}").body)["error"]["details"]
    assert details["rolled_back_to"]["revision"] == 1 and details["stopped_tasks"] and details["service_events"]
    assert all(e["at"].endswith("Z") for e in details["service_events"])
    missing = http.get("/environments/nope")
    assert missing.status_code == 404 and conforms(doc, "Error", json.loads(missing.body)) == []


def test_queries_are_read_as_documented(http: Any) -> None:
    # an empty filter is refused (the document: one or more values); an empty cursor is the first page
    for query in ("status=", "kind=", "status=RUNNING,", "kind=deploy&status="):
        resp = http.get(f"/environments/dev/operations?{query}")
        assert resp.status_code == 400, query
        assert conforms(openapi.document(), "Error", json.loads(resp.body)) == []
    first = http.get("/environments?next=")
    assert first.status_code == 200 and len(json.loads(first.body)["environments"]) == 3
    assert http.get("/environments/dev/operations?status=RUNNING,FAILED&kind=deploy").status_code == 200


def test_a_dry_run_refuses_a_malformed_idempotency_key_as_a_start_does(http: Any) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": "not a key!"}
    resp = http.post("/environments/dev/destroy?dry_run=true", body="{}", headers=headers)
    assert resp.status_code == 400 and json.loads(resp.body)["error"]["code"] == "ValidationError"
    ok = http.post("/environments/dev/destroy?dry_run=true", body="{}", headers={**headers, "Idempotency-Key": "k-1"})
    assert ok.status_code == 200 and json.loads(ok.body)["dry_run"] is True
