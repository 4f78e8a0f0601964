"""BWL302: a trigger that no event can match: a `where` test on the trigger's attribute that no value the
vocabulary allows can pass (`level: {more_than: 4}` where the level runs from 1 to 4, `injury: {more_than:
death}` where death is the highest injury).

Found from the rules and the vocabulary alone. The example is an incident holding the trigger event
with the attribute's extreme value, under which the rule does not apply.
"""

from __future__ import annotations

from typing import Any

from engine.tools.lint.checks.base import Check
from engine.tools.lint.context import LintContext, LintRule
from engine.tools.lint.finding import Example, Finding
from policy.conditions import Comparison, Operator
from policy.vocabulary import NUMERIC, Spec, ValueType, Vocabulary


def impossible(name: str, test: Comparison, spec: Spec, vocab: Vocabulary) -> tuple[str, Any] | None:
    """Why no allowed value passes the test, and the allowed value nearest to passing it; None if one can."""
    op, v = test.op, test.value
    if spec.type is ValueType.ENUM and spec.ordered and isinstance(v, str) and v in spec.values:
        first, last = spec.values[0], spec.values[-1]
        if op is Operator.LESS_THAN and v == first:
            return f"no `{name}` is less than `{v}`, the lowest value ({', '.join(spec.values)})", first
        if op is Operator.MORE_THAN and v == last:
            return f"no `{name}` is more than `{v}`, the highest value ({', '.join(spec.values)})", last
    if spec.type in NUMERIC and isinstance(v, int | float) and not isinstance(v, bool):
        lo, hi = spec.minimum, spec.maximum
        span = f"values from {_shown(lo)} to {_shown(hi)}"
        if lo is not None and ((op is Operator.LESS_THAN and v <= lo) or (op is Operator.AT_MOST and v < lo)):
            return f"no `{name}` is {op.value.replace('_', ' ')} {v}: the vocabulary allows {span}", _number(lo, spec)
        if hi is not None and ((op is Operator.MORE_THAN and v >= hi) or (op is Operator.AT_LEAST and v > hi)):
            return f"no `{name}` is {op.value.replace('_', ' ')} {v}: the vocabulary allows {span}", _number(hi, spec)
    return None


def _shown(x: float | None) -> str:
    if x is None:
        return "any"
    return str(int(x)) if float(x).is_integer() else str(x)


def _number(x: float, spec: Spec) -> int | float:
    return int(x) if spec.type is ValueType.INTEGER else x


def problems(rule: LintRule, vocab: Vocabulary) -> list[tuple[str, str, Any]]:
    """(attribute, why, nearest value) for each test of the rule's trigger that no event can pass."""
    if rule.rule.on is None or rule.rule.on not in vocab.events:
        return []
    specs = vocab.attributes_of(rule.rule.on)
    out = []
    for name, test in rule.rule.where.items():
        spec = specs.get(name)
        found = impossible(name, test, spec, vocab) if spec is not None else None
        if found is not None:
            out.append((name, *found))
    return out


def run(ctx: LintContext) -> list[Finding]:
    out = []
    for r in ctx.own:
        for name, why, nearest in problems(r, ctx.vocab):
            example = None
            if not ctx.fast_only:
                incident = {"id": f"lint-{r.id}", "timezone": ctx.zone.key, "facts": {}, "events": [
                    {"type": r.rule.on, "at": ctx.start.isoformat(), name: nearest}]}
                decision = ctx.decide(incident)
                if decision is not None and not r.obligations(decision):
                    example = Example(ctx.ref, incident, f"the decision has no obligation of `{r.id}`, though its "
                                      f"trigger `{r.rule.on}` happened with `{name}: {nearest}`")
            out.append(Finding(
                "BWL302", r.place, f"`{r.id}` can never apply: its trigger `{r.rule.on}` never matches, because "
                f"{why}", "check the bound against the vocabulary (bwc vocabulary) and the text of the policy",
                (r.place,), example))
    return out


CHECK = Check("BWL302", run, fast=True)
