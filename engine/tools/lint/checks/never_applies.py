"""BWL301: a rule that never applies: no incident the search builds from its conditions makes it apply
(conditions that contradict each other, an `unless` that always holds when the trigger happens).

For each of the ruleset's own rules, every combination of the values its conditions mention (and one
value they do not) is decided, on each timeline; the rule is reported when it applied in none. The
example is the first incident that holds the rule's trigger: its decision has no obligation of the rule.
A trigger no event can match is reported as BWL302 instead.
"""

from __future__ import annotations

from engine.tools.lint.checks import trigger_cannot_match
from engine.tools.lint.checks.base import Check, example
from engine.tools.lint.context import LintContext
from engine.tools.lint.finding import Finding
from engine.tools.lint.scan import rule_scan
from policy.in_force import ENACTED
from policy.model import Governs


def run(ctx: LintContext) -> list[Finding]:
    out = []
    for r in ctx.own:
        if trigger_cannot_match.problems(r, ctx.vocab):
            continue
        if r.rule.governs is Governs.CONDUCT and ctx.ruleset.status not in ENACTED:
            continue  # a draft's conduct rules bind no action until it is enacted: not a flaw of the rule
        scan = rule_scan(ctx, r)
        if scan.applies.count:
            continue
        seen = scan.triggered if scan.triggered.first is not None else scan.first
        happened = f", though its trigger `{r.rule.on}` happened" if scan.triggered.first is not None else ""
        out.append(Finding(
            "BWL301", r.place,
            f"`{r.id}` never applies: it applied in none of the {scan.searched} incidents built from the values "
            "its conditions name",
            "look for conditions that contradict each other (a `when` and an `unless` that test the same thing, a "
            "fact required to have two values, an `unless` naming the trigger itself)",
            (r.place,), example(ctx, seen, f"the decision has no obligation of `{r.id}`{happened}"), scan.search()))
    return out


CHECK = Check("BWL301", run)
