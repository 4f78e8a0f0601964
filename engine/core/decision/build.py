"""Building obligations: each firing (a rule, on its trigger event) as an obligation with concrete dates.

Windows, retention and deletion dates, release deadlines and delays are counted from the incident's
events in the ruleset's time zone; `matched` (the evidence) is read from the evaluator's trace.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import date
from functools import partial

from engine.core.decision.evidence import evidence, since
from engine.core.decision.model import (
    DateOrPending,
    DeferredMatched,
    Delay,
    EventRef,
    Matched,
    Moment,
    Obligation,
    Pending,
    Window,
    event_ref,
)
from engine.core.evaluation import BEYOND_CALENDAR, Context, Trace, predicate_of, traced_of
from engine.core.incident import Event, Incident, IncidentError, Problem
from engine.core.program import CompiledRule, Cond, Const, Program
from policy.duration import Duration
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


class _Builder:
    def __init__(self, program: Program, incident: Incident, ctx: Context, *, explain: bool = True) -> None:
        self.explain = explain
        self.program = program
        self.incident = incident
        self.ctx = ctx
        self.holidays = program.ruleset.holidays
        self.heads = program.heads
        self._refs: dict[int, EventRef] = {}
        self._evidence: dict[int, Matched] = {}
        self._traces: dict[int, Trace] = {}
        self._delays: dict[tuple[int, int], bool] = {}
        self._positions: dict[str, list[int]] = {}
        self._since: dict[int, Event | None] = {}
        self._days: dict[int, date] = {}
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
            found = self._refs[e.position] = event_ref(e)
        return found

    def trace(self, rule: CompiledRule) -> Trace:
        """What evaluating the rule's condition showed (the evaluator's trace, taken once per rule: a
        rule's condition does not depend on its trigger)."""
        found = self._traces.get(rule.position)
        if found is None:
            found = self._traces[rule.position] = Trace()
            if not isinstance(rule.condition, Const):  # a constant is read without a trace
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
            return Moment(event=name, at=None, pending=True)
        return Moment(event=e.type, at=self.ref(e).at, pending=False)

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
        if isinstance(anchor, Earliest):  # the first of the earliest (a loop: most rules of some rulesets ask)
            first: Event | None = None
            for name in anchor.earliest:
                e = self.counted(name, trigger)
                if e is not None and (first is None or e.position < first.position):
                    first = e
            return first
        if anchor == RULE_APPLIES:
            return self.applies(trigger)
        return self.anchor(anchor, trigger, counted=True)

    def day(self, duration: Duration | None, anchor_name: str | Earliest | None,
            trigger: Event | None) -> DateOrPending:
        e = self.counted(anchor_name, trigger)
        d = duration or _NO_TIME
        if e is None:
            return Pending(pending=_awaited(anchor_name), then=str(d))
        try:
            if d.whole_days:  # the date alone decides it: counted from the event's local day
                return d.add_to_day(self.local_day(e), self.holidays)
            return d.add_to(e.at.astimezone(self.ctx.zone), self.holidays).date()
        except BEYOND_CALENDAR:
            raise beyond_calendar(self.incident, self.rule, e, d, self.ctx.zone.key) from None

    def local_day(self, e: Event) -> date:
        """The event's date in the ruleset's time zone (several rules count from the same event)."""
        found = self._days.get(e.position)
        if found is None:
            found = self._days[e.position] = e.at.astimezone(self.ctx.zone).date()
        return found

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
                ends = Moment(event=e.type, at=self.ref(e).at, pending=False)
                day = e.at.astimezone(self.ctx.zone).date()
                if not isinstance(until, date) or day < until:
                    until = day
            else:
                ends = Moment(event=d.ends_on, at=None, pending=True)
        return Delay(until=until, available=self.delay_available(rule, k, cond), requires=list(d.requires),
                          reassess_every=str(d.reassess_every) if d.reassess_every else None, ends_on=ends)

    def obligation(self, rule: CompiledRule, trigger: Event | None) -> Obligation:
        ob = rule.obligation
        self.rule = rule
        head = self.heads[rule.position]
        trig = self.ref(trigger) if trigger is not None else None
        matched = DeferredMatched(partial(self.evidence, rule)) if self.explain else Matched()
        if isinstance(ob, RetainObligation):
            if ob.indefinitely:
                return Obligation(**head, trigger=trig, matched=matched, retain_until="indefinite")
            if ob.at_least is not None:
                return Obligation(**head, trigger=trig, matched=matched,
                                  retain_until=self.day(ob.at_least, ob.after, trigger))
            if ob.until is not None:
                return Obligation(**head, trigger=trig, matched=matched, retain_until=self.day(None, ob.until, trigger))
            return Obligation(**head, trigger=trig, matched=matched, legal_hold=True,
                              retain_until=self.day(None, "legal_hold_released", trigger))
        if isinstance(ob, ReleaseObligation):
            by: DateOrPending | None = None
            promptly: Moment | None = None
            if isinstance(ob.within, Duration):
                by = self.day(ob.within, ob.after, trigger)
            elif ob.within == PROMPTLY:
                e = self.counted(ob.after, trigger)
                promptly = Moment(event=e.type, at=self.ref(e).at, pending=False) if e is not None \
                    else Moment(event=_awaited(ob.after), at=None, pending=True)
            delays = [self.delay(d, ob.after, rule, k, cond, trigger)
                      for k, (d, cond) in enumerate(zip(ob.may_delay, rule.delay_conditions, strict=True))] \
                if ob.may_delay else None
            return Obligation(**head, trigger=trig, matched=matched, to=list(ob.to), redact=list(ob.redact) or None,
                              by=by, promptly_after=promptly, delays=delays)
        if isinstance(ob, WindowObligation):
            start = self.anchor(ob.from_, trigger)
            until = None
            if ob.until is not None:
                until = (Moment(event=ob.until, at=None, pending=True) if start is None
                         else self.moment(ob.until, _opening(start)))
            return Obligation(**head, trigger=trig, matched=matched,
                              window=Window(from_=self.moment(ob.from_, trigger), until=until))
        if isinstance(ob, DeleteObligation):
            return Obligation(**head, trigger=trig, matched=matched, delete_by=self.day(ob.within, ob.after, trigger))
        assert isinstance(ob, AccessObligation)
        opening = self.anchor(ob.after, trigger) if ob.after else trigger
        return Obligation(**head, trigger=trig, matched=matched, role=list(ob.role), window=Window(
            from_=self.moment(ob.after, trigger) if ob.after else None,
            until=self.moment(ob.before, _opening(opening)) if ob.before else None))


_NO_TIME = Duration()


def _awaited(anchor: str | Earliest | None) -> str:
    return " or ".join(anchor.earliest) if isinstance(anchor, Earliest) else (anchor or "")


def _opening(e: Event | None) -> Event | None:
    """A stand-in trigger for finding a window's closing edge: any type, at the opening's place."""
    return None if e is None else Event("", e.at, {}, e.index, e.position)


def beyond_calendar(incident: Incident, rule: CompiledRule | None, e: Event, duration: Duration,
                    zone: str) -> IncidentError:
    """The error for a date a rule counts from an event that falls outside years 1 to 9999."""
    who = f"rule {quoted(rule.id)}" if rule is not None else "a rule"
    return IncidentError([Problem(
        incident.id, f"events[{e.index}].at",
        f"{who} counts {duration} from this event ({e.at.isoformat()}, in time zone {quoted(zone)}): that date "
        "falls outside years 1 to 9999, beyond the calendar this engine counts in",
        "check the event's date; if the time is right, the rule's duration is too long to give a date")])


def obligations_for(program: Program, known: Incident, ctx: Context, firings: Iterable[tuple[int, int | None]],
                    only: frozenset[str] | None = None, *, explain: bool = True) -> list[Obligation]:
    """The obligations the firings impose, in the firings' order (a backend's: rule position, then trigger
    position); `explain=False` leaves out which facts and events matched."""
    builder = _Builder(program, known, ctx, explain=explain)
    return [builder.obligation(program.rules[pos], known.events[tpos] if tpos is not None else None)
            for pos, tpos in firings if only is None or program.rules[pos].id in only]
