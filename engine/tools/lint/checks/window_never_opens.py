"""BWL402: a window that never opens while the rule applies: a `record` or `notify` window `from` an event,
or an `access` window `after` one, where the rule's conditions rule that event out. The obligation is
always waiting for its opening, so it never binds anyone.

Found as BWL401 is, for window rules: reported when the rule applied in some incidents searched and its
window had not opened in any.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check, example
from engine.tools.lint.context import LintContext
from engine.tools.lint.finding import Finding
from engine.tools.lint.scan import counts_from_anchor, rule_scan

KINDS = ("record", "notify", "access")


def run(ctx: LintContext) -> list[Finding]:
    out = []
    for r in ctx.own:
        if r.rule.kind not in KINDS or not counts_from_anchor(r):
            continue
        scan = rule_scan(ctx, r)
        if not scan.applies.count or scan.dated.count or scan.undated.first is None:
            continue
        out.append(Finding(
            "BWL402", r.place,
            f"`{r.id}`'s window never opens: in each of the {scan.applies.count} incidents searched where it "
            "applies, the event it opens at has not happened",
            "open the window at an event that can happen while the rule applies, or remove the condition that "
            "rules that event out",
            (r.place,), example(ctx, scan.undated, f"the window of `{r.id}` opens at a pending event"), scan.search()))
    return out


CHECK = Check("BWL402", run)
