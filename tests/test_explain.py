"""`explain` tells the decision `decide` makes: the same version, the same layers, the same refusals.

It once explained the selected version's rules alone, as if in force: an incident dated before the
ruleset took effect read "APPLIES" where `decide` decided nothing, the rules of the versions a
layered ruleset extends (half of its obligations) were never explained, an incident whose dates run
past the calendar was explained where `decide` refused it, and `--format json` of many incidents
never said which incident each explanation was for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

from engine.api import CalendarOverflow, IncidentError, Library

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
LAYERED = ROOT / "examples" / "layered"
IL = "illinois-50-ilcs-706-10-20"


def _example(family: str) -> dict[str, Any]:
    name = "colorado-complaint.json" if family == "colorado-24-31-902" else f"{family}.json"
    data: dict[str, Any] = json.loads((ROOT / "examples" / name).read_text(encoding="utf-8"))
    return data


def _moved(data: dict[str, Any], year: int) -> dict[str, Any]:
    """The incident with every event moved to `year` (29 February kept only where it exists)."""
    events = [{**e, "at": f"{year}{e['at'][4:]}".replace(f"{year}-02-29", f"{year}-02-28")
               if year % 4 else f"{year}{e['at'][4:]}"} for e in data["events"]]
    return {**data, "events": events}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(str(RULESETS), str(LAYERED))


FAMILIES = sorted(p.name for p in RULESETS.iterdir() if (p / "tests").is_dir() and p.name != "README.md")


@pytest.mark.parametrize("year", [2010, 2019, 2022, 2024, 2026])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_obligation_is_explained_by_a_rule_that_applies(library: Library, family: str, year: int) -> None:
    """Every obligation of the decision comes from a rule the explanation shows applying, in a version it
    shows in effect (or an amendment or conduct layer); and the explanation is of the same version."""
    data = _moved(_example(family), year)
    try:
        decision = library.decide(family, data)
    except (IncidentError, CalendarOverflow):
        pytest.skip("this incident cannot be decided in that year")
    explanation = library.explain(family, data)
    assert explanation.ruleset == f"{decision.ruleset.id}@{decision.ruleset.version}"
    assert explanation.digest == decision.ruleset.digest and explanation.in_force == decision.in_force
    assert explanation.incident_id == decision.incident_id and explanation.as_of == decision.as_of
    assert [(f"{lay.id}@{lay.version}", lay.role, lay.in_force) for lay in decision.layers] == \
        [(lay.ruleset, lay.role, lay.in_force) for lay in explanation.layers]
    applying = {r.rule for r in explanation.rules if r.fired and explanation.in_force}
    for layer in explanation.layers:
        applying |= {r.rule for r in layer.rules if r.fired and layer.in_force}
    assert {o.rule for o in decision.obligations} <= applying


def test_a_version_not_in_effect_is_said_and_no_rule_applies(tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    before.write_text(json.dumps(_moved(_example(IL), 2010)), encoding="utf-8")
    args = ["--rulesets", str(RULESETS), "--policy", IL, str(before)]
    code, decided, _ = run_cli(["decide", *args])
    assert code == 0 and "not in effect" in decided and "No obligations apply." in decided
    code, explained, _ = run_cli(["explain", *args])
    assert code == 0 and "This ruleset was not in effect on the incident's first day" in explained
    assert "APPLIES" not in explained and "its conditions hold, but the ruleset was not in effect" in explained
    code, out, _ = run_cli(["explain", *args, "--format", "json"])
    assert code == 0 and json.loads(out)["in_force"] is False


def test_an_incident_decide_refuses_is_refused_by_explain_alike(tmp_path: Path) -> None:
    late = tmp_path / "late.json"
    late.write_text(json.dumps(_moved(_example(IL), 9999)), encoding="utf-8")
    args = ["--rulesets", str(RULESETS), "--policy", IL, str(late)]
    code, _, decided = run_cli(["decide", *args])
    assert code == 1 and "falls outside years 1 to 9999" in decided
    code, out, explained = run_cli(["explain", *args])
    assert code == 1 and out == "" and explained == decided and "Traceback" not in explained


def test_a_layered_ruleset_explains_the_rules_of_the_version_it_extends() -> None:
    code, out, _ = run_cli(["explain", "--rulesets", str(RULESETS), "--rulesets", str(LAYERED), "--policy",
                            "example-city-il", str(LAYERED / "incident.json")])
    assert code == 0
    head, _, base = out.partition(f"Rules of {IL}@")
    assert "keep-90-days" not in head and "✓ keep-90-days: APPLIES" in base  # the statute's rule, under its own heading
    assert "✓ delete-unflagged-after-60-days: APPLIES" in head


def test_json_names_the_incident_each_explanation_is_for(tmp_path: Path) -> None:
    export = tmp_path / "two.jsonl"
    one = _example(IL)
    lines = (json.dumps({**one, "id": i}) for i in ("A-1", "\u001b[31mB-2"))
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run_cli(["explain", "--rulesets", str(RULESETS), "--policy", IL, "--format", "json", str(export)])
    assert code == 0
    read = [json.loads(line) for line in out.splitlines()]
    assert [x["incident_id"] for x in read] == ["A-1", "\u001b[31mB-2"]  # JSON escapes it: \u001b
    assert "\x1b" not in out and all(x["ruleset"].startswith(f"{IL}@") and x["rules"] for x in read)
    code, text, _ = run_cli(["explain", "--rulesets", str(RULESETS), "--policy", IL, str(export)])
    assert code == 0 and "Incident A-1 under" in text and "Incident \\u001b[31mB-2 under" in text


def test_a_bad_event_row_of_a_csv_is_named_by_its_own_line(tmp_path: Path) -> None:
    """decide, explain, audit and import name the row of the event that is wrong, not the incident's first
    row (each event of a CSV export is a row of its own)."""
    export = tmp_path / "g.csv"
    code, _, err = run_cli(["generate", "--rulesets", str(RULESETS), "--policy", IL, "--incidents", "2", "--seed", "1",
                            str(export)])
    assert code == 0, err
    lines = export.read_text(encoding="utf-8").splitlines()
    at = lines[0].split(",").index("at")
    cells = lines[4].split(",")
    assert cells[0] == lines[1].split(",")[0]  # line 5 is the fourth event of the incident starting on line 2
    cells[at] = "2023-02-29T10:00:00-06:00"
    lines[4] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    said = f"{bad}:5: incident {cells[0]}: events[3].at: `2023-02-29T10:00:00-06:00` is not a time of the calendar"
    for command in ("decide", "explain"):
        code, _, err = run_cli([command, "--rulesets", str(RULESETS), "--policy", IL, str(bad)])
        assert code == 1 and said in err, (command, err)
    code, _, err = run_cli(["import", "--rulesets", str(RULESETS), "--store", f"sqlite:///{tmp_path / 'bwc.db'}",
                            "--policy", IL, str(bad)], cwd=tmp_path)
    assert code == 1 and f"{bad}:5: " in err and "is not a time of the calendar" in err, err
    code, _, err = run_cli(["audit", "--rulesets", str(RULESETS), "--policy", IL, "--out", str(tmp_path / "report"),
                            str(bad)])
    assert code == 0, err
    errors = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))["input"]["errors"]
    assert [e["line"] for e in errors] == [5]


def test_event_checks_read_as_english() -> None:
    code, out, _ = run_cli(["explain", "--rulesets", str(RULESETS), "--policy", "colorado-24-31-902",
                            str(ROOT / "examples" / "colorado-complaint.json")])
    assert code == 0
    assert "an anticipated_force_task event" in out and "a anticipated" not in out
    assert "a complaint_filed event" in out
