"""The published decision: the pydantic models a decision is made of, as callers and JSON see them."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from engine.core.incident import Event
from policy.base import Effect

Kind = Literal["record", "notify", "retain", "delete", "access", "release"]
Resolution = Literal["overrides", "legal_hold", "layer", "unresolved"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @classmethod
    def make(cls, **values: Any) -> Self:
        """Build from values the engine computed itself, skipping validation (pydantic's
        `model_construct` costs several microseconds per object; a decision has dozens)."""
        static, factories = _defaults(cls)
        data = {**static, **values}
        for name, factory in factories:
            if name not in values:
                data[name] = factory()
        obj = cls.__new__(cls)
        _set(obj, "__dict__", data)
        _set(obj, "__pydantic_fields_set__", set(values))
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj


_set = object.__setattr__
_DEFAULTS: dict[type, tuple[dict[str, Any], list[tuple[str, Any]]]] = {}


def _defaults(cls: type[BaseModel]) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    found = _DEFAULTS.get(cls)
    if found is None:
        fields = cls.model_fields
        found = _DEFAULTS[cls] = (
            {n: (None if i.is_required() else i.default) for n, i in fields.items() if i.default_factory is None},
            [(n, i.default_factory) for n, i in fields.items() if i.default_factory is not None],
        )
    return found


class EventRef(_Out):
    """An event of the incident: its type, time and position in the input."""

    type: str
    at: str
    index: int


class Moment(_Out):
    """A point in time: an event that happened (`at`), or one that has not happened yet (`pending`)."""

    event: str | None = Field(default=None, description="The event type that marks this point.")
    at: str | None = Field(default=None, description="When it happened (ISO 8601).")
    pending: bool = Field(default=False, description="True when the event has not happened as of the decision.")


class Window(_Out):
    from_: Moment | None = Field(default=None, alias="from", description="Opens here; open-ended if absent.")
    until: Moment | None = Field(default=None, description="Closes here; open-ended if absent.")


class Pending(_Out):
    """A date that cannot be known yet: `then` after an event that has not happened."""

    pending: str = Field(description="The event type awaited.")
    then: str = Field(default="P0D", description="The duration counted from that event.")


DateOrPending = date | Literal["indefinite"] | Pending


class Delay(_Out):
    """A permitted delay of a release."""

    until: DateOrPending
    available: bool = Field(description="Whether its condition (`only_if`) holds as of the decision.")
    ends_on: Moment | None = Field(default=None, description="The event that ends the delay early (`ends_on`): "
                                   "once it has happened, `until` is no later than its day.")
    requires: list[str] = Field(default_factory=list)
    reassess_every: str | None = None


class Suspension(_Out):
    """A part of an obligation's window where an overriding rule takes precedence."""

    from_: Moment | None = Field(default=None, alias="from")
    until: Moment | None = None
    rule: str


class Matched(_Out):
    events: list[EventRef] = Field(default_factory=list)
    facts: dict[str, Any] = Field(default_factory=dict)


class Obligation(_Out):
    kind: Kind
    effect: Effect
    rule: str
    ruleset: str = Field(description="The ruleset version (`id@version`) whose rule imposes this obligation.")
    cite: str
    summary: str
    confidence: str | None = None
    trigger: EventRef | None = None
    matched: Matched = Field(default_factory=Matched)
    window: Window | None = None
    retain_until: DateOrPending | None = None
    legal_hold: bool | None = None
    delete_by: DateOrPending | None = None
    role: list[str] | None = None
    purpose: str | None = None
    to: list[str] | None = None
    by: DateOrPending | None = None
    promptly_after: Moment | None = Field(
        default=None, description="For a release due `promptly`: the moment it is due promptly after (the rule "
        "gives no number of days, so no date is set).")
    delays: list[Delay] | None = None
    redact: list[str] | None = None
    unedited: bool | None = None
    overridden_by: str | None = Field(default=None, description="The rule that took precedence over all of this "
                                      "obligation (it is not in force).")
    suspended: list[Suspension] | None = Field(
        default=None, description="Parts of the window where another rule took precedence; the rest stays in force.")


class RetentionSummary(_Out):
    minimum: DateOrPending | None = Field(default=None, description="Keep at least until (the latest minimum).")
    minimum_rules: list[str] = Field(default_factory=list)
    pending: list[Pending] = Field(default_factory=list, description="Minimums whose anchor has not happened.")
    maximum: date | None = Field(default=None, description="Delete no later than (the earliest maximum).")
    maximum_rules: list[str] = Field(default_factory=list)
    legal_hold: bool = False


class ReleaseDeadline(_Out):
    by: date
    rules: list[str]


class Summary(_Out):
    retention: RetentionSummary
    release: dict[str, ReleaseDeadline] = Field(description="The earliest release deadline per recipient.")


class Conflict(_Out):
    kind: Literal["effect", "retention"]
    rules: list[str] = Field(description="The two rules that contradict each other.")
    detail: str
    resolution: Resolution
    winner: str | None = None


class RulesetRef(_Out):
    id: str
    version: str
    digest: str


class LayerRef(RulesetRef):
    """Another ruleset version whose rules also apply: a `base` this one extends, a later version's
    `amendment` that applies to existing footage, or a version whose `conduct` rules bound the actions
    taken while it was in force."""

    role: Literal["base", "amendment", "conduct"]
    in_force: bool
    rules: list[str] | None = Field(default=None, description="For an amendment or a conduct layer: the rules "
                                    "that apply.")


class Decision(_Out):
    decision_id: str
    incident_id: str
    as_of: str
    ruleset: RulesetRef
    in_force: bool = Field(description="Whether the ruleset was in effect on the incident's date (its first event, "
                                       "or the ruleset's `version_date` event); when not, it decides nothing.")
    layers: list[LayerRef] = Field(default_factory=list)
    obligations: list[Obligation]
    summary: Summary
    conflicts: list[Conflict]

    def to_json(self) -> str:
        """Canonical JSON: identical bytes for identical inputs."""
        return json.dumps(self.model_dump(mode="json", by_alias=True, exclude_none=True),
                          sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_ref(e: Event) -> EventRef:
    """The published reference to an event of the incident."""
    return EventRef.make(type=e.type, at=e.at.isoformat(), index=e.index)
