"""BWL102: one rule lets a role view footage (or requires it) and another forbids the same role that view,
for the same purpose and at the same time, and neither `overrides` the other.

Candidates are pairs of the ruleset's own `access` rules, one `must_not` and one `may` or `must`, with a
shared role and a purpose in common (a rule without a purpose covers every purpose); a pair is reported
when the search finds an incident whose decision lists their conflict with `resolution: unresolved`.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check, unsettled_effects
from engine.tools.lint.context import LintContext, LintRule
from engine.tools.lint.finding import Finding
from policy.obligations import AccessObligation


def candidate(a: LintRule, b: LintRule) -> bool:
    oa, ob = a.rule.access, b.rule.access
    if not isinstance(oa, AccessObligation) or not isinstance(ob, AccessObligation):
        return False
    if a.id in b.rule.overrides or b.id in a.rule.overrides:
        return False
    forbids = [o.effect.value == "must_not" for o in (oa, ob)]
    if forbids.count(True) != 1:
        return False
    return bool(set(oa.role) & set(ob.role)) and (oa.purpose is None or ob.purpose is None or oa.purpose == ob.purpose)


def run(ctx: LintContext) -> list[Finding]:
    return unsettled_effects(ctx, "BWL102", candidate, "give them different roles, purposes or windows")


CHECK = Check("BWL102", run)
