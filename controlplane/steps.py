"""The state machine steps. Each takes the execution state and returns updates for ``state["ctx"]``.

Steps are idempotent (safe to retry) and raise the errors in ``controlplane.errors``: Step Functions retries
``TransientError`` and sends everything else to the failure path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from controlplane.aws.platform import Platform
from controlplane.domain.contract import Contract, parse_contract
from controlplane.domain.model import (
    TRANSITIONAL,
    EnvStatus,
    OpKind,
    OpStatus,
    StepRecord,
    StepStatus,
    Tier,
    status_after_failure,
)
from controlplane.domain.schedule import Snapshot
from controlplane.errors import (
    BaseInfrastructureMissing,
    BuildFailed,
    DeploymentFailed,
    HealthCheckFailed,
    ImageNotFound,
    InvalidState,
    LeftoversFound,
    LockLost,
    OperationFinished,
    StepError,
    WaitTimeout,
)
from controlplane.notify import notify_end
from controlplane.observability import logger
from controlplane.ports import Clock, LockHeld, Notifier, Store
from controlplane.waits import Waits, build_key, deployment_key

State = dict[str, Any]
Updates = dict[str, Any]


@dataclass(frozen=True)
class Deps:
    store: Store
    platform: Platform
    clock: Clock
    # Called with the environment's name after an operation released its lock: starts a queued push.
    on_released: Callable[[str], Any] | None = None
    waits: Waits | None = None  # task-token waits (deployments, builds)
    notifier: Notifier | None = None  # the operation's end, to the environment's SNS topic


def _released(d: Deps, environment: str) -> None:
    """Best effort: the operation's outcome is recorded already; a push left queued starts on the next event."""
    if d.on_released is None:
        return
    try:
        outcome = d.on_released(environment)
        if isinstance(outcome, dict) and outcome.get("outcome") not in (None, "none"):
            logger.info("queued push", extra={"environment": environment, **outcome})
    except Exception as exc:
        logger.warning("could not start the queued push", extra={"environment": environment, "error": str(exc)})


def _contract(state: State) -> Contract:
    return parse_contract(state["ctx"]["contract"], state["environment"])


def _kind(state: State) -> OpKind:
    return OpKind(state["kind"])


def _env(d: Deps, state: State) -> Any:
    env = d.store.get_environment(state["environment"])
    if env is None:
        raise InvalidState(f"environment {state['environment']} is not in the registry")
    return env


def _deadline(d: Deps, state: State, wait: str) -> tuple[float, Updates]:
    """The wait's deadline: set at its first poll from the operation's timeout budget."""
    key = f"{wait}_deadline"
    if key in state["ctx"]:
        return float(state["ctx"][key]), {}
    deadline = d.clock() + float(state["wait"]["timeout_seconds"])
    return deadline, {key: deadline}


def _not_done_yet(d: Deps, state: State, wait: str, what: str) -> Updates:
    deadline, updates = _deadline(d, state, wait)
    if d.clock() > deadline:
        raise WaitTimeout(f"{what} did not finish within {state['wait']['timeout_seconds']}s")
    return updates


# common ------------------------------------------------------------------------------------------------------
def validate(d: Deps, state: State) -> Updates:
    env = _env(d, state)
    kind = _kind(state)
    if env.status is EnvStatus.DESTROYING and kind is not OpKind.DESTROY:
        raise InvalidState(f"environment {env.name} is being destroyed")
    if kind is OpKind.DEPLOY and env.status not in (EnvStatus.READY, EnvStatus.DEPLOYING, EnvStatus.FAILED):
        raise InvalidState(f"environment {env.name} is {env.status.value}: provision it before deploying")
    if state["params"].get("nightly") and env.tier is not Tier.DEV:  # never staging or prod, whatever asked
        raise InvalidState(f"the nightly teardown only tears down dev environments; {env.name} is {env.tier.value}")
    contract = d.platform.read_contract(env.name)
    return {"contract": contract.to_dict(), "previous_digest": env.image_digest}


def lock(d: Deps, state: State) -> Updates:
    name, op_id = state["environment"], state["operation_id"]
    try:
        d.store.acquire_lock(name, op_id, d.clock(), float(state.get("lease_seconds", 3600)))
    except LockHeld as held:
        raise LockLost(f"environment {name} is locked by operation {held.lock.operation_id}") from None
    op = d.store.get_operation(op_id)
    if op is None or op.status.finished:  # cancelled while we were taking the lock: give it back
        d.store.release_lock(name, op_id)
        raise OperationFinished(f"operation {op_id} finished before it took the lock")
    env = _env(d, state)
    status = TRANSITIONAL.get(_kind(state), env.status)
    d.store.put_environment(env.replace(status=status, last_operation_id=op_id, updated_at=d.clock()))
    return {}


def record(d: Deps, state: State) -> Updates:
    ctx, kind = state["ctx"], _kind(state)
    env = _env(d, state)
    result = {k: ctx[k] for k in ("image_digest", "image_tag", "task_definition_arn", "deployment_id") if k in ctx}
    if kind is OpKind.DESTROY:
        env = env.replace(status=EnvStatus.DESTROYED, image_digest=None, task_definition_arn=None)
        result.update({k: ctx[k] for k in ("deleted_images", "deleted_log_groups", "deregistered") if k in ctx})
        if state["params"].get("nightly"):
            d.store.set_snapshot_state(env.name, state["operation_id"], "torn_down")
            result["snapshot"] = ctx.get("snapshot")
    elif kind in (OpKind.PROVISION, OpKind.DEPLOY):
        env = env.replace(
            status=EnvStatus.READY, image_digest=ctx["image_digest"], task_definition_arn=ctx["task_definition_arn"]
        )
    if state["params"].get("restore"):
        d.store.set_snapshot_state(env.name, str(state["params"].get("snapshot_operation_id", "")), "restored")
    d.store.put_environment(env.replace(last_operation_id=state["operation_id"], updated_at=d.clock()))
    return {"result": result}


def unlock(d: Deps, state: State) -> Updates:
    """Release the lock, then mark the operation SUCCEEDED: whoever sees it finished can start the next one."""
    d.store.release_lock(state["environment"], state["operation_id"])
    d.store.finish_operation(state["operation_id"], OpStatus.SUCCEEDED, d.clock(), result=state["ctx"].get("result"))
    notify_end(d.store, d.notifier, state["operation_id"])
    _released(d, state["environment"])
    return {}


def fail(d: Deps, state: State) -> Updates:
    """The failure path: record which step failed and why, settle the environment, release the lock."""
    error = state.get("error") or {}
    name, message = str(error.get("Error", "Unknown")), str(error.get("Cause", ""))
    try:
        cause = json.loads(message)
        message = str(cause.get("errorMessage", message))
    except (ValueError, AttributeError):
        pass
    op = d.store.get_operation(state["operation_id"])
    failed = op.failed_step() if op else None
    if message in ("", "None") and failed is not None and failed.error:  # a task-token failure: see waits.py
        message = failed.error
    status = OpStatus.TIMED_OUT if name in ("WaitTimeout", "States.Timeout") else OpStatus.FAILED
    env = d.store.get_environment(state["environment"])
    if env is not None and env.last_operation_id == state["operation_id"]:
        settled = status_after_failure(_kind(state), env.status)
        d.store.put_environment(env.replace(status=settled, updated_at=d.clock()))
    d.store.release_lock(state["environment"], state["operation_id"])
    d.store.finish_operation(
        state["operation_id"],
        status,
        d.clock(),
        error={"step": failed.name if failed else None, "code": name, "message": message},
    )
    notify_end(d.store, d.notifier, state["operation_id"])
    _released(d, state["environment"])
    return {"failed_step": failed.name if failed else None}


# provision and deploy -----------------------------------------------------------------------------------------
def check_base(d: Deps, state: State) -> Updates:
    missing = d.platform.missing_base(_contract(state))
    if missing:
        raise BaseInfrastructureMissing("base infrastructure missing: " + "; ".join(missing))
    return {}


def _tag_for(source_version: str) -> str:
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", source_version).strip(".-")[:128]
    return tag or "build"


def ensure_image(d: Deps, state: State) -> Updates:
    k = _contract(state)
    pinned = state["params"].get("image_digest")
    if pinned:  # an override (the morning restore): exactly that image, never a build
        if not d.platform.image_exists(k.ecr_repository_name, pinned):
            raise ImageNotFound(f"no image {pinned} in {k.ecr_repository_name}")
        return {"needs_build": False, "image_digest": pinned}
    env = _env(d, state)
    if env.image_digest and d.platform.image_exists(k.ecr_repository_name, env.image_digest):
        return {"needs_build": False, "image_digest": env.image_digest}
    newest = d.platform.newest_image(k.ecr_repository_name)
    if newest:
        return {"needs_build": False, "image_digest": newest}
    updates = start_build(d, state)
    return {"needs_build": True, **updates}


def start_build(d: Deps, state: State) -> Updates:
    if "build_id" in state["ctx"]:
        return {}
    k = _contract(state)
    source = state["params"].get("source_version", "main")
    tag = state["params"].get("image_tag") or _tag_for(source)
    build_id = d.platform.start_build(k.codebuild_project_name, source, tag, idempotency_token=state["operation_id"])
    return {"build_id": build_id, "image_tag": tag}


def _register_wait(d: Deps, state: State, key: str, step: str) -> Updates:
    if d.waits is None:
        raise InvalidState("task-token waits are not configured")
    d.waits.register(key, str(state["task_token"]), state["operation_id"], step)
    return {}


def wait_build(d: Deps, state: State) -> Updates:
    """Register the task token; the build's ``CodeBuild Build State Change`` event resolves it."""
    return _register_wait(d, state, build_key(state["ctx"]["build_id"]), "wait_build")


def check_build(d: Deps, state: State) -> Updates:
    """The wait timed out without an event: one describe call decides."""
    status, phase = d.platform.build_status(state["ctx"]["build_id"])
    if status == "SUCCEEDED":
        return {"build_done": True}
    if status in ("FAILED", "FAULT", "STOPPED", "TIMED_OUT"):
        raise BuildFailed(f"build {state['ctx']['build_id']} ended {status} in phase {phase}")
    raise WaitTimeout(f"build {state['ctx']['build_id']} did not finish within {state['wait']['timeout_seconds']}s")


def record_build(d: Deps, state: State) -> Updates:
    k, tag = _contract(state), state["ctx"]["image_tag"]
    digest = d.platform.digest_for_tag(k.ecr_repository_name, tag)
    if digest is None:
        raise ImageNotFound(f"the build finished but {k.ecr_repository_name}:{tag} is not in the repository")
    return {"image_digest": digest}


def resolve_image(d: Deps, state: State) -> Updates:
    k, params = _contract(state), state["params"]
    repo = k.ecr_repository_name
    if "image_tag" in params:
        digest = d.platform.digest_for_tag(repo, params["image_tag"])
        if digest is None:
            raise ImageNotFound(f"no image tagged {params['image_tag']!r} in {repo}")
        return {"image_digest": digest, "image_tag": params["image_tag"]}
    if "image_digest" in params:
        if not d.platform.image_exists(repo, params["image_digest"]):
            raise ImageNotFound(f"no image {params['image_digest']} in {repo}")
        return {"image_digest": params["image_digest"]}
    env = _env(d, state)
    if not env.image_digest:
        raise InvalidState(f"environment {env.name} has no current image to redeploy; give image_tag or image_digest")
    return {"image_digest": env.image_digest}


def register_task_definition(d: Deps, state: State) -> Updates:
    k = _contract(state)
    image = f"{d.platform.repository_uri(k.ecr_repository_name)}@{state['ctx']['image_digest']}"
    d.platform.ensure_log_group(k.log_group_name, k.log_retention_days, k.environment)
    return {"task_definition_arn": d.platform.register_task_definition(k, image)}


def apply_service(d: Deps, state: State) -> Updates:
    if "deployment_id" in state["ctx"]:
        return {}
    k, env, params = _contract(state), _env(d, state), state["params"]
    desired = env.settings.desired_count if env.settings.desired_count is not None else k.profile.desired_count
    if params.get("desired_count") is not None:  # an override (the morning restore)
        desired = int(params["desired_count"])
    deployment_id = d.platform.apply_service(k, state["ctx"]["task_definition_arn"], desired, k.profile.fargate_spot)
    if "autoscaling" in params:  # exact limits (or none), as recorded
        limits = params["autoscaling"]
        if limits:
            low, high = int(limits["min_count"]), int(limits["max_count"])
            d.platform.configure_autoscaling(k, low, high, k.profile.cpu_target_percent)
        else:
            d.platform.remove_autoscaling(k)
    elif k.profile.autoscaling:
        low = min(k.profile.min_count, desired)
        high = max(k.profile.max_count, desired)
        d.platform.configure_autoscaling(k, low, high, k.profile.cpu_target_percent)
    else:
        d.platform.remove_autoscaling(k)
    return {"deployment_id": deployment_id, "desired_count": desired}


def wait_deployment(d: Deps, state: State) -> Updates:
    """Register the task token; that deployment's ``ECS Deployment State Change`` event resolves it."""
    return _register_wait(d, state, deployment_key(state["ctx"]["deployment_id"]), "wait_deployment")


def check_deployment(d: Deps, state: State) -> Updates:
    """The wait timed out without an event: one describe call decides."""
    deployment_id = state["ctx"]["deployment_id"]
    outcome = d.platform.deployment_outcome(_contract(state), deployment_id)
    if outcome.state == "COMPLETED":
        return {"deployment_done": True}
    if outcome.state == "FAILED":
        raise DeploymentFailed(f"deployment {deployment_id} failed: {outcome.reason or 'no reason given'}")
    raise WaitTimeout(f"deployment {deployment_id} did not finish within {state['wait']['timeout_seconds']}s")


def health_check(d: Deps, state: State) -> Updates:
    k = _contract(state)
    desired = int(state["ctx"]["desired_count"])
    svc = d.platform.describe_service(k.cluster_name, k.service_name) or {}
    running = int(svc.get("runningCount", 0))
    healthy = d.platform.healthy_targets(k.target_group_arn)
    if running < desired or healthy < desired:
        raise HealthCheckFailed(f"{running}/{desired} tasks running, {healthy}/{desired} targets healthy")
    return {"healthy_targets": healthy}


# destroy ------------------------------------------------------------------------------------------------------
def snapshot(d: Deps, state: State) -> Updates:
    """Record what runs now (desired count, autoscaling limits, image digest) before the nightly teardown."""
    if "snapshot" in state["ctx"]:
        return {}
    k, env = _contract(state), _env(d, state)
    if not env.image_digest:
        raise InvalidState(f"environment {env.name} runs no recorded image: nothing to restore in the morning")
    svc = d.platform.describe_service(k.cluster_name, k.service_name) or {}
    target = d.platform.scalable_target(k)
    snap = Snapshot(
        environment=env.name,
        desired_count=int(svc.get("desiredCount", 0)),
        min_count=int(target["MinCapacity"]) if target else None,
        max_count=int(target["MaxCapacity"]) if target else None,
        image_digest=env.image_digest,
        operation_id=state["operation_id"],
        taken_at=d.clock(),
    )
    d.store.put_snapshot(snap)
    return {"snapshot": snap.to_dict()}


def scale_down(d: Deps, state: State) -> Updates:
    k = _contract(state)
    d.platform.remove_autoscaling(k)
    return {"scaled_down": d.platform.scale_service(k, 0)}


def wait_drained(d: Deps, state: State) -> Updates:
    k = _contract(state)
    svc = d.platform.describe_service(k.cluster_name, k.service_name)
    if svc is None or svc.get("status") == "INACTIVE" or int(svc.get("runningCount", 0)) == 0:
        return {"drained": True}
    return {"drained": False, **_not_done_yet(d, state, "drain", f"draining {k.service_name}")}


def delete_service(d: Deps, state: State) -> Updates:
    return {"service_deleted": d.platform.delete_service(_contract(state))}


def wait_inactive(d: Deps, state: State) -> Updates:
    k = _contract(state)
    svc = d.platform.describe_service(k.cluster_name, k.service_name)
    if svc is None or svc.get("status") == "INACTIVE":
        return {"inactive": True}
    return {"inactive": False, **_not_done_yet(d, state, "inactive", f"deleting {k.service_name}")}


def deregister_task_definitions(d: Deps, state: State) -> Updates:
    return {"deregistered": d.platform.deregister_task_definitions(_contract(state).task_family)}


def delete_images(d: Deps, state: State) -> Updates:
    return {"deleted_images": d.platform.delete_images(_contract(state).ecr_repository_name)}


def delete_log_groups(d: Deps, state: State) -> Updates:
    k = _contract(state)
    return {"deleted_log_groups": d.platform.delete_log_groups(d.platform.log_groups(k))}


def sweep(d: Deps, state: State) -> Updates:
    k = _contract(state)
    inv, tagged = d.platform.inventory(k), d.platform.tagged_leftovers(k)
    if state["params"].get("nightly"):  # the night keeps images and logs: the morning restores that digest
        inv = replace(inv, images=(), log_groups=())
        tagged = [arn for arn in tagged if ":log-group:" not in arn]
    leftovers = inv.leftovers()
    leftovers += [f"{arn} is still tagged cart:managed-by=controlplane" for arn in tagged]
    if leftovers:
        raise LeftoversFound("left behind: " + "; ".join(leftovers))
    return {"swept": True}


StepFn = Callable[[Deps, State], Updates]
STEPS: dict[str, StepFn] = {
    f.__name__: f
    for f in (
        validate,
        lock,
        check_base,
        ensure_image,
        start_build,
        wait_build,
        check_build,
        record_build,
        resolve_image,
        register_task_definition,
        apply_service,
        wait_deployment,
        check_deployment,
        health_check,
        snapshot,
        scale_down,
        wait_drained,
        delete_service,
        wait_inactive,
        deregister_task_definitions,
        delete_images,
        delete_log_groups,
        sweep,
        record,
        unlock,
        fail,
    )
}
# Steps that are not part of the operation's timeline (the failure path records the failure itself).
UNTRACKED = frozenset({"fail"})


def run_step(name: str, d: Deps, state: State) -> State:
    """Run one step, keep the operation's step timeline, and return the new execution state.

    A wait step keeps a single timeline entry however many times it polls (``polls`` counts them); a retried
    step counts ``attempts``. Errors are recorded, then re-raised for Step Functions' Retry/Catch.
    """
    fn = STEPS[name]
    op_id = state["operation_id"]
    if name in UNTRACKED:
        return {**state, "ctx": {**state.get("ctx", {}), **fn(d, state)}}
    op = d.store.get_operation(op_id)
    if op is None:
        raise InvalidState(f"operation {op_id} is not in the registry")
    if op.status.finished:
        raise OperationFinished(f"operation {op_id} is already {op.status.value}; step {name} not run")
    now = d.clock()
    for running in op.steps:  # an event-driven wait ended when the next step began (a check_: it timed out)
        if running.name != name and running.name.startswith("wait_") and running.status is StepStatus.RUNNING:
            if name.startswith("check_"):
                ended = replace(running, status=StepStatus.FAILED, error="no event within the wait's timeout budget")
            else:
                ended = replace(running, status=StepStatus.SUCCEEDED)
            d.store.record_step(op_id, replace(ended, ended_at=now))
    prev = op.step(name)
    waiting = name.startswith("wait_")
    if prev is None:
        rec = StepRecord(name=name, seq=len(op.steps) + 1, status=StepStatus.RUNNING, started_at=now)
    elif prev.status is StepStatus.RUNNING and waiting:
        rec = replace(prev, polls=prev.polls + 1)
    else:
        rec = StepRecord(
            **{**prev.__dict__, "status": StepStatus.RUNNING, "attempts": prev.attempts + 1, "error": None}
        )
    if waiting and "task_token" not in state:  # a task-token wait is one call, not a poll
        rec = replace(rec, polls=max(rec.polls, 1))
    if prev is None or not waiting or prev.status is not StepStatus.RUNNING:
        d.store.record_step(op_id, rec)
    try:
        updates = fn(d, state)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, StepError) else str(exc)
        d.store.record_step(op_id, replace(rec, status=StepStatus.FAILED, error=error[:1000]))
        raise
    done = not waiting or any(v is True for k, v in updates.items() if not k.endswith("_deadline"))
    if done:
        d.store.record_step(op_id, replace(rec, status=StepStatus.SUCCEEDED, ended_at=d.clock()))
    elif rec.polls > 1 and rec.polls % 10 == 0:
        d.store.record_step(op_id, rec)
    return {**state, "ctx": {**state.get("ctx", {}), **updates}}
