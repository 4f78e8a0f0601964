"""BWL103: a minimum retention that runs past a deletion deadline, which precedence does not settle.

Candidates are pairs of the ruleset's own rules, one `retain` and one `delete`, neither naming the other
in `overrides`; a pair is reported when the search finds an incident whose decision keeps the footage
(`retain_until`) past the day it must be deleted (`delete_by`), listed as a retention conflict with
`resolution: unresolved`.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check, example
from engine.tools.lint.context import LintContext
from engine.tools.lint.finding import Finding
from engine.tools.lint.scan import pair_scan


def run(ctx: LintContext) -> list[Finding]:
    out = []
    retains = [r for r in ctx.own if r.rule.kind == "retain"]
    deletes = [r for r in ctx.own if r.rule.kind == "delete"]
    for keep in retains:
        for drop in deletes:
            if keep.id in drop.rule.overrides or drop.id in keep.rule.overrides:
                continue
            scan = pair_scan(ctx, keep, drop, "retention")
            if scan.witness.first is None:
                continue
            out.append(Finding(
                "BWL103", drop.place,
                f"`{keep.id}` keeps the footage longer than `{drop.id}` allows ({scan.witness.note}), and "
                "neither names the other in `overrides`",
                f"if the longer retention is an exception to the deletion, add `overrides: [{drop.id}]` to "
                f"`{keep.id}`; otherwise give `{drop.id}` an `unless` for the cases `{keep.id}` covers",
                (keep.place, drop.place),
                example(ctx, scan.witness, f"the decision lists a retention conflict between `{keep.id}` and "
                        f"`{drop.id}` with `resolution: unresolved`, and the summary's minimum is later than "
                        "its maximum"),
                scan.search))
    return out


CHECK = Check("BWL103", run)
