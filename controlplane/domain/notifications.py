"""What the control plane tells an environment's SNS topic. Pure: subjects and JSON messages."""

from __future__ import annotations

from typing import Any

from controlplane.domain.model import Environment, Operation


def operation_ended(op: Operation) -> tuple[str, dict[str, Any]]:
    subject = f"cart-controlplane: {op.kind.value} of {op.environment} {op.status.value}"
    message = {
        "type": "operation-ended",
        "operation_id": op.id,
        "environment": op.environment,
        "kind": op.kind.value,
        "trigger": op.trigger,
        "status": op.status.value,
        "error": op.error,
        "result": op.result,
        "created_at": op.created_at,
        "ended_at": op.ended_at,
    }
    return subject[:100], message


def teardown_reminder(env: Environment, teardown_schedule: str, until_example: str) -> tuple[str, dict[str, Any]]:
    call = f"POST /environments/{env.name}/keep-alive"
    body = {"until": until_example}
    subject = f"cart-controlplane: {env.name} will be torn down tonight"
    message = {
        "type": "teardown-reminder",
        "environment": env.name,
        "teardown_schedule": teardown_schedule,
        "image_digest": env.image_digest,
        "message": (
            f"{env.name} will be torn down by the nightly teardown ({teardown_schedule}) and restored in the "
            f"morning. To keep it running, call {call} with {body} (DELETE the same path to end it)."
        ),
        "keep_alive": {"method": "POST", "path": f"/environments/{env.name}/keep-alive", "body": body},
    }
    return subject[:100], message
