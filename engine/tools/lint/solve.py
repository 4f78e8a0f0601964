"""Aimed combinations: the incidents of a search chosen to satisfy the rules' conditions, read from their
compiled form, so that a rule applying only in a rare combination is tried first, not left to the sample.

Each condition (in negation normal form, `engine.core.program`) is expanded into a few conjunctions of
tests (a disjunctive normal form, capped); each conjunction, with the rule's trigger, is turned into a
combination of the search space: a fact gets a value of its domain that passes every test on it, an
event type that must be present gets an attribute combination passing its tests (and failing every
`not` on the same type), one that must be absent is left out. What no conjunction fixes takes a
baseline value: every event absent, or every first choice. The tests are evaluated by the engine's
own evaluator (`engine.core.evaluation.compile_test`).

Also read from the compiled conditions: which rules can never apply in the same incident (`Exclusions`).

A pair check (BWL101-BWL103) reports a pair only when one decision holds obligations of both rules, so
a pair whose conditions no incident can meet together needs no search: the search could never find
anything. Only facts are read here. An incident has one value of each fact, the same in every layer and
at every moment of the incident (engine.core.incident), whereas it can hold many events, of any types,
at many times: two event conditions never rule each other out this way.

The reading is deliberately narrow, so that it only ever says "exclusive" when it is certain. For each
fact both conditions test, each condition is expanded into the ways it can hold (the conjunctions of
its tests on that fact, read from its negation normal form; other atoms are left unconstrained). Two
ways can hold together only if some value passes every test of both; a test `equals` or `in` names
every value that can pass it, and each of those values is tried with the engine's own evaluator
(`engine.core.evaluation.compile_test`). Ways with no such test, too many ways, or a value the tests
cannot compare are taken to hold together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.core.evaluation import compile_test
from engine.core.program import And, CompiledRule, Cond, Const, EventAtom, FactTest, Or, SequenceAtom, Test
from engine.tools.lint.space import ABSENT, Space
from policy.conditions import Operator

TERMS = 24  # conjunctions kept per condition (and per combination of rules)
COMBINATIONS = 4096  # attribute combinations of one event type looked through for one aim

Goal = tuple[str | None, tuple[Test, ...], Cond]  # a rule's trigger, its tests, and the condition to satisfy


def dnf(cond: Cond) -> list[list[Cond]]:
    """The condition as a list of conjunctions of atoms (at most TERMS of them)."""
    if isinstance(cond, Const):
        return [[]] if cond.value else []
    if isinstance(cond, And):
        terms: list[list[Cond]] = [[]]
        for item in cond.items:
            terms = [t + u for t in terms for u in dnf(item)][:TERMS]
        return terms
    if isinstance(cond, Or):
        out: list[list[Cond]] = []
        for item in cond.items:
            out += dnf(item)
        return out[:TERMS]
    return [[cond]]


def terms_of(goal: Goal) -> list[list[Cond]]:
    trigger, tests, cond = goal
    head: list[Cond] = [EventAtom(trigger, tests)] if trigger is not None else []
    return [head + t for t in dnf(cond)]


def _passes(tests: Sequence[Test], values: dict[str, Any]) -> bool:
    try:
        return all(compile_test(t)(values) for t in tests)
    except (TypeError, ValueError):
        return False  # values of kinds the test cannot compare: this aim fails, the sample still tries them


def _value(domain: Sequence[Any], name: str, tests: list[Test]) -> tuple[bool, Any]:
    for v in domain:
        if _passes(tests, {} if v is ABSENT else {name: v}):
            return True, v
    return False, None


def combination(space: Space, term: list[Cond], baseline: str) -> tuple[Any, ...] | None:
    """A combination of the space in which every atom of the conjunction holds; None if none is found."""
    fact_names = [n for n, _ in space.facts]
    dims = space.dimensions
    combo: list[Any] = [d[-1] if baseline == "absent" else d[0] for d in dims]
    nf = len(fact_names)
    for k, slot in enumerate(space.slots):
        if baseline == "absent" and None in slot.options:
            combo[nf + k] = None
    fact_tests: dict[str, list[Test]] = {}
    positive: dict[str, list[list[Test]]] = {}
    negative: dict[str, list[tuple[Test, ...]]] = {}
    for atom in term:
        if isinstance(atom, FactTest):
            fact_tests.setdefault(atom.test.name, []).append(atom.test)
        elif isinstance(atom, EventAtom):
            (negative.setdefault(atom.type, []).append(atom.tests) if atom.negated
             else positive.setdefault(atom.type, []).append(list(atom.tests)))
        elif isinstance(atom, SequenceAtom) and not atom.negated:
            for step in atom.steps:
                positive.setdefault(step.type, []).append(list(step.tests))
    for name, tests in fact_tests.items():
        if name not in fact_names:
            ok, v = _value((ABSENT,), name, tests)
            if not ok:
                return None
            continue
        i = fact_names.index(name)
        ok, v = _value(dims[i], name, tests)
        if not ok:
            return None
        combo[i] = v
    for etype in set(positive) | set(negative):
        slots = [k for k, s in enumerate(space.slots) if s.type == etype]
        needs = positive.get(etype, [])
        bans = negative.get(etype, [])
        if not slots:
            if needs:
                return None  # an event type incidents under this ruleset cannot hold
            continue
        if not needs:
            main = space.slots[slots[0]]
            if None in main.options:
                for k in slots:
                    combo[nf + k] = None
                continue
        main = space.slots[slots[0]]
        fits = [o for o in main.options if o is not None
                and all(_passes(t, o) for t in needs) and not any(_passes(b, o) for b in bans)]
        if not fits:  # the options the sample uses miss it: look through the attributes' values themselves
            fits = [o for o in main.combinations(COMBINATIONS)
                    if all(_passes(t, o) for t in needs) and not any(_passes(b, o) for b in bans)][:1]
        if not fits:
            return None
        chosen = fits
        for k in slots:
            combo[nf + k] = chosen[0]
    return tuple(combo)


def aimed(space: Space, goals: Sequence[Goal], together: bool) -> list[tuple[Any, ...]]:
    """Combinations aimed at each goal and (with `together`) at all of them at once, without repeats."""
    term_lists = [terms_of(g) for g in goals]
    wanted: list[list[Cond]] = []
    if together and len(term_lists) > 1:
        joint: list[list[Cond]] = [[]]
        for terms in term_lists:
            joint = [t + u for t in joint for u in terms][:TERMS]
        wanted += joint
    for terms in term_lists:
        wanted += terms
    out: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    for term in wanted:
        for baseline in ("absent", "first"):
            combo = combination(space, term, baseline)
            if combo is not None and repr(combo) not in seen:
                seen.add(repr(combo))
                out.append(combo)
    return out


# --- rules that can never apply together -------------------------------------------------------

WAYS = 16  # ways a condition can hold, per fact, read before assuming it holds with anything

Ways = tuple[tuple[Test, ...], ...]  # each way: the tests on one fact that must all pass


def fact_names(cond: Cond) -> frozenset[str]:
    """The facts a condition tests."""
    if isinstance(cond, FactTest):
        return frozenset((cond.test.name,))
    if isinstance(cond, And | Or):
        return frozenset().union(*(fact_names(c) for c in cond.items))
    return frozenset()


def ways(cond: Cond, name: str) -> Ways | None:
    """The ways `cond` can hold, as far as fact `name` goes (empty: never); None: any value may do."""
    if isinstance(cond, Const):
        return ((),) if cond.value else ()
    if isinstance(cond, FactTest):
        return ((cond.test,),) if cond.test.name == name else None
    if isinstance(cond, And):
        out: Ways = ((),)
        for item in cond.items:
            part = ways(item, name)
            if part is None:
                continue  # this conjunct says nothing about the fact
            out = tuple(x + y for x in out for y in part)
            if len(out) > WAYS:
                return None
        return out
    if isinstance(cond, Or):
        alternatives: list[tuple[Test, ...]] = []
        for item in cond.items:
            part = ways(item, name)
            if part is None:
                return None  # a branch that holds whatever the fact's value
            alternatives += part
            if len(alternatives) > WAYS:
                return None
        return tuple(alternatives)
    return None  # an event or sequence atom: says nothing about facts


def _may_pass(tests: Sequence[Test], values: Mapping[str, Any]) -> bool:
    try:
        return all(compile_test(t)(values) for t in tests)
    except (TypeError, ValueError, KeyError):
        return True  # values the tests cannot compare: assume the engine might pass them


def can_hold(name: str, tests: Sequence[Test]) -> bool:
    """Whether some value of fact `name` (or none) might pass every test; False only when certain."""
    finite = next((t for t in tests if t.op in (Operator.EQUALS, Operator.IN) and not t.negated), None)
    if finite is None:
        return True
    # Only a value equal to one of these passes `finite` (the evaluator compares with `==` and `in`),
    # and equal values pass and fail the same tests. A missing fact is read as None.
    values = list(finite.value) if finite.op is Operator.IN else [finite.value]
    candidates: list[Mapping[str, Any]] = [{name: v} for v in values]
    if any(v is None for v in values):
        candidates.append({})
    return any(_may_pass(tests, c) for c in candidates)


class Exclusions:
    """Which pairs of rules can never apply in one incident; each rule's ways are read once."""

    def __init__(self) -> None:
        # By rule (by identity, the rule kept alive with it): each rule is compared with many others.
        self._facts: dict[int, tuple[CompiledRule, frozenset[str]]] = {}
        self._ways: dict[tuple[int, str], Ways | None] = {}

    def _names(self, rule: CompiledRule) -> frozenset[str]:
        if id(rule) not in self._facts:
            self._facts[id(rule)] = (rule, fact_names(rule.condition))
        return self._facts[id(rule)][1]

    def _of(self, rule: CompiledRule, name: str) -> Ways | None:
        key = (id(rule), name)  # asked only after `_names(rule)`, which keeps the rule alive
        if key not in self._ways:
            self._ways[key] = ways(rule.condition, name)
        return self._ways[key]

    def exclusive(self, a: CompiledRule, b: CompiledRule) -> bool:
        """True only when no incident can make both rules apply (a rule that never applies included)."""
        if a.condition == Const(False) or b.condition == Const(False):
            return True
        for name in sorted(self._names(a) & self._names(b)):
            wa, wb = self._of(a, name), self._of(b, name)
            if wa is None or wb is None:
                continue
            if not any(can_hold(name, x + y) for x in wa for y in wb):
                return True
        return False
