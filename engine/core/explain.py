"""Explanations: for every rule, whether it applied to an incident and why, in the drafter's terms.

For a rule that fired: the trigger events and the facts and events that satisfied its conditions.
For one that did not: the first condition that failed. Conditions are explained as written in the
ruleset (not in their compiled form), leaf by leaf, with the values the incident had. What held is
read from a trace of the engine's one condition evaluator (engine/core/evaluation.py), not worked out
a second time; the text is rendered by the cli (engine/cli/text/explain.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.core.evaluation import Context, Trace, Traced, compile_traced
from engine.core.incident import Event, Incident
from engine.core.program import And, CompiledRule, Cond, EventAtom, Lowering, Or, Program, SequenceAtom
from policy.conditions import (
    OPERATOR_WORDS,
    AllCondition,
    AnyCondition,
    Comparison,
    EventCondition,
    FactsCondition,
    NotCondition,
    SequenceCondition,
)
from policy.describe import article


@dataclass
class Check:
    """One condition as the ruleset states it, whether it held, and what the incident showed."""

    text: str
    ok: bool
    detail: str = ""
    children: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": self.text, "holds": self.ok}
        if self.detail:
            out["because"] = self.detail
        if self.children:
            out["parts"] = [c.to_dict() for c in self.children]
        return out


@dataclass
class RuleExplanation:
    rule: str
    summary: str
    cite: str
    fired: bool
    triggers: list[str]
    checks: list[Check]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "summary": self.summary, "cite": self.cite, "fired": self.fired,
                "triggers": self.triggers, "reason": self.reason, "checks": [c.to_dict() for c in self.checks]}


@dataclass
class LayerExplanation:
    """The rules of another version a decision also weighs (a `base` the selected version extends, a
    later version's `amendment` for existing footage, a version whose `conduct` rules bound the actions
    taken while it was in force), explained as the selected version's are: the decision's `layers`."""

    ruleset: str  # id@version
    digest: str
    role: str
    in_force: bool
    rules: list[RuleExplanation]

    def to_dict(self) -> dict[str, Any]:
        return {"ruleset": self.ruleset, "digest": self.digest, "role": self.role, "in_force": self.in_force,
                "rules": [r.to_dict() for r in self.rules]}


@dataclass
class Explanation:
    """Why a decision is what it is, rule by rule: every rule of the selected version (`in_force` False:
    it was not in effect on the incident's date and decides nothing, whatever its rules' conditions
    found), then every rule of each other version the decision weighs (`layers`)."""

    incident_id: str
    as_of: str
    ruleset: str  # id@version
    digest: str
    in_force: bool
    rules: list[RuleExplanation]
    layers: list[LayerExplanation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "as_of": self.as_of, "ruleset": self.ruleset,
                "digest": self.digest, "in_force": self.in_force, "rules": [r.to_dict() for r in self.rules],
                "layers": [layer.to_dict() for layer in self.layers]}


def _describe(name: str, c: Comparison) -> str:
    value = ", ".join(map(_v, c.value)) if isinstance(c.value, list) else _v(c.value)
    if c.op.value == "exists":
        return f"{name} {'is' if c.value else 'is not'} recorded"
    return f"{name} {OPERATOR_WORDS[c.op]} {value}"


def _v(x: Any) -> str:
    return "true" if x is True else "false" if x is False else str(x)


def _when(e: Event) -> str:
    return f"{e.type} at {e.at.isoformat()} (event #{e.index})"


# A rule's conditions as written, lowered without simplifying (every leaf kept, in the order written) and
# compiled for tracing: (rule, trigger atom, its traced form, `when`, `unless`, their traced form).
_Lowered = tuple[CompiledRule, EventAtom | None, Traced | None, Cond | None, Cond | None, Traced]
_LOWERED: dict[int, _Lowered] = {}  # by rule (kept alive here, so an id is never reused)
_KEEP = 1 << 14


class Explainer:
    """Explains each rule from a trace of the evaluator (`compile_traced`) over its conditions as written."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.lower = Lowering(program.vocabulary)

    def explain(self, incident: Incident, ctx: Context, fired: set[int]) -> list[RuleExplanation]:
        return [self.rule(r, incident, ctx, r.position in fired) for r in self.program.rules]

    def lowered(self, r: CompiledRule) -> _Lowered:
        found = _LOWERED.get(id(r))
        if found is None:
            if len(_LOWERED) >= _KEEP:
                _LOWERED.clear()
            rule = r.rule
            trigger = EventAtom(rule.on, r.trigger_tests) if rule.on is not None else None
            # Both lowered as stated (not negated): `unless` is explained as the exception it names.
            when = self.lower.condition(rule.when, negate=False) if rule.when is not None else None
            unless = self.lower.condition(rule.unless, negate=False) if rule.unless is not None else None
            found = _LOWERED[id(r)] = (
                r, trigger, compile_traced(trigger, every_match=True) if trigger is not None else None,
                when, unless, compile_traced(And(tuple(c for c in (when, unless) if c is not None))))
        return found

    def rule(self, r: CompiledRule, incident: Incident, ctx: Context, fired: bool) -> RuleExplanation:
        rule = r.rule
        _, trigger, traced_trigger, when, unless, traced = self.lowered(r)
        trace = Trace()
        if traced_trigger is not None:
            traced_trigger(ctx, trace)
        traced(ctx, trace)
        checks: list[Check] = []
        triggers: list[str] = []
        reason = ""
        if rule.on is not None:
            assert trigger is not None
            events = incident.by_type.get(rule.on, ())
            passing = trace.found(trigger)
            triggers = [_when(e) for e in passing]
            where = ", ".join(_describe(n, c) for n, c in rule.where.items())
            text = f"on {rule.on}" + (f" where {where}" if where else "")
            detail = (f"{len(passing)} of {len(events)} {rule.on} event(s) qualify" if events
                      else f"no {rule.on} event")
            checks.append(Check(text, bool(passing), detail))
            if not passing:
                reason = f"no qualifying `{rule.on}` event"
        if rule.when is not None:
            assert when is not None
            c = self.condition(rule.when, when, False, trace, ctx)
            checks.append(Check("when", c.ok, "", [c]))
            if not c.ok and not reason:
                reason = f"`when` does not hold: {self.first_failure(c)}"
        if rule.unless is not None:
            assert unless is not None
            c = self.condition(rule.unless, unless, False, trace, ctx)
            checks.append(Check("unless", not c.ok, "the exception applies" if c.ok else "no exception", [c]))
            if c.ok and not reason:
                reason = f"the exception (`unless`) applies: {c.text}"
        if fired:
            reason = "applies"
        return RuleExplanation(rule.id, rule.summary, rule.cite, fired, triggers, checks, reason)

    def first_failure(self, c: Check) -> str:
        for child in c.children:
            if not child.ok:
                return self.first_failure(child)
        return c.text + (f" ({c.detail})" if c.detail else "")

    def condition(self, cond: Any, low: Cond, negated: bool, trace: Trace, ctx: Context) -> Check:
        """`cond` as written, from the trace of `low`, its lowered form (negated under an odd number of
        `not`s: `not` is pushed down to the leaves, so a leaf held as written when its lowered form did
        not)."""
        if isinstance(cond, AllCondition | AnyCondition):
            assert isinstance(low, And | Or)
            written = cond.all if isinstance(cond, AllCondition) else cond.any
            parts = [self.condition(c, lc, negated, trace, ctx) for c, lc in zip(written, low.items, strict=True)]
            if isinstance(cond, AllCondition):
                return Check("all of", all(p.ok for p in parts), "", parts)
            return Check("any of", any(p.ok for p in parts), "", parts)
        if isinstance(cond, NotCondition):
            inner = self.condition(cond.not_, low, not negated, trace, ctx)
            return Check("not", not inner.ok, "", [inner])
        if isinstance(cond, FactsCondition):
            assert isinstance(low, And | Or)
            parts = list(self.facts(cond, low, negated, trace, ctx))
            return parts[0] if len(parts) == 1 else Check("facts", all(p.ok for p in parts), "", parts)
        if isinstance(cond, EventCondition):
            assert isinstance(low, EventAtom)
            return self.event(cond, low, trace, ctx)
        if isinstance(cond, SequenceCondition):
            assert isinstance(low, SequenceAtom)
            chain = trace.found(low)
            text = " then ".join(s.event for s in cond.sequence) + (f", within {cond.within.describe()}"
                                                                      if cond.within else "")
            detail = ("; ".join(_when(e) for e in chain) if chain else "no such sequence of events")
            return Check(f"in order: {text}", bool(chain), detail)
        raise TypeError(cond)

    def facts(self, cond: FactsCondition, low: And | Or, negated: bool, trace: Trace,
              ctx: Context) -> Iterator[Check]:
        for (name, comparison), test in zip(cond.facts.items(), low.items, strict=True):
            ok = trace.held(test) != negated
            actual = f"{name} is {_v(ctx.facts[name])}" if name in ctx.facts else f"{name} is not recorded"
            yield Check(f"fact: {_describe(name, comparison)}", ok, actual)

    def event(self, cond: EventCondition, low: EventAtom, trace: Trace, ctx: Context) -> Check:
        found = trace.found(low)
        match = found[0] if found else None
        events = ctx.by_type.get(cond.event, ())
        where = ", ".join(_describe(n, c) for n, c in cond.where.items())
        text = f"{article(cond.event)} {cond.event} event" + (f" where {where}" if where else "")
        if match is not None:
            detail = _when(match)
        elif events:
            detail = f"{len(events)} {cond.event} event(s), none with {where}"
        else:
            detail = f"no {cond.event} event"
        return Check(text, match is not None, detail)
