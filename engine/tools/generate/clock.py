"""Times for the generator: timestamps, local days and times of day, months from a start."""

from __future__ import annotations

import random
from datetime import date, datetime, time
from zoneinfo import ZoneInfo


def timestamp(text: str) -> float:
    """An ISO 8601 time (with its offset) as seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp()


def iso(at: datetime, zone: ZoneInfo) -> str:
    """`at` as it is written in an export: local time, whole seconds, with the offset."""
    return at.astimezone(zone).replace(microsecond=0).isoformat()


def local_day(ts: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts, zone).date()


def noon(day: date, r: random.Random, zone: ZoneInfo) -> float:
    """A time in office hours on `day` (9:00 to 16:59), drawn from `r`."""
    return datetime.combine(day, time(r.randint(9, 16), r.randrange(60)), zone).timestamp()


def add_months(d: date, n: int) -> date:
    """The first day of the month `n` months after `d`'s."""
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def next_month(d: date) -> date:
    return add_months(date(d.year, d.month, 1), 1)
