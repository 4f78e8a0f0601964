"""The compliance audit: hand-built incidents (tests/corpus/audit) with findings worked out by hand."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.api import Library
from engine.audit import CHECKS, Finding, audit_incident, run_audit, write_report_folder
from engine.audit.checks import CHECKERS, CheckContext
from engine.audit.checks.access import viewed_while_denied
from engine.cli import main
from engine.core.decision import Moment, Obligation, Suspension, Window
from engine.core.incident import Event, Incident
from engine.io.export import ExportError, RowError, open_export, read_export
from policy.base import Effect

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "audit"
RULESETS = ROOT / "rulesets"
IL = "illinois-50-ilcs-706-10-20"
CA_RELEASE = "california-gov-7923-625"
# The readings that 2016.2.0 and 2019.2.0 correct (issue 10), pinned where a test is about an audit check
# those old readings exercise: a deletion deadline (IL-2 removed Illinois's), a release without a request
# (CA-2 tied California's to one). Pinning an old version reproduces its decisions exactly.
IL_2016_1 = f"{IL}@2016.1.0"
CA_RELEASE_2019_1 = f"{CA_RELEASE}@2019.1.0"
CA_BIOMETRIC = "california-pc-832-19"
BOSTON = "boston-bpcat-draft"
LATER = "2020-07-01T00:00:00-05:00"  # well past the 90-day Illinois period of the March 2020 incidents


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(RULESETS)


def incident(name: str) -> tuple[dict[str, Any], dict[str, str]]:
    for file in ("incidents.jsonl", "california.jsonl"):
        for line in (CORPUS / file).read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            if data["id"] == name:
                return data, data.pop("groups", {})
    raise KeyError(name)


def findings(library: Library, ruleset: str, name: str, as_of: str | None = None) -> dict[tuple[str, str], Finding]:
    data, groups = incident(name)
    out: dict[tuple[str, str], Finding] = {}
    for f in audit_incident(library, ruleset, data, groups, as_of):
        assert (f.rule, f.check) not in out, "one finding per obligation and check here"
        out[(f.rule, f.check)] = f
    return out


def flagged(found: dict[tuple[str, str], Finding]) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {k: (f.severity, f.missed_by) for k, f in found.items() if f.severity in ("violation", "at_risk")}


# --- Illinois: recording, retention ------------------------------------------------------------------------

def test_camera_off_for_five_minutes_of_a_mandatory_window(library: Library) -> None:
    # Dispatched 10:00, camera on 10:05, encounter ended 10:20: 5 of the 20 minutes unrecorded.
    found = findings(library, IL, "IL-CAMERA-OFF")
    f = found[("record-calls-for-service", "camera_off_in_mandatory_window")]
    assert (f.severity, f.missed_by, f.actual) == ("violation", "5 min", "recorded 15 min of 20 min")
    assert f.ruleset == f"{IL}@2016.3.0" and f.month == "2020-03" and f.groups == {"district": "d1"}
    assert flagged(found) == {("record-calls-for-service", "camera_off_in_mandatory_window"): ("violation", "5 min")}


def test_twenty_seconds_late_is_within_the_grace(library: Library) -> None:
    f = findings(library, IL, "IL-DELETED-EARLY")[("record-calls-for-service", "camera_off_in_mandatory_window")]
    assert f.severity == "compliant"


def test_deleted_before_the_90_days(library: Library) -> None:
    # Incident 2020-03-02: keep until 2020-05-31; deleted 2020-04-01, 60 days early.
    found = findings(library, IL, "IL-DELETED-EARLY")
    assert flagged(found) == {("keep-90-days", "deleted_before_minimum"): ("violation", "60 days")}
    assert not [k for k in found if k[1] == "kept_past_maximum"]  # the corrected reading has no deadline
    old = findings(library, IL_2016_1, "IL-DELETED-EARLY")  # the old reading: on time for its deadline
    assert old[("destroy-unflagged-after-90-days", "kept_past_maximum")].severity == "compliant"


def test_kept_past_90_days_unflagged(library: Library) -> None:
    # Not in uniform (no recording duty), never flagged, never deleted. The Act sets a 90-day storage
    # period and destruction after it with no day count (IL-2): keeping it is no violation.
    assert flagged(findings(library, IL, "IL-KEPT-UNFLAGGED", LATER)) == {}
    # The old reading (2016.1.0) made 2020-05-31 a deadline: as of 2020-07-01 (local date 2020-07-01 in
    # Chicago) it was kept 31 days past it.
    found = findings(library, IL_2016_1, "IL-KEPT-UNFLAGGED", LATER)
    assert flagged(found) == {("destroy-unflagged-after-90-days", "kept_past_maximum"): ("violation", "31 days")}
    # As of its own last event the deadline is months away.
    assert flagged(findings(library, IL_2016_1, "IL-KEPT-UNFLAGGED")) == {}


def test_kept_past_maximum_is_at_risk_a_week_before(library: Library) -> None:
    found = findings(library, IL_2016_1, "IL-KEPT-UNFLAGGED", "2020-05-26T12:00:00-05:00")
    assert flagged(found) == {("destroy-unflagged-after-90-days", "kept_past_maximum"): ("at_risk", None)}


def test_flagged_and_deleted_early(library: Library) -> None:
    # A felony arrest on 2020-03-02 flags the recording (IL-1: the 2 years run from the arrest), so it is
    # kept until 2022-03-02; deleted 2020-06-10: 630 days early (2020-06-10 -> 2021-06-10 is 365 days,
    # -> 2022-03-02 is 265 more). The agency's flag of 2020-03-03 is later and does not restart the clock.
    found = findings(library, IL, "IL-FLAGGED-DELETED", LATER)
    assert flagged(found) == {("flag-arrest-or-detention", "deleted_before_minimum"): ("violation", "630 days")}
    assert found[("keep-90-days", "deleted_before_minimum")].severity == "compliant"  # after day 90
    assert (date(2022, 3, 2) - date(2020, 6, 10)).days == 630
    # The old reading counted from the agency's flag (2020-03-03): 631 days; and its 90-day destruction
    # rule did not apply to a flagged recording.
    old = findings(library, IL_2016_1, "IL-FLAGGED-DELETED", LATER)
    assert flagged(old) == {
        ("flag-arrest-or-detention", "deleted_before_minimum"): ("violation", "631 days"),
        ("keep-flagged-two-years", "deleted_before_minimum"): ("violation", "631 days"),
    }
    assert old[("destroy-unflagged-after-90-days", "kept_past_maximum")].severity == "not_applicable"
    assert (date(2022, 3, 3) - date(2020, 6, 10)).days == 631


def test_recording_after_a_victim_asked_to_stop(library: Library) -> None:
    # The victim's request at 10:05 suspends the duty to record from 10:05 and forbids recording
    # until the encounter ends at 10:20; the camera ran on for those 15 minutes.
    found = findings(library, IL, "IL-VICTIM-REQUEST")
    assert flagged(found) == {("stop-on-victim-request", "recorded_while_prohibited"): ("violation", "15 min")}
    duty = found[("record-calls-for-service", "camera_off_in_mandatory_window")]
    assert duty.severity == "compliant" and duty.actual == "recorded 5 min of 5 min"


def test_viewing_before_the_report_when_denied_illinois_2021(library: Library) -> None:
    # After 2021-07-01 (SAFE-T), an involved officer may not view footage of a shooting before the
    # report; the supervisor's viewing the next day is not concerned.
    found = findings(library, IL, "IL-VIEWED-BEFORE-REPORT")
    f = found[("no-review-after-shooting-or-serious-force", "viewed_while_denied")]
    assert f.severity == "violation" and f.ruleset == f"{IL}@2021.3.0"
    assert "involved_officer" in f.actual and "2022-05-10T12:00:00-05:00" in f.actual
    assert found[("review-before-report", "viewed_while_denied")].severity == "not_applicable" \
        if ("review-before-report", "viewed_while_denied") in found else True
    assert set(flagged(found)) == {("no-review-after-shooting-or-serious-force", "viewed_while_denied")}


def test_viewing_before_report_and_statement_boston(library: Library) -> None:
    found = findings(library, BOSTON, "BOS-VIEWED-BEFORE-REPORT")
    assert found[("no-viewing-before-reports", "viewed_while_denied")].severity == "violation"
    assert found[("no-viewing-before-statements", "viewed_while_denied")].severity == "violation"
    # The three-year retention sets the six-month deletion aside.
    assert found[("delete-unflagged-footage", "kept_past_maximum")].severity == "not_applicable"


# --- California: release, biometrics ---------------------------------------------------------------------

def test_released_after_45_days(library: Library) -> None:
    # Agency aware 2020-02-01; 45 days later is 2020-03-17 (2020 is a leap year); released
    # 2020-04-01: 15 days late.
    found = findings(library, CA_RELEASE_2019_1, "CA-RELEASED-LATE")
    assert flagged(found) == {("release-critical-incident-recording", "released_late"): ("violation", "15 days")}
    assert date(2020, 2, 1) + timedelta(days=45) == date(2020, 3, 17)


def test_not_released(library: Library) -> None:
    key = ("release-critical-incident-recording", "not_released")
    # As of 2020-07-01T00:00-05:00 it is still 2020-06-30 in Los Angeles: 105 days past 2020-03-17.
    assert flagged(findings(library, CA_RELEASE_2019_1, "CA-NOT-RELEASED", LATER)) == {key: ("violation", "105 days")}
    assert flagged(findings(library, CA_RELEASE_2019_1, "CA-NOT-RELEASED", "2020-03-12T12:00:00-07:00")) == \
        {key: ("at_risk", None)}
    assert findings(library, CA_RELEASE_2019_1, "CA-NOT-RELEASED")[key].severity == "compliant"  # day one
    # The corrected reading (2019.2.0) owes disclosure to a requester, and these incidents have no request.
    assert flagged(findings(library, CA_RELEASE, "CA-NOT-RELEASED", LATER)) == {}


def test_a_permitted_delay_moves_the_deadline(library: Library) -> None:
    # A written assertion of interference, investigation not concluded: the one-year delay
    # (to 2021-02-01) is available, so on 2020-07-01 the release is not yet late.
    found = findings(library, CA_RELEASE_2019_1, "CA-DELAYED", LATER)
    assert flagged(found) == {}
    assert "2021-02-01" in found[("release-critical-incident-recording", "not_released")].expected


def test_biometric_identification_while_in_force_and_after(library: Library) -> None:
    key = ("no-biometric-surveillance", "biometric_while_prohibited")
    assert flagged(findings(library, CA_BIOMETRIC, "CA-BIOMETRIC-2021")) == {key: ("violation", None)}
    assert findings(library, CA_BIOMETRIC, "CA-BIOMETRIC-REDACTION")[key].severity == "compliant"
    # Repealed from 2023-01-01: the ban does not apply to a 2023 incident.
    after = findings(library, CA_BIOMETRIC, "CA-BIOMETRIC-2023")
    assert flagged(after) == {} and after[key].severity == "not_applicable"
    assert after[key].actual == "the rule did not apply"


# --- exports -----------------------------------------------------------------------------------------

def test_csv_and_jsonl_give_the_same_findings(library: Library) -> None:
    vocab = library.versions_of(IL)[-1].program.vocabulary
    from_csv = {r.incident["id"]: r for r in read_export(CORPUS / "incidents.csv", vocab)
                if not isinstance(r, RowError)}
    for iid in ("IL-DELETED-EARLY", "IL-FLAGGED-DELETED", "IL-VICTIM-REQUEST"):
        data, groups = incident(iid)
        rec = from_csv[iid]
        assert rec.groups == groups
        assert audit_incident(library, IL, rec.incident, rec.groups, LATER) == \
            audit_incident(library, IL, data, groups, LATER)


def test_malformed_csv_rows_are_reported_with_line_numbers(library: Library) -> None:
    out = run_audit([RULESETS], IL, CORPUS / "incidents.csv", as_of=datetime.fromisoformat(LATER), workers=1,
                    library=library)
    inp = out.summary["input"]
    assert inp["errors"] == [
        {"line": 2, "incident": "IL-CAMERA-OFF",
         "message": "the rows of incident `IL-CAMERA-OFF` are not together: more of them come later in the file "
                    "(sort the export by `incident_id`, keeping each incident's rows in order)"},
        {"line": 11, "incident": "IL-BAD-BOOLEAN",
         "message": "column `fact.in_uniform`: `yes` is not a boolean (true or false)"},
        {"line": 19, "incident": "IL-UNKNOWN-EVENT", "message": "events[1].type: unknown event type `teleported`"},
        {"line": 25, "incident": "IL-CAMERA-OFF",
         "message": "rows of incident `IL-CAMERA-OFF` are not contiguous (it appeared earlier)"},
    ]
    # IL-CAMERA-OFF has a row apart from the others: it is refused whole, never judged on part of its rows.
    assert (inp["rows"], inp["incidents"], inp["skipped_rows"], inp["skipped_incidents"]) == (24, 3, 9, 3)
    assert inp["skipped_reasons"] == {"bad value": 1, "invalid incident": 1, "rows not contiguous": 2}


def test_malformed_jsonl_lines_are_reported_and_the_rest_audited(library: Library) -> None:
    out = run_audit([RULESETS], IL, CORPUS / "malformed.jsonl", workers=1, library=library)
    inp = out.summary["input"]
    assert [(e["line"], e["incident"]) for e in inp["errors"]] == [(2, None), (4, "IL-NO-OFFSET"), (6, None)]
    assert "has no time zone offset" in inp["errors"][1]["message"]
    assert (inp["rows"], inp["incidents"], inp["skipped_incidents"]) == (5, 2, 3)
    assert out.summary["counts"]["by_check"]["camera_off_in_mandatory_window"]["violation"] == 1


def test_unknown_csv_column_makes_the_export_unusable(library: Library) -> None:
    vocab = library.versions_of(IL)[-1].program.vocabulary
    with pytest.raises(ExportError, match="unknown column `badge`"):
        open_export(CORPUS / "unknown-column.csv", vocab)


def test_parquet_without_pyarrow_is_a_clear_error(library: Library, tmp_path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        (tmp_path / "x.parquet").write_bytes(b"PAR1")
        with pytest.raises(ExportError, match="needs pyarrow"):
            open_export(tmp_path / "x.parquet", library.versions_of(IL)[-1].program.vocabulary)
    else:  # pragma: no cover - pyarrow installed: round-trip the CSV fixture through Parquet
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        pq.write_table(pcsv.read_csv(CORPUS / "incidents.csv"), tmp_path / "x.parquet")
        out = run_audit([RULESETS], IL, tmp_path / "x.parquet", workers=1, library=library)
        assert out.summary["input"]["incidents"] == 3


# --- whole runs ------------------------------------------------------------------------------------------

def test_report_is_deterministic_and_workers_do_not_change_it(library: Library, tmp_path: Path) -> None:
    source = CORPUS / "incidents.jsonl"
    big = tmp_path / "many.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()
    with big.open("w", encoding="utf-8") as fh:  # 5 incidents x 60, ids made unique, in scrambled order
        for k in range(60):
            for line in lines[k % 5:] + lines[:k % 5]:
                data = json.loads(line)
                data["id"] = f"{data['id']}-{(k * 7919) % 60:02d}"
                fh.write(json.dumps(data) + "\n")
    outputs = []
    for name, workers in (("a", 1), ("b", 1), ("c", 2)):
        run_audit([RULESETS], IL, big, as_of=datetime.fromisoformat(LATER), workers=workers, chunk_size=7,
                  out_dir=tmp_path / name, library=library if workers == 1 else None)
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())})
    assert outputs[0] == outputs[1] == outputs[2]
    assert {"summary.json", "findings.csv"} <= set(outputs[0])
    summary = json.loads(outputs[0]["summary.json"])
    assert summary["input"]["incidents"] == 300
    assert summary["counts"]["by_group"]["district"]["d1"]["violation"] > 0
    rows = list(csv.DictReader(io.StringIO(outputs[0]["findings.csv"].decode())))
    keys = [(r["incident_id"], r["rule"], r["check"]) for r in rows]
    assert keys == sorted(keys) and len(rows) == sum(summary["counts"]["by_severity"][s]
                                                     for s in ("violation", "at_risk"))


def test_ids_given_more_than_once_are_said_with_where(library: Library, tmp_path: Path) -> None:
    """An export that repeats an incident id (JSON Lines written twice; one incident split across two
    files of a partitioned export): each copy is audited and counted, as before, and the summary, the
    terminal and the page say which ids repeat and where, ids shown as literal text. Found after every
    chunk is back, so the same for any number of workers."""
    lines = (CORPUS / "incidents.jsonl").read_text(encoding="utf-8").splitlines()
    hostile = json.loads(lines[0]) | {"id": "<img src=x onerror=alert(1)>=1+1"}
    repeated = tmp_path / "repeated.jsonl"
    repeated.write_text("\n".join([*lines, lines[1], json.dumps(hostile), lines[1], json.dumps(hostile)]) + "\n",
                        encoding="utf-8")
    summaries = []
    for name, workers in (("one", 1), ("two", 2)):
        run_audit([RULESETS], IL, repeated, workers=workers, chunk_size=2, out_dir=tmp_path / name,
                  library=library if workers == 1 else None)
        summaries.append((tmp_path / name / "summary.json").read_bytes())
    assert summaries[0] == summaries[1]
    summary = json.loads(summaries[0])
    second = json.loads(lines[1])["id"]
    assert summary["input"]["incidents"] == len(lines) + 4  # each copy audited, as the export gives it
    assert summary["input"]["repeated_ids"] == {"ids": 2, "incidents": 5, "examples": sorted([
        {"incident": hostile["id"], "count": 2, "places": [{"line": len(lines) + 2}, {"line": len(lines) + 4}]},
        {"incident": second, "count": 3, "places": [{"line": 2}, {"line": len(lines) + 1}, {"line": len(lines) + 3}]},
    ], key=lambda e: e["incident"])}
    page = (tmp_path / "one" / "report.html").read_text(encoding="utf-8")
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;=1+1" in page
    assert "Incident ids given more than once" in page
    result = CliRunner().invoke(main, ["audit", "--rulesets", str(RULESETS), "--policy", IL, "--workers", "1",
                                       str(repeated)])
    assert result.exit_code == 0, result.output
    assert (f"repeated ids: 2 incident id(s) given more than once, 5 incident(s) in all, each audited and counted "
            f"(first: `{min(second, hostile['id'])}` at ") in result.output
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    (parts / "b.jsonl").write_text("\n".join(lines[2:]) + "\n", encoding="utf-8")
    run_audit([RULESETS], IL, parts, workers=2, out_dir=tmp_path / "parts-report")
    split = json.loads((tmp_path / "parts-report" / "summary.json").read_text(encoding="utf-8"))
    assert split["input"]["repeated_ids"] == {"ids": 1, "incidents": 2, "examples": [
        {"incident": json.loads(lines[2])["id"], "count": 2,
         "places": [{"file": "a.jsonl", "line": 3}, {"file": "b.jsonl", "line": 1}]}]}
    # A JSON document on one line, as `json.dump` writes it: its elements share line 1, told apart by column.
    document = tmp_path / "one-line.json"
    document.write_text("[" + ", ".join([lines[1], lines[2], lines[1]]) + "]", encoding="utf-8")
    run_audit([RULESETS], IL, document, workers=1, out_dir=tmp_path / "document-report", library=library)
    third = 2 + len(lines[1]) + 2 + len(lines[2]) + 2  # "[", then each element and ", "
    assert json.loads((tmp_path / "document-report" / "summary.json").read_text(encoding="utf-8"))["input"][
        "repeated_ids"]["examples"] == [{"incident": second, "count": 2,
                                         "places": [{"line": 1, "column": 2}, {"line": 1, "column": third}]}]
    result = CliRunner().invoke(main, ["audit", "--rulesets", str(RULESETS), "--policy", IL, "--workers", "1",
                                       str(document)])
    assert f"(first: `{second}` at line 1 column 2, line 1 column {third}; see summary.json)" in result.output


def test_a_failed_write_leaves_the_previous_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    def old(folder: Path, summary: dict[str, Any], findings: Any) -> None:
        (folder / "findings.csv").write_text("old\n")

    write_report_folder(out, {}, [], old)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(folder: Path, summary: dict[str, Any], findings: Any) -> None:
        (folder / "summary.json").write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_report_folder(out, {}, [], broken)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_cli_audit(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["audit", "--rulesets", str(RULESETS), "--policy", IL, "--as-of", LATER,
                                  "--out", str(tmp_path / "out"), "--workers", "1", str(CORPUS / "incidents.csv")])
    assert result.exit_code == 0, result.output
    assert "audited 3 incident(s)" in result.output and "line 11 (IL-BAD-BOOLEAN)" in result.output
    assert (tmp_path / "out" / "summary.json").exists()
    bad = runner.invoke(main, ["audit", "--rulesets", str(RULESETS), "--policy", IL,
                               str(CORPUS / "unknown-column.csv")])
    assert bad.exit_code == 1 and "unknown column `badge`" in bad.output
    missing = runner.invoke(main, ["audit", "--rulesets", str(RULESETS), "--policy", "no-such-policy",
                                   str(CORPUS / "incidents.csv")])
    assert missing.exit_code == 1


def test_cli_audit_reads_an_export_by_its_stated_format(tmp_path: Path) -> None:
    # `--input-format`, the name every command that reads incidents takes; `--format`, audit's own name
    # for it from the start, still works.
    export = tmp_path / "incidents.txt"
    export.write_bytes((CORPUS / "incidents.csv").read_bytes())
    common = ["audit", "--rulesets", str(RULESETS), "--policy", IL, "--as-of", LATER, "--workers", "1"]
    refused = CliRunner().invoke(main, [*common, str(export)])
    assert refused.exit_code == 1 and "give --input-format" in refused.output and "Traceback" not in refused.output
    summaries = []
    for option in ("--input-format", "--format"):
        out = tmp_path / option.strip("-")
        result = CliRunner().invoke(main, [*common, option, "csv", "--out", str(out), str(export)])
        assert result.exit_code == 0, result.output
        assert "audited 3 incident(s)" in result.output
        summaries.append((out / "summary.json").read_bytes())
    assert summaries[0] == summaries[1]


# --- the checks, one by one ----------------------------------------------------------------------------

def test_every_check_name_has_its_check() -> None:
    # `released_late` is what `not_released` reports once something was released
    assert set(CHECKERS) == set(CHECKS) - {"released_late"}


def _viewed_at_an_instant(suspended: list[tuple[datetime, datetime]]) -> str:
    """The severity of `viewed_while_denied` for a window that opens and closes at the very moment of a view."""
    at = datetime(2024, 1, 1, 12, tzinfo=UTC)
    inc = Incident.of("INC-1", "UTC", {}, [Event("dispatched", at - timedelta(hours=1), {}, 0),
                                           Event("footage_viewed", at, {"role": "public"}, 1)])
    moment = Moment(event="released", at=at.isoformat())
    o = Obligation(kind="access", effect=Effect.MUST_NOT, rule="no-public", ruleset="x@1", cite="§1", summary="",
                   window=Window(from_=moment, until=moment), role=["public"],
                   suspended=[Suspension(from_=Moment(at=a.isoformat()), until=Moment(at=b.isoformat()), rule="s")
                              for a, b in suspended] or None)
    c = CheckContext(inc, at, {}, UTC)
    viewed_while_denied(c, o)
    assert len(c.findings) == 1
    return c.findings[0].severity


def test_an_instant_window_still_catches_a_view_at_that_instant() -> None:
    # The shared interval arithmetic drops empty spans; the audit keeps an instant window so that a view
    # at that moment counts, unless a suspension runs across it (one touching it does not).
    at = datetime(2024, 1, 1, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert _viewed_at_an_instant([]) == "violation"
    assert _viewed_at_an_instant([(at - hour, at + hour)]) == "compliant"
    assert _viewed_at_an_instant([(at - hour, at), (at, at + hour)]) == "compliant"  # merged first
    assert _viewed_at_an_instant([(at - hour, at)]) == "violation"
