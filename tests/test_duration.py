"""Calendar-aware durations: parsing, printing, and adding to a moment in a time zone."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import durations

from policy.duration import CalendarOverflow, Duration

DENVER = ZoneInfo("America/Denver")
NOON = (12, 0)


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0, tz: ZoneInfo = DENVER) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


def add(text: str, start: datetime, holidays: tuple[date, ...] = ()) -> datetime:
    return Duration.parse(text).add_to(start, holidays)


def elapsed(a: datetime, b: datetime) -> timedelta:
    # Aware datetimes sharing a tzinfo subtract as wall-clock times: go through UTC for real time.
    return b.astimezone(UTC) - a.astimezone(UTC)


# --- the calendar ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "start", "expected"), [
    ("P1Y", at(2024, 2, 29), at(2025, 2, 28)),
    ("P4Y", at(2024, 2, 29), at(2028, 2, 29)),
    ("P1M", at(2024, 1, 31), at(2024, 2, 29)),
    ("P1M", at(2023, 1, 31), at(2023, 2, 28)),
    ("P1M", at(2023, 3, 31), at(2023, 4, 30)),
    ("P1M", at(2023, 12, 15), at(2024, 1, 15)),
    ("P13M", at(2023, 12, 31), at(2025, 1, 31)),
    ("P1Y1M", at(2023, 1, 31), at(2024, 2, 29)),
    ("P90D", at(2024, 1, 1), at(2024, 3, 31)),
    ("P90D", at(2023, 1, 1), at(2023, 4, 1)),
    ("P2W", at(2024, 2, 20), at(2024, 3, 5)),
    ("P1W3D", at(2024, 2, 20), at(2024, 3, 1)),
    ("P0D", at(2024, 2, 20), at(2024, 2, 20)),
])
def test_calendar_arithmetic(text: str, start: datetime, expected: datetime) -> None:
    assert add(text, start) == expected


def test_years_and_months_clamp_before_days_are_added() -> None:
    # 31 Jan + 1 month = 29 Feb (clamped), then + 1 day = 1 Mar.
    assert add("P1M1D", at(2024, 1, 31)) == at(2024, 3, 1)


# --- days are calendar days, hours are elapsed time --------------------------------------------------

def test_hours_are_elapsed_time_across_the_spring_change() -> None:
    start = at(2024, 3, 9)  # MST; clocks go forward at 02:00 on 10 March
    end = add("PT72H", start)
    assert elapsed(start, end) == timedelta(hours=72)
    assert end == datetime(2024, 3, 12, 13, 0, tzinfo=DENVER)  # 13:00 MDT, not noon
    assert end.utcoffset() == timedelta(hours=-6)


def test_a_day_is_a_calendar_day_across_the_spring_change() -> None:
    start = at(2024, 3, 9)
    one_day = add("P1D", start)
    assert (one_day.date(), one_day.hour) == (date(2024, 3, 10), 12)
    assert elapsed(start, one_day) == timedelta(hours=23)
    three = add("P3D", start)
    assert (three.date(), three.hour) == (date(2024, 3, 12), 12)
    assert add("PT72H", start) - timedelta(hours=1) == three


def test_a_day_is_25_hours_across_the_autumn_change() -> None:
    start = at(2024, 11, 2)
    one_day = add("P1D", start)
    assert (one_day.date(), one_day.hour) == (date(2024, 11, 3), 12)
    assert elapsed(start, one_day) == timedelta(hours=25)
    assert elapsed(start, add("PT24H", start)) == timedelta(hours=24)


def test_time_parts_after_calendar_parts() -> None:
    end = add("P1DT2H30M", at(2024, 3, 9, 23, 0))
    # 23:00 on 9 Mar + 1 calendar day = 23:00 on 10 Mar (MDT), then 2.5 real hours.
    assert end == datetime(2024, 3, 11, 1, 30, tzinfo=DENVER)


def test_naive_moments_are_plain_arithmetic() -> None:
    assert add("P1DT1H", datetime(2024, 3, 9, 12)) == datetime(2024, 3, 10, 13)


# --- business days ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "start", "expected"), [
    ("1 business day", at(2024, 6, 7), at(2024, 6, 10)),     # Friday -> Monday
    ("1 business day", at(2024, 6, 8), at(2024, 6, 10)),     # Saturday -> Monday
    ("5 business days", at(2024, 6, 3), at(2024, 6, 10)),    # Monday -> next Monday
    ("10 business days", at(2024, 6, 3), at(2024, 6, 17)),
])
def test_business_days_skip_weekends(text: str, start: datetime, expected: datetime) -> None:
    assert add(text, start) == expected


def test_business_days_skip_holidays() -> None:
    july4 = date(2024, 7, 4)  # a Thursday
    assert add("1 business day", at(2024, 7, 3), (july4,)) == at(2024, 7, 5)
    assert add("2 business days", at(2024, 7, 3), (july4, date(2024, 7, 5))) == at(2024, 7, 9)
    # A holiday on a weekend changes nothing.
    assert add("1 business day", at(2024, 7, 5), (date(2024, 7, 6),)) == at(2024, 7, 8)


@settings(max_examples=examples(200))
@given(st.dates(date(2000, 1, 1), date(2090, 1, 1)), st.integers(1, 40),
       st.sets(st.dates(date(2000, 1, 1), date(2090, 6, 1)), max_size=20))
def test_business_days_count(start: date, n: int, holidays: set[date]) -> None:
    begin = datetime(start.year, start.month, start.day, 9, 30, tzinfo=DENVER)
    end = Duration(business_days=n).add_to(begin, holidays)
    assert end.time() == begin.time()
    assert end.weekday() < 5 and end.date() not in holidays
    days = [start + timedelta(days=i) for i in range(1, (end.date() - start).days + 1)]
    assert sum(1 for d in days if d.weekday() < 5 and d not in holidays) == n


# --- properties of calendar arithmetic ---------------------------------------------------------------

moments = st.datetimes(datetime(1990, 1, 1), datetime(2090, 12, 31), timezones=st.sampled_from(
    [UTC, DENVER, ZoneInfo("Europe/London"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kolkata")]))


@settings(max_examples=examples(300))
@given(moments, st.integers(0, 5), st.integers(0, 30))
def test_years_and_months_land_in_the_expected_month(start: datetime, years: int, months: int) -> None:
    end = Duration(years=years, months=months).add_to(start)
    total = start.month - 1 + months + 12 * years
    assert (end.year, end.month) == (start.year + total // 12, total % 12 + 1)
    assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])
    assert (end.hour, end.minute, end.second) == (start.hour, start.minute, start.second)


@settings(max_examples=examples(300))
@given(moments)
def test_one_year_keeps_the_day_except_on_29_february(start: datetime) -> None:
    end = Duration(years=1).add_to(start)
    if (start.month, start.day) == (2, 29):
        assert (end.month, end.day) == (2, 28)
    else:
        assert (end.month, end.day) == (start.month, start.day)


@settings(max_examples=examples(300))
@given(moments, st.integers(0, 800))
def test_days_move_the_local_date_and_keep_the_local_time(start: datetime, n: int) -> None:
    end = Duration(days=n).add_to(start)
    assert end.date() == start.date() + timedelta(days=n)
    assert (end.hour, end.minute, end.second) == (start.hour, start.minute, start.second)


def _in_gap(moment: datetime) -> bool:
    # A local time that does not exist (clocks went forward over it) does not survive a round trip.
    return moment.astimezone(UTC).astimezone(moment.tzinfo).replace(tzinfo=None) != moment.replace(tzinfo=None)


@settings(max_examples=examples(300))
@given(moments, st.integers(0, 500), st.integers(0, 120), st.integers(0, 3600))
def test_hours_minutes_seconds_are_elapsed_time(start: datetime, h: int, m: int, s: int) -> None:
    end = Duration(hours=h, minutes=m, seconds=s).add_to(start)
    assert elapsed(start, end) == timedelta(hours=h, minutes=m, seconds=s)
    assert end.tzinfo is start.tzinfo


@settings(max_examples=examples(200))
@given(moments, durations())
def test_adding_never_goes_backwards(start: datetime, duration: Duration) -> None:
    assert elapsed(start, duration.add_to(start)) >= timedelta(0) or _in_gap(start)


_FAR = st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31), timezones=st.sampled_from(
    [UTC, DENVER, ZoneInfo("America/Santiago"), ZoneInfo("Asia/Beirut"), ZoneInfo("Pacific/Apia")]))


@settings(max_examples=examples(300))
@given(st.one_of(moments, _FAR), durations().filter(lambda d: d.whole_days),
       st.sets(st.dates(date(1990, 1, 1), date(2100, 1, 1)), max_size=5))
@example(datetime(9999, 12, 31, 12, tzinfo=UTC), Duration(days=1), set())  # past the calendar: the same error
@example(datetime(2011, 4, 2, 0, 30, tzinfo=ZoneInfo("America/Santiago")), Duration(days=1), set())
def test_whole_days_count_from_the_date_alone(start: datetime, duration: Duration, holidays: set[date]) -> None:
    # `build` counts whole-day durations from the event's local date: the same day as from its time.
    try:
        expected: date | str = duration.add_to(start, holidays).date()
    except CalendarOverflow:
        expected = "overflow"
    try:
        found: date | str = duration.add_to_day(start.date(), holidays)
    except CalendarOverflow:
        found = "overflow"
    assert found == expected


# --- parsing and printing --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("P90D", Duration(days=90)),
    ("P2Y", Duration(years=2)),
    ("P1Y6M", Duration(years=1, months=6)),
    ("PT72H", Duration(hours=72)),
    ("P1W", Duration(weeks=1)),
    ("P1DT12H30M5S", Duration(days=1, hours=12, minutes=30, seconds=5)),
    ("PT90S", Duration(seconds=90)),
    ("10 business days", Duration(business_days=10)),
    ("1 business day", Duration(business_days=1)),
    ("  P45D  ", Duration(days=45)),
    ("P0D", Duration()),
])
def test_parse(text: str, expected: Duration) -> None:
    assert Duration.parse(text) == expected


@pytest.mark.parametrize("text", [
    "", "P", "PT", "P1DT", "90D", "p90d", "P90d", "P1.5Y", "P-1D", "P1D2Y", "PT1D", "P1H", "P 1D", "P1Y 2M",
    "1 business", "business days", "-1 business days", "10 working days", "10 business  days", "P٣D",
    "P366001D", "P1001Y", "P99999999Y", "999999 business days", "P12001M", "P52300W", "P1D\nP2D", "forever",
    "indefinitely",
])
def test_parse_refuses_bad_input(text: str) -> None:
    with pytest.raises(ValueError):
        Duration.parse(text)


@pytest.mark.parametrize(("text", "words"), [
    ("P2Y", "2 years"), ("P1Y6M", "1 year, 6 months"), ("PT72H", "72 hours"), ("P0D", "no time"),
    ("10 business days", "10 business days"), ("P1W1D", "1 week, 1 day"),
])
def test_describe(text: str, words: str) -> None:
    assert Duration.parse(text).describe() == words


@given(durations(nonzero=False))
def test_str_round_trips(duration: Duration) -> None:
    assert Duration.parse(str(duration)) == duration
    assert str(Duration.parse(str(duration))) == str(duration)


@given(st.from_regex(r"P(\d{1,3}Y)?(\d{1,3}M)?(\d{1,3}W)?(\d{1,3}D)?(T(\d{1,3}H)?(\d{1,3}M)?(\d{1,3}S)?)?",
                     fullmatch=True))
def test_printing_normalises(text: str) -> None:
    try:
        duration = Duration.parse(text)
    except ValueError:
        return  # `P` or `...T` alone
    # Printing drops zero parts and leading zeros, and reads back to the same value.
    assert Duration.parse(str(duration)) == duration
    assert "T" not in str(duration) or str(duration)[-1] in "HMS"


def test_validated_in_models_with_a_message() -> None:
    from pydantic import TypeAdapter, ValidationError

    adapter = TypeAdapter(Duration)
    assert adapter.validate_python("P90D") == Duration(days=90)
    assert adapter.dump_python(Duration(days=90)) == "P90D"
    for bad, kind in (("P90", "duration"), (90, "duration_type"), (None, "duration_type")):
        with pytest.raises(ValidationError) as exc:
            adapter.validate_python(bad)
        assert exc.value.errors()[0]["type"] == kind
