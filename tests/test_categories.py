"""`bwc categories`: every bundled ruleset version's category table exported and checked; planted bad
tables fail at the right row and column; a table derived from any ruleset passes its own check."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from budget import examples
from cli_runner import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import rulesets

from engine.api import Library
from engine.tools.categories import (
    Limit,
    Severity,
    check_table,
    compile_table,
    parse_duration,
    read_table,
    render,
    table_of,
)
from engine.tools.categories.spans import day_range, never_shorter
from policy.duration import Duration

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
LAYERED = ROOT / "examples" / "layered"
SCHEMA = ROOT / "schemas" / "categories.schema.json"
LIBRARY = Library.load(RULESETS, LAYERED)
VERSIONS = [f"{rid}@{v}" for rid in LIBRARY.repository.ids() for v in LIBRARY.repository.versions(rid)]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- every bundled version: exported, and the export passes its own check ---------------------------------

@pytest.mark.parametrize("ref", VERSIONS)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_every_bundled_version_exports_a_table_that_passes(tmp_path: Path, ref: str, fmt: str) -> None:
    table = compile_table(LIBRARY, ref)
    ruleset = LIBRARY.select(ref).program.ruleset
    kinds = [r for r in ruleset.rules if r.kind in ("retain", "delete")]
    # every retention and deletion rule of the ruleset is a category, or set aside with a reason
    named = {c.rule for c in table.categories if c.ruleset == ruleset.ref} | {
        s.category.rule for s in table.set_aside if s.category.ruleset == ruleset.ref}
    assert named == {r.id for r in kinds}
    path = _write(tmp_path, f"table.{fmt}", render(table, fmt))  # type: ignore[arg-type]
    report = check_table(table, read_table(path))
    assert report.passed, [str(p.place) + ": " + p.message for p in report.problems]
    assert report.rows == len(table.categories)


def test_the_export_is_deterministic_and_the_json_fits_its_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for ref in VERSIONS:
        a = render(compile_table(LIBRARY, ref), "json")
        assert a == render(compile_table(Library.load(RULESETS, LAYERED), ref), "json")
        jsonschema.validate(json.loads(a), schema)


def test_layers_are_included_and_precedence_sets_aside_the_city_deletion() -> None:
    table = compile_table(LIBRARY, "example-city-il")
    assert table.layers == ("example-city-il@1.0.0", "illinois-50-ilcs-706-10-20@2021.3.0")
    ids = {c.id for c in table.categories}
    assert {"keep-90-days", "keep-complaint-footage-one-year", "keep-until-final-disposition"} <= ids
    # the city's 60-day deletion loses to the statute's 90-day floor on every recording
    assert [(s.category.rule, s.by) for s in table.set_aside] == [("delete-unflagged-after-60-days", "keep-90-days")]


def test_as_of_chooses_the_version_in_force() -> None:
    old = compile_table(LIBRARY, "illinois-50-ilcs-706-10-20", _at("2018-05-01T12:00:00-05:00"))
    new = compile_table(LIBRARY, "illinois-50-ilcs-706-10-20")
    assert old.ruleset == "illinois-50-ilcs-706-10-20@2016.3.0"  # the newest correction of 2016.1.0, in its place
    assert new.ruleset == "illinois-50-ilcs-706-10-20@2021.3.0"
    assert old.as_of == "2018-05-01T12:00:00-05:00"


def _at(text: str):  # type: ignore[no-untyped-def]
    from engine.api import resolve_as_of
    return resolve_as_of(text)


def test_categories_say_what_the_rules_say() -> None:
    table = compile_table(LIBRARY, "illinois-50-ilcs-706-10-20@2021.2.0")
    floor = table.category("keep-90-days")
    assert floor is not None and floor.blanket and floor.limit is Limit.MINIMUM and str(floor.duration) == "P90D"
    flag = table.category("flag-complaint")
    assert flag is not None and flag.counts_from == "earliest of rule_applies, flagged"
    assert any("not from the recording date" in n for n in flag.notes)
    final = table.category("keep-until-final-disposition")
    assert final is not None and final.duration is None and final.keeps_until == "case_closed"
    rows = list(csv.DictReader(io.StringIO(render(table, "csv"))))
    row = next(r for r in rows if r["rule"] == "keep-until-final-disposition")
    assert (row["indefinite"], row["duration"], row["rule_duration"]) == ("true", "", "until case_closed")
    days = {r["rule"]: r["days"] for r in csv.DictReader(io.StringIO(render(table, "csv")))}
    assert days["keep-90-days"] == "90" and days["flag-complaint"] == ""  # P2Y is calendar-aware: no one count


def test_a_ruleset_without_retention_rules_has_an_empty_table(tmp_path: Path) -> None:
    table = compile_table(LIBRARY, "colorado-24-31-902")
    assert table.categories == () and table.notes
    path = _write(tmp_path, "t.csv", "name,duration,indefinite,covers\nUncategorized,30 days,,\n")
    assert check_table(table, read_table(path)).passed


# --- planted bad tables ----------------------------------------------------------------------------------

MN_GOOD = """name,duration,indefinite,covers
Uncategorized,90 days,false,keep-90-days
Firearm or force,P1Y,false,keep-one-year-firearm-discharge;keep-one-year-substantial-bodily-harm
Complaint,1 year,false,keep-one-year-formal-complaint
Subject request,P270D,,keep-180-more-days-on-subject-request
Subject request after a year,"1 year, 180 days",,keep-180-more-days-after-one-year-on-subject-request
"""


def _problems(tmp_path: Path, ref: str, text: str, name: str = "t.csv") -> list[tuple[int | None, str | None, str]]:
    report = check_table(compile_table(LIBRARY, ref), read_table(_write(tmp_path, name, text)))
    return [(p.place.row, p.place.column, p.severity.value) for p in report.problems]


def test_a_good_hand_written_table_passes(tmp_path: Path) -> None:
    assert _problems(tmp_path, "minnesota-13-825", MN_GOOD) == []


@pytest.mark.parametrize(("old", "new", "row", "column"), [
    ("Complaint,1 year,false", "Complaint,365 days,false", 4, "duration"),  # P1Y is 366 days from some days
    ("Uncategorized,90 days,false", "Uncategorized,89 days,false", 2, "duration"),
    ("Subject request,P270D,,", "Subject request,P6M,,", 5, "duration"),
    ("Uncategorized,90 days,false", "Uncategorized,90 days,maybe", 2, "indefinite"),
    ("Uncategorized,90 days,false", "Uncategorized,ninety,false", 2, "duration"),
    ("Uncategorized,90 days,false", "Uncategorized,,false", 2, "duration"),
    ("Uncategorized,90 days,false", "Uncategorized,90 days,true", 2, "duration"),  # both: ambiguous
    ("keep-one-year-formal-complaint", "keep-one-year-formal-complaint;keep-2-years", 4, "covers"),
])
def test_a_planted_mistake_is_reported_at_its_row_and_column(tmp_path: Path, old: str, new: str, row: int,
                                                              column: str) -> None:
    assert old in MN_GOOD
    found = _problems(tmp_path, "minnesota-13-825", MN_GOOD.replace(old, new))
    assert (row, column, "error") in found, found


def test_a_category_no_row_covers_is_missing(tmp_path: Path) -> None:
    text = MN_GOOD.replace(";keep-one-year-substantial-bodily-harm", "")
    report = check_table(compile_table(LIBRARY, "minnesota-13-825"), read_table(_write(tmp_path, "t.csv", text)))
    missing = [p for p in report.problems if p.category == "keep-one-year-substantial-bodily-harm"]
    assert len(missing) == 1 and missing[0].place.row is None and missing[0].place.column == "covers"
    assert "missing" in missing[0].message


IL_GOOD = """name,duration,indefinite,covers,counts_from
Uncategorized,P90D,,keep-90-days,
Flagged (complaint),P2Y,,flag-complaint,"earliest of rule_applies, flagged"
Flagged (force),P2Y,,flag-firearm-or-force;flag-death-or-great-bodily-harm,"earliest of rule_applies, flagged"
Flagged (arrest),P2Y,,flag-arrest-or-detention;flag-internal-investigation,"earliest of rule_applies, flagged"
Flagged (evidence),P2Y,,flag-evidentiary-value;flag-officer-request,"earliest of rule_applies, flagged"
Flagged by the agency,P2Y,,keep-flagged-two-years,flagged
Court case,,true,keep-until-final-disposition,
Traffic,P90D,,,
"""


def test_illinois_a_good_table_passes_and_the_floor_binds_every_row(tmp_path: Path) -> None:
    ref = "illinois-50-ilcs-706-10-20@2021.2.0"
    assert _problems(tmp_path, ref, IL_GOOD) == []
    # a department category of its own that keeps less than the statute's floor for every recording
    found = _problems(tmp_path, ref, IL_GOOD.replace("Traffic,P90D", "Traffic,P30D"))
    assert found == [(9, "duration", "error")]


def test_counting_from_the_recording_date_fails_a_minimum_counted_from_a_later_event(tmp_path: Path) -> None:
    text = IL_GOOD.replace('Flagged by the agency,P2Y,,keep-flagged-two-years,flagged',
                           'Flagged by the agency,P3Y,,keep-flagged-two-years,')
    assert _problems(tmp_path, "illinois-50-ilcs-706-10-20@2021.2.0", text) == [(7, "counts_from", "error")]


def test_a_fixed_duration_fails_a_minimum_with_no_end(tmp_path: Path) -> None:
    text = IL_GOOD.replace("Court case,,true", "Court case,P10Y,false")
    assert _problems(tmp_path, "illinois-50-ilcs-706-10-20@2021.2.0", text) == [(8, "indefinite", "error")]


DC_GOOD = """name,duration,indefinite,covers
Uncategorized,90 days,,delete-within-90-days
Investigation,,true,
"""


def test_keeping_past_a_maximum_fails(tmp_path: Path) -> None:
    assert _problems(tmp_path, "dc-24-dcmr-3900", DC_GOOD) == []
    assert _problems(tmp_path, "dc-24-dcmr-3900", DC_GOOD.replace("90 days", "P3M")) == [(2, "duration", "error")]
    assert _problems(tmp_path, "dc-24-dcmr-3900", DC_GOOD.replace("90 days,,", ",true,")) == [
        (2, "indefinite", "error")]


def test_boston_draft_the_three_year_rules_lift_the_six_month_deletion(tmp_path: Path) -> None:
    text = """name,duration,indefinite,covers
Uncategorized,P6M,,delete-unflagged-footage
Three years,P3Y,,retain-use-of-force-3y;retain-felony-3y;retain-complaint-3y;retain-on-request-3y
Training,P1Y,,
"""
    # the department's own one-year category keeps past the six months that govern every recording
    assert _problems(tmp_path, "boston-bpcat-draft", text) == [(4, "duration", "error")]


def test_json_tables_name_the_element(tmp_path: Path) -> None:
    doc = {"categories": [{"name": "Default", "duration": "P89D", "indefinite": False, "covers": ["keep-90-days"]}]}
    report = check_table(compile_table(LIBRARY, "illinois-50-ilcs-706-10-20@2021.2.0"),
                         read_table(_write(tmp_path, "t.json", json.dumps(doc))))
    first = report.problems[0]
    assert (first.place.row, first.place.column) == (1, "duration") and "categories[0]" in str(first.place)


# --- durations ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "iso"), [
    ("90 days", "P90D"), ("365", "P365D"), ("1 year, 180 days", "P1Y180D"), ("2 Years", "P2Y"), ("P6M", "P6M"),
    ("10 business days", "10 business days")])
def test_row_durations_are_read_in_the_usual_forms(text: str, iso: str) -> None:
    assert str(parse_duration(text)) == iso


@pytest.mark.parametrize("text", ["ninety days", "1 year 2 years", "-5", "P", "days 90"])
def test_a_row_duration_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["99999999 days", "99999999 years", "3650000 days", "99999999", "P1001Y",
                                  "9" * 5000, "9" * 5000 + " days"])
def test_a_row_duration_too_long_says_so_whatever_its_form(text: str) -> None:
    """Every form says the same: too long, not "not a duration" for eight digits and "too long" for seven."""
    with pytest.raises(ValueError, match="is longer than 1,000 years"):
        parse_duration(text)


def test_leading_zeros_are_not_counted_as_digits() -> None:
    assert str(parse_duration("00000090")) == str(parse_duration("00000090 days")) == "P90D"


def test_calendar_aware_day_counts() -> None:
    assert (day_range(Duration(years=1)).low, day_range(Duration(years=1)).high) == (365, 366)
    assert day_range(Duration(days=90)).exact == 90
    assert not never_shorter(Duration(days=365), Duration(years=1))
    assert never_shorter(Duration(days=366), Duration(years=1))
    assert never_shorter(Duration(years=1, months=1), Duration(years=1, days=28))  # needs the scan: bounds overlap
    assert not never_shorter(Duration(months=13), Duration(years=1, days=30))  # February is shorter


@settings(max_examples=examples(30))
@given(a=st.builds(Duration, years=st.integers(0, 2), months=st.integers(0, 13), days=st.integers(0, 400)),
       b=st.builds(Duration, years=st.integers(0, 2), months=st.integers(0, 13), days=st.integers(0, 400)),
       start=st.dates())
def test_never_shorter_holds_on_any_start_day(a: Duration, b: Duration, start: object) -> None:
    from datetime import date

    assert isinstance(start, date)
    try:
        ends = a.add_to_day(start), b.add_to_day(start)
    except ValueError:
        return  # past the calendar's end
    if never_shorter(a, b):
        assert ends[0] >= ends[1]


# --- the property: a derived table always passes ----------------------------------------------------------

@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(top=rulesets(), base=rulesets(), layered=st.booleans(), fmt=st.sampled_from(["csv", "json"]))
def test_a_table_derived_from_any_ruleset_passes_its_check(tmp_path_factory: pytest.TempPathFactory, top: object,
                                                          base: object, layered: bool, fmt: str) -> None:
    from policy.model import Ruleset

    assert isinstance(top, Ruleset) and isinstance(base, Ruleset)
    layers = [top, base] if layered and top.ruleset != base.ruleset else [top]
    table = table_of(layers)
    path = tmp_path_factory.mktemp("derived") / f"t.{fmt}"
    path.write_text(render(table, fmt), encoding="utf-8")  # type: ignore[arg-type]
    report = check_table(table, read_table(path))
    assert [p for p in report.problems if p.severity is Severity.ERROR] == [], report.problems


TWO_MAXIMA = """ruleset: two-maxima
version: 1.0.0
title: Two maxima counted from different events (a test)
status: draft
effective: {from: 2024-01-01}
timezone: America/Chicago
drafted_by: tests
sources:
  - {id: p, title: p}
rules:
  - id: blanket
    summary: Delete within a year of the dispatch.
    cite: p 1
    delete: {within: P1Y, after: dispatched}
  - id: arrests
    summary: Delete arrest footage within two years of the arrest.
    cite: p 2
    on: arrest
    delete: {within: P2Y, after: arrest}
"""


def test_a_maximum_counted_from_another_event_than_a_blanket_maximum_passes_when_derived(tmp_path: Path) -> None:
    """Found by the fuzz profile: the derived row of `arrests` counted from the arrest broke the blanket
    maximum counted from the dispatch; counted from the recording, the shorter limit keeps both."""
    from policy.loader import load_ruleset_text

    table = table_of([load_ruleset_text(TWO_MAXIMA, "two-maxima.yaml")])
    report = check_table(table, read_table(_write(tmp_path, "t.csv", render(table, "csv"))))
    assert report.passed, report.problems
    row = next(r for r in csv.DictReader(io.StringIO(render(table, "csv"))) if r["rule"] == "arrests")
    assert (row["duration"], row["counts_from"]) == ("P1Y", "recording")


CONTRADICTS = """ruleset: contradicts
version: 1.0.0
title: A ruleset that contradicts itself (a test)
status: draft
effective: {from: 2024-01-01}
timezone: America/Chicago
drafted_by: tests
sources:
  - {id: p, title: p}
rules:
  - id: keep-a-year
    summary: Keep every recording a year.
    cite: p 1
    retain: {at_least: P1Y, after: incident}
  - id: delete-in-six-months
    summary: Delete every recording within six months.
    cite: p 2
    delete: {within: P6M, after: incident}
  - id: keep-under-hold
    summary: Keep footage under a legal hold.
    cite: p 3
    on: legal_hold_placed
    retain: {legal_hold: true}
"""


def test_an_unsettled_contradiction_is_a_warning_and_a_legal_hold_beats_a_deletion(tmp_path: Path) -> None:
    from policy.loader import load_ruleset_text

    table = table_of([load_ruleset_text(CONTRADICTS, "contradicts.yaml")])
    assert table.set_aside == ()
    hold = table.exemption("keep-under-hold", "delete-in-six-months")
    assert hold is not None and not hold.disputed and "legal hold" in hold.reason
    keep = table.exemption("keep-a-year", "delete-in-six-months")
    assert keep is not None and keep.disputed
    report = check_table(table, read_table(_write(tmp_path, "t.csv", render(table, "csv"))))
    assert report.passed and {p.severity for p in report.problems} == {Severity.WARNING}
    assert all("nothing in the rulesets settles" in p.message for p in report.problems)


# --- the command line ----------------------------------------------------------------------------------

def test_cli_export_writes_atomically_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "mn.csv"
    rs = ["--rulesets", str(RULESETS)]
    code, _, err = run_cli(["categories", "export", *rs, "--policy", "minnesota-13-825", "-o", str(out)])
    assert code == 0, err
    first = out.read_bytes()
    code, _, err = run_cli(["categories", "export", *rs, "--policy", "minnesota-13-825", "-o", str(out)])
    assert code == 1 and "--overwrite" in err and out.read_bytes() == first
    code, _, err = run_cli(["categories", "export", *rs, "--policy", "minnesota-13-825", "-o", str(out), "--overwrite",
                            "--as-of", "2020-01-01T00:00:00-06:00"])
    assert code == 0 and out.read_bytes() == first, err
    out = tmp_path / "mn.json"
    code, _, err = run_cli(["categories", "export", *rs, "--policy", "minnesota-13-825", "--format", "json",
                            "-o", str(out)])
    assert code == 0 and json.loads(out.read_text(encoding="utf-8"))["ruleset"] == "minnesota-13-825@2016.2.0"
    code, stdout, _ = run_cli(["categories", "check", *rs, "--policy", "minnesota-13-825", str(out)])
    assert code == 0 and stdout.startswith("ok: ")


def test_cli_check_reports_rows_and_exits_1(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.csv", MN_GOOD.replace("90 days", "89 days"))
    code, stdout, _ = run_cli(["categories", "check", "--rulesets", str(RULESETS), "--policy", "minnesota-13-825",
                               str(path)])
    assert code == 1 and "row 2, column `duration` (B): error: deletes earlier than the minimum" in stdout


@pytest.mark.parametrize("text", ["", "a,b\n1,2\n", "name,name,duration,indefinite,covers\n", "\xff"])
def test_cli_check_refuses_an_unusable_table_in_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("latin-1"))
    code, stdout, err = run_cli(["categories", "check", "--rulesets", str(RULESETS), "--policy", "minnesota-13-825",
                                 str(path)])
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err + stdout


def test_cli_formula_cells_are_neutralised(tmp_path: Path) -> None:
    """A rule summary starting with `=` reaches the CSV as text, not a formula; the reader drops the quote."""
    folder = tmp_path / "rs" / "x"
    folder.mkdir(parents=True)
    (folder / "1.0.0.yaml").write_text(
        "ruleset: formula-test\nversion: 1.0.0\ntitle: t\nstatus: draft\neffective: {from: 2024-01-01}\n"
        "timezone: America/Chicago\ndrafted_by: tests\nsources:\n  - {id: p, title: p}\nrules:\n"
        "  - id: keep\n    summary: \"=HYPERLINK(\\\"http://x\\\")\"\n    cite: p 1\n"
        "    retain: {at_least: P30D, after: incident}\n", encoding="utf-8")
    code, stdout, err = run_cli(["categories", "export", "--rulesets", str(tmp_path / "rs"), "--policy",
                                 "formula-test"])
    assert code == 0, err
    row = next(csv.DictReader(io.StringIO(stdout)))
    assert row["applies_when"] == "'=HYPERLINK(\"http://x\")"


# --- hostile tables: never a traceback ---------------------------------------------------------------------

_GOOD_CSV = render(compile_table(LIBRARY, "illinois-50-ilcs-706-10-20@2021.2.0"), "csv").encode("utf-8")
_GOOD_JSON = render(compile_table(LIBRARY, "illinois-50-ilcs-706-10-20@2021.2.0"), "json").encode("utf-8")
_SNIPPETS = (b"\xff", b"\x00", b"\r", b'"', b",", b";", b"\n", b"=1+1", b"'", b"P99999Y", b"-1", b"true", b"{",
             b"[", b"1e999", b"NaN", b"\xe2\x80\xa8", b"\x1b[31m", b"9" * 300)


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                             HealthCheck.too_slow])
@given(data=st.data(), json_form=st.booleans())
def test_a_mutated_table_is_checked_or_refused_never_a_crash(tmp_path: Path, data: st.DataObject,
                                                             json_form: bool) -> None:
    blob = _GOOD_JSON if json_form else _GOOD_CSV
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(blob)), label="at")
        cut = data.draw(st.integers(0, 30), label="cut")
        blob = blob[:at] + data.draw(st.sampled_from(_SNIPPETS) | st.binary(max_size=6), label="put") + blob[at + cut:]
    path = tmp_path / ("t.json" if json_form else "t.csv")
    path.write_bytes(blob)
    code, stdout, stderr = run_cli(["categories", "check", "--rulesets", str(RULESETS), "--policy",
                                    "illinois-50-ilcs-706-10-20@2021.2.0", str(path)])
    assert code in (0, 1), stdout + stderr
    assert "Traceback" not in stdout + stderr and "internal error" not in (stdout + stderr).lower()
    if code == 1:
        assert "error" in stdout + stderr
