"""What cartctl reports as an error: each kind carries its exit code, its message and, if any, the API's body."""

from __future__ import annotations

from typing import Any

from controlplane.cli.exitcodes import ExitCode


class CliError(Exception):
    exit_code = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.body = body  # the API's JSON answer, printed as is with --json


class Rejected(CliError):
    """The API answered 4xx (other than 401/403)."""

    exit_code = ExitCode.REJECTED

    def __init__(self, status: int, code: str, message: str, *, hint: str | None = None, body: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}", hint=hint, body=body)
        self.status = status
        self.code = code


class AuthFailed(CliError):
    """401/403 from the API (IAM), or nothing to sign the request with."""

    exit_code = ExitCode.AUTH


class Unreachable(CliError):
    """The endpoint did not answer: connection refused, DNS, TLS, timeout."""

    exit_code = ExitCode.UNREACHABLE


class ServerError(CliError):
    """5xx, or an answer that is not the API's JSON."""

    exit_code = ExitCode.SERVER_ERROR


# What a poll of a running operation rides out for a while before giving up.
RETRYABLE: tuple[type[CliError], ...] = (Unreachable, ServerError)
