"""Issue 9 in `bwc impact`: refused incidents are not changes, each change says why, the one reader
(what `bwc generate` writes, `.json`), per-record isolation, empty input, data as literal text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_diff import assert_inert_markdown

from engine.api import Library, Policy
from engine.cli.text.impact import render_markdown, render_text
from engine.core.incident import Incident
from engine.io.export import ExportError
from engine.tools.generate import generate
from engine.tools.impact import Side, impact, render_json
from engine.tools.impact.unchanged import Unchanged

ROOT = Path(__file__).resolve().parent.parent
RULESETS = [ROOT / "rulesets"]
IL = "illinois-50-ilcs-706-10-20"
A, B = f"{IL}@2016.1.0", f"{IL}@2021.1.0"


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(*RULESETS)


def _incident(iid: str, *types: str, **facts: Any) -> dict[str, Any]:
    times = ("2024-02-20T13:00:00-06:00", "2024-02-20T13:10:00-06:00", "2024-02-20T13:40:00-06:00")
    return {"id": iid, "timezone": "America/Chicago", "facts": {"in_uniform": True, **facts},
            "events": [{"type": t, "at": at} for t, at in zip(types, times, strict=False)]}


SHOT = ("dispatched", "firearm_discharged", "encounter_ended")
PLAIN = ("dispatched", "encounter_ended")


def _write(path: Path, incidents: list[Any]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in incidents), encoding="utf-8")
    return path


def _run(library: Library, path: Path, a: str = A, b: str = B, **kw: Any) -> Any:
    return impact(Side.of(RULESETS, a), Side.of(RULESETS, b), path, workers=1, library=library, **kw)


def test_incidents_refused_under_one_version_are_not_changes(library: Library, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", [
        _incident("shot", *SHOT),
        _incident("court-1", *PLAIN, facility_camera_system_working=True),  # only 2021 declares the fact
        _incident("court-2", *PLAIN, facility_camera_system_working=False),
    ])
    report = _run(library, path)
    t = report.tally
    assert (t.incidents, t.changed, t.errors) == (1, 1, 0)
    assert t.refused_incidents == {"A only": 2}
    assert not any("refused" in label for label in t.by_kind)
    # The other way round, the same incidents are refused under B only.
    back = _run(library, path, B, A)
    assert back.tally.refused == {"B only": {"unknown fact `facility_camera_system_working`": ["court-1", "court-2"]}}
    text = render_text(report)
    assert "1 decisions change, 0 do not; 2 refused under A only" in text
    assert "unknown fact `facility_camera_system_working` (2): court-1, court-2" in text


def test_each_kind_of_change_says_why(library: Library, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", [_incident("shot", *SHOT)])
    data = json.loads(render_json(_run(library, path)))
    added = data["changes"]["obligation added: access"]
    assert added["rules"] == {"no-review-after-shooting-or-serious-force": 1}
    assert added["examples"] == [{"incident": "shot", "detail": "rule no-review-after-shooting-or-serious-force: "
                                                                "applies under B only (must_not access)"}]
    overridden = data["changes"]["access: now overridden"]["examples"][0]["detail"]
    assert overridden.startswith("rule ") and "now set aside by no-review-after-shooting-or-serious-force" in overridden
    text = render_text(_run(library, path))
    assert "  rules: no-review-after-shooting-or-serious-force (1)" in text
    assert "  e.g. shot: rule no-review-after-shooting-or-serious-force: applies under B only" in text


HAND = """\
ruleset: hand
version: {version}
title: Hand-made ruleset for the impact tests
status: adopted
effective: {{from: 2020-01-01}}
timezone: America/Chicago
drafted_by: tests
sources: [{{id: t, title: test source}}]
rules:
  - id: flag-retention
    summary: Keep footage.
    cite: t 1
    retain: {{at_least: {keep}, after: incident}}
"""


def test_a_moved_date_names_the_rule_and_both_dates(tmp_path: Path) -> None:
    old, new = tmp_path / "hand-1.yaml", tmp_path / "hand-2.yaml"
    old.write_text(HAND.format(version="1.0.0", keep="P1Y"))
    new.write_text(HAND.format(version="2.0.0", keep="P2Y"))
    path = _write(tmp_path / "x.jsonl", [_incident("x", *PLAIN)])
    report = impact(Side.of(RULESETS, str(old)), Side.of(RULESETS, str(new)), path, workers=1)
    assert report.tally.examples["retain: retain until later"] == [
        ("x", "retention of rule flag-retention: at least until 2025-02-20 → 2026-02-20")]
    assert report.tally.examples["retention minimum later"] == [("x", "keep at least until 2025-02-20 → 2026-02-20")]


def test_impact_reads_what_generate_writes(library: Library, tmp_path: Path) -> None:
    export = tmp_path / "generated.jsonl"
    generate(library, IL, export, incidents=40, seed=3)
    assert '"groups":' in export.read_text()
    # The generator draws from every version's names, so compare under the version that judges what it
    # writes (2021.2.0, the corrected reading, declares `community_caretaking`; 2021.1.0 does not).
    judged = f"{IL}@2021.2.0"
    report = _run(library, export, judged, judged)
    assert (report.tally.incidents, report.tally.errors, report.tally.changed) == (40, 0, 0)
    csv = tmp_path / "generated.csv"
    generate(library, IL, csv, incidents=40, seed=3)
    assert _run(library, csv, judged, judged).tally.incidents == 40


def test_impact_reads_a_json_document(library: Library, tmp_path: Path) -> None:
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps([_incident("shot", *SHOT), _incident("plain", *PLAIN)]))
    assert _run(library, path).tally.incidents == 2


def test_any_failure_of_one_record_is_reported_and_the_run_goes_on(library: Library, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = Policy.decide

    def decide(self: Policy, incident: Any, *args: Any, **kwargs: Any) -> Any:
        iid = incident.get("id") if isinstance(incident, dict) else getattr(incident, "id", None)  # data or read
        if iid == "boom":
            raise RecursionError("maximum recursion depth exceeded")
        return real(self, incident, *args, **kwargs)

    monkeypatch.setattr(Policy, "decide", decide)
    same = Unchanged.same

    def fails_too(self: Unchanged, incident: Incident) -> bool:
        # The shortcut that tells alike decisions from the firings fails as well: the incident is then
        # decided, and that failure is the one reported.
        if incident.id == "boom":
            raise RecursionError("maximum recursion depth exceeded")
        return same(self, incident)

    monkeypatch.setattr(Unchanged, "same", fails_too)
    late = _incident("late", *PLAIN)
    late["events"] = [{"type": "dispatched", "at": "9999-12-31T10:00:00-06:00"}]  # 90 days later: past 9999
    path = _write(tmp_path / "x.jsonl", [_incident("boom", *PLAIN), late, _incident("shot", *SHOT)])
    report = _run(library, path)
    assert report.tally.incidents == 1
    assert [(b.line, b.incident) for b in report.tally.bad] == [(1, "boom"), (2, "late")]
    assert "internal error: RecursionError" in report.tally.bad[0].message
    assert "9999" in report.tally.bad[1].message


def test_an_empty_input_is_said_unless_allowed(library: Library, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ExportError, match="--allow-empty"):
        _run(library, empty)
    assert _run(library, empty, allow_empty=True).tally.incidents == 0


def test_data_is_literal_text_in_text_and_markdown(library: Library, tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)> *b* [/bold] \x1b[2J|"
    refused = _incident("court\x1b]0;t\x07", *PLAIN, facility_camera_system_working=True)
    path = _write(tmp_path / "x.jsonl", [_incident(evil, *SHOT), refused])
    report = _run(library, path)
    text = render_text(report)
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[2J" in text
    md = render_markdown(report)
    # escaped as every Markdown output escapes data (policy.markdown): shown as written, nothing live
    assert "\\<img" in md and "\\*b\\*" in md and "\\[/bold\\]" in md and "\\|" in md and "\x1b" not in md
    assert_inert_markdown(md, "<img src=x onerror=alert(1)> *b* [/bold] \\x1b[2J|")


def test_a_side_named_by_its_id_alone_is_reported_as_the_version_it_stands_for(library: Library,
                                                                                  tmp_path: Path) -> None:
    # The report said `… → illinois-50-ilcs-706-10-20`: which version was compared was not said anywhere.
    path = _write(tmp_path / "e.jsonl", [_incident("I-1", *SHOT)])
    newest = library.repository.versions(IL)[-1]
    report = _run(library, path, A, IL)
    assert (report.a, report.b) == (A, f"{IL}@{newest}")
    assert json.loads(render_json(report))["b"] == f"{IL}@{newest}"
    assert f"{A} → {IL}@{newest}:" in render_text(report)
    assert _run(library, path, A, str(ROOT / "rulesets" / IL / "2021.1.0.yaml")).b.endswith("2021.1.0.yaml")
