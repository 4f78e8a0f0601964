"""Explanations: for every rule, whether it applied to an incident and why, in the drafter's terms.

For a rule that fired: the trigger events and the facts and events that satisfied its conditions.
For one that did not: the first condition that failed. Conditions are explained as written in the
ruleset (not in their compiled form), leaf by leaf, with the values the incident had.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.core.evaluation import Context, compile_test, find_sequence
from engine.core.incident import Event, Incident
from engine.core.program import CompiledRule, Lowering, Program
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


def _describe(name: str, c: Comparison) -> str:
    value = ", ".join(map(_v, c.value)) if isinstance(c.value, list) else _v(c.value)
    if c.op.value == "exists":
        return f"{name} {'is' if c.value else 'is not'} recorded"
    return f"{name} {OPERATOR_WORDS[c.op]} {value}"


def _v(x: Any) -> str:
    return "true" if x is True else "false" if x is False else str(x)


def _when(e: Event) -> str:
    return f"{e.type} at {e.at.isoformat()} (event #{e.index})"


class Explainer:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.lower = Lowering(program.vocabulary)

    def explain(self, incident: Incident, ctx: Context, fired: set[int]) -> list[RuleExplanation]:
        return [self.rule(r, incident, ctx, r.position in fired) for r in self.program.rules]

    def rule(self, r: CompiledRule, incident: Incident, ctx: Context, fired: bool) -> RuleExplanation:
        rule = r.rule
        checks: list[Check] = []
        triggers: list[str] = []
        reason = ""
        if rule.on is not None:
            tests = [compile_test(t) for t in r.trigger_tests]
            events = incident.by_type.get(rule.on, ())
            passing = [e for e in events if all(t(e.attributes) for t in tests)]
            triggers = [_when(e) for e in passing]
            where = ", ".join(_describe(n, c) for n, c in rule.where.items())
            text = f"on {rule.on}" + (f" where {where}" if where else "")
            detail = (f"{len(passing)} of {len(events)} {rule.on} event(s) qualify" if events
                      else f"no {rule.on} event")
            checks.append(Check(text, bool(passing), detail))
            if not passing:
                reason = f"no qualifying `{rule.on}` event"
        if rule.when is not None:
            c = self.condition(rule.when, ctx)
            checks.append(Check("when", c.ok, "", [c]))
            if not c.ok and not reason:
                reason = f"`when` does not hold: {self.first_failure(c)}"
        if rule.unless is not None:
            c = self.condition(rule.unless, ctx)
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

    def condition(self, cond: Any, ctx: Context) -> Check:
        if isinstance(cond, AllCondition | AnyCondition):
            parts = [self.condition(c, ctx) for c in (cond.all if isinstance(cond, AllCondition) else cond.any)]
            if isinstance(cond, AllCondition):
                return Check("all of", all(p.ok for p in parts), "", parts)
            return Check("any of", any(p.ok for p in parts), "", parts)
        if isinstance(cond, NotCondition):
            inner = self.condition(cond.not_, ctx)
            return Check("not", not inner.ok, "", [inner])
        if isinstance(cond, FactsCondition):
            parts = list(self.facts(cond, ctx))
            return parts[0] if len(parts) == 1 else Check("facts", all(p.ok for p in parts), "", parts)
        if isinstance(cond, EventCondition):
            return self.event(cond, ctx)
        if isinstance(cond, SequenceCondition):
            steps = [self.lower.event(s) for s in cond.sequence]
            chain = find_sequence(ctx, [(s.type, (lambda ts: (lambda d: all(t(d) for t in ts)))(
                [compile_test(t) for t in s.tests]) if s.tests else None) for s in steps], cond.within)
            text = " then ".join(s.event for s in cond.sequence) + (f", within {cond.within.describe()}"
                                                                      if cond.within else "")
            detail = ("; ".join(_when(e) for e in chain) if chain else "no such sequence of events")
            return Check(f"in order: {text}", chain is not None, detail)
        raise TypeError(cond)

    def facts(self, cond: FactsCondition, ctx: Context) -> Iterator[Check]:
        for name, comparison in cond.facts.items():
            spec = self.program.vocabulary.facts[name]
            ok = compile_test(self.lower.test(name, comparison, spec))(ctx.facts)
            actual = f"{name} is {_v(ctx.facts[name])}" if name in ctx.facts else f"{name} is not recorded"
            yield Check(f"fact: {_describe(name, comparison)}", ok, actual)

    def event(self, cond: EventCondition, ctx: Context) -> Check:
        atom = self.lower.event(cond)
        tests = [compile_test(t) for t in atom.tests]
        events = ctx.by_type.get(cond.event, ())
        match = next((e for e in events if all(t(e.attributes) for t in tests)), None)
        where = ", ".join(_describe(n, c) for n, c in cond.where.items())
        text = f"a {cond.event} event" + (f" where {where}" if where else "")
        if match is not None:
            detail = _when(match)
        elif events:
            detail = f"{len(events)} {cond.event} event(s), none with {where}"
        else:
            detail = f"no {cond.event} event"
        return Check(text, match is not None, detail)


def render_text(explanations: list[RuleExplanation]) -> str:
    lines: list[str] = []
    for ex in explanations:
        mark = "APPLIES" if ex.fired else "does not apply"
        lines.append(f"{'✓' if ex.fired else '·'} {ex.rule}: {mark}  [{ex.cite}]")
        lines.append(f"    {ex.summary}")
        if not ex.fired:
            lines.append(f"    why not: {ex.reason}")
        for t in ex.triggers:
            lines.append(f"    triggered by {t}")
        for c in ex.checks:
            lines.extend(_render_check(c, 2))
        lines.append("")
    return "\n".join(lines)


def _render_check(c: Check, depth: int) -> list[str]:
    pad = "    " * (depth - 1)
    line = f"{pad}{'✓' if c.ok else '✗'} {c.text}" + (f" — {c.detail}" if c.detail else "")
    out = [line]
    for child in c.children:
        out.extend(_render_check(child, depth + 1))
    return out
