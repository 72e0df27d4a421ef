"""An environment's lifecycle: which operations may start from which status, the status an operation holds while
it runs, and the status it settles to when it ends, derived from what AWS runs at that moment. Pure."""

from __future__ import annotations

import hashlib
import secrets

from controlplane.domain.model import EnvStatus, OpKind, OpStatus, ServiceState
from controlplane.domain.times import stamp

# The status an environment shows while an operation of that kind runs (a build changes nothing).
TRANSITIONAL: dict[OpKind, EnvStatus] = {
    OpKind.PROVISION: EnvStatus.PROVISIONING,
    OpKind.DEPLOY: EnvStatus.DEPLOYING,
    OpKind.DESTROY: EnvStatus.DESTROYING,
}

# The statuses an operation may start from. Transitional statuses only exist while a lock is held, and an
# operation starts only by taking the lock, so they are not listed.
STARTS_FROM: dict[OpKind, frozenset[EnvStatus]] = {
    OpKind.PROVISION: frozenset({EnvStatus.ABSENT, EnvStatus.READY, EnvStatus.DESTROYED, EnvStatus.FAILED}),
    OpKind.BUILD: frozenset({EnvStatus.ABSENT, EnvStatus.READY, EnvStatus.DESTROYED, EnvStatus.FAILED}),
    OpKind.DEPLOY: frozenset({EnvStatus.READY, EnvStatus.FAILED}),
    OpKind.DESTROY: frozenset({EnvStatus.ABSENT, EnvStatus.READY, EnvStatus.DESTROYED, EnvStatus.FAILED}),
}


def refusal(kind: OpKind, status: EnvStatus, name: str) -> str:
    """Why ``kind`` cannot start on an environment in ``status``."""
    if kind is OpKind.DEPLOY and status in (EnvStatus.ABSENT, EnvStatus.DESTROYED):
        return f"environment {name} is {status.value}: provision it before deploying"
    return f"a {kind.value} cannot start while environment {name} is {status.value}"


def settle(kind: OpKind, outcome: OpStatus, before: EnvStatus, service: ServiceState | None) -> EnvStatus:
    """Where an environment stands after an operation ended, from the outcome and what ECS runs now.

    ``before`` is the status the environment had when the operation started. A build never moves it. A
    succeeded provision or deploy is ready and a succeeded destroy destroyed. Otherwise what ECS runs decides
    (``service`` None means it could not be read: then the status stays ``before``, never a guess):
    - deploy: the previous revision still serves (ECS rolled back, or the cancel reverted it): ready; if nothing
      serves any more, failed;
    - provision: a re-provision of a ready environment that still serves is ready; a service left half-made is
      failed; if nothing was created (no service), the status it had;
    - destroy: the service still serves (stopped before draining): ready; anything half-removed is failed.
    """
    if kind is OpKind.BUILD:
        return before
    if outcome is OpStatus.SUCCEEDED:
        return EnvStatus.DESTROYED if kind is OpKind.DESTROY else EnvStatus.READY
    if service is None:
        return before
    serving = service is not None and service.serving
    exists = service is not None and service.exists
    if kind is OpKind.DEPLOY:
        return EnvStatus.READY if serving else EnvStatus.FAILED
    if kind is OpKind.PROVISION:
        if serving:
            return EnvStatus.READY if before is EnvStatus.READY else EnvStatus.FAILED
        if not exists and before in (EnvStatus.ABSENT, EnvStatus.DESTROYED):
            return before
        return EnvStatus.FAILED
    # destroy
    if serving:
        return EnvStatus.READY if before is EnvStatus.READY else EnvStatus.FAILED
    if not exists and before in (EnvStatus.ABSENT, EnvStatus.DESTROYED):
        return before
    return EnvStatus.FAILED


# Operation ids: "<kind>_<environment>_<unique>". The environment sits between underscores (environment names
# cannot contain one), so an IAM policy can scope POST /operations/{id}/cancel to an environment with
# ".../operations/*_<environment>_*".
def new_operation_id(kind: OpKind, environment: str, now: float) -> str:
    return f"{kind.value}_{environment}_{stamp(now)}-{secrets.token_hex(4)}"


def keyed_operation_id(kind: OpKind, environment: str, idempotency_key: str) -> str:
    """The same Idempotency-Key on the same environment and kind is the same operation."""
    suffix = hashlib.sha256(f"{environment}|{kind.value}|{idempotency_key}".encode()).hexdigest()[:16]
    return f"{kind.value}_{environment}_k{suffix}"


def push_operation_id(environment: str, digest: str) -> str:
    """One deploy per environment and pushed digest, however many events or tags carry it."""
    return f"deploy_{environment}_push-" + hashlib.sha256(f"{environment}|{digest}".encode()).hexdigest()[:16]


def scheduled_operation_id(kind: OpKind, environment: str, run_id: str) -> str:
    """One operation per environment and scheduled run: a schedule delivered twice starts nothing twice."""
    return f"{kind.value}_{environment}_{run_id}"


def environment_of(operation_id: str) -> str | None:
    parts = operation_id.split("_")
    return parts[1] if len(parts) >= 3 else None
