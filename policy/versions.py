"""Semantic versions of rulesets, and version ranges (`>=1.0.0 <2.0.0`) for `extends`."""

from __future__ import annotations

import re
from typing import Annotated

import semver
from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

_COMPARATOR = re.compile(r"^(>=|<=|==|>|<|=)?\s*(\S+)$")
_OPERATOR_SPACE = re.compile(r"(>=|<=|==|>|<|=)\s+")


def parse(text: str) -> semver.Version:
    return semver.Version.parse(text)


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "version_type", "a version is written as three numbers in text, e.g. 1.0.0 (found {value})",
            {"value": value},
        )
    return value


def _check_version(text: str) -> str:
    try:
        parse(text)
    except ValueError:
        raise PydanticCustomError(
            "version", "`{text}` is not a semantic version: write MAJOR.MINOR.PATCH, e.g. 1.0.0",
            {"text": text},
        ) from None
    return text


SemVer = Annotated[
    str, BeforeValidator(_not_a_number), StringConstraints(strip_whitespace=True),
    AfterValidator(_check_version),
]


def comparators(spec: str) -> list[tuple[str, semver.Version]]:
    """`>=1.0.0 <2.0.0` as [(">=", 1.0.0), ("<", 2.0.0)]; raises ValueError."""
    # `>= 1.0.0` is `>=1.0.0`: join each operator to the version after it before splitting.
    parts = _OPERATOR_SPACE.sub(r"\1", spec.replace(",", " ")).split()
    if not parts:
        raise ValueError(spec)
    out: list[tuple[str, semver.Version]] = []
    for part in parts:
        m = _COMPARATOR.match(part)
        if not m:
            raise ValueError(part)
        out.append((m.group(1) or "==", parse(m.group(2))))
    return out


def matches(spec: str, version: str) -> bool:
    """Whether `version` satisfies every comparator of `spec`."""
    v = parse(version)
    checks = {"==": v.__eq__, "=": v.__eq__, ">=": v.__ge__, "<=": v.__le__, ">": v.__gt__, "<": v.__lt__}
    return all(checks[op](bound) for op, bound in comparators(spec))


def _check_range(text: str) -> str:
    try:
        comparators(text)
    except ValueError:
        raise PydanticCustomError(
            "version_range",
            "`{text}` is not a version range: write e.g. `>=1.0.0 <2.0.0`, or one version such as 1.2.0",
            {"text": text},
        ) from None
    return text


VersionRange = Annotated[str, BeforeValidator(_not_a_number), AfterValidator(_check_range)]
