"""Count AWS API calls at the emulated endpoint, by service and operation name.

A WSGI wrapper around moto's server application (installed from the outside, in the bench process only): every
request that reaches the emulated AWS is recorded with its time, service and operation, whoever sent it (the
control plane's Lambdas and API, Step Functions' Lambda integration, ecs-deploy in a subprocess).
"""

from __future__ import annotations

import io
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

TARGET_PREFIXES = {
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "DynamoDB_20120810": "dynamodb",
    "AWSStepFunctions": "states",
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
    "CodeBuild_20161006": "codebuild",
    "Logs_20140328": "logs",
    "AmazonSSM": "ssm",
    "AnyScaleFrontendService": "application-autoscaling",
    "AWSEvents": "events",
}
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_LAMBDA_INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations$")
_APP_ID = re.compile(r"(?:^|\s)app/(\S+)")


@dataclass(frozen=True)
class Call:
    at: float
    service: str
    operation: str
    seconds: float = 0.0  # time the emulated AWS took to answer (the WSGI call)
    app_id: str = ""  # the SDK's app id from the User-Agent (AWS_SDK_UA_APP_ID), "" when none

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


class CallLog:
    """Every call seen at the endpoint, in order. Thread-safe; windows are index ranges."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def mark(self) -> int:
        with self._lock:
            return len(self._calls)

    def since(self, mark: int, until: int | None = None) -> list[Call]:
        with self._lock:
            return list(self._calls[mark:until])

    def first(self, mark: int, name: str) -> Call | None:
        return next((c for c in self.since(mark) if c.name == name), None)


def counts(calls: Iterable[Call]) -> dict[str, int]:
    return dict(sorted(Counter(c.name for c in calls).items()))


def classify(environ: dict[str, Any]) -> tuple[str, str]:
    """(service, operation) of one request to the emulated AWS; may read (and restore) a form body."""
    path = str(environ.get("PATH_INFO", ""))
    method = str(environ.get("REQUEST_METHOD", "GET"))
    if path.startswith("/moto-api"):
        return "moto-api", path
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    found = _CREDENTIAL.search(auth)
    service = found.group(1) if found else "unknown"
    if target and "." in target:
        prefix, _, operation = target.rpartition(".")
        return TARGET_PREFIXES.get(prefix, service), operation
    if service == "lambda" and method == "POST" and _LAMBDA_INVOKE.match(path):
        return "lambda", "Invoke"
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if method == "POST" and "x-www-form-urlencoded" in content_type:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
        if action:
            return service, action
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return service, query["Action"][0]
    return service, f"{method} {re.sub(r'/[^/]+', '/*', path) or '/'}"


def install(log: CallLog) -> None:
    """Wrap the WSGI app that moto's ThreadedMotoServer builds (call before Sandbox.start())."""
    from moto.moto_server import threaded_moto_server as tms

    base = getattr(tms, "_bench_original_app", None) or getattr(tms, "DomainDispatcherApplication")  # noqa: B009
    setattr(tms, "_bench_original_app", base)  # noqa: B010

    class CountingApplication(base):  # type: ignore[misc, valid-type]
        def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            try:
                service, operation = classify(environ)
            except Exception:  # counting must never break the emulated AWS
                service, operation = "unknown", "unclassified"
            found = _APP_ID.search(str(environ.get("HTTP_USER_AGENT", "")))
            t0 = time.time()
            try:
                return super().__call__(environ, start_response)
            finally:
                log.add(Call(t0, service, operation, time.time() - t0, found.group(1) if found else ""))

    setattr(tms, "DomainDispatcherApplication", CountingApplication)  # noqa: B010
