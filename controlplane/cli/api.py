"""A small client of the control API over the standard library (urllib), SigV4-signed through ``auth.Signer``."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from controlplane import __version__
from controlplane.cli.errors import AuthFailed, CliError, Rejected, ServerError, Unreachable
from controlplane.cli.timefmt import utcnow

SignFn = Callable[[str, str, dict[str, str], bytes | None], dict[str, str]]
USER_AGENT = f"cartctl/{__version__}"
MAX_PAGES = 1000  # a guard against a cursor that never ends


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def quote(segment: str) -> str:
    """One path segment (an environment name, an operation id), escaped."""
    return urllib.parse.quote(segment, safe="")


class ApiClient:
    def __init__(
        self,
        endpoint: str,
        *,
        signer: SignFn | None = None,
        timeout: float = 30.0,
        describe_signer: Callable[[], str] | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.signer = signer
        self.timeout = timeout
        self.describe_signer = describe_signer
        self.clock_offset = 0.0  # server time minus local time, from the Date header when they differ by > 2 s

    # -- the one request method -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | None] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        url = self.endpoint + path
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        sent = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        if self.signer is not None:
            sent = self.signer(method, url, sent, data)
        sent["User-Agent"] = USER_AGENT
        route = f"{method} {path}"
        request = urllib.request.Request(url, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw, got = response.status, response.read(), dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            status, raw, got = exc.code, exc.read(), dict(exc.headers.items() if exc.headers else [])
        except urllib.error.URLError as exc:
            raise Unreachable(self._unreachable(exc.reason)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(self._unreachable(exc)) from None
        self._note_clock(got)
        parsed = _parse(raw)
        if status < 400:
            if not isinstance(parsed, dict):
                raise ServerError(
                    f"{route} answered {status} with something that is not the API's JSON: {_snippet(raw)}"
                )
            return Reply(status, parsed, got)
        raise self._error(status, route, parsed, raw, got)

    def get(self, path: str, **query: str | int | None) -> Any:
        return self.request("GET", path, query=query).body

    def collect(
        self, path: str, key: str, limit: int | None, **query: str | int | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Items under ``key`` across pages (following ``next``), at most ``limit`` (None: all); and the cursor
        of what is left (None when nothing is)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page_size = min(200, limit - len(items)) if limit is not None else 200
            body = self.request("GET", path, query={**query, "limit": page_size, "next": cursor}).body or {}
            items.extend(body.get(key) or [])
            cursor = body.get("next") or None
            if not cursor or (limit is not None and len(items) >= limit):
                break
        return (items[:limit] if limit is not None else items), cursor

    # -- errors -------------------------------------------------------------------------------------------------
    def _unreachable(self, reason: Any) -> str:
        where = f"the control API at {self.endpoint}"
        if isinstance(reason, ConnectionRefusedError):
            cause = "connection refused (is it running? for the sandbox: python -m controlplane sandbox)"
        elif isinstance(reason, socket.gaierror):
            cause = f"cannot resolve {urllib.parse.urlsplit(self.endpoint).hostname!r} (DNS: {reason.strerror})"
        elif isinstance(reason, ssl.SSLError):
            cause = f"TLS failed: {getattr(reason, 'verify_message', None) or reason.strerror or reason}"
        elif isinstance(reason, TimeoutError):
            cause = f"no answer within {self.timeout:g}s"
        elif isinstance(reason, ConnectionError | http.client.HTTPException):
            cause = f"the connection broke: {reason or type(reason).__name__}"
        else:
            cause = str(reason)
        return f"cannot reach {where}: {cause}"

    def _error(self, status: int, route: str, parsed: Any, raw: bytes, headers: Mapping[str, str]) -> CliError:
        body = parsed if parsed is not _NOT_JSON else None
        code, message, extra = _error_fields(body, raw)
        if status in (401, 403):
            return self._auth_error(status, route, code, message, headers, body)
        if status >= 500:
            retry = "retry shortly" if status in (502, 503, 504) else "see the control plane's logs"
            return ServerError(f"{route} failed: {status} {code or 'InternalError'}: {message}", hint=retry, body=body)
        hint: str | None = None
        running = extra.get("running_operation")
        if running:
            op_id = running.get("id") if isinstance(running, dict) else running
            hint = f"operation {op_id} is running on it; follow it with: cartctl follow {op_id}"
        elif code == "ConfirmationRequired":
            hint = "repeat the environment's name with --confirm NAME"
        elif code == "VersionConflict":
            hint = "the environment changed meanwhile: look again (cartctl environments show NAME) and retry"
        elif code == "IdempotencyKeyReused":
            hint = "that Idempotency-Key was used with another request; pick a new key"
        return Rejected(status, code or f"HTTP{status}", message, hint=hint, body=body)

    def _auth_error(
        self, status: int, route: str, code: str, message: str, headers: Mapping[str, str], body: Any
    ) -> AuthFailed:
        kind = _header(headers, "x-amzn-ErrorType").split(":")[0] or code or ("Unauthorized" if status == 401 else "")
        signed = self.describe_signer() if self.describe_signer else "not signed (--no-sign)"
        text = f"{status} {kind or 'AccessDenied'}: {route} was denied: {message}"
        lowered = message.lower()
        if "missing authentication token" in lowered:
            hint = (
                "the request carried no SigV4 signature, or the route does not exist on this API "
                f"({signed}); check --endpoint, and do not use --no-sign against AWS"
            )
        elif "signature" in lowered or kind in ("InvalidSignatureException", "IncompleteSignatureException"):
            hint = f"the signature was refused ({signed}): check the region and this machine's clock"
        elif "security token" in lowered or "expired" in lowered:
            hint = f"the credentials are invalid or expired ({signed}): refresh them (e.g. aws sso login)"
        else:
            hint = (
                "this is an IAM problem, not a cartctl one: the identity that signed the request "
                f"({signed}) is not allowed execute-api:Invoke on {route}; use a role whose policy allows "
                "that route (--profile), or ask for the permission"
            )
        return AuthFailed(text, hint=hint, body=body)

    def _note_clock(self, headers: Mapping[str, str]) -> None:
        date = _header(headers, "Date")
        if not date:
            return
        try:
            server = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        offset = (server - utcnow()).total_seconds()
        self.clock_offset = offset if abs(offset) > 2 else 0.0


_NOT_JSON = object()


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _snippet(raw: bytes, size: int = 200) -> str:
    text = raw.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:size] + ("..." if len(text) > size else "")


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")


def _error_fields(body: Any, raw: bytes) -> tuple[str, str, dict[str, Any]]:
    """(code, message, the rest) from ``{"error": {...}}``, API Gateway's ``{"message": ...}``, or plain text."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            rest = {k: v for k, v in error.items() if k not in ("code", "message")}
            return str(error.get("code") or ""), str(error.get("message") or ""), rest
        for key in ("message", "Message"):
            if isinstance(body.get(key), str):
                return "", body[key], {}
    return "", _snippet(raw) or "(no body)", {}
