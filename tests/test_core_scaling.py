"""A decision's cost grows with the number of events about linearly (n log n), never as events².

Speed is measured by benchmarks, not asserted here: these tests count work instead. Every line of
Python that `Policy.decide` runs is counted (a trace function), for incidents of n, 2n and 4n events
built from the bundled examples; the extra work of doubling must stay close to double (a quadratic
step would make it four times as much). The window-precedence search is also checked against the
plain double loop it replaces, on random windows.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

import engine.core.decision.precedence as precedence
from engine.api import Library
from engine.core.decision.precedence import (
    WindowSpan,
    _last_covering,
    _overlapping,
    _own_pairs,
    _own_pairs_one_by_one,
    _partial,
)

ROOT = Path(__file__).resolve().parent.parent
CASES = [("colorado-complaint.json", "colorado-24-31-902"),
         ("boston-bpcat-draft.json", "boston-bpcat-draft@2016.1.0"),  # overrides and contradictions
         ("illinois-50-ilcs-706-10-20.json", "illinois-50-ilcs-706-10-20@2021.1.0"),
         ("boston-rule-405.json", "boston-rule-405")]


def long_incident(example_file: str, n: int) -> dict[str, Any]:
    """The example's events repeated, one second apart, to `n` events."""
    data = json.loads((ROOT / "examples" / example_file).read_text())
    start = datetime.fromisoformat(data["events"][0]["at"])
    events = []
    for k in range(n):
        e = dict(data["events"][k % len(data["events"])])
        e["at"] = (start + timedelta(seconds=k)).isoformat()
        events.append(e)
    return {**data, "events": events}


def lines_run(call: Any) -> int:
    count = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


@pytest.mark.parametrize(("example_file", "ref"), CASES)
def test_doubling_the_events_about_doubles_the_work(library: Library, example_file: str, ref: str) -> None:
    policy = library.select(ref)
    n = 200
    work = [lines_run(lambda size=size: policy.decide(long_incident(example_file, size)))
            for size in (n, 2 * n, 4 * n)]
    growth = (work[2] - work[1]) / (work[1] - work[0])
    # linear: 2; n log n: a little over 2; quadratic: 4
    assert growth < 2.6, f"{ref}: lines run {work}, growth {growth:.2f} per doubling"


def officers_pausing(n: int) -> dict[str, Any]:
    """n officers, each dispatched, arriving, in a contact, then each pausing and resuming: a rule with
    `same_officer` (a pause) against every officer's recording window."""
    start = datetime.fromisoformat("2024-01-17T21:00:00-07:00")
    events: list[dict[str, Any]] = []
    for kinds in (("dispatched", "arrived", "contact_initiated"), ("recording_paused", "recording_resumed")):
        for i in range(n):
            for kind in kinds:
                extra = {"kind": "consensual"} if kind == "contact_initiated" else \
                    {"ground": "long_break"} if kind == "recording_paused" else {}
                events.append({"type": kind, "at": (start + timedelta(seconds=len(events))).isoformat(),
                               "officer": f"o{i}", **extra})
    events.append({"type": "encounter_ended", "at": (start + timedelta(seconds=len(events))).isoformat()})
    return {"id": "pauses", "timezone": "America/Denver", "facts": {"assignment": "patrol"}, "events": events}


def test_many_officers_pausing_cost_about_linear_work(library: Library) -> None:
    """Each officer's pause once met every officer's window, one pair at a time: 2,000 officers took 1.6 s."""
    policy = library.select("colorado-24-31-902@2021.2.0")
    decided = policy.decide(officers_pausing(3))
    assert any(o.suspended for o in decided.obligations)  # the pauses do suspend their officers' windows
    work = [lines_run(lambda size=size: policy.decide(officers_pausing(size))) for size in (40, 80, 160)]
    growth = (work[2] - work[1]) / (work[1] - work[0])
    assert growth < 2.6, f"lines run {work}, growth {growth:.2f} per doubling"


# --- the window-precedence search against the double loop ------------------------------------------

bounds = st.integers(min_value=0, max_value=40)
spans_st = st.lists(st.tuples(bounds, bounds), min_size=0, max_size=40)


def _brute(a: list[int], b: list[int], spans: list[WindowSpan]) -> tuple[set[tuple[int, int]], ...]:
    overlapping = {(x, y) for x in a for y in b if precedence._windows_overlap(spans[x], spans[y])}
    partial = {(w, lo) for w in a for lo in b
               if precedence._windows_overlap(spans[w], spans[lo]) and not precedence._covers(spans[w], spans[lo])}
    covering = set()
    for lo in b:
        found = [w for w in a
                 if precedence._windows_overlap(spans[w], spans[lo]) and precedence._covers(spans[w], spans[lo])]
        if found:
            covering.add((max(found), lo))
    return overlapping, partial, covering


@settings(max_examples=examples(300), deadline=None)
@given(first=spans_st, second=spans_st)
@example(first=[(5, 3)] * 9, second=[(4, 4), (2, 6), (4, 10)] * 3)  # windows closing before they open
@example(first=[(0, 40)] * 10, second=[(1, 2)] * 10)  # every window covered
def test_the_window_search_finds_exactly_the_pairs_the_double_loop_finds(
        first: list[tuple[int, int]], second: list[tuple[int, int]]) -> None:
    spans: list[WindowSpan] = [*first, *second]
    a = list(range(len(first)))
    b = list(range(len(first), len(spans)))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(precedence, "_DIRECT", 0)  # always the search trees, never the direct comparison
        found = (set(_overlapping(a, b, spans)), set(_partial(a, b, spans)), set(_last_covering(a, b, spans)))
        assert len(_overlapping(a, b, spans)) == len(found[0])  # each pair once
    assert found == _brute(a, b, spans)


@settings(max_examples=examples(300), deadline=None)
@given(first=spans_st, second=spans_st, officers=st.lists(st.sampled_from([None, "a", "b"]), min_size=80, max_size=80),
       direct=st.booleans())
def test_one_officers_pairs_grouped_are_the_pairs_found_one_by_one(
        first: list[tuple[int, int]], second: list[tuple[int, int]], officers: list[str | None],
        direct: bool) -> None:
    spans: list[WindowSpan] = [*first, *second]
    a = list(range(len(first)))
    b = list(range(len(first), len(spans)))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(precedence, "_DIRECT", 10**9 if direct else 0)
        grouped = _own_pairs(a, b, spans, officers.__getitem__)
    assert sorted(grouped) == sorted(_own_pairs_one_by_one(a, b, spans, officers.__getitem__))
    assert len(grouped) == len(set(grouped))


@pytest.mark.parametrize(("example_file", "ref"), CASES)
def test_decisions_are_the_same_with_and_without_the_window_search(
        library: Library, example_file: str, ref: str, monkeypatch: pytest.MonkeyPatch) -> None:
    incident = long_incident(example_file, 120)
    policy = library.select(ref)
    with monkeypatch.context() as m:
        m.setattr(precedence, "_DIRECT", 0)
        searched = policy.decide(incident).to_json()
    with monkeypatch.context() as m:
        m.setattr(precedence, "_DIRECT", 10**9)
        compared = policy.decide(incident).to_json()
    assert searched == compared
