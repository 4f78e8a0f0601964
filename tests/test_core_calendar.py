"""Times at the edges of the calendar (years 1 to 9999) and durations as long as the language allows:
a decision, or a clear IncidentError, never another exception (docs/semantics.md, "The calendar's edges").
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.api import Policy
from engine.core.decision import Decision
from engine.core.incident import IncidentError
from policy.duration import MAX_YEARS, Duration
from policy.loader import load_ruleset_text

LONGEST = MAX_YEARS  # the longest duration a ruleset may state, in years (policy.duration)

HEADER = """
ruleset: test-calendar
version: 1.0.0
title: The calendar's edges
status: draft
effective: {{from: 0001-01-01}}
timezone: {zone}
drafted_by: tests
sources: [{{id: t, title: Test source}}]
rules:
  - id: keep-footage
    summary: Keep footage a long time.
    cite: t 1
    retain: {{at_least: {keep}, after: incident}}
  - id: cap-footage
    summary: Delete footage in the end.
    cite: t 2
    delete: {{within: {keep}, after: dispatched}}
  - id: release-on-request
    summary: Release footage on request.
    cite: t 3
    on: records_request
    release: {{effect: must, to: requester, within: {release}, after: records_request}}
  - id: record-sequence
    summary: Record when an arrival follows a dispatch in time.
    cite: t 4
    when:
      sequence: [{{event: dispatched}}, {{event: arrived}}]
      within: {within}
    record: {{effect: must, from: dispatched, until: encounter_ended}}
"""

_POLICIES: dict[tuple[str, str, str, str, str], Policy] = {}


def policy(zone: str, keep: str, release: str, within: str, backend: str) -> Policy:
    key = (zone, keep, release, within, backend)
    found = _POLICIES.get(key)
    if found is None:
        ruleset = load_ruleset_text(HEADER.format(zone=zone, keep=keep, release=release, within=within))
        found = _POLICIES[key] = Policy.from_ruleset(ruleset, backend)  # type: ignore[arg-type]
    return found


ZONES = ["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/Chicago"]  # +14, -12 and a zone with DST
OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1)  # what ISO 8601 offsets allow
TIMES = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999))

DAYS = LONGEST * 365


def accepted(d: Duration) -> bool:
    try:
        return not d.is_zero and Duration.parse(str(d)) == d
    except ValueError:
        return False


# Every duration the language accepts, up to the longest: one unit at a time, or mixed.
durations = st.one_of(
    st.builds(Duration, years=st.integers(1, LONGEST)),
    st.builds(Duration, months=st.integers(1, LONGEST * 12)),
    st.builds(Duration, days=st.integers(1, DAYS)),
    st.builds(Duration, hours=st.integers(1, DAYS * 24)),
    st.builds(Duration, seconds=st.integers(1, DAYS * 86400)),
    st.builds(Duration, business_days=st.integers(1, 2_000)),
    st.builds(Duration, years=st.integers(0, LONGEST // 2), months=st.integers(0, 11), days=st.integers(0, 31),
              hours=st.integers(0, 23)),
).filter(accepted)


def stamp(t: datetime, minutes: int) -> str:
    return t.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


def incident(times: list[str]) -> dict[str, Any]:
    kinds = ["dispatched", "arrived", "encounter_ended", "records_request"]
    return {"id": "edge", "timezone": "UTC", "facts": {},
            "events": [{"type": kinds[k % len(kinds)], "at": at} for k, at in enumerate(times)]}


def decide_or_refuse(zone: str, keep: Duration, release: Duration, within: Duration, times: list[str],
                     backend: str = "native") -> Decision | IncidentError:
    p = policy(zone, str(keep), str(release), str(within), backend)
    try:
        return p.decide(incident(times))
    except IncidentError as exc:
        # A clear answer: it says where (the event) and why, in words.
        assert all(problem.field and problem.message for problem in exc.problems)
        return exc


EDGES = ["9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59.999999-23:59", "9999-12-31T23:59:59+14:00",
         "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+23:59", "0001-01-01T00:00:00-12:00",
         "2024-03-01T10:00:00-06:00"]


@settings(max_examples=examples(150), deadline=None)
@given(zone=st.sampled_from(ZONES), keep=durations, release=durations, within=durations,
       times=st.lists(st.builds(stamp, TIMES, OFFSETS), min_size=1, max_size=6))
@example(zone="Pacific/Kiritimati", keep=Duration(days=1), release=Duration(days=1), within=Duration(days=1),
         times=["9999-12-31T23:59:59-12:00"])
@example(zone="Pacific/Kiritimati", keep=Duration(days=1), release=Duration(days=1), within=Duration(days=1),
         times=["9999-12-31T20:00:00+00:00", "9999-12-31T20:30:00+00:00"])
@example(zone="Etc/GMT+12", keep=Duration(days=1), release=Duration(days=1), within=Duration(days=1),
         times=["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:01+14:00"])
@example(zone="UTC", keep=Duration(years=LONGEST), release=Duration(business_days=5),
         within=Duration(years=LONGEST), times=["2024-03-01T10:00:00-06:00", "2024-03-01T10:05:00-06:00",
                                                  "2024-03-01T10:30:00-06:00", "2024-03-02T10:00:00-06:00"])
@example(zone="America/Chicago", keep=Duration(hours=1), release=Duration(hours=1), within=Duration(hours=1),
         times=EDGES)
@example(zone="UTC", keep=Duration(days=1), release=Duration(days=1), within=Duration(years=LONGEST),
         times=["9999-12-31T23:00:00+00:00", "9999-12-31T23:30:00+00:00"])
def test_any_time_and_duration_gives_a_decision_or_a_clear_error(
        zone: str, keep: Duration, release: Duration, within: Duration, times: list[str]) -> None:
    got = decide_or_refuse(zone, keep, release, within, times)
    assert isinstance(got, Decision | IncidentError)


def test_a_retention_past_9999_names_the_rule_the_event_and_the_reason() -> None:
    with pytest.raises(IncidentError) as caught:
        policy("UTC", f"P{LONGEST}Y", "P1D", "P1D", "native").decide(incident(["9500-03-01T10:00:00-06:00"]))
    text = str(caught.value)
    assert "keep-footage" in text and "events[0].at" in text
    assert "falls outside years 1 to 9999" in text and "beyond the calendar" in text


def test_an_incident_whose_date_has_no_day_in_the_rulesets_zone_is_refused_clearly() -> None:
    # 9999-12-31T20:00:00Z is inside the calendar, but on Kiritimati (+14) it is 10000-01-01: no date.
    with pytest.raises(IncidentError) as caught:
        policy("Pacific/Kiritimati", "P1D", "P1D", "P1D", "native").decide(incident(["9999-12-31T20:00:00+00:00"]))
    assert "events[0].at" in str(caught.value) and "outside years 1 to 9999" in str(caught.value)


@pytest.mark.parametrize("backend", ["native", "rete"])
def test_a_sequence_within_a_duration_past_9999_holds_in_both_backends(backend: str) -> None:
    # The deadline (1,000 years after 9999-12-31) is past every event there can be: the sequence is in time.
    times = ["9999-12-31T20:00:00+00:00", "9999-12-31T21:00:00+00:00", "9999-12-31T22:00:00+00:00"]
    d = policy("UTC", "PT1H", "P1D", f"P{LONGEST}Y", backend).decide(
        {**incident(times), "events": [{"type": t, "at": at} for t, at in
                                       zip(["dispatched", "arrived", "encounter_ended"], times, strict=True)]},
        "9999-12-31T22:00:00+00:00")
    assert [o.rule for o in d.obligations if o.kind == "record"] == ["record-sequence"]


def test_both_backends_agree_at_the_calendars_edges() -> None:
    for times in (EDGES[:3], EDGES[3:6], ["0001-01-01T00:00:00+00:00", "0001-01-01T10:00:00+00:00"],
                  ["9999-12-31T00:00:00+00:00", "9999-12-31T20:00:00+00:00", "9999-12-31T23:00:00+00:00"]):
        for zone in ZONES:
            native = decide_or_refuse(zone, Duration(days=1), Duration(days=2), Duration(hours=30), times)
            rete = decide_or_refuse(zone, Duration(days=1), Duration(days=2), Duration(hours=30), times, "rete")
            if isinstance(native, Decision):
                assert isinstance(rete, Decision) and rete.to_json() == native.to_json()
            else:
                assert isinstance(rete, IncidentError) and str(rete) == str(native)
