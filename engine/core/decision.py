"""Decisions: the obligations an incident carries under one ruleset version, as of a time.

`build_decision` turns a backend's firings (which rule fired, on which trigger event) into
obligations with concrete windows, dates and deadlines, then settles precedence (explicit
`overrides`, legal holds) and reports what nothing settled. It is pure: the same program,
incident, firings and as-of give the same Decision, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from engine.core.evaluation import BEYOND_CALENDAR, Context, Trace, predicate_of, traced_of
from engine.core.incident import Event, Incident, IncidentError, Problem
from engine.core.program import And, CompiledRule, Cond, Const, EventAtom, FactTest, Or, Program, SequenceAtom
from policy.base import Effect
from policy.duration import Duration
from policy.model import Governs
from policy.obligations import (
    INCIDENT,
    PROMPTLY,
    RULE_APPLIES,
    AccessObligation,
    DelayAllowance,
    DeleteObligation,
    Earliest,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
)
from policy.values import quoted

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


# --- building ------------------------------------------------------------------------------------

def _ref(e: Event) -> EventRef:
    return EventRef.make(type=e.type, at=e.at.isoformat(), index=e.index)


class _Builder:
    def __init__(self, program: Program, incident: Incident, ctx: Context, *, explain: bool = True) -> None:
        self.explain = explain
        self.program = program
        self.incident = incident
        self.ctx = ctx
        self.holidays = program.ruleset.holidays
        self._refs: dict[int, EventRef] = {}
        self._evidence: dict[int, Matched] = {}
        self._traces: dict[int, Trace] = {}
        self._delays: dict[tuple[int, int], bool] = {}
        self._positions: dict[str, list[int]] = {}
        self._since: dict[int, Event | None] = {}
        self.rule: CompiledRule | None = None  # the rule whose obligation is being built (for messages)

    def anchor(self, name: str | None, trigger: Event | None, *, counted: bool = False) -> Event | None:
        """The event an anchor names.

        `incident` is the first event. A name equal to the trigger's type is the trigger itself.
        Otherwise: for a time counted from an event (`after:` of retain, delete, release, delays),
        the earliest such event of the incident; for a window's edge, the first such event at or
        after the trigger (or at or after the window's opening, for its closing edge).
        """
        if name is None:
            return trigger
        if name == INCIDENT:
            return self.incident.events[0] if self.incident.events else None
        if trigger is not None and trigger.type == name:
            return trigger
        candidates = self.incident.by_type.get(name, ())
        if counted:
            return candidates[0] if candidates else None
        if trigger is None:
            return candidates[0] if candidates else None
        # A binary search, not a scan: every trigger of a rule looks up its window's edge, so a scan
        # would cost events x events on a long incident.
        positions = self._positions.get(name)
        if positions is None:
            positions = self._positions[name] = [e.position for e in candidates]
        k = bisect_left(positions, trigger.position)
        return candidates[k] if k < len(candidates) else None

    def ref(self, e: Event) -> EventRef:
        found = self._refs.get(e.position)
        if found is None:
            found = self._refs[e.position] = _ref(e)
        return found

    def trace(self, rule: CompiledRule) -> Trace:
        """What evaluating the rule's condition showed (the evaluator's trace, taken once per rule: a
        rule's condition does not depend on its trigger)."""
        found = self._traces.get(rule.position)
        if found is None:
            found = self._traces[rule.position] = Trace()
            traced_of(rule.condition)(self.ctx, found)
        return found

    def evidence(self, rule: CompiledRule) -> Matched:
        # One answer serves all the rule's firings.
        found = self._evidence.get(rule.position)
        if found is None:
            found = self._evidence[rule.position] = evidence(rule.condition, self.trace(rule), self.ctx.facts)
        return found

    def moment(self, name: str | None, trigger: Event | None) -> Moment | None:
        if name is None and trigger is None:
            return None
        e = self.anchor(name, trigger)
        if e is None:
            return Moment.make(event=name, at=None, pending=True)
        return Moment.make(event=e.type, at=self.ref(e).at, pending=False)

    def applies(self, trigger: Event | None) -> Event | None:
        """The moment the rule being built came to apply: the later of its trigger and the first moment
        its condition held (see `since`); the incident's first event when neither names a time."""
        assert self.rule is not None
        pos = self.rule.position
        if pos not in self._since:
            self._since[pos] = since(self.rule.condition, self.trace(self.rule))
        held = self._since[pos]
        if trigger is None or (held is not None and held.position > trigger.position):
            return held if held is not None else (self.incident.events[0] if self.incident.events else None)
        return trigger

    def counted(self, anchor: str | Earliest | None, trigger: Event | None) -> Event | None:
        """The event a time is counted from: one anchor, or the earliest of several that has happened."""
        if isinstance(anchor, Earliest):
            found = [e for e in (self.counted(name, trigger) for name in anchor.earliest) if e is not None]
            return min(found, key=lambda e: e.position) if found else None
        if anchor == RULE_APPLIES:
            return self.applies(trigger)
        return self.anchor(anchor, trigger, counted=True)

    def day(self, duration: Duration | None, anchor_name: str | Earliest | None,
            trigger: Event | None) -> DateOrPending:
        e = self.counted(anchor_name, trigger)
        d = duration or Duration()
        if e is None:
            return Pending.make(pending=_awaited(anchor_name), then=str(d))
        try:
            return d.add_to(e.at.astimezone(self.ctx.zone), self.holidays).date()
        except BEYOND_CALENDAR:
            raise beyond_calendar(self.incident, self.rule, e, d, self.ctx.zone.key) from None

    def delay_available(self, rule: CompiledRule, k: int, cond: Cond) -> bool:
        # A delay's `only_if` reads the whole incident, not the trigger: one answer serves every firing
        # (evaluated per obligation it would cost events x events).
        found = self._delays.get((rule.position, k))
        if found is None:
            found = self._delays[(rule.position, k)] = predicate_of(cond)(self.ctx)
        return found

    def delay(self, d: DelayAllowance, default_after: str | Earliest | None, rule: CompiledRule, k: int,
              cond: Cond, trigger: Event | None) -> Delay:
        until: DateOrPending = "indefinite" if d.up_to == "indefinitely" else self.day(
            d.up_to if isinstance(d.up_to, Duration) else None, d.after or default_after, trigger)
        ends: Moment | None = None
        if d.ends_on is not None:
            found = self.incident.by_type.get(d.ends_on, ())
            if found:
                e = found[0]  # the first such event: the delay ends there, whatever happens after
                ends = Moment.make(event=e.type, at=self.ref(e).at, pending=False)
                day = e.at.astimezone(self.ctx.zone).date()
                if not isinstance(until, date) or day < until:
                    until = day
            else:
                ends = Moment.make(event=d.ends_on, at=None, pending=True)
        return Delay.make(until=until, available=self.delay_available(rule, k, cond), requires=list(d.requires),
                          reassess_every=str(d.reassess_every) if d.reassess_every else None, ends_on=ends)

    def obligation(self, rule: CompiledRule, trigger: Event | None) -> Obligation:
        r = rule.rule
        ob = r.obligation
        self.rule = rule
        fields: dict[str, Any] = {
            "kind": r.kind, "rule": r.id, "ruleset": self.program.ref, "cite": r.cite, "summary": r.summary,
            "confidence": r.confidence.value if r.confidence else None,
            "trigger": self.ref(trigger) if trigger is not None else None,
            "matched": self.evidence(rule) if self.explain else Matched.make(),
            "effect": Effect.MUST,
        }
        if isinstance(ob, WindowObligation):
            start = self.anchor(ob.from_, trigger)
            fields["effect"] = ob.effect
            from_ = self.moment(ob.from_, trigger)
            until = None
            if ob.until is not None:
                until = (Moment.make(event=ob.until, at=None, pending=True) if start is None
                         else self.moment(ob.until, _opening(start)))
            fields["window"] = Window.make(from_=from_, until=until)
        elif isinstance(ob, RetainObligation):
            if ob.indefinitely:
                fields["retain_until"] = "indefinite"
            elif ob.at_least is not None:
                fields["retain_until"] = self.day(ob.at_least, ob.after, trigger)
            elif ob.until is not None:
                fields["retain_until"] = self.day(None, ob.until, trigger)
            else:
                fields["legal_hold"] = True
                fields["retain_until"] = self.day(None, "legal_hold_released", trigger)
        elif isinstance(ob, DeleteObligation):
            fields["delete_by"] = self.day(ob.within, ob.after, trigger)
        elif isinstance(ob, AccessObligation):
            opening = self.anchor(ob.after, trigger) if ob.after else trigger
            fields.update(effect=ob.effect, role=list(ob.role), purpose=ob.purpose, window=Window.make(
                from_=self.moment(ob.after, trigger) if ob.after else None,
                until=self.moment(ob.before, _opening(opening)) if ob.before else None))
        elif isinstance(ob, ReleaseObligation):
            fields.update(effect=ob.effect, to=list(ob.to), redact=list(ob.redact) or None,
                          unedited=ob.unedited or None)
            if isinstance(ob.within, Duration):
                fields["by"] = self.day(ob.within, ob.after, trigger)
            elif ob.within == PROMPTLY:
                e = self.counted(ob.after, trigger)
                fields["promptly_after"] = Moment.make(event=e.type, at=self.ref(e).at, pending=False) \
                    if e is not None else Moment.make(event=_awaited(ob.after), at=None, pending=True)
            if ob.may_delay:
                fields["delays"] = [self.delay(d, ob.after, rule, k, cond, trigger)
                                    for k, (d, cond) in enumerate(zip(ob.may_delay, rule.delay_conditions,
                                                                      strict=True))]
        return Obligation.make(**fields)


def _awaited(anchor: str | Earliest | None) -> str:
    return " or ".join(anchor.earliest) if isinstance(anchor, Earliest) else (anchor or "")


def _opening(e: Event | None) -> Event | None:
    """A stand-in trigger for finding a window's closing edge: any type, at the opening's place."""
    return None if e is None else Event("", e.at, {}, e.index, e.position)


def judging_date(program: Program, incident: Incident, zone: Any) -> date | None:
    """The day that decides whether (and which version of) a ruleset judges the incident."""
    anchor = program.ruleset.version_date
    events = incident.events if anchor == INCIDENT else incident.by_type.get(anchor, ())
    if not events:
        return None
    try:
        return events[0].at.astimezone(zone).date()
    except BEYOND_CALENDAR:
        e = events[0]
        raise IncidentError([Problem(
            incident.id, f"events[{e.index}].at",
            f"{e.at.isoformat()} falls outside years 1 to 9999 in the time zone of ruleset "
            f"{quoted(program.ref)} ({quoted(str(getattr(zone, 'key', zone)))}), beyond the calendar this "
            "engine counts in, so the day that decides which version judges the incident has no date",
            "check the event's date and offset")]) from None


def beyond_calendar(incident: Incident, rule: CompiledRule | None, e: Event, duration: Duration,
                    zone: str) -> IncidentError:
    """The error for a date a rule counts from an event that falls outside years 1 to 9999."""
    who = f"rule {quoted(rule.id)}" if rule is not None else "a rule"
    return IncidentError([Problem(
        incident.id, f"events[{e.index}].at",
        f"{who} counts {duration} from this event ({e.at.isoformat()}, in time zone {quoted(zone)}): that date "
        "falls outside years 1 to 9999, beyond the calendar this engine counts in",
        "check the event's date; if the time is right, the rule's duration is too long to give a date")])


def in_force(program: Program, incident: Incident, zone: Any) -> bool:
    day = judging_date(program, incident, zone)
    return day is not None and program.ruleset.effective.covers(day)


@dataclass(frozen=True)
class Layer:
    """One ruleset version's contribution to a decision."""

    program: Program
    role: Literal["selected", "base", "amendment", "conduct"]
    in_force: bool
    obligations: list[Obligation]
    rank: int  # 0 for the most fundamental layer (a statute that others extend)


def obligations_for(program: Program, known: Incident, ctx: Context, firings: Iterable[tuple[int, int | None]],
                    only: frozenset[str] | None = None, *, explain: bool = True) -> list[Obligation]:
    """The obligations the firings impose; `explain=False` leaves out which facts and events matched."""
    builder = _Builder(program, known, ctx, explain=explain)
    return [builder.obligation(program.rules[pos], known.events[tpos] if tpos is not None else None)
            for pos, tpos in sorted(firings, key=lambda f: (f[0], -1 if f[1] is None else f[1]))
            if only is None or program.rules[pos].id in only]


def decision_id(programs: Iterable[Program], incident: Incident, as_of: datetime) -> str:
    payload = json.dumps([[p.digest for p in programs], incident.to_json(), as_of.isoformat()], sort_keys=True,
                         separators=(",", ":"), ensure_ascii=False)
    return "dec-" + hashlib.sha256(payload.encode()).hexdigest()[:32]


def assemble(incident: Incident, known: Incident, as_of: datetime, layers: list[Layer]) -> Decision:
    """Combine the layers' obligations, settle precedence, summarise. `layers[0]` is the selected version."""
    selected = layers[0]
    replaced = {r for layer in layers if layer.role == "amendment" and layer.in_force for r in _rule_ids(layer)}
    obligations: list[Obligation] = []
    for layer in sorted(layers, key=lambda lay: lay.rank):
        if not layer.in_force and layer.role not in ("amendment", "conduct"):
            continue
        for o in layer.obligations:
            if layer.role not in ("amendment", "conduct") and o.rule in replaced \
                    and o.ruleset == selected.program.ref:
                continue  # the later version's rule of the same id governs existing footage
            obligations.append(o)
    conflicts = settle(layers, obligations, lambda: {e.index: e.attributes.get("officer") for e in known.events})
    rs = selected.program.ruleset
    return Decision.make(
        decision_id=decision_id([lay.program for lay in layers], incident, as_of),
        incident_id=incident.id,
        as_of=as_of.isoformat(),
        ruleset=RulesetRef.make(id=rs.ruleset, version=rs.version, digest=selected.program.digest),
        in_force=selected.in_force,
        layers=[LayerRef.make(
            id=lay.program.ruleset.ruleset, version=lay.program.ruleset.version, digest=lay.program.digest,
            role="amendment" if lay.role == "selected" else lay.role, in_force=lay.in_force,
            rules=sorted(_rule_ids(lay)) if lay.role in ("amendment", "conduct") else None)
            for lay in layers[1:]],
        obligations=obligations,
        summary=summarise(obligations, known),
        conflicts=conflicts,
    )


def _rule_ids(layer: Layer) -> set[str]:
    if layer.role == "conduct":
        return {r.id for r in layer.program.rules if r.rule.governs is Governs.CONDUCT}
    return {r.id for r in layer.program.rules if r.rule.applies_to_existing_footage}


# --- conduct: rules judged by the version in force when an action is taken ---------------------------

def in_force_span(program: Program, zone: Any) -> tuple[datetime, datetime | None]:
    """The instants a version is in force: from the start of its first day to the last microsecond of its
    last day (inclusive, as `effective.until` is), in its time zone; None for no end."""
    eff = program.ruleset.effective
    start = datetime.combine(eff.from_, time(0), zone)
    end = None if eff.until is None else datetime.combine(eff.until, time(23, 59, 59, 999999), zone)
    return start, end


def bound_to_version(obligations: list[Obligation], program: Program, zone: Any) -> list[Obligation]:
    """Conduct obligations with their windows cut to the instants the version was in force; an obligation
    whose window lies wholly outside them is dropped (no action it bounds could break it)."""
    start, end = in_force_span(program, zone)
    v0 = _instant(start.isoformat())
    v1 = _FAR if end is None else _instant(end.isoformat())
    out: list[Obligation] = []
    for o in obligations:
        w = o.window
        from_, until = (w.from_, w.until) if w is not None else (None, None)
        if from_ is not None and from_.pending:
            out.append(o)  # not open yet: it may open only while the version is in force, or never
            continue
        lo = _OPEN_START if from_ is None or not from_.at else _instant(from_.at)
        if lo < v0:
            from_, lo = Moment.make(at=start.isoformat()), v0
        if until is not None and until.at and not until.pending:
            hi = _instant(until.at)
            if hi > v1:
                until, hi = Moment.make(at=end.isoformat() if end is not None else None), v1
        elif end is not None:
            # open, or closing at an event that had not happened as of the decision: the version's end
            # comes first (or, while the version is still in force, the as-of time does)
            until, hi = Moment.make(at=end.isoformat()), v1
        else:
            hi = _FAR
        if lo > hi:
            continue
        o.window = Window.make(from_=from_, until=until)
        out.append(o)
    return out


# --- evidence: which events and facts satisfied a condition, read from its trace -------------------

def evidence(cond: Cond, trace: Trace, facts: Mapping[str, Any]) -> Matched:
    """The facts and events that satisfied `cond`, as its traced evaluation found them: every part of an
    `all`, the parts of an `any` up to the first that held; only atoms that are not negated match events."""
    events: dict[int, Event] = {}
    values: dict[str, Any] = {}
    _collect(cond, trace, facts, events, values)
    return Matched.make(events=[_ref(e) for _, e in sorted(events.items())], facts=values)


def _collect(cond: Cond, trace: Trace, facts: Mapping[str, Any], events: dict[int, Event],
             values: dict[str, Any]) -> bool:
    if isinstance(cond, Const):
        return cond.value
    held = trace.held(cond)
    if isinstance(cond, FactTest):
        if held and cond.test.name in facts:
            values[cond.test.name] = facts[cond.test.name]
    elif isinstance(cond, And):
        for c in cond.items:
            _collect(c, trace, facts, events, values)
    elif isinstance(cond, Or):
        for c in cond.items:
            if _collect(c, trace, facts, events, values):
                break
    elif not cond.negated:  # an event atom or a sequence
        found = trace.found(cond)
        if isinstance(cond, EventAtom):
            found = found[:1]
        events.update((e.position, e) for e in found)
    return held


def since(cond: Cond, trace: Trace) -> Event | None:
    """The first event at which a condition that holds as of the decision came to hold; None when it held
    from the start (it needs no event: facts, or only the absence of events). Read from its trace.

    Each positive event atom holds from its first matching event, and a sequence from the last step of its
    earliest-ending match; facts and negated atoms keep the value they have as of the decision (as `when`
    and `unless` always do), so they hold from the start. `all` holds from the latest of its parts, `any`
    from the earliest of those that hold.
    """
    return _since(cond, trace)[1]


_NEVER: tuple[bool, Event | None] = (False, None)
_START: tuple[bool, Event | None] = (True, None)


def _since(cond: Cond, trace: Trace) -> tuple[bool, Event | None]:
    if isinstance(cond, Const):
        return _START if cond.value else _NEVER
    if isinstance(cond, FactTest) or (isinstance(cond, EventAtom | SequenceAtom) and cond.negated):
        return _START if trace.held(cond) else _NEVER
    if isinstance(cond, EventAtom):
        found = trace.found(cond)
        return _NEVER if not found else (True, found[0])
    if isinstance(cond, SequenceAtom):
        found = trace.found(cond)
        return _NEVER if not found else (True, found[-1])
    if isinstance(cond, And):
        latest: Event | None = None
        for c in cond.items:
            ok, e = _since(c, trace)
            if not ok:
                return _NEVER
            if e is not None and (latest is None or e.position > latest.position):
                latest = e
        return (True, latest)
    best: tuple[bool, Event | None] = _NEVER
    for c in cond.items:
        ok, e = _since(c, trace)
        if ok and (e is None or not best[0] or (best[1] is not None and e.position < best[1].position)):
            best = (True, e)
            if e is None:
                break
    return best


# --- precedence and conflicts --------------------------------------------------------------------

# Window bounds are compared as whole microseconds since 0001-01-01T00:00 UTC: exact, and defined for
# every time the reader accepts (an ISO text converted to UTC could leave the calendar and fail).
_OPEN_START = -(1 << 62)  # a window with no opening edge starts before every event
_FAR = 1 << 62  # a window with no closing edge ends after every event
_MICROSECOND = timedelta(microseconds=1)

Span = tuple[int, int] | None


def _instant(text: str) -> int:
    t = datetime.fromisoformat(text)
    local = ((t.toordinal() * 86400 + t.hour * 3600 + t.minute * 60 + t.second) * 1_000_000 + t.microsecond)
    offset = t.utcoffset()
    return local - (offset // _MICROSECOND if offset is not None else 0)


def _span(w: Window | None) -> Span:
    """The window as comparable UTC bounds, or None when it has not opened."""
    if w is None:
        return (_OPEN_START, _FAR)
    if w.from_ is not None and w.from_.pending:
        return None
    start = _instant(w.from_.at) if w.from_ is not None and w.from_.at else _OPEN_START
    end = _instant(w.until.at) if w.until is not None and w.until.at else _FAR
    return (start, end)


def _overlap(sa: Span, sb: Span) -> bool:
    if sa is None or sb is None:
        return False
    return sa[0] <= sb[1] and sb[0] <= sa[1]


def _covers(ws: Span, ls: Span) -> bool:
    assert ws is not None and ls is not None
    return ws[0] <= ls[0] and ls[1] <= ws[1]


def _precede(winner: Obligation, loser: Obligation, ws: Span, ls: Span) -> None:
    """The winner takes precedence where the windows overlap: over all of the loser's window, or a part."""
    assert ws is not None and ls is not None
    if _covers(ws, ls):
        loser.overridden_by = winner.rule
        return
    wf = winner.window.from_ if winner.window else None
    lf = loser.window.from_ if loser.window else None
    wu = winner.window.until if winner.window else None
    lu = loser.window.until if loser.window else None
    part = Suspension.make(
        from_=wf if ws[0] >= ls[0] else lf,
        until=wu if ws[1] <= ls[1] else lu,
        rule=winner.rule,
    )
    loser.suspended = [*(loser.suspended or []), part]


def _same_subject(a: Obligation, b: Obligation) -> bool:
    if a.kind == "access":
        return bool(set(a.role or ()) & set(b.role or ())) and (
            a.purpose is None or b.purpose is None or a.purpose == b.purpose)
    if a.kind == "release":
        return bool(set(a.to or ()) & set(b.to or ()))
    return True


def _contradict(a: Obligation, b: Obligation) -> bool:
    effects = {a.effect, b.effect}
    if Effect.MUST_NOT not in effects or len(effects) == 1:
        return False
    return a.kind == "access" or Effect.MAY not in effects


# --- finding overlapping windows without comparing every pair -------------------------------------
#
# Every obligation of one rule has the same kind, effect and subject, so whether two obligations can
# interact (and which takes precedence) is a question about their two rules; only the windows differ
# per obligation. Pairs are therefore looked up by window, rule against rule, with two search trees,
# so the work is (obligations + pairs that change the decision) x log(obligations), not
# obligations x obligations. The pairs found are applied in the order a plain double loop over the
# obligations would visit them, so the decision is the same, byte for byte.

_DIRECT = 64  # below this many pairs of two rules' obligations, comparing them all is cheaper


class _Reporter:
    """Items ordered by one key; reports those in a range of that order whose value is at least a bound.

    A segment tree holding each part's largest value: a part whose largest value is below the bound
    is skipped whole, so a query costs log(items) per item reported.
    """

    def __init__(self, keys: Sequence[int], values: Sequence[int], items: Sequence[int]) -> None:
        order = sorted(range(len(keys)), key=lambda k: (keys[k], items[k]))
        self.keys = [keys[k] for k in order]
        self.items = [items[k] for k in order]
        size = 1
        while size < len(order):
            size *= 2
        self.size = size
        tree = [_OPEN_START] * (2 * size)
        for n, k in enumerate(order):
            tree[size + n] = values[k]
        for n in range(size - 1, 0, -1):
            tree[n] = max(tree[2 * n], tree[2 * n + 1])
        self.tree = tree

    def report(self, lo: int, hi: int, bound: int, out: list[int]) -> None:
        """Append the items at places lo..hi-1 (in key order) whose value is at least `bound`."""
        tree, size = self.tree, self.size
        stack = [(1, 0, size)]
        while stack:
            node, left, right = stack.pop()
            if right <= lo or hi <= left or tree[node] < bound:
                continue
            if node >= size:
                out.append(self.items[node - size])
                continue
            mid = (left + right) // 2
            stack.append((2 * node + 1, mid, right))
            stack.append((2 * node, left, mid))


def _overlapping(a_items: list[int], b_items: list[int], spans: list[Span]) -> list[tuple[int, int]]:
    """Every pair (a, b) of the two lists whose windows overlap."""
    out: list[tuple[int, int]] = []
    if len(a_items) * len(b_items) <= _DIRECT:
        return [(a, b) for a in a_items for b in b_items if _overlap(spans[a], spans[b])]
    starts = [_bounds(spans[a])[0] for a in a_items]
    tree = _Reporter(starts, [_bounds(spans[a])[1] for a in a_items], a_items)
    for b in b_items:
        sb = _bounds(spans[b])
        found: list[int] = []
        # a overlaps b when a starts no later than b ends and ends no earlier than b starts
        tree.report(0, bisect_right(tree.keys, sb[1]), sb[0], found)
        out.extend((a, b) for a in found)
    return out


def _bounds(s: Span) -> tuple[int, int]:
    assert s is not None
    return s


def _partial(winners: list[int], losers: list[int], spans: list[Span]) -> list[tuple[int, int]]:
    """Every pair (winner, loser) whose windows overlap where the winner's does not cover the loser's."""
    if len(winners) * len(losers) <= _DIRECT:
        return [(w, lo) for w in winners for lo in losers
                if _overlap(spans[w], spans[lo]) and not _covers(spans[w], spans[lo])]
    ws = [_bounds(spans[w]) for w in winners]
    # (1) the winner starts inside the loser (after its start): ordered by start, ends at or after it
    by_start = _Reporter([s[0] for s in ws], [s[1] for s in ws], winners)
    # (2) the winner starts at or before the loser and ends inside it (before its end): ordered by
    # end, starts at or before the loser's start (a largest value of minus the start)
    by_end = _Reporter([s[1] for s in ws], [-s[0] for s in ws], winners)
    out: list[tuple[int, int]] = []
    for lo in losers:
        ls = _bounds(spans[lo])
        found: list[int] = []
        by_start.report(bisect_right(by_start.keys, ls[0]), bisect_right(by_start.keys, ls[1]), ls[0], found)
        by_end.report(bisect_left(by_end.keys, ls[0]), bisect_left(by_end.keys, ls[1]), -ls[0], found)
        out.extend((w, lo) for w in found)
    return out


def _last_covering(winners: list[int], losers: list[int], spans: list[Span]) -> list[tuple[int, int]]:
    """For each loser, the winner (the latest in the list of obligations) whose window covers it."""
    if len(winners) * len(losers) <= _DIRECT:
        out = []
        for lo in losers:
            found = [w for w in winners if _covers(spans[w], spans[lo]) and _overlap(spans[w], spans[lo])]
            if found:
                out.append((max(found), lo))
        return out
    # Losers by end, latest first; winners ending at or after it go into a tree by start that keeps
    # the latest winner per prefix of starts (a Fenwick tree of maxima).
    # A winner covering a loser it overlaps starts no later than either of the loser's bounds and ends
    # no earlier than either (for a well-formed window: its start and its end).
    starts = sorted({_bounds(spans[w])[0] for w in winners})
    fenwick = [-1] * (len(starts) + 1)
    by_end = sorted(winners, key=lambda w: -_bounds(spans[w])[1])
    out = []
    k = 0
    for lo in sorted(losers, key=lambda x: -max(_bounds(spans[x]))):
        ls = (min(_bounds(spans[lo])), max(_bounds(spans[lo])))
        while k < len(by_end) and _bounds(spans[by_end[k]])[1] >= ls[1]:
            w = by_end[k]
            n = bisect_left(starts, _bounds(spans[w])[0]) + 1
            while n <= len(starts):
                fenwick[n] = max(fenwick[n], w)
                n += n & -n
            k += 1
        best = -1
        n = bisect_right(starts, ls[0])
        while n > 0:
            best = max(best, fenwick[n])
            n -= n & -n
        if best >= 0:
            out.append((best, lo))
    return out


def _own_pairs(winners: list[int], losers: list[int], spans: list[Span],
               compatible: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """`_partial` and `_last_covering` for a rule with `same_officer`, among compatible pairs only (one pair
    at a time: such rules are one officer's pauses, few per incident)."""
    out: list[tuple[int, int]] = []
    for lo in losers:
        mine = [w for w in winners if compatible(w, lo) and _overlap(spans[w], spans[lo])]
        out += [(w, lo) for w in mine if not _covers(spans[w], spans[lo])]
        covering = [w for w in mine if _covers(spans[w], spans[lo])]
        if covering:
            out.append((max(covering), lo))
    return out


def _runs(items: list[Obligation]) -> list[list[int]]:
    """The obligations in runs of one rule (consecutive, with the same rule, ruleset and subject)."""
    runs: list[list[int]] = []
    last: tuple[Any, ...] | None = None
    for i, o in enumerate(items):
        key = (o.ruleset, o.rule, o.kind, o.effect, tuple(o.role or ()), o.purpose, tuple(o.to or ()))
        if key != last:
            runs.append([])
            last = key
        runs[-1].append(i)
    return runs


def settle(layers: list[Layer], obligations: list[Obligation],
           officers: Callable[[], Mapping[int, Any]] = dict) -> list[Conflict]:
    """Apply legal holds, `overrides` and layer precedence; return every contradiction and how it was settled.

    `officers` gives the `officer` of each event by its index, read only for rules with `same_officer`.
    """
    overrides = {(lay.program.ref, r.id): r.overrides for lay in layers for r in lay.program.rules}
    scoped = {(lay.program.ref, r.id) for lay in layers for r in lay.program.rules if r.rule.same_officer}
    rank = {lay.program.ref: lay.rank for lay in layers}
    conflicts: list[Conflict] = []
    named: Mapping[int, Any] | None = None

    def officer(o: Obligation) -> Any:
        nonlocal named
        if named is None:
            named = officers()
        return named.get(o.trigger.index) if o.trigger is not None else None

    def compatible(w: int, lo: int) -> bool:
        """One officer's rule (`same_officer`) takes precedence only over that officer's obligations."""
        a, b = officer(windowed[w]), officer(windowed[lo])
        return a is None or b is None or a == b

    def winner(a: Obligation, b: Obligation, contradictory: bool) -> tuple[Obligation | None, Resolution]:
        if b.rule in overrides.get((a.ruleset, a.rule), ()):
            return a, "overrides"
        if a.rule in overrides.get((b.ruleset, b.rule), ()):
            return b, "overrides"
        if contradictory and rank[a.ruleset] != rank[b.ruleset]:
            # The layer that others build on (a statute) sets the floor a department's policy cannot lower.
            return (a if rank[a.ruleset] < rank[b.ruleset] else b), "layer"
        return None, "unresolved"

    windowed = [o for o in obligations if o.kind in ("record", "notify", "access", "release")]
    spans = [_span(o.window) for o in windowed]
    opened = [i for i, s in enumerate(spans) if s is not None]  # a window not yet open overlaps nothing
    runs = _runs([windowed[i] for i in opened])
    runs = [[opened[i] for i in run] for run in runs]
    # What each pair of obligations does, keyed by their places (a before b), applied in that order.
    steps: list[tuple[int, int, Callable[[], None]]] = []
    for x, run_a in enumerate(runs):
        a0 = windowed[run_a[0]]
        for run_b in runs[x + 1:]:
            b0 = windowed[run_b[0]]
            if a0.kind != b0.kind or a0.rule == b0.rule or not _same_subject(a0, b0):
                continue
            contradictory = _contradict(a0, b0)
            w0, how = winner(a0, b0, contradictory)
            own = w0 is not None and how == "overrides" and (w0.ruleset, w0.rule) in scoped
            if contradictory:
                for i, j in _overlapping(run_a, run_b, spans):
                    if own and not compatible(i, j):
                        continue  # two officers' obligations: they do not contradict each other
                    steps.append((i, j, _conflict(windowed, spans, conflicts, i, j, w0 is a0, w0 is not None, how)))
            elif w0 is not None:
                wins, loses = (run_a, run_b) if w0 is a0 else (run_b, run_a)
                pairs = _own_pairs(wins, loses, spans, compatible) if own else \
                    _partial(wins, loses, spans) + _last_covering(wins, loses, spans)
                for w, lo in pairs:
                    steps.append((min(w, lo), max(w, lo), _suspend(windowed, spans, w, lo)))
    steps.sort(key=lambda s: (s[0], s[1]))
    for _, _, apply in steps:
        apply()

    retains = [o for o in obligations if o.kind == "retain"]
    deletes = [o for o in obligations if o.kind == "delete" and isinstance(o.delete_by, date)]
    holds = {k for k, r in enumerate(retains) if r.legal_hold and isinstance(r.retain_until, Pending)}
    # Retentions that outlast any deletion (indefinite, or a hold), and dated ones by date: each
    # deletion meets only the retentions that keep footage past it, found by a binary search.
    always = sorted(holds | {k for k, r in enumerate(retains) if r.retain_until == "indefinite"})
    dated = sorted((r.retain_until, k) for k, r in enumerate(retains)
                   if isinstance(r.retain_until, date) and k not in holds)
    days = [day for day, _ in dated]
    for d in deletes:
        assert isinstance(d.delete_by, date)
        later = [k for _, k in dated[bisect_right(days, d.delete_by):]]
        for k in sorted(always + later) if later else always:
            r = retains[k]
            keep = r.retain_until
            if k in holds:
                d.overridden_by = r.rule
                conflicts.append(Conflict.make(
                    kind="retention", rules=[r.rule, d.rule],
                    detail=f"a legal hold (`{r.rule}`) blocks deletion by {d.delete_by} (`{d.rule}`)",
                    resolution="legal_hold", winner=r.rule))
                continue
            prevails, how = winner(r, d, True)
            if prevails is not None:
                (d if prevails is r else r).overridden_by = prevails.rule
            conflicts.append(Conflict.make(
                kind="retention", rules=[r.rule, d.rule],
                detail=f"`{r.rule}` keeps footage until {keep}, but `{d.rule}` deletes it by {d.delete_by}",
                resolution=how if prevails else "unresolved", winner=prevails.rule if prevails else None))
    return conflicts


def _conflict(windowed: list[Obligation], spans: list[Span], conflicts: list[Conflict], i: int, j: int,
              first_wins: bool, settled: bool, how: Resolution) -> Callable[[], None]:
    def apply() -> None:
        a, b = windowed[i], windowed[j]
        if settled:
            w, lo = (i, j) if first_wins else (j, i)
            _precede(windowed[w], windowed[lo], spans[w], spans[lo])
        conflicts.append(Conflict.make(
            kind="effect", rules=[a.rule, b.rule],
            detail=f"{a.kind}: `{a.rule}` says {a.effect.value}, `{b.rule}` says {b.effect.value}",
            resolution=how if settled else "unresolved", winner=(a if first_wins else b).rule if settled else None))
    return apply


def _suspend(windowed: list[Obligation], spans: list[Span], w: int, lo: int) -> Callable[[], None]:
    return lambda: _precede(windowed[w], windowed[lo], spans[w], spans[lo])


def summarise(obligations: list[Obligation], incident: Incident) -> Summary:
    live = [o for o in obligations if o.overridden_by is None]
    ret = RetentionSummary.make(minimum=None, minimum_rules=[], pending=[], maximum=None,
                                           maximum_rules=[], legal_hold=False)
    for o in live:
        if o.kind == "retain":
            keep = o.retain_until
            if o.legal_hold and isinstance(keep, Pending):
                ret.legal_hold = True
            if isinstance(keep, Pending):
                if not o.legal_hold:
                    ret.pending.append(keep)
                continue
            if keep == ret.minimum:
                ret.minimum_rules.append(o.rule)
            elif ret.minimum is None or keep == "indefinite" or (
                    ret.minimum != "indefinite" and isinstance(keep, date) and isinstance(ret.minimum, date)
                    and keep > ret.minimum):
                ret.minimum, ret.minimum_rules = keep, [o.rule]
        elif o.kind == "delete" and isinstance(o.delete_by, date):
            if o.delete_by == ret.maximum:
                ret.maximum_rules.append(o.rule)
            elif ret.maximum is None or o.delete_by < ret.maximum:
                ret.maximum, ret.maximum_rules = o.delete_by, [o.rule]
    release: dict[str, ReleaseDeadline] = {}
    for o in live:
        if o.kind == "release" and o.effect is Effect.MUST and isinstance(o.by, date):
            for to in o.to or ():
                cur = release.get(to)
                if cur is None or o.by < cur.by:
                    release[to] = ReleaseDeadline.make(by=o.by, rules=[o.rule])
                elif o.by == cur.by and o.rule not in cur.rules:
                    cur.rules.append(o.rule)
    return Summary.make(retention=ret, release=dict(sorted(release.items())))
