"""How long a retention duration lasts in days, and whether one duration always lasts at least (or at
most) as long as another, whatever day it starts on.

A ruleset's durations follow the calendar (policy.duration): P1Y is 365 or 366 days, P6M 181 to 184,
depending on the day counted from. An evidence system's table holds one number per category, so the
check must know whether a configured duration covers the ruleset's on *every* start day, not on most.
The Gregorian calendar repeats every 400 years (146,097 days), so a scan of one cycle of start days
is exact for durations made of years, months, weeks and days; it is done only when the quick tests
(the same shape, both parts longer, bounds apart) cannot answer, and its results are kept. The bounds
themselves (the fewest and most days) are worked out from the cycle's 4,800 months, not its days.

Durations with hours (elapsed time, so 23 or 25 hours a day across a daylight-saving change) or
business days (which skip weekends and the ruleset's holidays) have no exact day count: they are
compared by bounds that hold whatever the start (a lower and an upper count of days), so the answer
is never "yes" wrongly, only sometimes a cautious "no".

`DurationIndex` sorts many durations by those bounds, so that the few one duration may outlast (or fall
short of) are found without comparing it with each.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Generic, TypeVar

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


_CYCLE_MONTHS = 4_800


def _first_of_month(k: int) -> int:
    """The ordinal of the first day of the k-th month after the cycle's start."""
    return date(_CYCLE_START.year + k // 12, k % 12 + 1, 1).toordinal()


@lru_cache(maxsize=1)
def _firsts() -> list[int]:
    """The first day of each month from the cycle's start to 1,000 years after its end (the longest
    duration), with one more: what every month shift from a day of the cycle needs."""
    return [_first_of_month(k) for k in range(_CYCLE_MONTHS + 12 * 1_000 + 2)]


@lru_cache(maxsize=16_384)  # durations are at most 1,000 years: at most 12,000 month counts
def _months_range(months: int) -> tuple[int, int]:
    """The fewest and most days `months` months last (Duration.add_to_day: the same day of the month, or
    the month's last day when the target month is shorter), over every start day of the 400-year cycle.

    Worked out per start month rather than per start day (a scan of the 146,097 days took a quarter of
    a second for each month count, and a ruleset may hold thousands of them): from any day of a month,
    the shift lasts as long as from its first day, S, unless the target month is shorter than that day,
    when it ends on the target's last day; so from a month of L days into one of T days, it lasts S days
    at most (from the 1st) and S - max(0, L - T) at least (from the last day)."""
    firsts = _firsts()
    if len(firsts) < _CYCLE_MONTHS + months + 2:
        firsts = [_first_of_month(k) for k in range(_CYCLE_MONTHS + months + 2)]
    spans = [firsts[k + months] - firsts[k] for k in range(_CYCLE_MONTHS)]
    cut = [max(0, (firsts[k + 1] - firsts[k]) - (firsts[k + months + 1] - firsts[k + months]))
           for k in range(_CYCLE_MONTHS)]
    return min(s - c for s, c in zip(spans, cut, strict=True)), max(spans)


def _calendar_range(months: int, days: int) -> tuple[int, int]:
    if months == 0:
        return days, days
    # The days are added after the months (Duration.add_to_day): they add to every start alike.
    low, high = _months_range(months)
    return low + days, high + days


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


T = TypeVar("T")


class DurationIndex(Generic[T]):
    """Items with a duration, sorted by the fewest and the most days their durations last (counted with
    `holidays`), to find those a duration may outlast or fall short of without comparing it with each.

    A table of thousands of rules, each compared with every other, took time quadratic in the rules. Bounds
    answer most comparisons: a duration whose fewest days reach another's most days is never shorter than
    it (`never_shorter` says so from the same bounds), so only the items whose bounds overlap the duration's
    are compared, once for each distinct duration; what a query costs is what it returns, plus those.
    """

    def __init__(self, items: Iterable[tuple[Duration, T]], holidays: Collection[object] = ()) -> None:
        self._holidays = holidays
        self._items: dict[Duration, list[T]] = {}
        for d, item in items:
            self._items.setdefault(d, []).append(item)
        spans = {d: day_range(d, holidays) for d in self._items}
        self._by_high = sorted(self._items, key=lambda d: (spans[d].high, d))
        self._highs = [spans[d].high for d in self._by_high]
        self._by_low = sorted(self._items, key=lambda d: (spans[d].low, d))
        self._lows = [spans[d].low for d in self._by_low]

    def not_outlasted_by(self, d: Duration) -> list[T]:
        """The items `d` falls short of on some start day (`never_shorter(d, item)` is false), by duration."""
        if not self._items:
            return []
        low = day_range(d, self._holidays).low
        # an item lasting at most `low` days is never longer than `d`: only those after it can be
        return [item for x in self._by_high[bisect_right(self._highs, low):]
                if not never_shorter(d, x, self._holidays) for item in self._items[x]]

    def not_outlasting(self, d: Duration) -> list[T]:
        """The items that fall short of `d` on some start day (`never_shorter(item, d)` is false), by duration."""
        if not self._items:
            return []
        high = day_range(d, self._holidays).high
        # an item lasting at least `high` days is never shorter than `d`: only those before it can be
        return [item for x in self._by_low[:bisect_left(self._lows, high)]
                if not never_shorter(x, d, self._holidays) for item in self._items[x]]


__all__ = ["DayRange", "DurationIndex", "day_range", "longest", "never_shorter", "shortest"]
