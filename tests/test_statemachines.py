"""The ASL files: a linter and moto's parser accept them, and they follow the rules the steps rely on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import app as chalice_app
from controlplane.domain.model import OpKind
from controlplane.domain.plans import BATCH_STEP_ORDER, STEP_ORDER
from controlplane.sandbox.seed import asl_definition

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def load(kind: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "statemachines" / f"{kind}.asl.json").read_text()))


def function_of(state: dict[str, Any]) -> str:
    return str(state["Parameters"]["FunctionName"]).removeprefix("${function_prefix}step_")


def main_path(definition: dict[str, Any]) -> list[str]:
    """Lambda steps on the success path, following Next and the Choice that leaves each wait loop."""
    states, name, seen, steps = definition["States"], definition["StartAt"], set(), []
    while name and name not in seen:
        seen.add(name)
        state = states[name]
        if state["Type"] == "Task":
            steps.append(function_of(state))
        name = state["Choices"][0]["Next"] if state["Type"] == "Choice" else state.get("Next")
    return steps


def test_one_file_per_operation_kind_and_batch() -> None:
    expected = [*(k.value for k in OpKind), *BATCH_STEP_ORDER]
    assert [f.name for f in FILES] == sorted(f"{k}.asl.json" for k in expected)


def check_tasks(states: dict[str, Any], failure_next: str) -> None:
    functions = {f.name for f in chalice_app.app.pure_lambda_functions}
    for name, state in states.items():
        if state["Type"] == "Task":
            assert f"step_{function_of(state)}" in functions, f"{name} invokes an unknown function"
            retry = state["Retry"][0]
            assert "TransientError" in retry["ErrorEquals"] and retry["BackoffRate"] > 1, name
            catch = state["Catch"][-1]
            failure_path = name == "RecordFailure"
            assert catch["ErrorEquals"] == ["States.ALL"]
            assert catch["ResultPath"] == ("$.fail_error" if failure_path else "$.error")  # keep the first error
            assert catch["Next"] == (failure_next if failure_path else "RecordFailure")
        if state["Type"] == "Wait":
            assert state == {**state, "SecondsPath": "$.wait.interval_seconds"}, "waits come from the input"
            assert "Seconds" not in state


@pytest.mark.parametrize("batch", list(BATCH_STEP_ORDER))
def test_batches_fan_out_with_a_bounded_map_whose_iterations_fail_alone(batch: str) -> None:
    definition = load(batch)
    [fan_out] = [s for s in definition["States"].values() if s["Type"] == "Map"]
    assert 1 <= fan_out["MaxConcurrency"] <= 10 and fan_out["ItemsPath"] == "$.items"
    iterator = fan_out["Iterator"]
    assert main_path(iterator) == list(BATCH_STEP_ORDER[batch])
    check_tasks(iterator["States"], failure_next="EnvironmentFailed")
    # a failed environment is recorded and ends its own iteration; the Map (and the others) go on
    assert iterator["States"]["RecordFailure"]["Next"] == "EnvironmentFailed"
    assert iterator["States"]["EnvironmentFailed"]["Type"] == "Pass"


@pytest.mark.parametrize("kind", list(OpKind))
def test_lambda_steps_follow_the_documented_order(kind: OpKind) -> None:
    steps = [s for s in main_path(load(kind.value)) if s in STEP_ORDER[kind]]
    assert steps == list(STEP_ORDER[kind])


@pytest.mark.parametrize("kind", list(OpKind))
def test_every_task_retries_transient_errors_and_catches_to_the_failure_path(kind: OpKind) -> None:
    check_tasks(load(kind.value)["States"], failure_next="OperationFailed")


@pytest.mark.parametrize("kind", [k for k in OpKind if k is not OpKind.DESTROY])
def test_deploy_and_build_waits_are_task_tokens_with_the_budget_as_timeout(kind: OpKind) -> None:
    states = load(kind.value)["States"]
    waits = {n: s for n, s in states.items() if s.get("Resource", "").endswith(".waitForTaskToken")}
    assert waits
    for state in waits.values():
        assert state["TimeoutSecondsPath"] == "$.wait.timeout_seconds"
        assert state["Parameters"]["Payload"] == {"state.$": "$", "task_token.$": "$$.Task.Token"}
        timeout = state["Catch"][0]
        assert timeout["ErrorEquals"] == ["States.Timeout"]
        check = states[timeout["Next"]]
        assert function_of(check) == function_of(state).replace("wait_", "check_")  # one describe call decides
        assert check["Next"] == state["Next"]
    assert not [n for n, s in states.items() if s["Type"] == "Wait" and ("Build" in n or "Deployment" in n)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_asl_validator_accepts(path: Path) -> None:
    if not VALIDATOR.exists():
        if os.environ.get("CI"):
            pytest.fail("asl-validator is not installed: .ci/run must run `npm ci`")
        pytest.skip("asl-validator is not installed: run `make setup`")
    result = subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(tmp_path: Path) -> None:
    """The linter is not a rubber stamp."""
    if not VALIDATOR.exists() or shutil.which("node") is None:
        pytest.skip("asl-validator is not installed")
    bad = load("deploy")
    bad["States"]["Lock"]["Next"] = "NoSuchState"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = subprocess.run(
        [str(VALIDATOR), "--json-path", str(tmp_path / "bad.json")], capture_output=True, check=False
    )
    assert result.returncode != 0


def test_moto_parser_accepts_every_definition_and_rejects_a_broken_one() -> None:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        role = "arn:aws:iam::123456789012:role/sfn"
        for kind in [*(k.value for k in OpKind), *BATCH_STEP_ORDER]:
            sfn.create_state_machine(name=kind, definition=asl_definition(kind, "p-"), roleArn=role)
        broken = load("deploy")
        del broken["States"]["Lock"]["Resource"]
        with pytest.raises(sfn.exceptions.ClientError):
            sfn.create_state_machine(name="broken", definition=json.dumps(broken), roleArn=role)
