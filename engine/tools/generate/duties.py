"""What a decision asks of the agency, read for planning actions: the live obligations, their
windows in force as spans of time, whose they are, the retention bounds, and a view nothing forbids."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import date
from typing import Any

from engine.core.decision import Decision, Obligation
from engine.core.intervals import Span, subtract
from engine.tools.generate.clock import timestamp

INF = math.inf
VIEWS = (("involved_officer", "report_writing"), ("supervisor", "supervision"), ("investigator", "investigation"),
         ("records_staff", "redaction"), ("training_officer", "training"), ("prosecutor", "prosecution"))
"""The (role, purpose) pairs of the views an agency makes."""


def window(o: Obligation) -> Span | None:
    """The obligation's window as seconds (None when it has not opened); open ends are infinite."""
    w = o.window
    if w is None:
        return (-INF, INF)
    if w.from_ is not None and w.from_.pending:
        return None
    s = timestamp(w.from_.at) if w.from_ is not None and w.from_.at else -INF
    e = timestamp(w.until.at) if w.until is not None and w.until.at else INF
    return (s, e)


def effective(o: Obligation) -> list[Span]:
    """The parts of the window in force: not overridden, minus suspended parts."""
    if o.overridden_by is not None:
        return []
    span = window(o)
    if span is None:
        return []
    cut: list[Span] = []
    for part in o.suspended or ():
        ps = timestamp(part.from_.at) if part.from_ is not None and part.from_.at else span[0]
        pe = timestamp(part.until.at) if part.until is not None and part.until.at and not part.until.pending \
            else span[1]
        cut.append((ps, pe))
    return subtract([span], cut)


def live(d: Decision, kind: str, effect: str | None = None) -> list[Obligation]:
    """The obligations of `kind` (and `effect`) no other rule overrides."""
    return [o for o in d.obligations if o.kind == kind and o.overridden_by is None
            and (effect is None or o.effect.value == effect)]


def officer(incident: Mapping[str, Any], o: Obligation) -> str | None:
    """The officer of the event that triggered `o`, if it names one."""
    if o.trigger is None:
        return None
    who = incident["events"][o.trigger.index].get("officer")
    return who if isinstance(who, str) else None


def needs_redaction(d: Decision, to: str) -> bool:
    return any(o.redact and to in (o.to or ()) for o in live(d, "release"))


def retention(d: Decision) -> tuple[list[Obligation], bool, date | None, list[Obligation], date | None]:
    """The live retentions, whether one has no end date, the latest minimum, the dated deletions and
    the earliest maximum."""
    retains = live(d, "retain")
    open_min = any(not isinstance(o.retain_until, date) for o in retains)
    dated = [o.retain_until for o in retains if isinstance(o.retain_until, date)]
    deletes = [o for o in live(d, "delete") if isinstance(o.delete_by, date)]
    maximum = min((o.delete_by for o in deletes if isinstance(o.delete_by, date)), default=None)
    return retains, open_min, max(dated, default=None), deletes, maximum


def _denies(o: Obligation, role: str, purpose: str) -> bool:
    roles = o.role or ()
    return (role in roles or "agency" in roles) and (o.purpose is None or o.purpose == purpose)


def free_view(r: random.Random, d: Decision, t: float) -> tuple[str, str] | None:
    """A (role, purpose) no prohibition comes near at `t`, or None."""
    denials = [o for o in d.obligations if o.kind == "access" and o.effect.value == "must_not"]
    choices = list(VIEWS)
    r.shuffle(choices)
    for role, purpose in choices:
        clash = False
        for o in denials:
            span = window(o)
            if span is not None and _denies(o, role, purpose) and span[0] - 60 <= t <= span[1] + 60:
                clash = True
                break
        if not clash:
            return role, purpose
    return None
