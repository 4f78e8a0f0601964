"""Planting no_notice: the notices of one closed notice window removed."""

from __future__ import annotations

import math

from engine.core.intervals import contains
from engine.tools.generate.duties import effective, live
from engine.tools.generate.plant.case import Case


def no_notice(case: Case, go: bool) -> bool:
    plan = case.plan
    notify = [o for o in live(case.decision, "notify", "must") if effective(o)]
    closed = [o for o in notify if not any(math.isinf(e) for _, e in effective(o))]
    targets = [o for o in closed if not o.suspended]
    if not targets or not go:
        return bool(targets)
    target = case.r.choice(targets)
    tw = effective(target)
    kept = [(t, who) for t, who in plan.notices if not contains(tw, t)]
    # notices removed from the target window: every obligation left without one is broken
    plan.notices = kept
    for o in closed:
        if not any(contains(effective(o), t) for t, _ in kept):
            plan.truth.append(("no_notice", o.rule, o.ruleset))
    return True
