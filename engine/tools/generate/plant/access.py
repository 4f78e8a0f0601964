"""Planting viewed_while_denied and biometric_while_prohibited: a view or a biometric run inside
a prohibition."""

from __future__ import annotations

from engine.core.intervals import contains, near_edge
from engine.tools.generate.duties import effective, live
from engine.tools.generate.plant.case import Case


def viewed_while_denied(case: Case, go: bool) -> bool:
    return _denied(case, go, biometric=False)


def biometric_while_prohibited(case: Case, go: bool) -> bool:
    return _denied(case, go, biometric=True)


def _denied(case: Case, go: bool, biometric: bool) -> bool:
    r, d, start, plan = case.r, case.decision, case.start, case.plan
    denials = [o for o in live(d, "access", "must_not") if not o.suspended]
    if biometric:
        denials = [o for o in denials if o.purpose == "biometric_identification"]
    else:
        denials = [o for o in denials if o.role]
    usable = []
    for o in denials:
        parts = effective(o)
        if not parts:
            continue
        s, e = parts[0]
        s = max(s, start + 600)
        e = min(e, s + 3 * 86400)
        if e - s >= 600:
            usable.append((o, s, e))
    if plan.deletion is not None:
        usable = [u for u in usable if u[1] + 600 < plan.deletion]
    if not usable or not go:
        return bool(usable)
    o, s, e = r.choice(usable)
    e = min(e, plan.deletion - 60) if plan.deletion is not None else e
    t = float(int(s + 120 + r.random() * (e - s - 240)))
    prohibitions = [x for x in live(d, "access", "must_not") if not x.suspended]
    edges = [p for x in d.obligations if x.kind == "access" for p in effective(x)]
    if near_edge(edges, t, 60):
        return False
    if biometric:
        purpose = r.choice(("identification", "other"))
        plan.biometrics.append((t, purpose))
        for x in prohibitions:
            if x.purpose == "biometric_identification" and contains(effective(x), t):
                plan.truth.append(("biometric_while_prohibited", x.rule, x.ruleset))
        return True
    role = (o.role or ["agency"])[0]
    purpose = o.purpose or r.choice(("report_writing", "investigation", "supervision", "statement"))
    for x in prohibitions:  # a prohibition for the whole agency: does it cover this role? not settled, so avoid
        if "agency" in (x.role or ()) and role not in (x.role or ()) and (
                x.purpose is None or x.purpose == purpose) and contains(effective(x), t):
            return False
    plan.views.append((t, role, purpose))
    for x in prohibitions:
        if role in (x.role or ()) and (x.purpose is None or x.purpose == purpose) and contains(effective(x), t):
            plan.truth.append(("viewed_while_denied", x.rule, x.ruleset))
    return True
