"""Semantic diffs of rulesets, plain-words descriptions, and the version history of a ruleset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from budget import examples
from hypothesis import HealthCheck, example, given, settings
from strategies import rulesets

from policy.canonical import canonical_json
from policy.describe import describe_condition, describe_obligation, describe_rule
from policy.diff import RulesetDiff, diff, history, render_json, render_markdown, render_text
from policy.loader import load_ruleset, load_ruleset_text
from policy.model import Ruleset
from policy.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
BPCAT = RULESETS / "boston-bpcat-draft" / "2016.1.0.yaml"
R405 = RULESETS / "boston-rule-405" / "2019.1.0.yaml"
IL = "illinois-50-ilcs-706-10-20"

FAST = settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER = """\
ruleset: testville
version: {version}
title: Testville — Body-Worn Cameras
status: adopted
effective: {{from: 2020-01-01}}
timezone: America/Chicago
drafted_by: Testville Police Department
sources:
  - id: go
    title: General Order 1
rules:
"""

KEEP = """\
  - id: keep-flagged
    summary: Keep flagged footage.
    cite: go {clause}
    on: flagged
    retain: {{at_least: {keep}, after: flagged}}
"""

RELEASE = """\
  - id: release-on-request
    summary: Release footage to the requester.
    cite: go 2
    on: records_request
    release: {{effect: must, to: requester, within: {within}, after: records_request}}
"""

STOP = """\
  - id: stop-on-victim-request
    summary: Victims may ask officers to stop recording.
    cite: go 3
    on: request_to_stop_recording
    where: {by: victim}
    record: {effect: must_not, until: encounter_ended}
"""


def ruleset(version: str = "1.0.0", *, keep: str = "P2Y", within: str = "P21D", clause: str = "1",
            stop: bool = False) -> Ruleset:
    text = HEADER.format(version=version) + KEEP.format(keep=keep, clause=clause)
    text += RELEASE.format(within=within) + (STOP if stop else "")
    return load_ruleset_text(text)


@pytest.fixture(scope="module")
def boston() -> RulesetDiff:
    return diff(load_ruleset(BPCAT), load_ruleset(R405))


# --- descriptions ---------------------------------------------------------------------------------

def test_describe_rules() -> None:
    r405 = load_ruleset(R405)
    assert describe_rule(r405.rule("record-dispatched-calls")).startswith(
        "Officers must record from `arrived` until `encounter_ended`, when a `dispatched` event happens")
    il = load_ruleset(RULESETS / IL / "2016.1.0.yaml")
    keep = il.rule("keep-flagged-two-years")
    assert describe_obligation(keep.obligation, keep.kind) == "Keep footage at least 2 years after `flagged`"
    ca = load_ruleset(RULESETS / "california-gov-7923-625" / "2019.1.0.yaml")
    release = describe_rule(ca.rules[0])
    assert release.startswith("Release to the public within 45 days of `agency_aware`; may be delayed up to 45 days")
    assert "up to 1 year after `agency_aware` if" in release
    assert "indefinitely if" in release
    flag = il.rule("flag-death-or-great-bodily-harm")
    assert describe_condition(flag.when) == (
        "any of: a `death_or_great_bodily_harm` event happened; a `use_of_force` event where `injury` is at "
        "least `great_bodily_injury` happened")


def test_every_bundled_rule_can_be_described() -> None:
    for r in Repository.load(RULESETS):
        for rule in r.rules:
            assert describe_rule(rule)


# --- small hand-written pairs ---------------------------------------------------------------------

def test_same_ruleset_has_no_changes() -> None:
    d = diff(ruleset(), ruleset())
    assert d.empty and not d
    assert d.summary() == "no changes"
    assert "no changes" in render_text(d)


def test_duration_change() -> None:
    d = diff(ruleset(keep="P2Y"), ruleset(keep="P3Y"))
    assert not d.header and not d.added and not d.removed
    (change,) = d.changed
    assert change.id == "keep-flagged"
    (part,) = change.changes
    assert part.part == "duration"
    assert part.old == {"at_least": "P2Y"} and part.new == {"at_least": "P3Y"}
    assert part.effect == "retention: 2 years → 3 years after `flagged`"


def test_release_deadline_change() -> None:
    d = diff(ruleset(within="P21D"), ruleset(within="P30D"))
    (part,) = d.changed[0].changes
    assert part.part == "deadline"
    assert part.effect == "release to `requester` deadline: 21 days → 30 days after `records_request`"


def test_rule_added_and_removed() -> None:
    d = diff(ruleset(), ruleset(stop=True))
    assert [e.id for e in d.added] == ["stop-on-victim-request"]
    assert d.added[0].effect == "new rule: Victims may ask officers to stop recording (stop-on-victim-request)"
    back = diff(ruleset(stop=True), ruleset())
    assert [e.id for e in back.removed] == ["stop-on-victim-request"]
    assert back.removed[0].effect.startswith("rule removed: ")
    assert back.summary() == "1 rule: 1 removed"


def test_cite_change() -> None:
    d = diff(ruleset(clause="1"), ruleset(clause="1(a)"))
    (part,) = d.changed[0].changes
    assert (part.part, part.old, part.new) == ("cite", "go 1", "go 1(a)")
    assert part.effect == "cite: go 1 → go 1(a)"


def test_header_changes() -> None:
    d = diff(ruleset("1.0.0"), ruleset("1.1.0"))
    assert [(c.part, c.old, c.new) for c in d.header] == [("version", "1.0.0", "1.1.0")]
    assert not d.changed


def test_condition_added_reads_now_applies_only_when() -> None:
    a = ruleset()
    text = HEADER.format(version="1.0.0") + KEEP.format(keep="P2Y", clause="1") + RELEASE.format(within="P21D")
    b = load_ruleset_text(text.replace("    on: flagged\n", "    on: flagged\n    when: {facts: {in_uniform: true}}\n"))
    (part,) = diff(a, b).changed[0].changes
    assert part.part == "condition"
    assert part.effect == "now applies only when `in_uniform` is true"


# --- real rulesets --------------------------------------------------------------------------------

def _change(d: RulesetDiff, rule_id: str, part: str) -> str:
    for c in d.changed:
        if c.id == rule_id:
            for ch in c.changes:
                if ch.part == part:
                    return ch.effect
    raise AssertionError(f"no {part} change of {rule_id}")


def test_bpcat_to_rule_405(boston: RulesetDiff) -> None:
    # The deactivation window: BPCAT records until the officer has left the scene, Rule 405 until the
    # encounter ends.
    assert _change(boston, "record-vehicle-stops", "window") == \
        "recording: until `left_scene` → until `encounter_ended`"
    assert "where `civilian_contact` is true" in _change(boston, "record-dispatched-calls", "trigger")
    removed = {e.id for e in boston.removed}
    assert {"retain-use-of-force-3y", "retain-felony-3y", "delete-unflagged-footage",
            "no-viewing-before-reports", "no-viewing-before-statements", "stop-on-victim-request"} <= removed
    added = {e.id for e in boston.added}
    assert {"record-other-contacts-discretionary", "deactivate-for-privacy", "record-prisoner-transport"} <= added
    assert {c.part for c in boston.header} >= {"ruleset", "version", "status", "effective", "title"}


def test_bpcat_to_rule_405_text(boston: RulesetDiff) -> None:
    text = render_text(boston)
    assert text.startswith("boston-bpcat-draft@2016.1.0 → boston-rule-405@2019.1.0\n")
    assert "  + record-other-contacts-discretionary (bpd discretionary recording)" in text
    assert "  - no-viewing-before-reports (aclum officer review)" in text
    assert "      window: recording: until `left_scene` → until `encounter_ended`" in text


def test_bpcat_to_rule_405_markdown(boston: RulesetDiff) -> None:
    md = render_markdown(boston)
    assert md.startswith("# Changes from `boston-bpcat-draft@2016.1.0` to `boston-rule-405@2019.1.0`\n")
    assert f"**{boston.summary()}**" in md
    for heading in ("## The ruleset", "## Rules added (7)", "## Rules removed (16)", "## Rules changed (11)"):
        assert heading in md
    assert "| `record-vehicle-stops` | summary |" in md
    assert "| window | recording: until `left_scene` → until `encounter_ended` |" in md
    assert "| `retain-use-of-force-3y` | aclum retention (use of force) | Keep footage at least 3 years" in md
    # Every table row has the same number of cells as its header (no stray `|` from the text).
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            assert line.replace("\\|", "").count("|") in (3, 4)


def test_bpcat_to_rule_405_json(boston: RulesetDiff) -> None:
    data = json.loads(render_json(boston))
    assert data["old"] == "boston-bpcat-draft@2016.1.0" and data["new"] == "boston-rule-405@2019.1.0"
    assert data["counts"] == {"added": 7, "removed": 16, "changed": 11, "header": len(boston.header)}
    vehicle = next(c for c in data["changed"] if c["id"] == "record-vehicle-stops")
    window = next(ch for ch in vehicle["changes"] if ch["part"] == "window")
    assert window["old"] == {"until": "left_scene"} and window["new"] == {"until": "encounter_ended"}


def test_illinois_safe_t_act() -> None:
    repo = Repository.load(RULESETS)
    d = diff(repo.get(IL, "2016.1.0"), repo.get(IL, "2021.1.0"))
    assert {e.id for e in d.added} == {"no-review-after-shooting-or-serious-force", "may-stop-in-courthouse-or-jail"}
    assert not d.removed and not d.changed
    effects = d.effects()
    assert "now supersedes 2016.1.0" in effects
    assert "status: superseded → adopted" in effects
    assert any(e.startswith("source added: sb1796") for e in effects)
    assert "SAFE-T" in render_markdown(d)


def test_history_of_illinois() -> None:
    entries = history(Repository.load(RULESETS), IL)
    assert [(e.version, e.status, e.previous, e.corrects) for e in entries] == [
        ("2016.1.0", "superseded", None, None), ("2016.2.0", "superseded", "2016.1.0", "2016.1.0"),
        ("2021.1.0", "adopted", "2016.1.0", None), ("2021.2.0", "adopted", "2021.1.0", "2021.1.0")]
    assert entries[0].summary == "first version (25 rules)"
    assert entries[0].corrected_by == ["2016.2.0"] and entries[2].corrected_by == ["2021.2.0"]
    assert entries[2].summary == (
        "+2 rules: added may-stop-in-courthouse-or-jail, no-review-after-shooting-or-serious-force")
    assert entries[3].summary.startswith("+1 rule, -1 rule")  # the correction, against what it corrects
    assert str(entries[0].effective_until) == "2021-06-30" and entries[2].effective_until is None
    json.dumps([e.to_dict() for e in entries])


# --- properties -----------------------------------------------------------------------------------

@FAST
@given(rulesets())
def test_diff_with_itself_is_empty(r: Ruleset) -> None:
    d = diff(r, r)
    assert d.empty
    json.loads(render_json(d))


def _access_rule(**window: str) -> Ruleset:
    return Ruleset.model_validate({
        "ruleset": "r", "version": "1.0.0", "title": "t", "status": "draft", "effective": {"from": "2000-01-01"},
        "timezone": "UTC", "drafted_by": "d", "sources": [{"id": "s", "title": "t"}],
        "rules": [{"id": "view", "summary": "s", "cite": "s",
                   "access": {"effect": "must", "role": "involved_officer", **window}}]})


@FAST
# Found by the fuzz job (seed 20261202): an access rule's `after` opens its window; the diff took it
# for the anchor of a duration and read `within`, which access has not.
@example(_access_rule(), _access_rule(after="incident"))
@example(_access_rule(after="incident"), _access_rule(after="report_completed", before="case_closed"))
@given(rulesets(max_rules=4), rulesets(max_rules=4))
def test_diff_is_non_empty_when_canonical_json_differs(a: Ruleset, b: Ruleset) -> None:
    d = diff(a, b)
    assert d.empty == (canonical_json(a) == canonical_json(b))
    for render in (render_text, render_markdown, render_json):
        assert render(d)


@FAST
@given(rulesets(max_rules=4))
def test_diff_sees_each_single_rule_change(r: Ruleset) -> None:
    # Drop one rule, or change one rule's summary: the diff names exactly that rule.
    first = r.rules[0]
    edited = r.model_copy(update={"rules": [first.model_copy(update={"summary": first.summary + " (edited)"}),
                                            *r.rules[1:]]})
    d = diff(r, edited)
    assert [c.id for c in d.changed] == [first.id] and [ch.part for ch in d.changed[0].changes] == ["summary"]
    if len(r.rules) > 1:
        dropped = r.model_copy(update={"rules": r.rules[1:]})
        assert [e.id for e in diff(r, dropped).removed] == [first.id]
