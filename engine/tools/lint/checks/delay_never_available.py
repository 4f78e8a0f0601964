"""BWL403: a permitted release delay that is never available: its `only_if` never holds while the release
rule applies, so the delay can never be used.

For each `may_delay` entry with `only_if` of the ruleset's own `release` rules, the search decides
incidents built from the rule (its conditions and the delay's); the entry is reported when the rule
applied in some and the delay was `available` in none.
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
        if release is None or not any(d.only_if is not None for d in release.may_delay):
            continue
        scan = rule_scan(ctx, r)
        if not scan.applies.count:
            continue
        for k, d in enumerate(release.may_delay):
            if d.only_if is None or scan.delays[k].count:
                continue
            out.append(Finding(
                "BWL403", r.place,
                f"delay {k + 1} of `{r.id}` (up to {d.up_to}) is never available: its `only_if` held in none of "
                f"the {scan.applies.count} incidents searched where the release applies",
                "check the `only_if` condition against the rule's own `when` and `unless`",
                (r.place,), example(ctx, scan.applies, f"delay {k + 1} of the obligation of `{r.id}` has "
                                                      "`available: false`"), scan.search(), {"delay": k}))
    return out


CHECK = Check("BWL403", run)
