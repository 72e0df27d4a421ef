"""EventBridge, as the sandbox delivers it: AWS-shaped events routed to the Chalice app's event handlers.

moto 5.2.5 raises NotImplementedError when a rule with a Lambda target matches a PutEvents, so the sandbox routes
events itself: it takes the rules from their one declaration (``controlplane/deployment.py``, from which Terraform
creates them), matches each event against their patterns, and invokes the matching function through the moto
Lambda API (so the handler runs through the same in-process seam as the steps). Delivery is asynchronous
(a worker thread), as EventBridge's is. Schedules are fired the same way (``fire``), with the event a real
scheduled rule delivers.
"""

from __future__ import annotations

import json
import queue
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controlplane.deployment import EVENT_RULES, EventRule

ClientFactory = Callable[[str], Any]


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge pattern matching for the subset the rules use: nested objects, lists of exact values and
    ``{"prefix": ...}`` matchers."""
    if isinstance(pattern, dict):
        if not isinstance(event, dict):
            return False
        return all(key in event and matches(value, event[key]) for key, value in pattern.items())
    if isinstance(pattern, list):
        values = event if isinstance(event, list) else [event]
        return any(_value_matches(p, v) for p in pattern for v in values if not isinstance(v, (dict, list)))
    return bool(pattern == event)


def _value_matches(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, dict):
        if set(matcher) != {"prefix"}:
            raise ValueError(f"the sandbox does not match {matcher!r}")
        return isinstance(value, str) and value.startswith(str(matcher["prefix"]))
    return bool(matcher == value)


def envelope(
    source: str, detail_type: str, detail: dict[str, Any], account: str, region: str, resources: list[str]
) -> dict[str, Any]:
    """The EventBridge envelope, as AWS delivers it (time at one-second resolution)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def ecr_push_event(account: str, region: str, repository: str, digest: str, tag: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
    }
    if tag:
        detail["image-tag"] = tag
    return envelope("aws.ecr", "ECR Image Action", detail, account, region, [])


def ecs_deployment_event(
    account: str, region: str, service_arn: str, deployment_id: str, state: str, reason: str
) -> dict[str, Any]:
    failed = state == "FAILED"
    detail = {
        "eventType": "ERROR" if failed else "INFO",
        "eventName": "SERVICE_DEPLOYMENT_FAILED" if failed else "SERVICE_DEPLOYMENT_COMPLETED",
        "deploymentId": deployment_id,
        "updatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "reason": reason,
    }
    return envelope("aws.ecs", "ECS Deployment State Change", detail, account, region, [service_arn])


def codebuild_event(account: str, region: str, build_id: str, project: str, status: str) -> dict[str, Any]:
    """The build's end, as CodeBuild reports it: the phases (a failed one with its context) and the log's link."""
    from controlplane.sandbox.emulation import BUILD_FAILURE

    arn = f"arn:aws:codebuild:{region}:{account}:build/{build_id}"
    stream = build_id.rsplit(":", 1)[-1]
    group = f"/aws/codebuild/{project}"
    phases: list[dict[str, Any]] = [
        {"phase-type": p, "phase-status": "SUCCEEDED", "phase-context": [": "]}
        for p in ("SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD")
    ]
    if status == "FAILED":
        phases.append({"phase-type": "BUILD", "phase-status": "FAILED", "phase-context": [BUILD_FAILURE]})
    elif status == "STOPPED":
        phases.append({"phase-type": "BUILD", "phase-status": "STOPPED", "phase-context": [": "]})
    else:
        phases += [
            {"phase-type": p, "phase-status": "SUCCEEDED", "phase-context": [": "]} for p in ("BUILD", "POST_BUILD")
        ]
    detail = {
        "build-status": status,
        "project-name": project,
        "build-id": arn,
        "additional-information": {
            "build-complete": True,
            "initiator": "cart-controlplane",
            "phases": phases,
            "logs": {
                "group-name": group,
                "stream-name": stream,
                "deep-link": (
                    f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logEvent:group={group};"
                    f"stream={stream}"
                ),
            },
        },
        "current-phase": "COMPLETED",
        "current-phase-context": "[: ]",
        "version": "1",
    }
    return envelope("aws.codebuild", "CodeBuild Build State Change", detail, account, region, [arn])


def scheduled_event(account: str, region: str, rule_arn: str) -> dict[str, Any]:
    return envelope("aws.events", "Scheduled Event", {}, account, region, [rule_arn])


def schedule_names() -> list[str]:
    """The declared schedules' rule names (``nightly-teardown``, ...)."""
    return [r.name for r in EVENT_RULES if r.schedule_expression]


def schedule_rule(name: str) -> EventRule:
    """A declared schedule by its rule name (``nightly-teardown``) or its function's (``nightly_teardown``)."""
    for rule in EVENT_RULES:
        if rule.schedule_expression and name in (rule.name, rule.function):
            return rule
    raise KeyError(f"no schedule named {name!r} (schedules: {', '.join(schedule_names())})")


def schedule_delivery(account: str, region: str, function_prefix: str, name: str) -> tuple[str, dict[str, Any]]:
    """What a schedule's rule does when it fires: the function it invokes and the event it sends."""
    rule = schedule_rule(name)
    rule_arn = f"arn:aws:events:{region}:{account}:rule/{function_prefix}{rule.name}"
    return function_prefix + rule.function, scheduled_event(account, region, rule_arn)


def fire_schedule(make: ClientFactory, account: str, region: str, function_prefix: str, name: str) -> tuple[Any, bool]:
    """Fire a schedule now and wait for its function: (what it returned, whether it raised)."""
    function, event = schedule_delivery(account, region, function_prefix, name)
    response = make("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read() or b"null"), "FunctionError" in response


@dataclass(frozen=True)
class Route:
    function_name: str
    pattern: dict[str, Any] | None  # None: a schedule (fired by name)
    schedule: str | None = None
    rule_name: str = ""  # cart-controlplane-<stage>-<rule>, as Terraform names it


def app_routes(function_prefix: str) -> list[Route]:
    """The declared rules (``controlplane/deployment.py``): one route per event pattern and per schedule."""
    return [
        Route(function_prefix + r.function, r.event_pattern, r.schedule_expression, function_prefix + r.name)
        for r in EVENT_RULES
    ]


class EventRouter:
    """Delivers events to the matching Lambda functions on a worker thread; ``delivered`` keeps a log."""

    def __init__(self, make: ClientFactory, function_prefix: str, account: str, region: str) -> None:
        self._make = make
        self.function_prefix = function_prefix  # cart-controlplane-<stage>-
        self.routes = app_routes(function_prefix)
        self.account = account
        self.region = region
        self.delivered: list[tuple[str, dict[str, Any], Any]] = []
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0

    # emulator events -> AWS events ------------------------------------------------------------------------
    def on_emulated(self, kind: str, detail: dict[str, Any]) -> None:
        """Emulator listener: turn what the emulated service did into the event AWS would send."""
        if kind == "ecr-push":
            self.put(
                ecr_push_event(
                    detail["account"], detail["region"], detail["repository"], detail["digest"], detail.get("tag")
                )
            )
        elif kind == "ecs-deployment":
            service = detail["service"]
            self.put(
                ecs_deployment_event(
                    self.account,
                    self.region,
                    str(service.arn),
                    detail["deployment_id"],
                    detail["state"],
                    detail["reason"],
                )
            )
        elif kind == "codebuild":
            self.put(
                codebuild_event(self.account, self.region, detail["build_id"], detail["project"], detail["status"])
            )

    # delivery -----------------------------------------------------------------------------------------------
    def put(self, event: dict[str, Any]) -> int:
        """Queue the event for every route whose pattern matches; returns how many deliveries were queued."""
        targets = [r.function_name for r in self.routes if r.pattern is not None and matches(r.pattern, event)]
        for target in targets:
            self._enqueue(target, event)
        return len(targets)

    def fire(self, name: str) -> dict[str, Any]:
        """Fire a schedule now, asynchronously as EventBridge does (``fire_schedule`` waits). Returns the event."""
        function, event = schedule_delivery(self.account, self.region, self.function_prefix, name)
        self._enqueue(function, event)
        return event

    def _enqueue(self, function_name: str, event: dict[str, Any]) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put((function_name, event))
        self._ensure_worker()

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="sandbox-eventbridge", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            function_name, event = item
            result: Any = None
            try:
                response = self._make("lambda").invoke(
                    FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
                )
                result = json.loads(response["Payload"].read() or b"null")
            except Exception:  # EventBridge never crashes on a failing target
                traceback.print_exc()
                result = {"error": traceback.format_exc(limit=1)}
            finally:
                self.delivered.append((function_name, event, result))
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued event has been delivered (tests, the demo and ``fire`` use it)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def stop(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            self._queue.put(None)
            self._worker.join(timeout=5)
        self._worker = None
