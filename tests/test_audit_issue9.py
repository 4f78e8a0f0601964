"""Issue 9 in the audit: one version chooser, one as-of resolver, per-record isolation, the report
folder checked before work and replaced only when ours, empty input said, data shown as literal text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import engine.audit.runner
from engine.api import Library, OutputError, resolve_as_of
from engine.audit import Auditor, audit_incident, run_audit
from engine.cli.text.audit import summary_text
from engine.core.incident import IncidentError
from engine.io.export import ExportError, parse_unit

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
CORPUS = ROOT / "tests" / "corpus" / "audit"
IL = "illinois-50-ilcs-706-10-20"


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(RULESETS)


def _incident(iid: str, day: str = "2020-03-02", **facts: Any) -> dict[str, Any]:
    return {"id": iid, "timezone": "America/Chicago", "facts": {"in_uniform": True, **facts},
            "events": [{"type": "dispatched", "at": f"{day}T10:00:00-06:00"},
                       {"type": "encounter_ended", "at": f"{day}T10:20:00-06:00"}]}


def _write(path: Path, incidents: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in incidents), encoding="utf-8")
    return path


# --- item 3: audit and decide judge an incident by the same version, read by its vocabulary ------------

def test_audit_refuses_what_decide_refuses(library: Library, tmp_path: Path) -> None:
    # A 2020 incident is judged by the 2016 version, which does not declare this fact (2021 does).
    late_fact = _incident("uses-2021-fact", facility_camera_system_working=True)
    with pytest.raises(IncidentError, match="facility_camera_system_working"):
        library.decide(IL, late_fact)
    with pytest.raises(IncidentError, match="facility_camera_system_working"):
        audit_incident(library, IL, late_fact)
    export = _write(tmp_path / "x.jsonl", [late_fact, _incident("plain")])
    inp = run_audit([RULESETS], IL, export, workers=1, library=library).summary["input"]
    assert (inp["incidents"], inp["skipped_incidents"]) == (1, 1)
    assert inp["errors"][0]["incident"] == "uses-2021-fact"
    assert "unknown fact `facility_camera_system_working`" in inp["errors"][0]["message"]


def test_one_version_chooser(library: Library) -> None:
    inc, policy = library.read(IL, _incident("a"))
    # 2016.2.0 and 2021.2.0 correct 2016.1.0 and 2021.1.0 on the same dates, and 2016.3.0 and 2021.3.0
    # correct them in turn: the newest corrections judge.
    assert policy.program.ruleset.version == "2016.3.0" and inc.id == "a"
    inc, policy = library.read(IL, _incident("b", "2022-03-02", facility_camera_system_working=True))
    assert policy.program.ruleset.version == "2021.3.0"
    _, policy = library.read(f"{IL}@2021.1.0", _incident("c"))  # pinned: judges everything
    assert policy.program.ruleset.version == "2021.1.0"
    auditor = Auditor(library, IL)
    assert auditor.audit(_incident("d")).rulesets[0] == f"{IL}@2016.3.0"


# --- the as-of resolver ------------------------------------------------------------------------------

def test_resolve_as_of_text() -> None:
    assert resolve_as_of(None) is None
    assert resolve_as_of("2024-03-01T10:00:00-06:00") == datetime.fromisoformat("2024-03-01T10:00:00-06:00")
    now = resolve_as_of("now")
    assert now is not None and now.tzinfo is not None and abs((datetime.now(UTC) - now).total_seconds()) < 5
    for bad in ("2024-03-01T10:00:00", "20240301T100000Z", "yesterday", "9999-12-31T23:00:00-06:00"):
        with pytest.raises(IncidentError) as err:
            resolve_as_of(bad)
        assert err.value.problems[0].field == "--as-of"


def test_resolve_as_of_against_an_incident(library: Library) -> None:
    inc, _ = library.read(IL, _incident("a"))
    assert resolve_as_of(None, inc) == inc.events[-1].at
    assert resolve_as_of("2024-01-01T00:00:00Z", inc) == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(IncidentError, match="offset"):
        resolve_as_of(datetime(2024, 1, 1), inc)
    with pytest.raises(IncidentError) as err:
        resolve_as_of("2024-01-01", inc)
    assert err.value.problems[0].incident == "a"


# --- item 6: parsing inside the per-record guard -----------------------------------------------------

def test_any_exception_while_parsing_one_record_is_a_row_error(library: Library, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    export = _write(tmp_path / "x.jsonl", [_incident("one"), _incident("two"), _incident("three")])
    real = parse_unit

    def parse(parser: Any, unit: Any) -> Any:
        if '"two"' in unit.text:
            raise RecursionError("maximum recursion depth exceeded")  # what JSON nested 100k deep did
        return real(parser, unit)

    monkeypatch.setattr(engine.audit.runner, "parse_unit", parse)
    inp = run_audit([RULESETS], IL, export, workers=1, library=library).summary["input"]
    assert (inp["incidents"], inp["skipped_rows"]) == (2, 1)
    assert inp["errors"][0]["line"] == 2 and "RecursionError" in inp["errors"][0]["message"]


def test_dates_past_the_calendar_are_a_row_error(library: Library, tmp_path: Path) -> None:
    # Late on 9999-12-31 (the 90-day retention runs past year 9999) and early on 0001-01-01.
    late, early = _incident("late", "9999-12-31"), _incident("early", "0001-01-01")
    early["events"] = [{"type": "dispatched", "at": "0001-01-01T00:10:00+00:00"},
                       {"type": "encounter_ended", "at": "0001-01-01T00:30:00+00:00"}]
    export = _write(tmp_path / "x.jsonl", [late, _incident("fine"), early])
    for workers in (1, 2):
        inp = run_audit([RULESETS], IL, export, workers=workers, library=library).summary["input"]
        assert inp["incidents"] == 1
        assert [(e["line"], e["incident"]) for e in inp["errors"]] == [(1, "late"), (3, "early")]
        assert all("9999" in e["message"] for e in inp["errors"])


# --- item 1: the report folder ------------------------------------------------------------------------

def test_a_folder_that_is_not_a_report_is_refused_before_anything_is_read(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    export = _write(folder / "export.jsonl", [_incident("one")])
    (folder / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(OutputError, match="did not write"):
        run_audit([RULESETS], IL, export, out_dir=folder, workers=1, library=library)
    # Checked before reading: a missing export is not even looked at.
    with pytest.raises(OutputError):
        run_audit([RULESETS], IL, tmp_path / "missing.jsonl", out_dir=folder, workers=1, library=library)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    file = tmp_path / "a-file"
    file.write_text("x")
    with pytest.raises(OutputError):
        run_audit([RULESETS], IL, tmp_path / "missing.jsonl", out_dir=file / "report", workers=1, library=library)


def test_a_previous_report_is_replaced(library: Library, tmp_path: Path) -> None:
    export = _write(tmp_path / "x.jsonl", [_incident("one")])
    out = tmp_path / "report"
    run_audit([RULESETS], IL, export, out_dir=out, workers=1, library=library)
    _write(export, [_incident("one"), _incident("two")])
    run_audit([RULESETS], IL, export, out_dir=out, workers=1, library=library)
    assert json.loads((out / "summary.json").read_text())["input"]["incidents"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "x.jsonl"]


# --- item 15: empty input -----------------------------------------------------------------------------

def test_an_empty_export_is_said_unless_allowed(library: Library, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ExportError, match="--allow-empty"):
        run_audit([RULESETS], IL, empty, out_dir=tmp_path / "out", workers=1, library=library)
    assert not (tmp_path / "out").exists()
    out = run_audit([RULESETS], IL, empty, workers=1, library=library, allow_empty=True)
    assert out.summary["input"]["incidents"] == 0


# --- data shown as literal text -----------------------------------------------------------------------

def test_summary_text_shows_ids_and_messages_as_literal_text(library: Library, tmp_path: Path) -> None:
    hostile = _incident("evil\x1b[2J\x1b]0;owned\x07")
    hostile["events"][0]["type"] = "teleported\x1b[31m"
    export = _write(tmp_path / "x.jsonl", [hostile, _incident("fine")])
    text = summary_text(run_audit([RULESETS], IL, export, workers=1, library=library).summary)
    assert "\x1b" not in text and "\x07" not in text
    assert "evil\\x1b[2J" in text and "teleported\\x1b[31m" in text
