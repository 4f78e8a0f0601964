"""Release checks: footage released to whom the rule names, by its deadline (or promptly), redacted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.audit.checks.context import AT_RISK_DAYS, CheckContext
from engine.audit.findings import days_text, pending_text
from engine.core.decision import Obligation, Pending

FEW_RELEASES = 16  # an incident's releases looked through for each release obligation; more are indexed
Release = tuple[datetime, str | None, Any]  # when, to whom, `redacted` (as `Actions.releases` gives them)


def _released(c: CheckContext, o: Obligation) -> tuple[Release | None, Release | None]:
    """The first release to whom the obligation names, and the first of those released unredacted (None:
    there is none). From an index of the incident's releases per recipient: an incident may have thousands
    of releases and of release obligations."""
    releases = c.actions.releases
    if len(releases) <= FEW_RELEASES:  # most incidents (none at all, mostly): looked through
        to = set(o.to or ())
        released = [r for r in releases if r[1] in to]
        return (released[0], next((r for r in released if r[2] is False), None)) if released else (None, None)
    first, bad = c.actions.first_release(o.to or ())
    n = len(releases)
    return releases[first] if first < n else None, releases[bad] if bad < n else None


def not_released(c: CheckContext, o: Obligation) -> None:
    """Reported as `released_late` once something was released, `not_released` before."""
    recipients = ", ".join(o.to or ())
    released, _ = _released(c, o)
    check = "released_late" if released else "not_released"
    first = released[0].astimezone(c.zone).date() if released else None
    by = o.by
    if o.promptly_after is not None:
        _released_promptly(c, o, check, recipients, first)
        return
    if not isinstance(by, date):
        expected = f"release to {recipients}" + (f" {pending_text(by)}" if isinstance(by, Pending) else
                                                 " (no deadline)")
        actual = f"released on {first}" if first else "not released yet; no deadline has started"
        c.add(o, check, "compliant", expected, actual)
        return
    deadline: date | None = by
    delayed = False
    for d in o.delays or ():
        if not d.available:
            continue
        delayed = True
        if not isinstance(d.until, date):  # indefinite, or counted from an event still awaited
            deadline = None
            break
        assert deadline is not None
        deadline = max(deadline, d.until)
    expected = f"release to {recipients} by {by}" + (
        "" if not delayed else " (a permitted delay applies: " + (f"until {deadline})" if deadline
                                                                    else "no fixed end)"))
    if first is not None:
        if deadline is not None and first > deadline:
            c.add(o, check, "violation", expected, f"released on {first}", days_text((first - deadline).days))
        else:
            c.add(o, check, "compliant", expected, f"released on {first}")
        return
    today = c.as_of_day()
    if deadline is None:
        c.add(o, check, "compliant", expected, f"not released as of {today}; delayed")
    elif today > deadline:
        c.add(o, check, "violation", expected, f"not released as of {today}", days_text((today - deadline).days))
    elif (deadline - today).days <= AT_RISK_DAYS:
        c.add(o, check, "at_risk", expected, f"not released as of {today} "
              f"({days_text((deadline - today).days)} left)")
    else:
        c.add(o, check, "compliant", expected, f"not released as of {today}")


def _released_promptly(c: CheckContext, o: Obligation, check: str, recipients: str, first: date | None) -> None:
    """A release due `promptly`: the rule gives no number of days, so lateness is never a violation.
    Not released yet, past any permitted delay: at risk, with the days since it fell due."""
    start = o.promptly_after
    assert start is not None
    if start.pending or not start.at:
        expected = f"release to {recipients} promptly once `{start.event}` happens"
        actual = f"released on {first}" if first else "not released yet; `" + str(start.event) + \
            "` has not happened"
        c.add(o, check, "compliant", expected, actual)
        return
    due = datetime.fromisoformat(start.at).astimezone(c.zone).date()
    delay_end: date | None = None
    open_ended = False
    for d in o.delays or ():
        if d.available:
            if isinstance(d.until, date):
                delay_end = d.until if delay_end is None else max(delay_end, d.until)
            else:
                open_ended = True
    expected = f"release to {recipients} promptly after `{start.event}` ({due}; no number of days is set)"
    if open_ended:
        expected += " (a permitted delay applies: no fixed end)"
    elif delay_end is not None:
        expected += f" (a permitted delay applies: until {delay_end})"
    if first is not None:
        c.add(o, check, "compliant", expected, f"released on {first}, {days_text((first - due).days)} after "
              f"`{start.event}`; promptness is not judged in days")
        return
    today = c.as_of_day()
    if open_ended or (delay_end is not None and today <= delay_end):
        c.add(o, check, "compliant", expected, f"not released as of {today}; delayed")
        return
    since = delay_end if delay_end is not None and delay_end > due else due
    c.add(o, check, "at_risk", expected, f"not released as of {today}, {days_text((today - since).days)} "
          f"after it fell due on {since}")


def unredacted_release(c: CheckContext, o: Obligation) -> None:
    check = "unredacted_release"
    expected = "release redacted: " + "; ".join(o.redact or ())
    released, bad = _released(c, o)
    if bad:
        c.add(o, check, "violation", expected, f"released unredacted to {bad[1]} on "
              f"{bad[0].astimezone(c.zone).date()}")
    else:
        c.add(o, check, "compliant", expected, "released redacted" if released else "not released")
