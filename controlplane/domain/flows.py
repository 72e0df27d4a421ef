"""The one declaration of every operation's steps. Pure.

Each operation kind is a flow: an ordered list of phases. A phase is one Lambda function (``step_<name>``) and
one idempotent unit of work; its kind says how the state machine drives it:

- ``action``: called once; it reports ``done``;
- ``poll``: called, then again every ``wait.interval_seconds`` while it reports ``poll`` (draining a service);
- ``token``: called with a Step Functions task token; it starts something (an ECS deployment, a CodeBuild
  build) and parks the token; the AWS event reporting the outcome resolves it (``controlplane/waits.py``). When
  the wait's budget (``wait.timeout_seconds``) ends first, ``on_timeout`` decides with one describe call.

Every flow ends in ``finish`` (the operation succeeded), the failure path ``fail``, or the cancel path
(``cancel`` undoes a rollout that began, then ``finish`` records the operation ABORTED). Those three end the
operation through the one ending in ``controlplane/operations.py``.

``statemachines/*.asl.json`` and the step functions' settings in ``.chalice/config.json`` are generated from
this module (``python -m controlplane generate``); a test fails when they drift.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from controlplane.domain.model import OpKind


class StepKind(enum.StrEnum):
    ACTION = "action"
    POLL = "poll"
    TOKEN = "token"


class Retry(enum.StrEnum):
    """How a phase's Task state retries. ``standard``: TransientError (throttling, 5xx, timeouts, translated by
    ``aws/clients.py``) and Lambda's own service errors, with exponential backoff; nothing else is retried."""

    STANDARD = "standard"


RETRY_CLASSES: dict[Retry, dict[str, object]] = {
    Retry.STANDARD: {
        "ErrorEquals": [
            "TransientError",
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 1,
        "MaxAttempts": 4,
        "BackoffRate": 2.0,
    },
}


@dataclass(frozen=True)
class Phase:
    name: str  # snake_case; the Lambda function is step_<name>
    title: str  # the state's name in the Step Functions console
    kind: StepKind
    comment: str
    timeout_seconds: int = 60  # the Lambda function's timeout
    retry: Retry = Retry.STANDARD
    on_timeout: str | None = None  # token phases: the phase that decides when the wait's budget ends

    @property
    def function(self) -> str:
        return f"step_{self.name}"


PHASES: dict[str, Phase] = {
    p.name: p
    for p in (
        Phase(
            "prepare",
            "Prepare",
            StepKind.ACTION,
            "Read the Terraform contract, check the base and the tier; find the image (or decide to build it); "
            "for the nightly teardown, snapshot what runs",
        ),
        Phase(
            "build",
            "Build",
            StepKind.TOKEN,
            "Start the CodeBuild build of the image and wait for its CodeBuild Build State Change event",
            on_timeout="check_build",
        ),
        Phase("check_build", "CheckBuild", StepKind.ACTION, "No event within the budget: one describe call decides"),
        Phase(
            "rollout",
            "Rollout",
            StepKind.TOKEN,
            "Register the task definition pinned to the image digest, create or update the service, and wait for "
            "that deployment's ECS Deployment State Change event (a circuit-breaker rollback fails it)",
            timeout_seconds=120,
            on_timeout="check_rollout",
        ),
        Phase(
            "check_rollout", "CheckRollout", StepKind.ACTION, "No event within the budget: one describe call decides"
        ),
        Phase(
            "health_check",
            "HealthCheck",
            StepKind.POLL,
            "Wait until the desired number of tasks run and are healthy load balancer targets",
        ),
        Phase("drain", "Drain", StepKind.POLL, "Remove autoscaling, scale the service to 0, wait until no task runs"),
        Phase("delete_service", "DeleteService", StepKind.POLL, "Delete the service and wait until it is INACTIVE"),
        Phase(
            "sweep",
            "Sweep",
            StepKind.ACTION,
            "Delete the task definitions, the images and the log groups (the nightly teardown keeps images and logs "
            "for the morning), then verify nothing the control plane made remains",
            timeout_seconds=300,
        ),
        Phase(
            "finish",
            "Finish",
            StepKind.ACTION,
            "End the operation: settle the environment from what ECS runs, record, release the lock, notify, start "
            "a pending push",
        ),
        Phase(
            "fail",
            "RecordFailure",
            StepKind.ACTION,
            "End the operation as failed (or timed out) with the failing step's error and what ECS runs",
            timeout_seconds=120,
        ),
        Phase(
            "cancel",
            "Cancel",
            StepKind.TOKEN,
            "Cancelled: roll a rollout that began back to the previous task definition and wait for it (or stop the "
            "build); nothing to undo resolves at once",
            timeout_seconds=120,
        ),
    )
}


@dataclass(frozen=True)
class Flow:
    kind: OpKind
    comment: str
    phases: tuple[str, ...]  # the main path, in order
    optional: tuple[tuple[str, str], ...] = ()  # (phase, ctx flag): the phase runs only when ctx[flag] is true
    quiet_wait: bool = False  # a push-triggered deploy first waits $.quiet_seconds (DeployOnPush.quiet_seconds)

    def only_if(self, phase: str) -> str | None:
        return dict(self.optional).get(phase)


FLOWS: dict[OpKind, Flow] = {
    OpKind.PROVISION: Flow(
        OpKind.PROVISION,
        "Provision an environment on its Terraform base: image (built if none), service, healthy targets",
        ("prepare", "build", "rollout", "health_check", "finish"),
        optional=(("build", "needs_build"),),  # prepare decides: no image in the repository yet
    ),
    OpKind.BUILD: Flow(OpKind.BUILD, "Build the service image with CodeBuild and push it to ECR", ("build", "finish")),
    OpKind.DEPLOY: Flow(
        OpKind.DEPLOY,
        "Deploy an image (or redeploy what runs) and wait for that deployment's real outcome",
        ("rollout", "finish"),
        quiet_wait=True,
    ),
    OpKind.DESTROY: Flow(
        OpKind.DESTROY,
        "Destroy what the control plane made for an environment: drain, delete the service, sweep",
        ("prepare", "drain", "delete_service", "sweep", "finish"),
    ),
}

# The phases every flow can end in, besides its main path.
FAILURE_PHASE = "fail"
CANCEL_PHASE = "cancel"
FINISH_PHASE = "finish"


@dataclass(frozen=True)
class Batch:
    """A state machine that runs one operation per environment in a Map (the schedules)."""

    name: str
    kind: OpKind
    comment: str


BATCHES: dict[str, Batch] = {
    "teardown": Batch(
        "teardown",
        OpKind.DESTROY,
        "The nightly teardown: one destroy operation per selected dev environment (keeping images and logs)",
    ),
    "restore": Batch(
        "restore", OpKind.PROVISION, "The morning restore: one provision per torn-down environment, exactly as before"
    ),
}


def flow_phases(kind: OpKind) -> list[Phase]:
    """Every phase a flow can run: its main path, the deciders of its waits, the cancel and failure paths."""
    names: list[str] = []
    for name in FLOWS[kind].phases:
        names.append(name)
        decider = PHASES[name].on_timeout
        if decider:
            names.append(decider)
    names += [CANCEL_PHASE, FAILURE_PHASE]
    return [PHASES[n] for n in dict.fromkeys(names)]


def next_phase(kind: OpKind, name: str, ctx: dict[str, object] | None = None) -> str | None:
    """The phase that follows ``name`` on the main path (skipping phases whose ``only_if`` is false in ctx)."""
    path = FLOWS[kind].phases
    base = name
    for phase in PHASES.values():  # a decider continues where its wait would have
        if phase.on_timeout == name:
            base = phase.name
    if base not in path:
        return None
    for candidate in path[path.index(base) + 1 :]:
        flag = FLOWS[kind].only_if(candidate)
        if flag is None or (ctx or {}).get(flag):
            return candidate
    return None
