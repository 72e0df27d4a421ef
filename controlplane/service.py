"""The control API's use cases: validate a request, resolve its environment, start or cancel an operation, read
operations with their live progress. No AWS SDK here: ports only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controlplane.domain import validation as v
from controlplane.domain.lifecycle import keyed_operation_id, new_operation_id
from controlplane.domain.model import Operation, OpKind, OpStatus, request_fingerprint
from controlplane.environments import Environments, invalid
from controlplane.errors import ConfirmationRequired, TransientError
from controlplane.observability import logger, record_operation_started
from controlplane.operations import Operations
from controlplane.ports import BadCursor, Page, Platform, Registry

VALIDATORS: dict[OpKind, Callable[[Any], dict[str, Any]]] = {
    OpKind.PROVISION: v.provision_request,
    OpKind.BUILD: v.build_request,
    OpKind.DEPLOY: v.deploy_request,
    OpKind.DESTROY: v.destroy_request,
}


class ControlApi:
    def __init__(
        self, registry: Registry, platform: Platform, operations: Operations, environments: Environments
    ) -> None:
        self.registry = registry
        self.platform = platform
        self.operations = operations
        self.environments = environments

    def submit(self, kind: OpKind, name: str, body: Any, idempotency_key: str | None = None) -> tuple[Operation, bool]:
        """Start an operation from an API request. Returns (operation, created); a replay returns the first."""
        try:
            params = VALIDATORS[kind](body)
            if idempotency_key is not None:
                v.check_idempotency_key(idempotency_key)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        env = self.environments.resolve(name)
        confirm = params.pop("confirm", None)
        if kind is OpKind.DESTROY and env.requires_confirmation() and confirm != name:
            raise ConfirmationRequired(
                f"destroying {name!r} ({env.tier.value}{', protected' if env.settings.protected else ''}) "
                f'needs {{"confirm": "{name}"}} in the body'
            )
        now = self.operations.clock()
        idempotency = None
        if idempotency_key is not None:
            op_id = keyed_operation_id(kind, name, idempotency_key)
            idempotency = (idempotency_key, request_fingerprint(kind.value, name, v.check_object(body)))
        else:
            op_id = new_operation_id(kind, name, now)
        op, created = self.operations.start(env, kind, params, "api", op_id, idempotency)
        if created:
            record_operation_started(kind.value, "api")
            logger.info("operation started", extra={"operation_id": op.id, "kind": kind.value, "environment": name})
        return op, created

    def cancel(self, op_id: str, body: Any) -> Operation:
        try:
            v.check_operation_id(op_id)
            mode = v.cancel_request(body)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        return self.operations.cancel(op_id, mode)

    def operation(self, op_id: str) -> dict[str, Any]:
        """The operation, with live progress (what ECS or CodeBuild report now) while it runs. Reads only."""
        try:
            v.check_operation_id(op_id)
        except v.InvalidInput as exc:
            raise invalid(exc) from None
        op = self.operations.get(op_id)
        body = op.to_dict()
        if op.status is OpStatus.RUNNING:
            body["progress"] = self._progress(op)
        return body

    def _progress(self, op: Operation) -> dict[str, Any]:
        progress: dict[str, Any] = {}
        try:
            for step in op.steps:
                detail = step.detail
                if step.name in ("rollout", "cancel") and step.status.value == "RUNNING":
                    deployment = detail.get("revert_deployment_id") or detail.get("deployment_id")
                    if deployment and detail.get("cluster") and detail.get("service"):
                        progress["rollout"] = self.platform.rollout_progress(
                            str(detail["cluster"]), str(detail["service"]), str(deployment)
                        )
                if step.name == "build" and step.status.value == "RUNNING" and detail.get("build_id"):
                    status = self.platform.build_status(str(detail["build_id"]))
                    progress["build"] = {"build_id": detail["build_id"], "phase": status.phase, "status": status.status}
        except TransientError as exc:  # progress is a courtesy: the record itself is the answer
            logger.warning("progress not read", extra={"operation_id": op.id, "error": str(exc)})
        return progress

    def operations_of(
        self, name: str, limit: int, cursor: str | None, statuses: list[str], kinds: list[str]
    ) -> Page[Operation]:
        env = self.environments.get(name)
        try:
            return self.registry.list_operations(
                env.name, limit, cursor, [OpStatus(s) for s in statuses], [OpKind(k) for k in kinds]
            )
        except BadCursor as exc:
            raise invalid(exc) from None
