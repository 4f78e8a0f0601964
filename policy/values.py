"""The value types every reader shares: dates, timestamps and time zones.

A ruleset, an incident, a scenario file, an export and a command-line option all read these
through the functions here, so no two of them can disagree on what a date or a time zone is.
Each function raises `ValueError` with a message in plain words (no position: the caller knows
where the value came from and adds it).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from policy.diagnostics import closest

# ISO 8601 extended format only: `20200101` is a valid ISO 8601 basic date, but a person reading a
# ruleset or an export cannot tell it from a number, and Python's parser would accept it silently.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?", re.ASCII)
# The form nearly every export writes (seconds and a ±HH:MM offset), one of _TIMESTAMP's: this pattern,
# with no optional parts to try, matches in half the time, and a reader matches one per event.
_COMMON_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", re.ASCII)
# A zone name is a path below the tz database's root: letters, digits and `_+-` in `/`-separated parts.
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*", re.ASCII)
# Names that resolve on some hosts but do not name a place: their meaning depends on the machine.
_HOST_DEPENDENT = frozenset({"localtime", "posixrules", "Factory"})

DATE_EXAMPLE = "2019-06-03"
TIMESTAMP_EXAMPLE = "2024-03-01T14:05:00-06:00"


def is_date(value: Any) -> bool:
    """Whether `value` is text writing a real day of the calendar as YYYY-MM-DD (never a `date` object:
    the values rules compare and incidents carry are text, as JSON and the ruleset reader give them)."""
    if type(value) is not str:
        return False
    try:
        parse_date(value)
    except ValueError:
        return False
    return True


def parse_date(value: Any) -> date:
    """A date written YYYY-MM-DD (a `date` passes through)."""
    if type(value) is date:
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(f"a date is written YYYY-MM-DD, e.g. {DATE_EXAMPLE}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"`{value}` is not a day of the calendar") from None


def date_hint(value: Any) -> str:
    """How to fix a value that `parse_date` refused, in plain words (for a diagnostic's hint)."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if re.fullmatch(r"\d{8}", text, re.ASCII):  # 20200101: the ISO basic form, unreadable as a date
        return f"write the date with hyphens, YYYY-MM-DD: {text[:4]}-{text[4:6]}-{text[6:]}"
    if _DATE.match(text):
        if len(text) > 10:
            return f"a date has no time of day: write {text[:10]}"
        return f"check the month (01-12) and the day of that month, e.g. {DATE_EXAMPLE}"
    return f"write the date as YYYY-MM-DD, e.g. {DATE_EXAMPLE}"


def parse_timestamp(value: Any) -> datetime:
    """A time in ISO 8601 with its offset from UTC (`Z` or `±HH:MM`); the offset is required."""
    if not isinstance(value, str):
        raise ValueError(f"a time is text in ISO 8601, e.g. {TIMESTAMP_EXAMPLE}")
    if not (_COMMON_TIMESTAMP.fullmatch(value) or _TIMESTAMP.fullmatch(value)):
        raise ValueError(f"`{quoted(value)}` is not a time in ISO 8601 (e.g. {TIMESTAMP_EXAMPLE})")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"`{value}` is not a time of the calendar") from None
    if t.tzinfo is None:  # fromisoformat gives a fixed offset or none: utcoffset() is never None otherwise
        raise ValueError(f"`{value}` has no time zone offset: add it, e.g. -06:00 or Z (a time without "
                         "one means different moments in different places)")
    if t.year == 1 or t.year == 9999:  # an offset of under a day moves only these years' times off the calendar
        try:
            t.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"`{value}` is outside the calendar this engine counts in (years 1 to 9999, UTC)") \
                from None
    return t


def parse_zone(value: Any) -> ZoneInfo:
    """An IANA time zone name such as `America/Chicago` (not a folder such as `America`, not `localtime`)."""
    if not isinstance(value, str):
        raise ValueError("a time zone is an IANA name, e.g. America/Chicago")
    if not is_zone_name(value):
        raise ValueError(f"`{quoted(value)}` is not an IANA time zone name (e.g. America/Chicago)")
    try:
        return ZoneInfo(value)
    except Exception:  # zoneinfo raises several classes for unreadable zone files
        raise ValueError(f"`{value}` is not an IANA time zone this machine can read") from None


def is_zone_name(value: Any) -> bool:
    """Whether `value` names a zone of the tz database (a file, not a folder, the same on every host)."""
    return (isinstance(value, str) and len(value) <= 64 and _ZONE.fullmatch(value) is not None
            and value not in _HOST_DEPENDENT and value in zone_names())


def zone_hint(value: Any) -> str:
    """How to fix a value that `is_zone_name` refused, in plain words (for a diagnostic's hint)."""
    example = "such as America/Chicago or America/New_York"
    if not isinstance(value, str) or not value.strip():
        return f"write the IANA name of the zone, {example}"
    words = value.split()
    if len(words) > 1 and is_zone_name(words[0]):
        return (f"did you mean `{words[0]}`? The text after the name (`{quoted(' '.join(words[1:]), 30)}`) "
                "is not part of it: put remarks in `notes:`")
    text = value.strip()
    if text in _HOST_DEPENDENT:
        return (f"`{text}` means the zone of whichever computer runs bwc, so results would differ between "
                f"machines: write the zone itself, {example}")
    inside = sorted(z for z in zone_names() if z.startswith(text.rstrip("/") + "/"))
    if inside:
        shown = ", ".join(inside[:3]) + (", …" if len(inside) > 3 else "")
        return f"`{quoted(text)}` is a region, not a time zone: name a zone in it ({shown})"
    best = closest(text, zone_names())
    if best is not None:
        return f"did you mean `{best}`?"
    return f"write the IANA name of the zone, {example}"


@cache
def zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _HOST_DEPENDENT


def quoted(text: str, limit: int = 60) -> str:
    """`text` from data as it may appear in a message: control and invisible characters escaped
    (`\\n`, `\\x1b`, `\\u2028`), at most `limit` characters kept, so a value can neither break a line
    nor drive a terminal."""
    short = text if len(text) <= limit else text[:limit]
    out = "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape", "backslashreplace")
                  .decode("ascii") for ch in short)
    return out + ("…" if len(text) > limit else "")


def quoted_path(path: object) -> str:
    """A file name as it may appear in a message: escaped like `quoted`, but kept whole up to 500
    characters, because its last part is what the reader needs."""
    return quoted(str(path), 500)


__all__ = ["DATE_EXAMPLE", "TIMESTAMP_EXAMPLE", "date_hint", "is_date", "is_zone_name", "parse_date", "parse_timestamp",
           "parse_zone", "quoted", "quoted_path", "zone_hint", "zone_names"]
