"""schemathesis against the sandbox: requests generated from GET /openapi.json for every route, valid and
invalid, with made-up names and with the environments and operations that exist, sent to the control API served
in this process. No answer is a 5xx, and every answer conforms to the document: a documented status code, a body
that matches its schema, its content type and its documented headers; invalid requests are refused (4xx).

The number of cases, the statuses seen and the result are printed (one line, shown by pytest -rA and on the
terminal) and written to schemathesis.txt in the test's tmp dir."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from controlplane import openapi
from tests.integration.inprocess import running_sandbox

pytestmark = pytest.mark.slow

EXAMPLES = 35  # at most, per route and way of generating (valid, invalid, on what exists)
MIN_CASES = 1000
SEEDED = ("dev", "staging", "prod")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    operation_ids: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def fail(self, key: str, text: str) -> None:
        if len(self.failures[key]) < 3:
            self.failures[key].append(text[:3000])

    def summary(self) -> str:
        by_status = Counter[int]()
        for (_, status), n in self.statuses.items():
            by_status[status] += n
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(by_status.items()))
        failed = sum(len(v) for v in self.failures.values())
        return (
            f"schemathesis: {self.cases} cases over {len({r for r, _ in self.statuses})} routes in "
            f"{self.seconds:.0f}s; statuses {shown}; {'no failures' if not failed else f'{failed} failures'}"
        )


def contract(base_url: str) -> Any:
    """The served document, without its SigV4 requirement: the sandbox (Chalice local) does not enforce IAM, so
    a request without a signature is no invalid request there (API Gateway refuses it in AWS, with a 403)."""
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=10) as resp:
        doc = json.loads(resp.read())
    for item in doc["paths"].values():
        for op in item.values():
            op.pop("security", None)
    doc["components"].pop("securitySchemes", None)
    return schemathesis.openapi.from_dict(doc)


def variants(op: Any, known_operations: set[str]) -> list[tuple[str, Callable[[], Any]]]:
    """The ways of generating requests for one route: valid ones, invalid ones (when it takes any input), and
    valid ones on the seeded environments or the operations started so far (made-up ones rarely exist)."""
    names = {p.name for p in op.path_parameters}
    out: list[tuple[str, Callable[[], Any]]] = [("valid", lambda: op.as_strategy(GenerationMode.POSITIVE))]
    if names or list(op.query) or list(op.headers) or op.body:
        out.append(("invalid", lambda: op.as_strategy(GenerationMode.NEGATIVE)))
    if "name" in names:
        out.append(
            (
                "seeded",
                lambda: st.sampled_from(SEEDED).flatmap(lambda n: op.as_strategy(path_parameters={"name": n})),
            )
        )
    if "op_id" in names and known_operations:
        ids = sorted(known_operations)
        out.append(
            ("existing", lambda: st.sampled_from(ids).flatmap(lambda i: op.as_strategy(path_parameters={"op_id": i})))
        )
    return out


def checked(op: Any, label: str, strategy: Any, base_url: str, tally: Tally) -> Callable[[], None]:
    """A hypothesis test: send each generated case, tally its status, run the checks on the answer."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        tally.cases += 1
        response = case.call(base_url=base_url, timeout=30)
        tally.statuses[(op.label, response.status_code)] += 1
        if response.status_code == 202:
            tally.operation_ids.add(response.json()["id"])
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # the checks raise a group of every failure they found
            tally.fail(f"{op.label} ({label}) -> {response.status_code}", str(exc))

    return run  # type: ignore[no-any-return]


def fuzz(base_url: str, tally: Tally) -> None:
    operations = [result.ok() for result in contract(base_url).get_all_operations()]
    operations.sort(key=lambda o: "{op_id}" in o.path)  # the operations' routes last: by then some exist
    for op in operations:
        for label, strategy in variants(op, tally.operation_ids):
            try:
                checked(op, label, strategy(), base_url, tally)()
            except BaseException as exc:
                tally.fail(f"{op.label} ({label})", f"{type(exc).__name__}: {exc}")


def test_generated_requests_get_documented_answers_and_never_a_5xx(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    # GIVEN the sandbox in this process, with short emulated rollouts and builds
    tally = Tally()
    with running_sandbox(deploy_seconds=0.3, build_seconds=0.2, drain_seconds=0.1) as box:
        # WHEN schemathesis sends requests generated from the document to every route
        started = time.monotonic()
        fuzz(box.api_endpoint, tally)
        tally.seconds = time.monotonic() - started
    # THEN the figures are reported ...
    summary = tally.summary()
    report = tmp_path / "schemathesis.txt"
    lines = [summary, "", "route, status: cases"]
    lines += [f"{route} {status}: {n}" for (route, status), n in sorted(tally.statuses.items())]
    for key, texts in tally.failures.items():
        lines += ["", f"== {key}", *texts]
    report.write_text("\n".join(lines) + "\n")
    print(summary)
    print(f"schemathesis: the details are in {report}")
    record_property("figures", summary)  # printed at the end of the run (tests/conftest.py), on xdist too
    # ... no check failed, nothing was a 5xx, and every route was reached
    assert not tally.failures, "\n".join(lines)
    assert not [key for key in tally.statuses if key[1] >= 500]
    assert {r for r, _ in tally.statuses} == {f"{m} {p}" for m, p in openapi.documented_routes()}
    assert tally.cases >= MIN_CASES, summary
