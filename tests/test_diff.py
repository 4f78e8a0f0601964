"""Semantic diffs of rulesets, plain-words descriptions, and the version history of a ruleset."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from budget import examples
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from strategies import rulesets, texts
from test_render import _inert, _markdown_html, _page, _text

from engine.tools.render.amendment import amendment_html
from policy.canonical import canonical_json
from policy.describe import article, describe_condition, describe_obligation, describe_rule
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


@pytest.mark.parametrize(("name", "said"), [
    ("arrest", "an"), ("encounter_ended", "an"), ("incident", "an"), ("officer_involved", "an"),
    ("use_of_force", "a"), ("unit_assigned", "a"), ("uniform_check", "a"), ("usual_route", "a"),
    ("unlawful_stop", "an"), ("unarmed_subject", "an"), ("unidentified_caller", "an"), ("upload", "an"),
    ("hour", "an"), ("honest_belief", "an"), ("hearing", "a"), ("one_party_consent", "a"), ("eu_request", "a"),
    ("dispatched", "a"), ("x", "a"), ("", "a"),
])
def test_an_before_a_vowel_sound(name: str, said: str) -> None:
    """By sound, not letter: the first letter alone gave "a unlawful_stop" and "a hour"."""
    assert article(name) == said


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
    lines = text.splitlines()
    assert lines[:2] == ["boston-bpcat-draft@2016.1.0 → boston-rule-405@2019.1.0", boston.summary()]
    # The duties lead, in each rule's own summary; the header comes last.
    headings = [ln for ln in lines if ln and not ln.startswith(" ")][2:]
    assert headings == ["Rules added (7), in their own words:", "Rules removed (16), in their own words:",
                        "Rules whose summary or duty changed (11), as they now read:",
                        "When the changed rules apply, and for how long (11 rules):", "Citations and notes (11 rules):",
                        "The ruleset itself (23 changes):"]
    assert lines[4].startswith("  + record-prisoner-transport: Officers with cameras must record the transport")
    assert ("  - no-viewing-before-reports: No officer may view footage subject to three-year retention before "
            "completing the initial report.") in lines
    assert "  ~ record-vehicle-stops: Officers with cameras must record every vehicle stop until the encounter ends." \
        in lines
    assert ("      was: An officer wearing a camera must record a vehicle stop, video and audio, until the officer has "
            "left the scene.") in lines
    assert "      recording: until `left_scene` → until `encounter_ended`" in lines


def test_a_permission_to_stop_reads_as_its_summary(boston: RulesetDiff) -> None:
    # The example: "may turn the camera off" was rendered from the file as "Officers may record ...".
    text = render_text(boston)
    assert ("  + deactivate-for-privacy: An officer may turn the camera off to protect sensitive information or a "
            "person's privacy.") in text
    assert "Officers may record" not in text and "Officers must record" not in text


def test_no_label_is_repeated(boston: RulesetDiff) -> None:
    text = render_text(boston)
    for part in ("cite", "confidence", "summary", "window", "exception", "notes"):
        assert f"{part}: {part}" not in text
    assert ("  ~ record-vehicle-stops: cite: updated §3(b) → bpd mandatory recording (all vehicle stops); "
            "confidence: verified → secondary") in text


def test_one_exception_changed_is_shown_as_that_item(boston: RulesetDiff) -> None:
    (change,) = [ch for ch in boston.changed[0].changes if ch.part == "exception"]
    assert change.added == ["`assignment` is one of `supervisor`, `detective`, `overtime` or `paid_detail`"]
    assert change.removed == ["an `immediate_threat` event happened"]
    assert "`camera_issued` is false" not in change.effect  # the item that stayed is not repeated
    text = render_text(boston)
    block = ("      exceptions (the rule does not apply when any of these holds):\n"
             "        + `assignment` is one of `supervisor`, `detective`, `overtime` or `paid_detail`\n"
             "        - an `immediate_threat` event happened\n")
    assert text.count(block) == 4  # eleven rules, in four groups of the very same changes
    assert "  ~ record-vehicle-stops, record-investigative-person-stops, record-detentions" in text


def test_an_exception_dropped_from_a_list_of_two() -> None:
    repo = Repository.load(RULESETS)
    d = diff(repo.get("boston-rule-405", "2019.1.0"), repo.get("boston-rule-405", "2019.2.0"))
    vehicle = next(c for c in d.changed if c.id == "record-vehicle-stops")
    (change,) = vehicle.part("terms")
    assert (change.added, change.removed) == (
        [], ["`assignment` is one of `supervisor`, `detective`, `overtime` or `paid_detail`"])
    assert change.effect == ("now applies even when `assignment` is one of `supervisor`, `detective`, `overtime` or "
                             "`paid_detail`")
    assert [ch.part for ch in vehicle.part("metadata")] == ["notes"]
    assert not vehicle.part("obligation")


def test_trigger_tests_added_are_items(boston: RulesetDiff) -> None:
    searches = next(c for c in boston.changed if c.id == "record-searches")
    (trigger,) = [ch for ch in searches.changes if ch.part == "trigger"]
    assert trigger.added == ["`of` is `person`", "`incident_to_arrest` is true"] and not trigger.removed


def test_bpcat_to_rule_405_markdown(boston: RulesetDiff) -> None:
    md = render_markdown(boston)
    assert md.startswith("# Changes from `boston-bpcat-draft@2016.1.0` to `boston-rule-405@2019.1.0`\n")
    assert f"**{boston.summary()}**" in md
    headings = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert headings == ["## Rules added (7)", "## Rules removed (16)", "## Rules whose summary or duty changed (11)",
                        "## When the changed rules apply, and for how long (11 rules)",
                        "## Citations and notes (11 rules)", "## The ruleset itself (23 changes)"]
    assert ("| `record-vehicle-stops` | Officers with cameras must record every vehicle stop until the encounter ends. "
            "| was: An officer wearing a camera must record a vehicle stop") in md
    assert "| window | recording: until `left_scene` → until `encounter_ended` |" in md
    assert "| `retain-use-of-force-3y` | Footage showing any use of force is kept at least three years. |" in md
    # Every table row has the same number of cells as its header (no stray `|` from the text).
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            assert line.replace("\\|", "").count("|") in (3, 4, 5)


def test_bpcat_to_rule_405_json(boston: RulesetDiff) -> None:
    data = json.loads(render_json(boston))
    assert data["old"] == "boston-bpcat-draft@2016.1.0" and data["new"] == "boston-rule-405@2019.1.0"
    assert data["counts"] == {"added": 7, "removed": 16, "changed": 11, "header": len(boston.header)}
    vehicle = next(c for c in data["changed"] if c["id"] == "record-vehicle-stops")
    window = next(ch for ch in vehicle["changes"] if ch["part"] == "window")
    assert window["old"] == {"until": "left_scene"} and window["new"] == {"until": "encounter_ended"}
    assert window["section"] == "terms" and window["added"] == [] and window["removed"] == []
    assert {ch["part"]: ch["section"] for ch in vehicle["changes"]}["cite"] == "metadata"
    assert vehicle["old_summary"].startswith("An officer wearing a camera must record a vehicle stop")
    assert {ch["section"] for ch in data["header"]} == {"header"}
    privacy = next(e for e in data["added"] if e["id"] == "deactivate-for-privacy")
    assert privacy["applies"].startswith("when a `privacy_concern` event happens; sets aside `record-vehicle-stops`")


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
        ("2016.3.0", "superseded", "2016.2.0", "2016.2.0"),
        ("2021.1.0", "adopted", "2016.1.0", None), ("2021.2.0", "adopted", "2021.1.0", "2021.1.0"),
        ("2021.3.0", "adopted", "2021.2.0", "2021.2.0")]
    assert entries[0].summary == "first version (25 rules)"
    assert entries[0].corrected_by == ["2016.2.0"] and entries[3].corrected_by == ["2021.2.0"]
    assert entries[1].corrected_by == ["2016.3.0"] and entries[4].corrected_by == ["2021.3.0"]  # a correction corrected
    assert entries[3].summary == (
        "+2 rules: added may-stop-in-courthouse-or-jail, no-review-after-shooting-or-serious-force")
    assert entries[4].summary.startswith("+1 rule, -1 rule")  # the correction, against what it corrects
    assert entries[5].summary == "1 changed: changed flag-firearm-or-force"  # notes only
    assert str(entries[0].effective_until) == "2021-06-30" == str(entries[2].effective_until)
    assert entries[3].effective_until is None
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


def _retain_rule(**term: Any) -> Ruleset:
    return Ruleset.model_validate({
        "ruleset": "r", "version": "1.0.0", "title": "t", "status": "draft", "effective": {"from": "2000-01-01"},
        "timezone": "UTC", "drafted_by": "d", "sources": [{"id": "s", "title": "t"}],
        "rules": [{"id": "keep", "summary": "s", "cite": "s", "retain": term}]})


@FAST
# Found by the fuzz job (seed 20261202): an access rule's `after` opens its window; the diff took it
# for the anchor of a duration and read `within`, which access has not.
@example(_access_rule(), _access_rule(after="incident"))
# Found by a fuzz run (seed 20261205): a retain rule's `until` ends its keeping; the diff took it for a
# window's closing edge and read `from`, which retain has not.
@example(_retain_rule(until="incident"), _retain_rule(until="case_closed"))
@example(_retain_rule(until="case_closed"), _retain_rule(at_least="P2Y", after="case_closed"))
@example(_access_rule(after="incident"), _access_rule(after="report_completed", before="case_closed"))
@given(rulesets(max_rules=4), rulesets(max_rules=4))
def test_diff_is_non_empty_when_canonical_json_differs(a: Ruleset, b: Ruleset) -> None:
    d = diff(a, b)
    assert d.empty == (canonical_json(a) == canonical_json(b))
    for render in (render_text, render_markdown, render_json, amendment_html):
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


# --- the page for a public comment period ---------------------------------------------------------

def test_html_page_is_self_contained_and_in_the_same_order(boston: RulesetDiff) -> None:
    page = amendment_html(boston)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<script" not in page and "<link" not in page and "<img" not in page and " src=" not in page
    assert "default-src 'none'" in page  # the page can fetch and run nothing
    order = [page.index(f'<section id="{key}">') for key in ("added", "removed", "duty", "terms", "sources-notes",
                                                             "header")]
    assert order == sorted(order)
    assert "An officer may turn the camera off to protect sensitive information or a person&#x27;s privacy." in page
    assert "Officers may record" not in page
    assert '<span class="mark removed">Removed</span>an <code>immediate_threat</code> event happened' in page
    assert amendment_html(boston) == page  # the same diff, the same bytes


def test_html_escapes_every_string_from_the_rulesets() -> None:
    hostile = '<script>alert("x")</script> & <img src=x onerror=y>'
    old = ruleset()
    new = load_ruleset_text(HEADER.format(version="2.0.0").replace("General Order 1", hostile)
                            + KEEP.format(keep="P3Y", clause="1 " + hostile) + RELEASE.format(within="P21D")
                            + STOP.replace("Victims may ask officers to stop recording.", hostile))
    page = amendment_html(diff(old, new))
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=y&gt;" in page


def test_no_changes_page() -> None:
    page = amendment_html(diff(ruleset(), ruleset()))
    assert "nothing to comment on" in page and "no changes" in page


def test_cli_writes_the_page_and_keeps_an_existing_file(tmp_path: Path, boston: RulesetDiff) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    out = tmp_path / "amendment.html"
    args = ["diff", "--rulesets", str(RULESETS), "boston-bpcat-draft@2016.1.0", "boston-rule-405@2019.1.0",
            "--format", "html", "--out", str(out)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert out.read_text(encoding="utf-8") == amendment_html(boston)
    out.write_text("mine", encoding="utf-8")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1 and out.read_text(encoding="utf-8") == "mine"


# --- hostile text in the Markdown form ------------------------------------------------------------

# What a ruleset's text could hold that Markdown would read as markup: an HTML tag, a link, emphasis,
# backticks, a table's `|` and a line break. Each must show as written: no element, no link, no new row.
HOSTILE = ("<img src=x onerror=alert(1)> [click](javascript:alert(2)) *em* __strong__ `tick` | a | b\n"
           "next line # not a heading")
HOSTILE_SUMMARY = ("- [x](javascript:alert(3)) <b onmouseover=alert(4)>bold</b> ~~gone~~ ``two`` | &lt;i&gt;\n"
                   "1. not a list")
# A value a rule tests, shown inside the words policy.describe writes for when the rule applies.
HOSTILE_VALUE = "<img src=y onerror=alert(5)> [v](javascript:alert(6)) `odd"
# Text a ruleset can hold (the strategies' own), mixed with whole Markdown and HTML constructs and loose
# Markdown punctuation.
MARKUP = ("<img src=x onerror=y>", "</td>", "[l](javascript:x)", "![i](http://x/i.png)", "<http://x>", "*em*",
          "_em_", "**b**", "~~s~~", "`c`", "``", "|", "\n", "\r\n", "\\", "&amp;", "&#60;", "# ", "- ", "1. ", "> ",
          "    ", "---", "[x]: http://x")
MARKUP_TEXT = st.lists(st.one_of(st.sampled_from(MARKUP), texts,
                                 st.text(st.sampled_from(list("<>[]()!*_`~|\\&#-+=.:;/ \n\tab1")), max_size=6)),
                       min_size=1, max_size=6).map("".join)


def hostile_doc(title: str, drafted_by: str, sources: list[dict[str, Any]],
                rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ruleset": "hostile-city", "version": "1.0.0", "title": title, "status": "draft",
            "effective": {"from": "2024-01-01"}, "timezone": "America/Chicago", "drafted_by": drafted_by,
            "sources": sources, "rules": rules}


def hostile_rule(rule_id: str, summary: str, cite: str, **obligation: Any) -> dict[str, Any]:
    return {"id": rule_id, "summary": summary, "cite": cite,
            **(obligation or {"retain": {"at_least": "P90D", "after": "incident"}})}


def unescaped(md: str, fragment: str) -> list[int]:
    """Where `fragment` starts in `md` with its first character not escaped (after an even run of `\\`)."""
    return [m.start() for m in re.finditer(re.escape(fragment), md)
            if (m.start() - len(md[:m.start()].rstrip("\\"))) % 2 == 0]


def _pipes(line: str) -> int:
    """The cell separators of a table row: each `|` not escaped by a backslash."""
    return re.findall(r"\\.|\|", line).count("|")


class _Cells(HTMLParser):
    """The text of each table row's cells and of each heading, whole, as a browser shows it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.headings: list[str] = []
        self._open: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "h1", "h2", "h3"):
            self._open = []

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag in ("td", "th", "h1", "h2", "h3"):
            (self.rows[-1] if tag in ("td", "th") else self.headings).append("".join(self._open))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)


def cells(md: str) -> _Cells:
    return _Cells(_markdown_html(md))


def shown(text: str) -> str:
    """Text as a Markdown reader shows it: whitespace folded (and NUL replaced, as CommonMark requires)."""
    return " ".join(text.replace("\0", "\ufffd").split())


def assert_inert_markdown(md: str, *whole: str) -> None:
    """No text from the data became markup in `md`: no tag or link left unescaped, every table row one line
    with as many cells as its header, nothing in the rendered page that runs or links elsewhere, and each of
    `whole` shown as written (its whitespace folded)."""
    for fragment in ("<img", "<b ", "](javascript:"):
        assert not unescaped(md, fragment), (fragment, md)
    lines = md.splitlines()
    for line in lines:  # a line break in the data did not start a line of its own
        assert "next line" not in line or "onerror=alert(1)" in line, line
        assert "not a list" not in line or "bold" in line, line
    tables: list[list[str]] = []
    for before, line in zip(["", *lines], lines, strict=False):
        if line.startswith("|"):
            if not before.startswith("|"):
                tables.append([])
            tables[-1].append(line)
    assert tables
    for table in tables:
        assert table[1].startswith("|---") and len(table) > 2, table
        assert {_pipes(row) for row in table} == {_pipes(table[0])}, table
    html = _markdown_html(md)
    _inert(html)
    assert [t for t, _ in _page(html).tags].count("tr") == sum(len(t) - 1 for t in tables)
    text = _text(html)
    for w in whole:
        assert shown(w) in text, w


def test_markdown_shows_hostile_text_as_written() -> None:
    """Every string from the rulesets is escaped: a title, a drafter, a source's title, summaries added,
    removed and reworded, cites and a value a rule tests (a bug once left all but `|` raw)."""
    plain = [{"id": "src", "title": "A statute"}]
    old = Ruleset.model_validate(hostile_doc("Plain title", "A drafter", plain, [
        hostile_rule("keep", HOSTILE_SUMMARY, "src 1"), hostile_rule("gone", HOSTILE_SUMMARY, HOSTILE)]))
    new = Ruleset.model_validate(hostile_doc(HOSTILE, HOSTILE, [*plain, {"id": "evil", "title": HOSTILE}], [
        hostile_rule("keep", HOSTILE, HOSTILE, retain={"at_least": "P1Y", "after": "incident"}),
        hostile_rule("new-rule", HOSTILE_SUMMARY, HOSTILE, on="flagged", where={"reason": HOSTILE_VALUE},
                     delete={"within": "P180D", "after": "incident"})]))
    d = diff(old, new)
    assert [e.id for e in d.added] == ["new-rule"] and [e.id for e in d.removed] == ["gone"]
    assert {ch.part for ch in d.header} == {"title", "drafted_by", "source evil"}
    md = render_markdown(d)
    assert_inert_markdown(md, HOSTILE, HOSTILE_SUMMARY, HOSTILE_VALUE)
    rows = cells(md).rows
    assert [shown(r[1]) for r in rows if r[0] in ("title", "drafted_by", "source evil")] == [
        shown(f"title: Plain title → {HOSTILE}"), shown(f"drafted by: A drafter → {HOSTILE}"),
        shown(f"source added: evil ({HOSTILE})")]
    assert [[shown(c) for c in r[1:]] for r in rows if r[0] == "keep"] == [
        [shown(HOSTILE), shown(f"was: {HOSTILE_SUMMARY}")],
        ["duration", "retention: 90 days → 1 year after the incident"], [shown(f"cite: src 1 → {HOSTILE}")]]
    assert [[shown(c) for c in r[1:]] for r in rows if r[0] in ("new-rule", "gone")] == [
        [shown(HOSTILE_SUMMARY), shown(f"when a `flagged` event happens where `reason` is `{HOSTILE_VALUE}`"),
         shown(HOSTILE)], [shown(HOSTILE_SUMMARY), shown(HOSTILE)]]
    # The names the diff's own words hold stay code: only the data is escaped.
    assert "| duration | retention: 90 days → 1 year after the incident |" in md
    assert "| `keep` |" in md


def test_cli_markdown_escapes_a_hostile_title(tmp_path: Path) -> None:
    """The tester's case: `bwc diff --format markdown` with a title holding an image tag and a javascript: link."""
    from click.testing import CliRunner

    from engine.cli import main

    text = (RULESETS / "minnesota-13-825" / "2016.1.0.yaml").read_text(encoding="utf-8")
    title = "<img src=x onerror=alert(1)> [click](javascript:alert(2))"
    hostile = tmp_path / "2016.1.0.yaml"
    hostile.write_text(re.sub(r"(?m)^title: .*$", f"title: {json.dumps(title)}", text), encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", "--rulesets", str(RULESETS), str(hostile), "minnesota-13-825@2016.1.0",
                                       "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert_inert_markdown(result.output, title)
    escaped = "\\<img src=x onerror=alert(1)\\> \\[click\\](javascript:alert(2))"
    assert f"| title | title: {escaped} → Minnesota" in result.output


@FAST
@given(title=MARKUP_TEXT, summary=MARKUP_TEXT, cite=MARKUP_TEXT)
def test_markdown_shows_any_text_as_written(title: str, summary: str, cite: str) -> None:
    """Whatever a title, a summary or a cite holds, its table cell shows exactly that text, on one row."""
    old = ruleset()
    first = old.rules[0]
    assume(title != old.title and summary != first.summary and cite != first.cite)
    new = old.model_copy(update={"title": title, "rules": [
        first.model_copy(update={"summary": summary, "cite": cite}), *old.rules[1:]]})
    md = render_markdown(diff(old, new))
    html = _markdown_html(md)
    _inert(html)
    rows = _Cells(html).rows
    assert len(rows) == sum(line.startswith("|") and not line.startswith("|---") for line in md.splitlines())
    assert [[shown(c) for c in r] for r in rows if r[0] in ("title", "keep-flagged")] == [
        ["keep-flagged", shown(summary), shown(f"was: {first.summary}")],
        ["keep-flagged", shown(f"cite: {first.cite} → {cite}")],
        ["title", shown(f"title: {old.title} → {title}")]]
