"""BWL101: one rule says must and another must not, about the same footage at the same time, and neither
`overrides` the other (a duty to record, to notify, or to release to the same recipient).

Candidates are pairs of the ruleset's own rules of one kind with opposite effects (and a shared
recipient, for releases); a pair is reported when the search finds an incident whose decision lists
their conflict with `resolution: unresolved`. Conflicts with a rule of an extended ruleset are settled
by the layers (the statute prevails) and are not reported.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check, unsettled_effects
from engine.tools.lint.context import LintContext, LintRule
from engine.tools.lint.finding import Finding

KINDS = ("record", "notify", "release")


def candidate(a: LintRule, b: LintRule) -> bool:
    ka, kb = a.rule.kind, b.rule.kind
    if ka != kb or ka not in KINDS or a.id in b.rule.overrides or b.id in a.rule.overrides:
        return False
    effects = {getattr(a.rule.obligation, "effect", None), getattr(b.rule.obligation, "effect", None)}
    if {e.value for e in effects if e is not None} != {"must", "must_not"}:
        return False
    if ka == "release":
        return bool(set(getattr(a.rule.obligation, "to", ())) & set(getattr(b.rule.obligation, "to", ())))
    return True


def run(ctx: LintContext) -> list[Finding]:
    return unsettled_effects(ctx, "BWL101", candidate,
                             "narrow one rule's conditions so that they cannot apply together")


CHECK = Check("BWL101", run)
