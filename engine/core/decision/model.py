"""The published decision: the types a decision is made of, as callers and JSON see them.

They are plain slotted dataclasses, cheap to build on the hot path; pydantic reads the same classes at
the edges, for the JSON Schema (`DECISION_SCHEMA`) and the canonical JSON (`Decision.to_json`). A
decision's identity (`decision_id`, a hash of the whole incident) is computed when first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal, TypeVar, dataclass_transform

from pydantic import ConfigDict, Field, TypeAdapter, with_config

from engine.core.decision.identity import Identity, decision_id
from engine.core.incident import Event
from policy.base import Effect
from policy.canonical import dumps_canonical

Kind = Literal["record", "notify", "retain", "delete", "access", "release"]
Resolution = Literal["overrides", "legal_hold", "layer", "unresolved"]
_T = TypeVar("_T")


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
def published(cls: type[_T]) -> type[_T]:
    """A type of the published decision: a slotted, keyword-only dataclass whose schema forbids other keys."""
    return with_config(ConfigDict(extra="forbid"))(dataclass(slots=True, kw_only=True)(cls))


def _about(text: str, alias: str | None = None) -> Any:
    """The schema's words for a field (and its name in JSON, where that is a Python keyword)."""
    return Field(description=text, alias=alias)


@published
class EventRef:
    """An event of the incident: its type, time and position in the input."""

    type: str
    at: str
    index: int


@published
class Moment:
    """A point in time: an event that happened (`at`), or one that has not happened yet (`pending`)."""

    event: Annotated[str | None, _about("The event type that marks this point.")] = None
    at: Annotated[str | None, _about("When it happened (ISO 8601).")] = None
    pending: Annotated[bool, _about("True when the event has not happened as of the decision.")] = False


@published
class Window:
    from_: Annotated[Moment | None, _about("Opens here; open-ended if absent.", "from")] = None
    until: Annotated[Moment | None, _about("Closes here; open-ended if absent.")] = None


@published
class Pending:
    """A date that cannot be known yet: `then` after an event that has not happened."""

    pending: Annotated[str, _about("The event type awaited.")]
    then: Annotated[str, _about("The duration counted from that event.")] = "P0D"


DateOrPending = date | Literal["indefinite"] | Pending


@published
class Delay:
    """A permitted delay of a release."""

    until: DateOrPending
    available: Annotated[bool, _about("Whether its condition (`only_if`) holds as of the decision.")]
    ends_on: Annotated[Moment | None, _about("The event that ends the delay early (`ends_on`): once it has "
                                              "happened, `until` is no later than its day.")] = None
    requires: list[str] = field(default_factory=list)
    reassess_every: str | None = None


@published
class Suspension:
    """A part of an obligation's window where an overriding rule takes precedence."""

    from_: Annotated[Moment | None, Field(alias="from")] = None
    until: Moment | None = None
    rule: str


@published
class Matched:
    events: list[EventRef] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


class DeferredMatched(Matched):
    """The evidence of an obligation, read from the evaluator's trace when first asked for.

    Most callers of `decide` read the obligations and the summary, never which facts and events matched:
    they do not pay for it. `find` reads only the decision's own (immutable) incident and trace, so the
    answer is the same whenever it is asked for. Both fields are filled at once on the first read of
    either; a copy or a pickle is a plain `Matched`.
    """

    __slots__ = ("_find",)

    def __init__(self, find: Callable[[], Matched]) -> None:  # the fields stay unset until read
        self._find: Callable[[], Matched] | None = find

    def __getattr__(self, name: str) -> Any:
        # Reached only when normal lookup fails: here, while `events` and `facts` are unset.
        find = object.__getattribute__(self, "_find")
        if name not in ("events", "facts") or find is None:
            raise AttributeError(name)
        found = find()
        self.events, self.facts, self._find = found.events, found.facts, None
        return getattr(self, name)

    def __eq__(self, other: object) -> bool:
        # The dataclass's own __eq__ compares instances of one class only; evidence is evidence.
        if not isinstance(other, Matched):
            return NotImplemented
        return (self.events, self.facts) == (other.events, other.facts)

    __hash__ = None  # type: ignore[assignment]  # mutable, as Matched is

    def __reduce__(self) -> tuple[Any, ...]:
        return (_matched, (self.events, self.facts))


def _matched(events: list[EventRef], facts: dict[str, Any]) -> Matched:
    return Matched(events=events, facts=facts)


@published
class Obligation:
    kind: Kind
    effect: Effect
    rule: str
    ruleset: Annotated[str, _about("The ruleset version (`id@version`) whose rule imposes this obligation.")]
    cite: str
    summary: str
    confidence: str | None = None
    trigger: EventRef | None = None
    matched: Matched = field(default_factory=Matched)
    window: Window | None = None
    retain_until: DateOrPending | None = None
    legal_hold: bool | None = None
    delete_by: DateOrPending | None = None
    role: list[str] | None = None
    purpose: str | None = None
    to: list[str] | None = None
    by: DateOrPending | None = None
    promptly_after: Annotated[Moment | None, _about(
        "For a release due `promptly`: the moment it is due promptly after (the rule gives no number of days, "
        "so no date is set).")] = None
    delays: list[Delay] | None = None
    redact: list[str] | None = None
    unedited: bool | None = None
    overridden_by: Annotated[str | None, _about("The rule that took precedence over all of this obligation (it "
                                                "is not in force).")] = None
    suspended: Annotated[list[Suspension] | None, _about(
        "Parts of the window where another rule took precedence; the rest stays in force.")] = None


@published
class RetentionSummary:
    minimum: Annotated[DateOrPending | None, _about("Keep at least until (the latest minimum).")] = None
    minimum_rules: list[str] = field(default_factory=list)
    pending: Annotated[list[Pending], _about("Minimums whose anchor has not happened.")] = \
        field(default_factory=list)
    maximum: Annotated[date | None, _about("Delete no later than (the earliest maximum).")] = None
    maximum_rules: list[str] = field(default_factory=list)
    legal_hold: bool = False


@published
class ReleaseDeadline:
    by: date
    rules: list[str]


@published
class Summary:
    retention: RetentionSummary
    release: Annotated[dict[str, ReleaseDeadline], _about("The earliest release deadline per recipient.")]


@published
class Conflict:
    kind: Literal["effect", "retention"]
    rules: Annotated[list[str], _about("The two rules that contradict each other.")]
    detail: str
    resolution: Resolution
    winner: str | None = None


@published
class RulesetRef:
    id: str
    version: str
    digest: str


@published
class LayerRef(RulesetRef):
    """Another ruleset version whose rules also apply: a `base` this one extends, a later version's
    `amendment` that applies to existing footage, or a version whose `conduct` rules bound the actions
    taken while it was in force."""

    role: Literal["base", "amendment", "conduct"]
    in_force: bool
    rules: Annotated[list[str] | None, _about("For an amendment or a conduct layer: the rules that apply.")] = None


@published
class _Decided:
    """What a decision says (its identity aside)."""

    incident_id: str
    as_of: str
    ruleset: RulesetRef
    in_force: Annotated[bool, _about("Whether the ruleset was in effect on the incident's date (its first "
                                     "event, or the ruleset's `version_date` event); when not, it decides nothing.")]
    layers: list[LayerRef] = field(default_factory=list)
    obligations: list[Obligation]
    summary: Summary
    conflicts: list[Conflict]


class Decision(_Decided):
    """The obligations of one incident under one ruleset version (with its layers), as of a time.

    `decision_id` names it: a hash of the rulesets' digests, the whole incident and the as-of time,
    computed when first read (an audit that writes no decision never pays for hashing the incident).
    """

    __slots__ = ("_id", "_identity")

    def __init__(self, *, identity: Identity, **fields: Any) -> None:
        super().__init__(**fields)
        self._identity = identity  # what the id hashes, kept as given (a decision may cross processes)
        self._id: str | None = None

    @property
    def decision_id(self) -> str:
        if self._id is None:
            self._id = decision_id(*self._identity)
        return self._id

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON values (the keys of `DECISION_SCHEMA`; absent values left out)."""
        for o in self.obligations:
            # pydantic serializes an instance of a subclass through its slow, checking path: hand it the
            # evidence as the plain type the schema names (read from the trace here, if not yet).
            if type(o.matched) is not Matched:
                o.matched = Matched(events=o.matched.events, facts=o.matched.facts)
        data: dict[str, Any] = _DECIDED.dump_python(self, mode="json", by_alias=True, exclude_none=True)
        data["decision_id"] = self.decision_id
        return data

    def to_json(self) -> str:
        """Canonical JSON: identical bytes for identical inputs."""
        return dumps_canonical(self.to_dict())


@with_config(ConfigDict(extra="forbid", title="Decision"))
@dataclass(slots=True, kw_only=True)
class DecisionDocument(_Decided):
    """The obligations of one incident under one ruleset version (with its layers), as of a time, as JSON;
    `decision_id` names it (a hash of the rulesets' digests, the incident and the as-of time)."""

    decision_id: str


_DECIDED = TypeAdapter(_Decided)
DECISION_SCHEMA = TypeAdapter(DecisionDocument)
"""Validates a decision's JSON and gives its JSON Schema (`bwc schema --kind decision`)."""


def event_ref(e: Event) -> EventRef:
    """The published reference to an event of the incident."""
    return EventRef(type=e.type, at=e.at.isoformat(), index=e.index)
