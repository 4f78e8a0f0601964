"""Retention checks: footage deleted before its keeping period ended, or kept past its deletion deadline."""

from __future__ import annotations

from datetime import date

from engine.audit.checks.context import AT_RISK_DAYS, CheckContext
from engine.audit.findings import days_text, pending_text
from engine.core.decision import Obligation, Pending


def deleted_before_minimum(c: CheckContext, o: Obligation) -> None:
    check = "deleted_before_minimum"
    keep = o.retain_until
    if isinstance(keep, Pending):
        expected = ("keep while the legal hold is in force" if o.legal_hold
                    else f"keep {pending_text(keep)}")
    elif keep == "indefinite":
        expected = "keep indefinitely"
    else:
        expected = f"keep until {keep}"
    deleted = c.deleted_day()
    if deleted is None:
        c.add(o, check, "compliant", expected, "not deleted")
    elif isinstance(keep, Pending) or keep == "indefinite":
        c.add(o, check, "violation", expected, f"deleted on {deleted}")
    elif isinstance(keep, date) and deleted < keep:
        c.add(o, check, "violation", expected, f"deleted on {deleted}", days_text((keep - deleted).days))
    else:
        c.add(o, check, "compliant", expected, f"deleted on {deleted}")


def kept_past_maximum(c: CheckContext, o: Obligation) -> None:
    check = "kept_past_maximum"
    by = o.delete_by
    if not isinstance(by, date):
        text = pending_text(by) if isinstance(by, Pending) else str(by)
        c.add(o, check, "compliant", f"delete {text}", "the deadline has not started")
        return
    expected = f"delete by {by}"
    deleted = c.deleted_day()
    if deleted is not None:
        if deleted > by:
            c.add(o, check, "violation", expected, f"deleted on {deleted}", days_text((deleted - by).days))
        else:
            c.add(o, check, "compliant", expected, f"deleted on {deleted}")
        return
    today = c.as_of_day()
    if today > by:
        c.add(o, check, "violation", expected, f"not deleted as of {today}", days_text((today - by).days))
    elif (by - today).days <= AT_RISK_DAYS:
        c.add(o, check, "at_risk", expected, f"not deleted as of {today} ({days_text((by - today).days)} "
              "left)")
    else:
        c.add(o, check, "compliant", expected, f"not deleted as of {today}")
