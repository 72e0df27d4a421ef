"""The ordered steps of every operation kind, and the destroy plan shown before anything is deleted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controlplane.domain.model import OpKind

# The Lambda steps each state machine runs, in order (wait loops and the failure path aside). The ASL files in
# statemachines/ must follow this order; a test checks that they do.
PROVISION_STEPS: tuple[str, ...] = (
    "validate",
    "lock",
    "check_base",
    "ensure_image",
    "register_task_definition",
    "apply_service",
    "wait_deployment",
    "health_check",
    "record",
    "unlock",
)

STEP_ORDER: dict[OpKind, tuple[str, ...]] = {
    OpKind.PROVISION: PROVISION_STEPS,
    OpKind.BUILD: ("validate", "lock", "start_build", "wait_build", "record_build", "record", "unlock"),
    OpKind.DEPLOY: (
        "validate",
        "lock",
        "resolve_image",
        "register_task_definition",
        "apply_service",
        "wait_deployment",
        "record",
        "unlock",
    ),
    OpKind.DESTROY: (
        "validate",
        "lock",
        "scale_down",
        "wait_drained",
        "delete_service",
        "wait_inactive",
        "deregister_task_definitions",
        "delete_images",
        "delete_log_groups",
        "sweep",
        "record",
        "unlock",
    ),
}


# The Lambda steps each iteration of the batch state machines runs (statemachines/teardown|restore.asl.json: a
# Map over environments, one operation per item). The nightly teardown keeps images and logs for the morning.
BATCH_STEP_ORDER: dict[str, tuple[str, ...]] = {
    "teardown": (
        "validate",
        "lock",
        "snapshot",
        "scale_down",
        "wait_drained",
        "delete_service",
        "wait_inactive",
        "deregister_task_definitions",
        "sweep",
        "record",
        "unlock",
    ),
    "restore": PROVISION_STEPS,  # a restore is a provision pinned to the recorded values
}


@dataclass(frozen=True)
class Inventory:
    """What the control plane owns for one environment, as read (read-only) from AWS."""

    environment: str
    cluster: str
    service_name: str
    service_status: str | None  # ACTIVE | DRAINING | INACTIVE | None (never created)
    desired_count: int
    running_count: int
    scalable_target: bool
    task_definitions: tuple[str, ...]
    images: tuple[str, ...]  # digests
    log_groups: tuple[str, ...]
    untouched: tuple[str, ...] = field(default=())

    @property
    def service_active(self) -> bool:
        return self.service_status in ("ACTIVE", "DRAINING")

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "cluster": self.cluster,
            "service_name": self.service_name,
            "service_status": self.service_status,
            "desired_count": self.desired_count,
            "running_count": self.running_count,
            "scalable_target": self.scalable_target,
            "task_definitions": list(self.task_definitions),
            "images": list(self.images),
            "log_groups": list(self.log_groups),
        }

    def leftovers(self) -> list[str]:
        """Everything that should not exist after a destroy."""
        left: list[str] = []
        if self.service_active:
            left.append(f"ECS service {self.service_name} is {self.service_status}")
        if self.scalable_target:
            left.append("an Application Auto Scaling target is still registered")
        left += [f"task definition {td} is ACTIVE" for td in self.task_definitions]
        left += [f"image {d} is in the repository" for d in self.images]
        left += [f"log group {g} exists" for g in self.log_groups]
        return left


def destroy_plan(inv: Inventory) -> list[dict[str, Any]]:
    """The ordered plan of a destroy, with what each step will act on. Pure: derived from the inventory."""
    service = f"{inv.cluster}/{inv.service_name}"
    active = inv.service_active
    steps: list[dict[str, Any]] = [
        {
            "step": "lock",
            "action": f"take the lock on environment {inv.environment}",
            "resources": [],
        },
        {
            "step": "scale_down",
            "action": (
                f"remove autoscaling and scale {service} from {inv.desired_count} to 0 tasks"
                if active
                else "nothing to scale: the service does not exist"
            ),
            "resources": [service] if active else [],
        },
        {
            "step": "wait_drained",
            "action": f"wait until {inv.running_count} running task(s) have drained" if active else "no tasks",
            "resources": [service] if active else [],
        },
        {
            "step": "delete_service",
            "action": f"delete {service} and wait until it is INACTIVE" if active else "already gone",
            "resources": [service] if active else [],
        },
        {
            "step": "deregister_task_definitions",
            "action": f"deregister {len(inv.task_definitions)} task definition revision(s)",
            "resources": list(inv.task_definitions),
        },
        {
            "step": "delete_images",
            "action": f"delete {len(inv.images)} image(s) from the environment's ECR repository",
            "resources": list(inv.images),
        },
        {
            "step": "delete_log_groups",
            "action": f"delete {len(inv.log_groups)} log group(s), including container insights",
            "resources": list(inv.log_groups),
        },
        {
            "step": "sweep",
            "action": "verify nothing the control plane created for the environment remains",
            "resources": [],
        },
        {"step": "record", "action": "mark the environment destroyed", "resources": []},
        {"step": "unlock", "action": "release the lock", "resources": []},
    ]
    return steps
