"""The tier guards (issue 8, 5): prod's tier comes from its Terraform contract and cannot be lowered through the
API; prod is never torn down at night whatever its settings say; protection is only turned off with the same
typed confirmation a destroy needs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.hostile.harness import Hostile


def _ready_prod(h: Hostile) -> dict[str, Any]:
    env = h.env("prod")
    if env["status"] != "ready":
        op = h.run("POST", "/environments/prod/provision", {})
        assert op["status"] == "SUCCEEDED", op
        env = h.assert_ended_cleanly(op, intended=True)
    return env


def test_prod_tier_cannot_be_lowered(h: Hostile) -> None:
    # GIVEN prod, published by Terraform as prod
    before = h.env("prod")
    assert before["tier"] == "prod" and before["tier_source"] == "contract", before
    # WHEN its tier is set to dev through the API (alone, or with other settings)
    for body in ({"tier": "dev"}, {"tier": "dev", "nightly_teardown": True, "desired_count": 0}):
        status, answer = h.api.put("/environments/prod", body)
        # THEN it is refused with 409 and nothing changes
        assert status == 409, answer
        assert set(answer) == {"error"} and answer["error"]["code"] == "Conflict", answer
    after = h.env("prod")
    assert after["tier"] == "prod" and after["settings"] == before["settings"] and after["version"] == before["version"]


@pytest.mark.slow  # the run tears down every dev environment the session left running
def test_nightly_teardown_never_destroys_prod(h: Hostile) -> None:
    # GIVEN prod running, with nightly_teardown set on it, and a dev environment running beside it
    prod = _ready_prod(h)
    status, answer = h.api.put("/environments/prod", {"nightly_teardown": True})
    assert status == 200 and answer["settings"]["nightly_teardown"] is True, answer
    dev = h.provisioned_env("nt")
    before_ops = {op["id"] for op in h.api.get("/environments/prod/operations?limit=200")[1]["operations"]}
    try:
        # WHEN the nightly teardown fires
        run = h.fire("nightly_teardown")
        # THEN the run tears down the dev environment and starts nothing on prod
        assert not any("_prod_" in op_id for op_id in run["operations"]), run
        ours = [op_id for op_id in run["operations"] if f"_{dev}_" in op_id]
        assert len(ours) == 1, run
        for op_id in run["operations"]:  # every environment the run took ends cleanly
            ended = h.wait_op(op_id, timeout=120)
            h.assert_ended_cleanly(ended)
        assert h.op(ours[0])["status"] == "SUCCEEDED"
        assert h.env(dev)["status"] == "destroyed"
        after_ops = {op["id"] for op in h.api.get("/environments/prod/operations?limit=200")[1]["operations"]}
        assert after_ops == before_ops, after_ops - before_ops
        # AND prod still runs what it ran
        after = h.assert_registry_matches_ecs("prod", intended=True)
        assert after["status"] == "ready" and h.ecs_runs("prod")[0] == prod["service"]["task_definition_arn"]
    finally:
        h.api.put("/environments/prod", {"nightly_teardown": False})


def test_turning_protection_off_needs_the_confirmation(h: Hostile) -> None:
    # GIVEN a dev environment that was protected
    env = h.provisioned_env("pr")
    status, answer = h.api.put(f"/environments/{env}", {"protected": True})
    assert status == 200 and answer["settings"]["protected"] is True, answer
    # WHEN protection is turned off without the confirmation, or with another environment's name
    bodies: list[dict[str, Any]] = [
        {"protected": False},
        {"protected": False, "confirm": "prod"},
        {"protected": False, "confirm": None},
        {"protected": False, "confirm": f"{env}\n"},
    ]
    for body in bodies:
        status, answer = h.api.put(f"/environments/{env}", body)
        # THEN it is refused, and it stays protected
        assert status == 400 and answer["error"]["code"] == "ConfirmationRequired", (body, answer)
        assert h.env(env)["settings"]["protected"] is True
    # AND a protected environment is not destroyed without the confirmation either
    for destroy in ({}, {"confirm": f"{env}\n"}, {"confirm": env.upper()}):
        status, answer = h.api.post(f"/environments/{env}/destroy", destroy)
        assert status == 400 and answer["error"]["code"] == "ConfirmationRequired", (destroy, answer)
    assert h.env(env)["status"] == "ready" and h.env(env)["locked_by"] is None
    # WHEN it is turned off with the confirmation THEN it is off
    status, answer = h.api.put(f"/environments/{env}", {"protected": False, "confirm": env})
    assert status == 200 and answer["settings"]["protected"] is False, answer
    # AND on prod the same holds
    was = h.env("prod")["settings"]["protected"]
    assert h.api.put("/environments/prod", {"protected": True})[0] == 200
    status, answer = h.api.put("/environments/prod", {"protected": False})
    assert status == 400 and answer["error"]["code"] == "ConfirmationRequired", answer
    status, answer = h.api.put("/environments/prod", {"protected": was, "confirm": "prod"})
    assert status == 200 and answer["settings"]["protected"] is was, answer
