"""Aimed combinations: the incidents of a search chosen to satisfy the rules' conditions, read from their
compiled form, so that a rule applying only in a rare combination is tried first, not left to the sample.

Each condition (in negation normal form, `engine.core.program`) is expanded into a few conjunctions of
tests (a disjunctive normal form, capped); each conjunction, with the rule's trigger, is turned into a
combination of the search space: a fact gets a value of its domain that passes every test on it, an
event type that must be present gets an attribute combination passing its tests (and failing every
`not` on the same type), one that must be absent is left out. What no conjunction fixes takes a
baseline value: every event absent, or every first choice. The tests are evaluated by the engine's
own evaluator (`engine.core.evaluation.compile_test`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.core.evaluation import compile_test
from engine.core.program import And, Cond, Const, EventAtom, FactTest, Or, SequenceAtom, Test
from engine.tools.lint.space import ABSENT, Space

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
