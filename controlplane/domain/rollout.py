"""What an ECS service's description means: which deployment is primary, whether a deployment completed or was
rolled back, whether a task definition can be reused, what image a task definition runs. Pure: it reads the
dictionaries ECS returns (``describe-services``, ``describe-task-definition``) and decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlplane.domain.model import ServiceState


@dataclass(frozen=True)
class DeploymentOutcome:
    state: str  # IN_PROGRESS | COMPLETED | FAILED
    reason: str
    task_definition_arn: str | None = None  # the deployment's
    rolled_back_to: str | None = None  # FAILED: the task definition ECS serves instead, when it rolled back


def image_digest(image: str | None) -> str | None:
    """``repo@sha256:...`` -> ``sha256:...``; None for an image named by tag."""
    if not image or "@" not in image:
        return None
    return image.rsplit("@", 1)[1] or None


def image_tag(image: str | None) -> str | None:
    """``repo:tag`` -> ``tag``; None for an image pinned by digest."""
    if not image or "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def revision(task_definition_arn: str | None) -> int | None:
    if not task_definition_arn or ":" not in task_definition_arn:
        return None
    tail = task_definition_arn.rsplit(":", 1)[1]
    return int(tail) if tail.isdigit() else None


def family(task_definition_arn: str) -> str:
    return task_definition_arn.split("/")[-1].rsplit(":", 1)[0]


def primary(service: Mapping[str, Any]) -> dict[str, Any] | None:
    found = [d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"]
    return dict(found[0]) if found else None


def outcome_of(service: Mapping[str, Any] | None, deployment_id: str) -> DeploymentOutcome:
    """The outcome of *that* deployment. A circuit-breaker rollback is FAILED, naming what ECS serves instead."""
    if service is None or service.get("status") != "ACTIVE":
        return DeploymentOutcome("FAILED", "the service is gone")
    deployments = list(service.get("deployments", []))
    mine = next((d for d in deployments if d.get("id") == deployment_id), None)
    now_primary = primary(service) or {}
    serving = str(now_primary.get("taskDefinition") or service.get("taskDefinition") or "") or None
    if mine is None:
        return DeploymentOutcome(
            "FAILED",
            f"deployment {deployment_id} was replaced by {now_primary.get('id', 'another deployment')}",
            rolled_back_to=serving,
        )
    td = str(mine.get("taskDefinition") or "") or None
    state = str(mine.get("rolloutState") or "IN_PROGRESS")
    reason = str(mine.get("rolloutStateReason") or "")
    if state == "FAILED":
        return DeploymentOutcome("FAILED", reason or "the deployment failed", td, serving if serving != td else None)
    if state == "COMPLETED" and mine.get("status") != "PRIMARY":
        return DeploymentOutcome(
            "FAILED", f"deployment {deployment_id} completed but is no longer primary", td, serving
        )
    return DeploymentOutcome(state, reason, td)


# What a task definition revision must keep equal to be reused instead of registering a new one.
_REUSE_KEYS = ("cpu", "memory", "executionRoleArn", "taskRoleArn", "networkMode")


def reusable(latest: Mapping[str, Any] | None, spec: Mapping[str, Any]) -> bool:
    """True when the family's latest ACTIVE revision already is ``spec`` (same image, sizes, roles, ports)."""
    if not latest or latest.get("status") != "ACTIVE":
        return False
    if any(latest.get(k) != spec.get(k) for k in _REUSE_KEYS):
        return False
    have = [(c.get("name"), c.get("image"), _ports(c)) for c in latest.get("containerDefinitions", [])]
    want = [(c.get("name"), c.get("image"), _ports(c)) for c in spec.get("containerDefinitions", [])]
    return have == want


def _ports(container: Mapping[str, Any]) -> tuple[int, ...]:
    return tuple(sorted(int(p.get("containerPort", 0)) for p in container.get("portMappings", [])))


def service_state(
    service: Mapping[str, Any] | None, image_of: Mapping[str, str | None], observed_at: float
) -> ServiceState:
    """A ServiceState from ``describe-services``; ``image_of`` maps task definition ARNs to their image."""
    if service is None or service.get("status") == "INACTIVE":
        return ServiceState(status=str(service["status"]) if service else None, observed_at=observed_at)
    td = str(service.get("taskDefinition") or "") or None
    image = image_of.get(td) if td else None
    head = primary(service) or {}
    return ServiceState(
        status=str(service.get("status")),
        task_definition_arn=td,
        image_digest=image_digest(image),
        image_tag=image_tag(image),
        desired_count=int(service.get("desiredCount", 0)),
        running_count=int(service.get("runningCount", 0)),
        rollout_state=head.get("rolloutState"),
        observed_at=observed_at,
    )


def network_drift(service: Mapping[str, Any], subnets: tuple[str, ...], security_groups: tuple[str, ...]) -> bool:
    """Does the running service use other subnets or security groups than the contract publishes?"""
    vpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    return sorted(vpc.get("subnets") or []) != sorted(subnets) or sorted(vpc.get("securityGroups") or []) != sorted(
        security_groups
    )
