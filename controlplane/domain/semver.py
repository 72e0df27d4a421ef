"""Semantic versions and ranges, with the meaning npm's node-semver (7.x) gives them. Pure: it ships in the Lambda.

A ``match: semver`` tag policy deploys a pushed tag when ``satisfies(parse_version(tag), pattern)``. Both follow
node-semver with its default options (strict parsing, ``includePrerelease`` off): a pattern matches the tags that
``semver.satisfies(tag, pattern)`` accepts.

**Versions** (``parse_version``, as ``semver.valid``): ``MAJOR.MINOR.PATCH`` without leading zeros, an optional
``-pre.release`` and ``+build`` (ignored), an optional leading ``v`` (``v1.2.3``; not ``V`` or ``=``), at most 256
characters, numbers at most 2^53 - 1.

**Ranges** (``parse_range``): alternatives joined by ``||``; each is a hyphen range ``A - B`` or space-separated
comparators that must all hold. A partial version wildcards (``x``, ``X``, ``*``) or leaves out its trailing numbers;
versions in ranges may start with ``v``; whitespace may follow an operator (``>= 1.2``).

=======================================  ==========================================================================
``1.2.3``, ``=1.2.3``                    exactly 1.2.3 (build metadata ignored)
``<1.2.3`` ``<=1.2.3`` ``>1.2.3`` ...    primitive comparators
``*``, ``1.x`` or ``1``, ``1.2.*``       any version, ``>=1.0.0 <2.0.0-0``, ``>=1.2.0 <1.3.0-0`` (so is ``1.2``)
``>1`` ``>1.2`` ``<=1.2`` ``<1.2``       ``>=2.0.0``, ``>=1.3.0``, ``<1.3.0-0``, ``<1.2.0-0``; ``>=1.2`` is ``>=1.2.0``
``~1.2.3`` ``~1.2`` ``~1`` (``~>``)      ``>=1.2.3 <1.3.0-0``, ``>=1.2.0 <1.3.0-0``, ``>=1.0.0 <2.0.0-0``
``^1.2.3`` ``^1.2`` ``^1``               ``>=1.2.3 <2.0.0-0``, ``>=1.2.0 <2.0.0-0``, ``>=1.0.0 <2.0.0-0``
``^0.2.3`` ``^0.0.3`` ``^0.0`` ``^0``    ``>=0.2.3 <0.3.0-0``, ``>=0.0.3 <0.0.4-0``, ``<0.1.0-0``, ``<1.0.0-0``
``1.2.3 - 2.3.4``, ``1.2 - 2``           ``>=1.2.3 <=2.3.4``, ``>=1.2.0 <3.0.0-0`` (a partial upper end takes all of it)
=======================================  ==========================================================================

``X-0`` is the lowest pre-release of ``X``: ``<2.0.0-0`` is below 2.0.0 and all its pre-releases.

**Pre-releases.** A version with a pre-release (``1.3.0-rc.1``) satisfies an alternative only if it passes every
comparator *and* one of that alternative's comparators has a pre-release on the same ``MAJOR.MINOR.PATCH``: ``^1.2.3``
never takes ``1.3.0-rc.1``; ``>=1.3.0-rc.0 <2`` does. As in node-semver, an alternative that is just ``*`` makes
the whole range ``*``, so ``* || >=1.3.0-rc.0`` takes no pre-release.

**Refused** (``SemverError``) although node-semver accepts them, since a policy written so is a mistake: an empty
range or ``||`` alternative (node-semver: any version; write ``*``); ``<*`` and ``>*`` (node-semver: no version); a
number after a wildcard (``1.x.3``; node-semver refuses it bare but reads ``^1.x.3`` as ``^1``); a pre-release on a
wildcard version (``1.2.x-rc``; node-semver drops it); and anything else outside the syntax above that node-semver's
text rewriting lets through (``1.2.3*``, ``~ >1``). Whatever node-semver refuses is refused too, and a range accepted
here matches exactly the versions node-semver matches (tests/unit/test_semver_node.py checks both against it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

MAX_LENGTH = 256  # node-semver refuses longer versions
MAX_SAFE_INTEGER = 2**53 - 1  # and larger version numbers (JavaScript's exact integers)

# What JavaScript's String.prototype.trim strips (semver.valid trims the version first).
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# Tokens of a range are separated by ASCII whitespace (node-semver also splits on Unicode spaces; no policy needs to).
_SPACES = re.compile(r"[ \t\n\v\f\r]+")

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"[0-9]*[A-Za-z-][0-9A-Za-z-]*|0|[1-9][0-9]*"
_PRE = rf"(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*"
_BUILD = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_XR = rf"{_NUM}|[xX*]"
_VERSION = re.compile(rf"v?({_NUM})\.({_NUM})\.({_NUM})(?:-({_PRE}))?(?:\+{_BUILD})?")
_PARTIAL = re.compile(rf"(v?)({_XR})(?:\.({_XR})(?:\.({_XR})(?:-({_PRE}))?(?:\+{_BUILD})?)?)?")
_OPERATOR = re.compile(r"<=|>=|<|>|=|~>|~|\^")
_NUMERIC = re.compile(r"[0-9]+")
_WILDCARDS = ("x", "X", "*")


class SemverError(ValueError):
    """A range that cannot be parsed, or one refused as a likely mistake (the message says which and why)."""


Identifier = tuple[int, float | str]
VersionKey = tuple[int, int, int, int, tuple[Identifier, ...]]


@dataclass(frozen=True)
class Version:
    """A semantic version; build metadata is not kept (it never takes part in comparisons)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core

    @cached_property
    def key(self) -> VersionKey:
        """The sort key, ordering as node-semver compares: a release after its pre-releases; pre-release
        identifiers pairwise, numeric ones before alphanumeric ones and by value (as JavaScript numbers, hence
        float), a list before the longer lists it begins."""
        ids = tuple((0, float(p)) if _NUMERIC.fullmatch(p) else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, ids)


def parse_version(text: str) -> Version | None:
    """The version a tag names (as ``semver.valid`` reads it), or None if the tag is not a semantic version."""
    if len(text) > MAX_LENGTH:
        return None
    m = _VERSION.fullmatch(text.strip(_JS_WHITESPACE))
    if not m:
        return None
    major, minor, patch = int(m[1]), int(m[2]), int(m[3])
    if max(major, minor, patch) > MAX_SAFE_INTEGER:
        return None
    return Version(major, minor, patch, tuple(m[4].split(".")) if m[4] else ())


@dataclass(frozen=True)
class Comparator:
    """``op version`` with op one of ``= < <= > >=``."""

    op: str
    version: Version

    def test(self, version: Version) -> bool:
        a, b = version.key, self.version.key
        if self.op == "<":
            return a < b
        if self.op == "<=":
            return a <= b
        if self.op == ">":
            return a > b
        if self.op == ">=":
            return a >= b
        return a == b


@dataclass(frozen=True)
class Range:
    """Alternatives, each a tuple of comparators that must all hold; an empty tuple stands for any version."""

    alternatives: tuple[tuple[Comparator, ...], ...]

    def test(self, version: Version) -> bool:
        return any(_test_set(comparators, version) for comparators in self.alternatives)


def _test_set(comparators: tuple[Comparator, ...], version: Version) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    core = (version.major, version.minor, version.patch)
    return any(
        c.version.prerelease and (c.version.major, c.version.minor, c.version.patch) == core for c in comparators
    )


def satisfies(version: Version, range_text: str) -> bool:
    """Does the version satisfy the range? Raises SemverError if the range is refused."""
    return parse_range(range_text).test(version)


def parse_range(text: str) -> Range:
    """The range a policy's pattern names. Raises SemverError saying what is wrong."""
    if not _SPACES.sub("", text):
        raise SemverError("the range is empty (write * for any version)")
    alternatives = tuple(_parse_alternative(alt, text) for alt in text.split("||"))
    if len(alternatives) > 1 and () in alternatives:
        alternatives = ((),)  # node-semver: an alternative that is just `*` makes the range `*`
    return Range(alternatives)


def _parse_alternative(alt: str, text: str) -> tuple[Comparator, ...]:
    tokens = [t for t in _SPACES.split(alt) if t]
    if not tokens:
        raise SemverError(f"{text!r} has an empty alternative around || (write * for any version)")
    if "-" in tokens:
        if len(tokens) != 3 or tokens[1] != "-":
            raise SemverError(f"{alt.strip()!r}: a hyphen range is `A - B` alone in its alternative")
        return tuple(_hyphen(_partial(tokens[0]), _partial(tokens[2])))
    comparators: list[Comparator] = []
    for token in _join_operators(tokens):
        comparators += _simple(token)
    return tuple(comparators)


def _join_operators(tokens: list[str]) -> list[str]:
    """``>= 1.2`` is ``>=1.2``: an operator on its own takes the version after it."""
    joined: list[str] = []
    pending = ""
    for token in tokens:
        if pending and _OPERATOR.match(token):
            break
        if _OPERATOR.fullmatch(token):
            pending = token
            continue
        joined.append(pending + token)
        pending = ""
    if pending:
        raise SemverError(f"{pending!r} has no version after it")
    return joined


@dataclass(frozen=True)
class _Partial:
    """A version as written in a range; None for a number wildcarded or left out."""

    text: str
    with_v: bool
    major: int | None
    minor: int | None
    patch: int | None
    prerelease: tuple[str, ...]

    def full(self) -> Version | None:
        if self.major is None or self.minor is None or self.patch is None:
            return None
        return Version(self.major, self.minor, self.patch, self.prerelease)


def _partial(text: str, token: str = "") -> _Partial:
    """The version in ``token`` (the whole token, for messages)."""
    m = _PARTIAL.fullmatch(text)
    if not m or len(text) > MAX_LENGTH:
        raise SemverError(f"{token or text!r} is not a comparator or version")
    parts = [None if p is None or p in _WILDCARDS else int(p) for p in (m[2], m[3], m[4])]
    known = [p for p in parts if p is not None]
    if known != parts[: len(known)]:
        raise SemverError(f"{text!r} has a number after a wildcard")
    if m[5] and len(known) < 3:
        raise SemverError(f"{text!r} puts a pre-release on a wildcard version")
    if any(p > MAX_SAFE_INTEGER for p in known):
        raise SemverError(f"{text!r} has a number above {MAX_SAFE_INTEGER}")
    major, minor, patch = parts
    return _Partial(text, m[1] == "v", major, minor, patch, tuple(m[5].split(".")) if m[5] else ())


def _version(major: int, minor: int = 0, patch: int = 0) -> Version:
    if max(major, minor, patch) > MAX_SAFE_INTEGER:
        raise SemverError(f"a bound of the range has a number above {MAX_SAFE_INTEGER}")
    return Version(major, minor, patch)


def _below(major: int, minor: int = 0, patch: int = 0) -> Comparator:
    """``<M.m.p-0``: below M.m.p and all its pre-releases (``-0`` is the lowest)."""
    v = _version(major, minor, patch)
    return Comparator("<", Version(v.major, v.minor, v.patch, ("0",)))


def _at_least(version: Version, written_with_v: bool = False) -> list[Comparator]:
    """``>=version``. node-semver drops ``>=0.0.0`` as meaning any version; it spots the text, so ``>=v0.0.0``
    stays (which only matters for the ``*``-alternative rule)."""
    if version == Version(0, 0, 0) and not written_with_v:
        return []
    return [Comparator(">=", version)]


def _span(major: int, minor: int | None) -> list[Comparator]:
    """``1.x`` is ``>=1.0.0 <2.0.0-0``; ``1.2.x`` is ``>=1.2.0 <1.3.0-0``."""
    if minor is None:
        return [*_at_least(_version(major)), _below(major + 1)]
    return [*_at_least(_version(major, minor)), _below(major, minor + 1)]


def _simple(token: str) -> list[Comparator]:
    m = _OPERATOR.match(token)
    op = m[0] if m else ""
    p = _partial(token[len(op) :], token)
    if op in ("~", "~>"):
        return _tilde(p)
    if op == "^":
        return _caret(p)
    return _primitive(op or "=", p)


def _primitive(op: str, p: _Partial) -> list[Comparator]:
    if p.major is None:
        if op in ("<", ">"):
            raise SemverError(f"{op + p.text!r} matches no version")
        return []
    full = p.full()
    if full is not None:
        return _at_least(full, p.with_v) if op == ">=" else [Comparator(op, full)]
    major, minor = p.major, p.minor
    if op == "=":
        return _span(major, minor)
    if op == ">=":
        return _at_least(_version(major, minor or 0))
    if op == ">":  # past every 1.x (or 1.2.x)
        return _at_least(_version(major + 1) if minor is None else _version(major, minor + 1))
    if op == "<":  # below 1.0.0 (or 1.2.0) and its pre-releases
        return [_below(major, minor or 0)]
    return [_below(major + 1) if minor is None else _below(major, minor + 1)]  # <=: any 1.x (or 1.2.x)


def _tilde(p: _Partial) -> list[Comparator]:
    """Patch-level changes: ``~1.2.3`` is ``>=1.2.3 <1.3.0-0``; ``~1.2`` and ``~1`` are ``1.2.x`` and ``1.x``."""
    if p.major is None:
        return []
    full = p.full()
    if full is None:
        return _span(p.major, p.minor)
    return [*_at_least(full), _below(full.major, full.minor + 1)]


def _caret(p: _Partial) -> list[Comparator]:
    """Changes that keep the left-most non-zero number: ``^1.2.3`` is ``<2.0.0-0``, ``^0.2.3`` is ``<0.3.0-0``,
    ``^0.0.3`` is ``<0.0.4-0``; a left-out number is free (``^0.0`` is ``<0.1.0-0``, ``^1`` is ``1.x``)."""
    if p.major is None:
        return []
    if p.minor is None:
        return _span(p.major, None)
    lower = p.full() or _version(p.major, p.minor)
    if p.major:
        upper = _below(p.major + 1)
    elif p.minor or p.patch is None:
        upper = _below(0, p.minor + 1)
    else:
        upper = _below(0, 0, p.patch + 1)
    return [*_at_least(lower), upper]


def _hyphen(low: _Partial, high: _Partial) -> list[Comparator]:
    """``1.2.3 - 2.3.4`` is ``>=1.2.3 <=2.3.4``; a partial upper bound takes all of it: ``1.2 - 2`` is
    ``>=1.2.0 <3.0.0-0``."""
    lower: list[Comparator] = []
    if low.major is not None:
        full = low.full()
        lower = _at_least(full, low.with_v) if full else _at_least(_version(low.major, low.minor or 0))
    if high.major is None:
        return lower
    if high.minor is None:
        return [*lower, _below(high.major + 1)]
    full = high.full()
    if full is None:
        return [*lower, _below(high.major, high.minor + 1)]
    return [*lower, Comparator("<=", full)]
