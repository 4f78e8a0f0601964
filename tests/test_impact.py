"""`bwc impact`: decisions under two versions, compared; expected counts worked out by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.api import Library
from engine.cli import main
from engine.cli.text.impact import render_markdown, render_text
from engine.tools.impact import Side, compare_days, impact
from engine.tools.impact.compare import Comparer
from engine.tools.impact.report import ImpactTally
from policy.vocabulary import Spec, ValueType, core

ROOT = Path(__file__).resolve().parent.parent
IL = "illinois-50-ilcs-706-10-20"
A, B = f"{IL}@2016.1.0", f"{IL}@2021.1.0"


def _inc(iid: str, *events: tuple[str, str, dict[str, Any]], **facts: Any) -> str:
    return json.dumps({"id": iid, "timezone": "America/Chicago", "facts": {"in_uniform": True, **facts},
                       "events": [{"type": t, "at": at, **attrs} for t, at, attrs in events]})


DISPATCHED = ("dispatched", "2024-02-20T13:00:00-06:00", {})
SHOT = ("firearm_discharged", "2024-02-20T13:10:00-06:00", {})
ENDED = ("encounter_ended", "2024-02-20T13:40:00-06:00", {})
REPORT = ("report_completed", "2024-02-20T16:00:00-06:00", {})

IL_LINES = [
    # 1: a shooting, report not yet written: the 2021 ban on review before the report is added, sets aside
    #    the permission to review (its window is still open), and contradicts it.
    _inc("shot", DISPATCHED, SHOT, ENDED),
    # 2: nothing the amendment touches.
    _inc("plain", DISPATCHED, ENDED),
    # 3: a shooting, report written: the ban covers only the time before the report (a suspension).
    _inc("shot-report", DISPATCHED, SHOT, ENDED, REPORT),
    "",
    "{not json",
    # 6: a fact only the 2021 version declares: refused under 2016.
    _inc("court", DISPATCHED, ENDED, location_type="courthouse", facility_camera_system_working=True),
    # 7: an event type neither version knows: refused under both.
    _inc("unknown", DISPATCHED, ("teleported", "2024-02-20T13:05:00-06:00", {})),
    "[1, 2]",
]


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


def _file(tmp_path: Path, lines: list[str], name: str = "incidents.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _il_report(library: Library, tmp_path: Path, workers: int = 1) -> Any:
    return impact(Side.of([ROOT / "rulesets"], A), Side.of([ROOT / "rulesets"], B), _file(tmp_path, IL_LINES),
                  workers=workers, library=library)


def test_illinois_amendment_counts(library: Library, tmp_path: Path) -> None:
    report = _il_report(library, tmp_path)
    t = report.tally
    # `court` (a fact only 2021 declares) is refused under A: reported as such, not as a change.
    assert (t.incidents, t.changed, t.errors) == (3, 2, 3)
    assert {k: v for k, v in t.by_kind.items()} == {
        "obligation added: access": ["shot", "shot-report"],
        "conflict added": ["shot", "shot-report"],
        "access: now overridden": ["shot"],
        "access: suspension changed": ["shot-report"],
    }
    assert t.refused == {"A only": {"unknown fact `facility_camera_system_working`": ["court"]}}
    assert [b.line for b in t.bad] == [5, 7, 8]
    assert "not valid JSON" in t.bad[0].message
    assert "teleported" in t.bad[1].message and " / " not in t.bad[1].message  # said once, not per version
    assert "JSON object" in t.bad[2].message
    data = report.to_dict()
    added = data["changes"]["obligation added: access"]
    assert (added["incidents"], added["ids"]) == (2, ["shot", "shot-report"])
    assert added["rules"] == {"no-review-after-shooting-or-serious-force": 2}
    assert added["examples"][0] == {"incident": "shot", "detail": "rule no-review-after-shooting-or-serious-force: "
                                                                  "applies under B only (must_not access)"}
    assert list(data["changes"])[:2] == ["conflict added", "obligation added: access"]  # most first, then by name
    assert data["refused"]["A only"] == {"incidents": 1, "reasons": {
        "unknown fact `facility_camera_system_working`": {"incidents": 1, "ids": ["court"]}}}
    assert data["refused"]["B only"] == {"incidents": 0, "reasons": {}}
    text = render_text(report)
    assert "2 decisions change, 1 do not; 1 refused under A only; 3 bad line(s)" in text and "line 7:" in text
    assert "Refused under A only (1): read and decided under B only" in text
    assert "unknown fact `facility_camera_system_working` (1): court" in text
    assert "| unknown fact \\`facility\\_camera\\_system\\_working\\` | 1 |" in render_markdown(report)


def test_keeping_the_dates_shows_that_only_one_version_was_in_force(library: Library, tmp_path: Path) -> None:
    stream = _file(tmp_path, [_inc("plain", DISPATCHED, ENDED)])
    report = impact(Side.of([ROOT / "rulesets"], A, dates=True), Side.of([ROOT / "rulesets"], B, dates=True),
                    stream, workers=1, library=library)
    assert "in force changed" in report.tally.by_kind
    assert "obligation added: record" in report.tally.by_kind


V1 = """\
ruleset: hand
version: {version}
title: Hand-made ruleset for the impact tests
status: adopted
effective: {{from: 2020-01-01}}
timezone: America/Chicago
drafted_by: tests
sources: [{{id: t, title: test source}}]
rules:
  - id: keep
    summary: Keep footage.
    cite: t 1
    retain: {{at_least: {keep}, after: incident}}
  - id: release
    summary: Release to the subject on request.
    cite: t 2
    on: records_request
    release: {{effect: must, to: subject, within: {release}, after: records_request}}
  - id: rec
    summary: Record contacts.
    cite: t 3
    on: contact_initiated
    record: {{effect: {effect}, until: {until}}}
"""
GONE = """\
  - id: gone
    summary: Supervisors may review.
    cite: t 4
    access: {effect: may, role: supervisor}
"""


def test_hand_made_versions_as_files(tmp_path: Path) -> None:
    old = tmp_path / "hand-1.yaml"
    new = tmp_path / "hand-2.yaml"
    old.write_text(V1.format(version="1.0.0", keep="P90D", release="P30D", effect="must", until="encounter_ended")
                   + GONE)
    new.write_text(V1.format(version="2.0.0", keep="P1Y", release="P10D", effect="may", until="left_scene"))
    lines = tmp_path / "incidents.jsonl"
    contact = ("contact_initiated", "2024-01-10T10:00:00-06:00", {})
    ended = ("encounter_ended", "2024-01-10T10:30:00-06:00", {})
    request = ("records_request", "2024-01-11T09:00:00-06:00", {"requester": "subject"})
    lines.write_text(_inc("x", contact, ended, request) + "\n" + _inc("y", contact, ended) + "\n")
    rulesets = [ROOT / "rulesets"]
    report = impact(Side.of(rulesets, str(old)), Side.of(rulesets, str(new)), lines, workers=1)
    both, only_x = ["x", "y"], ["x"]
    assert report.tally.by_kind == {
        "retain: retain until later": both,        # 2024-04-09 -> 2025-01-10
        "retention minimum later": both,
        "record: effect changed": both,            # must -> may
        "record: window changed": both,            # until encounter_ended -> until left_scene (pending)
        "obligation removed: access": both,
        "release: deadline earlier": only_x,       # 2024-02-10 -> 2024-01-21
        "release deadline earlier": only_x,
    }
    assert (report.tally.incidents, report.tally.changed, report.tally.errors) == (2, 2, 0)


def test_the_same_version_changes_nothing(library: Library, tmp_path: Path) -> None:
    stream = _file(tmp_path, IL_LINES[:3])
    report = impact(Side.of([ROOT / "rulesets"], B), Side.of([ROOT / "rulesets"], B), stream, workers=1,
                    library=library)
    assert (report.tally.incidents, report.tally.changed, report.tally.by_kind) == (3, 0, {})


def test_workers_give_the_same_report(library: Library, tmp_path: Path) -> None:
    # Enough lines for several chunks, so that two worker processes share them.
    path = tmp_path / "many.jsonl"
    with path.open("w") as fh:
        for k in range(1000):
            line = IL_LINES[k % len(IL_LINES)]
            fh.write(line.replace('"id": "', f'"id": "{k}-', 1) + "\n")
    one = impact(Side.of([ROOT / "rulesets"], A), Side.of([ROOT / "rulesets"], B), path, workers=1, library=library)
    two = impact(Side.of([ROOT / "rulesets"], A), Side.of([ROOT / "rulesets"], B), path, workers=2, library=library)
    assert one.to_dict() == two.to_dict()
    assert one.tally.incidents == 375 and one.tally.errors == 375
    assert one.tally.refused_incidents["A only"] == 125
    assert [b.line for b in two.tally.bad[:3]] == [5, 7, 8]


def test_ids_given_more_than_once_are_said_with_their_lines(library: Library, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunks of two lines, so that the copies of an id fall in different chunks and workers.
    monkeypatch.setattr("engine.tools.impact.compare.CHUNK", 2)
    hostile = "<img src=x onerror=alert(1)>=1+1"
    lines = [*IL_LINES, IL_LINES[0], _inc(hostile, DISPATCHED, ENDED), IL_LINES[6], IL_LINES[0],
             _inc(hostile, DISPATCHED, SHOT, ENDED)]
    path = _file(tmp_path, lines)
    one, two = (impact(Side.of([ROOT / "rulesets"], A), Side.of([ROOT / "rulesets"], B), path, workers=w,
                       library=library) for w in (1, 2))
    assert one.to_dict() == two.to_dict()
    assert (one.tally.incidents, one.tally.errors) == (7, 4)  # each copy decided (or refused), as given
    # Read is counted as given: `unknown`, which both versions refuse, repeats too.
    assert one.to_dict()["repeated_ids"] == {"ids": 3, "incidents": 7, "examples": [
        {"incident": hostile, "count": 2, "places": [{"line": 10}, {"line": 13}]},
        {"incident": "shot", "count": 3, "places": [{"line": 1}, {"line": 9}, {"line": 12}]},
        {"incident": "unknown", "count": 2, "places": [{"line": 7}, {"line": 11}]},
    ]}
    text = render_text(one)
    assert ("Incident ids given more than once (3 ids, 7 incidents in all; each copy counted as given):\n"
            f"  {hostile} (2): line 10, line 13\n  shot (3): line 1, line 9, line 12\n") in text
    markdown = render_markdown(one)
    assert "### Incident ids given more than once (3 ids, 7 incidents in all" in markdown
    assert "- \\<img src=x onerror=alert(1)\\>=1+1 (2): line 10, line 13\n" in markdown
    assert re.search(r"(?<!\\)<img", markdown) is None  # escaped: shown as text, never a tag
    clean = impact(Side.of([ROOT / "rulesets"], A), Side.of([ROOT / "rulesets"], B), _file(tmp_path, IL_LINES[:3]),
                   workers=1, library=library)
    assert clean.to_dict()["repeated_ids"] == {"ids": 0, "incidents": 0, "examples": []}
    assert "more than once" not in render_text(clean) + render_markdown(clean)
    # A JSON document on one line: its elements share line 1, told apart by column.
    document = tmp_path / "one-line.json"
    document.write_text("[" + ", ".join([IL_LINES[1], IL_LINES[1]]) + "]", encoding="utf-8")
    on_one_line = impact(Side.of([ROOT / "rulesets"], A), Side.of([ROOT / "rulesets"], B), document, workers=1,
                         library=library)
    second = 2 + len(IL_LINES[1]) + 2
    assert f"  plain (2): line 1 column 2, line 1 column {second}\n" in render_text(on_one_line)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("2024-01-01", "2024-01-02", "later"), ("2024-01-02", "2024-01-01", "earlier"),
    ("2024-01-01", "indefinite", "later"), ("indefinite", "2024-01-01", "earlier"),
    (None, "2024-01-01", "added"), ("2024-01-01", None, "removed"), ("2024-01-01", "2024-01-01", None),
])
def test_compare_days(a: str | None, b: str | None, expected: str | None) -> None:
    from datetime import date

    def day(x: str | None) -> Any:
        return date.fromisoformat(x) if x and x[0].isdigit() else x

    assert compare_days(day(a), day(b)) == expected


def test_cli(tmp_path: Path) -> None:
    path = tmp_path / "il.jsonl"
    path.write_text("\n".join(IL_LINES) + "\n")
    result = CliRunner().invoke(main, ["impact", A, B, str(path), "--rulesets", str(ROOT / "rulesets"),
                                       "--format", "json", "--workers", "1"])
    assert result.exit_code == 1  # bad lines
    data = json.loads(result.stdout)
    assert (data["incidents"], data["changed"], data["errors"]) == (3, 2, 3)
    assert f"{path}:5:" in result.stderr and "not valid JSON" in result.stderr
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(IL_LINES[:3]) + "\n")
    result = CliRunner().invoke(main, ["impact", A, B, str(good), "--rulesets", str(ROOT / "rulesets")])
    assert result.exit_code == 0 and "2 decisions change, 1 do not" in result.stdout
    result = CliRunner().invoke(main, ["impact", f"{IL}@9.9.9", B, str(good), "--rulesets", str(ROOT / "rulesets")])
    assert result.exit_code == 1 and "has no version `9.9.9`" in result.output


def test_cli_reads_an_export_by_its_stated_format(tmp_path: Path) -> None:
    # `--format` of impact is the report's: the input's is `--input-format`, as for every command.
    path = tmp_path / "il.txt"
    path.write_text("\n".join(IL_LINES[:3]) + "\n")
    args = ["impact", A, B, str(path), "--rulesets", str(ROOT / "rulesets"), "--workers", "1"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "give --input-format" in refused.output and "Traceback" not in refused.output
    result = CliRunner().invoke(main, [*args, "--input-format", "jsonl"])
    assert result.exit_code == 0 and "2 decisions change, 1 do not" in result.stdout


def test_an_incident_is_read_once_for_both_only_where_the_narrower_vocabulary_fits_the_other(
        library: Library) -> None:
    old, new = library.select(A), library.select(B)
    # 2021 declares what 2016 does, and more: what 2016 accepts, 2021 accepts as it is; not the reverse.
    assert old.program.vocabulary.reads_within(new.program.vocabulary)
    assert not new.program.vocabulary.reads_within(old.program.vocabulary)
    assert Comparer(old, new).reader is old and Comparer(new, old).reader is old

    def tally(reader_first: bool) -> dict[str, Any]:
        comparer = Comparer(old, new)
        if not reader_first:
            comparer.reader = None  # each version reads every incident itself
        t = ImpactTally()
        for line, text in enumerate(IL_LINES, 1):
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                continue
            comparer.one(data, t, line)
        return {"incidents": t.incidents, "changed": t.changed, "by_kind": t.by_kind, "rules": t.rules,
                "examples": t.examples, "refused": t.refused, "bad": [b.to_dict() for b in t.bad]}

    assert tally(True) == tally(False)
    assert tally(True)["incidents"] == 3 and tally(True)["refused"]  # the 2021-only fact: B only


def test_a_vocabulary_whose_values_differ_is_not_read_within_another() -> None:
    base = core()
    wider = base.extended({"shift": Spec(type=ValueType.ENUM, values=("day", "night"))}, {}, {})
    narrower_values = wider.extended({"shift": Spec(type=ValueType.ENUM, values=("day",))}, {}, {})
    assert base.reads_within(wider) and not wider.reads_within(base)
    assert narrower_values.reads_within(wider) is False  # a value set that differs: read again
    ranged = base.extended({"officers": Spec(type=ValueType.INTEGER, minimum=1)}, {}, {})
    unranged = base.extended({"officers": Spec(type=ValueType.INTEGER)}, {}, {})
    assert not ranged.reads_within(unranged) and not unranged.reads_within(ranged)
