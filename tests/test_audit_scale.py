"""The audit of one incident with many events takes time and memory linear in them (docs/performance.md, "Audit").

Its indexes (recording coverage per officer, notice times, first releases, events by input position, recording
starts of the activation measure) are checked against straightforward reference implementations written here,
on generated inputs with small integer times so that ties are frequent; the growth is checked by counting the
lines of the audit's code that run for an incident of N and of 2N events (no timings).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.api import Library
from engine.audit.auditor import Auditor
from engine.audit.checks.actions import Actions
from engine.audit.checks.context import CheckContext
from engine.audit.checks.notice import no_notice
from engine.audit.presets import load_preset
from engine.audit.presets.activation import activation
from engine.core.decision.model import EventRef
from engine.core.incident import Event, Incident
from engine.core.intervals import Coverage, Span, overlap

ROOT = Path(__file__).resolve().parent.parent
Z = timezone(timedelta(hours=-6))
T0 = datetime(2022, 3, 1, 8, 0, tzinfo=Z)
ILLINOIS = "illinois-50-ilcs-706-10-20"

# --- reference implementations --------------------------------------------------------------------------


def _measure(window: list[Span], covered: list[Span]) -> Fraction:
    """Seconds of `window` in `covered`, exactly: every piece between two consecutive times is in or out."""
    cuts = sorted({t for a, b in [*window, *covered] for t in (a, b)})
    total = Fraction(0)
    for lo, hi in pairwise(cuts):
        mid = (Fraction(lo) + Fraction(hi)) / 2
        if any(a < mid < b for a, b in window) and any(a < mid < b for a, b in covered):
            total += Fraction(hi) - Fraction(lo)
    return total


# --- coverage of a window by the recordings of an officer and of cameras with no officer ---------------

_times = st.integers(0, 30)
_quarters = st.integers(0, 120).map(lambda n: n / 4)  # fractions of a second, still exact in a float
_spans = st.lists(st.tuples(_times, _times).map(lambda s: (float(s[0]), float(s[1]))), max_size=12)
_fine_spans = st.lists(st.tuples(_quarters, _quarters), max_size=12)


@given(own=st.one_of(_spans, _fine_spans), shared=st.one_of(st.none(), _spans, _fine_spans),
       window=st.one_of(_spans, _fine_spans))
def test_coverage_is_the_overlap_with_the_merged_spans(own: list[Span], shared: list[Span] | None,
                                                       window: list[Span]) -> None:
    """Same float as `overlap(window, union(own + shared))` (the audit's old way), and the exact measure;
    equal times, empty and reversed spans, spans touching at an instant included."""
    got = Coverage(own, Coverage(shared) if shared is not None else None).overlap(window)
    merged = [*own, *(shared or ())]
    assert got == overlap(window, merged)
    assert Fraction(got) == _measure([(a, b) for a, b in window if a < b], [(a, b) for a, b in merged if a < b])


@given(own=_spans, shared=_spans, window=_spans, base=st.sampled_from([1e-3, 1.6e9 + 0.1, 1e300, 5e-324]))
def test_coverage_falls_back_where_its_sums_would_round(own: list[Span], shared: list[Span],
                                                        window: list[Span], base: float) -> None:
    """Times that are not whole multiples of one step (or too far apart for one) are walked as before."""
    def moved(spans: list[Span]) -> list[Span]:
        return [(a * base + a / 3, b * base + b / 3) for a, b in spans]
    own, shared, window = moved(own), moved(shared), moved(window)
    assert Coverage(own, Coverage(shared)).overlap(window) == overlap(window, [*own, *shared])


def _incident(events: list[tuple[str, int, dict[str, Any]]]) -> Incident:
    """Events as (type, second after T0, attributes), in input order."""
    return Incident.of("I", "America/Chicago", {},
                       [Event(t, T0 + timedelta(seconds=s), attrs, i) for i, (t, s, attrs) in enumerate(events)])


_officer = st.sampled_from([None, "A", "B", "C"])
_event = st.tuples(st.sampled_from(["recording_started", "recording_stopped", "notice_given"]),
                   st.integers(0, 40), _officer).map(
    lambda e: (e[0], e[1], {} if e[2] is None else {"officer": e[2]}))


@given(events=st.lists(_event, min_size=60, max_size=160), window=_spans, as_of=st.integers(0, 45))
def test_recorded_in_an_incident_with_many_recordings(events: list[tuple[str, int, dict[str, Any]]],
                                                      window: list[Span], as_of: int) -> None:
    """Many recordings take the indexed way (`Coverage`), few the merged lists: both give what the merged
    recordings of the officer and of cameras with no officer (or of anyone) give."""
    acts = Actions(_incident(events), T0 + timedelta(seconds=as_of))
    window = [(a + T0.timestamp(), b + T0.timestamp()) for a, b in window]
    for officer in (None, "A", "B", "C", "D"):
        spans = [s for who, ss in acts.recordings.items() if officer is None or who in (None, officer) for s in ss]
        assert acts.recorded_in(officer, window) == overlap(window, spans)
        assert acts.recorded_in(officer, window) == overlap(window, spans)  # asked again: from the index


# --- notices ------------------------------------------------------------------------------------------

@given(events=st.lists(_event, max_size=80), opens=st.one_of(st.none(), st.integers(0, 40)),
       closes=st.one_of(st.none(), st.integers(0, 40)), trigger=st.integers(0, 80))
def test_no_notice_finds_a_notice_in_the_window(events: list[tuple[str, int, dict[str, Any]]], opens: int | None,
                                                closes: int | None, trigger: int) -> None:
    events = [("arrived", 0, {"officer": "A"}), *events]
    inc = _incident(events)
    c = CheckContext(inc, T0 + timedelta(seconds=45), {}, Z)

    def moment(s: int | None) -> Any:
        return None if s is None else SimpleNamespace(at=(T0 + timedelta(seconds=s)).isoformat(), pending=False,
                                                      event=None)
    o: Any = SimpleNamespace(window=SimpleNamespace(from_=moment(opens), until=moment(closes)), suspended=(),
                             trigger=EventRef(type="x", at="", index=trigger % len(events)), ruleset="r",
                             rule="r", cite="", kind="notify")
    no_notice(c, o)
    lo = T0.timestamp() + (opens or 0)
    hi = T0.timestamp() + (45 if closes is None else closes)
    officer = c.officer(o)
    given_ = any(lo <= t <= hi and (officer is None or who is None or who == officer)
                 for t, who in c.actions.notices)
    severity = c.findings[-1].severity
    assert (severity == "compliant") if given_ else severity in ("violation", "at_risk")
    assert given_ or (severity == "violation") == (closes is not None)


# --- releases -----------------------------------------------------------------------------------------

_release = st.tuples(st.integers(0, 40), st.sampled_from(["subject", "public", "attorney", None]),
                     st.sampled_from([True, False, None, "no"]))


@given(releases=st.lists(_release, max_size=40), to=st.lists(st.sampled_from(["subject", "public", "other"]),
                                                              max_size=3))
def test_first_release_is_the_first_of_the_filtered_releases(releases: list[tuple[int, str | None, Any]],
                                                             to: list[str]) -> None:
    inc = _incident([("footage_released", s, {k: v for k, v in (("to", who), ("redacted", red)) if v is not None})
                     for s, who, red in releases])
    acts = Actions(inc, T0 + timedelta(seconds=50))
    released = [r for r in acts.releases if r[1] in set(to)]
    bad = [r for r in released if r[2] is False]
    first, unredacted = acts.first_release(to)
    assert (acts.releases[first:first + 1], acts.releases[unredacted:unredacted + 1]) == (released[:1], bad[:1])


# --- the officer of a trigger, events not in input order ---------------------------------------------

@given(times=st.lists(st.integers(0, 5), min_size=1, max_size=30), data=st.data())
def test_officer_of_a_trigger_in_any_input_order(times: list[int], data: st.DataObject) -> None:
    inc = _incident([("arrived", s, {"officer": f"O{i}"} if i % 3 else {}) for i, s in enumerate(times)])
    c = CheckContext(inc, T0 + timedelta(seconds=10), {}, Z)
    for index in data.draw(st.lists(st.integers(-1, len(times)), max_size=10)):
        o: Any = SimpleNamespace(trigger=EventRef(type="x", at="", index=index))
        want = next((e.attributes.get("officer") for e in inc.events if e.index == index), None)
        assert c.officer(o) == want


# --- the activation measure --------------------------------------------------------------------------

def _activation_reference(incident: dict[str, Any]) -> tuple[int, int]:
    """The measure as presets/tempe-activation-1-25.yaml states it, scanning every start for each officer."""
    measure = load_preset("tempe-activation-1-25").measure
    assert measure is not None
    seen: dict[str, dict[str, datetime]] = {}
    starts = [(e.get("officer"), datetime.fromisoformat(e["at"])) for e in incident["events"]
              if e["type"] == "recording_started"]
    for e in incident["events"]:
        at, who = datetime.fromisoformat(e["at"]), e.get("officer")
        if who is None:
            continue
        s = seen.setdefault(who, {})
        for key, kinds, first in (("dispatched", {measure.dispatched}, True), ("arrived", {measure.arrived}, True),
                                  ("cleared", set(measure.cleared), False)):
            if e["type"] in kinds and (key not in s or (at < s[key] if first else at > s[key])):
                s[key] = at
    calls = matched = 0
    for officer, s in seen.items():
        if "arrived" not in s or "cleared" not in s or \
                (s["cleared"] - s["arrived"]).total_seconds() < measure.min_on_scene_seconds:
            continue
        calls = 1
        opened = min(s.get("dispatched", s["arrived"]), s["arrived"])
        if any(who in (None, officer) and opened <= at <= s["cleared"] for who, at in starts):
            matched = 1
    return calls, matched


_call_event = st.tuples(st.sampled_from(["recording_started", "arrived", "dispatched", "left_scene"]),
                        st.integers(0, 400), _officer)


@given(events=st.lists(_call_event, max_size=120))
def test_activation_matches_the_reference(events: list[tuple[str, int, str | None]]) -> None:
    incident = {"id": "t", "events": [{"type": t, "at": (T0 + timedelta(seconds=s)).isoformat(),
                                       **({} if who is None else {"officer": who})} for t, s, who in events]}
    measure = load_preset("tempe-activation-1-25").measure
    assert measure is not None
    assert activation(incident, measure) == _activation_reference(incident)


# --- growth: lines of the audit's code run for N and 2N events --------------------------------------

_COUNTED = ("/engine/audit/checks/", "/engine/core/intervals.py", "/engine/audit/presets/activation.py")


@contextmanager
def _lines_run() -> Iterator[list[int]]:
    """Counts the lines of the checks, the interval arithmetic and the measure that run (a measure of the
    work done that does not depend on the machine, as a timing would)."""
    count = [0]

    def local(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "line":
            count[0] += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        name = frame.f_code.co_filename.replace("\\", "/")
        return local if any(p in name for p in _COUNTED) else None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield count
    finally:
        sys.settrace(old)


def _audit_incident(mode: str, n: int) -> dict[str, Any]:
    """One Illinois incident with `n` repetitions of a pattern (as the tester's generator writes them)."""
    events: list[dict[str, Any]] = []

    def add(event_type: str, **attrs: Any) -> None:
        events.append({"type": event_type, "at": (T0 + timedelta(seconds=10 * len(events))).isoformat(), **attrs})
    for i in range(n):
        if mode == "rec":
            add("contact_initiated", officer="o1", kind="consensual")
            add("recording_started", officer="o1")
            add("recording_stopped", officer="o1")
        elif mode == "nooff":
            add("contact_initiated", officer=f"o{i}", kind="consensual")
            add("recording_started")
            add("recording_stopped")
        elif mode == "notice":
            add("entered_residence", officer="o1", basis="consent")
            add("notice_given", officer="o1")
        elif mode == "release":
            add("records_request", requester="subject")
            add("footage_released", to="subject", redacted=True)
        elif mode == "barerev":
            add("contact_initiated", officer="o1", kind="consensual")
    add("encounter_ended", officer="o1")
    if mode == "barerev":
        events.reverse()
    return {"id": "big", "timezone": "America/Chicago", "facts": {"assignment": "patrol", "in_uniform": True},
            "events": events}


@pytest.fixture(scope="module")
def auditor() -> Auditor:
    return Auditor(Library.load(ROOT / "rulesets"), ILLINOIS)


def _audit_lines(auditor: Auditor, mode: str, n: int) -> int:
    incident = _audit_incident(mode, n)
    with _lines_run() as count:
        auditor.audit(incident, None, None)
    return count[0]


@pytest.mark.parametrize("mode", ["rec", "nooff", "notice", "release", "barerev"])
def test_audit_of_one_incident_grows_linearly(auditor: Auditor, mode: str) -> None:
    """Twice the events, at most about twice the work (a search per obligation adds a logarithm's worth);
    each of these took time (and `nooff` memory) growing with the square of the events."""
    small, large = _audit_lines(auditor, mode, 150), _audit_lines(auditor, mode, 300)
    assert large < 2.4 * small, (small, large)


def test_activation_grows_linearly() -> None:
    """N officers on scene and N recordings started by another before any of them arrived."""
    measure = load_preset("tempe-activation-1-25").measure
    assert measure is not None

    def lines(n: int) -> int:
        events: list[dict[str, Any]] = []
        for i in range(n):
            events.append({"type": "recording_started", "at": (T0 + timedelta(seconds=i)).isoformat(),
                           "officer": "cam"})
        for i in range(n):
            t = T0 + timedelta(days=1, seconds=i)
            events += [{"type": "arrived", "at": t.isoformat(), "officer": f"o{i}"},
                       {"type": "left_scene", "at": (t + timedelta(seconds=120)).isoformat(), "officer": f"o{i}"}]
        with _lines_run() as count:
            assert activation({"id": "t", "events": events}, measure) == (1, 0)
        return count[0]
    small, large = lines(200), lines(400)
    assert large < 2.4 * small, (small, large)
