"""controlplane.domain.semver against node-semver itself (the npm package `semver`, pinned in package.json).

One Node process (tests/semver_oracle.js) answers every question of the module, a JSON line each. The ranges are
generated from the whole syntax (carets, tildes, x-ranges, hyphen ranges, unions, pre-releases, `v`, spacing) and
each is checked on every version of a grid small enough to hit all its bounds, plus a few drawn versions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from controlplane.domain.semver import SemverError, parse_range, parse_version
from tests.unit import test_semver

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / "tests" / "semver_oracle.js"
PACKAGE = ROOT / "node_modules" / "semver" / "package.json"


class NodeSemver:
    """A running tests/semver_oracle.js."""

    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen(
            [node, str(ORACLE)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"tests/semver_oracle.js exited with {self._proc.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def satisfies(self, ranges: list[str], versions: list[str]) -> list[list[bool] | None]:
        """For each range, which versions satisfy it; None for a range node-semver refuses."""
        answer = self._ask({"ranges": ranges, "versions": versions})
        return [
            None if read is None else found for read, found in zip(answer["valid"], answer["satisfies"], strict=True)
        ]

    def reads(self, range_text: str) -> str | None:
        """The range as node-semver reads it (semver.validRange); None if it refuses it."""
        return self._ask({"ranges": [range_text], "versions": []})["valid"][0]  # type: ignore[no-any-return]

    def valid(self, versions: list[str]) -> list[str | None]:
        return self._ask({"versions": versions})["valid"]  # type: ignore[no-any-return]

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


@pytest.fixture(scope="module")
def node_semver() -> Iterator[NodeSemver]:
    node = shutil.which("node")
    missing = "node is not on PATH" if node is None else None
    if not PACKAGE.exists():
        missing = "the npm package semver is not installed (run `make setup`, which runs `npm ci`)"
    if missing or node is None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: .ci/run must install node and run `npm ci`")
        pytest.skip(f"{missing}: cannot compare with node-semver")
    oracle = NodeSemver(node)
    yield oracle
    oracle.close()


# Versions: every MAJOR.MINOR.PATCH from 0 to 3 (ranges use 0 to 2, so their bounds and the next numbers are all
# here), each as a release and with pre-releases built from the same identifiers as the ranges'.
PRE_IDS = ["0", "1", "2", "rc", "alpha", "beta"]
GRID_PRES = ["", "-0", "-rc", "-rc.1", "-rc.2"]
GRID = [f"{a}.{b}.{c}{pre}" for a, b, c in product(range(4), repeat=3) for pre in GRID_PRES]
GRID_PARSED = [parse_version(v) for v in GRID]

prereleases = st.lists(st.sampled_from(PRE_IDS), min_size=1, max_size=2).map(".".join)
builds = st.sampled_from(["b", "build.5", "sha-1f2e", "001"])
spaces = st.sampled_from([" ", " ", "  ", "\t"])
# Partial versions from 0 to 2: numbers first, then wildcards (``1``, ``1.x``, ``1.2.*``, ``X.x``, ``1.2.3``).
NUMBERS, WILDCARDS = ["0", "1", "2"], ["x", "X", "*"]
FULL = [".".join(p) for p in product(NUMBERS, repeat=3)]
WILD = [
    ".".join(p)
    for written in (1, 2, 3)
    for known in range(written)
    for p in product(*([NUMBERS] * known + [WILDCARDS] * (written - known)))
]


@st.composite
def partials(draw: st.DrawFn) -> str:
    """``1``, ``1.x``, ``1.2.*``, ``X``, ``1.2.3-rc.1+b``, ``v1.2``..."""
    v = draw(st.sampled_from(["", "", "", "v"]))
    if draw(st.booleans()):
        return v + draw(st.sampled_from(WILD))
    pre = draw(st.one_of(st.just(""), prereleases.map("-{}".format)))
    build = draw(st.sampled_from(["", "", "", "+b", "+build.5"]))
    return v + draw(st.sampled_from(FULL)) + pre + build


@st.composite
def comparators(draw: st.DrawFn) -> str:
    partial = draw(partials())
    ops = ["", "=", "<=", ">=", "~", "~>", "^"]
    if partial.lstrip("v")[0] in "012":  # `<*` and `>*` are refused (they match nothing)
        ops += ["<", ">"]
    op = draw(st.sampled_from(ops))
    return op + (draw(st.sampled_from(["", "", " "])) if op else "") + partial


@st.composite
def alternatives(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 3)) == 0:
        return f"{draw(partials())} - {draw(partials())}"
    parts = [draw(comparators()) for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3])))]
    return "".join(part + draw(spaces) for part in parts[:-1]) + parts[-1]


@st.composite
def ranges(draw: st.DrawFn) -> str:
    alts = draw(st.lists(alternatives(), min_size=1, max_size=3))
    glue = st.sampled_from(["||", " || ", "|| ", "  ||\t"])
    text = "".join(alt + draw(glue) for alt in alts[:-1]) + alts[-1]
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", " "]))


drawn_versions = st.builds(
    lambda v, a, b, c, pre, build: f"{v}{a}.{b}.{c}{pre}{build}",
    st.sampled_from(["", "v"]),
    st.integers(0, 12),
    st.integers(0, 12),
    st.integers(0, 12),
    st.one_of(st.just(""), prereleases.map("-{}".format)),
    st.sampled_from(["", "+b"]),
)


def disagreements(node_semver: NodeSemver, ranges: list[str], extra: list[str] = []) -> list[str]:  # noqa: B006
    """Where parse_range and node-semver disagree on the ranges (all accepted here) over GRID and extra versions."""
    versions = GRID + extra
    parsed = GRID_PARSED + [parse_version(v) for v in extra]
    wrong = []
    for range_text, theirs in zip(ranges, node_semver.satisfies(ranges, versions), strict=True):
        if theirs is None:
            wrong.append(f"{range_text!r}: node-semver refuses it")
            continue
        ours = parse_range(range_text)
        for text, version, expected in zip(versions, parsed, theirs, strict=True):
            assert version is not None
            if ours.test(version) != expected:
                wrong.append(f"{range_text!r} on {text} (node-semver: {expected})")
    return wrong


def test_every_single_comparator_and_hyphen_bound_matches_what_node_semver_matches(node_semver: NodeSemver) -> None:
    """Exhaustively, each row of the syntax on its own: every operator with every partial version from 0 to 2
    (the special cases are at 0), and each side of a hyphen range."""
    wild = [v for v in WILD if "X" not in v and "*" not in v] + ["*", "X", "1.*", "1.2.X"]
    versions = FULL + wild + [f"{v}{pre}" for v in FULL for pre in ("-0", "-rc.1")] + ["v1.2", "v0.0.0", "v1.2.3-rc"]
    ops = ["", "=", "<=", ">=", "~", "~>", "^", "<", ">"]
    single = [op + v for op in ops for v in versions if op not in ("<", ">") or v.lstrip("v")[0] in "012"]
    hyphens = [f"{v} - *" for v in versions] + [f"* - {v}" for v in versions]
    wrong = disagreements(node_semver, single + hyphens)
    assert not wrong, f"{len(wrong)} disagreements, e.g. {wrong[:8]}"


@settings(max_examples=200, deadline=None)
@given(range_text=ranges(), extra=st.lists(drawn_versions, max_size=8))
# node-semver's finer points, which random ranges rarely meet: a bare `*` alternative makes the range `*`, but
# `>=v0.0.0` is no `*`; `<1.2` excludes 1.2.0's pre-releases; numeric identifiers compare as JavaScript numbers.
@example(range_text=">=0.0.0 || >=1.2.3-rc.0", extra=["1.2.3-rc.1"])
@example(range_text=">=v0.0.0 || >=1.2.3-rc.0", extra=["1.2.3-rc.1"])
@example(range_text="v0.0.0 - * || >=1.2.3-rc.0", extra=["1.2.3-rc.1"])
@example(range_text=">=1.2.0-rc <1.2", extra=["1.2.0-rc.1"])
@example(range_text=">1.2.3-9007199254740992", extra=["1.2.3-9007199254740993"])
def test_every_range_of_the_syntax_matches_what_node_semver_matches(
    node_semver: NodeSemver, range_text: str, extra: list[str]
) -> None:
    wrong = disagreements(node_semver, [range_text], extra)
    assert not wrong, wrong[:8]


# Near-misses: generated ranges with a character dropped, doubled or swapped in, and short random strings.
RANGE_CHARACTERS = "0123xX*.-+v=<>^~| \tra"


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    text = draw(ranges())
    at = draw(st.integers(0, len(text)))
    edit = draw(st.sampled_from(["drop", "double", "insert"]))
    if edit == "drop":
        return text[:at] + text[at + 1 :]
    if edit == "double":
        return text[: at + 1] + text[at:]
    return text[:at] + draw(st.sampled_from(RANGE_CHARACTERS)) + text[at:]


@settings(max_examples=200, deadline=None)
@given(range_text=st.one_of(near_misses(), st.text(RANGE_CHARACTERS, max_size=14)))
def test_what_is_accepted_here_node_semver_accepts_and_reads_alike(node_semver: NodeSemver, range_text: str) -> None:
    """The other way round is not asked: some strings node-semver accepts are refused here (see semver.py)."""
    try:
        parse_range(range_text)
    except SemverError:
        return
    wrong = disagreements(node_semver, [range_text])
    assert not wrong, wrong[:8]


version_like = st.one_of(
    st.builds(
        "".join,
        st.tuples(
            st.sampled_from(["", "", "v", "V", "=", "v=", " ", "vv"]),
            st.sampled_from(["0", "1", "12", "01", "x"]),
            st.sampled_from([".0", ".3", ".00", ".10", ""]),
            st.sampled_from([".0", ".7", ".01", "", ".1.1"]),
            st.sampled_from(["", "", "-rc.1", "-0", "-01", "-0a", "--", "-", "-rc..1", "-a-b.9"]),
            st.sampled_from(["", "", "+b.01", "+", "+a..b", "+-"]),
            st.sampled_from(["", "", " ", "\n"]),
        ),
    ),
    st.text("0129.-+vV= ar", max_size=12),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(version_like, min_size=1, max_size=40))
def test_versions_parse_as_node_semver_valid_reads_them(node_semver: NodeSemver, texts: list[str]) -> None:
    ours = [parse_version(t) for t in texts]
    theirs = node_semver.valid(texts)
    wrong = [
        (text, str(mine) if mine else None, expected)
        for text, mine, expected in zip(texts, ours, theirs, strict=True)
        if (str(mine) if mine else None) != expected
    ]
    assert not wrong, f"(tag, here, node-semver): {wrong[:8]}"


@pytest.mark.parametrize(
    ("range_text", "node_reads"),
    [
        ("", "*"),
        ("1.2.3 ||", "*"),
        (">x", "<0.0.0-0"),
        ("<*", "<0.0.0-0"),
        ("^1.x.3", ">=1.0.0 <2.0.0-0"),
        ("1.2.x-rc", ">=1.2.0 <1.3.0-0"),
        ("1.2.3*", "1.2.3"),
        ("~ >1", ">=1.0.0 <2.0.0-0"),
    ],
)
def test_the_documented_refusals_are_ranges_node_semver_accepts(
    node_semver: NodeSemver, range_text: str, node_reads: str
) -> None:
    # GIVEN a range node-semver reads (as node_reads) WHEN it is parsed here THEN it is refused as a likely mistake
    assert node_semver.reads(range_text) == node_reads
    with pytest.raises(SemverError):
        parse_range(range_text)


def test_the_example_tables_are_node_semvers_answers(node_semver: NodeSemver) -> None:
    ranges = sorted({r for r, _, _ in test_semver.ALL})
    tags = sorted({t for _, t, _ in test_semver.ALL})
    answers = dict(zip(ranges, node_semver.satisfies(ranges, tags), strict=True))
    wrong = [case for case in test_semver.ALL if (answers[case[0]] or [])[tags.index(case[1])] is not case[2]]
    assert not wrong, f"(range, tag, expected) that node-semver answers otherwise: {wrong}"
    versions = [tag for tag, _ in test_semver.TAGS]
    expected = [None if version is None else str(version) for _, version in test_semver.TAGS]
    assert node_semver.valid(versions) == expected
