"""The fake control API and the recorded fixtures answer in the real API's shapes: every answer, in every state of
its scripts, conforms to the OpenAPI document the real API serves (GET /openapi.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from controlplane import openapi
from tests.cli.conftest import FIXTURES
from tests.cli.fakeapi import FakeControlApi

DOC = openapi.document()


def schema_of(reference: dict[str, Any]) -> jsonschema.Draft202012Validator:
    schema = {**reference, "components": DOC["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def documented(method: str, path: str, status: int) -> dict[str, Any]:
    """The documented response (schema reference) of a request's route and status; fails if undocumented."""
    for template, item in DOC["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method.lower() in item:
            responses = item[method.lower()]["responses"]
            assert str(status) in responses, f"{method} {path} answered an undocumented {status}"
            response = responses[str(status)]
            if "$ref" in response:
                response = DOC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            return dict(response["content"]["application/json"]["schema"])
    raise AssertionError(f"{method} {path} is no route of the API")


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def scripted() -> tuple[FakeControlApi, Clock]:
    clock = Clock()
    return FakeControlApi(speed=1.0, clock=clock), clock


def call(fake: FakeControlApi, method: str, target: str, body: Any = None, **headers: str) -> Any:
    raw = b"" if body is None else json.dumps(body).encode()
    status, _, answer = fake.handle(method, target, headers, raw)
    path = target.split("?", 1)[0]
    errors = [e.message for e in schema_of(documented(method, path, status)).iter_errors(answer)]
    assert errors == [], f"{method} {target} -> {status}: {errors}\n{json.dumps(answer)[:2000]}"
    return answer


def test_every_answer_of_the_fake_in_every_state_conforms(scripted: tuple[FakeControlApi, Clock]) -> None:
    fake, clock = scripted
    # GIVEN operations of every kind and outcome, WHEN each is read every half second until it ends
    started = [
        call(fake, "POST", "/environments/qa-1/provision", {}),
        call(fake, "POST", "/environments/dev/builds", {"source_version": "fail-1"}),
        call(fake, "POST", "/environments/staging/builds", {"source_version": "main", "image_tag": "v2"}),
        call(fake, "POST", "/environments/prod/deployments", {"image_tag": "broken-1"}),
    ]
    call(fake, "POST", "/environments/prod/deployments", {})  # 409: one runs
    ids = [op["id"] for op in started]
    for _ in range(40):
        clock.now += 0.5
        for op_id in ids:
            call(fake, "GET", f"/operations/{op_id}")
    # ... and deploys that end cancelled, timed out and succeeded
    for tag in ("v1.4.2", "slow-1", "latest"):
        op = call(fake, "POST", "/environments/dev/deployments", {"image_tag": tag})
        if tag == "v1.4.2":
            clock.now += 2
            call(fake, "POST", f"/operations/{op['id']}/cancel", {})
        for _ in range(30):
            clock.now += 0.5
            call(fake, "GET", f"/operations/{op['id']}")
        assert call(fake, "GET", f"/operations/{op['id']}")["status"] != "RUNNING"
    # THEN every answer conformed (checked by call), and so do the listings, settings, plans and errors
    statuses = {o["status"] for o in call(fake, "GET", "/environments/dev/operations")["operations"]}
    assert statuses == {"FAILED", "ABORTED", "TIMED_OUT", "SUCCEEDED"}
    call(fake, "GET", "/environments?limit=2")
    call(fake, "GET", "/environments/dev")
    call(fake, "PUT", "/environments/dev", {"deploy_on_push": {"match": "glob", "pattern": "rel-*"}})
    call(fake, "PUT", "/environments/pr-1", {"tier": "dev"})
    call(fake, "POST", "/environments/staging/destroy?dry_run=true", {})
    call(fake, "POST", "/environments/staging/destroy", {})  # 400 ConfirmationRequired
    call(fake, "POST", "/environments/dev/keep-alive", {"until": "2026-11-28T23:00:00Z"})
    call(fake, "DELETE", "/environments/dev/keep-alive")
    call(fake, "GET", "/environments/nope")
    call(fake, "GET", "/operations/deploy_dev_nope")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_each_recorded_fixture_conforms(name: str) -> None:
    body = json.loads((FIXTURES / name).read_text())
    component = {"destroy-plan.json": "DestroyPlan", "environment-dev.json": "Environment"}.get(name, "Operation")
    errors = [e.message for e in schema_of({"$ref": f"#/components/schemas/{component}"}).iter_errors(body)]
    assert errors == []


def test_the_fixtures_are_what_the_sandbox_answered() -> None:
    # every operation fixture was recorded from the sandbox: real ids, the real flows' steps
    for path in Path(FIXTURES).glob("*.json"):
        body = json.loads(path.read_text())
        if "steps" in body and "kind" in body:
            assert re.fullmatch(r"(deploy|build)_dev_\d{8}t\d{6}-[0-9a-f]{8}", body["id"]), path.name
            assert {s["name"] for s in body["steps"]} <= {"rollout", "check_rollout", "build", "cancel", "finish"}
