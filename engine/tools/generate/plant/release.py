"""Planting released_late, not_released and unredacted_release: a required release made late, not
made (with a later action, so that the incident's time has passed the deadline), or unredacted."""

from __future__ import annotations

from datetime import date, timedelta

from engine.core.decision import Decision, Obligation
from engine.tools.generate.clock import local_day, noon
from engine.tools.generate.duties import free_view, live, needs_redaction
from engine.tools.generate.plant.case import Case


def released_late(case: Case, go: bool) -> bool:
    return _release(case, go, "released_late")


def not_released(case: Case, go: bool) -> bool:
    return _release(case, go, "not_released")


def unredacted_release(case: Case, go: bool) -> bool:
    return _release(case, go, "unredacted_release")


def _groups(d: Decision, redaction: bool) -> list[list[Obligation]]:
    """Required releases grouped by their recipients, when no other release rule makes the answer
    depend on a reading: the required releases touching those recipients all name exactly them,
    and (for redaction) no permission to release touches them either."""
    releases = live(d, "release")
    groups: list[list[Obligation]] = []
    for o in releases:
        if o.effect.value != "must":
            continue
        rec = set(o.to or ())
        touching = [x for x in releases if rec & set(x.to or ()) and (redaction or x.effect.value == "must")]
        if any(set(x.to or ()) != rec or x.effect.value != "must" for x in touching):
            continue
        if touching not in groups:
            groups.append(touching)
    return groups


def _release(case: Case, go: bool, check: str) -> bool:
    r, d, plan, zone = case.r, case.decision, case.plan, case.zone
    groups = _groups(d, check == "unredacted_release")
    if check == "unredacted_release":
        groups = [g for g in groups if any(o.redact for o in g)
                  and all(to in plan.releases for o in g for to in o.to or ())]
    else:
        groups = [g for g in groups if all(isinstance(o.by, date) for o in g)
                  and not any(dl.available for o in g for dl in o.delays or ())]
    if check == "not_released" and plan.deletion is not None:
        limit = local_day(plan.deletion, zone) - timedelta(days=35)
        groups = [g for g in groups if all(isinstance(o.by, date) and o.by < limit for o in g)]
    if not groups or not go:
        return bool(groups)
    g = r.choice(groups)
    recipients = sorted({to for o in g for to in o.to or ()})
    if check == "unredacted_release":
        for to in recipients:
            plan.releases[to] = (plan.releases[to][0], False)
        plan.truth.extend((check, o.rule, o.ruleset) for o in g if o.redact)
        return True
    latest = max(o.by for o in g if isinstance(o.by, date))
    day = latest + timedelta(days=r.randint(3, 30))
    when = noon(day, r, zone)
    if plan.deletion is not None and when >= plan.deletion:
        return False
    if check == "released_late":
        for to in recipients:
            plan.releases[to] = (when, needs_redaction(d, to))
    else:
        view = free_view(r, d, when)
        if view is None:
            return False
        for to in recipients:
            plan.releases.pop(to, None)
        plan.views.append((when, *view))  # an action after the deadline: the incident's time has passed it
    plan.truth.extend((check, o.rule, o.ruleset) for o in g)
    return True
