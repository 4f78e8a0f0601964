"""Recordings matched to calls through a column map (engine/io/columnmap.py): by officer and window, in one
sweep whose work grows with the files, not with their product; a recording in more windows than a map may
match is refused with its line, and a recording is added once to an incident whatever its windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from budget import examples
from cli_runner import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.io.columnmap import (
    MAPS_DIR,
    MAX_MATCHES,
    _Incident,
    _Video,
    _Window,
    _windows_holding,
    load_map,
    open_mapped,
)
from engine.io.export import TableUnit
from policy.vocabulary import core

ROOT = Path(__file__).resolve().parent.parent
BASE = datetime(2024, 3, 1, 10, tzinfo=UTC)
CAD_HEADER = "Event ID,Officer Badge ID,Officer Dispatched DateTime,Officer Cleared DateTime,Call type\n"
VIDEO_HEADER = "Officer Badge ID,Recorded Start,Recorded End\n"


def _at(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _audit(tmp_path: Path, cad: str, videos: str) -> tuple[int, str, str, dict[str, Any]]:
    (tmp_path / "cad.csv").write_text(CAD_HEADER + cad, encoding="utf-8")
    (tmp_path / "videos.csv").write_text(VIDEO_HEADER + videos, encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, stderr = run_cli([
        "audit", "--rulesets", str(ROOT / "rulesets"), "--policy", "boston-bpcat-draft", "--workers", "1",
        "--out", str(out), "--map", "axon-cad-auto-tagging", "--recordings", str(tmp_path / "videos.csv"),
        str(tmp_path / "cad.csv")])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8")) if out.exists() else {}
    return code, stdout, stderr, summary


# --- the sweep gives what checking every window would -------------------------------------------------------

_minutes = st.integers(-600, 600)
_zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])


@st.composite
def _windows(draw: st.DrawFn) -> tuple[dict[str, list[_Window]], list[_Video]]:
    officers = ["A", "B", "C"]
    windows: dict[str, list[_Window]] = {}
    ends: list[datetime] = []  # a recording starting just as a window opens or closes is in it
    for n in range(draw(st.integers(0, 40))):
        low, length = draw(_minutes), draw(st.integers(0, 300))
        start = (BASE + timedelta(minutes=low)).astimezone(draw(_zones))
        windows.setdefault(draw(st.sampled_from(officers)), []).append(
            _Window(start, start + timedelta(minutes=length), _Incident(n), f"E{n}"))
        ends += [start, start + timedelta(minutes=length)]
    times = _minutes.map(lambda m: BASE + timedelta(minutes=m))
    if ends:
        times = st.one_of(times, st.sampled_from(ends))
    videos = [_Video(line, draw(st.sampled_from(officers)), when, when)
              for line, when in enumerate(draw(st.lists(times.flatmap(lambda t: _zones.map(t.astimezone)),
                                                        max_size=30)), start=2)]
    return windows, videos


@settings(max_examples=examples(200), deadline=None)
@given(_windows())
def test_each_recording_gets_exactly_the_windows_holding_its_start(
        drawn: tuple[dict[str, list[_Window]], list[_Video]]) -> None:
    windows, videos = drawn
    held = _windows_holding(windows, videos)
    assert len(held) == len(videos)
    for video, got in zip(videos, held, strict=True):
        every = [w for w in windows.get(video.officer, []) if w.low <= video.started <= w.high]
        assert got == (len(every) if len(every) > MAX_MATCHES else every)


# --- end to end ---------------------------------------------------------------------------------------------

def test_a_recording_in_more_windows_than_a_map_may_match_is_refused_and_the_rest_matched(tmp_path: Path) -> None:
    # Officer B1 on 20 calls at once, each dispatched a minute after the last and cleared 30 minutes later
    # (the map's 4-minute buffer before dispatch). A video at 10:25 falls in all 20 windows; one at 10:47
    # only in those cleared from 10:47 on (E17, E18, E19).
    cad = "".join(f"E{i},B1,{_at(i)},{_at(i + 30)},X\n" for i in range(20))
    code, stdout, stderr, summary = _audit(tmp_path, cad, f"B1,{_at(25)},{_at(26)}\nB1,{_at(47)},{_at(48)}\n")
    assert code == 0, stderr
    assert summary["input"]["map"]["recordings"] == {
        "rows": 2, "matched": 1, "unmatched": 0, "skipped": 0, "ambiguous": 1}
    assert summary["input"]["errors"] == [{
        "incident": None, "line": 2,
        "message": "recordings file videos.csv, line 2: the recording of `B1` starting 2024-03-01T10:25:00+00:00 "
                   f"falls in 20 match windows of that officer, more than the {MAX_MATCHES} a recording may match: "
                   "the officer's calls overlap too much to tell which it belongs to (check the export's cleared "
                   "times, or narrow the map's `match.before` and `match.after`)"}]
    assert summary["input"]["incidents"] == 20  # every call is audited
    assert "recordings: 2 rows, 1 matched to an incident, 0 matched to none, 0 unreadable, 1 matching too many " \
           "calls to tell" in stdout


def test_a_recording_in_two_windows_of_one_incident_is_added_to_it_once(tmp_path: Path) -> None:
    # B1 is on two rows of E1 (dispatched again before the first was cleared): a video at 10:15 is in both
    # windows, and is one recording of E1, not two.
    (tmp_path / "cad.csv").write_text(CAD_HEADER + f"E1,B1,{_at(0)},{_at(30)},X\nE1,B1,{_at(10)},{_at(40)},X\n"
                                      f"E2,B1,{_at(5)},{_at(20)},X\n", encoding="utf-8")
    (tmp_path / "videos.csv").write_text(VIDEO_HEADER + f"B1,{_at(15)},{_at(16)}\n", encoding="utf-8")
    export = open_mapped(tmp_path / "cad.csv", load_map(MAPS_DIR / "axon-cad-auto-tagging.yaml"), core(),
                         "America/New_York", tmp_path / "videos.csv")
    started = {unit.incident: sum(1 for _, cells in unit.rows if "recording_started" in cells)
               for unit in export.units() if isinstance(unit, TableUnit)}
    assert started == {"E1": 1, "E2": 1}
    assert export.recording_stats == {"rows": 1, "matched": 1, "unmatched": 0, "skipped": 0, "ambiguous": 0}
