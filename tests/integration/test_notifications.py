"""Every operation's end, and the teardown reminder, reach the environment's SNS topic (read from the emulated SNS
through the inbox queue subscribed to it)."""

from __future__ import annotations

import json
import time
from typing import Any

from controlplane.domain.model import OpStatus
from tests.conftest import MotoWorld


def inbox(aws: MotoWorld, env: str = "dev") -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=f"cart-service-{env}-notifications-inbox")["QueueUrl"]
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        for m in batch:
            envelope = json.loads(m["Body"])
            messages.append({"subject": envelope.get("Subject"), **json.loads(envelope["Message"])})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def ended(aws: MotoWorld, *op_ids: str, timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    """The operation-ended messages of these operations (published just after the operation is recorded)."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.time() + timeout
    while set(op_ids) - set(found) and time.time() < deadline:
        found |= {m["operation_id"]: m for m in inbox(aws) if m["type"] == "operation-ended"}
        time.sleep(0.05)
    return found


def test_operation_ends_are_published_to_the_environments_topic(aws: MotoWorld) -> None:
    # WHEN dev is provisioned and a broken image is deployed
    ok = aws.run("provision", body={"source_version": "v1"})
    assert ok.status is OpStatus.SUCCEEDED
    assert aws.run("build", body={"source_version": "v2", "image_tag": "broken-1"}).status is OpStatus.SUCCEEDED
    failed = aws.run("deploy", body={"image_tag": "broken-1"})
    assert failed.status is OpStatus.FAILED
    # THEN each end is on dev's topic, with its status and, for the failure, the step and reason
    ends = ended(aws, ok.id, failed.id)
    assert ends[ok.id]["status"] == "SUCCEEDED" and ends[ok.id]["kind"] == "provision"
    assert ends[failed.id]["status"] == "FAILED"
    assert ends[failed.id]["error"]["step"] == "rollout"
    assert "circuit breaker" in ends[failed.id]["error"]["message"]
    assert ends[failed.id]["subject"] == "cart-controlplane: deploy of dev FAILED"


def test_the_teardown_reminder_names_the_keep_alive_call(aws: MotoWorld) -> None:
    op = aws.run("provision", body={"source_version": "v1"})
    assert op.status is OpStatus.SUCCEEDED
    assert op.id in ended(aws, op.id)  # drain the provision's message
    response = aws.client("lambda").invoke(
        FunctionName=aws.world.function_prefix + "teardown_reminder",
        Payload=json.dumps(
            {
                "version": "0",
                "id": "x",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": aws.world.account,
                "time": "2026-11-25T19:30:00Z",
                "region": "eu-central-1",
                "resources": [],
                "detail": {},
            }
        ).encode(),
    )
    assert json.loads(response["Payload"].read()) == {"reminded": ["dev"]}
    [reminder] = inbox(aws)
    assert reminder["type"] == "teardown-reminder"
    assert reminder["keep_alive"]["path"] == "/environments/dev/keep-alive"
    assert "POST /environments/dev/keep-alive" in reminder["message"]
