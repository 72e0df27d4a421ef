"""Events the control plane reacts to, parsed from their EventBridge shape, and the push-to-deploy rules. Pure.

Redeploy on push (ECR events are best effort: duplicated, reordered, in bursts):
- the deploy's operation id is derived from the environment and the digest, so the same digest delivered twice,
  or pushed under several tags, is one operation;
- each environment keeps one push record, written with a condition that it is newer than the stored one: an
  event older than the newest push seen is dropped (no regression when events arrive out of order);
- a push that lands while the environment is locked stays *pending* on that record (newest wins, older pending
  digests are never deployed); the operation that holds the lock starts it when it releases the lock.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

from controlplane.domain.model import DeployOnPush
from controlplane.domain.semver import SemverError, parse_version, satisfies
from controlplane.domain.times import BadTime, parse_iso
from controlplane.domain.validation import DIGEST_RE, TAG_RE

ECR_SOURCE = "aws.ecr"
ECR_DETAIL_TYPE = "ECR Image Action"
ECR_PUSH_PATTERN: dict[str, Any] = {
    "source": [ECR_SOURCE],
    "detail-type": [ECR_DETAIL_TYPE],
    "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"]},
}


class MalformedEvent(ValueError):
    """The event does not have the shape AWS documents; it is logged and dropped."""


@dataclass(frozen=True)
class ImagePush:
    repository: str
    tag: str | None
    digest: str
    pushed_at: float  # the event's time (EventBridge: one-second resolution)
    event_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
            "pushed_at": self.pushed_at,
            "event_id": self.event_id,
        }


def parse_time(value: Any) -> float:
    if not isinstance(value, str):
        raise MalformedEvent("the event has no 'time'")
    try:
        return parse_iso(value)
    except BadTime:
        raise MalformedEvent(f"the event's time {value!r} is not an ISO 8601 time") from None


def parse_ecr_push(event: Any) -> ImagePush | None:
    """The push an ``ECR Image Action`` event reports; None for an action that is not a successful push.

    Raises MalformedEvent when the event is not shaped as AWS documents it.
    """
    if not isinstance(event, dict):
        raise MalformedEvent("the event is not a JSON object")
    if event.get("source") != ECR_SOURCE or event.get("detail-type") != ECR_DETAIL_TYPE:
        raise MalformedEvent(f"not an ECR image action: source={event.get('source')!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("the event has no 'detail' object")
    if detail.get("action-type") != "PUSH" or detail.get("result") != "SUCCESS":
        return None
    repo, digest, tag = detail.get("repository-name"), detail.get("image-digest"), detail.get("image-tag")
    if not isinstance(repo, str) or not repo:
        raise MalformedEvent("detail.repository-name is missing")
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        raise MalformedEvent(f"detail.image-digest {digest!r} is not sha256:<64 hex>")
    if tag in ("", None):
        tag = None  # a push by digest only
    elif not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
        raise MalformedEvent(f"detail.image-tag {tag!r} is not a valid tag")
    event_id = event.get("id")
    return ImagePush(
        repository=repo,
        tag=tag,
        digest=digest,
        pushed_at=parse_time(event.get("time")),
        event_id=str(event_id) if event_id else "",
    )


def default_repository(environment: str) -> str:
    return f"cart-service-{environment}"


def tag_matches(policy: DeployOnPush, tag: str | None) -> bool:
    if tag is None:
        return False
    if policy.match == "exact":
        return tag == policy.pattern
    if policy.match == "glob":
        return fnmatch.fnmatchcase(tag, policy.pattern)
    if policy.match == "semver":
        version = parse_version(tag)
        if version is None:
            return False
        try:
            return satisfies(version, policy.pattern)
        except SemverError:
            return False
    return False


def push_matches(policy: DeployOnPush | None, environment: str, push: ImagePush) -> bool:
    """Does this push deploy to this environment? The policy's repository defaults to the environment's."""
    if policy is None:
        return False
    if push.repository != (policy.repository or default_repository(environment)):
        return False
    return tag_matches(policy, push.tag)


BUILD_FAILED_STATUSES = ("FAILED", "FAULT", "STOPPED", "TIMED_OUT")
BUILD_END_STATUSES = ("SUCCEEDED", *BUILD_FAILED_STATUSES)


def deployment_key(deployment_id: str) -> str:
    """The key a rollout's wait and the deployment's event meet under."""
    return f"deployment#{deployment_id}"


def build_key(build_id: str) -> str:
    """The key a build's wait and its event meet under (an event names the build's ARN, StartBuild its id)."""
    return f"build#{build_id.rsplit('build/', 1)[-1]}"


ECS_DEPLOYMENT_PATTERN: dict[str, Any] = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Deployment State Change"],
    "detail": {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"]},
}
CODEBUILD_PATTERN: dict[str, Any] = {
    "source": ["aws.codebuild"],
    "detail-type": ["CodeBuild Build State Change"],
    "detail": {"build-status": list(BUILD_END_STATUSES)},
}


@dataclass(frozen=True)
class WaitResult:
    """What an event says about something a step waits for."""

    key: str  # deployment#<id> | build#<id>
    ok: bool
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


def _detail(event: Any, source: str, detail_type: str) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise MalformedEvent("the event is not a JSON object")
    if event.get("source") != source or event.get("detail-type") != detail_type:
        raise MalformedEvent(f"not a {detail_type} event: source={event.get('source')!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("the event has no 'detail' object")
    return detail


def parse_ecs_deployment(event: Any) -> WaitResult | None:
    """COMPLETED or FAILED of one deployment id; None for other deployment events (IN_PROGRESS)."""
    detail = _detail(event, "aws.ecs", "ECS Deployment State Change")
    name, deployment_id = detail.get("eventName"), detail.get("deploymentId")
    if name not in ("SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"):
        return None
    if not isinstance(deployment_id, str) or not deployment_id:
        raise MalformedEvent("detail.deploymentId is missing")
    reason = str(detail.get("reason") or "")
    ok = name == "SERVICE_DEPLOYMENT_COMPLETED"
    return WaitResult(deployment_key(deployment_id), ok, reason or f"deployment {deployment_id} {name}")


def parse_codebuild_state(event: Any) -> WaitResult | None:
    """The end of one build; None while it runs."""
    detail = _detail(event, "aws.codebuild", "CodeBuild Build State Change")
    status, build_id = detail.get("build-status"), detail.get("build-id")
    if status not in BUILD_END_STATUSES:
        return None
    if not isinstance(build_id, str) or not build_id:
        raise MalformedEvent("detail.build-id is missing")
    short = build_id.rsplit("build/", 1)[-1]
    raw_info = detail.get("additional-information")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    failed: dict[str, Any] | None = next(
        (
            p
            for p in info.get("phases") or []
            if isinstance(p, dict) and p.get("phase-status") not in (None, "SUCCEEDED", "IN_PROGRESS")
        ),
        None,
    )
    phase = str((failed or {}).get("phase-type") or detail.get("current-phase") or "?")
    context = [str(c) for c in (failed or {}).get("phase-context") or [] if c]
    if not context:
        context = _phase_context(detail.get("current-phase-context"))
    raw_logs = info.get("logs")
    logs: dict[str, Any] = raw_logs if isinstance(raw_logs, dict) else {}
    details: dict[str, Any] = {"build": {"build_id": short, "phase": phase, "phase_context": context}}
    if logs.get("deep-link"):
        details["build"]["logs_url"] = str(logs["deep-link"])
    why = f": {'; '.join(context)}" if context else ""
    ok = status == "SUCCEEDED"
    reason = f"build {short} succeeded" if ok else f"build {short} ended {status} in phase {phase}{why}"
    return WaitResult(build_key(short), ok, reason, {} if ok else details)


def _phase_context(raw: Any) -> list[str]:
    """``current-phase-context`` is a JSON list in a string ("[]", "[: ...]"); keep its non-empty messages."""
    if isinstance(raw, list):
        return [str(c) for c in raw if c and str(c).strip(": ")]
    if not isinstance(raw, str):
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        return [raw.strip("[]")] if raw.strip("[]: ") else []
    return [str(c) for c in parsed if c and str(c).strip(": ")] if isinstance(parsed, list) else []
