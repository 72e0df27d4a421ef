"""The state machines: generated from the one declaration of the flows (and committed for review), accepted by a
linter and by moto's parser, and shaped as the steps rely on."""

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
from controlplane import asl, generate
from controlplane.domain.flows import BATCHES, FLOWS, PHASES, StepKind
from controlplane.domain.model import OpKind
from controlplane.sandbox.seed import asl_definition

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
MACHINES = [*(k.value for k in OpKind), *BATCHES]


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "statemachines" / f"{name}.asl.json").read_text()))


def states_of(definition: dict[str, Any]) -> dict[str, Any]:
    states = definition["States"]
    if "Each" in states:
        return dict(states["Each"]["ItemProcessor"]["States"])
    return dict(states)


def function_of(state: dict[str, Any]) -> str:
    return str(state["Parameters"]["FunctionName"]).removeprefix("${function_prefix}step_")


def main_path(definition: dict[str, Any]) -> list[str]:
    """The phases on the success path: Next, and the first choice of every Choice (the wait's way out, the
    optional phase taken)."""
    states = states_of(definition)
    inner = definition["States"].get("Each", {}).get("ItemProcessor", definition)
    name, seen, path = inner["StartAt"], set(), []
    while name and name not in seen:
        seen.add(name)
        state = states[name]
        if state["Type"] == "Task":
            path.append(function_of(state))
        if state["Type"] == "Choice":
            taken = state["Choices"][0]["Next"]
            name = state["Default"] if taken.endswith("Interval") else taken
        else:
            name = state.get("Next")
    return path


def test_the_committed_files_are_what_the_declaration_generates() -> None:
    # GIVEN the flows and the deployment settings declared in Python
    # THEN statemachines/*.asl.json, .chalice/config.json and Terraform's generated/functions.json and events.json
    # are exactly what they generate (no hand edits)
    assert generate.drift() == [], "run: python -m controlplane generate"


def test_drift_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drift check is not a rubber stamp: a hand edit of a generated file is reported."""
    copy = tmp_path / "repo"
    for path, text in generate.generated().items():
        (copy / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        (copy / path.relative_to(ROOT)).write_text(text)
    monkeypatch.setattr(generate, "ROOT", copy)
    assert generate.drift() == []
    edited = copy / "statemachines" / "deploy.asl.json"
    edited.write_text(edited.read_text().replace('"MaxAttempts": 4', '"MaxAttempts": 9'))
    (copy / "statemachines" / "stray.asl.json").write_text("{}")
    rules = copy / generate.TERRAFORM_GENERATED / "events.json"
    rules.write_text(rules.read_text().replace("rate(5 minutes)", "rate(1 minute)"))
    assert generate.drift() == [
        "statemachines/deploy.asl.json",
        "statemachines/stray.asl.json (not generated)",
        str(generate.TERRAFORM_GENERATED / "events.json"),
    ]


def test_one_file_per_operation_kind_and_batch() -> None:
    assert [f.name for f in FILES] == sorted(f"{m}.asl.json" for m in MACHINES)


@pytest.mark.parametrize("kind", list(OpKind))
def test_each_machine_is_its_flows_phases_in_order(kind: OpKind) -> None:
    assert main_path(load(kind.value)) == list(FLOWS[kind].phases)


@pytest.mark.parametrize("name", list(BATCHES))
def test_a_batch_runs_its_kinds_flow_per_environment_and_an_environment_fails_alone(name: str) -> None:
    definition = load(name)
    each = definition["States"]["Each"]
    assert each["Type"] == "Map" and each["ItemsPath"] == "$.items"
    assert each["MaxConcurrencyPath"] == "$.max_concurrency"  # set by the schedule (BATCH_CONCURRENCY)
    assert main_path(definition) == list(FLOWS[BATCHES[name].kind].phases)
    states = states_of(definition)
    for terminal in (asl.FAILED_STATE, asl.CANCELLED_STATE, asl.UNRECORDED_STATE):
        assert states[terminal]["Type"] == "Pass" and states[terminal]["End"] is True  # never fails the Map


@pytest.mark.parametrize("name", MACHINES)
def test_every_task_retries_transient_errors_and_catches_to_the_failure_path(name: str) -> None:
    functions = {f.name for f in chalice_app.app.pure_lambda_functions}
    for state_name, state in states_of(load(name)).items():
        if state["Type"] == "Wait":
            assert set(state) == {"Type", "SecondsPath", "Next"}, "waits come from the input"
        if state["Type"] != "Task":
            continue
        assert f"step_{function_of(state)}" in functions, f"{state_name} invokes an unknown function"
        [retry] = state["Retry"]
        assert "TransientError" in retry["ErrorEquals"] and retry["BackoffRate"] > 1
        last = state["Catch"][-1]
        assert last["ErrorEquals"] == ["States.ALL"]
        if function_of(state) == "fail":
            assert last["Next"] == asl.UNRECORDED_STATE
        else:
            assert (last["ResultPath"], last["Next"]) == ("$.error", "RecordFailure")


@pytest.mark.parametrize("kind", list(OpKind))
def test_cancel_is_caught_on_the_main_path_and_ends_through_finish(kind: OpKind) -> None:
    states = states_of(load(kind.value))
    for name, state in states.items():
        if state["Type"] == "Task" and function_of(state) in FLOWS[kind].phases and name != asl.FINISH_CANCELLED_STATE:
            assert {"ErrorEquals": ["Cancelled"], "ResultPath": "$.error", "Next": "Cancel"} in state["Catch"]
    assert states["Cancel"]["Next"] == asl.FINISH_CANCELLED_STATE
    assert function_of(states[asl.FINISH_CANCELLED_STATE]) == "finish"
    assert states[asl.FAILED_STATE] == {
        **states[asl.FAILED_STATE],
        "ErrorPath": "$.failure.error",
        "CausePath": "$.failure.cause",
    }  # the execution fails with the failing step's own error


@pytest.mark.parametrize("kind", list(OpKind))
def test_token_waits_have_the_budget_as_timeout_and_a_decider(kind: OpKind) -> None:
    states = states_of(load(kind.value))
    for name, phase in PHASES.items():
        if phase.kind is not StepKind.TOKEN or phase.title not in states:
            continue
        state = states[phase.title]
        assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
        assert state["TimeoutSecondsPath"] == "$.wait.timeout_seconds"
        assert state["ResultPath"] == f"$.ctx.{name}"
        if phase.on_timeout:
            timeout = state["Catch"][0]
            assert timeout["ErrorEquals"] == ["States.Timeout"]
            decider = states[timeout["Next"]]
            assert function_of(decider) == phase.on_timeout and decider["Next"] == state["Next"]


def test_a_push_deploy_waits_its_quiet_period_from_the_input() -> None:
    states = load("deploy")["States"]
    assert load("deploy")["StartAt"] == "QuietPeriod?"
    assert states["QuietPeriod"] == {"Type": "Wait", "SecondsPath": "$.quiet_seconds", "Next": "Rollout"}


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
    bad["States"]["Rollout"]["Next"] = "NoSuchState"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = subprocess.run(
        [str(VALIDATOR), "--json-path", str(tmp_path / "bad.json")], capture_output=True, check=False
    )
    assert result.returncode != 0


def test_moto_parser_accepts_every_definition_and_rejects_a_broken_one() -> None:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="eu-central-1")
        role = "arn:aws:iam::123456789012:role/sfn"
        for name in MACHINES:
            sfn.create_state_machine(name=name, definition=asl_definition(name, "p-"), roleArn=role)
        broken = load("deploy")
        del broken["States"]["Rollout"]["Resource"]
        with pytest.raises(sfn.exceptions.ClientError):
            sfn.create_state_machine(name="broken", definition=json.dumps(broken), roleArn=role)
