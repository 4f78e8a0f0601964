"""Planting camera_off_in_mandatory_window: a gap in the recording of a mandatory window."""

from __future__ import annotations

from engine.core.intervals import length, subtract
from engine.tools.generate.duties import effective, live, officer
from engine.tools.generate.plant.case import Case


def camera_off(case: Case, go: bool) -> bool:
    r, plan = case.r, case.plan
    musts = live(case.decision, "record", "must")
    candidates = [(o, s, e) for o in musts for s, e in effective(o) if e - s >= 360]
    if not candidates or not go:
        return bool(candidates)
    o, s, e = r.choice(candidates)
    gs = float(int(s + 60 + r.random() * (e - s - 300)))
    ge = min(e - 60, gs + r.randint(120, 600))
    who = officer(case.incident, o)
    saved = {k: list(v) for k, v in plan.recordings.items()}
    for k in plan.recordings:
        if who is None or k == who:
            plan.recordings[k] = subtract(plan.recordings[k], [(gs, ge)])
    found = []
    for x in musts:
        xw = officer(case.incident, x)
        cover = plan.recordings.get(xw, []) if xw is not None else [
            sp for v in plan.recordings.values() for sp in v]
        gap = length(subtract(effective(x), cover))
        # a gap a reading of the grace period could excuse: undo, so the answer never hangs on it
        if 15 < gap <= 90:
            plan.recordings = saved
            return False
        if gap > 90:
            found.append(("camera_off_in_mandatory_window", x.rule, x.ruleset))
    plan.truth.extend(found)
    return bool(found)
