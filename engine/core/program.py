"""The intermediate program: one ruleset compiled for evaluation by any backend.

Compilation is an ordered list of named stages (`STAGES`). After them:
- every condition is in negation normal form: `not` sits only on single tests and event atoms;
- `unless` is folded into the condition; a rule's trigger tests are kept apart;
- ordered enum values are compared by position, memberships are frozensets;
- rules are indexed by trigger event type; every event type a rule depends on is listed.
Programs are cached by ruleset digest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from policy.base import Effect
from policy.canonical import digest
from policy.conditions import (
    AllCondition,
    AnyCondition,
    Comparison,
    EventCondition,
    FactsCondition,
    NotCondition,
    Operator,
    SequenceCondition,
)
from policy.duration import Duration
from policy.model import Governs, Rule, Ruleset
from policy.obligations import (
    INCIDENT,
    RULE_APPLIES,
    AccessObligation,
    AnyObligation,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
    anchor_names,
)
from policy.vocabulary import Spec, ValueType, Vocabulary, vocabulary_for

# `not_equals` and `not_in` are the negations of `equals` and `in`; the backends see only these:
BASE_OPS = (Operator.EQUALS, Operator.IN, Operator.LESS_THAN, Operator.AT_MOST, Operator.MORE_THAN,
            Operator.AT_LEAST, Operator.EXISTS)
_AS_BASE = {Operator.NOT_EQUALS: Operator.EQUALS, Operator.NOT_IN: Operator.IN}


# --- conditions in negation normal form ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Test:
    """One comparison of a fact or attribute, as `op` (one of BASE_OPS) possibly negated.

    A comparison with a missing value is false, so its negation is true: `not_equals: x` holds
    when the value is missing. `exists` is true when the value is present.
    """

    name: str
    op: Operator
    value: Any  # scalar, frozenset for `in`, int position for ordered enums, None for `exists`
    ordinal: tuple[str, ...] | None = None  # ordered enum: compare positions in this tuple
    negated: bool = False


@dataclass(frozen=True, slots=True)
class FactTest:
    test: Test


@dataclass(frozen=True, slots=True)
class EventAtom:
    """Some event of `type` passes every test (negated: no such event)."""

    type: str
    tests: tuple[Test, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class SequenceAtom:
    """Events matching `steps` happened in order, the last within `within` of the first."""

    steps: tuple[EventAtom, ...]
    within: Duration | None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


Cond = FactTest | EventAtom | SequenceAtom | And | Or | Const
TRUE = Const(True)


@dataclass(frozen=True)
class CompiledRule:
    id: str
    position: int
    rule: Rule
    trigger: str | None
    trigger_tests: tuple[Test, ...]
    condition: Cond
    overrides: frozenset[str]
    depends_on: frozenset[str]  # every event type that can change this rule's outcome
    kind: str  # the rule's obligation kind and the obligation itself, looked up once here
    obligation: AnyObligation
    delay_conditions: tuple[Cond, ...] = ()  # `only_if` of each `may_delay` entry (TRUE when absent)


@dataclass(frozen=True)
class Program:
    ruleset: Ruleset
    digest: str
    vocabulary: Vocabulary
    rules: tuple[CompiledRule, ...]
    by_trigger: dict[str, tuple[CompiledRule, ...]]
    untriggered: tuple[CompiledRule, ...]
    # What precedence reads of the rules, by rule id, made once here rather than on every decision:
    # the rules each one overrides (only those that override any), and the `same_officer` rules.
    overrides: dict[str, frozenset[str]]
    same_officer: frozenset[str]
    # The rules a layer of their own decides: those judged when an action is taken (`governs:
    # conduct`), and those an amendment applies to footage that already exists.
    conduct_rules: frozenset[str]
    existing_footage_rules: frozenset[str]
    ref: str  # `id@version`, as every obligation names its ruleset
    # Each rule's fields that are the same in every obligation it imposes (by rule position): a
    # decision fills in the rest (trigger, evidence, dates).
    heads: tuple[dict[str, Any], ...]


# --- stages --------------------------------------------------------------------------------------

@dataclass
class CompileState:
    """What the stages rewrite, one after another: the rules compiled so far."""

    ruleset: Ruleset
    vocabulary: Vocabulary
    rules: list[CompiledRule] = field(default_factory=list)


Stage = Callable[[CompileState], None]  # one step of the compiler: rewrites the state in place


def _stage_lower(state: CompileState) -> None:
    """Turn each rule's `when`, `unless` and trigger `where` into tests on typed values."""
    low = Lowering(state.vocabulary)
    for pos, rule in enumerate(state.ruleset.rules):
        parts: list[Cond] = []
        if rule.when is not None:
            parts.append(low.condition(rule.when, negate=False))
        if rule.unless is not None:
            parts.append(low.condition(rule.unless, negate=True))
        trigger_tests: tuple[Test, ...] = ()
        if rule.on is not None:
            attrs = state.vocabulary.attributes_of(rule.on)
            trigger_tests = tuple(low.test(n, c, attrs[n]) for n, c in rule.where.items())
        delays: tuple[Cond, ...] = ()
        if isinstance(rule.release, ReleaseObligation):
            delays = tuple(low.condition(d.only_if, negate=False) if d.only_if is not None else TRUE
                           for d in rule.release.may_delay)
        state.rules.append(CompiledRule(
            id=rule.id, position=pos, rule=rule, trigger=rule.on, trigger_tests=trigger_tests,
            condition=And(tuple(parts)) if parts else TRUE, overrides=frozenset(rule.overrides),
            depends_on=frozenset(), delay_conditions=delays, kind=rule.kind, obligation=rule.obligation,
        ))


def _stage_simplify(state: CompileState) -> None:
    """Flatten nested and/or, drop constants."""
    state.rules = [replace(r, condition=simplify(r.condition),
                           delay_conditions=tuple(simplify(c) for c in r.delay_conditions)) for r in state.rules]


def _stage_dependencies(state: CompileState) -> None:
    """List the event types each rule reads (trigger, condition atoms, obligation anchors)."""
    out = []
    for r in state.rules:
        types = set(_atom_types(r.condition)) | set(_anchor_types(r.rule))
        types.update(t for c in r.delay_conditions for t in _atom_types(c))
        if r.trigger:
            types.add(r.trigger)
        types.discard(INCIDENT)
        out.append(replace(r, depends_on=frozenset(types)))
    state.rules = out


# The compiler: its stages by name, run in this order by `compile_ruleset` (as OPA's compiler lists its own).
STAGES: tuple[tuple[str, Stage], ...] = (
    ("lower-conditions", _stage_lower),
    ("simplify", _stage_simplify),  # after lower-conditions: it rewrites the lowered conditions
    ("dependencies", _stage_dependencies),  # after simplify: only the atoms left can change an outcome
)


class Lowering:
    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab

    def condition(self, cond: Any, *, negate: bool) -> Cond:
        if isinstance(cond, AllCondition | AnyCondition):
            items = tuple(self.condition(c, negate=negate) for c in (cond.all if isinstance(cond, AllCondition)
                                                                      else cond.any))
            conjunctive = isinstance(cond, AllCondition) != negate  # De Morgan
            return And(items) if conjunctive else Or(items)
        if isinstance(cond, NotCondition):
            return self.condition(cond.not_, negate=not negate)
        if isinstance(cond, FactsCondition):
            tests = tuple(FactTest(self.test(n, c, self.vocab.facts[n], negate=negate)) for n, c in cond.facts.items())
            return Or(tests) if negate else And(tests)
        if isinstance(cond, EventCondition):
            return replace(self.event(cond), negated=negate)
        if isinstance(cond, SequenceCondition):
            return SequenceAtom(tuple(self.event(s) for s in cond.sequence), cond.within, negated=negate)
        raise TypeError(f"unknown condition {cond!r}")

    def event(self, cond: EventCondition) -> EventAtom:
        attrs = self.vocab.attributes_of(cond.event)
        return EventAtom(cond.event, tuple(self.test(n, c, attrs[n]) for n, c in cond.where.items()))

    def test(self, name: str, comparison: Comparison, spec: Spec, *, negate: bool = False) -> Test:
        op = comparison.op
        value: Any = comparison.value
        if op is Operator.EXISTS:
            return Test(name, op, None, None, negated=(value is False) != negate)
        if op in _AS_BASE:
            op, negate = _AS_BASE[op], not negate
        ordinal = spec.values if spec.type is ValueType.ENUM and spec.ordered else None
        if isinstance(value, list):
            value = frozenset(value)
        elif ordinal is not None and op is not Operator.EQUALS:
            value = ordinal.index(value)
        else:
            ordinal = None
        return Test(name, op, value, ordinal, negated=negate)


def simplify(cond: Cond) -> Cond:
    if isinstance(cond, And | Or):
        kind = type(cond)
        items: list[Cond] = []
        for item in (simplify(c) for c in cond.items):
            if isinstance(item, Const):
                if item.value == (kind is Or):
                    return Const(kind is Or)  # a true branch of an Or, a false one of an And
                continue
            items.extend(item.items if isinstance(item, kind) else (item,))
        if not items:
            return Const(kind is And)
        return items[0] if len(items) == 1 else kind(tuple(items))
    return cond


def _atom_types(cond: Cond) -> list[str]:
    if isinstance(cond, And | Or):
        return [t for c in cond.items for t in _atom_types(c)]
    if isinstance(cond, EventAtom):
        return [cond.type]
    if isinstance(cond, SequenceAtom):
        return [s.type for s in cond.steps]
    return []


def _anchor_types(rule: Rule) -> list[str]:
    ob = rule.obligation
    names: list[str | None]
    if isinstance(ob, WindowObligation):
        names = [ob.from_, ob.until]
    elif isinstance(ob, RetainObligation):
        names = [*anchor_names(ob.after), ob.until] + (["legal_hold_released"] if ob.legal_hold else [])
    elif isinstance(ob, AccessObligation):
        names = [ob.after, ob.before]
    elif isinstance(ob, ReleaseObligation):
        names = [*anchor_names(ob.after), *(n for d in ob.may_delay for n in anchor_names(d.after))]
    else:
        names = list(anchor_names(getattr(ob, "after", None)))
    # `rule_applies` reads what the rule's trigger and condition read, already listed.
    return [n for n in names if n and n != RULE_APPLIES]


def _head(rule: CompiledRule, ref: str) -> dict[str, Any]:
    """The fields of the rule's obligations that do not depend on the incident."""
    r, ob = rule.rule, rule.obligation
    head: dict[str, Any] = {"kind": rule.kind, "effect": getattr(ob, "effect", Effect.MUST), "rule": r.id,
                            "ruleset": ref, "cite": r.cite, "summary": r.summary,
                            "confidence": r.confidence.value if r.confidence else None}
    if isinstance(ob, AccessObligation):
        head["purpose"] = ob.purpose
    elif isinstance(ob, ReleaseObligation):
        head["unedited"] = ob.unedited or None
    return head


_CACHE: dict[str, Program] = {}


def compile_ruleset(ruleset: Ruleset, vocabulary: Vocabulary | None = None) -> Program:
    """Compile a validated ruleset; the program is cached by the ruleset's digest."""
    key = digest(ruleset)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    state = CompileState(ruleset, vocabulary or vocabulary_for(ruleset))
    for _name, stage in STAGES:
        stage(state)
    by_trigger: dict[str, list[CompiledRule]] = {}
    for r in state.rules:
        if r.trigger is not None:
            by_trigger.setdefault(r.trigger, []).append(r)
    program = Program(
        ruleset=ruleset, digest=key, vocabulary=state.vocabulary, rules=tuple(state.rules),
        by_trigger={k: tuple(v) for k, v in by_trigger.items()},
        untriggered=tuple(r for r in state.rules if r.trigger is None),
        overrides={r.id: r.overrides for r in state.rules if r.overrides},
        same_officer=frozenset(r.id for r in state.rules if r.rule.same_officer),
        conduct_rules=frozenset(r.id for r in state.rules if r.rule.governs is Governs.CONDUCT),
        existing_footage_rules=frozenset(r.id for r in state.rules if r.rule.applies_to_existing_footage),
        ref=ruleset.ref,
        heads=tuple(_head(r, ruleset.ref) for r in state.rules),
    )
    _CACHE[key] = program
    return program
