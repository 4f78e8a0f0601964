"""Column maps and times (engine/io/columnmap.py): a time past the calendar's end in UTC refuses its row,
never the audit, and a map's time `format` is checked before any row is read (file:line:column), since
strptime itself fails only on a row, or reads a time silently wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

from engine.io.columnmap import MAPS_DIR, ColumnMapError, load_map

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
POLICY = "boston-bpcat-draft"  # its time zone: America/New_York
TRAIL_MAP = (MAPS_DIR / "illustrative-evidence-audit-trail.yaml").read_text(encoding="utf-8")
TRAIL_FORMAT = "%m/%d/%Y %H:%M:%S"
HEADER = "Incident Number,Action,Action Time,Badge,User Role,Reason,Released To,Redacted,District\n"


def _audit(tmp_path: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    out = tmp_path / "out"
    code, _, stderr = run_cli(["audit", "--rulesets", str(RULESETS), "--policy", POLICY, "--workers", "1",
                               "--out", str(out), *args])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8")) if out.exists() else {}
    return code, stderr, summary


# --- a time past the calendar's end in UTC ------------------------------------------------------------------

@pytest.mark.parametrize(("zone", "fmt", "time"), [
    (None, TRAIL_FORMAT, "12/31/9999 23:30:00"),  # New York: 10000-01-01 04:30 in UTC
    ("Asia/Tokyo", TRAIL_FORMAT, "01/01/0001 00:30:00"),  # Tokyo: year 0 in UTC
    (None, TRAIL_FORMAT + " %z", "12/31/9999 23:30:00 -0100"),  # its own offset
])
def test_a_time_past_the_calendar_in_utc_refuses_its_row_and_the_rest_is_audited(
        tmp_path: Path, zone: str | None, fmt: str, time: str) -> None:
    text = TRAIL_MAP.replace(TRAIL_FORMAT, fmt)
    if zone is not None:
        text = text.replace("incident:\n", f"incident:\n  timezone: {{value: {zone}}}\n")
    cmap, trail = tmp_path / "map.yaml", tmp_path / "trail.csv"
    cmap.write_text(text, encoding="utf-8")
    later = "03/01/2024 10:00:00" + (" -0500" if "%z" in fmt else "")
    trail.write_text(f"{HEADER}I-1,Recording Started,{time},B1,,,,,D1\nI-2,Recording Started,{later},B1,,,,,D1\n",
                     encoding="utf-8")
    code, stderr, summary = _audit(tmp_path, "--map", str(cmap), str(trail))
    assert code == 0, stderr
    assert summary["input"]["errors"] == [
        {"incident": "I-1", "line": 2, "message": f"column 3 (`Action Time`): `{time}` is outside the calendar "
                                                   "this engine counts in (years 1 to 9999, UTC)"}]
    assert summary["input"]["incidents"] == 1  # I-2


def test_match_windows_and_recordings_at_the_calendar_ends_never_crash(tmp_path: Path) -> None:
    # A window widened past year 9999 (or before year 1) still holds its recordings; a recording that the
    # incident's zone would write in year 0 keeps its own offset, and the audit refuses it as in any export.
    cmap = tmp_path / "map.yaml"
    cmap.write_text((MAPS_DIR / "axon-cad-auto-tagging.yaml").read_text(encoding="utf-8")
                    .replace("before: PT4M", "before: PT4M\n    after: PT1H"), encoding="utf-8")
    cad, videos = tmp_path / "cad.csv", tmp_path / "videos.csv"
    cad.write_text("Event ID,Officer Badge ID,Officer Dispatched DateTime,Officer Cleared DateTime,Call type\n"
                   "E1,B1,0001-01-01T00:01:00Z,0001-01-01T00:30:00Z,X\n"
                   "E2,B2,9999-12-31T23:00:00Z,9999-12-31T23:30:00Z,X\n"
                   "E3,B3,2024-03-01T10:00:00Z,2024-03-01T10:30:00Z,X\n", encoding="utf-8")
    videos.write_text("Officer Badge ID,Recorded Start,Recorded End\n"
                      "B1,0001-01-01T00:00:30Z,0001-01-01T00:20:00Z\n"
                      "B2,9999-12-31T23:45:00Z,9999-12-31T23:50:00Z\n"
                      "B3,2024-03-01T10:01:00Z,2024-03-01T10:20:00Z\n", encoding="utf-8")
    code, stderr, summary = _audit(tmp_path, "--map", str(cmap), "--recordings", str(videos), str(cad))
    assert code == 0, stderr
    assert summary["input"]["map"]["recordings"] == {
        "rows": 3, "matched": 3, "unmatched": 0, "skipped": 0, "ambiguous": 0}
    assert summary["input"]["incidents"] == 1  # E3
    assert {e["incident"] for e in summary["input"]["errors"]} == {"E1", "E2"}


# --- a map's time format ------------------------------------------------------------------------------------

MAP = """bwc_column_map: 1
name: times
title: Times
status: illustrative
incident:
  id: Case
  events:
    - type: dispatched
      at: {column: When, format: "FORMAT"}
"""
FORMAT_AT = ":9:34:"  # the format's line and column in MAP


@pytest.mark.parametrize(("fmt", "words"), [
    ("%m/%d/%Y %H:%M:%S %Y", "the format reads the year twice (`%Y` and `%Y`)"),
    ("%m/%d/%y %H:%M:%S %Y", "the format reads the year twice (`%y` and `%Y`)"),
    ("%Q%Q%", "`%Q` is not a directive a time format may use"),
    ("%m/%d/%Y %H:%M:%S %", "the format ends with a lone `%`"),
    ("", "the format is empty"),
    ("%H:%M", "the format reads no year, no month and day"),
    ("%m/%d %H:%M", "the format reads no year:"),
    ("%m/%d/%Y", "the format reads no hour:"),
    ("%j %m/%d/%Y %H", "the date is read twice"),
    ("%m/%d/%Y %I:%M", "`%I` (the 12-hour clock) and `%p` (AM or PM) go together"),
    ("%m/%d/%Y %H:%M %p", "`%I` (the 12-hour clock) and `%p` (AM or PM) go together"),
    ("%m/%d/%Y %H:%S", "the format reads the second but not the minute"),
    ("%m/%d/%Y %H:%M:%S %Z", "`%Z` (a zone name such as UTC or EST) cannot be used"),
])
def test_a_time_format_that_cannot_be_read_right_is_refused_where_it_is_written(tmp_path: Path, fmt: str,
                                                                                 words: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MAP.replace("FORMAT", fmt), encoding="utf-8")
    with pytest.raises(ColumnMapError) as caught:
        load_map(bad)
    [problem] = caught.value.problems
    assert f"{bad}{FORMAT_AT} {words}" in str(caught.value), str(caught.value)
    assert problem.hint


def test_z_is_refused_with_the_ways_to_give_a_zone(tmp_path: Path) -> None:
    # strptime reads `UTC` for %Z and gives a time without a zone: 10:00 UTC would be read as 10:00 in New York.
    bad = tmp_path / "bad.yaml"
    bad.write_text(MAP.replace("FORMAT", "%m/%d/%Y %H:%M:%S %Z"), encoding="utf-8")
    with pytest.raises(ColumnMapError) as caught:
        load_map(bad)
    assert "`%z`" in str(caught.value) and "`timezone`" in str(caught.value)


def test_a_recordings_time_format_is_checked_too(tmp_path: Path) -> None:
    text = (MAPS_DIR / "axon-cad-auto-tagging.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  started: Recorded Start", '  started: {column: Recorded Start, format: "%H:%M"}'),
                   encoding="utf-8")
    line = next(i for i, row in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "%H:%M" in row)
    with pytest.raises(ColumnMapError) as caught:
        load_map(bad)
    assert f"{bad}:{line}:" in str(caught.value) and "reads no year" in str(caught.value)


@pytest.mark.parametrize("fmt", ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S.%f%z",
                                 "%a %d %b %Y %H:%M", "%A, %B %d, %y %I %p", "%Y-%j %H:%M", "%d%%%m%%%Y %H"])
def test_a_time_format_that_reads_a_full_time_is_accepted(tmp_path: Path, fmt: str) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MAP.replace("FORMAT", fmt), encoding="utf-8")
    assert load_map(good).name == "times"


def test_map_check_and_the_audit_refuse_a_format_strptime_would_fail_on(tmp_path: Path) -> None:
    # "%Y" twice used to pass `bwc map check` and crash the audit on the first row (re.error).
    bad = tmp_path / "bad.yaml"
    bad.write_text(TRAIL_MAP.replace(TRAIL_FORMAT, TRAIL_FORMAT + " %Y"), encoding="utf-8")
    line = 1 + TRAIL_MAP[:TRAIL_MAP.index(TRAIL_FORMAT)].count("\n")
    code, _, stderr = run_cli(["map", "check", "--rulesets", str(RULESETS), "--policy", POLICY, str(bad)])
    assert code == 1 and f"{bad}:{line}:41: error: the format reads the year twice" in stderr, stderr
    trail = tmp_path / "trail.csv"
    trail.write_text(f"{HEADER}I-2,Recording Started,03/01/2024 10:00:00 2024,B1,,,,,D1\n", encoding="utf-8")
    code, stderr, summary = _audit(tmp_path, "--map", str(bad), str(trail))
    assert code == 1 and f"{bad}:{line}:41:" in stderr and not summary, stderr
