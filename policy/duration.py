"""Calendar-aware durations: ISO 8601 (P90D, P2Y, PT72H) and business days (`10 business days`).

Years and months are added on the calendar, clamping to the last day of a shorter month:
P1Y from 29 February 2024 is 28 February 2025; P1M from 31 January is the last day of February.
Days are calendar days in the ruleset's time zone (so P1D across a DST change is 23 or 25 hours).
"""

from __future__ import annotations

import calendar
import re
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
_MAX_PART = 100_000  # refuse absurd values (P99999999Y) before date arithmetic overflows


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
            return cls(business_days=_bounded(int(m["n"]), text))
        m = _ISO.match(text)
        if not m:
            raise ValueError(text)
        parts = {k: _bounded(int(v), text) for k, v in m.groupdict().items() if v is not None}
        return cls(**parts)

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
        """The moment this duration after `start`, counted on `start`'s own calendar and zone."""
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


def _bounded(value: int, text: str) -> int:
    if value > _MAX_PART:
        raise ValueError(text)
    return value


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
    except ValueError:
        raise PydanticCustomError(
            "duration", "`{value}` is not a duration",
            {"value": value},
        ) from None


def _add_business_days(start: datetime, n: int, holidays: Collection[date]) -> datetime:
    current = start
    remaining = n
    while remaining > 0:
        current = current + timedelta(days=1)
        if current.weekday() < 5 and current.date() not in holidays:
            remaining -= 1
    return current
