"""The HTTP client's translation of failures into messages and exit codes, without a network."""

from __future__ import annotations

import socket
import ssl
import urllib.error
from typing import Any

import pytest

from controlplane.cli.api import ApiClient, _error_fields
from controlplane.cli.errors import AuthFailed, Rejected, Unreachable
from controlplane.cli.exitcodes import ExitCode

ENDPOINT = "https://abc123.execute-api.eu-central-1.amazonaws.com/v2"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "cannot resolve 'abc123.execute-api"),
        (
            ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)"),
            "TLS failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
        ),
        (TimeoutError("timed out"), "no answer within 7s"),
        (ConnectionResetError(104, "Connection reset by peer"), "the connection broke"),
    ],
)
def test_network_failures_name_the_endpoint_and_the_cause(
    monkeypatch: pytest.MonkeyPatch, reason: BaseException, expected: str
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError(reason)

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    with pytest.raises(Unreachable) as raised:
        ApiClient(ENDPOINT, timeout=7).get("/environments")
    assert raised.value.exit_code is ExitCode.UNREACHABLE
    assert raised.value.message.startswith(f"cannot reach the control API at {ENDPOINT}: ")
    assert expected in raised.value.message


def test_error_bodies_of_every_shape() -> None:
    assert _error_fields({"error": {"code": "NotFound", "message": "no", "x": 1}}, b"") == ("NotFound", "no", {"x": 1})
    assert _error_fields({"message": "Missing Authentication Token"}, b"") == ("", "Missing Authentication Token", {})
    assert _error_fields({"Message": "User: x is not authorized"}, b"") == ("", "User: x is not authorized", {})
    assert _error_fields(None, b"<html>Bad Gateway</html>") == ("", "<html>Bad Gateway</html>", {})
    assert _error_fields(None, b"") == ("", "(no body)", {})


def test_an_operation_in_progress_hint_accepts_an_id_or_an_object() -> None:
    client = ApiClient(ENDPOINT)
    for running in ("deploy-1", {"id": "deploy-1", "kind": "deploy"}):
        body = {"error": {"code": "OperationInProgress", "message": "busy", "running_operation": running}}
        error = client._error(409, "POST /environments/dev/deployments", body, b"", {})
        assert isinstance(error, Rejected) and error.exit_code is ExitCode.REJECTED
        assert error.hint == "operation deploy-1 is running on it; follow it with: cartctl follow deploy-1"


def test_a_403_names_the_route_and_who_signed() -> None:
    client = ApiClient(ENDPOINT, describe_signer=lambda: "signed with ops, region eu-central-1")
    body = {"Message": "User: arn:aws:sts::1:assumed-role/ro/alice is not authorized to perform: execute-api:Invoke"}
    error = client._error(
        403, "DELETE /environments/dev/keep-alive", body, b"", {"x-amzn-ErrorType": "AccessDeniedException:"}
    )
    assert isinstance(error, AuthFailed) and error.exit_code is ExitCode.AUTH
    assert error.message.startswith("403 AccessDeniedException: DELETE /environments/dev/keep-alive was denied: User:")
    assert error.hint and "IAM problem" in error.hint and "signed with ops, region eu-central-1" in error.hint
    signature = client._error(
        403, "GET /environments", {"message": "The request signature we calculated does not match"}, b"", {}
    )
    assert signature.hint and "check the region and this machine's clock" in signature.hint


def test_the_servers_clock_is_used_when_it_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ApiClient(ENDPOINT)
    client._note_clock({"Date": "Sat, 28 Nov 2026 01:43:25 GMT"})
    assert abs(client.clock_offset) > 2  # the local clock is past 2026-11-28 01:43
    from email.utils import formatdate

    client._note_clock({"date": formatdate(usegmt=True)})
    assert client.clock_offset == 0.0
