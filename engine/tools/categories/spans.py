"""How long a retention duration lasts in days, and whether one duration always lasts at least (or at
most) as long as another, whatever day it starts on.

A ruleset's durations follow the calendar (policy.duration): P1Y is 365 or 366 days, P6M 181 to 184,
depending on the day counted from. An evidence system's table holds one number per category, so the
check must know whether a configured duration covers the ruleset's on *every* start day, not on most.
The Gregorian calendar repeats every 400 years (146,097 days), so a scan of one cycle of start days
is exact for durations made of years, months, weeks and days; it is done only when the quick tests
(the same shape, both parts longer, bounds apart) cannot answer, and its results are kept.

Durations with hours (elapsed time, so 23 or 25 hours a day across a daylight-saving change) or
business days (which skip weekends and the ruleset's holidays) have no exact day count: they are
compared by bounds that hold whatever the start (a lower and an upper count of days), so the answer
is never "yes" wrongly, only sometimes a cautious "no".
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from policy.duration import Duration

_CYCLE_START = date(2000, 1, 1)  # any 400-year cycle will do; this one starts on a leap century
_CYCLE_DAYS = 146_097
_DST_SLACK = 1 / 24  # a day counted across a daylight-saving change is an hour shorter or longer


@dataclass(frozen=True, slots=True)
class DayRange:
    """The fewest and the most days a duration can last, over every start day (hours as fractions)."""

    low: float
    high: float

    @property
    def exact(self) -> int | None:
        """The day count when it is the same from every start day, else None."""
        if self.low == self.high and float(self.low).is_integer():
            return int(self.low)
        return None


def _calendar_only(d: Duration) -> bool:
    """Years, months, weeks and days only: what the 400-year scan counts exactly."""
    return d.whole_days and not d.business_days


def _shape(d: Duration) -> tuple[int, int]:
    """(months, days) of a calendar-only duration: P1Y is (12, 0), P2W is (0, 14)."""
    return 12 * d.years + d.months, 7 * d.weeks + d.days


@lru_cache(maxsize=256)
def _calendar_range(months: int, days: int) -> tuple[int, int]:
    step = Duration(months=months, days=days)
    if months == 0:
        return days, days
    low = high = None
    for n in range(_CYCLE_DAYS):
        start = _CYCLE_START + timedelta(days=n)
        length = (step.add_to_day(start) - start).days
        low = length if low is None or length < low else low
        high = length if high is None or length > high else high
    assert low is not None and high is not None
    return low, high


def _business_range(n: int, holidays: int) -> tuple[int, int]:
    """n business days: at least the shortest stretch from any day of the week with no holiday, at most
    the longest with every listed holiday falling inside it (each holiday adds one more weekday)."""
    def lengths(count: int) -> list[int]:
        starts = [_CYCLE_START + timedelta(days=k) for k in range(7)]
        return [(Duration(business_days=count).add_to_day(s) - s).days for s in starts]
    return min(lengths(n)), max(lengths(n + holidays))


def day_range(d: Duration, holidays: Collection[object] = ()) -> DayRange:
    """The fewest and most days `d` can last, from any start day."""
    if d.business_days:
        low, high = _business_range(d.business_days, len(holidays))
        return DayRange(float(low), float(high))
    low, high = _calendar_range(*_shape(d))
    elapsed = (d.hours * 3600 + d.minutes * 60 + d.seconds) / 86400
    if not elapsed:
        return DayRange(float(low), float(high))
    slack = _DST_SLACK if (low or high) else 0.0  # elapsed time alone never crosses a calendar day's change
    return DayRange(low + elapsed - slack, high + elapsed + slack)


@lru_cache(maxsize=1024)
def _scan_never_shorter(longer: tuple[int, int], shorter: tuple[int, int]) -> bool:
    a = Duration(months=longer[0], days=longer[1])
    b = Duration(months=shorter[0], days=shorter[1])
    for n in range(_CYCLE_DAYS):
        start = _CYCLE_START + timedelta(days=n)
        if a.add_to_day(start) < b.add_to_day(start):
            return False
    return True


def never_shorter(a: Duration, b: Duration, holidays: Collection[object] = ()) -> bool:
    """Whether `a` counted from any day ends no earlier than `b` counted from the same day."""
    if a == b:
        return True
    if _calendar_only(a) and _calendar_only(b):
        (am, ad), (bm, bd) = _shape(a), _shape(b)
        if am >= bm and ad >= bd:  # more months and more days: later from every start
            return True
        if am <= bm and ad <= bd:  # fewer of both, and not the same: earlier from every start
            return False
        ra, rb = day_range(a), day_range(b)
        if ra.low >= rb.high:
            return True
        if ra.high < rb.low:
            return False
        return _scan_never_shorter((am, ad), (bm, bd))
    return day_range(a, holidays).low >= day_range(b, holidays).high


def longest(a: Duration, b: Duration, holidays: Collection[object] = ()) -> Duration:
    """A duration never shorter than either: one of them when it is, else the most days either can last."""
    if never_shorter(a, b, holidays):
        return a
    if never_shorter(b, a, holidays):
        return b
    return Duration(days=math.ceil(max(day_range(a, holidays).high, day_range(b, holidays).high)))


def shortest(a: Duration, b: Duration, holidays: Collection[object] = ()) -> Duration:
    """A duration never longer than either: one of them when it is, else the fewest days either can last."""
    if never_shorter(b, a, holidays):
        return a
    if never_shorter(a, b, holidays):
        return b
    return Duration(days=math.floor(min(day_range(a, holidays).low, day_range(b, holidays).low)))


__all__ = ["DayRange", "day_range", "longest", "never_shorter", "shortest"]
