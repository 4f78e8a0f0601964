"""BWL202: an `overrides` entry that can never take effect, because precedence never compares the two rules.

Precedence compares only obligations of the same kind and subject (docs/semantics.md): a `record` rule
cannot set aside a `notify` rule, an `access` rule for one role cannot set aside one for another role, and
between retention rules only a `retain` and a `delete` are compared (two minimums are combined, never set
aside). Found from the rules alone; the example (an incident in which both rules apply and the named
rule stays in force) is searched for by `bwc lint`, not by `bwc check`.
"""

from __future__ import annotations

from engine.tools.lint.checks.base import Check
from engine.tools.lint.context import LintContext, LintRule
from engine.tools.lint.finding import Example, Finding, Search
from policy.obligations import AccessObligation, ReleaseObligation


def why_never(winner: LintRule, loser: LintRule) -> str | None:
    """Why precedence never compares the two rules' obligations; None when it may."""
    kw, kl = winner.rule.kind, loser.rule.kind
    if {kw, kl} == {"retain", "delete"}:
        return None
    if kw != kl:
        return f"`{winner.id}` is a `{kw}` rule and `{loser.id}` a `{kl}` rule, and precedence only compares " \
               "obligations of the same kind (or a `retain` with a `delete`)"
    if kw in ("retain", "delete"):
        return f"both are `{kw}` rules: the decision combines them (the latest minimum, the earliest " \
               "deadline) and never sets one aside"
    a, b = winner.rule.obligation, loser.rule.obligation
    if isinstance(a, AccessObligation) and isinstance(b, AccessObligation):
        if not set(a.role) & set(b.role):
            return f"they name no role in common ({', '.join(a.role)} and {', '.join(b.role)})"
        if a.purpose is not None and b.purpose is not None and a.purpose != b.purpose:
            return f"their purposes differ ({a.purpose} and {b.purpose})"
    if isinstance(a, ReleaseObligation) and isinstance(b, ReleaseObligation) and not set(a.to) & set(b.to):
        return f"they release to different recipients ({', '.join(a.to)} and {', '.join(b.to)})"
    return None


def _example(ctx: LintContext, winner: LintRule, loser: LintRule) -> tuple[Example | None, Search]:
    run = ctx.search([winner, loser])
    for f in run.found:
        mine = loser.obligations(f.decision)
        if winner.obligations(f.decision) and mine and all(
                o.overridden_by != winner.id and not any(s.rule == winner.id for s in o.suspended or ())
                for o in mine):
            return Example(ctx.ref, f.incident, f"both rules apply, and the obligation of `{loser.id}` has no "
                           f"`overridden_by` or `suspended` naming `{winner.id}`"), run.summary(f.number)
    return None, run.summary()


def run(ctx: LintContext) -> list[Finding]:
    out = []
    for w in ctx.own:
        for name in w.rule.overrides:
            loser = ctx.rule(name, ctx.ref) or ctx.rule(name)
            if loser is None:
                continue
            why = why_never(w, loser)
            if why is None:
                continue
            found, search = (None, None) if ctx.fast_only else _example(ctx, w, loser)
            out.append(Finding(
                "BWL202", w.place, f"`{w.id}` names `{loser.id}` in `overrides`, but that never takes effect: {why}",
                f"remove `{loser.id}` from `overrides`, or write the exception as a rule of the same kind and "
                "subject as the one it sets aside",
                (w.place, loser.place), found, search))
    return out


CHECK = Check("BWL202", run, fast=True)
