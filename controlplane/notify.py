"""Publishing an operation's end to its environment's SNS topic (through the Notifier port). Best effort."""

from __future__ import annotations

from controlplane.domain.notifications import operation_ended
from controlplane.observability import logger
from controlplane.ports import Notifier, Store


def notify_end(store: Store, notifier: Notifier | None, op_id: str) -> None:
    """Best effort: publish the operation's end to its environment's topic (if it names one)."""
    if notifier is None:
        return
    try:
        op = store.get_operation(op_id)
        env = store.get_environment(op.environment) if op else None
        if op is None or env is None or not env.settings.notification_topic or not op.status.finished:
            return
        subject, message = operation_ended(op)
        notifier.publish(env.settings.notification_topic, subject, message)
    except Exception as exc:
        logger.warning("could not publish the operation's end", extra={"operation_id": op_id, "error": str(exc)})
