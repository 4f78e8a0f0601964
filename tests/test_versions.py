"""Semantic versions of rulesets, and version ranges for `extends`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from strategies import semvers, version_ranges

from policy.versions import SemVer, VersionRange, comparators, matches, parse

semver_adapter: TypeAdapter[str] = TypeAdapter(SemVer)
range_adapter: TypeAdapter[str] = TypeAdapter(VersionRange)


@pytest.mark.parametrize("text", ["1.0.0", "0.0.0", "2021.1.0", "1.2.3-rc.1", "1.2.3-alpha.beta.1+build.5",
                                  "1.0.0+20210706", " 1.0.0 "])
def test_valid_versions(text: str) -> None:
    assert semver_adapter.validate_python(text) == text.strip()


@pytest.mark.parametrize("text", ["1.0", "1", "v1.0.0", "01.0.0", "1.02.0", "1.0.0-", "1.0.0+", "1.0.0-01",
                                  "1.2.3.4", "", "latest", "1.0.0 - 2.0.0", ">=1.0.0"])
def test_invalid_versions(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        semver_adapter.validate_python(text)
    assert exc.value.errors()[0]["type"] == "version"


@pytest.mark.parametrize("value", [1, 1.0, 2021.1])
def test_a_number_is_not_a_version(value: object) -> None:
    # YAML reads `version: 1.0` as a number: say so, rather than "not a string".
    for adapter in (semver_adapter, range_adapter):
        with pytest.raises(ValidationError) as exc:
            adapter.validate_python(value)
        assert exc.value.errors()[0]["type"] == "version_type"


@pytest.mark.parametrize(("spec", "version", "expected"), [
    (">=1.0.0 <2.0.0", "1.0.0", True),
    (">=1.0.0 <2.0.0", "1.9.9", True),
    (">=1.0.0 <2.0.0", "2.0.0", False),
    (">=1.0.0 <2.0.0", "0.9.0", False),
    (">=1.0.0 <2.0.0", "2.0.0-rc.1", True),   # a pre-release of 2.0.0 comes before 2.0.0
    (">=1.0.0 <2.0.0", "1.0.0-rc.1", False),  # ... and of 1.0.0 before 1.0.0
    (">=1.0.0, <2.0.0", "1.5.0", True),
    (">= 1.0.0 < 2.0.0", "1.5.0", True),
    (">= 1.0.0 < 2.0.0", "2.5.0", False),
    ("1.2.0", "1.2.0", True),
    ("1.2.0", "1.2.1", False),
    ("=1.2.0", "1.2.0", True),
    ("==1.2.0", "1.2.0", True),
    ("==1.2.0", "1.2.1", False),
    (">1.2.0", "1.2.0", False),
    (">1.2.0", "1.2.1", True),
    ("<=1.2.0", "1.2.0", True),
    ("<1.2.0", "1.2.0", False),
    ("1.2.0", "1.2.0+build.7", True),          # build metadata does not count
    ("2021.1.0", "2021.1.0", True),
])
def test_matches(spec: str, version: str, expected: bool) -> None:
    assert matches(spec, version) is expected


@pytest.mark.parametrize("spec", ["", "  ", ",", ">=", ">=1.0", "~1.0.0", "^1.0.0", "1.0.0 - 2.0.0", ">>1.0.0",
                                  "=>1.0.0", ">= >=1.0.0", "1.x", "*", "latest"])
def test_invalid_ranges(spec: str) -> None:
    with pytest.raises(ValueError):
        comparators(spec)
    with pytest.raises(ValidationError) as exc:
        range_adapter.validate_python(spec)
    assert exc.value.errors()[0]["type"] == "version_range"


def test_comparators() -> None:
    assert [(op, str(v)) for op, v in comparators(">=1.0.0 <2.0.0")] == [(">=", "1.0.0"), ("<", "2.0.0")]
    assert [(op, str(v)) for op, v in comparators("1.2.0")] == [("==", "1.2.0")]
    assert [(op, str(v)) for op, v in comparators("==1.2.0")] == [("==", "1.2.0")]
    assert [(op, str(v)) for op, v in comparators(">= 1.0.0, < 2.0.0")] == [(">=", "1.0.0"), ("<", "2.0.0")]


# --- properties ------------------------------------------------------------------------------------

OPS = {
    "": lambda a, b: a == b, "=": lambda a, b: a == b, "==": lambda a, b: a == b,
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
}


@given(semvers())
def test_generated_versions_are_valid(text: str) -> None:
    assert semver_adapter.validate_python(text) == text


@given(version_ranges())
def test_generated_ranges_are_valid(spec: str) -> None:
    assert range_adapter.validate_python(spec) == spec
    assert comparators(spec)


@given(st.sampled_from(sorted(OPS)), semvers(), semvers(), st.sampled_from(["", " "]))
def test_one_comparator_is_the_semver_order(op: str, bound: str, version: str, space: str) -> None:
    spec = f"{op}{space if op else ''}{bound}"
    assert matches(spec, version) is OPS[op](parse(version), parse(bound))


@given(st.lists(st.tuples(st.sampled_from(sorted(OPS)), semvers()), min_size=1, max_size=4), semvers(),
       st.sampled_from([" ", ", ", ","]))
def test_a_range_is_the_conjunction_of_its_comparators(parts: list[tuple[str, str]], version: str, sep: str) -> None:
    spec = sep.join(op + bound for op, bound in parts)
    assert matches(spec, version) is all(matches(op + bound, version) for op, bound in parts)


@given(semvers())
def test_a_version_matches_itself_and_its_bounds(version: str) -> None:
    assert matches(version, version)
    assert matches(f">={version} <={version}", version)
    assert not matches(f">{version}", version)
    assert not matches(f"<{version}", version)
