"""The state machines, generated from ``controlplane/domain/flows.py``. Pure: dictionaries in, JSON out.

``python -m controlplane generate`` writes ``statemachines/<name>.asl.json`` (committed, linted, reviewed); a
test regenerates them in memory and fails on any difference. Function names are written as
``${function_prefix}step_<phase>``: Terraform (``templatefile``) and the sandbox substitute the prefix.

Shape of every flow (the console shows its phases in order):

    [QuietPeriod] -> phase -> phase -> ... -> Finish            (succeeded)
    any phase --Cancelled--> Cancel -> FinishCancelled -> Cancelled      (cancel path: ABORTED)
    any phase --error------> RecordFailure -> Failed                     (failure path: FAILED / TIMED_OUT)
    token phase --States.Timeout--> Check<Phase> -> next phase

Inside a batch (a Map over environments) the terminal Fail states become Pass states, so one environment's
failure ends only its own iteration.
"""

from __future__ import annotations

import json
from typing import Any

from controlplane.domain.flows import (
    BATCHES,
    CANCEL_PHASE,
    FAILURE_PHASE,
    FINISH_PHASE,
    FLOWS,
    PHASES,
    RETRY_CLASSES,
    Batch,
    Phase,
    StepKind,
)
from controlplane.domain.model import OpKind

FUNCTION_PREFIX = "${function_prefix}"
EXECUTION_TIMEOUT_SECONDS = 172_800
CANCELLED = "Cancelled"  # the error name a cancel raises (errors.Cancelled) and sends to a parked task token
FAILED_STATE, CANCELLED_STATE, UNRECORDED_STATE = "Failed", "Cancelled", "FailureNotRecorded"
FINISH_CANCELLED_STATE = "FinishCancelled"


def _task(phase: Phase, next_state: str | None, catch_cancel: bool) -> dict[str, Any]:
    fn = f"{FUNCTION_PREFIX}{phase.function}"
    state: dict[str, Any] = {"Type": "Task", "Comment": phase.comment}
    if phase.kind is StepKind.TOKEN:
        state |= {
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": fn, "Payload": {"state.$": "$", "task_token.$": "$$.Task.Token"}},
            "TimeoutSecondsPath": "$.wait.timeout_seconds",
            "ResultPath": f"$.ctx.{phase.name}",
        }
    else:
        state |= {
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": fn, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "TimeoutSeconds": phase.timeout_seconds + 60,
        }
    state["Retry"] = [RETRY_CLASSES[phase.retry]]
    catches: list[dict[str, Any]] = []
    if phase.on_timeout:
        catches.append(
            {
                "ErrorEquals": ["States.Timeout"],
                "ResultPath": "$.wait_timed_out",
                "Next": PHASES[phase.on_timeout].title,
            }
        )
    if catch_cancel:
        catches.append({"ErrorEquals": [CANCELLED], "ResultPath": "$.error", "Next": PHASES[CANCEL_PHASE].title})
    if phase.name == FAILURE_PHASE:
        catches.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.fail_error", "Next": UNRECORDED_STATE})
    else:
        catches.append({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": PHASES[FAILURE_PHASE].title})
    state["Catch"] = catches
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def _entry(phase: Phase, only_if: str | None) -> str:
    """The state that enters a phase: a Choice first when the phase is optional."""
    return f"{phase.title}?" if only_if else phase.title


def _phase_states(
    phase: Phase, next_entry: str | None, catch_cancel: bool, states: dict[str, Any], only_if: str | None = None
) -> None:
    if only_if:
        states[f"{phase.title}?"] = {
            "Type": "Choice",
            "Comment": f"{phase.title} runs only when it is needed",
            "Choices": [{"Variable": f"$.ctx.{only_if}", "BooleanEquals": True, "Next": phase.title}],
            "Default": next_entry,
        }
    if phase.kind is StepKind.POLL:
        done, interval = f"{phase.title}Done?", f"{phase.title}Interval"
        states[phase.title] = _task(phase, done, catch_cancel)
        choice: dict[str, Any] = {
            "Type": "Choice",
            "Choices": [{"Variable": "$.step.result", "StringEquals": "poll", "Next": interval}],
        }
        if next_entry is None:
            choice["Default"] = f"{phase.title}Passed"
            states[f"{phase.title}Passed"] = {"Type": "Pass", "End": True}
        else:
            choice["Default"] = next_entry
        states[done] = choice
        states[interval] = {"Type": "Wait", "SecondsPath": "$.wait.interval_seconds", "Next": phase.title}
    else:
        states[phase.title] = _task(phase, next_entry, catch_cancel)


def flow_states(kind: OpKind, in_batch: bool = False) -> tuple[str, dict[str, Any]]:
    """(StartAt, States) of one operation's flow."""
    flow = FLOWS[kind]
    states: dict[str, Any] = {}
    path = [PHASES[name] for name in flow.phases]
    entries = [_entry(p, flow.only_if(p.name)) for p in path]
    for i, phase in enumerate(path):
        following = entries[i + 1] if i + 1 < len(path) else None
        _phase_states(phase, following, catch_cancel=True, states=states, only_if=flow.only_if(phase.name))
        if phase.on_timeout:  # the decider continues where the wait would have
            _phase_states(PHASES[phase.on_timeout], following, catch_cancel=True, states=states)
    # the cancel path: undo, then end the operation ABORTED through the same finish
    finish = PHASES[FINISH_PHASE]
    states[PHASES[CANCEL_PHASE].title] = _task(PHASES[CANCEL_PHASE], FINISH_CANCELLED_STATE, catch_cancel=False)
    finish_cancelled = _task(finish, CANCELLED_STATE, catch_cancel=False)
    finish_cancelled["Comment"] = "End the operation as ABORTED: " + finish.comment
    states[FINISH_CANCELLED_STATE] = finish_cancelled
    # the failure path
    states[PHASES[FAILURE_PHASE].title] = _task(PHASES[FAILURE_PHASE], FAILED_STATE, catch_cancel=False)
    if in_batch:
        for name, comment in (
            (CANCELLED_STATE, "This environment's operation was cancelled and is recorded; the others go on"),
            (FAILED_STATE, "This environment's operation failed and is recorded; the others go on"),
            (UNRECORDED_STATE, "This environment's failure could not be recorded (reconcile will); the others go on"),
        ):
            states[name] = {"Type": "Pass", "Comment": comment, "Result": {"ended": name}, "ResultPath": "$.outcome"}
            states[name]["End"] = True
    else:
        states[CANCELLED_STATE] = {
            "Type": "Fail",
            "Comment": "The operation was cancelled (its record says what was undone)",
            "Error": "OperationCancelled",
            "Cause": "cancelled through the control API",
        }
        states[FAILED_STATE] = {
            "Type": "Fail",
            "Comment": "The failing step's own error and message",
            "ErrorPath": "$.failure.error",
            "CausePath": "$.failure.cause",
        }
        states[UNRECORDED_STATE] = {
            "Type": "Fail",
            "Comment": "The failure path itself failed; the reconcile schedule records the operation's end",
            "Error": "FailureNotRecorded",
            "Cause": "the failure path could not record the operation's end",
        }
    start = entries[0]
    if flow.quiet_wait:
        states["QuietPeriod?"] = {
            "Type": "Choice",
            "Comment": "A push-triggered deploy waits for its policy's quiet period first",
            "Choices": [{"Variable": "$.quiet_seconds", "NumericGreaterThan": 0, "Next": "QuietPeriod"}],
            "Default": start,
        }
        states["QuietPeriod"] = {"Type": "Wait", "SecondsPath": "$.quiet_seconds", "Next": start}
        start = "QuietPeriod?"
    return start, states


def state_machine(kind: OpKind) -> dict[str, Any]:
    start, states = flow_states(kind)
    return {
        "Comment": FLOWS[kind].comment,
        "StartAt": start,
        "TimeoutSeconds": EXECUTION_TIMEOUT_SECONDS,
        "States": states,
    }


def batch_machine(batch: Batch) -> dict[str, Any]:
    start, states = flow_states(batch.kind, in_batch=True)
    return {
        "Comment": batch.comment,
        "StartAt": "Each",
        "TimeoutSeconds": EXECUTION_TIMEOUT_SECONDS,
        "States": {
            "Each": {
                "Type": "Map",
                "Comment": "One environment per iteration; $.max_concurrency at a time (the schedule's setting)",
                "ItemsPath": "$.items",
                "MaxConcurrencyPath": "$.max_concurrency",
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": start, "States": states},
                "ResultPath": None,
                "End": True,
            }
        },
    }


def machines() -> dict[str, dict[str, Any]]:
    """Every state machine by name (the file is statemachines/<name>.asl.json)."""
    out: dict[str, dict[str, Any]] = {kind.value: state_machine(kind) for kind in FLOWS}
    out |= {name: batch_machine(batch) for name, batch in BATCHES.items()}
    return out


def render(definition: dict[str, Any]) -> str:
    return json.dumps(definition, indent=2) + "\n"
