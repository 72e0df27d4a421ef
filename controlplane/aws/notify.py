"""Notifications to an environment's SNS topic. Best effort: a missing topic is logged, never an error."""

from __future__ import annotations

import json
import threading
from typing import Any

from controlplane.aws.clients import ClientError, error_code, translated
from controlplane.observability import logger


class SnsNotifier:
    def __init__(self, sns: Any, sts: Any, region: str) -> None:
        self._sns, self._sts, self._region = sns, sts, region
        self._account: str | None = None
        self._lock = threading.Lock()

    def topic_arn(self, topic: str) -> str:
        if topic.startswith("arn:"):
            return topic
        with self._lock:
            if self._account is None:
                self._account = str(self._sts.get_caller_identity()["Account"])
        return f"arn:aws:sns:{self._region}:{self._account}:{topic}"

    def publish(self, topic: str, subject: str, message: dict[str, Any]) -> bool:
        try:
            with translated():
                self._sns.publish(
                    TopicArn=self.topic_arn(topic), Subject=subject, Message=json.dumps(message, default=str)
                )
        except ClientError as exc:
            if error_code(exc) in ("NotFound", "NotFoundException", "AuthorizationError", "InvalidParameter"):
                logger.warning("notification not sent", extra={"topic": topic, "error": str(exc)})
                return False
            raise
        return True
