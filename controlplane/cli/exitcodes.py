"""cartctl's exit codes: one place, shown in ``cartctl --help`` and the README."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0  # the operation SUCCEEDED; for commands that do not wait: the request was accepted or answered
    ERROR = 1  # an unexpected error in cartctl itself
    USAGE = 2  # bad arguments or options (click's own code)
    FAILED = 10  # the operation ended FAILED
    ABORTED = 11  # the operation ended ABORTED (cancelled)
    TIMED_OUT = 12  # the operation ended TIMED_OUT
    REJECTED = 20  # the API refused the request (4xx other than 401/403): its code and message are printed
    AUTH = 21  # 401/403 (IAM denied the route, bad or missing signature) or no AWS credentials to sign with
    UNREACHABLE = 22  # no answer from the endpoint: connection refused, DNS, TLS, timeout
    SERVER_ERROR = 23  # the API failed (5xx) or answered something that is not its JSON
    DETACHED = 130  # Ctrl-C stopped following; the operation goes on (128 + SIGINT, as shells report)

    @classmethod
    def for_status(cls, status: str) -> ExitCode:
        """The exit code of a followed operation that ended with ``status``."""
        return _BY_STATUS.get(status, cls.ERROR)


_BY_STATUS = {
    "SUCCEEDED": ExitCode.OK,
    "FAILED": ExitCode.FAILED,
    "ABORTED": ExitCode.ABORTED,
    "TIMED_OUT": ExitCode.TIMED_OUT,
}

_MEANING = {
    ExitCode.OK: "succeeded (the operation SUCCEEDED, or the request was accepted)",
    ExitCode.ERROR: "unexpected error in cartctl",
    ExitCode.USAGE: "usage error (bad arguments or options)",
    ExitCode.FAILED: "the operation FAILED",
    ExitCode.ABORTED: "the operation was ABORTED (cancelled)",
    ExitCode.TIMED_OUT: "the operation TIMED_OUT",
    ExitCode.REJECTED: "the API rejected the request (4xx; its code and message are printed)",
    ExitCode.AUTH: "authentication/authorization failed (401/403, or no AWS credentials)",
    ExitCode.UNREACHABLE: "the API is unreachable (connection refused, DNS, TLS, timeout)",
    ExitCode.SERVER_ERROR: "the API failed (5xx) or its answer was not the API's JSON",
    ExitCode.DETACHED: "stopped following (Ctrl-C); the operation is still running",
}


def exit_code_table() -> str:
    """The exit codes as lines of text, for --help epilogs."""
    return "\n".join(f"  {code.value:>3}  {_MEANING[code]}" for code in ExitCode)
