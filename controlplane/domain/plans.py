"""What the control plane owns for an environment (its inventory) and the destroy plan shown before anything
is deleted. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any


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

    def without_images_and_logs(self) -> Inventory:
        """What the nightly teardown must leave behind (it keeps images and logs for the morning)."""
        return dataclasses.replace(self, images=(), log_groups=())

    def without_images(self, digests: Collection[str]) -> Inventory:
        """Less the images a destroy must not count as left behind (pushed while it swept)."""
        return dataclasses.replace(self, images=tuple(i for i in self.images if i not in digests))

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


def destroy_plan(inv: Inventory, nightly: bool = False) -> list[dict[str, Any]]:
    """The ordered plan of a destroy (the phases of flows.FLOWS[destroy]), with what each will act on. Pure."""
    service = f"{inv.cluster}/{inv.service_name}"
    active = inv.service_active
    keep = " (the nightly teardown keeps images and log groups)" if nightly else ""
    return [
        {
            "step": "prepare",
            "action": f"take the lock on {inv.environment}, read its contract"
            + (", snapshot what runs for the morning" if nightly else ""),
            "resources": [],
        },
        {
            "step": "drain",
            "action": (
                f"remove autoscaling, scale {service} from {inv.desired_count} to 0 and wait until its "
                f"{inv.running_count} running task(s) stopped"
                if active
                else "nothing to drain: the service does not exist"
            ),
            "resources": [service] if active else [],
        },
        {
            "step": "delete_service",
            "action": f"delete {service} and wait until it is INACTIVE" if active else "already gone",
            "resources": [service] if active else [],
        },
        {
            "step": "sweep",
            "action": (
                f"deregister and delete {len(inv.task_definitions)} task definition revision(s)"
                + ("" if nightly else f", delete {len(inv.images)} image(s) and {len(inv.log_groups)} log group(s)")
                + keep
                + ", then verify nothing the control plane made remains"
            ),
            "resources": [*inv.task_definitions, *(() if nightly else (*inv.images, *inv.log_groups))],
        },
        {
            "step": "finish",
            "action": "record the environment destroyed (from what ECS runs), release the lock, notify",
            "resources": [],
        },
    ]
