"""A prototype of a lower-level decision path: read, fire, summarise, with no pydantic objects.

`FastPath(policy).summary(data)` gives what `policy.decide(data).summary` says about retention
and release, plus the fired rules, for the incident as of its last event. It validates the input
exactly as `IncidentReader` does for valid input; for anything it does not accept (an unknown
fact, a bad value, a missing offset...) it hands the data to `IncidentReader`, so errors are the
reader's own. It covers programs without `overrides` and without `delete` rules (then nothing can
be overridden and the summary is a fold over the firings); for any other program it uses the full
`Policy.decide`. Proposed for engine/ (see docs/performance.md); kept here until then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.api import Policy
from engine.core.backends.native import NativeBackend
from engine.core.decision import Pending
from engine.core.incident import Event
from policy.base import Effect
from policy.duration import Duration
from policy.obligations import INCIDENT, AccessObligation, DeleteObligation, ReleaseObligation, RetainObligation
from policy.vocabulary import NUMERIC, Spec, ValueType, Vocabulary

Validator = Callable[[Any], bool]
_FIELDS = frozenset(("id", "timezone", "facts", "events"))


def _validator(vocab: Vocabulary, spec: Spec) -> Validator:
    allowed = vocab.allowed_values(spec)
    if allowed is not None:
        members = frozenset(allowed)
        return lambda v: type(v) is str and v in members
    t = spec.type
    lo, hi = spec.minimum, spec.maximum
    if t is ValueType.BOOLEAN:
        return lambda v: type(v) is bool
    if t in NUMERIC:
        kinds = (int,) if t is ValueType.INTEGER else (int, float)

        def number(v: Any) -> bool:
            return (isinstance(v, kinds) and not isinstance(v, bool) and (lo is None or v >= lo)
                    and (hi is None or v <= hi))

        return number
    if t is ValueType.TEXT:
        return lambda v: isinstance(v, str)
    return lambda v: False  # dates and anything else: the full reader decides


@dataclass(frozen=True, slots=True)
class Read:
    facts: Mapping[str, Any]
    events: tuple[Event, ...]
    by_type: Mapping[str, tuple[Event, ...]]


class FastPath:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        program = policy.program
        self.backend = NativeBackend(program)
        vocab = program.vocabulary
        self.facts = {name: _validator(vocab, spec) for name, spec in vocab.facts.items()}
        self.events = {name: {a: _validator(vocab, s) for a, s in vocab.attributes_of(name).items()}
                       for name in vocab.events}
        self.zone = ZoneInfo(program.ruleset.timezone)
        self.zones: set[str] = set()
        self.holidays = frozenset(program.ruleset.holidays)
        # Exact when nothing can be overridden and every retention is a day or indefinite:
        self.exact = not any(r.overrides or isinstance(r.rule.obligation, DeleteObligation) or (
            isinstance(r.rule.obligation, RetainObligation) and not r.rule.obligation.indefinitely
            and r.rule.obligation.at_least is None) for r in program.rules)
        self.rules = program.rules
        self.plans = [_plan(r.rule.obligation) for r in program.rules]

    # --- reading ---------------------------------------------------------------------------------

    def read(self, data: Any) -> Read:
        """The incident's facts and events, checked like IncidentReader (which reports any problem)."""
        if type(data) is not dict or not data.keys() <= _FIELDS:
            return self._slow(data)
        iid, tz, facts, raw_events = data.get("id"), data.get("timezone"), data.get("facts", {}), data.get("events")
        if (type(iid) is not str and type(iid) is not int) or type(tz) is not str or type(facts) is not dict \
                or type(raw_events) is not list or not raw_events:
            return self._slow(data)
        if tz not in self.zones:
            try:
                ZoneInfo(tz)
            except Exception:
                return self._slow(data)
            self.zones.add(tz)
        checks = self.facts
        for name, value in facts.items():
            check = checks.get(name)
            if check is None or not check(value):
                return self._slow(data)
        events: list[Event] = []
        for i, raw in enumerate(raw_events):
            if type(raw) is not dict:
                return self._slow(data)
            attrs_spec = self.events.get(raw.get("type"))  # type: ignore[arg-type]
            at = raw.get("at")
            if attrs_spec is None or type(at) is not str:
                return self._slow(data)
            try:
                when = datetime.fromisoformat(at)
            except ValueError:
                return self._slow(data)
            if when.tzinfo is None or when.utcoffset() is None:
                return self._slow(data)
            attributes = {}
            for name, value in raw.items():
                if name == "type" or name == "at":
                    continue
                check = attrs_spec.get(name)
                if check is None or not check(value):
                    return self._slow(data)
                attributes[name] = value
            events.append(Event(raw["type"], when, attributes, i, i))
        if len(events) == 1:
            e = events[0]
            return Read(dict(facts), (e,), {e.type: (e,)})
        ordered = sorted(events, key=lambda e: (e.at, e.index))
        placed = tuple(Event(e.type, e.at, e.attributes, e.index, pos) for pos, e in enumerate(ordered))
        by_type: dict[str, list[Event]] = {}
        for e in placed:
            by_type.setdefault(e.type, []).append(e)
        return Read(dict(facts), placed, {k: tuple(v) for k, v in by_type.items()})

    def _slow(self, data: Any) -> Read:
        inc = self.policy.reader.read(data)  # raises IncidentError with the reader's own problems
        return Read(inc.facts, inc.events, inc.by_type)

    # --- summary ---------------------------------------------------------------------------------

    def summary(self, data: Any) -> tuple[date | str | None, dict[str, date], list[int]]:
        """(retention minimum, earliest `must` release day per recipient, fired rule positions)."""
        if not self.exact:
            d = self.policy.decide(data)
            pos = {r.id: r.position for r in self.rules}
            return (d.summary.retention.minimum if not isinstance(d.summary.retention.minimum, Pending) else None,
                    {k: v.by for k, v in d.summary.release.items()}, sorted({pos[o.rule] for o in d.obligations}))
        inc = self.read(data)
        firings = self.backend.fire(inc.facts, inc.by_type)
        plans = self.plans
        minimum: date | str | None = None
        release: dict[str, date] = {}
        local: dict[int, date] = {}  # event position -> its local date in the ruleset's zone
        for position, tpos in firings:
            plan = plans[position]
            if plan is None:
                continue
            kind, duration, days, anchor, to = plan
            if kind == "indefinite":
                minimum = "indefinite"
                continue
            if kind == "retain" and minimum == "indefinite":
                continue
            day = self._day(duration, days, anchor, inc, tpos, local)
            if day is None:
                continue
            if kind == "retain":
                if minimum is None or day > minimum:  # type: ignore[operator]
                    minimum = day
            else:
                for recipient in to:
                    cur = release.get(recipient)
                    if cur is None or day < cur:
                        release[recipient] = day
        return minimum, release, [p for p, _ in firings]

    def _day(self, d: Duration, days: int | None, anchor: str | None, inc: Read, tpos: int | None,
             local: dict[int, date]) -> date | None:
        if anchor is None:
            e: Event | None = inc.events[tpos] if tpos is not None else None
        elif anchor == INCIDENT:
            e = inc.events[0]
        elif tpos is not None and inc.events[tpos].type == anchor:
            e = inc.events[tpos]
        else:
            found = inc.by_type.get(anchor)
            e = found[0] if found else None
        if e is None:
            return None
        if days is not None:  # whole days: the local date moves by that many calendar days
            start = local.get(e.position)
            if start is None:
                start = local[e.position] = e.at.astimezone(self.zone).date()
            return start + timedelta(days=days)
        return d.add_to(e.at.astimezone(self.zone), self.holidays).date()

    def fired_obligations(self, positions: list[int]) -> list[Any]:
        return [self.rules[p].rule.obligation for p in positions]


def is_review_forbidden(ob: Any) -> bool:
    return (isinstance(ob, AccessObligation) and ob.effect is Effect.MUST_NOT and "involved_officer" in ob.role
            and ob.purpose in (None, "statement"))


Plan = tuple[str, Duration, int | None, str | None, tuple[str, ...]]


def _plain_days(d: Duration) -> int | None:
    if d.years or d.months or d.hours or d.minutes or d.seconds or d.business_days:
        return None
    return d.weeks * 7 + d.days


def _plan(ob: Any) -> Plan | None:
    """What a fired rule adds to the summary: a retention minimum or a `must` release deadline."""
    if isinstance(ob, RetainObligation):
        if ob.indefinitely:
            return ("indefinite", Duration(), None, None, ())
        if ob.at_least is not None:
            return ("retain", ob.at_least, _plain_days(ob.at_least), ob.after, ())
        return None  # `until` and legal holds are days or pending: not covered (see `exact`)
    if isinstance(ob, ReleaseObligation) and ob.effect is Effect.MUST and ob.within is not None:
        return ("release", ob.within, _plain_days(ob.within), ob.after, tuple(ob.to))
    return None
