"""Calendar-aware durations: ISO 8601 (P90D, P2Y, PT72H) and business days (`10 business days`).

Years and months are added on the calendar, clamping to the last day of a shorter month:
P1Y from 29 February 2024 is 28 February 2025; P1M from 31 January is the last day of February.
Days are calendar days in the ruleset's time zone (so P1D across a DST change is 23 or 25 hours).
"""

from __future__ import annotations

import calendar
import re
import threading
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

_ISO = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$",
    re.ASCII,  # digits 0-9 only, as in the JSON schema's PATTERN (not `P٣D`)
)
_BUSINESS = re.compile(r"^(?P<n>\d+) business days?$", re.ASCII)
PATTERN = r"^(P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?|\d+ business days?)$"
# The longest duration a ruleset may state: 1,000 years. Real retention periods are at most a
# century or so (the bundled rulesets use up to P2Y and `indefinitely`); a longer one is a typo (P2000D
# meant as P200D, P99999Y as "forever"), and would reach past the year 9999 the calendar ends at.
# Keeping footage forever is written `retain: {indefinitely: true}`.
MAX_YEARS = 1000
_MAX_DAYS = MAX_YEARS * 366  # every part converted to (at most) days
_DAYS_PER = {"years": 366.0, "months": 30.5, "weeks": 7.0, "days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440,
             "seconds": 1 / 86400, "business_days": 7 / 5}
_MAX_DIGITS = 12  # digits of one part: enough for any duration under the bound, in any unit


class CalendarOverflow(ValueError):
    """A duration added to a time would leave the calendar this engine counts in (years 1 to 9999)."""


class DurationTooLong(ValueError):
    """A duration longer than MAX_YEARS years."""


@dataclass(frozen=True, order=True)
class Duration:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    business_days: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse `P2Y`, `P45D`, `PT72H`, `P1Y6M` or `10 business days`; raises ValueError."""
        text = text.strip()
        m = _BUSINESS.match(text)
        if m:
            parts = {"business_days": m["n"]}
        else:
            m = _ISO.match(text)
            if not m:
                raise ValueError(text)
            parts = {k: v for k, v in m.groupdict().items() if v is not None}
        if any(len(v.lstrip("0")) > _MAX_DIGITS for v in parts.values()):
            raise DurationTooLong(text)
        numbers = {k: int(v) for k, v in parts.items()}
        if sum(n * _DAYS_PER[k] for k, n in numbers.items()) > _MAX_DAYS:
            raise DurationTooLong(text)
        return cls(**numbers)

    def __str__(self) -> str:
        if self.business_days:
            return f"{self.business_days} business day{'s' if self.business_days != 1 else ''}"
        out = "P"
        for value, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D")):
            if value:
                out += f"{value}{unit}"
        time = "".join(f"{v}{u}" for v, u in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S")) if v)
        if time:
            out += "T" + time
        return out if out != "P" else "P0D"

    @property
    def counted(self) -> tuple[int, int, int, int]:
        """What adding it counts: calendar months, calendar days, elapsed seconds, business days. Two
        durations with the same are the same length from any start (`P1Y` and `P12M`, `P1W` and `P7D`,
        `PT1H` and `PT60M`), though written differently; `P1D` and `PT24H` are not (a calendar day can
        last 23 or 25 hours)."""
        return (12 * self.years + self.months, 7 * self.weeks + self.days,
                3600 * self.hours + 60 * self.minutes + self.seconds, self.business_days)

    @property
    def is_zero(self) -> bool:
        return self == Duration()

    def describe(self) -> str:
        """Plain words for a person: `2 years`, `45 days`, `10 business days`."""
        if self.business_days:
            return str(self)
        words = []
        for value, unit in ((self.years, "year"), (self.months, "month"), (self.weeks, "week"),
                            (self.days, "day"), (self.hours, "hour"), (self.minutes, "minute"),
                            (self.seconds, "second")):
            if value:
                words.append(f"{value} {unit}{'s' if value != 1 else ''}")
        return ", ".join(words) or "no time"

    def add_to(self, start: datetime, holidays: Collection[date] = ()) -> datetime:
        """The moment this duration after `start`, counted on `start`'s own calendar and zone.

        Raises CalendarOverflow when that moment is outside years 1 to 9999."""
        try:
            return self._add_to(start, holidays)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, CalendarOverflow):
                raise
            # datetime raises OverflowError or ValueError ("year 10000 is out of range") at its limits.
            raise CalendarOverflow(
                f"{self.describe()} after {start.isoformat()} is past the end of the calendar this engine "
                "counts in (years 1 to 9999)") from None

    @property
    def whole_days(self) -> bool:
        """Whether it counts only days on the calendar (no hours, minutes or seconds): then the date
        it ends on depends only on the date it starts from (`add_to_day`)."""
        return not (self.hours or self.minutes or self.seconds)

    def add_to_day(self, day: date, holidays: Collection[date] = ()) -> date:
        """The date this duration (of `whole_days`) after `day`: for any time `t` on that day,
        `add_to(t, holidays).date()`, without the time of day or the time zone. Raises CalendarOverflow."""
        assert self.whole_days
        try:
            if self.business_days:
                return _add_business_days_to(day, self.business_days, holidays)
            if not (self.years or self.months):  # days and weeks only (most periods): no month to clamp
                return day + timedelta(days=self.days + 7 * self.weeks)
            total_months = day.month - 1 + self.months + 12 * self.years
            year = day.year + total_months // 12
            month = total_months % 12 + 1
            shifted = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
            return shifted + timedelta(weeks=self.weeks, days=self.days)
        except (OverflowError, ValueError, calendar.IllegalMonthError):
            raise CalendarOverflow(
                f"{self.describe()} after {day.isoformat()} is past the end of the calendar this engine "
                "counts in (years 1 to 9999)") from None

    def _add_to(self, start: datetime, holidays: Collection[date]) -> datetime:
        if self.business_days:
            return _add_business_days(start, self.business_days, holidays)
        elapsed = timedelta(hours=self.hours, minutes=self.minutes, seconds=self.seconds)
        if not (self.years or self.months or self.weeks or self.days):
            # No calendar part: keep `start` itself (with its fold: the second 01:30 of a night when
            # the clocks go back stays the second one).
            if not elapsed:
                return start  # `start + timedelta(0)` would reset the fold
            if start.tzinfo is None:
                return start + elapsed
            return (start.astimezone(UTC) + elapsed).astimezone(start.tzinfo)
        total_months = start.month - 1 + self.months + 12 * self.years
        year = start.year + total_months // 12
        month = total_months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        shifted = start.replace(year=year, month=month, day=day)
        # Calendar parts move the local date (a day is a calendar day, 23 or 25 hours across a DST
        # change); time parts are elapsed time (72 hours is 72 real hours).
        local = (shifted.replace(tzinfo=None) + timedelta(weeks=self.weeks, days=self.days)).replace(
            tzinfo=start.tzinfo, fold=0
        )
        if not elapsed or local.tzinfo is None:
            return local + elapsed
        utc = local.astimezone(UTC) + elapsed
        return utc.astimezone(local.tzinfo)

    # pydantic integration: validated from text, serialised back to the same text.
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": PATTERN,
            "description": "An ISO 8601 duration (P90D, P2Y, P1Y6M, PT72H) or `N business days`.",
            "examples": ["P90D", "P2Y", "P45D", "10 business days"],
        }


def _validate(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "duration_type", "a duration must be text such as P90D or P2Y, not {kind}",
            {"kind": type(value).__name__},
        )
    try:
        return Duration.parse(value)
    except DurationTooLong:
        raise PydanticCustomError(
            "duration_too_long", "`{value}` is longer than {years:,} years",
            {"value": value, "years": MAX_YEARS},
        ) from None
    except ValueError:
        raise PydanticCustomError(
            "duration", "`{value}` is not a duration",
            {"value": value},
        ) from None


def _add_business_days(start: datetime, n: int, holidays: Collection[date]) -> datetime:
    """`start` moved to the n-th day after it that is a weekday and not a holiday (same time of day)."""
    d0 = start.date()
    return start + (_add_business_days_to(d0, n, holidays) - d0)


def _add_business_days_to(d0: date, n: int, holidays: Collection[date]) -> date:
    """The n-th day after `d0` that is a weekday and not a holiday.

    Whole weeks are counted at once and holidays found by bisection in a sorted tuple (sorted once per
    holiday collection), so the cost grows with the logarithm of the number of holidays, not with the
    number of days counted nor with the holidays passed."""
    skipped = _weekday_holidays(holidays)
    before = bisect_right(skipped, d0)

    def found(extra: int) -> int:
        """The weekday holidays in (d0, the (n + extra)-th weekday after d0]."""
        return bisect_right(skipped, _nth_weekday_after(d0, n + extra)) - before

    # The answer is the (n + j)-th weekday after d0 for the least j with found(j) == j: every weekday
    # holiday up to it used up one of the weekdays counted. found(j) - j never grows with j (one more
    # weekday adds at most one holiday), so that j is also the least with found(j) <= j.
    # Counting on by the holidays found reaches it in a round or two with a few holidays; a long run
    # of holidays (a list of every day for years) would take a round per n of them, so after a few
    # rounds bisect for it instead: found(j) <= j holds for j = all the holidays after d0.
    extra = 0
    for _ in range(4):
        more = found(extra)
        if more == extra:
            return _nth_weekday_after(d0, n + extra)
        extra = more  # still at most the least such j
    lo, hi = extra, len(skipped) - before
    while lo < hi:
        mid = (lo + hi) // 2
        if found(mid) <= mid:
            hi = mid
        else:
            lo = mid + 1
    return _nth_weekday_after(d0, n + lo)


def _nth_weekday_after(day: date, n: int) -> date:
    """The n-th Monday-to-Friday day after `day` (n >= 1)."""
    weekday = day.weekday()
    if weekday > 4:  # from a weekend, count as from the Friday before: the same weekdays follow
        day -= timedelta(days=weekday - 4)
        weekday = 4
    weeks, rest = divmod(n, 5)
    days = 7 * weeks + rest + (2 if weekday + rest > 4 else 0)
    return day + timedelta(days=days)


# The sorted weekday holidays of the collections passed most recently, by identity. A caller passes
# the same ruleset's holiday list to every deadline it counts; sorting it, or even copying it to a
# tuple to hash for a cache key, costs O(holidays) per deadline (64,000 holidays and 4,000 requests took
# 19 s). Each entry keeps its collection, so that no other object can take its id while it is cached,
# and the collection's length, so that a list grown or shrunk in place is sorted again. (A list changed
# in place to the same length is not noticed: a ruleset's holidays are not changed once loaded.)
_SORTED: dict[int, tuple[Collection[date], int, tuple[date, ...]]] = {}
_SORTED_LOCK = threading.Lock()
_SORTED_MAX = 64  # collections remembered: a process holds a few rulesets, each with one list


def _weekday_holidays(holidays: Collection[date]) -> tuple[date, ...]:
    key = id(holidays)
    hit = _SORTED.get(key)
    if hit is not None and hit[0] is holidays and hit[1] == len(holidays):
        return hit[2]
    skipped = _sorted_weekdays(holidays)
    with _SORTED_LOCK:  # the service counts deadlines on several threads
        while len(_SORTED) >= _SORTED_MAX:  # forget the oldest (dicts keep insertion order)
            del _SORTED[next(iter(_SORTED))]
        _SORTED[key] = (holidays, len(holidays), skipped)
    return skipped


def _sorted_weekdays(holidays: Collection[date]) -> tuple[date, ...]:
    # Holidays on a weekend change nothing: business days skip the weekend anyway.
    return tuple(sorted({d for d in holidays if d.weekday() < 5}))
