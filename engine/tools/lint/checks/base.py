"""What a check is: a stable code, whether it is cheap enough for `bwc check`, and the function that runs it.

Each check is a module of this package with one `CHECK` (as zen's table analyses are one file each);
`engine.tools.lint.checks.CHECKS` lists them in the order they run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.tools.lint.context import LintContext, LintRule
from engine.tools.lint.finding import CODES, Example, Finding
from engine.tools.lint.scan import Seen, pair_scan
from policy.obligations import AccessObligation, ReleaseObligation


@dataclass(frozen=True)
class Check:
    code: str
    run: Callable[[LintContext], list[Finding]]
    fast: bool = False  # static: reads the rules only, with no search (what `bwc check` runs)

    def __post_init__(self) -> None:
        assert self.code in CODES, self.code


def example(ctx: LintContext, seen: Seen, shows: str) -> Example | None:
    """The first incident a scan saw, as an example `bwc decide --policy ID@VERSION` reproduces."""
    if seen.first is None:
        return None
    return Example(policy=ctx.ref, incident=seen.first, shows=shows)


def kind_words(rule: LintRule) -> str:
    """What a rule's obligation says, in a few words: `must record`, `must not release to public`."""
    ob = rule.rule.obligation
    effect = getattr(ob, "effect", None)
    verb = {"must": "must", "may": "may", "must_not": "must not"}[effect.value] if effect is not None else "must"
    subject = ""
    if isinstance(ob, AccessObligation):
        subject = " (" + ", ".join(ob.role) + (f", for {ob.purpose}" if ob.purpose else "") + ")"
    elif isinstance(ob, ReleaseObligation):
        subject = " to " + ", ".join(ob.to)
    return f"{verb} {rule.rule.kind}{subject}"


def unsettled_effects(ctx: LintContext, code: str, candidate: Callable[[LintRule, LintRule], bool],
                      otherwise: str) -> list[Finding]:
    """The pairs of the ruleset's own rules that `candidate` admits and that the search shows in an
    unresolved effect conflict (BWL101, BWL102); `otherwise` ends the hint (the way to keep them apart)."""
    out = []
    own = ctx.own
    for i, a in enumerate(own):
        for b in own[i + 1:]:
            if not candidate(a, b):
                continue
            scan = pair_scan(ctx, a, b, "effect")
            if scan.witness.first is None:
                continue
            out.append(Finding(
                code, b.place,
                f"`{a.id}` says {kind_words(a)} and `{b.id}` says {kind_words(b)}; both apply to the same "
                "footage at the same time, and neither names the other in `overrides`",
                f"if one of them is an exception to the other, add `overrides: [{a.id}]` to `{b.id}` (or the "
                f"reverse); otherwise {otherwise}",
                (a.place, b.place),
                example(ctx, scan.witness, f"the decision lists a conflict between `{a.id}` and `{b.id}` with "
                        "`resolution: unresolved`"),
                scan.search))
    return out
