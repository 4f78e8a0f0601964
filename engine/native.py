"""The native backend: the compiled program as Python closures, rules looked up by event type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.incident import Event, Incident
from engine.program import And, Cond, Const, EventAtom, FactTest, Or, Program, SequenceAtom, Test
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


def compile_test(t: Test) -> Check:
    name, value, neg = t.name, t.value, t.negated
    if t.op is Operator.EXISTS:
        return (lambda d: name not in d) if neg else (lambda d: name in d)
    if t.op is Operator.EQUALS:
        return (lambda d: d.get(name) != value) if neg else (lambda d: d.get(name) == value)
    if t.op is Operator.IN:
        return (lambda d: d.get(name) not in value) if neg else (lambda d: d.get(name) in value)
    rank = {v: i for i, v in enumerate(t.ordinal)} if t.ordinal else None
    compare: Callable[[Any, Any], bool] = {
        Operator.LESS_THAN: lambda x, y: x < y, Operator.AT_MOST: lambda x, y: x <= y,
        Operator.MORE_THAN: lambda x, y: x > y, Operator.AT_LEAST: lambda x, y: x >= y,
    }[t.op]

    def ordered(d: Mapping[str, Any]) -> bool:
        x = d.get(name)
        if x is None:
            return neg
        return compare(rank[x] if rank is not None else x, value) != neg

    return ordered


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    return lambda d: all(c(d) for c in checks)


def compile_condition(cond: Cond) -> Predicate:
    if isinstance(cond, Const):
        v = cond.value
        return lambda ctx: v
    if isinstance(cond, FactTest):
        check = compile_test(cond.test)
        return lambda ctx: check(ctx.facts)
    if isinstance(cond, And):
        parts = [compile_condition(c) for c in cond.items]
        return lambda ctx: all(p(ctx) for p in parts)
    if isinstance(cond, Or):
        parts = [compile_condition(c) for c in cond.items]
        return lambda ctx: any(p(ctx) for p in parts)
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
    return lambda ctx: any(check(e.attributes) for e in ctx.by_type.get(etype, ()))


def _sequence_exists(atom: SequenceAtom) -> Predicate:
    steps = [(s.type, _all([compile_test(t) for t in s.tests]) if s.tests else None) for s in atom.steps]
    within = atom.within

    def exists(ctx: Context) -> bool:
        return find_sequence(ctx, steps, within) is not None

    return exists


def find_sequence(ctx: Context, steps: list[tuple[str, Check | None]],
                  within: Duration | None) -> list[Event] | None:
    """The earliest-ending match of the steps in order, each later than the one before."""
    first_type, first_check = steps[0]
    for first in ctx.by_type.get(first_type, ()):
        if first_check is not None and not first_check(first.attributes):
            continue
        chain = [first]
        for etype, check in steps[1:]:
            # Taking the earliest later match leaves the most room for the steps after it.
            nxt = next((e for e in ctx.by_type.get(etype, ()) if e.position > chain[-1].position
                        and (check is None or check(e.attributes))), None)
            if nxt is None:
                return None  # no later start can do better for this step
            chain.append(nxt)
        if within is None or chain[-1].at <= deadline(first.at, within, ctx.zone):
            return chain
    return None


def deadline(start: datetime, duration: Duration, zone: ZoneInfo, holidays: Any = ()) -> datetime:
    return duration.add_to(start.astimezone(zone), holidays)


class NativeBackend:
    """Evaluates a program with closures; holds no state between incidents."""

    name = "native"

    def __init__(self, program: Program) -> None:
        self.program = program
        self.zone = ZoneInfo(program.ruleset.timezone)
        self._rules = [
            (r.position, r.trigger, _all([compile_test(t) for t in r.trigger_tests]) if r.trigger_tests else None,
             compile_condition(r.condition))
            for r in program.rules
        ]

    def context(self, incident: Incident) -> Context:
        return Context(incident.facts, incident.by_type, self.zone)

    def firings(self, incident: Incident) -> list[Firing]:
        ctx = self.context(incident)
        by_type = incident.by_type
        out: list[Firing] = []
        for position, trigger, trigger_check, condition in self._rules:
            if trigger is None:
                if condition(ctx):
                    out.append((position, None))
                continue
            events = by_type.get(trigger)
            if not events:
                continue
            holds: bool | None = None  # conditions read the whole incident: evaluate once per rule
            for e in events:
                if trigger_check is not None and not trigger_check(e.attributes):
                    continue
                if holds is None:
                    holds = condition(ctx)
                if not holds:
                    break
                out.append((position, e.position))
        return out
