"""BWL303: the ruleset extends another whose versions (those `extends` accepts) are in force on none of the
days this one is: the rules it builds on never apply with its own, so decisions under it hold only its
own rules.

Found from the `effective` dates of the versions. The example is an incident on the ruleset's first day
in force, whose decision shows the extended layer not in force.
"""

from __future__ import annotations

from datetime import date

from engine.tools.lint.checks.base import Check
from engine.tools.lint.context import LintContext, place_of
from engine.tools.lint.finding import Example, Finding
from policy.in_force import judging
from policy.model import Effective


def _overlap(a: Effective, b: Effective) -> bool:
    end_a, end_b = a.until or date.max, b.until or date.max
    return a.from_ <= end_b and b.from_ <= end_a


def _span(e: Effective) -> str:
    return f"from {e.from_}" + (f" to {e.until}" if e.until else "")


def run(ctx: LintContext) -> list[Finding]:
    ext = ctx.ruleset.extends
    if ext is None:
        return []
    accepted = ctx.library.repository.bases(ctx.ruleset)
    enacted = judging(accepted)
    if not enacted or any(_overlap(ctx.ruleset.effective, b.effective) for b in enacted):
        return []
    example = None
    if not ctx.fast_only:
        incident = {"id": "lint-extends", "timezone": ctx.zone.key, "facts": {},
                    "events": [{"type": ctx.ruleset.version_date if ctx.ruleset.version_date in ctx.vocab.events
                                else ctx.start_event, "at": ctx.start.isoformat()}]}
        decision = ctx.decide(incident)
        if decision is not None and any(lay.role == "base" and not lay.in_force for lay in decision.layers):
            example = Example(ctx.ref, incident, f"the decision's layer `{ext.ruleset}` has `in_force: false`")
    where = place_of(ctx.library, ctx.ruleset, ("extends",), None)
    return [Finding(
        "BWL303", where,
        f"`{ctx.ref}` is in force {_span(ctx.ruleset.effective)}, but no version of `{ext.ruleset}` that "
        f"`extends` accepts ({ext.version}) is in force on any of those days "
        f"({'; '.join(f'{b.version}: {_span(b.effective)}' for b in enacted)})",
        "widen the `extends` version range to the version in force on these days, or correct the `effective` "
        "dates", (where,), example)]


CHECK = Check("BWL303", run, fast=True)
