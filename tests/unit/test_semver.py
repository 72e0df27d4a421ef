"""The semver tag policy's rules, one example table each (node-semver's answers: test_semver_node.py checks them)."""

from __future__ import annotations

import pytest

from controlplane.domain.semver import MAX_SAFE_INTEGER, SemverError, Version, parse_range, parse_version, satisfies
from controlplane.domain.validation import InvalidInput, deploy_on_push

# (range, version, satisfies?) per rule.
PRIMITIVES = [
    ("1.2.3", "1.2.3", True),
    ("1.2.3", "1.2.4", False),
    ("=1.2.3", "v1.2.3", True),
    (">1.2.3", "1.2.4", True),
    (">1.2.3", "1.2.3", False),
    (">=1.2.3", "1.2.3", True),
    ("<1.2.3", "1.2.2", True),
    ("<1.2.3", "1.2.3", False),
    ("<=1.2.3", "1.2.3", True),
    (">=1.0.0 <1.5.0", "1.4.99", True),
    (">=1.0.0 <1.5.0", "1.5.0", False),
]
HYPHENS = [
    ("1.2.3 - 2.3.4", "1.2.3", True),
    ("1.2.3 - 2.3.4", "2.3.4", True),
    ("1.2.3 - 2.3.4", "2.3.5", False),
    ("1.2.3 - 2.3.4", "1.2.2", False),
    ("1.2 - 2", "1.2.0", True),  # a partial lower bound fills in zeros: >=1.2.0
    ("1.2 - 2", "2.9.9", True),  # a partial upper bound takes all of it: <3.0.0-0
    ("1.2 - 2", "3.0.0", False),
    ("1.2.3 - 2.3", "2.3.9", True),
    ("1.2.3 - 2.3", "2.4.0", False),
    ("v1.0.0 - v2.0.0", "2.0.0", True),
]
X_RANGES = [
    ("*", "0.0.1", True),
    ("x", "9.9.9", True),
    ("1.x", "1.9.0", True),
    ("1.x", "2.0.0", False),
    ("1", "1.0.0", True),
    ("1.2.*", "1.2.9", True),
    ("1.2", "1.3.0", False),
    ("1.X.x", "1.0.0", True),
    (">1", "1.9.9", False),  # past every 1.x: >=2.0.0
    (">1", "2.0.0", True),
    (">1.2", "1.3.0", True),
    (">=1.2", "1.2.0", True),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    ("<=1.2", "1.2.9", True),  # any 1.2.x: <1.3.0-0
    ("<=1.2", "1.3.0", False),
    (">=*", "0.0.0", True),
]
TILDES = [
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.2.2", False),
    ("~1.2.3", "1.3.0", False),
    ("~1.2", "1.2.0", True),
    ("~1.2", "1.3.0", False),
    ("~1", "1.9.0", True),
    ("~1", "2.0.0", False),
    ("~0.2.3", "0.2.5", True),
    ("~>1.2.3", "1.2.5", True),
]
CARETS = [
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "1.2.2", False),
    ("^1.2.3", "2.0.0", False),
    ("^1.2", "1.5.0", True),  # the reported defect: ^1.2 is >=1.2.0 <2.0.0-0, not ~1.2
    ("^1.2", "2.0.0", False),
    ("^1", "1.9.9", True),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.9", True),
    ("^0.0", "0.1.0", False),
    ("^0", "0.9.0", True),
    ("^0", "1.0.0", False),
    ("^0.x", "0.5.0", True),
    ("^1.x", "1.5.0", True),
]
UNIONS = [
    ("1.x || >=3.0.0", "3.1.0", True),
    ("1.x || >=3.0.0", "2.0.0", False),
    ("^1.2 || ^2.0.1", "2.0.1", True),
    ("1.2.3 - 1.4.0 || 2.x", "1.4.0", True),
    ("1.2.3 - 1.4.0 || 2.x", "1.5.0", False),
]
SPACING = [
    ("  >=  1.2.0   <2  ", "1.5.0", True),
    ("^ 1.2", "1.5.0", True),
    ("~ 1.2", "1.2.5", True),
    ("1.x||>=3", "3.0.0", True),
    ("1.2.3\t-\t2.3.4", "2.0.0", True),
]
PRERELEASES = [
    ("^1.2.3", "1.5.0-rc.1", False),  # a pre-release of another MAJOR.MINOR.PATCH
    ("^1.2.3-rc.1", "1.2.3-rc.2", True),  # the range names a pre-release of 1.2.3
    ("^1.2.3-rc.1", "1.2.3-rc.0", False),
    ("^1.2.3-rc.1", "1.2.4-rc.1", False),
    ("^1.2.3-rc.1", "1.2.3", True),
    (">=2.0.0-rc.1", "2.0.0-rc.2", True),
    (">=2.0.0-rc.1", "2.0.0", True),
    (">1.0.0 <2.0.0-rc.5", "2.0.0-rc.1", True),  # the upper bound names one
    (">=1.0.0-0", "1.0.0-alpha", True),
    ("*", "1.0.0-rc.1", False),
    ("1.2.3 - 2.0.0-rc.2", "2.0.0-rc.1", True),
    ("1.2.3 - 2.0.0", "2.0.0-rc.1", False),
    ("<1.2", "1.2.0-rc.1", False),
    (">=1.0.0 || >=1.2.3-rc.0", "1.2.3-rc.1", True),  # any alternative may admit it
    ("* || >=1.2.3-rc.0", "1.2.3-rc.1", False),  # but a `*` alternative makes the range `*`
    ("1.0.0-rc.1", "1.0.0-rc.1+build.7", True),
]
ORDERING = [  # pre-release identifiers: numeric before alphanumeric, numerically; a prefix first
    ("<1.0.0-alpha.1", "1.0.0-alpha", True),
    ("<1.0.0-alpha.beta", "1.0.0-alpha.1", True),
    ("<1.0.0-beta", "1.0.0-alpha.beta", True),
    ("<1.0.0-beta.11", "1.0.0-beta.2", True),
    ("<1.0.0-rc.1", "1.0.0-beta.11", True),
    (">=1.0.0-0 <1.0.0", "1.0.0-rc.1", True),  # a release after its pre-releases
]
BUILD_METADATA = [
    ("1.2.3+build.1", "1.2.3+other", True),
    ("1.2.3", "1.2.3+build.1", True),
    (">1.2.3", "1.2.3+build.1", False),
    ("^1.2.3+b", "1.3.0", True),
]
# (tag, the version it names or None)
TAGS = [
    ("1.2.3", Version(1, 2, 3)),
    ("v1.2.3", Version(1, 2, 3)),  # ECR tags often start with v
    ("1.2.3-rc.1+build.5", Version(1, 2, 3, ("rc", "1"))),
    ("1.2.3-0a.--", Version(1, 2, 3, ("0a", "--"))),
    (" 1.2.3 ", Version(1, 2, 3)),
    ("=1.2.3", None),  # semver.valid accepts = only in loose mode
    ("V1.2.3", None),
    ("vv1.2.3", None),
    ("1.2", None),
    ("01.2.3", None),
    ("1.2.3-01", None),  # a numeric identifier has no leading zero
    ("1.2.3-rc..1", None),
    ("1.2.3+", None),
    ("latest", None),
    (f"{MAX_SAFE_INTEGER + 1}.0.0", None),
    ("1.2.3-" + "a" * 251, None),  # longer than 256 characters
]
ALL = PRIMITIVES + HYPHENS + X_RANGES + TILDES + CARETS + UNIONS + SPACING + PRERELEASES + ORDERING + BUILD_METADATA


def matches(range_text: str, tag: str) -> bool:
    version = parse_version(tag)
    assert version is not None, tag
    return satisfies(version, range_text)


@pytest.mark.parametrize(("range_text", "tag", "expected"), PRIMITIVES)
def test_primitive_comparators_all_hold(range_text: str, tag: str, expected: bool) -> None:
    # GIVEN a range of comparators WHEN a tag is checked THEN it matches only if every comparator holds
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), HYPHENS)
def test_hyphen_ranges_are_inclusive_and_a_partial_bound_takes_all_of_it(
    range_text: str, tag: str, expected: bool
) -> None:
    # GIVEN a hyphen range (the reported defect: they were refused) WHEN a tag is checked THEN both ends count
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), X_RANGES)
def test_x_ranges_and_partial_versions_stand_for_any_number(range_text: str, tag: str, expected: bool) -> None:
    # GIVEN a wildcarded or partial version, bare or with an operator WHEN a tag is checked
    # THEN the missing numbers are free (with `>` past all of them, with `<` below all of them)
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), TILDES)
def test_tilde_allows_patch_level_changes(range_text: str, tag: str, expected: bool) -> None:
    # GIVEN ~ WHEN a tag is checked THEN the minor version is fixed (the major one when only it is given)
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), CARETS)
def test_caret_keeps_the_left_most_non_zero_number(range_text: str, tag: str, expected: bool) -> None:
    # GIVEN ^ WHEN a tag is checked THEN the first non-zero number of MAJOR.MINOR.PATCH is fixed (^0.0 and ^0 fix
    # only what they name)
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), UNIONS)
def test_unions_match_if_any_alternative_does(range_text: str, tag: str, expected: bool) -> None:
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), SPACING)
def test_whitespace_is_tolerated_around_operators_and_alternatives(range_text: str, tag: str, expected: bool) -> None:
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), PRERELEASES)
def test_a_pre_release_matches_only_an_alternative_naming_one_of_its_release(
    range_text: str, tag: str, expected: bool
) -> None:
    # GIVEN a pre-release tag WHEN it is checked THEN it must pass every comparator of an alternative, and one of
    # that alternative's comparators must name a pre-release of the same MAJOR.MINOR.PATCH
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), ORDERING)
def test_pre_releases_order_as_semver_specifies(range_text: str, tag: str, expected: bool) -> None:
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("range_text", "tag", "expected"), BUILD_METADATA)
def test_build_metadata_is_ignored(range_text: str, tag: str, expected: bool) -> None:
    assert matches(range_text, tag) is expected


@pytest.mark.parametrize(("tag", "expected"), TAGS)
def test_tags_parse_as_strict_semver_valid(tag: str, expected: Version | None) -> None:
    # GIVEN a pushed tag WHEN it is read as a version THEN it is one only if node-semver's valid() says so
    assert parse_version(tag) == expected


@pytest.mark.parametrize(
    ("range_text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1.2.3 ||", "empty alternative"),
        ("|| 1.2.3", "empty alternative"),
        (">x", "matches no version"),
        ("< *", "matches no version"),
        ("1.x.3", "number after a wildcard"),
        ("^1.x.3", "number after a wildcard"),
        ("1.2.x-rc", "pre-release on a wildcard"),
        ("1.2.3*", "not a comparator or version"),
        ("^banana", "'\\^banana' is not a comparator or version"),
        ("^^1", "not a comparator or version"),
        (">=", "no version after it"),
        ("~ >1", "'~' has no version after it"),
        ("1.2.3 - 2 - 3", "hyphen range"),
        (">=1.2.3 - 2", "not a comparator or version"),
        ("1.2.3 -2", "not a comparator or version"),
        ("=1.2.3 - 2", "not a comparator or version"),
        ("01.2.3", "not a comparator or version"),
        ("1.2-rc.1", "not a comparator or version"),
        ("V1.2.3", "not a comparator or version"),
        (f"^{MAX_SAFE_INTEGER}.0.0", "above"),
        (f"{MAX_SAFE_INTEGER + 1}.0.0", "above"),
    ],
)
def test_invalid_or_mistaken_ranges_are_refused_with_the_reason(range_text: str, why: str) -> None:
    # GIVEN a range node-semver refuses, or one it reads in a way no policy means WHEN it is parsed
    # THEN SemverError says what is wrong
    with pytest.raises(SemverError, match=why):
        parse_range(range_text)


def test_an_empty_alternative_is_refused_by_the_api_with_a_hint() -> None:
    # GIVEN a policy whose pattern ends in || (node-semver would deploy every version) WHEN it is PUT
    # THEN it is refused, saying to write * if any version is meant
    with pytest.raises(InvalidInput, match=r"empty alternative.*write \*"):
        deploy_on_push({"match": "semver", "pattern": "^1.2 ||"})


def test_a_range_is_parsed_into_comparator_sets() -> None:
    [[low, high]] = parse_range("^1.2").alternatives
    assert (low.op, str(low.version), high.op, str(high.version)) == (">=", "1.2.0", "<", "2.0.0-0")
    assert parse_range("* || 1.x").alternatives == ((),)
