"""BWL401: a duration counted from an anchor that never occurs while the rule applies (a retention counted
from `case_closed` in a rule that applies only while the case is open): the date is always pending, so
the obligation never has a date.

For each of the ruleset's own `retain`, `delete` and `release` rules that count from an event other than
`incident` and the rule's own trigger, the search decides incidents built from the rule; the rule is
reported when it applied in some and its date was pending in every one.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check, example
from engine.tools.lint.context import LintContext
from engine.tools.lint.finding import Finding
from engine.tools.lint.scan import counts_from_anchor, rule_scan

KINDS = ("retain", "delete", "release")


def run(ctx: LintContext) -> list[Finding]:
    out = []
    for r in ctx.own:
        if r.rule.kind not in KINDS or not counts_from_anchor(r):
            continue
        scan = rule_scan(ctx, r)
        if not scan.applies.count or scan.dated.count or scan.undated.first is None:
            continue
        out.append(Finding(
            "BWL401", r.place,
            f"`{r.id}` counts its date from an event that never happens while it applies: in each of the "
            f"{scan.applies.count} incidents searched where it applies, the date is pending",
            "count from an event that can happen while the rule applies, or remove the condition (often an "
            "`unless` or a `not`) that rules that event out",
            (r.place,), example(ctx, scan.undated, f"the obligation of `{r.id}` has a pending date"), scan.search()))
    return out


CHECK = Check("BWL401", run)
