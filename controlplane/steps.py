"""The phases of every flow (``domain/flows.py``) and the one step runner that drives them.

A phase takes the execution's state and returns an explicit result:

- ``Done(updates, detail)``: finished; the runner records it SUCCEEDED and the next phase RUNNING, in one write;
- ``Poll(updates, detail)``: not yet; the state machine calls it again after ``wait.interval_seconds``;
- ``Park(key, carry, detail)``: a token phase started something; the runner parks the task token under ``key``
  (``controlplane/waits.py``) and the event that reports the outcome resumes the execution with ``carry``;
- ``Closed(failure)``: the phase ended the operation (``finish``, ``fail``, ``cancel``'s end).

Every record write is conditional on the operation still running and returns its cancel request: a phase that
finds one raises ``Cancelled`` after recording itself, and the state machine's cancel path takes over. Errors
are recorded, then re-raised for Step Functions' Retry and Catch (the error's class name is what they match).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controlplane.domain.contract import Contract, parse_contract
from controlplane.domain.events import BUILD_FAILED_STATUSES, build_key, deployment_key
from controlplane.domain.flows import CANCEL_PHASE, FAILURE_PHASE, FINISH_PHASE, FLOWS, PHASES, StepKind, next_phase
from controlplane.domain.model import (
    EnvStatus,
    Intended,
    OpKind,
    OpStatus,
    StepRecord,
    StepStatus,
    Tier,
)
from controlplane.domain.redact import redact
from controlplane.domain.rollout import image_digest, image_tag, revision
from controlplane.domain.schedule import Snapshot
from controlplane.domain.times import iso, read_time
from controlplane.errors import (
    BaseInfrastructureMissing,
    BuildFailed,
    Cancelled,
    DeploymentFailed,
    HealthCheckFailed,
    ImageNotFound,
    InvalidState,
    LeftoversFound,
    OperationFinished,
    StepError,
    Superseded,
    TransientError,
    WaitTimeout,
)
from controlplane.observability import logger
from controlplane.operations import Closing, Operations
from controlplane.ports import Clock, OperationEnded, Platform, Registry
from controlplane.waits import Waits

State = dict[str, Any]
# The phases that end an operation, on every path (a cancel request does not stop them: they end it).
ENDING_PHASES = frozenset({CANCEL_PHASE, FAILURE_PHASE, FINISH_PHASE})
SWEEP_ROUNDS = 3  # images pushed while a destroy sweeps are deleted too: the sweep repeats until nothing is left


@dataclass(frozen=True)
class Deps:
    registry: Registry
    platform: Platform
    operations: Operations
    waits: Waits
    clock: Clock


@dataclass(frozen=True)
class Done:
    updates: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Poll:
    updates: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Park:
    key: str
    carry: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Closed:
    failure: dict[str, str] | None = None  # the failure path: the execution's error and cause


StepResult = Done | Poll | Park | Closed


class Run:
    """One phase's view of the execution state."""

    def __init__(self, state: State, token: str | None, now: float) -> None:
        self.state, self.token, self.now = state, token, now

    @property
    def op_id(self) -> str:
        return str(self.state["operation_id"])

    @property
    def environment(self) -> str:
        return str(self.state["environment"])

    @property
    def kind(self) -> OpKind:
        return OpKind(self.state["kind"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.state.get("params") or {})

    @property
    def ctx(self) -> dict[str, Any]:
        return dict(self.state.get("ctx") or {})

    @property
    def env(self) -> dict[str, Any]:
        return dict(self.state.get("env") or {})

    @property
    def before(self) -> EnvStatus:
        return EnvStatus(self.env.get("before", EnvStatus.ABSENT.value))

    @property
    def timeout_seconds(self) -> int:
        return int(self.state["wait"]["timeout_seconds"])

    def started(self, name: str) -> float:
        return float(self.ctx.get("started", {}).get(name, self.now))

    def contract(self, d: Deps) -> Contract:
        """The contract read by an earlier phase of this execution (carried in ctx), else read now."""
        ctx = self.ctx
        raw = ctx.get("contract") or next(
            (v["contract"] for v in ctx.values() if isinstance(v, dict) and isinstance(v.get("contract"), dict)), None
        )
        return parse_contract(raw, self.environment) if raw else d.platform.read_contract(self.environment)

    def closing(self, **kw: Any) -> Closing:
        return Closing(
            self.op_id,
            self.environment,
            self.kind,
            before=self.before,
            trigger=str(self.state.get("trigger", "api")),
            created_at=float(self.state.get("created_at") or 0.0),
            notify_topic=self.env.get("notify"),
            **kw,
        )

    def resolved_waits(self) -> list[StepRecord]:
        """Records of the token phases whose wait the execution has been resumed from, not yet recorded done."""
        ctx, done = self.ctx, set(self.ctx.get("closed", []))
        out: list[StepRecord] = []
        for name in FLOWS[self.kind].phases:
            result = ctx.get(name)
            if PHASES[name].kind is StepKind.TOKEN and isinstance(result, dict) and name not in done:
                ended = read_time(result.get("at")) or self.now
                started = read_time(result.get("started")) or self.started(name)
                out.append(
                    StepRecord(name, StepStatus.SUCCEEDED, started, ended, detail=dict(result.get("detail") or {}))
                )
        return out


# --- common helpers ---------------------------------------------------------------------------------------------
def _tag_for(source_version: str) -> str:
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", source_version).strip(".-")[:128]
    return tag or "build"


def _deadline(r: Run, key: str) -> tuple[float, dict[str, Any]]:
    deadlines = dict(r.ctx.get("deadlines", {}))
    if key not in deadlines:
        deadlines[key] = r.now + r.timeout_seconds
    return float(deadlines[key]), {"deadlines": deadlines}


def _op_step_detail(d: Deps, r: Run, name: str) -> dict[str, Any]:
    op = d.registry.get_operation(r.op_id)
    rec = op.step(name) if op else None
    return dict(rec.detail) if rec else {}


# --- provision and destroy: prepare ----------------------------------------------------------------------------
def prepare(d: Deps, r: Run) -> StepResult:
    k = d.platform.read_contract(r.environment)
    registry_tier = r.env.get("tier")
    if registry_tier and k.tier != registry_tier:
        raise InvalidState(
            f"the contract Terraform published says {r.environment} is {k.tier}, the registry says {registry_tier}: "
            "the contract's tier is the environment's (it is refreshed by the reconcile schedule); retry then"
        )
    updates: dict[str, Any] = {"contract": k.to_dict()}
    if r.kind is OpKind.DESTROY:
        if r.params.get("nightly") and k.tier != Tier.DEV.value:
            raise InvalidState(f"the nightly teardown only tears down dev environments; {r.environment} is {k.tier}")
        if r.params.get("nightly"):
            updates["snapshot"] = _snapshot(d, r, k)
        return Done(updates, {"tier": k.tier})
    missing = d.platform.missing_base(k)
    if missing:
        raise BaseInfrastructureMissing("base infrastructure missing: " + "; ".join(missing))
    repo = k.ecr_repository_name
    pinned = r.params.get("image_digest")
    if pinned:  # an override (the morning restore): exactly that image, never a build
        if not d.platform.image_exists(repo, pinned):
            raise ImageNotFound(f"no image {pinned} in {repo}")
        return Done(updates | {"image_digest": pinned, "needs_build": False}, {"image_digest": pinned})
    if r.params.get("source_version") is None:
        digest, tag = r.env.get("intended_digest"), r.env.get("intended_tag")
        if not (digest and d.platform.image_exists(repo, digest)):
            digest, tag = d.platform.newest_image(repo) or (None, None)
        if digest:
            chosen = {"image_digest": digest, "image_tag": tag}
            return Done(updates | chosen | {"needs_build": False}, chosen)
        if k.build_source is None:
            raise ImageNotFound(
                f"the repository {repo} has no image and the contract names no build source. Push an image "
                f"(docker push <registry>/{repo}:<tag>), or provision with a source_version of the image project's "
                "source, or apply the environment's Terraform with enable_cicd so its contract carries the "
                "repository and branch to build from"
            )
    return Done(updates | {"needs_build": True}, {"needs_build": True})


def _snapshot(d: Deps, r: Run, k: Contract) -> dict[str, Any] | None:
    """What runs before the nightly teardown (from ECS, not from the registry): the morning restores exactly it."""
    svc = d.platform.describe_service(k)
    if svc is None or svc.get("status") != "ACTIVE":
        return None
    td = str(svc.get("taskDefinition"))
    digest = image_digest(d.platform.task_definition_images([td]).get(td))
    if digest is None:
        raise InvalidState(f"{r.environment} runs {td}, whose image is not pinned by digest: it cannot be restored")
    target = d.platform.scalable_target(k)
    snap = Snapshot(
        environment=r.environment,
        desired_count=int(svc.get("desiredCount", 0)),
        min_count=int(target["MinCapacity"]) if target else None,
        max_count=int(target["MaxCapacity"]) if target else None,
        image_digest=digest,
        operation_id=r.op_id,
        taken_at=r.now,
    )
    d.registry.put_snapshot(snap)
    return snap.to_dict()


# --- builds --------------------------------------------------------------------------------------------------
def build(d: Deps, r: Run) -> StepResult:
    k = r.contract(d)
    source = r.params.get("source_version")
    tag = r.params.get("image_tag") or _tag_for(source or (k.build_source.branch if k.build_source else "build"))
    build_id = d.platform.start_build(k, source, tag, idempotency_token=f"{r.op_id}-build")
    detail = {"build_id": build_id, "image_tag": tag}
    carry = {"build_id": build_id, "image_tag": tag, "contract": k.to_dict(), "detail": detail}
    return Park(build_key(build_id), carry=carry, detail=detail)


def check_build(d: Deps, r: Run) -> StepResult:
    """The wait's budget ended without an event: one describe call decides."""
    detail = _op_step_detail(d, r, "build")
    build_id = str(detail["build_id"])
    status = d.platform.build_status(build_id)
    if status.status == "SUCCEEDED":
        return Done({"build": {**detail, "detail": detail, "ok": True, "at": iso(r.now)}}, {"decided": "SUCCEEDED"})
    if status.status in BUILD_FAILED_STATUSES:
        raise BuildFailed(f"build {build_id} ended {status.status} in phase {status.failed_phase or status.phase}")
    raise WaitTimeout(f"build {build_id} did not finish within {r.timeout_seconds}s (it is {status.status})")


# --- rollouts ------------------------------------------------------------------------------------------------
def rollout(d: Deps, r: Run) -> StepResult:
    k = r.contract(d)
    params, ctx = r.params, r.ctx
    if r.state.get("trigger") == "ecr-push" and params.get("quiet_seconds"):  # after the policy's quiet period
        env = d.registry.get_environment(r.environment)
        newest = env.push.digest if env and env.push else None
        if newest and newest != params.get("image_digest"):
            raise Superseded(f"a newer push ({newest}) arrived within the quiet period; it deploys instead")
    repo = k.ecr_repository_name
    digest: str | None
    tag: str | None = None
    if r.kind is OpKind.DEPLOY and "image_tag" in params:
        tag = str(params["image_tag"])
        digest = d.platform.digest_for_tag(repo, tag)
        if digest is None:
            raise ImageNotFound(f"no image tagged {tag!r} in {repo}")
    elif r.kind is OpKind.DEPLOY and "image_digest" in params:
        digest = str(params["image_digest"])
        if not d.platform.image_exists(repo, digest):
            raise ImageNotFound(f"no image {digest} in {repo}")
    elif r.kind is OpKind.DEPLOY:
        digest = None  # redeploy what runs: a new deployment of the service's own task definition
    elif isinstance(ctx.get("build"), dict):
        tag = str(ctx["build"]["image_tag"])
        digest = d.platform.digest_for_tag(repo, tag)
        if digest is None:
            raise ImageNotFound(f"the build finished but {repo}:{tag} is not in the repository")
    else:
        digest, tag = str(ctx["image_digest"]), ctx.get("image_tag")
    images: dict[str, str | None] = dict(r.env.get("images") or {})
    td: str | None = None
    if digest is not None:
        image = f"{d.platform.repository_uri(repo)}@{digest}"
        td = d.platform.register_task_definition(k, image)
        images[td] = image
    desired = params.get("desired_count")
    if desired is None:
        desired = r.env.get("desired_count")
    if desired is None:
        desired = k.profile.desired_count
    try:
        change = d.platform.apply_service(k, td, int(desired))
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("ServiceNotFoundException", "ServiceNotActiveException") and td is None:
            raise InvalidState(f"{r.environment} runs no service to redeploy: provision it first") from None
        if code == "ClusterNotFoundException":
            raise BaseInfrastructureMissing(f"ECS cluster {k.cluster_name} is missing or inactive") from None
        raise
    if change.service.get("status") != "ACTIVE":
        raise BaseInfrastructureMissing(f"service {k.service_name} is {change.service.get('status')}, not ACTIVE")
    if change.task_definition_arn not in images:
        images |= d.platform.task_definition_images([change.task_definition_arn])
    image_now = images.get(change.task_definition_arn)
    if r.kind is OpKind.PROVISION:
        _autoscaling(d, k, params, change.desired_count)
    detail = {
        "cluster": k.cluster_name,
        "service": k.service_name,
        "deployment_id": change.deployment_id,
        "task_definition_arn": change.task_definition_arn,
        "previous_task_definition_arn": change.previous_task_definition_arn,
        "image_digest": digest or image_digest(image_now),
        "desired_count": change.desired_count,
    }
    carry = {
        **detail,
        "image_tag": tag or image_tag(image_now),
        "images": images,
        "contract": k.to_dict(),
        "detail": detail,
    }
    return Park(deployment_key(change.deployment_id), carry=carry, detail=detail)


def _autoscaling(d: Deps, k: Contract, params: dict[str, Any], desired: int) -> None:
    if "autoscaling" in params:  # exact limits (or none), as recorded by the nightly snapshot
        limits = params["autoscaling"]
        if limits:
            d.platform.configure_autoscaling(k, int(limits["min_count"]), int(limits["max_count"]))
        else:
            d.platform.remove_autoscaling(k)
    elif k.profile.autoscaling:
        d.platform.configure_autoscaling(k, min(k.profile.min_count, desired), max(k.profile.max_count, desired))
    else:
        d.platform.remove_autoscaling(k)


def check_rollout(d: Deps, r: Run) -> StepResult:
    """The wait's budget ended without an event: one describe call decides."""
    detail = _op_step_detail(d, r, "rollout")
    deployment_id = str(detail["deployment_id"])
    outcome = d.platform.deployment_outcome(r.contract(d), deployment_id)
    if outcome.state == "COMPLETED":
        carry = {**detail, "images": {}, "detail": detail, "ok": True, "at": iso(r.now)}
        return Done({"rollout": carry}, {"decided": "COMPLETED"})
    if outcome.state == "FAILED":
        raise DeploymentFailed(f"deployment {deployment_id} failed: {outcome.reason or 'no reason given'}")
    raise WaitTimeout(
        f"deployment {deployment_id} did not finish within {r.timeout_seconds}s; ECS goes on with it and the "
        "environment shows what runs"
    )


def health_check(d: Deps, r: Run) -> StepResult:
    k = r.contract(d)
    desired = int(r.ctx.get("rollout", {}).get("desired_count", k.profile.desired_count))
    svc = d.platform.describe_service(k) or {}
    running, healthy = int(svc.get("runningCount", 0)), d.platform.healthy_targets(k)
    detail = {"running": running, "healthy": healthy, "desired": desired}
    if running >= desired and healthy >= desired:
        return Done({}, detail)
    deadline, updates = _deadline(r, "health_check")
    if r.now > deadline:
        raise HealthCheckFailed(f"{running}/{desired} tasks running, {healthy}/{desired} targets healthy")
    return Poll(updates, detail)


# --- destroy ----------------------------------------------------------------------------------------------------
def drain(d: Deps, r: Run) -> StepResult:
    k = r.contract(d)
    svc = d.platform.describe_service(k)
    if svc is None or svc.get("status") != "ACTIVE":
        return Done({}, {"service": "absent"})
    if int(svc.get("desiredCount", 0)) > 0 or not r.ctx.get("deadlines", {}).get("drain"):
        d.platform.remove_autoscaling(k)
        d.platform.scale_service(k, 0)
    running = int(svc.get("runningCount", 0))
    if running == 0 and int(svc.get("desiredCount", 0)) == 0:
        return Done({}, {"running": 0})
    deadline, updates = _deadline(r, "drain")
    if r.now > deadline:
        raise WaitTimeout(f"{k.service_name} still runs {running} task(s) after {r.timeout_seconds}s")
    return Poll(updates, {"running": running})


def delete_service(d: Deps, r: Run) -> StepResult:
    k = r.contract(d)
    svc = d.platform.describe_service(k)
    if svc is None or svc.get("status") == "INACTIVE":
        return Done({}, {"service": "INACTIVE"})
    if svc.get("status") == "ACTIVE":
        d.platform.delete_service(k)
    deadline, updates = _deadline(r, "delete_service")
    if r.now > deadline:
        raise WaitTimeout(f"{k.service_name} is still {svc.get('status')} after {r.timeout_seconds}s")
    return Poll(updates, {"service": str(svc.get("status"))})


def sweep(d: Deps, r: Run) -> StepResult:
    k = r.contract(d)
    nightly = bool(r.params.get("nightly"))  # the night keeps images and logs: the morning restores that digest
    result: dict[str, Any] = {"deregistered": d.platform.deregister_task_definitions(k.task_family)}
    leftovers: list[str] = []
    # Each round deletes the images it lists while CI may go on pushing. An image that no earlier listing had was
    # pushed during the sweep: the next round deletes it, and one that arrives after the last round is not left
    # behind by the control plane (destroy wins: no push deploys into the environment). Only an image that
    # outlived its deletion is a leftover.
    known: set[str] = set() if nightly else set(d.platform.inventory(k).images)
    pushed: set[str] = set()
    for _ in range(SWEEP_ROUNDS):
        if not nightly:
            result["deleted_images"] = result.get("deleted_images", 0) + d.platform.delete_images(k.ecr_repository_name)
            result["deleted_log_groups"] = result.get("deleted_log_groups", 0) + d.platform.delete_log_groups(
                d.platform.log_groups(k)
            )
        inv, tagged = d.platform.inventory(k), d.platform.tagged_leftovers(k)
        if nightly:
            inv = inv.without_images_and_logs()
            tagged = [arn for arn in tagged if ":log-group:" not in arn]
        pushed = set(inv.images) - known
        known |= pushed
        leftovers = inv.without_images(pushed).leftovers()
        leftovers += [f"{arn} is still tagged cart:managed-by=controlplane" for arn in tagged]
        if nightly or (not leftovers and not pushed) or (not inv.images and not inv.log_groups):
            break  # only images and log groups can reappear (a push, a late log group); the rest is final
    if leftovers:
        raise LeftoversFound("left behind: " + "; ".join(leftovers))
    if pushed:
        result["pushed_during_sweep"] = sorted(pushed)
    return Done({"swept": result}, result)


# --- the ends -------------------------------------------------------------------------------------------------
def finish(d: Deps, r: Run) -> StepResult:
    """The operation succeeded (or, on the cancel path, was cancelled): end it."""
    ctx, params = r.ctx, r.params
    k = r.contract(d)
    cancelled = "cancel" in ctx
    result: dict[str, Any] = {}
    intended: Intended | None = None
    images: dict[str, str | None] = {}
    cancel_ctx = dict(ctx.get("cancel") or {})
    roll = ctx.get("rollout") if isinstance(ctx.get("rollout"), dict) else cancel_ctx.get("rollout")
    if roll is not None:
        images = dict(roll.get("images") or {})
        result = {key: roll.get(key) for key in ("image_digest", "image_tag", "task_definition_arn", "deployment_id")}
    if r.kind is OpKind.BUILD and isinstance(ctx.get("build"), dict):
        tag = str(ctx["build"]["image_tag"])
        digest = d.platform.digest_for_tag(k.ecr_repository_name, tag)
        if digest is None:
            raise ImageNotFound(f"the build finished but {k.ecr_repository_name}:{tag} is not in the repository")
        result = {"image_digest": digest, "image_tag": tag, "build_id": ctx["build"].get("build_id")}
    if r.kind is OpKind.DESTROY:
        result = dict(ctx.get("swept") or {})
        if params.get("nightly") and ctx.get("snapshot") and not cancelled:
            d.registry.set_snapshot_state(r.environment, r.op_id, "torn_down")
            result["snapshot"] = ctx["snapshot"]
    if params.get("restore") and not cancelled:
        d.registry.set_snapshot_state(r.environment, str(params.get("snapshot_operation_id", "")), "restored")
    kept = cancelled and cancel_ctx.get("mode") == "finish"
    if roll is not None and (not cancelled or kept):
        intended = Intended(
            task_definition_arn=str(roll["task_definition_arn"]),
            image_digest=roll.get("image_digest"),
            image_tag=roll.get("image_tag"),
            operation_id=r.op_id,
            deployed_at=r.now,
        )
    steps = list(r.resolved_waits())
    if cancelled:
        result["cancel"] = {"mode": cancel_ctx.get("mode"), "undone": cancel_ctx.get("undone")}
        if cancel_ctx.get("interrupted"):
            steps.append(
                StepRecord(
                    str(cancel_ctx["interrupted"]["name"]),
                    StepStatus.FAILED,
                    read_time(cancel_ctx["interrupted"]["started_at"]) or r.now,
                    read_time(cancel_ctx.get("started")) or r.now,
                    detail=dict(cancel_ctx["interrupted"].get("detail") or {}),
                    error="cancelled",
                )
            )
        steps.append(
            StepRecord(
                "cancel",
                StepStatus.SUCCEEDED,
                read_time(cancel_ctx.get("started")) or r.now,
                read_time(cancel_ctx.get("at")) or r.now,
                detail={"undone": cancel_ctx.get("undone"), **dict(cancel_ctx.get("detail") or {})},
            )
        )
    steps.append(StepRecord("finish", StepStatus.SUCCEEDED, r.started("finish"), r.now))
    ended = d.operations.close(
        r.closing(
            status=OpStatus.ABORTED if cancelled else OpStatus.SUCCEEDED,
            error={"step": None, "code": "Cancelled", "message": _cancel_message(cancel_ctx)} if cancelled else None,
            result=result,
            steps=steps,
            contract=k,
            images=images,
            intended=intended,
            clear_intended=r.kind is OpKind.DESTROY and not cancelled,
            unless_cancelled=not cancelled,
        )
    )
    if ended.cancelled:
        raise Cancelled(f"operation {r.op_id} was cancelled before it ended")
    return Closed()


def _cancel_message(cancel: dict[str, Any]) -> str:
    undone = cancel.get("undone") or "nothing had changed yet"
    return f"cancelled through the control API ({cancel.get('mode', 'rollback')}): {undone}"


def cancel(d: Deps, r: Run) -> StepResult:
    """Undo what the operation began: roll a rollout back to the previous task definition and wait for it, or
    stop the build; let the rollout finish when asked. Nothing to undo resolves the wait at once."""
    op = d.registry.get_operation(r.op_id)
    mode = op.cancel.mode if op and op.cancel else "rollback"
    rolled = op.step("rollout") if op else None
    building = op.step("build") if op else None
    running = op.running_step() if op else None
    base: dict[str, Any] = {"mode": mode, "started": iso(r.now)}
    if running is not None:
        base["interrupted"] = {"name": running.name, "started_at": iso(running.started_at), "detail": running.detail}
    k = r.contract(d)
    detail = dict(rolled.detail) if rolled else {}
    previous = detail.get("previous_task_definition_arn")
    if r.kind in (OpKind.DEPLOY, OpKind.PROVISION) and detail.get("deployment_id"):
        if mode == "finish":
            kept = {**detail, "images": {}, "ok": True, "at": iso(r.now), "detail": detail}
            return _resolve_now(d, r, base | {"undone": "nothing: the rollout was left to finish", "rollout": kept})
        if previous and previous != detail.get("task_definition_arn"):
            change = d.platform.apply_service(k, previous, int(detail.get("desired_count") or 0))
            undo = {
                "cluster": k.cluster_name,
                "service": k.service_name,
                "reverted_to": previous,
                "revision": revision(previous),
                "revert_deployment_id": change.deployment_id,
            }
            carry = base | {"undone": f"rolled back to {previous}", "detail": undo}
            return Park(deployment_key(change.deployment_id), carry=carry, detail=undo)
        what = "nothing to roll back to: the service was created by this operation and is left as it runs"
        return _resolve_now(d, r, base | {"undone": what})
    if building is not None and building.detail.get("build_id") and building.status is StepStatus.RUNNING:
        d.platform.stop_build(str(building.detail["build_id"]))
        return _resolve_now(d, r, base | {"undone": f"build {building.detail['build_id']} stopped"})
    begun = [s.name for s in (op.steps if op else ()) if s.name in DESTRUCTIVE and _did_work(s)]
    if begun:  # a destroy is not undone: what it drained or removed stays so (the environment settles from ECS)
        return _resolve_now(d, r, base | {"undone": f"nothing: the destroy had begun ({', '.join(begun)})"})
    return _resolve_now(d, r, base | {"undone": "nothing had changed yet"})


DESTRUCTIVE = ("drain", "delete_service", "sweep")


def _did_work(step: StepRecord) -> bool:
    """The step ran (it succeeded, or recorded a poll or what it saw), not merely was next in line."""
    return step.status is StepStatus.SUCCEEDED or step.polls > 0 or bool(step.detail)


def _resolve_now(d: Deps, r: Run, carry: dict[str, Any]) -> StepResult:
    if r.token:
        d.waits.sender.success(r.token, {**carry, "ok": True, "at": iso(r.now)})
    return Closed()


def fail(d: Deps, r: Run) -> StepResult:
    """The failure path: end the operation FAILED (TIMED_OUT for a wait's budget, ABORTED when superseded) with
    the failing step's own error and what ECS runs; hand the execution that error and message."""
    error = r.state.get("error") or {}
    name, message = str(error.get("Error", "Unknown")), str(error.get("Cause", "") or "")
    try:
        cause = json.loads(message)
        if isinstance(cause, dict):
            message = str(cause.get("errorMessage", message))
    except ValueError:
        pass
    op = d.registry.get_operation(r.op_id)
    failed = (op.running_step() or op.failed_step()) if op else None
    wait_key = failed.detail.get("wait") if failed else None
    details: dict[str, Any] = {}
    if wait_key:  # the event's own words (a task-token failure's cause may not survive the hop)
        outcome = (d.registry.get_wait(str(wait_key)) or {}).get("outcome") or {}
        if not outcome.get("ok", True):
            message = message if message not in ("", "None") else str(outcome.get("message", ""))
            details |= outcome.get("details") or {}
    if message in ("", "None") and failed is not None and failed.error:
        message = failed.error
    message = redact(message)  # the execution's cause too (the record's error is redacted when it closes)
    status = {"WaitTimeout": OpStatus.TIMED_OUT, "States.Timeout": OpStatus.TIMED_OUT, "Superseded": OpStatus.ABORTED}
    final = status.get(name, OpStatus.FAILED)
    try:
        k: Contract | None = r.contract(d)
    except Exception:
        k = None
    if k is not None and name == "DeploymentFailed" and failed is not None:
        details |= _deployment_failure(d, k, failed.detail)
    steps = list(r.resolved_waits())
    if failed is not None:
        steps.append(failed.replace(status=StepStatus.FAILED, ended_at=r.now, error=message[:1000]))
    d.operations.close(
        r.closing(
            status=final,
            error={"step": failed.name if failed else None, "code": name, "message": message, "details": details},
            steps=steps,
            contract=k,
        )
    )
    return Closed(failure={"error": name, "cause": f"{failed.name if failed else 'a step'}: {message}"[:32000]})


def _deployment_failure(d: Deps, k: Contract, detail: dict[str, Any]) -> dict[str, Any]:
    """Why ECS failed the deployment and what it serves instead."""
    out = d.platform.failure_details(k, detail.get("deployment_id"))
    svc = d.platform.describe_service(k)
    serving = str(svc.get("taskDefinition")) if svc else None
    if serving and serving != detail.get("task_definition_arn"):
        image = d.platform.task_definition_images([serving]).get(serving)
        out["rolled_back_to"] = {
            "task_definition_arn": serving,
            "revision": revision(serving),
            "image_digest": image_digest(image),
        }
    return out


PHASE_FUNCTIONS: dict[str, Callable[[Deps, Run], StepResult]] = {
    "prepare": prepare,
    "build": build,
    "check_build": check_build,
    "rollout": rollout,
    "check_rollout": check_rollout,
    "health_check": health_check,
    "drain": drain,
    "delete_service": delete_service,
    "sweep": sweep,
    "finish": finish,
    "fail": fail,
    "cancel": cancel,
}


# --- the runner ---------------------------------------------------------------------------------------------
def run_step(d: Deps, name: str, state: State, token: str | None = None) -> State:
    """Run one phase and keep the operation's timeline. Returns the execution's next state."""
    phase = PHASES[name]
    r = Run(state, token, d.clock())
    started = r.started(name)
    # The first phase of a flow starts right after the operation began (a cancel that slips in between is seen
    # at its first record write); every later phase, and a first one that waited (a push's quiet period), checks.
    first = name == FLOWS[r.kind].phases[0] and not state.get("quiet_seconds")
    if name not in ENDING_PHASES and not first:
        _unless_cancelled(d, r, name)
    try:
        result = PHASE_FUNCTIONS[name](d, r)
    except (Cancelled, OperationFinished):
        raise
    except OperationEnded:
        raise OperationFinished(f"operation {r.op_id} has already ended; {name} did nothing more") from None
    except StepError as exc:
        _record_error(d, r, name, started, exc)
        raise
    except Exception as exc:  # an AWS error the phase did not expect: named with its call and code
        explained = d.platform.explain(exc)
        _record_error(d, r, name, started, explained or exc)
        if explained is not None:
            raise explained from exc
        raise
    ctx = r.ctx
    if isinstance(result, Closed):
        return {
            **state,
            "step": {"name": name, "result": "done"},
            **({"failure": result.failure} if result.failure else {}),
        }
    if isinstance(result, Park):
        if token is None:
            raise InvalidState(f"{name} waits for a task token, and none was given")
        record = StepRecord(name, StepStatus.RUNNING, started, detail={**result.detail, "wait": result.key})
        carry = {**result.carry, "detail": record.detail, "started": iso(started)}
        d.waits.park(
            result.key, token, [*r.resolved_waits(), record], r.op_id, carry, cancellable=phase.name != "cancel"
        )
        return state
    ctx |= result.updates
    if isinstance(result, Poll):
        polls = int(ctx.get("polls", {}).get(name, 0)) + 1
        ctx["polls"] = {**ctx.get("polls", {}), name: polls}
        ctx["started"] = {**ctx.get("started", {}), name: started}
        record = StepRecord(name, StepStatus.RUNNING, started, polls=polls, detail=result.detail)
        _record(d, r, [record], cancellable=phase.name != "cancel")
        return {**state, "ctx": ctx, "step": {"name": name, "result": "poll"}}
    nxt = next_phase(r.kind, name, ctx)
    resumed = Run({**state, "ctx": ctx}, token, r.now).resolved_waits()
    records = [
        *resumed,
        StepRecord(
            name,
            StepStatus.SUCCEEDED,
            started,
            r.now,
            polls=int(ctx.get("polls", {}).get(name, 0)),
            detail=result.detail,
        ),
    ]
    if nxt is not None:
        records.append(StepRecord(nxt, StepStatus.RUNNING, r.now))
        ctx["started"] = {**ctx.get("started", {}), nxt: r.now}
    ctx["closed"] = [*ctx.get("closed", []), *(rec.name for rec in resumed)]
    _record(d, r, records, cancellable=True)
    return {**state, "ctx": ctx, "step": {"name": name, "result": "done"}}


def _unless_cancelled(d: Deps, r: Run, name: str) -> None:
    """A phase that starts after a cancel was requested (a push deploy cancelled in its quiet period, a cancel
    between two phases) does none of its work: the cancel path takes over before anything changes."""
    op = d.registry.get_operation(r.op_id)
    if op is not None and op.status is OpStatus.RUNNING and op.cancel is not None:
        raise Cancelled(f"operation {r.op_id} was cancelled ({op.cancel.mode}) before {name} began")


def _record(d: Deps, r: Run, records: list[StepRecord], cancellable: bool) -> None:
    try:
        cancel_request = d.registry.record_steps(r.op_id, records)
    except OperationEnded:
        raise OperationFinished(f"operation {r.op_id} has already ended") from None
    if cancellable and cancel_request is not None:
        raise Cancelled(f"operation {r.op_id} was cancelled ({cancel_request.mode})")


def _record_error(d: Deps, r: Run, name: str, started: float, exc: Exception) -> None:
    """A retried error keeps the step RUNNING and counts the attempt; any other marks it FAILED."""
    text = redact(str(exc) if isinstance(exc, StepError) else f"{type(exc).__name__}: {exc}")
    try:
        op = d.registry.get_operation(r.op_id)
        prev = op.step(name) if op else None
        detail = dict(prev.detail) if prev else {}
        if isinstance(exc, TransientError):
            d.registry.record_retry(
                r.op_id, StepRecord(name, StepStatus.RUNNING, started, detail=detail, error=text[:1000])
            )
        else:
            rec = StepRecord(name, StepStatus.FAILED, started, r.now, detail=detail, error=text[:1000])
            d.registry.record_steps(r.op_id, [*r.resolved_waits(), rec])
    except Exception as record_exc:  # the error itself matters more: Step Functions must see it
        logger.warning("step error not recorded", extra={"step": name, "error": str(record_exc)})
