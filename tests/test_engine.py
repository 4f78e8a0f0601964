"""The engine's semantics (docs/semantics.md), case by case."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.api import Policy
from engine.cli import main
from engine.core.decision import Pending
from engine.core.incident import IncidentError
from policy.loader import load_ruleset_text

HEADER = """
ruleset: test-engine
version: 1.0.0
title: Engine semantics
status: draft
effective: {from: 2020-01-01}
timezone: America/Chicago
drafted_by: tests
sources: [{id: t, title: Test source}]
rules:
"""


def policy(rules: str, backend: str = "native") -> Policy:
    return Policy.from_ruleset(load_ruleset_text(HEADER + rules), backend)  # type: ignore[arg-type]


def incident(*events: dict[str, Any], facts: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "i-1", "timezone": "America/Chicago", "facts": facts or {}, "events": list(events)}


def ev(type_: str, at: str, **attrs: Any) -> dict[str, Any]:
    return {"type": type_, "at": at, **attrs}


RECORD_STOPS = """
  - id: record-stops
    summary: Record traffic stops.
    cite: t 1
    on: contact_initiated
    where: {kind: traffic_stop}
    record: {effect: must, until: encounter_ended}
"""


def test_one_obligation_per_trigger_event_with_its_own_window() -> None:
    p = policy(RECORD_STOPS)
    d = p.decide(incident(
        ev("contact_initiated", "2024-03-01T10:00:00-06:00", kind="traffic_stop"),
        ev("encounter_ended", "2024-03-01T10:20:00-06:00"),
        ev("contact_initiated", "2024-03-01T11:00:00-06:00", kind="consensual"),
        ev("contact_initiated", "2024-03-01T12:00:00-06:00", kind="traffic_stop"),
    ))
    assert [o.rule for o in d.obligations] == ["record-stops", "record-stops"]
    first, second = d.obligations
    assert first.window and first.window.until and first.window.until.at == "2024-03-01T10:20:00-06:00"
    # The second stop's window has not closed: its end is pending, not invented.
    assert second.window and second.window.until and second.window.until.pending
    assert second.window.until.event == "encounter_ended"


def test_events_out_of_order_are_put_in_time_order() -> None:
    p = policy(RECORD_STOPS)
    ordered = incident(ev("contact_initiated", "2024-03-01T10:00:00-06:00", kind="traffic_stop"),
                       ev("encounter_ended", "2024-03-01T10:20:00-06:00"))
    shuffled = incident(*reversed(ordered["events"]))
    a, b = p.decide(ordered), p.decide(shuffled)
    assert a.obligations[0].window == b.obligations[0].window


def test_as_of_ignores_later_events_and_never_reads_the_clock() -> None:
    p = policy(RECORD_STOPS)
    data = incident(ev("contact_initiated", "2024-03-01T10:00:00-06:00", kind="traffic_stop"),
                    ev("encounter_ended", "2024-03-01T10:20:00-06:00"))
    early = p.decide(data, as_of="2024-03-01T10:10:00-06:00")
    assert early.as_of == "2024-03-01T10:10:00-06:00"
    assert early.obligations[0].window and early.obligations[0].window.until
    assert early.obligations[0].window.until.pending
    assert p.decide(data).as_of == "2024-03-01T10:20:00-06:00"


def test_same_inputs_give_byte_identical_output() -> None:
    p = policy(RECORD_STOPS)
    data = incident(ev("contact_initiated", "2024-03-01T10:00:00-06:00", kind="traffic_stop"))
    assert p.decide(data).to_json() == policy(RECORD_STOPS).decide(json.loads(json.dumps(data))).to_json()


def test_naive_timestamp_unknown_event_and_wrong_type_are_refused_by_name() -> None:
    p = policy(RECORD_STOPS)
    with pytest.raises(IncidentError) as err:
        p.decide(incident(ev("contact_initiated", "2024-03-01T10:00:00", kind="traffic_stop"),
                          ev("contact_iniated", "2024-03-01T10:00:00Z"),
                          ev("use_of_force", "2024-03-01T10:00:00Z", level="high")))
    text = str(err.value)
    assert "events[0].at" in text and "no time zone offset" in text
    assert "events[1].type" in text and "contact_initiated" in text
    assert "events[2].level" in text


def test_incident_without_events_is_refused() -> None:
    with pytest.raises(IncidentError, match="non-empty list of `events`"):
        policy(RECORD_STOPS).decide(incident())


RETENTION = """
  - id: keep-90-days
    summary: Keep all footage 90 days.
    cite: t 2
    retain: {at_least: P90D, after: incident}
  - id: delete-after-90-days
    summary: Delete unflagged footage after 90 days.
    cite: t 3
    unless: {event: flagged}
    delete: {within: P90D, after: incident}
  - id: keep-flagged-two-years
    summary: Keep flagged footage two years from the flag.
    cite: t 4
    on: flagged
    retain: {at_least: P2Y, after: flagged}
  - id: keep-until-case-closed
    summary: Keep footage until the case is closed.
    cite: t 5
    on: charges_filed
    retain: {until: case_closed}
  - id: legal-hold
    summary: Keep footage under legal hold.
    cite: t 6
    on: legal_hold_placed
    retain: {legal_hold: true}
"""


def test_p1y_from_29_february_is_28_february() -> None:
    p = policy(RETENTION)
    d = p.decide(incident(ev("arrest", "2024-02-29T12:00:00-06:00"), ev("flagged", "2024-02-29T13:00:00-06:00")))
    flagged = next(o for o in d.obligations if o.rule == "keep-flagged-two-years")
    assert flagged.retain_until == date(2026, 2, 28)
    assert d.summary.retention.minimum == date(2026, 2, 28)
    assert not any(o.rule == "delete-after-90-days" for o in d.obligations)


def test_days_are_counted_in_the_ruleset_time_zone() -> None:
    # 03:00 UTC on 1 March is still 29 February in Chicago.
    d = policy(RETENTION).decide(incident(ev("arrest", "2024-03-01T03:00:00+00:00")))
    assert d.summary.retention.minimum == date(2024, 5, 29)  # 29 Feb + 90 days
    assert d.summary.retention.maximum == date(2024, 5, 29)


def test_pending_anchor_is_reported_not_invented() -> None:
    d = policy(RETENTION).decide(incident(ev("charges_filed", "2024-01-10T09:00:00-06:00")))
    o = next(o for o in d.obligations if o.rule == "keep-until-case-closed")
    assert isinstance(o.retain_until, Pending) and o.retain_until.pending == "case_closed"
    assert d.summary.retention.pending[0].pending == "case_closed"


def test_legal_hold_blocks_deletion_until_released() -> None:
    p = policy(RETENTION)
    held = p.decide(incident(ev("arrest", "2024-01-10T09:00:00-06:00"),
                             ev("legal_hold_placed", "2024-02-01T09:00:00-06:00")))
    assert held.summary.retention.legal_hold
    delete = next(o for o in held.obligations if o.kind == "delete")
    assert delete.overridden_by == "legal-hold"
    assert held.summary.retention.maximum is None
    assert any(c.resolution == "legal_hold" for c in held.conflicts)
    released = p.decide(incident(ev("arrest", "2024-01-10T09:00:00-06:00"),
                                 ev("legal_hold_placed", "2024-02-01T09:00:00-06:00"),
                                 ev("legal_hold_released", "2024-03-01T09:00:00-06:00")))
    assert not released.summary.retention.legal_hold
    assert released.summary.retention.maximum == date(2024, 4, 9)


def test_minimum_beyond_maximum_is_an_unresolved_conflict() -> None:
    rules = RETENTION + """
  - id: keep-use-of-force-3-years
    summary: Keep footage of force 3 years.
    cite: t 7
    when: {event: use_of_force}
    retain: {at_least: P3Y, after: incident}
"""
    d = policy(rules).decide(incident(ev("use_of_force", "2024-01-10T09:00:00-06:00", level=2)))
    conflict = next(c for c in d.conflicts if c.kind == "retention" and "keep-use-of-force-3-years" in c.rules)
    assert conflict.resolution == "unresolved" and conflict.winner is None
    assert d.summary.retention.minimum == date(2027, 1, 10)
    assert d.summary.retention.maximum == date(2024, 4, 9)


def test_overrides_settles_must_against_must_not() -> None:
    rules = RECORD_STOPS + """
  - id: stop-on-victim-request
    summary: Stop recording when a victim asks.
    cite: t 8
    on: request_to_stop_recording
    where: {by: victim}
    overrides: [record-stops]
    record: {effect: must_not, until: encounter_ended}
"""
    d = policy(rules).decide(incident(
        ev("contact_initiated", "2024-03-01T10:00:00-06:00", kind="traffic_stop"),
        ev("request_to_stop_recording", "2024-03-01T10:05:00-06:00", by="victim"),
        ev("encounter_ended", "2024-03-01T10:20:00-06:00"),
    ))
    must = next(o for o in d.obligations if o.rule == "record-stops")
    # The duty to record stays in force from the stop until the request, and is suspended after it.
    assert must.overridden_by is None
    assert must.suspended and must.suspended[0].rule == "stop-on-victim-request"
    assert must.suspended[0].from_ and must.suspended[0].from_.at == "2024-03-01T10:05:00-06:00"
    assert must.suspended[0].until and must.suspended[0].until.at == "2024-03-01T10:20:00-06:00"
    (conflict,) = d.conflicts
    assert conflict.resolution == "overrides" and conflict.winner == "stop-on-victim-request"


def test_an_override_covering_the_whole_window_takes_it_over() -> None:
    rules = RECORD_STOPS + """
  - id: no-recording-of-informants
    summary: Do not record an informant.
    cite: t 8
    on: contact_initiated
    where: {kind: traffic_stop}
    when: {facts: {assignment: undercover}}
    overrides: [record-stops]
    record: {effect: must_not, until: encounter_ended}
"""
    d = policy(rules).decide(incident(
        ev("contact_initiated", "2024-03-01T10:00:00-06:00", kind="traffic_stop"),
        ev("encounter_ended", "2024-03-01T10:20:00-06:00"),
        facts={"assignment": "undercover"}))
    must = next(o for o in d.obligations if o.rule == "record-stops")
    assert must.overridden_by == "no-recording-of-informants" and not must.suspended


def test_conflict_without_precedence_is_unresolved() -> None:
    rules = RECORD_STOPS + """
  - id: no-recording-in-restrooms
    summary: Never record in a restroom.
    cite: t 9
    when: {facts: {location_type: restroom}}
    record: {effect: must_not, from: incident}
"""
    d = policy(rules).decide(incident(ev("contact_initiated", "2024-03-01T10:00:00-06:00", kind="traffic_stop"),
                                      facts={"location_type": "restroom"}))
    (conflict,) = d.conflicts
    assert conflict.resolution == "unresolved"
    assert all(o.overridden_by is None for o in d.obligations)


def test_not_equals_holds_when_value_is_missing() -> None:
    rules = """
  - id: record-unless-undercover
    summary: Record calls unless undercover.
    cite: t 1
    on: dispatched
    when: {facts: {assignment: {not_equals: undercover}}}
    record: {effect: must}
"""
    p = policy(rules)
    assert p.decide(incident(ev("dispatched", "2024-03-01T10:00:00-06:00"))).obligations
    assert not p.decide(incident(ev("dispatched", "2024-03-01T10:00:00-06:00"),
                                 facts={"assignment": "undercover"})).obligations


def test_sequence_within_a_year_and_release_deadline_and_delay() -> None:
    rules = """
  - id: release-critical
    summary: Release footage of a serious use of force followed by a complaint within a year.
    cite: t 10
    when:
      sequence:
        - {event: use_of_force, where: {injury: {at_least: great_bodily_injury}}}
        - {event: complaint_filed}
      within: P1Y
    release:
      effect: must
      to: public
      within: P45D
      after: agency_aware
      may_delay:
        - up_to: P1Y
          only_if: {event: investigation_interference_asserted, where: {written: true}}
          requires: [written basis]
          reassess_every: P30D
"""
    p = policy(rules)
    base = [ev("use_of_force", "2024-02-29T10:00:00-06:00", injury="great_bodily_injury"),
            ev("agency_aware", "2024-02-29T11:00:00-06:00")]
    late = p.decide(incident(*base, ev("complaint_filed", "2025-03-01T10:00:00-06:00")))
    assert late.obligations == []  # 1 March 2025 is after 28 February 2025
    d = p.decide(incident(*base, ev("complaint_filed", "2025-02-28T10:00:00-06:00")))
    (o,) = d.obligations
    assert o.by == date(2024, 4, 14)
    assert o.delays and o.delays[0].until == date(2025, 2, 28) and not o.delays[0].available
    assert d.summary.release["public"].by == date(2024, 4, 14)


def test_bwc_decide_jsonl_reports_bad_lines_and_decides_good_ones(root: Path, tmp_path: Path) -> None:
    good = json.loads((root / "examples" / "colorado-complaint.json").read_text())
    lines = [json.dumps(good), "{not json", json.dumps({**good, "id": "x2", "events": []}),
             json.dumps({**good, "id": "x3"})]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["decide", "--rulesets", str(root / "rulesets"), "--policy",
                                       "colorado-24-31-902", str(path), "--format", "json"])
    assert result.exit_code == 1
    decided = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["incident_id"] for d in decided] == ["CO-2024-0117", "x3"]
    assert f"{path}:2" in result.stderr and "not valid JSON" in result.stderr
    assert f"{path}:3" in result.stderr and "events" in result.stderr
    assert "Traceback" not in result.output


def test_an_input_whose_extension_says_nothing_is_read_by_its_stated_format(root: Path, tmp_path: Path) -> None:
    # `--format` of decide and explain is the output's, so the advice names the option they take.
    example = root / "examples" / "colorado-complaint.json"
    txt = tmp_path / "complaint.txt"
    txt.write_bytes(example.read_bytes())
    args = ["--rulesets", str(root / "rulesets"), "--policy", "colorado-24-31-902"]
    for command in ("decide", "explain"):
        refused = CliRunner().invoke(main, [command, *args, str(txt)])
        assert refused.exit_code == 1 and "Traceback" not in refused.output
        assert "from its extension (.jsonl or .ndjson, .json, .csv, .parquet or .pq): give --input-format " \
               "jsonl, json, csv or parquet" in refused.output
        stated = CliRunner().invoke(main, [command, *args, "--input-format", "json", "--format", "json", str(txt)])
        by_name = CliRunner().invoke(main, [command, *args, "--format", "json", str(example)])
        assert stated.exit_code == 0 and stated.stdout == by_name.stdout != ""
    jsonl = tmp_path / "complaints.log"
    jsonl.write_text(json.dumps(json.loads(example.read_text())) + "\n")
    lines = CliRunner().invoke(main, ["decide", *args, "--input-format", "jsonl", "--format", "json", str(jsonl)])
    assert lines.exit_code == 0 and json.loads(lines.stdout)["incident_id"] == "CO-2024-0117"


def test_bwc_decide_text_and_explain(root: Path) -> None:
    args = ["--rulesets", str(root / "rulesets"), "--policy", "colorado-24-31-902",
            str(root / "examples" / "colorado-complaint.json")]
    text = CliRunner().invoke(main, ["decide", *args])
    assert text.exit_code == 0, text.output
    assert "release to public by 2024-02-15" in text.output
    explained = CliRunner().invoke(main, ["explain", *args])
    assert explained.exit_code == 0
    assert "record-entering-premises: does not apply" in explained.output
    assert "why not: no qualifying `entered_premises` event" in explained.output
