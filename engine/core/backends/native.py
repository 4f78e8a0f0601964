"""The native backend: the compiled program as Python closures, rules found by hash dispatch.

Rules are not tested one by one. At construction each rule gets a *guard* where it has one: a test
that must hold for the rule to apply and that names one value or a set of values (`x: v`, `in:`),
on a fact (rules without a trigger) or on the trigger event's attributes. Rules are filed in a
table by that value, so an incident reaches only the rules whose guard its values satisfy: one
dictionary lookup per guarded name, not one test per rule. Rules with a trigger are filed by
event type first, so events of a type no rule names cost nothing. What is left of each rule (the
rest of its trigger tests and its condition) is then evaluated as before, each condition at most
once per incident. A rule with a trigger may be filed by a fact its condition requires instead of
an attribute of the event. The firings are the same, in the same order, as testing every rule.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from engine.core.incident import Event, Incident
from engine.core.program import And, Cond, Const, EventAtom, FactTest, Or, Program, SequenceAtom, Test, simplify
from policy.conditions import Operator
from policy.duration import Duration

Firing = tuple[int, int | None]  # (rule position, trigger event position or None)
Check = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class Context:
    """What conditions read: the incident as of the decision time, in the ruleset's time zone."""

    facts: Mapping[str, Any]
    by_type: Mapping[str, tuple[Event, ...]]
    zone: ZoneInfo


Predicate = Callable[[Context], bool]

_COMPARE: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.LESS_THAN: lambda x, y: x < y, Operator.AT_MOST: lambda x, y: x <= y,
    Operator.MORE_THAN: lambda x, y: x > y, Operator.AT_LEAST: lambda x, y: x >= y,
}


@cache
def compile_test(t: Test) -> Check:
    """A test as a function of a mapping (facts or attributes); each common shape is its own closure."""
    name, value, neg = t.name, t.value, t.negated
    if t.op is Operator.EXISTS:
        return (lambda d: name not in d) if neg else (lambda d: name in d)
    if t.op is Operator.EQUALS:
        return (lambda d: d.get(name) != value) if neg else (lambda d: d.get(name) == value)
    if t.op is Operator.IN:
        return (lambda d: d.get(name) not in value) if neg else (lambda d: d.get(name) in value)
    rank = {v: i for i, v in enumerate(t.ordinal)} if t.ordinal else None
    compare = _COMPARE[t.op]

    def ordered(d: Mapping[str, Any]) -> bool:
        x = d.get(name)
        if x is None:
            return neg
        return compare(rank[x] if rank is not None else x, value) != neg

    return ordered


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda d: a(d) and b(d)

    def every(d: Mapping[str, Any]) -> bool:
        for c in checks:  # noqa: SIM110 - a loop is faster than all() over a generator
            if not c(d):
                return False
        return True

    return every


def _fact_predicate(t: Test) -> Predicate:
    """A test on the incident's facts, reading `ctx.facts` directly for the common shapes."""
    name, value, neg = t.name, t.value, t.negated
    if t.op is Operator.EQUALS:
        return (lambda ctx: ctx.facts.get(name) != value) if neg else (lambda ctx: ctx.facts.get(name) == value)
    if t.op is Operator.IN:
        return (lambda ctx: ctx.facts.get(name) not in value) if neg else (lambda ctx: ctx.facts.get(name) in value)
    check = compile_test(t)
    return lambda ctx: check(ctx.facts)


def compile_condition(cond: Cond) -> Predicate:
    if isinstance(cond, Const):
        v = cond.value
        return lambda ctx: v
    if isinstance(cond, FactTest):
        return _fact_predicate(cond.test)
    if isinstance(cond, And | Or):
        parts = [compile_condition(c) for c in cond.items]
        if len(parts) == 1:
            return parts[0]
        conjunctive = isinstance(cond, And)
        if len(parts) == 2:
            a, b = parts
            return (lambda ctx: a(ctx) and b(ctx)) if conjunctive else (lambda ctx: a(ctx) or b(ctx))

        def every(ctx: Context) -> bool:
            for p in parts:  # noqa: SIM110 - faster than all() over a generator
                if not p(ctx):
                    return False
            return True

        def some(ctx: Context) -> bool:
            for p in parts:  # noqa: SIM110 - faster than any() over a generator
                if p(ctx):
                    return True
            return False

        return every if conjunctive else some
    if isinstance(cond, EventAtom):
        found = _event_exists(cond)
        return (lambda ctx: not found(ctx)) if cond.negated else found
    if isinstance(cond, SequenceAtom):
        seq = _sequence_exists(cond)
        return (lambda ctx: not seq(ctx)) if cond.negated else seq
    raise TypeError(cond)


def _event_exists(atom: EventAtom) -> Predicate:
    etype = atom.type
    if not atom.tests:
        return lambda ctx: etype in ctx.by_type
    check = _all([compile_test(t) for t in atom.tests])

    def exists(ctx: Context) -> bool:
        for e in ctx.by_type.get(etype, ()):  # noqa: SIM110 - faster than any() over a generator
            if check(e.attributes):
                return True
        return False

    return exists


def _sequence_exists(atom: SequenceAtom) -> Predicate:
    steps = [(s.type, _all([compile_test(t) for t in s.tests]) if s.tests else None) for s in atom.steps]
    types = [s.type for s in atom.steps]
    within = atom.within

    def exists(ctx: Context) -> bool:
        by_type = ctx.by_type
        for t in types:  # cheap rejection: a step whose type never happened
            if t not in by_type:
                return False
        return find_sequence(ctx, steps, within) is not None

    return exists


def find_sequence(ctx: Context, steps: list[tuple[str, Check | None]],
                  within: Duration | None) -> list[Event] | None:
    """The earliest-ending match of the steps in order, each later than the one before.

    Each step's candidates (its events that pass its tests) are listed once; the next step after an
    event is then found by binary search, so a sequence costs events x log(events), not events².
    """
    candidates: list[tuple[tuple[Event, ...] | list[Event], list[int]]] = []
    for etype, check in steps:
        events: tuple[Event, ...] | list[Event] = ctx.by_type.get(etype, ())
        if check is not None:
            events = [e for e in events if check(e.attributes)]
        if not events:
            return None
        candidates.append((events, [e.position for e in events]))
    for first in candidates[0][0]:
        chain = [first]
        for events, positions in candidates[1:]:
            # Taking the earliest later match leaves the most room for the steps after it.
            k = bisect_right(positions, chain[-1].position)
            if k == len(events):
                return None  # no later start can do better for this step
            chain.append(events[k])
        if within is None:
            return chain
        end = deadline(first.at, within, ctx.zone)
        if end is None or chain[-1].at <= end:
            return chain
    return None


# Counting a duration past 9999-12-31 (or a time before 0001-01-01 in a zone west of UTC) fails with
# OverflowError, or ValueError from `datetime.replace` and policy.duration's CalendarOverflow.
BEYOND_CALENDAR: tuple[type[Exception], ...] = (OverflowError, ValueError)


def deadline(start: datetime, duration: Duration, zone: ZoneInfo, holidays: Any = ()) -> datetime | None:
    """`duration` after `start`, counted in `zone`; None when that leaves years 1 to 9999.

    Every event of an incident lies inside the calendar, so a deadline beyond it is later than all of
    them: a sequence's `within` then holds. The rete backend gives such a deadline the same meaning.
    """
    try:
        return duration.add_to(start.astimezone(zone), holidays)
    except BEYOND_CALENDAR:
        return None


# --- dispatch ------------------------------------------------------------------------------------

def _is_guard(t: Test) -> bool:
    """A test that holds only for the values it names (so it can be looked up instead of tested)."""
    return not t.negated and t.op in (Operator.EQUALS, Operator.IN)


def _keys(t: Test) -> tuple[Any, ...]:
    return tuple(t.value) if t.op is Operator.IN else (t.value,)


def _hashable(t: Test) -> bool:
    try:
        hash(_keys(t))
    except TypeError:
        return False
    return True


def _conjuncts(cond: Cond) -> tuple[Cond, ...]:
    return cond.items if isinstance(cond, And) else (cond,)


def _pick(candidates: list[Test], popularity: dict[str, int]) -> Test | None:
    """The guard to file a rule under: the name most rules can be filed under (fewest tables)."""
    usable = [t for t in candidates if _is_guard(t) and _hashable(t)]
    return max(usable, key=lambda t: (popularity.get(t.name, 0), t.op is Operator.EQUALS), default=None)


# A rule reached through a table: (position, remaining trigger check or None, condition, slot).
_Entry = tuple[int, Check | None, Predicate, int]


@dataclass(slots=True)
class _Table:
    """Rules filed by the value of one name: value -> the rules whose guard that value satisfies."""

    name: str
    rows: dict[Any, list[Any]]


@dataclass(slots=True)
class _TriggerTable:
    """The rules one event type triggers: guarded by an attribute value, or always tested."""

    unguarded: list[_Entry]
    tables: list[_Table]  # by an attribute of the trigger event
    fact_tables: list[_Table]  # by a fact the rule's condition requires


class NativeBackend:
    """Evaluates a program with closures; holds no state between incidents."""

    name = "native"

    def __init__(self, program: Program) -> None:
        self.program = program
        self.zone = ZoneInfo(program.ruleset.timezone)
        untriggered = [r for r in program.rules if r.trigger is None]
        triggered = [r for r in program.rules if r.trigger is not None]

        # Rules without a trigger: filed by a fact guard taken out of their condition.
        popular: dict[str, int] = {}
        for r in untriggered:
            for c in _conjuncts(r.condition):
                if isinstance(c, FactTest) and _is_guard(c.test):
                    popular[c.test.name] = popular.get(c.test.name, 0) + 1
        self._always: list[tuple[int, Predicate]] = []
        fact_tables: dict[str, _Table] = {}
        for r in untriggered:
            parts = _conjuncts(r.condition)
            guard = _pick([c.test for c in parts if isinstance(c, FactTest)], popular)
            if guard is None:
                self._always.append((r.position, compile_condition(r.condition)))
                continue
            rest = simplify(And(tuple(c for c in parts if not (isinstance(c, FactTest) and c.test is guard))))
            fact_entry = (r.position, None if rest == Const(True) else compile_condition(rest))
            table = fact_tables.setdefault(guard.name, _Table(guard.name, {}))
            for key in _keys(guard):
                table.rows.setdefault(key, []).append(fact_entry)
        self._fact_tables = list(fact_tables.values())

        # Rules with a trigger: filed by event type, then by a guard among their trigger tests
        # (an attribute of the event) or among the fact tests of their condition.
        per_type: dict[str, dict[tuple[bool, str], int]] = {}
        for r in triggered:
            counts = per_type.setdefault(str(r.trigger), {})
            for key in {*((False, t.name) for t in r.trigger_tests if _is_guard(t)),
                        *((True, c.test.name) for c in _conjuncts(r.condition)
                          if isinstance(c, FactTest) and _is_guard(c.test))}:
                counts[key] = counts.get(key, 0) + 1
        self._triggers: dict[str, _TriggerTable] = {}
        self._slots = len(triggered)
        for slot, r in enumerate(triggered):
            assert r.trigger is not None
            tt = self._triggers.setdefault(r.trigger, _TriggerTable([], [], []))
            counts = per_type[r.trigger]
            options = [(False, t) for t in r.trigger_tests] + [
                (True, c.test) for c in _conjuncts(r.condition) if isinstance(c, FactTest)]
            usable = [(on_fact, t) for on_fact, t in options if _is_guard(t) and _hashable(t)]
            best = max(usable, key=lambda o: (counts.get((o[0], o[1].name), 0), o[1].op is Operator.EQUALS),
                       default=None)
            rest_tests = [t for t in r.trigger_tests if best is None or t is not best[1]]
            condition = r.condition
            if best is not None and best[0]:
                condition = simplify(And(tuple(c for c in _conjuncts(condition)
                                               if not (isinstance(c, FactTest) and c.test is best[1]))))
            entry: _Entry = (r.position, _all([compile_test(t) for t in rest_tests]) if rest_tests else None,
                             compile_condition(condition), slot)
            if best is None:
                tt.unguarded.append(entry)
                continue
            on_fact, guard = best
            tables = tt.fact_tables if on_fact else tt.tables
            found = next((tb for tb in tables if tb.name == guard.name), None)
            if found is None:
                found = _Table(guard.name, {})
                tables.append(found)
            for key in _keys(guard):
                found.rows.setdefault(key, []).append(entry)

    def context(self, incident: Incident) -> Context:
        return Context(incident.facts, incident.by_type, self.zone)

    def firings(self, incident: Incident) -> list[Firing]:
        return self.fire(incident.facts, incident.by_type)

    def fire(self, facts: Mapping[str, Any], by_type: Mapping[str, tuple[Event, ...]]) -> list[Firing]:
        """The firings for an incident given as its facts and its events by type (in time order)."""
        ctx = Context(facts, by_type, self.zone)
        out: list[Firing] = []
        for position, condition in self._always:
            if condition(ctx):
                out.append((position, None))
        for table in self._fact_tables:
            try:
                bucket = table.rows.get(facts.get(table.name))
            except TypeError:  # an unhashable value equals no value a rule names
                continue
            if bucket is not None:
                for position, rest in bucket:
                    if rest is None or rest(ctx):
                        out.append((position, None))
        triggers = self._triggers
        if triggers:
            holds: dict[int, bool] = {}  # conditions read the whole incident: once per rule (by slot)
            for etype, events in by_type.items():
                tt = triggers.get(etype)
                if tt is None:
                    continue
                by_fact: list[list[_Entry]] = []
                for table in tt.fact_tables:
                    try:
                        found = table.rows.get(facts.get(table.name))
                    except TypeError:
                        continue
                    if found is not None:
                        by_fact.append(found)
                for e in events:
                    attrs = e.attributes
                    self._fire_event(tt.unguarded, attrs, e.position, ctx, holds, out)
                    for bucket in by_fact:
                        self._fire_event(bucket, attrs, e.position, ctx, holds, out)
                    for table in tt.tables:
                        try:
                            bucket = table.rows.get(attrs.get(table.name))
                        except TypeError:
                            continue
                        if bucket is not None:
                            self._fire_event(bucket, attrs, e.position, ctx, holds, out)
        if len(out) > 1:
            out.sort(key=_order)
        return out

    @staticmethod
    def _fire_event(entries: list[_Entry], attrs: Mapping[str, Any], at: int, ctx: Context,
                    holds: dict[int, bool], out: list[Firing]) -> None:
        for position, check, condition, slot in entries:
            if check is not None and not check(attrs):
                continue
            h = holds.get(slot)
            if h is None:
                h = holds[slot] = condition(ctx)
            if h:
                out.append((position, at))


def _order(f: Firing) -> tuple[int, int]:
    return (f[0], -1 if f[1] is None else f[1])
