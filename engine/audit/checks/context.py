"""What every check of one incident reads and writes: its actions, its windows, its findings."""

from __future__ import annotations

import functools
import math
from datetime import date, datetime, tzinfo

from engine.audit.checks.actions import Actions
from engine.audit.findings import Finding, FindingSeverity
from engine.core.decision import Moment, Obligation
from engine.core.incident import Event, Incident
from engine.core.intervals import Span, subtract, union

_new_tuple = tuple.__new__  # (see `CheckContext.add`)
AT_RISK_DAYS = 7  # a deadline this close to the as-of time is at risk


@functools.cache
def _month_text(year: int, month: int) -> str:
    """`2021-07`: formatted once per month an audit meets (strftime costs more than the rest of a context)."""
    return date(year, month, 1).strftime("%Y-%m")


class CheckContext:
    """One incident under audit: the checks add findings and recording seconds here."""

    __slots__ = ("_as_of_day", "_as_of_text", "_by_index", "_deleted_day", "_times", "actions", "as_of", "findings",
                 "groups", "inc", "month", "recorded", "required", "zone")

    def __init__(self, inc: Incident, as_of: datetime, groups: dict[str, str], zone: tzinfo) -> None:
        self.inc = inc
        self.as_of = as_of
        self.groups = groups
        self.zone = zone
        start = inc.events[0].at.astimezone(zone)
        self.month = _month_text(start.year, start.month)
        self.actions = Actions(inc, as_of)
        self.findings: list[Finding] = []
        self.required = 0.0
        self.recorded = 0.0
        self._as_of_text: str | None = None  # written when a window first ends at the as-of time
        self._times: dict[str, float] = {}  # `time`'s answers
        self._deleted_day: date | None = None
        self._as_of_day: date | None = None
        self._by_index: dict[int, Event] | None = None  # events by input position, when not in input order

    def add(self, o: Obligation, check: str, severity: FindingSeverity, expected: str, actual: str,
            missed_by: str | None = None) -> None:
        # `tuple.__new__(Finding, fields)` makes the same tuple as `Finding(*fields)` in C: 0.15 µs, where the
        # named tuple's own constructor (Python code) takes 0.30 and the frozen dataclass a finding was 1.16.
        self.findings.append(_new_tuple(Finding, (self.inc.id, o.ruleset, o.rule, o.cite, o.kind, check, severity,
                                                  expected, actual, missed_by, self.month, self.groups)))

    def time(self, m: Moment | None) -> float | None:
        """When `m` happened, in seconds since the epoch (None: not known). Worked out once per incident: its
        windows open and close at a few of its events, and reading a time costs more than the rest of a
        window (the notice check reads its window's times again)."""
        if m is None or not m.at:
            return None
        t = self._times.get(m.at)
        if t is None:
            t = self._times[m.at] = datetime.fromisoformat(m.at).timestamp()
        return t

    def window(self, o: Obligation, default_start: float) -> tuple[list[Span], str] | None:
        """The in-force parts of the obligation's window (suspended parts removed) and a description;
        None when the window has not opened yet."""
        w = o.window
        start: float = default_start
        if w is not None and w.from_ is not None:
            if w.from_.pending:
                return None
            start = self.time(w.from_) or default_start
        end = self.actions.as_of_ts
        open_end = True
        if w is not None and w.until is not None and not w.until.pending and w.until.at:
            end, open_end = self.time(w.until) or end, False
        cuts: list[Span] = []
        for s in o.suspended or ():
            if s.from_ is not None and s.from_.pending:
                continue
            s0 = self.time(s.from_) if s.from_ is not None else None
            s1 = self.time(s.until) if s.until is not None and not s.until.pending else None
            cuts.append((start if s0 is None else s0, self.actions.as_of_ts if s1 is None else s1))
        if end > start:  # one span, unless a suspension takes parts out (most obligations have none)
            spans = subtract([(start, end)], cuts) if cuts else [(start, end)]
        elif end == start and not any(c0 < start < c1 for c0, c1 in union(cuts)):
            # An instant window is kept as an empty span (the shared arithmetic drops empty spans): a
            # view at that instant counts, unless a suspension runs across it.
            spans = [(start, end)]
        else:
            spans = []
        begin = w.from_.at if w is not None and w.from_ is not None and w.from_.at else (
            "the start of the incident" if default_start > -math.inf else "any time")
        if open_end:
            waiting = w.until.event if w is not None and w.until is not None and w.until.event else None
            if self._as_of_text is None:
                self._as_of_text = f"the as-of time {self.as_of.isoformat()}"
            finish = self._as_of_text + (f" (`{waiting}` not yet happened)" if waiting else "")
        else:
            assert w is not None and w.until is not None
            finish = str(w.until.at)
        text = f"from {begin} until {finish}"
        if cuts:
            text += f", except where {', '.join(sorted({f'`{s.rule}`' for s in o.suspended or ()}))} prevails"
        return spans, text

    def officer(self, o: Obligation) -> str | None:
        """The officer whose event triggered the obligation, if it names one."""
        if o.trigger is None:
            return None
        index, events = o.trigger.index, self.inc.events
        # Events are kept in time order, ties in input order: in an export written in time order (most
        # are), the event at input position `index` is at that place, so it is looked up, not searched for.
        if 0 <= index < len(events) and events[index].index == index:
            officer = events[index].attributes.get("officer")
        else:
            # Otherwise looked up in a map of input position to event, made once for the incident (searching
            # the events for each obligation would take time obligations times events).
            by_index = self._by_index
            if by_index is None:
                by_index = self._by_index = {}
                for e in reversed(events):  # the first event at a position wins, as a search would find it
                    by_index[e.index] = e
            found = by_index.get(index)
            officer = found.attributes.get("officer") if found is not None else None
        return officer if isinstance(officer, str) else None

    # The days below are asked for by each retention or release obligation of an incident: worked out once.

    def deleted_day(self) -> date | None:
        d = self.actions.deleted
        if d is None:
            return None
        if self._deleted_day is None:
            self._deleted_day = d.astimezone(self.zone).date()
        return self._deleted_day

    def as_of_day(self) -> date:
        if self._as_of_day is None:
            self._as_of_day = self.as_of.astimezone(self.zone).date()
        return self._as_of_day
