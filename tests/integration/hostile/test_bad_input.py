"""Bad input (issue 8, 6 and 7): hostile bodies, query strings and names are each a 400 in the error envelope,
never a 500, and change nothing; an Idempotency-Key is only kept by a request that was accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.hostile.harness import Hostile, error_of

DIGEST = "sha256:" + "ab" * 32
OP_ID = "deploy_dev_20261128t014325-ab12cd34"  # well formed; no such operation
# Every route that takes a body ({name} is filled in per test).
MUTATING = [
    ("PUT", "/environments/{name}"),
    ("POST", "/environments/{name}/provision"),
    ("POST", "/environments/{name}/builds"),
    ("POST", "/environments/{name}/deployments"),
    ("POST", "/environments/{name}/destroy"),
    ("POST", "/environments/{name}/destroy?dry_run=true"),
    ("POST", "/environments/{name}/keep-alive"),
    ("POST", f"/operations/{OP_ID}/cancel"),
]
DEEP = 1000
DEEP_BODIES = {
    "arrays": b"[" * DEEP + b"]" * DEEP,
    "objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "in a field": b'{"wait": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "unclosed": b"[" * DEEP,
}


def _unchanged(h: Hostile, name: str, before: dict[str, Any]) -> None:
    after = h.env(name)
    assert after["version"] == before["version"] and after["settings"] == before["settings"], after
    assert after["locked_by"] is None and after["status"] == before["status"], after


@pytest.fixture
def target(h: Hostile) -> str:
    return h.new_env("bi")


@pytest.mark.parametrize("shape", list(DEEP_BODIES))
def test_json_nested_1000_deep_is_a_400_on_every_mutating_route(h: Hostile, target: str, shape: str) -> None:
    # GIVEN an environment
    before = h.env(target)
    for method, path in MUTATING:
        # WHEN a body nested 1,000 deep is sent
        status, raw, headers = h.raw(
            method, path.format(name=target), DEEP_BODIES[shape], {"Content-Type": "application/json"}
        )
        # THEN it is a 400 in the error envelope
        assert status == 400, (method, path, status, raw[:300])
        assert error_of(status, raw)["code"] in ("BadRequest", "ValidationError"), raw[:300]
        assert headers.get("content-type", "").startswith("application/json"), headers
    # AND nothing changed
    _unchanged(h, target, before)


@pytest.mark.parametrize(
    "limit", ["%C2%B2", "1" * 4301, "-1", "0", "201", "1.5", "%20%31", "1%0A", "%EF%BC%91", "", "0x10", "1e2"]
)
@pytest.mark.parametrize("route", ["/environments", "/environments/dev/operations"])
def test_bad_limits_are_a_400(h: Hostile, route: str, limit: str) -> None:
    # WHEN a list is asked for with a limit that is not an integer from 1 to 200
    status, raw, _ = h.raw("GET", f"{route}?limit={limit}")
    # THEN it is a 400 in the error envelope
    assert status == 400, (limit[:20], status, raw[:300])
    assert error_of(status, raw)["code"] == "ValidationError"


def test_good_limit_control(h: Hostile) -> None:
    # GIVEN/WHEN the same routes with a valid limit THEN they answer (the 400s above are about the value)
    for route in ("/environments", "/environments/dev/operations"):
        status, raw, _ = h.raw("GET", f"{route}?limit=200")
        assert status == 200, raw[:300]


NAMES_WITH_NEWLINES = ["dev%0A", "dev%0D%0A", "%0Adev", "dev%00", "dev%20", "DEV"]


@pytest.mark.parametrize("name", NAMES_WITH_NEWLINES)
def test_names_with_a_trailing_newline_are_a_400(h: Hostile, name: str) -> None:
    before = h.env("dev")
    routes = [("GET", "/environments/{name}"), ("GET", "/environments/{name}/operations"), *MUTATING[:-1]]
    routes.append(("DELETE", "/environments/{name}/keep-alive"))
    for method, path in routes:
        # WHEN a route is called for an environment name with a newline (or another character names never have)
        body = None if method in ("GET", "DELETE") else b"{}"
        status, raw, _ = h.raw(method, path.format(name=name), body, {"Content-Type": "application/json"})
        # THEN it is a 400 naming the bad name, never the environment "dev"
        assert status == 400, (method, path, name, status, raw[:300])
        assert error_of(status, raw)["code"] == "ValidationError", raw[:300]
    for op_id in (OP_ID + "%0A", OP_ID.upper()):
        for method, path in (("GET", f"/operations/{op_id}"), ("POST", f"/operations/{op_id}/cancel")):
            status, raw, _ = h.raw(method, path, None if method == "GET" else b"{}")
            assert status == 400, (method, path, status, raw[:300])
            error_of(status, raw)
    _unchanged(h, "dev", before)


VALUES_WITH_NEWLINES: list[tuple[str, str, Any]] = [
    ("POST", "deployments", {"image_digest": DIGEST + "\n"}),
    ("POST", "deployments", {"image_tag": "latest\n"}),
    ("POST", "deployments", {"image_tag": "\nlatest"}),
    ("POST", "provision", {"image_digest": DIGEST + "\n"}),
    ("POST", "provision", {"source_version": "main\n"}),
    ("POST", "builds", {"source_version": "main\n"}),
    ("POST", "builds", {"source_version": "main", "image_tag": "v1\n"}),
    ("POST", "keep-alive", {"until": "2099-01-01T00:00:00Z\n"}),
    ("PUT", "", {"notification_topic": "cart-service-dev-notifications\n"}),
    ("PUT", "", {"notification_topic": "arn:aws:sns:eu-central-1:123456789012:topic\n"}),
    ("PUT", "", {"deploy_on_push": {"match": "exact", "pattern": "latest\n"}}),
    ("PUT", "", {"deploy_on_push": {"match": "exact", "pattern": "latest", "repository": "cart-service-dev\n"}}),
    ("PUT", "", {"deploy_on_push": {"match": "semver", "pattern": "^1.2.0\n"}}),
    ("PUT", "", {"deploy_on_push": {"match": "glob", "pattern": "release-*\n"}}),
    ("PUT", "", {"tier": "dev\n"}),
]


@pytest.mark.parametrize(("method", "route", "body"), VALUES_WITH_NEWLINES, ids=lambda x: json.dumps(x)[:60])
def test_values_with_newlines_are_a_400(h: Hostile, target: str, method: str, route: str, body: Any) -> None:
    # GIVEN an environment
    before = h.env(target)
    text = json.dumps(body).replace("{name}", target)
    path = f"/environments/{target}" + (f"/{route}" if route else "")
    # WHEN a digest, tag, source version, topic, repository, time or name arrives with a newline
    status, raw, _ = h.raw(method, path, text.encode(), {"Content-Type": "application/json"})
    # THEN it is a 400 in the error envelope and nothing changed
    assert status == 400, (status, raw[:300])
    assert error_of(status, raw)["code"] == "ValidationError", raw[:300]
    _unchanged(h, target, before)
    status, answer = h.api.get(f"/environments/{target}/operations")
    assert answer["operations"] == [], answer


def test_cancel_mode_with_a_newline_is_a_400(h: Hostile) -> None:
    env = h.provisioned_env("bi")
    op = h.start("POST", f"/environments/{env}/deployments", {})
    status, answer = h.api.post(f"/operations/{op['id']}/cancel", {"rollout": "finish\n"})
    assert status == 400, answer
    error_of(status, answer)
    done = h.wait_op(op["id"])
    assert done["status"] == "SUCCEEDED" and done["cancel"] is None, done
    h.assert_ended_cleanly(done, intended=True)


# Idempotency-Key (issue 8, 7) ------------------------------------------------------------------------------------
def test_a_key_used_on_a_refused_request_is_not_reserved(h: Hostile) -> None:
    # GIVEN an environment that was never provisioned, and a deploy with Idempotency-Key K refused with 409
    env = h.new_env("ik")
    key = {"Idempotency-Key": f"{env}-key-1"}
    status, answer = h.api.post(f"/environments/{env}/deployments", {"image_tag": "v1"}, headers=key)
    assert status == 409 and error_of(status, answer)["code"] == "Conflict", answer
    # AND once it runs, a deploy with K refused because another operation holds it
    prov = h.start("POST", f"/environments/{env}/provision", {})
    h.wait_step(prov["id"], "build")
    status, answer = h.api.post(f"/environments/{env}/deployments", {"image_tag": "v2"}, headers=key)
    assert status == 409 and error_of(status, answer)["code"] == "OperationInProgress", answer
    assert answer["error"]["running_operation"] == prov["id"], answer
    assert h.wait_op(prov["id"])["status"] == "SUCCEEDED"
    # WHEN the same key comes with yet another body
    h.push_image(env, "v3")
    status, accepted = h.api.post(f"/environments/{env}/deployments", {"image_tag": "v3"}, headers=key)
    # THEN it is accepted (202), not refused as a reused key (422)
    assert status == 202, accepted
    done = h.wait_op(accepted["id"])
    assert done["status"] == "SUCCEEDED", done
    h.assert_ended_cleanly(done, intended=True)
    # AND now that it was accepted, the key is kept: the same request is the same operation, another body a 422
    status, replay = h.api.post(f"/environments/{env}/deployments", {"image_tag": "v3"}, headers=key)
    assert status in (200, 202) and replay["id"] == accepted["id"], replay
    status, answer = h.api.post(f"/environments/{env}/deployments", {"image_tag": "v4"}, headers=key)
    assert status == 422 and error_of(status, answer)["code"] == "IdempotencyKeyReused", answer


def test_a_key_used_on_an_invalid_request_is_not_reserved(h: Hostile) -> None:
    # GIVEN a provisioned environment and a deploy with key K refused as invalid (400)
    env = h.provisioned_env("ik")
    key = {"Idempotency-Key": f"{env}-key-2"}
    status, answer = h.api.post(f"/environments/{env}/deployments", {"image_tag": "no such\n"}, headers=key)
    assert status == 400, answer
    # WHEN K comes with a valid body THEN it is accepted
    status, accepted = h.api.post(f"/environments/{env}/deployments", {}, headers=key)
    assert status == 202, accepted
    done = h.wait_op(accepted["id"])
    assert done["status"] == "SUCCEEDED", done
    h.assert_ended_cleanly(done, intended=True)
