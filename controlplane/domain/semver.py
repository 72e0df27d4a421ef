"""A small semantic-version range matcher (the npm/Cargo subset image tags need). Pure.

Versions: ``1.2.3``, ``v1.2.3``, ``1.2.3-rc.1`` (build metadata ``+...`` is ignored).
Ranges: comparators ``>= > <= < =`` (space-separated: all must hold), alternatives with ``||``, caret
``^1.2.3`` (same major; same minor below 1.0), tilde ``~1.2.3`` (same minor), x-ranges ``1.x``, ``1.2.*``, ``*``.
A pre-release version only matches when the range names a pre-release of the same ``major.minor.patch``
(as npm does), so ``^1.0.0`` never picks up ``1.1.0-rc.1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION_RE = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)
_PARTIAL_RE = re.compile(
    r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_COMPARATOR_RE = re.compile(r"^(\^|~|>=|<=|>|<|=)?\s*(\S+)$")


class SemverError(ValueError):
    """A range that cannot be parsed."""


@dataclass(frozen=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after its pre-releases; numeric identifiers sort before alphanumeric ones.
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __le__(self, other: Version) -> bool:
        return self.key() <= other.key()


def parse_version(text: str) -> Version | None:
    """The version a tag names, or None if the tag is not a semantic version."""
    m = _VERSION_RE.match(text.strip())
    if not m:
        return None
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)


# A comparator set is a list of (operator, version) that must all hold.
Comparator = tuple[str, Version]


def _wild(part: str | None) -> bool:
    return part is None or part in ("x", "X", "*")


def _expand(op: str, text: str) -> list[Comparator]:
    m = _PARTIAL_RE.match(text)
    if not m:
        raise SemverError(f"{text!r} is not a version")
    major_s, minor_s, patch_s, pre_s = m.groups()
    pre = tuple(pre_s.split(".")) if pre_s else ()
    if _wild(major_s):
        if op not in ("", "="):
            raise SemverError(f"{op}{text} compares with a wildcard")
        return []
    major = int(major_s)
    if _wild(minor_s):
        lo, hi = Version(major, 0, 0), Version(major + 1, 0, 0, ("0",))
        return _partial(op, lo, hi, text)
    minor = int(minor_s)
    if _wild(patch_s):
        lo, hi = Version(major, minor, 0), Version(major, minor + 1, 0, ("0",))
        return _partial(op, lo, hi, text)
    v = Version(major, minor, int(patch_s), pre)
    if op == "^":
        if major > 0:
            return [(">=", v), ("<", Version(major + 1, 0, 0, ("0",)))]
        if minor > 0:
            return [(">=", v), ("<", Version(0, minor + 1, 0, ("0",)))]
        return [(">=", v), ("<", Version(0, 0, v.patch + 1, ("0",)))]
    if op == "~":
        return [(">=", v), ("<", Version(major, minor + 1, 0, ("0",)))]
    return [(op or "=", v)]


def _partial(op: str, lo: Version, hi: Version, text: str) -> list[Comparator]:
    """x-ranges: ``1.x`` is ``>=1.0.0 <2.0.0-0``; with an operator, the bound that makes sense."""
    if op in ("", "=", "^", "~"):
        return [(">=", lo), ("<", hi)]
    if op == ">=":
        return [(">=", lo)]
    if op == "<":
        return [("<", lo)]
    if op == ">":
        return [(">=", hi)]
    if op == "<=":
        return [("<", hi)]
    raise SemverError(f"cannot use {op} with {text!r}")


def parse_range(text: str) -> list[list[Comparator]]:
    """Alternatives (``||``) of comparator sets. Raises SemverError with what is wrong."""
    if not text or not text.strip():
        raise SemverError("an empty range")
    alternatives: list[list[Comparator]] = []
    for alt in text.split("||"):
        tokens = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", alt.strip()).split()
        if not tokens:
            raise SemverError(f"an empty alternative in {text!r}")
        comparators: list[Comparator] = []
        for token in tokens:
            m = _COMPARATOR_RE.match(token)
            if not m:
                raise SemverError(f"{token!r} is not a comparator")
            comparators += _expand(m.group(1) or "", m.group(2))
        alternatives.append(comparators)
    return alternatives


def _holds(op: str, v: Version, bound: Version) -> bool:
    if op == "=":
        return v.key() == bound.key()
    if op == ">=":
        return bound <= v
    if op == ">":
        return bound < v
    if op == "<=":
        return v <= bound
    return v < bound  # "<"


def satisfies(version: Version, range_text: str) -> bool:
    for comparators in parse_range(range_text):
        if not all(_holds(op, version, bound) for op, bound in comparators):
            continue
        if not version.prerelease:
            return True
        # a pre-release only matches when a comparator of this set names one of the same major.minor.patch
        same = (version.major, version.minor, version.patch)
        if any(b.prerelease and b.prerelease != ("0",) and (b.major, b.minor, b.patch) == same for _, b in comparators):
            return True
    return False
