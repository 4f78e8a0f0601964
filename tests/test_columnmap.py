"""Column maps (engine/io/columnmap.py): a vendor's export, read through a shipped map, audited end to end.

The Axon CAD printout below uses the headings Axon documents (the map's sources); the video list uses
the map's illustrative recordings headings. The audit through the map must give exactly the findings
the same incidents give when written in the documented export layout by hand: the map is a translation
in front of the one export reader, not a reader of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from budget import examples
from cli_runner import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.io.columnmap import MAPS_DIR, ColumnMapError, column_map_schema, load_map, shipped_maps

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
POLICY = "boston-bpcat-draft"  # records every dispatched call until the officer leaves, with no fact needed
SCHEMA_FILE = ROOT / "schemas" / "column-map.schema.json"

# Underscored headings: Axon's page says headings may use `_` for a space.
CAD = """Event_ID,Officer_Badge_ID,Officer_Dispatched_DateTime,Officer_Cleared_DateTime,Call_type
C-1001,B12,2017-03-01T14:00:00-05:00,2017-03-01T14:40:00-05:00,DISTURBANCE
C-1001,B34,2017-03-01T14:02:00-05:00,2017-03-01T14:30:00-05:00,DISTURBANCE
C-1002,B12,2017-03-02T14:00:00Z,2017-03-02T14:20:00Z,THEFT
C-1003,B56,not a time,2017-03-02T10:20:00-05:00,THEFT
C-1004,B56,2017-03-03T10:00:00-05:00,2017-03-03T10:30:00-05:00,ALARM
,B56,2017-03-03T10:00:00-05:00,2017-03-03T10:30:00-05:00,ALARM
C-1003,B57,2017-03-02T10:00:00-05:00,2017-03-02T10:20:00-05:00,THEFT
"""

VIDEOS = """Officer Badge ID,Recorded Start,Recorded End
B12,2017-03-01T13:58:00-05:00,2017-03-01T14:40:30-05:00
B34,2017-03-01T14:10:00-05:00,2017-03-01T14:30:00-05:00
B12,2017-03-02T14:00:10Z,2017-03-02T14:20:00Z
B99,2017-03-02T14:00:10Z,2017-03-02T14:20:00Z
B56,yesterday,2017-03-03T10:30:00-05:00
"""


def _event(kind: str, at: str, officer: str) -> dict[str, str]:
    return {"type": kind, "at": at, "officer": officer}


# The incidents the printout and the video list describe, written by hand in the documented layout
# (C-1003 is refused whole through the map, for its unreadable row: it is not here).
DOCUMENTED = [
    {"id": "C-1001", "timezone": "America/New_York", "facts": {}, "groups": {"call_type": "DISTURBANCE"}, "events": [
        _event("dispatched", "2017-03-01T14:00:00-05:00", "B12"),
        _event("left_scene", "2017-03-01T14:40:00-05:00", "B12"),
        _event("dispatched", "2017-03-01T14:02:00-05:00", "B34"),
        _event("left_scene", "2017-03-01T14:30:00-05:00", "B34"),
        _event("recording_started", "2017-03-01T13:58:00-05:00", "B12"),
        _event("recording_stopped", "2017-03-01T14:40:30-05:00", "B12"),
        _event("recording_started", "2017-03-01T14:10:00-05:00", "B34"),
        _event("recording_stopped", "2017-03-01T14:30:00-05:00", "B34")]},
    {"id": "C-1002", "timezone": "America/New_York", "facts": {}, "groups": {"call_type": "THEFT"}, "events": [
        _event("dispatched", "2017-03-02T09:00:00-05:00", "B12"),
        _event("left_scene", "2017-03-02T09:20:00-05:00", "B12"),
        _event("recording_started", "2017-03-02T09:00:10-05:00", "B12"),
        _event("recording_stopped", "2017-03-02T09:20:00-05:00", "B12")]},
    {"id": "C-1004", "timezone": "America/New_York", "facts": {}, "groups": {"call_type": "ALARM"}, "events": [
        _event("dispatched", "2017-03-03T10:00:00-05:00", "B56"),
        _event("left_scene", "2017-03-03T10:30:00-05:00", "B56")]},
]


def _audit(tmp_path: Path, name: str, *args: str) -> tuple[int, str, str, Path]:
    out = tmp_path / name
    code, stdout, stderr = run_cli(["audit", "--rulesets", str(RULESETS), "--policy", POLICY, "--workers", "1",
                                    "--out", str(out), *args])
    return code, stdout, stderr, out


@pytest.fixture
def vendor(tmp_path: Path) -> tuple[Path, Path]:
    cad, videos = tmp_path / "cad.csv", tmp_path / "videos.csv"
    cad.write_text(CAD, encoding="utf-8")
    videos.write_text(VIDEOS, encoding="utf-8")
    return cad, videos


def test_a_vendor_export_is_audited_end_to_end_through_a_shipped_map(tmp_path: Path,
                                                                     vendor: tuple[Path, Path]) -> None:
    cad, videos = vendor
    code, stdout, stderr, out = _audit(tmp_path, "mapped", "--map", "axon-cad-auto-tagging",
                                       "--recordings", str(videos), str(cad))
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["incidents"] == 3
    assert summary["input"]["map"] == {"name": "axon-cad-auto-tagging", "status": "documented",
                                       "recordings": {"rows": 5, "matched": 3, "unmatched": 1, "skipped": 1,
                                                      "ambiguous": 0}}
    errors = {(e["line"], e["incident"]): e["message"] for e in summary["input"]["errors"]}
    # The bad rows, each with its line and its column's number and heading; the rest audited.
    assert errors[(5, "C-1003")].startswith("column 3 (`Officer Dispatched DateTime`): `not a time`")
    assert errors[(7, None)] == "column 1 (`Event ID`): empty: a value is required here"
    assert "recordings file videos.csv, line 6: column 2 (`Recorded Start`): `yesterday`" in errors[(6, None)]
    assert summary["input"]["skipped_incidents"] == 1  # C-1003: one unreadable row refuses its incident whole
    findings = (out / "findings.csv").read_text(encoding="utf-8").splitlines()
    violations = sorted(line.split(",")[0] for line in findings[1:])
    assert violations == ["C-1001", "C-1004"]  # B34 began 8 min late; B56 has no video at all
    assert "recordings: 5 rows, 3 matched to an incident, 1 matched to none, 1 unreadable" in stdout


def test_the_map_gives_the_findings_of_the_documented_export(tmp_path: Path, vendor: tuple[Path, Path]) -> None:
    cad, videos = vendor
    code, _, stderr, mapped = _audit(tmp_path, "mapped", "--map", "axon-cad-auto-tagging", "--recordings",
                                     str(videos), str(cad))
    assert code == 0, stderr
    documented = tmp_path / "documented.jsonl"
    documented.write_text("".join(json.dumps(i) + "\n" for i in DOCUMENTED), encoding="utf-8")
    code, _, stderr, plain = _audit(tmp_path, "plain", str(documented))
    assert code == 0, stderr
    assert (mapped / "findings.csv").read_bytes() == (plain / "findings.csv").read_bytes()
    a, b = (json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in (mapped, plain))
    assert a["counts"] == b["counts"]
    assert a["recording_coverage"] == b["recording_coverage"]


def test_the_same_bytes_for_any_number_of_workers(tmp_path: Path, vendor: tuple[Path, Path]) -> None:
    cad, videos = vendor
    reports = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        code, _, stderr = run_cli(["audit", "--rulesets", str(RULESETS), "--policy", POLICY, "--workers", workers,
                                   "--map", "axon-cad-auto-tagging", "--recordings", str(videos),
                                   "--out", str(out), str(cad)])
        assert code == 0, stderr
        reports.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert reports[0] == reports[1]


def test_a_missing_column_is_named_before_any_row_is_read(tmp_path: Path) -> None:
    cad = tmp_path / "cad.csv"
    cad.write_text("Event ID,Officer Badge ID,Dispatched\nC-1,B1,2017-03-01T14:00:00Z\n", encoding="utf-8")
    code, _, stderr, out = _audit(tmp_path, "out", "--map", "axon-cad-auto-tagging", str(cad))
    assert code == 1
    assert "`Officer Cleared DateTime`" in stderr and "`Officer Dispatched DateTime`" in stderr
    assert not out.exists()


ILLUSTRATIVE_TRAIL = """Incident Number,Action,Action Time,Badge,User Role,Reason,Released To,Redacted,District
I-1,Recording Started,03/01/2017 14:00:00,B12,,,,,D4
I-1,Recording Stopped,03/01/2017 14:30:00,B12,,,,,D4
I-1,Added Tag,03/01/2017 15:00:00,B12,,,,,D4
I-1,Viewed,03/05/2017 09:00:00,,Detective,Investigation,,,D4
I-2,Viewed,03/12/2017 02:30:00,,Detective,Investigation,,,D4
I-3,Viewed,03/05/2017 09:00:00,,Janitor,Investigation,,,D4
"""


def test_the_illustrative_audit_trail_map(tmp_path: Path) -> None:
    trail = tmp_path / "trail.csv"
    trail.write_text(ILLUSTRATIVE_TRAIL, encoding="utf-8")
    code, _, stderr, out = _audit(tmp_path, "out", "--map", "illustrative-evidence-audit-trail", str(trail))
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["incidents"] == 1
    assert summary["input"]["map"]["status"] == "illustrative"
    errors = {e["incident"]: (e["line"], e["message"]) for e in summary["input"]["errors"]}
    # 2017-03-12 02:30 never happened in New York (the ruleset's zone): the clocks jumped to 03:00.
    assert errors["I-2"][0] == 6 and "never happened in America/New_York" in errors["I-2"][1]
    assert errors["I-3"] == (7, "column 5 (`User Role`): `Janitor` is not a value the map lists (`Officer`, "
                                "`Supervisor`, `Detective`, `Internal Affairs`, `Records`)")
    assert summary["counts"]["by_group"]["district"]["D4"]


# --- the map file's own problems: file:line:column ---------------------------------------------------------

BAD_MAP = """bwc_column_map: 1
name: bad-map
title: Broken
status: documented
incident:
  id: Case
  events:
    - type: dispatchd
      at: When
  facts:
    shoe_size: Shoes
"""


def test_map_problems_are_reported_with_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_MAP, encoding="utf-8")
    code, _, stderr = run_cli(["map", "check", "--rulesets", str(RULESETS), "--policy", POLICY, str(bad)])
    assert code == 1
    assert f"{bad}:8:13: error: `dispatchd` is not an event type of the vocabulary" in stderr
    assert f"{bad}:11:5: error: `shoe_size` is not a fact of the vocabulary" in stderr
    # The audit refuses the same map the same way, before reading the export.
    code, _, stderr, out = _audit(tmp_path, "out", "--map", str(bad), str(tmp_path / "missing.csv"))
    assert code == 1 and f"{bad}:8:13:" in stderr and not out.exists()


@pytest.mark.parametrize(("text", "where", "words"), [
    (BAD_MAP.replace("  id: Case\n", "  id: Case\n  colour: red\n"), ":7:3:", "unknown key `colour`"),
    (BAD_MAP.replace("status: documented", "status: guessed"), ":4:9:", "documented"),
    (BAD_MAP.replace("name: bad-map\n", "name: x\n  title: [\n"), ":3:", "YAML"),
    (BAD_MAP.replace("  id: Case\n", '  id: {column: Case, format: "%Y"}\n'), ":6:22:", "time columns only"),
])
def test_a_broken_map_file(tmp_path: Path, text: str, where: str, words: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ColumnMapError) as caught:
        load_map(bad)
    assert where in str(caught.value) and words in str(caught.value), str(caught.value)


def test_an_unknown_map_name_lists_the_shipped_ones() -> None:
    code, _, stderr = run_cli(["audit", "--rulesets", str(RULESETS), "--policy", POLICY, "--map", "axon-cad",
                               str(ROOT / "README.md")])
    assert code == 1 and "axon-cad-auto-tagging" in stderr


# --- the shipped maps ---------------------------------------------------------------------------------------

def test_the_schema_file_is_up_to_date() -> None:
    expected = json.dumps(column_map_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected, \
        "regenerate: bwc map schema -o schemas/column-map.schema.json --overwrite"


@pytest.mark.parametrize("name", shipped_maps())
def test_each_shipped_map_is_valid_and_says_where_its_columns_come_from(name: str) -> None:
    path = MAPS_DIR / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))).validate(data)
    cmap = load_map(name)
    if cmap.status == "documented":
        assert cmap.sources and all(s.url.startswith("https://") for s in cmap.sources)
    else:
        assert name.startswith("illustrative-") and "ILLUSTRATIVE" in path.read_text(encoding="utf-8")
    if cmap.recordings is not None and cmap.recordings.status == "illustrative":
        assert "illustrative" in (cmap.recordings.note or "").lower()


def test_shipped_maps_are_listed() -> None:
    code, stdout, _ = run_cli(["map", "list"])
    assert code == 0
    assert "axon-cad-auto-tagging (documented; recordings section illustrative)" in stdout
    assert "illustrative-evidence-audit-trail (illustrative)" in stdout


def test_a_row_too_long_to_read_refuses_its_incident_whole(tmp_path: Path) -> None:
    rows = CAD.splitlines()
    rows.insert(2, f"C-1001,B1,{'x' * 140_000},2017-03-01T14:40:00-05:00,X")
    cad = tmp_path / "cad.csv"
    cad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, _, stderr, out = _audit(tmp_path, "out", "--map", "axon-cad-auto-tagging", str(cad))
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    errors = {(e["line"], e["incident"]): e["message"] for e in summary["input"]["errors"]}
    assert errors[(3, "C-1001")] == "a cell is longer than 131,072 characters"
    assert "C-1001" not in (out / "findings.csv").read_text(encoding="utf-8")  # never judged on its other rows


def test_a_cell_that_is_not_utf8_refuses_its_incident(tmp_path: Path) -> None:
    cad = tmp_path / "cad.csv"
    cad.write_bytes(CAD.encode("utf-8").replace(b"THEFT\nC-1003", b"TH\xffEFT\nC-1003"))
    code, _, stderr, out = _audit(tmp_path, "out", "--map", "axon-cad-auto-tagging", str(cad))
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    errors = {(e["line"], e["incident"]): e["message"] for e in summary["input"]["errors"]}
    assert errors[(4, "C-1002")] == "column 5 (`Call type`): not UTF-8: save the export as UTF-8"


# --- never a traceback: mutated vendor files and map files ---------------------------------------------------

SNIPPETS = (b"\xff", b"\x00", b"\r", b"\n", b'"', b",", b"\xef\xbb\xbf", b"=HYPERLINK(\"x\")",
            b"9999-12-31T23:59:59-12:00", b"0001-01-01T00:00:00+14:00", b"2017-03-12T02:30:00", b"America",
            b"x" * 200, b": [", b"!!python/object:os.system", b"*a", b"&a ", b"{", b"- ")


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        snippet = draw(st.sampled_from(SNIPPETS) | st.binary(min_size=1, max_size=6))
        data = data[:at] + snippet + data[at + draw(st.integers(0, 12)):]
    return data


def _never_a_traceback(argv: list[str]) -> None:
    code, stdout, stderr = run_cli(argv)
    shown = f"bwc {' '.join(argv)}\nexit {code}\n{stdout[-2000:]}\n{stderr[-2000:]}"
    assert code in (0, 1, 2), shown
    assert "Traceback" not in stdout + stderr and "internal error" not in (stdout + stderr).lower(), shown
    if code != 0:
        assert stderr.strip(), shown


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(("cad", "videos")))
def test_mutated_vendor_files_never_crash(tmp_path: Path, data: st.DataObject, which: str) -> None:
    cad, videos = tmp_path / "cad.csv", tmp_path / "videos.csv"
    cad.write_bytes(data.draw(mutated(CAD.encode())) if which == "cad" else CAD.encode())
    videos.write_bytes(data.draw(mutated(VIDEOS.encode())) if which == "videos" else VIDEOS.encode())
    _never_a_traceback(["audit", "--rulesets", str(RULESETS), "--policy", POLICY, "--workers", "1",
                        "--allow-empty", "--map", "axon-cad-auto-tagging", "--recordings", str(videos), str(cad)])


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(shipped_maps()))
def test_mutated_map_files_never_crash(tmp_path: Path, data: st.DataObject, name: str) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_bytes(data.draw(mutated((MAPS_DIR / f"{name}.yaml").read_bytes())))
    _never_a_traceback(["map", "check", "--rulesets", str(RULESETS), "--policy", POLICY, str(bad)])


def test_a_heading_the_map_reads_twice_is_refused(tmp_path: Path) -> None:
    cad = tmp_path / "cad.csv"
    cad.write_text(CAD.replace("Call_type", "Event ID", 1), encoding="utf-8")  # `Event_ID` and `Event ID`
    code, _, stderr, out = _audit(tmp_path, "out", "--map", "axon-cad-auto-tagging", str(cad))
    assert code == 1 and "has the column `Event ID` twice" in stderr and not out.exists()


def test_without_the_recordings_file_a_note_says_what_that_means(tmp_path: Path, vendor: tuple[Path, Path]) -> None:
    cad, _ = vendor
    code, _, stderr, out = _audit(tmp_path, "out", "--map", "axon-cad-auto-tagging", str(cad))
    assert code == 0, stderr
    assert "without --recordings no recording is known" in stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["map"]["recordings"] is None
    assert summary["recording_coverage"]["recorded_seconds"] == 0


def test_map_check_needs_no_rulesets_folder_unless_asked_for_a_policy(tmp_path: Path) -> None:
    """Outside a folder holding `rulesets/`, a map is checked on its own; with --policy the missing
    folder is named (a usage error), as for every command that reads rulesets."""
    code, out, err = run_cli(["map", "check", "axon-cad-auto-tagging"], cwd=tmp_path)
    assert code == 0 and "ok (axon-cad-auto-tagging, column names documented)" in out, err
    code, _, err = run_cli(["map", "check", "--policy", "minnesota-13-825", "axon-cad-auto-tagging"], cwd=tmp_path)
    assert code == 2 and "Invalid value for '--rulesets': Path 'rulesets' does not exist." in err


def test_a_vendor_row_with_values_past_its_last_heading_refuses_its_incident(tmp_path: Path) -> None:
    """A comma in an unquoted cell shifts the row's values under the wrong headings: a row holding values
    past the last heading is refused, and with it its incident (E1, whose other row reads well); empty
    cells past the end, as spreadsheets leave, are accepted (E3)."""
    cad = tmp_path / "cad.csv"
    cad.write_text("Event ID,Officer Badge ID,Officer Dispatched DateTime,Officer Cleared DateTime,Call type\n"
                   "E1,B1,2024-03-01T10:00:00Z,2024-03-01T10:30:00Z,Traffic, with a comma,x\n"
                   "E1,B2,2024-03-01T10:00:00Z,2024-03-01T10:30:00Z,Traffic\n"
                   "E3,B1,2024-03-01T12:00:00Z,2024-03-01T12:30:00Z,Traffic,,\n", encoding="utf-8")
    code, _, stderr, out = _audit(tmp_path, "out", "--map", "axon-cad-auto-tagging", str(cad))
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["input"]["incidents"] == 1  # E3
    assert summary["input"]["errors"] == [{"incident": "E1", "line": 2, "message": (
        "7 fields where the header has 5, the last of them not empty (a comma in a cell that is not quoted?)")}]


def test_one_recording_is_counted_in_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli.commands.audit import say_map_and_preset

    for rows, said in ((1, "recordings: 1 row, "), (2, "recordings: 2 rows, ")):
        say_map_and_preset({"input": {"map": {"recordings": {"rows": rows, "matched": rows, "unmatched": 0,
                                                             "skipped": 0}}}})
        assert capsys.readouterr().out.startswith(said)
