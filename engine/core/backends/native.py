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

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from engine.core.evaluation import CompiledTest, Context, Firing, Predicate, all_of, compile_condition, compile_test
from engine.core.incident import Event, Incident
from engine.core.program import And, Cond, Const, FactTest, Program, Test, simplify
from policy.conditions import Operator

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
_Entry = tuple[int, CompiledTest | None, Predicate, int]


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

    def __init__(self, program: Program, only: Collection[int] | None = None) -> None:
        """`only`: evaluate the rules at these positions and no other (their firings are the program's,
        restricted to them: each rule is evaluated on its own)."""
        self.program = program
        self.zone = ZoneInfo(program.ruleset.timezone)
        rules = program.rules if only is None else [r for r in program.rules if r.position in only]
        untriggered = [r for r in rules if r.trigger is None]
        triggered = [r for r in rules if r.trigger is not None]

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
            entry: _Entry = (r.position, all_of([compile_test(t) for t in rest_tests]) if rest_tests else None,
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
