"""Conduct: rules judged by the version in force when an action is taken, their windows cut to that version."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from engine.core.decision.model import Moment, Obligation, Window
from engine.core.decision.precedence import FAR, OPEN_START, instant
from engine.core.program import Program


def in_force_span(program: Program, zone: Any) -> tuple[datetime, datetime | None]:
    """The instants a version is in force: from the start of its first day to the last microsecond of its
    last day (inclusive, as `effective.until` is), in its time zone; None for no end."""
    eff = program.ruleset.effective
    start = datetime.combine(eff.from_, time(0), zone)
    end = None if eff.until is None else datetime.combine(eff.until, time(23, 59, 59, 999999), zone)
    return start, end


def bound_to_version(obligations: list[Obligation], program: Program, zone: Any) -> list[Obligation]:
    """Conduct obligations with their windows cut to the instants the version was in force; an obligation
    whose window lies wholly outside them is dropped (no action it bounds could break it)."""
    start, end = in_force_span(program, zone)
    v0 = instant(start.isoformat())
    v1 = FAR if end is None else instant(end.isoformat())
    out: list[Obligation] = []
    for o in obligations:
        w = o.window
        from_, until = (w.from_, w.until) if w is not None else (None, None)
        if from_ is not None and from_.pending:
            out.append(o)  # not open yet: it may open only while the version is in force, or never
            continue
        lo = OPEN_START if from_ is None or not from_.at else instant(from_.at)
        if lo < v0:
            from_, lo = Moment(at=start.isoformat()), v0
        if until is not None and until.at and not until.pending:
            hi = instant(until.at)
            if hi > v1:
                until, hi = Moment(at=end.isoformat() if end is not None else None), v1
        elif end is not None:
            # open, or closing at an event that had not happened as of the decision: the version's end
            # comes first (or, while the version is still in force, the as-of time does)
            until, hi = Moment(at=end.isoformat()), v1
        else:
            hi = FAR
        if lo > hi:
            continue
        o.window = Window(from_=from_, until=until)
        out.append(o)
    return out
