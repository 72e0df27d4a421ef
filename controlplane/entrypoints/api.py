"""The HTTP control API (Chalice blueprint). Every route but /health carries the IAM authorizer."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from chalice.app import Blueprint, IAMAuthorizer, Response

from controlplane import container
from controlplane.domain.model import Operation, OpKind
from controlplane.domain.schedule import iso
from controlplane.errors import ApiError, TransientError, ValidationFailed
from controlplane.observability import MetricUnit, logger, metrics, tracer

api = Blueprint(__name__)
iam = IAMAuthorizer()
JSON = {"Content-Type": "application/json"}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, default=str), status_code=status, headers={**JSON, **(headers or {})})


def _error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message}})


def endpoint(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Map the error taxonomy to JSON errors; an unexpected error is a logged 500, never a stack trace."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            return _json(exc.status_code, exc.to_body())
        except TransientError as exc:
            logger.warning("transient AWS failure", extra={"error": str(exc)})
            return _error(503, "ServiceUnavailable", "a dependency is unavailable; retry shortly")
        except Exception:
            logger.exception("unhandled error")
            return _error(500, "InternalError", "internal error; see the control plane's logs")
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return wrapper


def _body() -> Any:
    raw = api.current_request.raw_body
    if not raw or not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"the request body is not valid JSON: {exc}") from None


def _query(name: str) -> str | None:
    params: Any = api.current_request.query_params or {}
    value = params.get(name)
    return None if value is None else str(value)


def _started(op: Operation, created: bool) -> Response:
    if created:
        metrics.add_metric(name=f"Operations{op.kind.value.title()}Started", unit=MetricUnit.Count, value=1)
        logger.info("operation started", extra={"operation_id": op.id, "kind": op.kind.value, "env": op.environment})
    return _json(202, op.to_dict(), {"Location": f"/operations/{op.id}"})


def _start(kind: OpKind, name: str) -> Response:
    headers: Any = api.current_request.headers or {}
    key = headers.get("idempotency-key")
    op, created = container.current().service.start(kind, name, _body(), trigger="api", idempotency_key=key)
    return _started(op, created)


@api.route("/health", methods=["GET"])
@endpoint
def health() -> Response:
    return _json(200, {"status": "ok"})


@api.route("/environments", methods=["GET"], authorizer=iam)
@endpoint
@tracer.capture_method
def list_environments() -> Response:
    envs = container.current().service.list_environments()
    return _json(200, {"environments": [e.to_dict() for e in envs]})


@api.route("/environments/{name}", methods=["GET"], authorizer=iam)
@endpoint
def get_environment(name: str) -> Response:
    svc = container.current().service
    env = svc.get_environment(name)
    lock = svc.store.get_lock(name)
    until = svc.keep_alive_until(name)
    body = env.to_dict() | {
        "locked_by": lock.operation_id if lock else None,
        "keep_alive_until": iso(until) if until else None,
    }
    return _json(200, body)


@api.route("/environments/{name}", methods=["PUT"], authorizer=iam)
@endpoint
def put_environment(name: str) -> Response:
    env, created = container.current().service.put_environment(name, _body())
    return _json(201 if created else 200, env.to_dict())


@api.route("/environments/{name}/keep-alive", methods=["POST"], authorizer=iam)
@endpoint
def keep_alive(name: str) -> Response:
    return _json(200, container.current().service.keep_alive(name, _body()))


@api.route("/environments/{name}/keep-alive", methods=["DELETE"], authorizer=iam)
@endpoint
def end_keep_alive(name: str) -> Response:
    return _json(200, container.current().service.end_keep_alive(name))


@api.route("/environments/{name}/provision", methods=["POST"], authorizer=iam)
@endpoint
def provision(name: str) -> Response:
    return _start(OpKind.PROVISION, name)


@api.route("/environments/{name}/builds", methods=["POST"], authorizer=iam)
@endpoint
def build(name: str) -> Response:
    return _start(OpKind.BUILD, name)


@api.route("/environments/{name}/deployments", methods=["POST"], authorizer=iam)
@endpoint
def deploy(name: str) -> Response:
    return _start(OpKind.DEPLOY, name)


@api.route("/environments/{name}/destroy", methods=["POST"], authorizer=iam)
@endpoint
def destroy(name: str) -> Response:
    dry_run = _query("dry_run")
    if dry_run not in (None, "true", "false"):
        raise ValidationFailed("dry_run must be true or false")
    if dry_run == "true":
        return _json(200, container.current().service.destroy_plan(name, _body()))
    return _start(OpKind.DESTROY, name)


@api.route("/environments/{name}/operations", methods=["GET"], authorizer=iam)
@endpoint
def list_operations(name: str) -> Response:
    raw = _query("limit") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise ValidationFailed("limit must be an integer from 1 to 200")
    ops = container.current().service.list_operations(name, int(raw))
    return _json(200, {"operations": [o.to_dict() for o in ops]})


@api.route("/operations/{op_id}", methods=["GET"], authorizer=iam)
@endpoint
def get_operation(op_id: str) -> Response:
    return _json(200, container.current().service.get_operation(op_id).to_dict())


@api.route("/operations/{op_id}/cancel", methods=["POST"], authorizer=iam)
@endpoint
def cancel_operation(op_id: str) -> Response:
    return _json(202, container.current().service.cancel(op_id).to_dict())
