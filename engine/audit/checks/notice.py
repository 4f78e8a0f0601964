"""The notice check: people told they were being recorded, within the obligation's window."""

from __future__ import annotations

from bisect import bisect_left

from engine.audit.checks.context import CheckContext
from engine.core.decision import Obligation

FEW_NOTICES = 16  # an incident's notices looked through for each notice obligation; more are indexed


def no_notice(c: CheckContext, o: Obligation) -> None:
    check = "no_notice"
    got = c.window(o, c.actions.start_ts)
    if got is None:
        c.add(o, check, "compliant", "notice once the window opens", "the window has not opened")
        return
    _, text = got
    w = o.window
    start = c.time(w.from_) if w is not None and w.from_ is not None else None
    lo = c.actions.start_ts if start is None else start
    closed = w is not None and w.until is not None and not w.until.pending and w.until.at is not None
    hi = (c.time(w.until) or c.actions.as_of_ts) if closed and w is not None else c.actions.as_of_ts
    officer = c.officer(o)
    notices = c.actions.notices
    if len(notices) <= FEW_NOTICES:  # most incidents: looked through
        given = any(lo <= t <= hi and (officer is None or who is None or who == officer) for t, who in notices)
    else:
        # Any notice by the officer (or naming none) at `lo`..`hi`: the first at or after `lo` of each sorted
        # list, found by bisect (an incident may have thousands of notices and of obligations), is at most `hi`.
        given = False
        for times in c.actions.notice_times(officer):
            i = bisect_left(times, lo)
            if i < len(times) and times[i] <= hi:
                given = True
                break
    expected = f"notice that people are being recorded {text}"
    if given:
        c.add(o, check, "compliant", expected, "notice given")
    elif closed:
        c.add(o, check, "violation", expected, "no notice given in the window")
    else:
        c.add(o, check, "at_risk", expected, "no notice given yet (the window is still open)")
