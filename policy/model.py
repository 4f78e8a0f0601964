"""The ruleset model: the single source of truth for the ruleset file format."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, HttpUrl, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from policy.base import Day, Ident, Name, PolicyModel, Text
from policy.conditions import Comparison, Condition
from policy.obligations import (
    OBLIGATION_KEYS,
    AccessObligation,
    AnyObligation,
    DeleteObligation,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
)
from policy.values import parse_zone, quoted, zone_hint
from policy.versions import SemVer, VersionRange
from policy.vocabulary import CORE_REF, EventSpec, Spec


class Status(StrEnum):
    DRAFT = "draft"
    PROPOSED = "proposed"
    ADOPTED = "adopted"
    SUPERSEDED = "superseded"
    REPEALED = "repealed"


class Governs(StrEnum):
    """What a rule is about, which decides the version that judges it."""

    FOOTAGE = "footage"  # the footage of an incident: judged by the version in force on the incident's date
    CONDUCT = "conduct"  # an action on footage (viewing, analysis, release): by the version in force when taken


class Confidence(StrEnum):
    VERIFIED = "verified"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"


def _check_zone(name: str) -> str:
    # The one definition of a zone (policy.values): a zone file, never a folder such as `America`
    # (ZoneInfo would fail reading it as a file) nor `localtime` (the host's zone, not a place).
    try:
        parse_zone(name)
    except ValueError:
        raise PydanticCustomError(
            "timezone", "`{name}` is not an IANA time zone ({hint})", {"name": quoted(name), "hint": zone_hint(name)},
        ) from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]


class Effective(PolicyModel):
    from_: Day = Field(alias="from", description="First day in force.")
    until: Day | None = Field(default=None, description="Last day in force (inclusive); open if omitted.")

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.until is not None and self.until < self.from_:
            raise PydanticCustomError("date_order", "`until` ({until}) is before `from` ({start})",
                                      {"until": str(self.until), "start": str(self.from_)})
        return self

    def covers(self, day: date) -> bool:
        return self.from_ <= day and (self.until is None or day <= self.until)


class Source(PolicyModel):
    id: Ident
    title: Text
    url: HttpUrl | None = None
    date: Day | None = None


class Extends(PolicyModel):
    ruleset: Ident
    version: VersionRange = Field(description="Versions accepted, e.g. `>=1.0.0 <2.0.0` or `1.2.0`.")


class Declarations(PolicyModel):
    """Names a ruleset adds to the vocabulary."""

    facts: dict[Name, Spec] = Field(default_factory=dict)
    events: dict[Name, EventSpec] = Field(default_factory=dict)
    attributes: dict[Name, dict[Name, Spec]] = Field(
        default_factory=dict, description="Extra attributes of existing event types, by event type."
    )


class Rule(PolicyModel):
    """One rule: when it applies, and the one obligation it imposes."""

    id: Ident
    summary: Text = Field(description="One sentence in plain words.")
    cite: Text = Field(description="`<source id> <clause>`, e.g. `ilcs (a)(7)`.")
    confidence: Confidence | None = None
    on: Name | None = Field(default=None, description="The event type that triggers the rule.")
    where: dict[Name, Comparison] = Field(default_factory=dict, description="Tests on the trigger's attributes.")
    when: Condition | None = None
    unless: Condition | None = None
    overrides: list[Ident] = Field(default_factory=list)
    same_officer: StrictBool = Field(
        default=False, description="With `overrides` and `on`: set aside only the obligations whose trigger names "
        "the officer this rule's trigger names (or names none), e.g. one officer's permitted pause.")
    applies_to_existing_footage: StrictBool = Field(
        default=False, description="When this version comes into force, this rule also governs footage of incidents "
        "judged under earlier versions (amendments to retention often say so).")
    governs: Governs = Field(
        default=Governs.FOOTAGE, description="`footage` (the default): the rule is judged by the version in force "
        "on the incident's date. `conduct`: the rule bounds an action on footage (viewing, biometric analysis, "
        "release) and binds every such action taken while this version is in force, on footage of any date.")
    notes: Text | None = None
    record: WindowObligation | None = None
    notify: WindowObligation | None = None
    retain: RetainObligation | None = None
    delete: DeleteObligation | None = None
    access: AccessObligation | None = None
    release: ReleaseObligation | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_obligation(cls, data: Any) -> Any:
        if isinstance(data, dict):
            present = [k for k in OBLIGATION_KEYS if data.get(k) is not None]
            if len(present) != 1:
                raise PydanticCustomError(
                    "obligation_count",
                    "a rule states exactly one obligation ({keys}); this one has {found}",
                    {"keys": ", ".join(OBLIGATION_KEYS),
                     "found": ", ".join(present) if present else "none"},
                )
            if data.get("where") and not data.get("on"):
                raise PydanticCustomError(
                    "where_without_on", "`where` tests the trigger event, so it needs `on: <event type>`", {}
                )
        return data

    @property
    def kind(self) -> str:
        for key in OBLIGATION_KEYS:
            if getattr(self, key) is not None:
                return key
        raise AssertionError("validated rules have one obligation")

    @property
    def obligation(self) -> AnyObligation:
        value = getattr(self, self.kind)
        assert value is not None
        return value  # type: ignore[no-any-return]

    @property
    def source_id(self) -> str:
        return self.cite.split(maxsplit=1)[0]


class Ruleset(PolicyModel):
    """A versioned set of rules from one policy or statute."""

    ruleset: Ident
    version: SemVer
    title: Text
    status: Status
    effective: Effective
    timezone: TimeZoneName
    drafted_by: Text
    vocabulary: str = CORE_REF
    sources: Annotated[list[Source], Field(min_length=1)]
    extends: Extends | None = None
    supersedes: SemVer | None = None
    corrects: SemVer | None = Field(
        default=None, description="The version of this same ruleset whose reading of the same law this version "
        "corrects: it has the same `effective` dates and takes its place on every one of them.")
    version_date: Name = Field(
        default="incident", description="The event whose date decides which version judges an incident "
        "(default: the incident's first event).")
    holidays: list[Day] = Field(default_factory=list, description="Days that are not business days.")
    notes: Text | None = None
    declare: Declarations = Field(default_factory=Declarations)
    rules: Annotated[list[Rule], Field(min_length=1)]

    @property
    def ref(self) -> str:
        return f"{self.ruleset}@{self.version}"

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)
