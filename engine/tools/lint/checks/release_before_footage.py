"""BWL104: a release that falls due before the footage it releases can have been recorded.

For each of the ruleset's own `release` rules with `effect: must` and a deadline, the search looks for
an incident whose decision has the release due (`by`) on a day before the first day any recording
window of the incident (`record`, must or may) opens: the deadline is counted from an anchor that can
come long before the recording starts. A deadline counted from the rule's own trigger (a request) is
left alone: the duty arises only when someone asks.
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
                or (r.rule.on is not None and release.after == r.rule.on):
            continue  # counted from its own trigger (a request): the duty arises when it is asked for
        scan = rule_scan(ctx, r)
        seen = scan.before_footage
        if seen.first is None:
            continue
        out.append(Finding(
            "BWL104", r.place,
            f"`{r.id}` can fall due before the footage is recorded: {seen.note}",
            "count the deadline from an event that comes after the recording (for example the request, or "
            "the end of the encounter), or limit the rule to incidents where recording has started",
            (r.place,), example(ctx, seen, f"the release of `{r.id}` is due (`by`) before the `from` of every "
                                           "`record` obligation"),
            scan.search(seen)))
    return out


CHECK = Check("BWL104", run)
