"""Data is literal text in every output: rich markup and terminal escape sequences in incident ids,
cites and messages are printed as written (escaped), never obeyed, and never stop a run; CSV cells a
spreadsheet would run as formulas are escaped."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from engine import cli
from engine.audit.report import write_reports
from engine.io.output import terminal_text

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
POLICY = "colorado-24-31-902"
SAMPLE = ROOT / "examples" / "colorado-complaint.json"

# What a hostile export would put in an id: rich markup, a colour, a window-title escape, a one-byte CSI,
# a carriage return that rewrites the line, and a right-to-left override.
HOSTILE_IDS = ["A [/bold] [link=file:///etc/passwd]x[/link]", "B \x1b[31mred\x1b]0;title\x07", "C \x9b2J\r!",
               "D \u202egnp.exe", "E :smile: [bold]x"]
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _incident(iid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    data["id"] = iid
    return data


def _run(*args: str) -> Result:
    result = CliRunner().invoke(cli.main, list(args))
    assert "Traceback" not in result.output
    assert not RAW.search(result.output), repr(result.output)  # nothing a terminal would obey
    return result


def _shown(text: str) -> str:
    return terminal_text(text)


@pytest.mark.parametrize("command", ["decide", "explain"])
def test_hostile_ids_are_printed_literally_and_every_incident_is_decided(tmp_path: Path, command: str) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(_incident(i)) + "\n" for i in HOSTILE_IDS), encoding="utf-8")
    result = _run(command, "--rulesets", str(RULESETS), "--policy", POLICY, str(path))
    assert result.exit_code == 0, result.output
    if command == "decide":
        for iid in HOSTILE_IDS:
            assert f"Incident {_shown(iid)} under" in result.stdout
        assert "[/bold] [link=file:///etc/passwd]x[/link]" in result.stdout
        assert "\\u001b[31mred\\u001b]0;title\\u0007" in result.stdout
        assert ":smile: [bold]x" in result.stdout  # no emoji, no markup
    else:
        assert result.stdout.count("APPLIES") >= len(HOSTILE_IDS)


def test_hostile_ids_survive_json_output(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(_incident(i)) + "\n" for i in HOSTILE_IDS), encoding="utf-8")
    result = _run("decide", "--rulesets", str(RULESETS), "--policy", POLICY, "--format", "json", str(path))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["incident_id"] for line in result.stdout.splitlines()] == HOSTILE_IDS


def _ruleset_with_cite(tmp_path: Path, cite: str) -> Path:
    """A copy of the Colorado ruleset whose first rule cites `cite` (and its scenarios, adjusted)."""
    folder = tmp_path / "rulesets" / POLICY
    shutil.copytree(RULESETS / POLICY, folder)
    version = folder / "2021.3.0.yaml"  # the version that judges (it corrects 2021.2.0, same dates)
    text = version.read_text(encoding="utf-8")
    match = re.search(r"^(\s+)cite: (.+)$", text, flags=re.MULTILINE)
    assert match, "the ruleset has a cite"
    old = match.group(2)
    version.write_text(text.replace(match.group(0), f"{match.group(1)}cite: {json.dumps(cite)}", 1), encoding="utf-8")
    for tests in (folder / "tests").glob("*.yaml"):
        tests.write_text(tests.read_text(encoding="utf-8").replace(f"cite: {old}\n", f"cite: {json.dumps(cite)}\n"),
                         encoding="utf-8")
    return tmp_path / "rulesets"


CITE = "crs 1 [/i] [bold red]x"


def test_markup_in_a_cite_is_printed_literally(tmp_path: Path) -> None:
    rulesets = _ruleset_with_cite(tmp_path, CITE)
    checked = _run("check", str(rulesets))
    assert checked.exit_code == 0, checked.output
    decided = _run("decide", "--rulesets", str(rulesets), "--policy", POLICY, str(SAMPLE))
    assert decided.exit_code == 0, decided.output
    explained = _run("explain", "--rulesets", str(rulesets), "--policy", POLICY, str(SAMPLE))
    assert explained.exit_code == 0, explained.output
    assert f"[{CITE}]" in explained.stdout
    tested = _run("test", str(rulesets))
    assert CITE in tested.stdout
    changed = _run("diff", "--rulesets", str(rulesets), str(RULESETS / POLICY / "2021.3.0.yaml"),
                   str(rulesets / POLICY / "2021.3.0.yaml"))
    assert changed.exit_code == 0, changed.output
    assert CITE in changed.stdout
    # the cite may wrap inside the table; its words are all there, brackets and all
    assert "[/i]" in decided.stdout and "[bold red]x" in decided.stdout.replace("\n", " ")


def test_a_line_break_in_ruleset_text_cannot_forge_a_line(tmp_path: Path) -> None:
    """A title, author, cite or summary holding a line break is one line of a text report, folded as the
    Markdown and HTML reports fold it; a file name holding one is shown escaped."""
    rulesets = _ruleset_with_cite(tmp_path, "crs 1\nFAKE: cite")
    version = rulesets / POLICY / "2021.3.0.yaml"
    text = version.read_text(encoding="utf-8")
    for key in ("title", "drafted_by"):
        value = json.dumps("A " + key + "\nFAKE: " + key)
        text = re.sub(rf"^{key}: .*$", lambda _, k=key, v=value: f"{k}: {v}", text, count=1, flags=re.M)
    summary = json.dumps("First.\nFAKE: summary")
    text = re.sub(r"^(\s+)summary: .*$", lambda m: f"{m.group(1)}summary: {summary}", text, count=1, flags=re.M)
    version.write_text(text, encoding="utf-8")
    outputs = {"explain": _run("explain", "--rulesets", str(rulesets), "--policy", POLICY, str(SAMPLE)),
               "test": _run("test", str(rulesets)), "log": _run("log", "--rulesets", str(rulesets), POLICY),
               "score": _run("score", "--rulesets", str(rulesets), f"{POLICY}@2021.3.0")}
    for command, result in outputs.items():
        assert result.exit_code == 0, (command, result.output)
        assert not any(line.startswith("FAKE") for line in result.stdout.splitlines()), (command, result.stdout)
    assert "[crs 1 FAKE: cite]" in outputs["explain"].stdout and "First. FAKE: summary" in outputs["explain"].stdout
    assert "drafted by A drafted_by FAKE: drafted_by" in outputs["log"].stdout
    assert "A title FAKE: title" in outputs["score"].stdout
    folder = tmp_path / "named"
    folder.mkdir()
    (folder / "bad\nFAKE: error.yaml").write_text("ruleset: [\n", encoding="utf-8")
    checked = _run("check", str(folder))
    assert checked.exit_code == 1 and "bad\\u000aFAKE: error.yaml:" in checked.stdout
    assert not any(line.startswith("FAKE") for line in checked.stdout.splitlines())


def test_escapes_in_a_diagnostic_are_shown_not_obeyed(tmp_path: Path) -> None:
    folder = tmp_path / "rs"
    folder.mkdir()
    (folder / "bad.yaml").write_text('ruleset: x\n"evil\\e[2J\\e]0;t\\a[/b]": 1\n', encoding="utf-8")
    result = _run("check", str(folder))
    assert result.exit_code == 1
    assert "bad.yaml:" in result.stdout


def test_escapes_in_a_bad_line_are_shown_not_obeyed(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    bad = {**_incident("x"), "events": [{"type": "no_such_event\x1b[2J[/red]", "at": "2024-01-17T21:02:00-07:00"}]}
    path.write_text(json.dumps(_incident("ok")) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    result = _run("decide", "--rulesets", str(RULESETS), "--policy", POLICY, str(path))
    assert result.exit_code == 1
    assert f"{path}:2:" in result.stderr
    assert "Incident ok under" in result.stdout


@pytest.mark.parametrize("command", ["decide", "explain", "impact"])
def test_escapes_in_the_name_of_an_input_with_a_bad_line_are_shown_not_obeyed(tmp_path: Path, command: str) -> None:
    name = "in\x1b[2J[red]\u202e.jsonl"
    path = tmp_path / name
    path.write_text(json.dumps(_incident("ok")) + "\n{not json\n", encoding="utf-8")
    which = ([f"{POLICY}@2021.1.0", f"{POLICY}@2021.1.0", "--workers", "1"] if command == "impact"
             else ["--policy", POLICY])
    result = _run(command, "--rulesets", str(RULESETS), *which, str(path))
    assert result.exit_code == 1
    assert _shown(f"{path}:2:") in result.stderr


def test_audit_summary_and_impact_text_escape_data(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    bad = {**_incident("\x1b[31mevil[/bold]"), "timezone": "Nowhere/\x1b[2J"}
    path.write_text(json.dumps(_incident("ok")) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    audited = _run("audit", "--rulesets", str(RULESETS), "--policy", POLICY, "--workers", "1", str(path))
    assert audited.exit_code == 0, audited.output
    assert re.search(r"\\(x1b|u001b)", audited.stdout)  # the skipped line is listed, its escape shown
    compared = _run("impact", "--rulesets", str(RULESETS), "--workers", "1", f"{POLICY}@2021.1.0",
                    f"{POLICY}@2021.1.0", str(path))
    assert compared.exit_code == 1
    assert f"{path}:2" in compared.stderr


# --- CSV formula injection ---------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'quoted"]


def _summary(groups: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {"as_of": None, "rulesets": ["r@1"],
            "input": {"format": "jsonl", "rows": 1, "incidents": 1, "skipped_rows": 0, "skipped_incidents": 0,
                      "skipped_reasons": {}, "errors": []},
            "counts": {"by_severity": {"violation": len(FORMULAS)}, "by_rule": {}, "by_check": {},
                       "by_month": {}, "by_group": {"district": groups}},
            "recording_coverage": {"required_seconds": 0, "recorded_seconds": 0, "percent": None, "by_month": {}}}


def test_formula_cells_are_escaped_and_recoverable(tmp_path: Path) -> None:
    findings = [{"incident_id": f, "ruleset": "r@1", "rule": "keep", "cite": "c", "kind": "retain",
                 "check": "no_notice", "severity": "violation", "expected": "x", "actual": "y",
                 "missed_by": "-P1D", "month": "2024-01", "groups": {"district": f}} for f in FORMULAS]
    write_reports(tmp_path, _summary({f: {"violation": 1} for f in FORMULAS}), findings)
    with (tmp_path / "findings.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["incident_id"] for r in rows] == ["'" + f for f in FORMULAS]
    assert [r["group.district"] for r in rows] == ["'" + f for f in FORMULAS]
    assert {r["missed_by"] for r in rows} == {"'-P1D"}
    assert [r["incident_id"][1:] for r in rows] == FORMULAS  # the documented recovery: drop one quote
    with (tmp_path / "summary.csv").open(encoding="utf-8", newline="") as fh:
        summary = list(csv.reader(fh))
    keys = [row[1] for row in summary if row[0] == "group.district"]
    assert sorted(keys) == sorted("'" + f for f in FORMULAS)
    assert all(row[3].isdigit() for row in summary[1:])  # counts stay numbers
    for cell in (c for row in summary for c in row):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_plain_cells_are_unchanged(tmp_path: Path) -> None:
    findings = [{"incident_id": "CO-1", "ruleset": "r@1", "rule": "keep", "cite": "c", "kind": "retain",
                 "check": "no_notice", "severity": "violation", "expected": "x", "actual": "y",
                 "missed_by": "3 days", "month": "2024-01", "groups": {"district": "North 1"}}]
    write_reports(tmp_path, _summary({"North 1": {"violation": 1}}), findings)
    rows = list(csv.DictReader((tmp_path / "findings.csv").open(encoding="utf-8", newline="")))
    assert (rows[0]["incident_id"], rows[0]["group.district"], rows[0]["missed_by"]) == ("CO-1", "North 1", "3 days")
