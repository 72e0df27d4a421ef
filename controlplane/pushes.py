"""Redeploy on ECR push. ECR events are best effort: duplicated, reordered, in bursts.

- The deploy's operation id comes from the environment and the digest: the same digest delivered twice, or
  pushed under several tags, is one operation.
- Each environment keeps its newest push (conditional write): an event older than it is dropped as stale.
- A push that finds the environment held by another operation stays pending (a newer push replaces it); the
  operation's end starts it. A push to an idle environment deploys at once; with the policy's ``quiet_seconds``
  it first waits that long and stands down if a newer push arrived meanwhile.
- Destroy wins: while an environment is being destroyed (or is destroyed, or absent) a push is dropped with the
  reason logged, never queued to run after the destroy.
"""

from __future__ import annotations

from typing import Any

from controlplane.domain.events import ImagePush, push_matches
from controlplane.domain.lifecycle import push_operation_id
from controlplane.domain.model import Environment, EnvStatus, OpKind, PushRecord
from controlplane.errors import ApiError, OperationInProgress
from controlplane.operations import Operations
from controlplane.ports import Registry, every_environment

GONE = (EnvStatus.ABSENT, EnvStatus.DESTROYED, EnvStatus.DESTROYING)


def _destroy_wins(env: Environment) -> str | None:
    if env.lock is not None and env.lock.kind is OpKind.DESTROY:
        return f"environment {env.name} is being destroyed by {env.lock.operation_id}: destroy wins"
    if env.status in GONE:
        return f"environment {env.name} is {env.status.value}: a push never provisions it"
    return None


class Pushes:
    def __init__(self, registry: Registry, operations: Operations) -> None:
        self.registry, self.operations = registry, operations

    def on_image_push(self, push: ImagePush) -> list[dict[str, Any]]:
        """Route one push to every environment whose deploy_on_push policy matches it; one outcome each
        (``started``, ``queued``, ``duplicate``, ``stale``, ``dropped``) with its reason, for the log."""
        return [
            {"environment": env.name, **self._push_to(env, push)}
            for env in every_environment(self.registry)
            if push_matches(env.settings.deploy_on_push, env.name, push)
        ]

    def _push_to(self, env: Environment, push: ImagePush) -> dict[str, Any]:
        why = _destroy_wins(env)
        if why is not None:
            return {"outcome": "dropped", "reason": why}
        record = PushRecord(push.digest, push.tag, push.pushed_at, "pending", push_operation_id(env.name, push.digest))
        if not self.registry.offer_push(env.name, record):
            stored = (self.registry.get_environment(env.name) or env).push
            if stored is not None and stored.digest == push.digest:
                return {
                    "outcome": "duplicate",
                    "reason": f"digest {push.digest} was already seen for {env.name} ({stored.state})",
                    "operation_id": stored.operation_id,
                }
            newest = stored.digest if stored else "?"
            return {"outcome": "stale", "reason": f"older than the newest push to {env.name} ({newest})"}
        return self.start_pending(env.name)

    def start_pending(self, name: str, _hint: PushRecord | None = None) -> dict[str, Any]:
        """Start the environment's pending push unless an operation holds it (then it stays pending).

        Called for every push and after every operation's end. A push is recorded before its start is tried and
        an operation releases the environment before it looks for a pending push, so none is lost."""
        env = self.registry.get_environment(name)
        rec = env.push if env is not None else None
        if env is None or rec is None or rec.state != "pending":
            return {"outcome": "none"}
        why = _destroy_wins(env)
        if why is not None:
            self.registry.set_push_state(name, rec.digest, "dropped", why)
            return {"outcome": "dropped", "reason": why}
        if env.lock is not None:
            return {
                "outcome": "queued",
                "reason": f"{name} is held by {env.lock.operation_id}; deploys when it ends",
                "operation_id": rec.operation_id,
            }
        params: dict[str, Any] = {"image_digest": rec.digest}
        policy = env.settings.deploy_on_push
        if policy is not None and policy.quiet_seconds > 0:
            params["quiet_seconds"] = policy.quiet_seconds
        try:
            op, created = self.operations.start(env, OpKind.DEPLOY, params, "ecr-push", rec.operation_id)
        except OperationInProgress as exc:
            return {
                "outcome": "queued",
                "reason": f"{name} is held by {exc.details.get('running_operation')}; deploys when it ends",
                "operation_id": rec.operation_id,
            }
        except ApiError as exc:
            self.registry.set_push_state(name, rec.digest, "dropped", exc.message)
            return {"outcome": "dropped", "reason": exc.message}
        self.registry.set_push_state(name, rec.digest, "started")
        if not created:
            return {
                "outcome": "duplicate",
                "reason": f"digest {rec.digest} was already deployed to {name} by a push ({op.status.value})",
                "operation_id": op.id,
            }
        return {"outcome": "started", "operation_id": op.id}
