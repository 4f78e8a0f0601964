"""Which version of a ruleset is in force: the one place a family of versions is asked which of them judges a day.

A family is every version of one ruleset, oldest first (semantic-version order). Only enacted versions
(adopted, superseded, repealed) were ever law, and of those a version that an enacted version of the
family `corrects` gives way to its correction: what remains are the versions that judge by date
(`judging`). The engine asks through here which one judges an incident (`judging_version`), which one
is in force at the decision's as-of time (`version_in_force`), and which ones were in force while the
footage existed (`in_force_during`); `bwc check` asks for BWC301, and `Repository.in_effect` for a day.

A version's day is given by the caller as a function of the version (`DayOf`): versions of one family
may name different events (`version_date`) and time zones, and the caller knows the incident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from policy.model import Ruleset, Status

ENACTED = frozenset({Status.ADOPTED, Status.SUPERSEDED, Status.REPEALED})
"""Statuses of versions that are, or once were, law. Only these can be "in effect" on a day.

Draft and proposed versions were never in force: a proposal routinely carries the dates it would
take effect on, overlapping the adopted version it would replace, so their dates are not checked.
An enacted version (adopted, and later superseded or repealed) was in force on every day of its
`effective` range; two enacted versions of one ruleset covering the same day would make "which rule
applied on that day" ambiguous, which is why their ranges must not overlap (BWC301).
"""

DayOf = Callable[[Ruleset], date | None]
"""The day a version is asked about (None: the version has no such day, and is passed over)."""

DaySpan = tuple[date, date]
"""The first and the last day of a stretch of time (inclusive)."""


def corrected(rulesets: Iterable[Ruleset]) -> frozenset[str]:
    """The versions, among `rulesets` (versions of one ruleset), that an enacted version among them
    corrects (`corrects:`). A corrected version is never chosen to judge an incident and is not in
    force for BWC301 while its correction is there; pinned as `id@version`, it still decides exactly
    as it did. A draft or proposed correction corrects nothing until it is adopted."""
    return frozenset(r.corrects for r in rulesets if r.corrects is not None and r.status in ENACTED)


def judging(rulesets: Iterable[Ruleset]) -> list[Ruleset]:
    """The versions that may judge an incident by its date: the enacted ones, less those corrected."""
    rulesets = list(rulesets)
    skip = corrected(rulesets)
    return [r for r in rulesets if r.status in ENACTED and r.version not in skip]


def version_in_force(family: Sequence[Ruleset], day_of: DayOf) -> Ruleset | None:
    """The newest version that judges by date and whose `effective` range covers its day; None if none does."""
    for r in reversed(judging(family)):
        day = day_of(r)
        if day is not None and r.effective.covers(day):
            return r
    return None


def judging_version(family: Sequence[Ruleset], day_of: DayOf, judges: Sequence[Ruleset] | None = None) -> Ruleset:
    """The version that judges an incident: the one in force on its day; else the last that had come
    into force by then; else the first that judges by date; a family with no enacted version (drafts
    and proposals only) is judged by its newest version. `judges`: `judging(family)`, when the caller
    keeps it (a family asked about every incident of an export)."""
    if judges is None:
        judges = judging(family)
    if not judges:
        return family[-1]
    started: Ruleset | None = None
    for r in reversed(judges):
        day = day_of(r)
        if day is None:
            continue
        if r.effective.covers(day):
            return r
        if started is None and r.effective.from_ <= day:
            started = r
    return started if started is not None else judges[0]


def in_force_during(family: Sequence[Ruleset], span_of: Callable[[Ruleset], DaySpan | None]) -> list[Ruleset]:
    """The versions that judge by date and were in force on some day of their span (oldest first);
    a version whose span is None is passed over."""
    out = []
    for r in judging(family):
        span = span_of(r)
        if span is None:
            continue
        first, last = span
        if r.effective.from_ <= last and (r.effective.until is None or first <= r.effective.until):
            out.append(r)
    return out
