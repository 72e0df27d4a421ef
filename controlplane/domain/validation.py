"""Validation of names and request bodies. Every message says what is wrong and what is expected."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import Any

from controlplane.domain.model import (
    MAX_DESIRED_COUNT,
    TIER_MIN_COUNT,
    DeployOnPush,
    EnvSettings,
    Tier,
)
from controlplane.domain.semver import SemverError, parse_range

MAX_JSON_DEPTH = 32
MAX_BODY_BYTES = 64 * 1024

# Every pattern is matched with fullmatch: "$" would also accept a trailing newline.
# 3-15 characters: the load balancer Terraform names cart-service-<env>-alb must fit AWS's 32.
NAME_RE = re.compile(r"[a-z][a-z0-9-]{1,13}[a-z0-9]")
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
SOURCE_VERSION_RE = re.compile(r"[A-Za-z0-9_./@^~-]{1,255}")
OPERATION_ID_RE = re.compile(r"(provision|build|deploy|destroy)_[a-z][a-z0-9-]{1,13}[a-z0-9]_[a-z0-9-]{1,64}")
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
REPOSITORY_RE = re.compile(r"[a-z0-9][a-z0-9._/-]{1,255}")
MATCH_KINDS = ("exact", "glob", "semver")
TOPIC_RE = re.compile(r"(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:)?[A-Za-z0-9_-]{1,256}")
LIMIT_RE = re.compile(r"[0-9]{1,3}")
# If-Match: the environment's version, bare or quoted as its ETag is ("7").
IF_MATCH_RE = re.compile(r'[0-9]{1,12}|"[0-9]{1,12}"')
MAX_QUIET_SECONDS = 300
CANCEL_MODES = ("rollback", "finish")
# A mutating body's optional "wait": each field's inclusive bounds.
WAIT_LIMITS = {"interval_seconds": (1, 300), "timeout_seconds": (1, 86400)}
# A listing's ?limit=: its default and its most.
DEFAULT_LIMIT, MAX_LIMIT = 50, 200

# The fields each request body may carry (anything else is refused, naming the allowed ones).
SETTINGS_FIELDS = frozenset(
    {"tier", "desired_count", "nightly_teardown", "deploy_on_push", "protected", "notification_topic", "confirm"}
)
DEPLOY_ON_PUSH_FIELDS = frozenset({"match", "pattern", "repository", "quiet_seconds"})
PROVISION_FIELDS = frozenset({"source_version", "wait", "image_digest", "desired_count", "autoscaling"})
AUTOSCALING_FIELDS = frozenset({"min_count", "max_count"})
BUILD_FIELDS = frozenset({"source_version", "image_tag", "wait"})
DEPLOY_FIELDS = frozenset({"image_tag", "image_digest", "wait"})
DESTROY_FIELDS = frozenset({"confirm", "wait"})
CANCEL_FIELDS = frozenset({"rollout"})


class InvalidInput(ValueError):
    """Raised by the validators below; the API turns it into a 400."""


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid environment name {name!r}: use 3-15 characters, lowercase letters, digits and '-', "
            "starting with a letter and not ending with '-'"
        )
    return name


def check_operation_id(op_id: str) -> str:
    if not isinstance(op_id, str) or not OPERATION_ID_RE.fullmatch(op_id):
        raise InvalidInput(f"invalid operation id {op_id!r}")
    return op_id


def check_idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1-128 characters of letters, digits and '_.:-'")
    return key


def _only_keys(body: dict[str, Any], allowed: AbstractSet[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed)) or 'none'}")


def _wait(body: dict[str, Any]) -> dict[str, int]:
    wait = body.get("wait")
    if wait is None:
        return {}
    if not isinstance(wait, dict):
        raise InvalidInput("'wait' must be an object with interval_seconds and/or timeout_seconds")
    _only_keys(wait, WAIT_LIMITS.keys())
    out: dict[str, int] = {}
    for key, (lo, hi) in WAIT_LIMITS.items():
        if key in wait:
            value = wait[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InvalidInput(f"wait.{key} must be an integer from {lo} to {hi}")
            out[key] = value
    return out


def check_depth(raw: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH before parsing it (deep nesting is never a valid request,
    and parsing it would exhaust the interpreter's recursion limit)."""
    depth, in_string, escaped = 0, False, False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
        elif ch in "]}":
            depth -= 1


def check_object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


def provision_request(body: Any) -> dict[str, Any]:
    """Optional overrides (the morning restore uses them): ``image_digest``, ``desired_count`` and
    ``autoscaling`` (``{min_count, max_count}``, or null for none) instead of the contract profile's."""
    body = check_object(body)
    _only_keys(body, PROVISION_FIELDS)
    params: dict[str, Any] = {}
    if "source_version" in body:
        params["source_version"] = _source_version(body["source_version"])
    if "image_digest" in body:
        params["image_digest"] = _digest(body["image_digest"])
    if "desired_count" in body:
        params["desired_count"] = _count("desired_count", body["desired_count"])
    if "autoscaling" in body:
        limits = body["autoscaling"]
        if limits is None:
            params["autoscaling"] = None
        else:
            if not isinstance(limits, dict):
                raise InvalidInput("autoscaling must be null or an object {min_count, max_count}")
            _only_keys(limits, AUTOSCALING_FIELDS)
            low = _count("autoscaling.min_count", limits.get("min_count"))
            high = _count("autoscaling.max_count", limits.get("max_count"))
            if low > high:
                raise InvalidInput("autoscaling.min_count must not exceed autoscaling.max_count")
            params["autoscaling"] = {"min_count": low, "max_count": high}
    return params | _wait_params(body)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DESIRED_COUNT:
        raise InvalidInput(f"{name} must be an integer from 0 to {MAX_DESIRED_COUNT}")
    return value


def _digest(value: Any) -> str:
    if not isinstance(value, str) or not DIGEST_RE.fullmatch(value):
        raise InvalidInput("image_digest must look like sha256:<64 hex characters>")
    return value


def _wait_params(body: dict[str, Any]) -> dict[str, Any]:
    wait = _wait(body)
    return {"wait": wait} if wait else {}


def _source_version(value: Any) -> str:
    if not isinstance(value, str) or not SOURCE_VERSION_RE.fullmatch(value):
        raise InvalidInput("source_version must be a branch, tag or commit: 1-255 of letters, digits and ./@^~_-")
    return value


def build_request(body: Any) -> dict[str, Any]:
    body = check_object(body)
    _only_keys(body, BUILD_FIELDS)
    if "source_version" not in body:
        raise InvalidInput('source_version is required, e.g. {"source_version": "main"}')
    params: dict[str, Any] = {"source_version": _source_version(body["source_version"])}
    if "image_tag" in body:
        params["image_tag"] = check_tag(body["image_tag"])
    return params | _wait_params(body)


def check_tag(value: Any) -> str:
    if not isinstance(value, str) or not TAG_RE.fullmatch(value):
        raise InvalidInput("image_tag must be a valid image tag: 1-128 of letters, digits, '_', '.', '-'")
    return value


def deploy_request(body: Any) -> dict[str, Any]:
    body = check_object(body)
    _only_keys(body, DEPLOY_FIELDS)
    if "image_tag" in body and "image_digest" in body:
        raise InvalidInput("give image_tag or image_digest, not both")
    params: dict[str, Any] = {}
    if "image_tag" in body:
        params["image_tag"] = check_tag(body["image_tag"])
    if "image_digest" in body:
        params["image_digest"] = _digest(body["image_digest"])
    return params | _wait_params(body)


def destroy_request(body: Any) -> dict[str, Any]:
    body = check_object(body)
    _only_keys(body, DESTROY_FIELDS)
    params: dict[str, Any] = {}
    confirm = confirmation(body)
    if confirm is not None:
        params["confirm"] = confirm
    return params | _wait_params(body)


def deploy_on_push(value: Any) -> DeployOnPush | None:
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("deploy_on_push must be null or an object {match, pattern, repository?}")
    _only_keys(value, DEPLOY_ON_PUSH_FIELDS)
    match = value.get("match", "exact")
    if match not in MATCH_KINDS:
        raise InvalidInput(f"deploy_on_push.match must be one of {', '.join(MATCH_KINDS)}")
    pattern = value.get("pattern")
    if not isinstance(pattern, str) or not pattern or len(pattern) > 128 or not pattern.isprintable():
        raise InvalidInput(
            "deploy_on_push.pattern must be a non-empty string of at most 128 printable characters (no newline)"
        )
    if match == "exact":
        check_tag(pattern)
    if match == "semver":
        try:
            parse_range(pattern)
        except SemverError as exc:
            raise InvalidInput(f"deploy_on_push.pattern is not a semver range ({exc}), e.g. ^1.2.0") from None
    repo = value.get("repository")
    if repo is not None and (not isinstance(repo, str) or not REPOSITORY_RE.fullmatch(repo)):
        raise InvalidInput("deploy_on_push.repository must be an ECR repository name")
    quiet = value.get("quiet_seconds", 0)
    if isinstance(quiet, bool) or not isinstance(quiet, int) or not 0 <= quiet <= MAX_QUIET_SECONDS:
        raise InvalidInput(f"deploy_on_push.quiet_seconds must be an integer from 0 to {MAX_QUIET_SECONDS}")
    return DeployOnPush(match=match, pattern=pattern, repository=repo, quiet_seconds=quiet)


def settings_request(body: Any, current: EnvSettings, tier: Tier) -> tuple[Tier, EnvSettings]:
    """Apply a PUT body onto current settings. Returns the (possibly new) tier and the new settings."""
    body = check_object(body)
    _only_keys(body, SETTINGS_FIELDS)
    if "tier" in body:
        tier = check_tier(body["tier"])
    changes: dict[str, Any] = {}
    if "desired_count" in body:
        count = body["desired_count"]
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise InvalidInput("desired_count must be an integer or null (null: the tier's default)")
        changes["desired_count"] = count
    for flag in ("nightly_teardown", "protected"):
        if flag in body:
            if not isinstance(body[flag], bool):
                raise InvalidInput(f"{flag} must be true or false")
            changes[flag] = body[flag]
    if "deploy_on_push" in body:
        changes["deploy_on_push"] = deploy_on_push(body["deploy_on_push"])
    if "notification_topic" in body:
        topic = body["notification_topic"]
        if topic is not None and (not isinstance(topic, str) or not TOPIC_RE.fullmatch(topic)):
            raise InvalidInput("notification_topic must be null, an SNS topic name, or an SNS topic ARN")
        changes["notification_topic"] = topic
    settings = current.replace(**changes)
    check_desired_count(settings.desired_count, tier)
    return tier, settings


def confirmation(body: Any) -> str | None:
    """The typed confirmation a destructive request carries (``"confirm": "<name>"``), if any."""
    value = check_object(body).get("confirm")
    if value is not None and not isinstance(value, str):
        raise InvalidInput("confirm must be the environment's name as a string")
    return value


def limit(raw: str | None, default: int = DEFAULT_LIMIT, most: int = MAX_LIMIT) -> int:
    """A ``?limit=`` query value: ASCII digits only (no sign, no unicode digits), from 1 to ``most``."""
    if raw is None:
        return default
    if not LIMIT_RE.fullmatch(raw) or not 1 <= int(raw) <= most:
        raise InvalidInput(f"limit must be an integer from 1 to {most}")
    return int(raw)


def if_match(raw: str | None) -> int | None:
    """An ``If-Match`` header's version (None without one)."""
    if raw is None:
        return None
    text = raw.strip()
    if not IF_MATCH_RE.fullmatch(text):
        raise InvalidInput('If-Match must be the environment\'s version: 7 or "7", as its ETag')
    return int(text.strip('"'))


def cancel_request(body: Any) -> str:
    body = check_object(body)
    _only_keys(body, CANCEL_FIELDS)
    mode = body.get("rollout", "rollback")
    if mode not in CANCEL_MODES:
        raise InvalidInput('rollout must be "rollback" (undo a rollout that began; the default) or "finish"')
    return str(mode)


def choices(raw: str | None, allowed: tuple[str, ...], name: str) -> list[str]:
    """A comma-separated filter (``?status=RUNNING,FAILED``), each value one of ``allowed``; an empty one is
    refused (leave the filter out to get everything)."""
    if raw is None:
        return []
    values = raw.split(",")
    bad = [v for v in values if v not in allowed]
    if bad or len(values) > len(allowed):
        raise InvalidInput(f"{name} must be a comma-separated list of {', '.join(allowed)}")
    return list(dict.fromkeys(values))


def check_tier(value: Any) -> Tier:
    if not isinstance(value, str) or value not in {t.value for t in Tier}:
        raise InvalidInput("tier must be one of dev, staging, prod")
    return Tier(value)


def check_desired_count(count: int | None, tier: Tier) -> None:
    if count is None:
        return
    low = TIER_MIN_COUNT[tier]
    if not low <= count <= MAX_DESIRED_COUNT:
        raise InvalidInput(f"desired_count for a {tier.value} environment must be from {low} to {MAX_DESIRED_COUNT}")
