"""What the control plane tells an environment's SNS topic. Pure: subjects and JSON messages."""

from __future__ import annotations

from typing import Any

from controlplane.domain.model import Environment, Operation


def operation_ended(op: Operation) -> tuple[str, dict[str, Any]]:
    subject = f"cart-controlplane: {op.kind.value} of {op.environment} {op.status.value}"
    full = op.to_dict()
    message = {"type": "operation-ended"} | {
        k: full[k]
        for k in ("id", "environment", "kind", "trigger", "status", "error", "result", "created_at", "ended_at")
    }
    message["operation_id"] = message.pop("id")
    return subject[:100], message


def teardown_reminder(env: Environment, teardown_schedule: str, until_example: str) -> tuple[str, dict[str, Any]]:
    call = f"POST /environments/{env.name}/keep-alive"
    body = {"until": until_example}
    subject = f"cart-controlplane: {env.name} will be torn down tonight"
    message = {
        "type": "teardown-reminder",
        "environment": env.name,
        "teardown_schedule": teardown_schedule,
        "image_digest": env.service.image_digest if env.service else None,
        "message": (
            f"{env.name} will be torn down by the nightly teardown ({teardown_schedule}) and restored in the "
            f"morning. To keep it running, call {call} with {body} (DELETE the same path to end it), or run "
            f"`cartctl keep-alive set {env.name} --for 12h`."
        ),
        "keep_alive": {"method": "POST", "path": f"/environments/{env.name}/keep-alive", "body": body},
    }
    return subject[:100], message
