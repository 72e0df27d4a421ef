"""The error taxonomy.

Two families:

* ``ApiError`` subclasses are what the HTTP API returns; each carries its HTTP status and a stable ``code``.
* ``StepError`` subclasses are raised by state machine steps. Step Functions matches Retry/Catch on the
  exception's *class name*, so these names are part of the ASL contract: ``TransientError`` is retried with
  backoff, every other step error is permanent and goes to the failure path.
"""

from __future__ import annotations

from typing import Any


class ControlPlaneError(Exception):
    """Base of every error the control plane raises on purpose."""


class ApiError(ControlPlaneError):
    status_code = 500
    code = "InternalError"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update(self.details)
        return {"error": error}


class BadRequest(ApiError):
    status_code = 400
    code = "BadRequest"


class ValidationFailed(BadRequest):
    code = "ValidationError"


class ConfirmationRequired(BadRequest):
    code = "ConfirmationRequired"


class NotFound(ApiError):
    status_code = 404
    code = "NotFound"


class Conflict(ApiError):
    status_code = 409
    code = "Conflict"


class OperationInProgress(Conflict):
    code = "OperationInProgress"


class IdempotencyKeyReused(ApiError):
    status_code = 422
    code = "IdempotencyKeyReused"


class StaleVersion(Conflict):
    """The environment changed since the caller read it (If-Match, or a concurrent settings change)."""

    code = "VersionConflict"


class StepError(ControlPlaneError):
    """A step failed. The class name is what Step Functions sees as the error name."""


class TransientError(StepError):
    """Throttling, 5xx, timeouts: retried by the state machine with backoff (flows.Retry.STANDARD)."""


class AwsRefused(StepError):
    """AWS refused a call a step made (a missing permission, a validation error, a limit): not retried. The message
    names the call and AWS's error code, then AWS's own words (account ids masked)."""


class Cancelled(StepError):
    """A cancel was requested: the state machine's cancel path takes over (asl.CANCELLED names it)."""


class WaitTimeout(StepError):
    """A wait ran out of its timeout budget."""


class BaseInfrastructureMissing(StepError):
    """The Terraform-owned base of the environment is not there (or the contract is invalid)."""


class ImageNotFound(StepError):
    pass


class BuildFailed(StepError):
    pass


class DeploymentFailed(StepError):
    """The ECS deployment failed; a circuit-breaker rollback is a failure, never a success."""


class HealthCheckFailed(StepError):
    pass


class OperationFinished(StepError):
    """The operation had already ended (reconciled after its execution was stopped) when a step of it ran."""


class Superseded(StepError):
    """A push-triggered deploy found a newer push of the environment: it stands down for it."""


class InvalidState(StepError):
    """The environment is not in a state that allows this operation."""


class LeftoversFound(StepError):
    """The destroy sweep found resources of the environment that should be gone."""
