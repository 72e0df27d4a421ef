"""Fuzzing the control API over HTTP (issue 8, 9): thousands of generated requests across every route and method,
with random paths, query strings, headers and bodies. None is answered with a 5xx, and every refusal is the one
error envelope ``{"error": {"code": <str>, "message": <str>}}`` with nothing else at the top level.

A seeded generator (FUZZ_SEED, FUZZ_REQUESTS to change them), not hypothesis: shrinking over HTTP against a
running sandbox is slow and the requests are cheap to replay from the seed. Mutations go to environments of the
test's own (and to names nothing has), never to the shared dev, staging and prod.
"""

from __future__ import annotations

import json
import os
import random
import string
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.hostile.harness import FINAL, Hostile, error_of

SEED = int(os.environ.get("FUZZ_SEED", "20261128"))
REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "3000"))
DIGEST = "sha256:" + "0" * 64
METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
ROUTES = {  # every route and the methods it has
    "/health": ["GET"],
    "/openapi.json": ["GET"],
    "/environments": ["GET"],
    "/environments/{name}": ["GET", "PUT"],
    "/environments/{name}/provision": ["POST"],
    "/environments/{name}/builds": ["POST"],
    "/environments/{name}/deployments": ["POST"],
    "/environments/{name}/destroy": ["POST"],
    "/environments/{name}/operations": ["GET"],
    "/environments/{name}/keep-alive": ["POST", "DELETE"],
    "/operations/{op}": ["GET"],
    "/operations/{op}/cancel": ["POST"],
}
FIELDS = [
    "tier",
    "desired_count",
    "nightly_teardown",
    "deploy_on_push",
    "protected",
    "notification_topic",
    "confirm",
    "source_version",
    "image_tag",
    "image_digest",
    "wait",
    "autoscaling",
    "until",
    "rollout",
    "match",
    "pattern",
    "repository",
    "quiet_seconds",
    "interval_seconds",
    "timeout_seconds",
    "min_count",
    "max_count",
]
QUERY_KEYS = ["limit", "next", "status", "kind", "dry_run", "x", "limit[]", ""]


def _q(text: str) -> str:
    """Percent-encoded, every byte (lone surrogates as their UTF-8-like bytes: an invalid UTF-8 path)."""
    return urllib.parse.quote(text, safe="", errors="surrogatepass")


class Gen:
    def __init__(self, rng: random.Random, names: list[str], ops: list[str]) -> None:
        self.r, self.names, self.ops = rng, names, ops

    def pick(self, *options: Any) -> Any:
        return self.r.choice(options)

    # values ----------------------------------------------------------------------------------------------------
    def text(self) -> str:
        r = self.r
        kind = r.randrange(12)
        if kind == 0:
            return ""
        if kind == 1:
            return "".join(r.choice(string.printable) for _ in range(r.randrange(1, 40)))
        if kind == 2:
            return "".join(chr(r.randrange(0x80, 0x2FFFF)) for _ in range(r.randrange(1, 12)))
        if kind == 3:
            return r.choice(["dev", "prod", "staging", "latest", "main", "rollback", "finish", "exact", "glob"]) + (
                r.choice(["", "\n", " ", "\x00", "\u2028", "\r\n"])
            )
        if kind == 4:
            return r.choice([DIGEST, DIGEST.upper(), DIGEST[:-1], DIGEST + "0", "sha256:" + "g" * 64])
        if kind == 5:
            return "2099-01-01T00:00:00Z" if r.random() < 0.5 else r.choice(["2020-13-45T99:99:99Z", "yesterday", "0"])
        if kind == 6:
            return "x" * r.choice([128, 129, 255, 256, 5000])
        if kind == 7:
            return r.choice(["^1.2.0", ">=1 <2", "*", "1.x", "~0", "^", "1.2.3 - 2", "||", "v1.*"])
        if kind == 8:
            return "\ud800" if r.random() < 0.5 else "\udfff\ud800"  # lone surrogates (json escapes them)
        if kind == 9:
            return r.choice(self.names)
        return "".join(r.choice(string.ascii_lowercase + "-_.:/@") for _ in range(r.randrange(1, 30)))

    def number(self) -> Any:
        return self.pick(
            0,
            1,
            -1,
            2,
            3,
            50,
            51,
            300,
            86400,
            86401,
            10**12,
            -(10**30),
            10**400,
            1.5,
            -0.0,
            1e308,
            float("inf"),
            float("-inf"),
            float("nan"),
            True,
            False,
        )

    def value(self, depth: int = 0) -> Any:
        r = self.r
        kind = r.randrange(9 if depth < 4 else 5)
        if kind == 0:
            return None
        if kind in (1, 2):
            return self.text()
        if kind in (3, 4):
            return self.number()
        if kind in (5, 6):
            return self.obj(depth + 1)
        if kind == 7:
            return [self.value(depth + 1) for _ in range(r.randrange(0, 4))]
        return r.choice([True, False])

    def obj(self, depth: int = 0) -> dict[str, Any]:
        keys = self.r.sample(FIELDS, self.r.randrange(0, 4))
        if self.r.random() < 0.15:
            keys.append(self.text())
        return {k: self.value(depth) for k in keys}

    # requests --------------------------------------------------------------------------------------------------
    def name(self) -> str:
        return str(
            self.pick(
                *self.names,
                *self.names,
                "nosuch-env",
                "Dev",
                "a",
                "x" * 25,
                "dev%0A",
                "%00",
                "..",
                "%2e%2e",
                "a%2Fb",
                "%ff%fe",
                _q(self.text()),
            )
        )

    def op_id(self) -> str:
        known = [*self.ops[-20:]] or ["deploy_dev_20261128t014325-ab12cd34"]
        return str(
            self.pick(
                *known,
                "deploy_nosuch-env_20261128t014325-ab12cd34",
                "build_fz1_kdeadbeefdeadbeef",
                "nope",
                "deploy_dev_" + "a" * 80,
                _q(self.text()),
            )
        )

    def request_line(self) -> tuple[str, str]:
        """A method and a path: mostly a route with one of its own methods, else any method, or any path."""
        r = self.r
        if r.random() < 0.08:  # anything at all
            segs = [_q(self.text()) for _ in range(r.randrange(0, 5))]
            return r.choice(METHODS), "/" + "/".join(segs)
        template = r.choice(list(ROUTES))
        method = r.choice(ROUTES[template]) if r.random() < 0.75 else r.choice(METHODS)
        route = template.replace("{name}", self.name()).replace("{op}", self.op_id())
        if r.random() < 0.05:
            route = r.choice([route + "/", "/" + route, route.replace("/", "//", 1), route.upper()])
        return method, route

    def query(self) -> str:
        r = self.r
        if r.random() < 0.5:
            return ""
        pairs = []
        for _ in range(r.randrange(1, 4)):
            key = r.choice(QUERY_KEYS)
            value = r.choice(
                [
                    str(r.randrange(-5, 300)),
                    "1" * r.choice([4, 4301, 10000]),
                    "%C2%B2",
                    "%EF%BC%91",
                    "%ff%fe",
                    "RUNNING,FAILED",
                    "deploy,nope",
                    "true",
                    "TRUE",
                    "",
                    _q(self.text()),
                    _q(json.dumps({"pk": "x", "sk": 1})),
                ]
            )
            pairs.append(f"{key}={value}" if r.random() < 0.9 else key)
        return "?" + "&".join(pairs)

    def headers(self) -> dict[str, str]:
        r = self.r
        headers: dict[str, str] = {}
        if r.random() < 0.6:
            headers["Content-Type"] = "application/json"
        elif r.random() < 0.6:
            headers["Content-Type"] = r.choice(
                [
                    "application/json",
                    "application/json",
                    "application/json; charset=latin-1",
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "application/xml",
                    "multipart/form-data; boundary=x",
                    "application/octet-stream",
                    "",
                    "*/*",
                    "application/json\t",
                    "\u00e9",
                ]
            )
        if r.random() < 0.3:
            headers["Idempotency-Key"] = r.choice(
                ["k1", "k-" + str(r.randrange(5)), "", " ", "k" * 129, "k" * 128, "\u00e9\u00e8", "a b", "k;1", "\x7f"]
            )
        if r.random() < 0.2:
            headers["If-Match"] = r.choice(
                ["1", '"1"', "0", "-1", "*", 'W/"1"', "9" * 13, "9" * 12, "", "1.0", "\u00b2", '""', "x"]
            )
        return headers

    def plausible(self, path: str) -> dict[str, Any]:
        """A body close to what the route takes, one field off now and then (reaches the deeper checks)."""
        r = self.r
        name = self.r.choice(self.names)
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + r.choice([-60, 60, 3600, 10**8])))
        wait = {"interval_seconds": self.pick(1, 5, 0, 301), "timeout_seconds": self.pick(1, 30, 86401)}
        options: list[dict[str, Any]] = [{}]
        if path.endswith("/deployments"):
            options += [{"image_tag": self.pick("latest", "v1", "broken-1", "nope")}, {"image_digest": DIGEST}]
        elif path.endswith(("/provision", "/builds")):
            options += [{"source_version": self.pick("main", "fail-1", "v1.2.3")}, {"image_digest": DIGEST}]
            options += [{"source_version": "main", "image_tag": "v1"}, {"desired_count": self.pick(0, 1, 3, 51)}]
            options += [{"autoscaling": {"min_count": 1, "max_count": self.pick(0, 2)}}, {"autoscaling": None}]
        elif path.endswith("/destroy"):
            options += [{"confirm": name}, {"confirm": self.pick(*self.names)}]
        elif path.endswith("/keep-alive"):
            options += [{"until": future}]
        elif path.endswith("/cancel"):
            options += [{"rollout": self.pick("rollback", "finish", "both")}]
        elif path.startswith("/environments/"):
            options += [
                {"tier": self.pick("dev", "staging", "prod")},
                {"desired_count": self.pick(None, 0, 1, 3, 50, 51)},
                {"nightly_teardown": self.pick(True, False)},
                {"protected": self.pick(True, False), "confirm": self.pick(None, name)},
                {"notification_topic": self.pick(None, "topic-1", "arn:aws:sns:eu-central-1:123456789012:t")},
                {"deploy_on_push": self.pick(None, False, {"match": self.pick("exact", "glob", "semver")})},
                {"deploy_on_push": {"match": "glob", "pattern": "v*", "quiet_seconds": self.pick(0, 1, 301)}},
                {"deploy_on_push": {"match": "semver", "pattern": self.pick("^1.2.0", ">=1 <2", "nope")}},
            ]
        body = dict(r.choice(options))
        if r.random() < 0.2:
            body["wait"] = wait
        if r.random() < 0.2:
            body[r.choice(FIELDS)] = self.value(2)
        return body

    def body(self, path: str) -> bytes | None:
        r = self.r
        if r.random() < 0.4:
            return json.dumps(self.plausible(path)).encode()
        kind = r.randrange(20)
        if kind == 0:
            return None
        if kind == 1:
            return b""
        if kind == 2:  # deep nesting
            depth = r.choice([31, 32, 33, 200, 2000])
            return (b"[" * depth + b"]" * depth) if r.random() < 0.5 else (b'{"a":' * depth + b"0" + b"}" * depth)
        if kind == 3:  # invalid UTF-8
            return r.choice([b"\xff\xfe{}", b'{"tier": "\xc3"}', b"\x80", bytes(r.randrange(256) for _ in range(30))])
        if kind == 4:  # not JSON
            return r.choice([b"tier=dev", b"{", b"}", b"{'a': 1}", b"[1,]", b"NaN", b"<xml/>", b"\x00", b"{}{}"])
        if kind == 5:  # too large
            return b'{"confirm": "' + b"x" * (70 * 1024) + b'"}'
        if kind == 6:  # huge numbers
            return r.choice(
                [b'{"desired_count": 1' + b"0" * 5000 + b"}", b'{"desired_count": 1e999}', b"-" + b"9" * 5000]
            )
        if kind == 7:  # a scalar or an array at the top
            return json.dumps(self.value(3)).encode()
        try:
            text = json.dumps(self.obj(), allow_nan=True)
        except (ValueError, OverflowError):
            text = "{}"
        return text.encode("utf-8", errors="surrogatepass") if r.random() < 0.9 else text.encode("utf-16")


@pytest.mark.slow
def test_fuzz_the_control_api(h: Hostile, record_property: Callable[[str, object], None]) -> None:
    # GIVEN environments of the fuzzer's own: a dev one running, a dev and a prod-tier one never provisioned
    running = h.provisioned_env("fz")
    names = [running, h.new_env("fz"), h.new_env("fp", tier="prod")]
    ops: list[str] = []
    gen = Gen(random.Random(SEED), names, ops)
    statuses: Counter[int] = Counter()
    by_route: Counter[str] = Counter()
    failures: list[str] = []
    started = time.time()
    # WHEN thousands of generated requests arrive
    for i in range(REQUESTS):
        method, path = gen.request_line()
        path += gen.query()
        headers = gen.headers()
        body = gen.body(path.split("?")[0]) if method != "GET" or gen.r.random() < 0.1 else None
        try:
            status, raw, resp_headers = h.raw(method, path, body, headers)
        except Exception as exc:  # the server closed the connection, or answered what HTTP cannot parse
            failures.append(f"#{i} {method} {path[:120]} {headers} -> no answer: {exc!r}")
            continue
        statuses[status] += 1
        by_route[f"{method} {status}"] += 1
        where = f"#{i} {method} {path[:160]} {headers} body={(body or b'')[:80]!r}"
        # THEN none is a 5xx, and every refusal is exactly the error envelope
        if status >= 500:
            failures.append(f"{where} -> {status} {raw[:300]!r}")
            continue
        if status >= 400:
            try:
                error_of(status, raw)
                assert resp_headers.get("content-type", "").startswith("application/json"), resp_headers
            except (AssertionError, ValueError) as exc:
                failures.append(f"{where} -> {status} not the envelope: {raw[:300]!r} ({exc})")
            continue
        if method != "OPTIONS":
            try:
                answer = json.loads(raw)
            except ValueError:
                failures.append(f"{where} -> {status} not JSON: {raw[:200]!r}")
                continue
            if status == 202 and isinstance(answer, dict) and "id" in answer:
                ops.append(str(answer["id"]))
    elapsed = time.time() - started
    histogram = dict(sorted(statuses.items()))
    print(f"\nfuzz: {sum(statuses.values())} requests in {elapsed:.1f}s (seed {SEED}); status histogram {histogram}")
    print(f"fuzz: operations started {len(ops)}; by method and status {dict(sorted(by_route.items()))}")
    record_property(
        "figures",
        f"fuzz: {sum(statuses.values())} requests (seed {SEED}), status histogram {histogram}, "
        f"{len(failures)} bad answers",
    )
    assert not failures, f"{len(failures)} bad answers, first ones:\n" + "\n".join(failures[:15])
    assert sum(statuses.values()) >= 2000
    assert statuses[400] > 0 and statuses[404] > 0 and statuses[200] > 0, histogram
    # AND every operation the fuzzer started ends cleanly
    for op_id in dict.fromkeys(ops):
        ended = h.wait_op(op_id, timeout=120)
        assert ended["status"] in FINAL
    for name in names:
        deadline = time.time() + 120
        while h.env(name)["locked_by"] is not None:
            assert time.time() < deadline, h.env(name)
            time.sleep(0.2)
        last = h.env(name)["last_operation_id"]
        if last:
            h.assert_ended_cleanly(h.op(last))
