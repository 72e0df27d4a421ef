"""The HTTP control API (Chalice blueprint). Every route but /health and /openapi.json carries the IAM authorizer.

Thin: parse, call a use case, shape the response. Every error the API returns is ``{"error": {"code",
"message", ...}}``; bad input is a 400 naming what is wrong, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from chalice.app import Blueprint, IAMAuthorizer, Response

from controlplane import container, openapi
from controlplane.domain import validation as v
from controlplane.domain.model import OpKind, OpStatus
from controlplane.errors import ApiError, TransientError, ValidationFailed
from controlplane.observability import logger, metrics

api = Blueprint(__name__)
iam = IAMAuthorizer()
JSON = {"Content-Type": "application/json"}
# A JSON body is read whatever the Content-Type says (curl -d sends a form type); these are the types accepted.
BODY_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]
OP_STATUSES = tuple(s.value for s in OpStatus)
OP_KINDS = tuple(k.value for k in OpKind)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, default=str), status_code=status, headers={**JSON, **(headers or {})})


def error_response(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message}})


def endpoint(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Map the error taxonomy to JSON errors; an unexpected error is a logged 500, never a stack trace."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        request = api.current_request
        context = getattr(request, "context", None) or {}
        logger.append_keys(request_id=context.get("requestId"))  # the API's request id correlates the logs
        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            return _json(exc.status_code, exc.to_body())
        except v.InvalidInput as exc:
            return error_response(400, "ValidationError", str(exc))
        except TransientError as exc:
            logger.warning("transient AWS failure", extra={"error": str(exc)})
            return error_response(503, "ServiceUnavailable", "a dependency is unavailable; retry shortly")
        except Exception:
            logger.exception("unhandled error")
            return error_response(500, "InternalError", "internal error; see the control plane's logs")
        finally:
            logger.remove_keys(["request_id"])
            if metrics.metric_set:
                metrics.flush_metrics()

    return wrapper


def envelope(body: Any, status: int) -> dict[str, Any] | None:
    """The error envelope for a body the framework or the gateway produced in its own shape; None if the body
    already is one (or is no error)."""
    if status < 400:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return None
    data = body if isinstance(body, dict) else {}
    code = str(data.get("Code") or data.get("code") or STATUS_CODES.get(status, "Error"))
    message = str(data.get("Message") or data.get("message") or body or "request refused")
    return {"error": {"code": code, "message": message}}


# The code an error without one gets, by HTTP status (API Gateway's own responses, the framework's).
STATUS_CODES = {
    400: "BadRequest",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@api.middleware("http")
def one_error_envelope(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice answers some requests itself (405 for a method a path lacks, 415 for a content type a route does
    not take) in its own shape; every error leaves the API in the one envelope."""
    response = get_response(event)
    body = response.body
    try:
        parsed = json.loads(body) if isinstance(body, (str, bytes)) else body
    except ValueError:
        parsed = body
    wrapped = envelope(parsed, response.status_code)
    if wrapped is not None:
        response.body = json.dumps(wrapped)
        response.headers = {**(response.headers or {}), **JSON}
    return response


def _body() -> Any:
    raw = api.current_request.raw_body
    if not raw or not raw.strip():
        return None
    if len(raw) > v.MAX_BODY_BYTES:
        raise ValidationFailed(f"the request body is larger than {v.MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        v.check_depth(text)
        return json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if isinstance(exc, v.InvalidInput):
            raise ValidationFailed(str(exc)) from None
        raise ValidationFailed(f"the request body is not valid JSON: {exc}") from None


def _query(name: str) -> str | None:
    params: Any = api.current_request.query_params or {}
    value = params.get(name)
    return None if value is None else str(value)


def _header(name: str) -> str | None:
    headers: Any = api.current_request.headers or {}
    value = headers.get(name)
    return None if value is None else str(value)


def _page(items: list[Any], nxt: str | None, key: str) -> dict[str, Any]:
    return {key: [i.to_dict() for i in items], "next": nxt}


def _start(kind: OpKind, name: str) -> Response:
    op, _ = container.current().api.submit(kind, name, _body(), _header("idempotency-key"))
    return _json(202, op.to_dict(), {"Location": f"/operations/{op.id}"})


@api.route("/health", methods=["GET"])
@endpoint
def health() -> Response:
    return _json(200, {"status": "ok"})


@api.route("/openapi.json", methods=["GET"])
@endpoint
def openapi_document() -> Response:
    """The API's contract (OpenAPI 3.1), public like /health."""
    return _json(200, openapi.document())


@api.route("/environments", methods=["GET"], authorizer=iam)
@endpoint
def list_environments() -> Response:
    page = container.current().environments.list(v.limit(_query("limit")), _query("next"))
    return _json(200, _page(page.items, page.next, "environments"))


@api.route("/environments/{name}", methods=["GET"], authorizer=iam)
@endpoint
def get_environment(name: str) -> Response:
    return _json(200, container.current().environments.get(name).to_dict())


@api.route("/environments/{name}", methods=["PUT"], authorizer=iam, content_types=BODY_TYPES)
@endpoint
def put_environment(name: str) -> Response:
    version = v.if_match(_header("if-match"))
    env, created = container.current().environments.put(name, _body(), version)
    return _json(201 if created else 200, env.to_dict(), {"ETag": f'"{env.version}"'})


@api.route("/environments/{name}/keep-alive", methods=["POST"], authorizer=iam, content_types=BODY_TYPES)
@endpoint
def keep_alive(name: str) -> Response:
    return _json(200, container.current().environments.keep_alive(name, _body()))


@api.route("/environments/{name}/keep-alive", methods=["DELETE"], authorizer=iam)
@endpoint
def end_keep_alive(name: str) -> Response:
    return _json(200, container.current().environments.end_keep_alive(name))


@api.route("/environments/{name}/provision", methods=["POST"], authorizer=iam, content_types=BODY_TYPES)
@endpoint
def provision(name: str) -> Response:
    return _start(OpKind.PROVISION, name)


@api.route("/environments/{name}/builds", methods=["POST"], authorizer=iam, content_types=BODY_TYPES)
@endpoint
def build(name: str) -> Response:
    return _start(OpKind.BUILD, name)


@api.route("/environments/{name}/deployments", methods=["POST"], authorizer=iam, content_types=BODY_TYPES)
@endpoint
def deploy(name: str) -> Response:
    return _start(OpKind.DEPLOY, name)


@api.route("/environments/{name}/destroy", methods=["POST"], authorizer=iam, content_types=BODY_TYPES)
@endpoint
def destroy(name: str) -> Response:
    dry_run = _query("dry_run")
    if dry_run not in (None, "true", "false"):
        raise ValidationFailed("dry_run must be true or false")
    if dry_run == "true":
        key = _header("idempotency-key")
        if key is not None:  # a dry run starts nothing, but a malformed key is refused as on any start
            v.check_idempotency_key(key)
        return _json(200, container.current().environments.destroy_plan(name, _body()))
    return _start(OpKind.DESTROY, name)


@api.route("/environments/{name}/operations", methods=["GET"], authorizer=iam)
@endpoint
def list_operations(name: str) -> Response:
    page = container.current().api.operations_of(
        name,
        v.limit(_query("limit")),
        _query("next"),
        v.choices(_query("status"), OP_STATUSES, "status"),
        v.choices(_query("kind"), OP_KINDS, "kind"),
    )
    return _json(200, _page(page.items, page.next, "operations"))


@api.route("/operations/{op_id}", methods=["GET"], authorizer=iam)
@endpoint
def get_operation(op_id: str) -> Response:
    return _json(200, container.current().api.operation(op_id))


@api.route("/operations/{op_id}/cancel", methods=["POST"], authorizer=iam, content_types=BODY_TYPES)
@endpoint
def cancel_operation(op_id: str) -> Response:
    return _json(202, container.current().api.cancel(op_id, _body()).to_dict())
