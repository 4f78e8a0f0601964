"""Decisions: the obligations an incident carries under one ruleset version, as of a time.

`build_decision` turns a backend's firings (which rule fired, on which trigger event) into
obligations with concrete windows, dates and deadlines, then settles precedence (explicit
`overrides`, legal holds) and reports what nothing settled. It is pure: the same program,
incident, firings and as-of give the same Decision, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from engine.incident import Event, Incident
from engine.native import Context, compile_test, find_sequence
from engine.program import And, CompiledRule, Cond, Const, EventAtom, FactTest, Or, Program, SequenceAtom
from policy.base import Effect
from policy.duration import Duration
from policy.obligations import (
    INCIDENT,
    AccessObligation,
    DeleteObligation,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
)

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
    """Another ruleset version whose rules also apply: a `base` this one extends, or a later version's
    `amendment` that applies to existing footage."""

    role: Literal["base", "amendment"]
    in_force: bool
    rules: list[str] | None = Field(default=None, description="For an amendment: the rules that apply.")


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
        start = trigger.position if trigger is not None else -1
        return next((e for e in candidates if e.position >= start), None)

    def ref(self, e: Event) -> EventRef:
        found = self._refs.get(e.position)
        if found is None:
            found = self._refs[e.position] = _ref(e)
        return found

    def evidence(self, rule: CompiledRule) -> Matched:
        # A rule's conditions do not depend on its trigger: one answer serves all its firings.
        found = self._evidence.get(rule.position)
        if found is None:
            found = self._evidence[rule.position] = evidence(rule.condition, self.ctx)
        return found

    def moment(self, name: str | None, trigger: Event | None) -> Moment | None:
        if name is None and trigger is None:
            return None
        e = self.anchor(name, trigger)
        if e is None:
            return Moment.make(event=name, at=None, pending=True)
        return Moment.make(event=e.type, at=self.ref(e).at, pending=False)

    def day(self, duration: Duration | None, anchor_name: str | None, trigger: Event | None) -> DateOrPending:
        e = self.anchor(anchor_name, trigger, counted=True)
        d = duration or Duration()
        if e is None:
            return Pending.make(pending=anchor_name or "", then=str(d))
        return d.add_to(e.at.astimezone(self.ctx.zone), self.holidays).date()

    def obligation(self, rule: CompiledRule, trigger: Event | None) -> Obligation:
        r = rule.rule
        ob = r.obligation
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
            if ob.within is not None:
                fields["by"] = self.day(ob.within, ob.after, trigger)
            if ob.may_delay:
                fields["delays"] = [
                    Delay.make(
                        until="indefinite" if d.up_to == "indefinitely" else self.day(
                            d.up_to if isinstance(d.up_to, Duration) else None, d.after or ob.after, trigger),
                        available=_collect(cond, self.ctx, {}, {}),
                        requires=list(d.requires),
                        reassess_every=str(d.reassess_every) if d.reassess_every else None,
                    )
                    for d, cond in zip(ob.may_delay, rule.delay_conditions, strict=True)
                ]
        return Obligation.make(**fields)


def _opening(e: Event | None) -> Event | None:
    """A stand-in trigger for finding a window's closing edge: any type, at the opening's place."""
    return None if e is None else Event("", e.at, {}, e.index, e.position)


def judging_date(program: Program, incident: Incident, zone: Any) -> date | None:
    """The day that decides whether (and which version of) a ruleset judges the incident."""
    anchor = program.ruleset.version_date
    events = incident.events if anchor == INCIDENT else incident.by_type.get(anchor, ())
    return events[0].at.astimezone(zone).date() if events else None


def in_force(program: Program, incident: Incident, zone: Any) -> bool:
    day = judging_date(program, incident, zone)
    return day is not None and program.ruleset.effective.covers(day)


@dataclass(frozen=True)
class Layer:
    """One ruleset version's contribution to a decision."""

    program: Program
    role: Literal["selected", "base", "amendment"]
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
        if not layer.in_force and layer.role != "amendment":
            continue
        for o in layer.obligations:
            if layer.role != "amendment" and o.rule in replaced and o.ruleset == selected.program.ref:
                continue  # the later version's rule of the same id governs existing footage
            obligations.append(o)
    conflicts = settle(layers, obligations)
    rs = selected.program.ruleset
    return Decision.make(
        decision_id=decision_id([lay.program for lay in layers], incident, as_of),
        incident_id=incident.id,
        as_of=as_of.isoformat(),
        ruleset=RulesetRef.make(id=rs.ruleset, version=rs.version, digest=selected.program.digest),
        in_force=selected.in_force,
        layers=[LayerRef.make(
            id=lay.program.ruleset.ruleset, version=lay.program.ruleset.version, digest=lay.program.digest,
            role="base" if lay.role == "base" else "amendment", in_force=lay.in_force,
            rules=sorted(_rule_ids(lay)) if lay.role == "amendment" else None) for lay in layers[1:]],
        obligations=obligations,
        summary=summarise(obligations, known),
        conflicts=conflicts,
    )


def _rule_ids(layer: Layer) -> set[str]:
    return {r.id for r in layer.program.rules if r.rule.applies_to_existing_footage}


# --- evidence: which events and facts satisfied a condition ------------------------------------

def evidence(cond: Cond, ctx: Context) -> Matched:
    events: dict[int, Event] = {}
    facts: dict[str, Any] = {}
    _collect(cond, ctx, events, facts)
    return Matched.make(events=[_ref(e) for _, e in sorted(events.items())], facts=facts)


def _collect(cond: Cond, ctx: Context, events: dict[int, Event], facts: dict[str, Any]) -> bool:
    if isinstance(cond, Const):
        return cond.value
    if isinstance(cond, FactTest):
        ok = compile_test(cond.test)(ctx.facts)
        if ok and cond.test.name in ctx.facts:
            facts[cond.test.name] = ctx.facts[cond.test.name]
        return ok
    if isinstance(cond, And):
        return all([_collect(c, ctx, events, facts) for c in cond.items])
    if isinstance(cond, Or):
        return any(_collect(c, ctx, events, facts) for c in cond.items)
    if isinstance(cond, EventAtom):
        checks = [compile_test(t) for t in cond.tests]
        match = next((e for e in ctx.by_type.get(cond.type, ()) if all(c(e.attributes) for c in checks)), None)
        if match is not None and not cond.negated:
            events[match.position] = match
        return (match is None) == cond.negated
    if isinstance(cond, SequenceAtom):
        steps = [(s.type, _checks(s)) for s in cond.steps]
        chain = find_sequence(ctx, steps, cond.within)
        if chain is not None and not cond.negated:
            events.update((e.position, e) for e in chain)
        return (chain is None) == cond.negated
    raise TypeError(cond)


def _checks(atom: EventAtom) -> Any:
    checks = [compile_test(t) for t in atom.tests]
    return (lambda d: all(c(d) for c in checks)) if checks else None




# --- precedence and conflicts --------------------------------------------------------------------

_FAR = "9999-12-31T23:59:59+00:00"


Span = tuple[str, str] | None


def _span(w: Window | None) -> Span:
    """The window as comparable UTC bounds, or None when it has not opened."""
    if w is None:
        return ("", _FAR)
    if w.from_ is not None and w.from_.pending:
        return None
    start = _utc(w.from_.at) if w.from_ is not None and w.from_.at else ""
    end = _utc(w.until.at) if w.until is not None and w.until.at else _FAR
    return (start, end)


def _utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


def _overlap(sa: Span, sb: Span) -> bool:
    if sa is None or sb is None:
        return False
    return sa[0] <= sb[1] and sb[0] <= sa[1]


def _precede(winner: Obligation, loser: Obligation, ws: Span, ls: Span) -> None:
    """The winner takes precedence where the windows overlap: over all of the loser's window, or a part."""
    assert ws is not None and ls is not None
    if ws[0] <= ls[0] and ls[1] <= ws[1]:
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


def settle(layers: list[Layer], obligations: list[Obligation]) -> list[Conflict]:
    """Apply legal holds, `overrides` and layer precedence; return every contradiction and how it was settled."""
    overrides = {(lay.program.ref, r.id): r.overrides for lay in layers for r in lay.program.rules}
    rank = {lay.program.ref: lay.rank for lay in layers}
    conflicts: list[Conflict] = []
    how: dict[tuple[str, str], Resolution] = {}

    def winner(a: Obligation, b: Obligation, contradictory: bool) -> Obligation | None:
        if b.rule in overrides.get((a.ruleset, a.rule), ()):
            how[(a.rule, b.rule)] = how[(b.rule, a.rule)] = "overrides"
            return a
        if a.rule in overrides.get((b.ruleset, b.rule), ()):
            how[(a.rule, b.rule)] = how[(b.rule, a.rule)] = "overrides"
            return b
        if contradictory and rank[a.ruleset] != rank[b.ruleset]:
            # The layer that others build on (a statute) sets the floor a department's policy cannot lower.
            how[(a.rule, b.rule)] = how[(b.rule, a.rule)] = "layer"
            return a if rank[a.ruleset] < rank[b.ruleset] else b
        return None

    windowed = [o for o in obligations if o.kind in ("record", "notify", "access", "release")]
    spans = [_span(o.window) for o in windowed]
    for i, a in enumerate(windowed):
        for j in range(i + 1, len(windowed)):
            b = windowed[j]
            if a.kind != b.kind or a.rule == b.rule or not _same_subject(a, b) or not _overlap(spans[i], spans[j]):
                continue
            contradictory = _contradict(a, b)
            w = winner(a, b, contradictory)
            if w is not None:
                _precede(w, b if w is a else a, *((spans[i], spans[j]) if w is a else (spans[j], spans[i])))
            if contradictory:
                conflicts.append(Conflict.make(
                    kind="effect", rules=[a.rule, b.rule],
                    detail=f"{a.kind}: `{a.rule}` says {a.effect.value}, `{b.rule}` says {b.effect.value}",
                    resolution=how[(a.rule, b.rule)] if w else "unresolved", winner=w.rule if w else None))

    retains = [o for o in obligations if o.kind == "retain"]
    deletes = [o for o in obligations if o.kind == "delete" and isinstance(o.delete_by, date)]
    holds = [o for o in retains if o.legal_hold and isinstance(o.retain_until, Pending)]
    for d in deletes:
        assert isinstance(d.delete_by, date)
        for r in retains:
            keep = r.retain_until
            if not (keep == "indefinite" or (isinstance(keep, date) and keep > d.delete_by)
                    or (r in holds)):
                continue
            if r in holds:
                d.overridden_by = r.rule
                conflicts.append(Conflict.make(
                    kind="retention", rules=[r.rule, d.rule],
                    detail=f"a legal hold (`{r.rule}`) blocks deletion by {d.delete_by} (`{d.rule}`)",
                    resolution="legal_hold", winner=r.rule))
                continue
            w = winner(r, d, True)
            if w is not None:
                (d if w is r else r).overridden_by = w.rule
            conflicts.append(Conflict.make(
                kind="retention", rules=[r.rule, d.rule],
                detail=f"`{r.rule}` keeps footage until {keep}, but `{d.rule}` deletes it by {d.delete_by}",
                resolution=how[(r.rule, d.rule)] if w else "unresolved", winner=w.rule if w else None))
    return conflicts


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
