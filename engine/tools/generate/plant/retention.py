"""Planting deleted_before_minimum and kept_past_maximum: footage deleted before the retention
minimum, or kept past the maximum (with a later action, so that the incident's time has passed it)."""

from __future__ import annotations

from datetime import date, timedelta

from engine.tools.generate.clock import local_day, noon
from engine.tools.generate.duties import free_view, retention
from engine.tools.generate.plant.case import Case


def deleted_before_minimum(case: Case, go: bool) -> bool:
    r, plan, zone = case.r, case.plan, case.zone
    retains, _, _, _, _ = retention(case.decision)
    if not retains:
        return False
    actions = [t for t, *_ in plan.views] + [t for t, _ in plan.notices] + [t for t, _ in plan.biometrics] + [
        t for t, _ in plan.releases.values()] + [e for v in plan.recordings.values() for _, e in v]
    first = local_day(max(actions, default=0.0) + 3600, zone) + timedelta(days=1) if actions else None
    dated = [o.retain_until for o in retains if isinstance(o.retain_until, date)]
    if first is None:
        return False
    last = min(dated) - timedelta(days=3) if dated else first + timedelta(days=30)
    if last < first:
        return False
    if not go:
        return True
    plan.deletion = noon(first + timedelta(days=r.randint(0, (last - first).days)), r, zone)
    plan.truth.extend(("deleted_before_minimum", o.rule, o.ruleset) for o in retains)
    return True


def kept_past_maximum(case: Case, go: bool) -> bool:
    r, plan = case.r, case.plan
    _, _, _, deletes, maximum = retention(case.decision)
    if maximum is None or plan.deletion is None:
        return False
    if not go:
        return True
    latest = max(o.delete_by for o in deletes if isinstance(o.delete_by, date))
    t = noon(latest + timedelta(days=r.randint(3, 40)), r, case.zone)
    v = free_view(r, case.decision, t)
    if v is None:
        return False
    plan.deletion = None
    plan.views.append((t, *v))
    plan.truth.extend(("kept_past_maximum", o.rule, o.ruleset) for o in deletes)
    return True
