"""BWL201: a rule that is always set aside by a rule that overrides it: whenever it applies, the overriding
rule applies too and takes precedence over the whole of it, so it never has any effect.

For each rule of the ruleset (and each rule of an extended ruleset that one of its rules overrides), the
search decides incidents built from both rules' conditions; a rule is reported when it applied in some
and, in every one, all of its obligations were `overridden_by` the same rule.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check, example
from engine.tools.lint.context import LintContext
from engine.tools.lint.finding import Finding
from engine.tools.lint.scan import rule_scan


def run(ctx: LintContext) -> list[Finding]:
    out = []
    for target in ctx.rules:
        winners = [w for w in ctx.overriders(target) if w.own or target.own]
        if not winners:
            continue
        scan = rule_scan(ctx, target)
        if scan.applies.count == 0:
            continue  # never applies at all: BWL301's finding
        for w in winners:
            seen = scan.set_aside.get(w.id)
            if seen is None or seen.count != scan.applies.count:
                continue
            out.append(Finding(
                "BWL201", target.place if target.own else w.place,
                f"`{target.id}` never takes effect: in each of the {scan.applies.count} incidents searched where it "
                f"applies, `{w.id}` applies too and overrides all of it",
                f"if `{w.id}` is meant to be an exception, narrow it (`when`, `unless`, a window) so that "
                f"`{target.id}` still governs the other cases; otherwise remove `{target.id}`",
                (target.place, w.place),
                example(ctx, scan.applies, f"the obligation of `{target.id}` has `overridden_by: {w.id}`"),
                scan.search()))
    return out


CHECK = Check("BWL201", run)
