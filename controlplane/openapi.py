"""The control API's contract: the OpenAPI 3.1 document served at ``GET /openapi.json``.

Built here, in one place, from what the API enforces: the request bodies' fields and bounds come from the
validators' constants (``domain/validation.py``), the enums from the model. Responses describe what the models'
``to_dict`` write. A test keeps the document's paths and methods equal to the Chalice routes; schemathesis
checks the running API against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from controlplane import __version__
from controlplane.domain import validation as v
from controlplane.domain.model import MAX_DESIRED_COUNT, TIER_MIN_COUNT, EnvStatus, OpKind, OpStatus, StepStatus, Tier
from controlplane.domain.schedule import MAX_KEEP_ALIVE_SECONDS
from controlplane.store.cursor import MAX_CURSOR_LENGTH

Schema = dict[str, Any]
JSON_TYPE = "application/json"
# What an API time looks like: ISO 8601 UTC with milliseconds and a trailing Z (``domain/times.iso``).
TIMESTAMP_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"

# The error codes each status carries (``errors.py``, the envelope of the framework's and the gateway's own).
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("BadRequest", "ValidationError", "ConfirmationRequired"),
    403: ("AccessDenied", "Unauthorized"),
    404: ("NotFound",),
    409: ("Conflict", "OperationInProgress", "VersionConflict"),
    413: ("PayloadTooLarge",),
    415: ("UnsupportedMediaType",),
    422: ("IdempotencyKeyReused",),
    429: ("TooManyRequests",),
    500: ("InternalError",),
    503: ("ServiceUnavailable",),
}
ERROR_MEANING = {
    400: "The request is malformed or invalid; the message says what is wrong and what is expected.",
    403: "API Gateway refused the request: the IAM identity may not invoke this route, or the SigV4 signature is "
    "missing or invalid.",
    404: "The environment or operation does not exist.",
    409: "The request conflicts with the current state: an operation is running on the environment "
    "(OperationInProgress, naming it), the environment changed since it was read (VersionConflict), or the "
    "environment's status or tier does not allow it (Conflict).",
    413: "The request body is larger than API Gateway accepts.",
    415: "The request body's Content-Type is not JSON (or one of the form/text types a JSON body is read from).",
    422: "This Idempotency-Key was used with a different request.",
    429: "API Gateway throttled the request; retry with backoff.",
    500: "An unexpected error; the control plane's logs have it.",
    503: "A dependency (DynamoDB, ECS, Step Functions) is unavailable or throttling; retry shortly.",
}
# Every route can meet these (the gateway's and the server's own); the IAM-authorized ones also 403 and 429.
ALWAYS = (500, 503)
AUTHORIZED = (403, 429)


def pattern(regex: re.Pattern[str] | str) -> str:
    """A validator's regular expression (matched whole, with fullmatch) as a JSON Schema pattern (anchored)."""
    source = regex.pattern if isinstance(regex, re.Pattern) else regex
    return f"^(?:{source})$"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


ALL = ("*",)  # required: every property
ALL_BUT_PROGRESS = ("*", "-progress")  # required: every property but progress (present only while running)


def obj(properties: dict[str, Schema], required: Iterable[str] = (), *, closed: bool = True, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if tuple(required)[:1] == ("*",):
        required = [p for p in properties if f"-{p}" not in tuple(required)]
    if required:
        schema["required"] = sorted(required)
    if closed:
        schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def string(regex: re.Pattern[str] | str | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if regex is not None:
        schema["pattern"] = pattern(regex)
    return schema


def integer(low: int, high: int, **extra: Any) -> Schema:
    return {"type": "integer", "minimum": low, "maximum": high, **extra}


def enum(values: Iterable[str], **extra: Any) -> Schema:
    return {"type": "string", "enum": list(values), **extra}


# -- request bodies ----------------------------------------------------------------------------------------------
def _wait() -> Schema:
    fields = {key: integer(low, high) for key, (low, high) in v.WAIT_LIMITS.items()}
    return nullable(
        obj(
            fields,
            description="How the operation's waits poll: the polling interval (destroy's drain) and every wait's "
            "budget. Defaults from the deployment's settings.",
        )
    )


def request_schemas() -> dict[str, Schema]:
    """The request bodies. Each one's properties are exactly the fields its validator allows."""
    count = integer(0, MAX_DESIRED_COUNT)
    tag = string(v.TAG_RE, description="An image tag: 1-128 of letters, digits, '_', '.', '-'.")
    digest = string(v.DIGEST_RE, description="An image digest: sha256: and 64 lowercase hex digits.")
    source_version = string(v.SOURCE_VERSION_RE, description="A branch, tag or commit.")
    confirm = nullable(string(description="The environment's name, repeated: the typed confirmation."))
    minimums = ", ".join(f"{tier.value} {low}" for tier, low in TIER_MIN_COUNT.items())
    return {
        "Wait": _wait(),
        "DeployOnPush": obj(
            {
                "match": enum(v.MATCH_KINDS, default="exact"),
                "pattern": string(
                    minLength=1,
                    maxLength=128,
                    description="exact: an image tag; glob: a shell-style pattern; semver: a range such as ^1.2.0.",
                ),
                "repository": nullable(
                    string(v.REPOSITORY_RE, description="The ECR repository (default: the environment's).")
                ),
                "quiet_seconds": integer(
                    0,
                    v.MAX_QUIET_SECONDS,
                    default=0,
                    description="A push-triggered deploy first waits this long and stands down for a newer push.",
                ),
            },
            ["pattern"],
            description="Which pushed images deploy to the environment.",
        ),
        "EnvironmentSettingsRequest": obj(
            {
                "tier": enum(
                    [t.value for t in Tier],
                    description="Required to create an environment Terraform did "
                    "not publish; otherwise it must equal the contract's tier.",
                ),
                "desired_count": nullable(
                    {**count, "description": f"Tasks to run; null: the tier's default. At least {minimums}."}
                ),
                "nightly_teardown": {"type": "boolean"},
                "deploy_on_push": {
                    "anyOf": [ref("DeployOnPush"), {"type": "null"}, {"const": False}],
                    "description": "null (or false): push-triggered deploys off.",
                },
                "protected": {"type": "boolean", "description": "Turning it off needs confirm."},
                "notification_topic": nullable(string(v.TOPIC_RE, description="An SNS topic name or ARN.")),
                "confirm": confirm,
            },
            description="Only the fields given change.",
        ),
        "ProvisionRequest": obj(
            {
                "source_version": source_version,
                "image_digest": digest,
                "desired_count": count,
                "autoscaling": nullable(
                    obj(
                        {"min_count": count, "max_count": count},
                        v.AUTOSCALING_FIELDS,
                        description="min_count must not exceed max_count.",
                    )
                ),
                "wait": ref("Wait"),
            },
            description="Overrides of the contract profile's image, count and autoscaling; source_version: what "
            "to build when the repository has no image yet.",
        ),
        "BuildRequest": obj(
            {"source_version": source_version, "image_tag": tag, "wait": ref("Wait")},
            ["source_version"],
        ),
        "DeployRequest": {
            **obj(
                {"image_tag": tag, "image_digest": digest, "wait": ref("Wait")},
                description="image_tag or image_digest, not both; neither: redeploy what ECS runs now.",
            ),
            "not": {"required": ["image_tag", "image_digest"]},
        },
        "DestroyRequest": obj(
            {"confirm": confirm, "wait": ref("Wait")},
            description="confirm is required for staging, prod and protected environments.",
        ),
        "CancelRequest": obj(
            {
                "rollout": enum(
                    v.CANCEL_MODES,
                    default="rollback",
                    description="rollback: undo a rollout that began; finish: let it finish and record what runs.",
                )
            }
        ),
        "KeepAliveRequest": obj(
            {
                "until": string(
                    format="date-time",
                    description=f"In the future and at most {MAX_KEEP_ALIVE_SECONDS // 86400} days ahead.",
                )
            },
            ["until"],
        ),
    }


# -- responses ---------------------------------------------------------------------------------------------------
def response_schemas() -> dict[str, Schema]:
    ts = ref("Timestamp")
    opt_ts = nullable(ts)
    text = {"type": "string"}
    opt_text = nullable(text)
    arn = opt_text
    free = {"type": "object"}
    op_statuses = [s.value for s in OpStatus]
    return {
        "Timestamp": string(TIMESTAMP_RE, format="date-time", description="ISO 8601 UTC, milliseconds, trailing Z."),
        "Error": obj(
            {
                "error": obj(
                    {
                        "code": text,
                        "message": text,
                        "running_operation": {**text, "description": "OperationInProgress: the running operation."},
                        "operation_id": {**text, "description": "IdempotencyKeyReused: the key's operation."},
                        "version": {"type": "integer", "description": "VersionConflict: the current version."},
                        "status": {**text, "description": "Conflict: the status that refused the request."},
                        "tier": {**text, "description": "Conflict: the tier the Terraform contract sets."},
                    },
                    ["code", "message"],
                    closed=False,
                )
            },
            ["error"],
            description="Every 4xx and 5xx the API returns.",
        ),
        "EnvironmentSettings": obj(
            {
                "desired_count": nullable(integer(0, MAX_DESIRED_COUNT)),
                "nightly_teardown": {"type": "boolean"},
                "deploy_on_push": nullable(
                    obj(
                        {
                            "match": enum(v.MATCH_KINDS),
                            "pattern": text,
                            "repository": opt_text,
                            "quiet_seconds": integer(0, v.MAX_QUIET_SECONDS),
                        },
                        v.DEPLOY_ON_PUSH_FIELDS,
                    )
                ),
                "protected": {"type": "boolean"},
                "notification_topic": opt_text,
            },
            ["desired_count", "nightly_teardown", "deploy_on_push", "protected", "notification_topic"],
        ),
        "Service": obj(
            {
                "status": nullable(text),
                "task_definition_arn": arn,
                "image_digest": opt_text,
                "image_tag": opt_text,
                "desired_count": {"type": "integer", "minimum": 0},
                "running_count": {"type": "integer", "minimum": 0},
                "rollout_state": opt_text,
                "observed_at": ts,
            },
            ["status", "task_definition_arn", "image_digest", "image_tag", "desired_count", "running_count"],
            description="What ECS reports for the environment's service (status ACTIVE, DRAINING or INACTIVE).",
        ),
        "Intended": obj(
            {
                "task_definition_arn": text,
                "image_digest": opt_text,
                "image_tag": opt_text,
                "operation_id": text,
                "deployed_at": ts,
            },
            ["task_definition_arn", "image_digest", "image_tag", "operation_id", "deployed_at"],
            description="What the control plane last deployed successfully.",
        ),
        "PendingPush": obj(
            {
                "digest": text,
                "tag": opt_text,
                "pushed_at": ts,
                "state": text,
                "operation_id": text,
                "note": text,
            },
            ["digest", "tag", "pushed_at", "state", "operation_id"],
        ),
        "Environment": obj(
            {
                "name": string(v.NAME_RE),
                "tier": enum([t.value for t in Tier]),
                "tier_source": enum(["contract", "request"]),
                "status": enum([s.value for s in EnvStatus]),
                "version": {"type": "integer", "minimum": 0},
                "settings": ref("EnvironmentSettings"),
                "locked_by": nullable(string(description="The running operation that holds the environment.")),
                "lock_expires_at": opt_ts,
                "last_operation_id": opt_text,
                "service": nullable(ref("Service")),
                "intended": nullable(ref("Intended")),
                "drift": nullable(string(description="Set when what ECS runs differs from what was deployed.")),
                "url": opt_text,
                "keep_alive_until": opt_ts,
                "pending_push": nullable(ref("PendingPush")),
                "updated_at": ts,
            },
            ALL,
        ),
        "EnvironmentPage": obj(
            {"environments": {"type": "array", "items": ref("Environment")}, "next": ref("Cursor")},
            ["environments", "next"],
        ),
        "Cursor": nullable(
            string(
                maxLength=MAX_CURSOR_LENGTH,
                description="Pass it back as ?next= for the following page; null on the last page.",
            )
        ),
        "Step": obj(
            {
                "name": text,
                "status": enum([s.value for s in StepStatus]),
                "started_at": ts,
                "ended_at": opt_ts,
                "duration_seconds": nullable({"type": "number", "minimum": 0}),
                "attempts": {"type": "integer", "minimum": 1},
                "polls": {"type": "integer", "minimum": 0},
                "detail": free,
                "error": opt_text,
            },
            ["name", "status", "started_at", "ended_at", "duration_seconds", "attempts", "polls", "detail", "error"],
            description="One phase of the operation's flow (prepare, build, rollout, health_check, drain, "
            "delete_service, sweep, cancel, finish).",
        ),
        "RolloutProgress": obj(
            {
                "deployment_id": text,
                "task_definition_arn": opt_text,
                "desired_count": {"type": "integer", "minimum": 0},
                "running_count": {"type": "integer", "minimum": 0},
                "pending_count": {"type": "integer", "minimum": 0},
                "failed_tasks": {"type": "integer", "minimum": 0},
                "rollout_state": opt_text,
            },
            ["deployment_id", "desired_count", "running_count", "pending_count", "failed_tasks", "rollout_state"],
        ),
        "BuildProgress": obj({"build_id": text, "phase": text, "status": text}, ["build_id", "phase", "status"]),
        "Progress": obj(
            {"rollout": ref("RolloutProgress"), "build": ref("BuildProgress")},
            description="Live, read from ECS and CodeBuild by the GET; only while the operation runs.",
        ),
        "OperationError": obj(
            {
                "step": nullable(text),
                "code": text,
                "message": text,
                "details": obj(
                    {
                        "rolled_back_to": obj(
                            {
                                "task_definition_arn": opt_text,
                                "revision": nullable({"type": "integer"}),
                                "image_digest": opt_text,
                            },
                            closed=False,
                        ),
                        "stopped_tasks": {
                            "type": "array",
                            "items": obj(
                                {
                                    "task_arn": text,
                                    "task_id": text,
                                    "container": opt_text,
                                    "stopped_reason": opt_text,
                                    "exit_code": nullable({"type": "integer"}),
                                    "container_reason": opt_text,
                                },
                                closed=False,
                            ),
                        },
                        "service_events": {
                            "type": "array",
                            "items": obj({"at": ts, "message": text}, ["at", "message"]),
                        },
                        "logs": obj({"group": text, "stream": text, "console_url": text}, closed=False),
                        "build": obj(
                            {
                                "build_id": text,
                                "phase": opt_text,
                                "phase_context": {"type": "array", "items": text},
                                "logs_url": opt_text,
                            },
                            closed=False,
                        ),
                    },
                    closed=False,
                ),
            },
            ["step", "code", "message"],
            closed=False,
            description="Why the operation did not succeed: the failing step, its code and message; a failed "
            "deploy's details name the revision rolled back to, the stopped tasks, the service's events and logs; "
            "a failed build's name its phase and logs.",
        ),
        "Operation": obj(
            {
                "id": string(v.OPERATION_ID_RE),
                "kind": enum([k.value for k in OpKind]),
                "environment": text,
                "trigger": enum(["api", "schedule", "ecr-push"]),
                "params": free,
                "status": enum(op_statuses),
                "created_at": ts,
                "ended_at": opt_ts,
                "steps": {"type": "array", "items": ref("Step")},
                "error": nullable(ref("OperationError")),
                "result": free,
                "cancel": nullable(obj({"mode": enum(v.CANCEL_MODES), "requested_at": ts}, ["mode", "requested_at"])),
                "environment_status_before": nullable(enum([s.value for s in EnvStatus])),
                "execution_arn": opt_text,
                "progress": ref("Progress"),
            },
            ALL_BUT_PROGRESS,
        ),
        "OperationPage": obj(
            {"operations": {"type": "array", "items": ref("Operation")}, "next": ref("Cursor")},
            ["operations", "next"],
        ),
        "DestroyPlan": obj(
            {
                "environment": text,
                "dry_run": {"const": True},
                "requires_confirmation": {"type": "boolean"},
                "steps": {
                    "type": "array",
                    "items": obj(
                        {"step": text, "action": text, "resources": {"type": "array", "items": text}},
                        ["step", "action", "resources"],
                    ),
                },
                "never_touched": {"type": "array", "items": text},
            },
            ["environment", "dry_run", "requires_confirmation", "steps", "never_touched"],
        ),
        "KeepAlive": obj({"environment": text, "keep_alive_until": opt_ts}, ["environment", "keep_alive_until"]),
    }


# -- parameters and responses ---------------------------------------------------------------------------------------
PARAMETERS: dict[str, Schema] = {
    "EnvironmentName": {
        "name": "name",
        "in": "path",
        "required": True,
        "description": "3-15 characters: lowercase letters, digits and '-', starting with a letter.",
        "schema": string(v.NAME_RE, examples=["dev", "staging", "prod"]),
    },
    "OperationId": {
        "name": "op_id",
        "in": "path",
        "required": True,
        "description": "<kind>_<environment>_<unique>, e.g. deploy_dev_20261128t014325-ab12cd34.",
        "schema": string(v.OPERATION_ID_RE),
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "description": "At most this many items in the page.",
        "schema": integer(1, v.MAX_LIMIT, default=v.DEFAULT_LIMIT),
    },
    "Next": {
        "name": "next",
        "in": "query",
        "description": "The previous page's next cursor, as it was returned (empty: the first page).",
        "schema": string(maxLength=MAX_CURSOR_LENGTH),
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "description": "The same key with the same request returns the same operation (202, nothing new starts); "
        "with another request, 422.",
        "schema": string(v.IDEMPOTENCY_KEY_RE),
    },
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "description": "Change only if the environment is still at this version (its ETag); else 409 VersionConflict.",
        "schema": string(v.IF_MATCH_RE),
    },
}

HEADERS: dict[str, Schema] = {
    "Location": {
        "description": "The operation's URL: /operations/{id}.",
        "required": True,
        "schema": string(r"/operations/" + v.OPERATION_ID_RE.pattern),
    },
    "ETag": {
        "description": 'The environment\'s version, quoted ("7"): send it back as If-Match.',
        "required": True,
        "schema": string(r'"[0-9]+"'),
    },
}


def error_responses() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for status, codes in ERROR_CODES.items():
        schema = {"allOf": [ref("Error"), obj({"error": obj({"code": enum(codes)}, closed=False)}, closed=False)]}
        out[f"E{status}"] = {"description": ERROR_MEANING[status], "content": {JSON_TYPE: {"schema": schema}}}
    return out


def ok(schema: Schema, description: str, headers: Iterable[str] = ()) -> Schema:
    response: Schema = {"description": description, "content": {JSON_TYPE: {"schema": schema}}}
    if headers:
        response["headers"] = {h: {"$ref": f"#/components/headers/{h}"} for h in headers}
    return response


def operation(
    op_id: str,
    summary: str,
    responses: dict[int, Schema],
    errors: Iterable[int],
    *,
    parameters: Iterable[str] = (),
    body: str | None = None,
    public: bool = False,
    description: str | None = None,
) -> Schema:
    out: Schema = {"operationId": op_id, "summary": summary}
    if description:
        out["description"] = description
    if parameters:
        out["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in parameters]
    if body is not None:
        out["requestBody"] = {
            "required": False,
            "description": "A JSON object; an empty body is {}.",
            "content": {JSON_TYPE: {"schema": ref(body)}},
        }
    codes = {*errors, *ALWAYS, *(() if public else AUTHORIZED), *((415,) if body is not None else ())}
    all_responses: dict[str, Schema] = {str(k): r for k, r in responses.items()}
    all_responses.update({str(c): {"$ref": f"#/components/responses/E{c}"} for c in sorted(codes)})
    out["responses"] = dict(sorted(all_responses.items()))
    out["security"] = [] if public else [{"sigv4": []}]
    return out


def paths() -> dict[str, dict[str, Schema]]:
    op_started = ok(ref("Operation"), "The operation started (or, for a replayed Idempotency-Key, the first one).",
                    ["Location"])  # fmt: skip
    starts = (400, 404, 409, 422)
    return {
        "/health": {
            "get": operation(
                "health",
                "Liveness",
                {200: ok(obj({"status": {"const": "ok"}}, ["status"]), "Serving.")},
                (),
                public=True,
            )
        },
        "/openapi.json": {
            "get": operation(
                "openapi", "This document", {200: ok({"type": "object"}, "The OpenAPI 3.1 document.")}, (), public=True
            )
        },
        "/environments": {
            "get": operation(
                "list_environments",
                "List environments",
                {200: ok(ref("EnvironmentPage"), "A page of environments, by name.")},
                (400,),
                parameters=["Limit", "Next"],
            )
        },
        "/environments/{name}": {
            "get": operation(
                "get_environment",
                "One environment",
                {200: ok(ref("Environment"), "The environment: what ECS runs, what was deployed, settings, lock.")},
                (400, 404),
                parameters=["EnvironmentName"],
            ),
            "put": operation(
                "put_environment",
                "Create an environment or change its settings",
                {
                    200: ok(ref("Environment"), "Updated.", ["ETag"]),
                    201: ok(ref("Environment"), "Created.", ["ETag"]),
                },
                (400, 404, 409),
                parameters=["EnvironmentName", "IfMatch"],
                body="EnvironmentSettingsRequest",
                description="The tier comes from the Terraform contract when one is published; turning protected "
                'off needs {"confirm": "<name>"}.',
            ),
        },
        "/environments/{name}/keep-alive": {
            "post": operation(
                "keep_alive",
                "Skip the nightly teardown until a time",
                {200: ok(ref("KeepAlive"), "Kept alive until then.")},
                (400, 404),
                parameters=["EnvironmentName"],
                body="KeepAliveRequest",
            ),
            "delete": operation(
                "end_keep_alive",
                "End the keep-alive",
                {200: ok(ref("KeepAlive"), "No keep-alive any more (keep_alive_until is null).")},
                (400, 404),
                parameters=["EnvironmentName"],
            ),
        },
        "/environments/{name}/provision": {
            "post": operation(
                "provision",
                "Provision the environment's service",
                {202: op_started},
                starts,
                parameters=["EnvironmentName", "IdempotencyKey"],
                body="ProvisionRequest",
            )
        },
        "/environments/{name}/builds": {
            "post": operation(
                "build",
                "Build and push an image",
                {202: op_started},
                starts,
                parameters=["EnvironmentName", "IdempotencyKey"],
                body="BuildRequest",
            )
        },
        "/environments/{name}/deployments": {
            "post": operation(
                "deploy",
                "Deploy an image",
                {202: op_started},
                starts,
                parameters=["EnvironmentName", "IdempotencyKey"],
                body="DeployRequest",
                description="The operation SUCCEEDs only when ECS completed that deployment; a circuit-breaker "
                "rollback is FAILED.",
            )
        },
        "/environments/{name}/destroy": {
            "post": operation(
                "destroy",
                "Destroy what the control plane made for the environment",
                {
                    200: ok(ref("DestroyPlan"), "dry_run=true: the ordered plan; nothing changed."),
                    202: op_started,
                },
                starts,
                parameters=["EnvironmentName", "DryRun", "IdempotencyKey"],
                body="DestroyRequest",
                description="Never touches the Terraform state, the cart data table or the Terraform-owned base.",
            )
        },
        "/environments/{name}/operations": {
            "get": operation(
                "list_operations",
                "An environment's operations, newest first",
                {200: ok(ref("OperationPage"), "A page of operations.")},
                (400, 404),
                parameters=["EnvironmentName", "Limit", "Next", "Status", "Kind"],
            )
        },
        "/operations/{op_id}": {
            "get": operation(
                "get_operation",
                "One operation",
                {200: ok(ref("Operation"), "The operation, with live progress while it runs.")},
                (400, 404),
                parameters=["OperationId"],
            )
        },
        "/operations/{op_id}/cancel": {
            "post": operation(
                "cancel_operation",
                "Cancel a running operation",
                {202: ok(ref("Operation"), "The cancel was recorded; the operation ends ABORTED.")},
                (400, 404, 409),
                parameters=["OperationId"],
                body="CancelRequest",
            )
        },
    }


def _filters() -> dict[str, Schema]:
    statuses, kinds = [s.value for s in OpStatus], [k.value for k in OpKind]
    return {
        "Status": {
            "name": "status",
            "in": "query",
            "description": "Only operations with these statuses (comma-separated).",
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "items": enum(statuses), "minItems": 1, "maxItems": len(statuses)},
        },
        "Kind": {
            "name": "kind",
            "in": "query",
            "description": "Only operations of these kinds (comma-separated).",
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "items": enum(kinds), "minItems": 1, "maxItems": len(kinds)},
        },
        "DryRun": {
            "name": "dry_run",
            "in": "query",
            "description": "true: answer the ordered plan (200) and change nothing.",
            "schema": {"type": "boolean", "default": False},
        },
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cart Service control API",
            "version": __version__,
            "description": "Provision, build, deploy and destroy environments of the Cart Service on ECS Fargate. "
            "JSON in and out; times are ISO 8601 UTC with a trailing Z; every error is "
            '{"error": {"code", "message", ...}}. Every route but /health and /openapi.json is signed with SigV4 '
            "(service execute-api) and authorized by IAM.",
        },
        "paths": paths(),
        "components": {
            "schemas": {**request_schemas(), **response_schemas()},
            "parameters": {**PARAMETERS, **_filters()},
            "headers": HEADERS,
            "responses": error_responses(),
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "AWS Signature Version 4 (service execute-api), checked by API Gateway's IAM "
                    "authorizer.",
                }
            },
        },
    }


def documented_routes(doc: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in the document."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {
        (method.upper(), path)
        for path, item in (doc or document())["paths"].items()
        for method in item
        if method in methods
    }
