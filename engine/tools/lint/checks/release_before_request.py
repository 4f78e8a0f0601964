"""BWL105: a release triggered by an event (a records request) that can fall due before that event happens.

For each of the ruleset's own `release` rules with `effect: must`, a trigger (`on`) and a deadline
counted from another anchor, the search looks for an incident whose decision has the release due
(`by`) on a day before the day of the rule's own trigger: the deadline had passed when the duty arose.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check, example
from engine.tools.lint.context import LintContext
from engine.tools.lint.finding import Finding
from engine.tools.lint.scan import rule_scan


def run(ctx: LintContext) -> list[Finding]:
    out = []
    for r in ctx.own:
        release = r.rule.release
        if release is None or release.effect.value != "must" or release.within in (None, "promptly") \
                or r.rule.on is None or release.after == r.rule.on:
            continue
        scan = rule_scan(ctx, r)
        seen = scan.before_trigger
        if seen.first is None:
            continue
        out.append(Finding(
            "BWL105", r.place,
            f"`{r.id}` can fall due before the event that triggers it: {seen.note}",
            f"count the deadline from the trigger (`after: {r.rule.on}`), or from the later of the two events",
            (r.place,), example(ctx, seen, f"the release of `{r.id}` is due (`by`) before the day of its "
                                           f"`{r.rule.on}` trigger"),
            scan.search(seen)))
    return out


CHECK = Check("BWL105", run)
