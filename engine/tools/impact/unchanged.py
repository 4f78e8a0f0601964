"""Telling, from the firings alone, that an incident's two decisions cannot differ.

Most incidents of an impact run are decided alike by both versions: an amendment changes a few rules,
and most incidents meet none of them. Building both decisions (every obligation, its dates,
precedence, the summary) only to find no difference is most of the run's work. When the two versions
are alike in everything but their rules, a rule whose whole text is the same in both (its *twin*)
fires alike under both, on the same events, and imposes the same obligations with the same dates.
So an incident that fires none of the rules without a twin, under either version, has two decisions
that are the same: nothing is built, and only those few rules are evaluated. Anything else is
decided in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from engine.api import Policy, resolve_as_of
from engine.core.backends import make_backend
from engine.core.incident import Incident
from engine.core.program import CompiledRule, Program
from policy.duration import Duration

_DAY = 86_400


class Unchanged:
    """Whether an incident's decisions under A and under B are sure to be alike (see the module's text)."""

    def __init__(self, a: Policy, b: Policy, as_of: datetime | None) -> None:
        self.a, self.b, self.as_of = a, b, as_of
        ra, rb = a.program.rules, b.program.rules
        by_id = {r.id: r for r in rb}
        twins = [(r.position, mate.position) for r in ra
                 if (mate := by_id.get(r.id)) is not None and _text(mate) == _text(r)]
        # A decision builds its obligations in the order of its rules (precedence may read that order):
        # the twins must come in the same order in both.
        in_order = [pb for _, pb in twins] == sorted(pb for _, pb in twins)
        self.eligible = in_order and _alike_but_rules(a, b)
        # The rules without a twin, each version's own: the only ones evaluated here.
        own_a = {r.position for r in ra} - {pa for pa, _ in twins}
        own_b = {r.position for r in rb} - {pb for _, pb in twins}
        self._own = (make_backend(a.program, "native", own_a), make_backend(b.program, "native", own_b)) \
            if self.eligible else ()
        # Dates are counted from events by the rules' durations: an incident whose events are this far
        # from either end of the calendar (years 1 to 9999) cannot make a date past it, so a version
        # that builds its decision cannot fail where the other would succeed.
        reach = max(_reach_years(a.program), _reach_years(b.program))
        self._years = (3, 9997 - reach)

    def __reduce__(self) -> tuple[type[Unchanged], tuple[Policy, Policy, datetime | None]]:
        # To another process or host (a Dask worker) as the two policies: the rest is made again there.
        return (Unchanged, (self.a, self.b, self.as_of))

    def same(self, incident: Incident) -> bool:
        """True when the two decisions of `incident` are sure to be alike; False when they must be built
        to tell (never wrong when True)."""
        if not self.eligible or not incident.events:
            return False
        low, high = self._years
        if not (low <= incident.events[0].at.year and incident.events[-1].at.year <= high):
            return False
        known = incident.until(resolve_as_of(self.as_of, incident))
        return not any(own.firings(known) for own in self._own)


def _alike_but_rules(a: Policy, b: Policy) -> bool:
    """Both versions decide alone (no base layer, no conduct rule) with the native backend (whose
    rules are evaluated one by one, so a few can be evaluated alone), in the same time zone, with the
    same holidays, the same day deciding whether they are in force, and the same dates in force."""
    ra, rb = a.program.ruleset, b.program.ruleset
    return (not a.bases and not b.bases and not a.conduct_rules and not b.conduct_rules
            and a.backend.name == b.backend.name == "native" and ra.timezone == rb.timezone
            and sorted(ra.holidays) == sorted(rb.holidays) and ra.version_date == rb.version_date
            and ra.effective == rb.effective)


def _text(r: CompiledRule) -> tuple[Any, ...]:
    return (r.rule, r.trigger, r.trigger_tests, r.condition, r.delay_conditions)


def _reach_years(program: Program) -> int:
    """A bound, in years, on how far any duration of the program counts from an event."""
    days = max((_reach_days(d, len(program.ruleset.holidays))
                for r in program.rules for d in _durations(r.rule)), default=0)
    return days // 365 + 2


def _reach_days(d: Duration, holidays: int) -> int:
    # Generous: a year is at most 366 days, a month 31, and a business day at most two days (a
    # weekend day for every two business days, and more) once each holiday has been skipped.
    return (d.years * 366 + d.months * 31 + d.weeks * 7 + d.days
            + (d.hours * 3600 + d.minutes * 60 + d.seconds) // _DAY + 1 + d.business_days * 2 + holidays + 7)


def _durations(value: Any) -> Iterator[Duration]:
    if isinstance(value, Duration):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _durations(getattr(value, name))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _durations(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _durations(item)
