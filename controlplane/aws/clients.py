"""The one module that owns botocore: client construction and error translation."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from controlplane.errors import TransientError

__all__ = ["ClientError", "client", "conditional_check_failed", "error_code", "is_not_found", "translated"]

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


def conditional_check_failed(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"
