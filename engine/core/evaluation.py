"""Evaluation: conditions of a compiled program as Python closures, what every backend and the decision share.

The one condition evaluator of the engine. The native backend fires rules with it; the decision
reads which facts and events satisfied a rule (its evidence) and when the rule came to hold from
its trace; explanations are built from its trace too.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from engine.core.incident import Event
from engine.core.program import And, Cond, Const, EventAtom, FactTest, Or, SequenceAtom, Test
from policy.conditions import Operator
from policy.duration import Duration

Firing = tuple[int, int | None]  # (rule position, trigger event position or None)
CompiledTest = Callable[[Mapping[str, Any]], bool]  # a test of a mapping (facts or attributes)


class Context(NamedTuple):
    """What conditions read: the incident as of the decision time, in the ruleset's time zone.

    A named tuple: one is made per decision and per backend run, and it is the cheapest immutable record."""

    facts: Mapping[str, Any]
    by_type: Mapping[str, tuple[Event, ...]]
    zone: ZoneInfo


Predicate = Callable[[Context], bool]

_COMPARE: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.LESS_THAN: lambda x, y: x < y, Operator.AT_MOST: lambda x, y: x <= y,
    Operator.MORE_THAN: lambda x, y: x > y, Operator.AT_LEAST: lambda x, y: x >= y,
}


@cache
def compile_test(t: Test) -> CompiledTest:
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


def all_of(checks: list[CompiledTest]) -> CompiledTest:
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
    check = all_of([compile_test(t) for t in atom.tests])

    def exists(ctx: Context) -> bool:
        for e in ctx.by_type.get(etype, ()):  # noqa: SIM110 - faster than any() over a generator
            if check(e.attributes):
                return True
        return False

    return exists


def _sequence_exists(atom: SequenceAtom) -> Predicate:
    steps = [(s.type, all_of([compile_test(t) for t in s.tests]) if s.tests else None) for s in atom.steps]
    types = [s.type for s in atom.steps]
    within = atom.within

    def exists(ctx: Context) -> bool:
        by_type = ctx.by_type
        for t in types:  # cheap rejection: a step whose type never happened
            if t not in by_type:
                return False
        return find_sequence(ctx, steps, within) is not None

    return exists


def find_sequence(ctx: Context, steps: list[tuple[str, CompiledTest | None]],
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


# --- tracing: the same evaluation, reporting what it found ---------------------------------------
#
# As OPA's evaluator emits events to a tracer and Cerbos's to a trace sink, a condition compiled with
# `compile_traced` reports every node it evaluates to a `TraceSink`: whether the node held and, for an
# event atom or a sequence, the events that matched it. Explanations and a decision's evidence are
# read from those reports, never from a second evaluation of the condition. The traced closures are a
# path of their own, so firing rules (`compile_condition`) pays nothing for them.


class TraceSink(Protocol):
    """Receives one report per node of a condition, children before their parent."""

    def record(self, node: Cond, held: bool, found: tuple[Event, ...]) -> None:
        """`node` held (negation included) or not. `found`: for an event atom, the events that pass its
        tests (the first only, unless compiled with `every_match`); for a sequence, its earliest-ending
        match; both whether or not the atom is negated. Empty for other nodes."""


class Trace(dict[int, tuple[bool, tuple[Event, ...]]]):
    """A sink that keeps each node's report, by node (its id: the condition outlives the trace): what one
    evaluation of a condition showed. A dict, so that readers pay one lookup per node."""

    __slots__ = ()

    def record(self, node: Cond, held: bool, found: tuple[Event, ...]) -> None:
        self[id(node)] = (held, found)

    def held(self, node: Cond) -> bool:
        """Whether `node` held (a node the evaluation did not reach raises KeyError)."""
        return self[id(node)][0]

    def found(self, node: Cond) -> tuple[Event, ...]:
        """The events that matched `node` (see `TraceSink.record`)."""
        return self[id(node)][1]


Traced = Callable[[Context, TraceSink], bool]
_NONE: tuple[Event, ...] = ()


def compile_traced(cond: Cond, *, every_match: bool = False) -> Traced:
    """`cond` as a closure that reports every node to a sink. Unlike `compile_condition` it evaluates
    every part of an `and` and an `or` (a trace shows them all); its value is the same."""
    if isinstance(cond, Const):
        v = cond.value

        def constant(ctx: Context, sink: TraceSink) -> bool:
            sink.record(cond, v, _NONE)
            return v

        return constant
    if isinstance(cond, FactTest):
        check = compile_test(cond.test)

        def fact(ctx: Context, sink: TraceSink) -> bool:
            held = check(ctx.facts)
            sink.record(cond, held, _NONE)
            return held

        return fact
    if isinstance(cond, And | Or):
        parts = [compile_traced(c, every_match=every_match) for c in cond.items]
        conjunctive = isinstance(cond, And)

        # Every part is evaluated, unlike in `compile_condition`: the trace shows them all.
        def every(ctx: Context, sink: TraceSink) -> bool:
            held = True
            for p in parts:
                if not p(ctx, sink):
                    held = False
            sink.record(cond, held, _NONE)
            return held

        def some(ctx: Context, sink: TraceSink) -> bool:
            held = False
            for p in parts:
                if p(ctx, sink):
                    held = True
            sink.record(cond, held, _NONE)
            return held

        return every if conjunctive else some
    if isinstance(cond, EventAtom):
        etype, negated = cond.type, cond.negated
        tests = all_of([compile_test(t) for t in cond.tests]) if cond.tests else None

        def event(ctx: Context, sink: TraceSink) -> bool:
            events = ctx.by_type.get(etype, _NONE)
            if tests is None:
                found = events if every_match else events[:1]
            elif every_match:
                found = tuple(e for e in events if tests(e.attributes))
            else:
                found = _NONE
                for e in events:
                    if tests(e.attributes):
                        found = (e,)
                        break
            held = not found if negated else bool(found)
            sink.record(cond, held, found)
            return held

        return event
    if isinstance(cond, SequenceAtom):
        steps = [(s.type, all_of([compile_test(t) for t in s.tests]) if s.tests else None) for s in cond.steps]
        within, seq_negated = cond.within, cond.negated

        def sequence(ctx: Context, sink: TraceSink) -> bool:
            chain = find_sequence(ctx, steps, within)
            found = _NONE if chain is None else tuple(chain)
            held = not found if seq_negated else bool(found)
            sink.record(cond, held, found)
            return held

        return sequence
    raise TypeError(cond)


# The compiled forms of a program's conditions, by condition (kept alive here, so an id is never reused):
# a decision reads the same rules' conditions for every incident.
_PREDICATES: dict[int, tuple[Cond, Predicate]] = {}
_TRACED: dict[int, tuple[Cond, Traced]] = {}
_KEEP = 1 << 16  # compiled forms kept at most (then the caches start again)


def predicate_of(cond: Cond) -> Predicate:
    """`compile_condition(cond)`, compiled once per condition."""
    found = _PREDICATES.get(id(cond))
    if found is None:
        if len(_PREDICATES) >= _KEEP:
            _PREDICATES.clear()
        found = _PREDICATES[id(cond)] = (cond, compile_condition(cond))
    return found[1]


def traced_of(cond: Cond) -> Traced:
    """`compile_traced(cond)`, compiled once per condition."""
    found = _TRACED.get(id(cond))
    if found is None:
        if len(_TRACED) >= _KEEP:
            _TRACED.clear()
        found = _TRACED[id(cond)] = (cond, compile_traced(cond))
    return found[1]
