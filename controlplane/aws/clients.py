"""The one module that owns botocore: client construction and error translation."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from controlplane.domain.redact import redact
from controlplane.errors import AwsRefused, StepError, TransientError

__all__ = [
    "ClientError",
    "client",
    "conditional_check_failed",
    "error_code",
    "explain",
    "is_not_found",
    "translated",
]

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServerException",
        "SlowDown",
        "TransactionInProgressException",
    }
)

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 client; endpoint_url (or AWS_ENDPOINT_URL in the environment) points it at the sandbox.

    Clients come from one session per process, so service models are loaded once (cold start matters).
    """
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(service, region_name=region, endpoint_url=endpoint_url, config=_CONFIG)  # type: ignore[call-overload]


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_not_found(exc: BaseException, *codes: str) -> bool:
    code = error_code(exc)
    return bool(code) and (code in codes or code.endswith("NotFoundException") or code == "ResourceNotFound")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turn transient AWS failures into TransientError so Step Functions retries them with backoff."""
    try:
        yield
    except ClientError as exc:
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if error_code(exc) in TRANSIENT_CODES or status >= 500:
            raise TransientError(f"{error_code(exc) or status}: {exc}") from exc
        raise
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError) as exc:
        raise TransientError(f"AWS endpoint unreachable: {exc}") from exc


def explain(exc: BaseException) -> StepError | None:
    """A step error for an AWS error that escaped a step: the call, AWS's code and its message, account ids masked
    (``AccessDeniedException`` of ``ecs:UpdateService`` reads "UpdateService refused (AccessDeniedException):
    User: arn:aws:sts::<account>:assumed-role/... is not authorized to perform: ecs:UpdateService ...").
    None for anything that is not an AWS error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "UnknownError")
        message = redact(str(error.get("Message") or "").strip()) or "(no message)"
        request = str(exc.response.get("ResponseMetadata", {}).get("RequestId") or "")
        suffix = f" [request {request}]" if request else ""
        return AwsRefused(f"{exc.operation_name} refused ({code}): {message}{suffix}")
    if isinstance(exc, BotoCoreError):
        return AwsRefused(f"the AWS SDK failed before AWS answered ({type(exc).__name__}): {redact(str(exc))}")
    return None


def conditional_check_failed(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


class SigningUnavailable(Exception):
    """No AWS credentials or region to sign with (the message says which, and why)."""


_signing_sessions: dict[str | None, boto3.session.Session] = {}


def sign_request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    region: str | None = None,
    profile: str | None = None,
    service: str = "execute-api",
) -> dict[str, str]:
    """The headers of a SigV4-signed request (``Authorization``, ``X-Amz-Date``, ``X-Amz-Security-Token``).

    Credentials come from botocore's chain (environment, ``profile`` or ``AWS_PROFILE``, SSO, container and
    instance roles); ``region`` defaults to the session's (``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile).
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.exceptions import BotoCoreError

    try:
        with _session_lock:
            session = _signing_sessions.get(profile)
            if session is None:
                session = _signing_sessions[profile] = boto3.session.Session(profile_name=profile)
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except BotoCoreError as exc:  # unknown profile, expired SSO token, a failing credential process ...
        raise SigningUnavailable(f"AWS credentials could not be loaded: {exc}") from exc
    if frozen is None or not frozen.access_key:
        raise SigningUnavailable("no AWS credentials found (environment, profile, SSO or instance role)")
    region = region or session.region_name
    if not region:
        raise SigningUnavailable("no AWS region to sign for (set AWS_REGION or the profile's region)")
    request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
    SigV4Auth(frozen, service, region).add_auth(request)
    return {str(k): str(v) for k, v in request.headers.items()}
