"""`bwc impact` skips building the two decisions of an incident whose firings show they are alike
(engine.tools.impact.unchanged): the report is the same as when every decision is built."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import rulesets_with_timelines

from engine.api import Library, Policy
from engine.core.program import compile_ruleset
from engine.tools.generate import generate
from engine.tools.impact import Side, impact
from engine.tools.impact.differences import differences
from engine.tools.impact.unchanged import Unchanged
from policy.model import Ruleset

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
IL = "illinois-50-ilcs-706-10-20"


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(RULESETS)


def _pairs(library: Library, rid: str) -> list[tuple[str, str]]:
    """Every ordered pair of the ruleset's versions."""
    versions = [f"{rid}@{v}" for v in library.repository.versions(rid)]
    return [(a, b) for a in versions for b in versions if a != b]


def _report(library: Library, a: str, b: str, export: Path, *, shortcut: bool,
            monkeypatch: pytest.MonkeyPatch, dates: bool = False) -> tuple[dict[str, Any], int]:
    """The impact report's tally, with or without the shortcut, and how often the shortcut was taken."""
    taken = [0]
    real = Unchanged.same

    def same(self: Unchanged, incident: Any) -> bool:
        found = shortcut and real(self, incident)
        taken[0] += found
        return found

    with monkeypatch.context() as m:
        m.setattr(Unchanged, "same", same)
        report = impact(Side.of([RULESETS], a, dates=dates), Side.of([RULESETS], b, dates=dates), export,
                        workers=1, library=library, allow_empty=True)
    return report.to_dict(), taken[0]


def test_every_bundled_pair_reports_the_same_with_and_without_the_shortcut(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken_somewhere = 0
    for rid in library.repository.ids():
        export = tmp_path / f"{rid}.jsonl"
        generate(library, rid, export, incidents=60, seed=11, rulesets=[RULESETS])
        for a, b in _pairs(library, rid):
            for dates in (False, True):
                full, none_taken = _report(library, a, b, export, shortcut=False, monkeypatch=monkeypatch,
                                           dates=dates)
                fast, taken = _report(library, a, b, export, shortcut=True, monkeypatch=monkeypatch, dates=dates)
                assert none_taken == 0
                assert fast == full, (a, b, dates)
                taken_somewhere += taken
    assert taken_somewhere > 0  # the comparison above held with the shortcut in use


def test_the_illinois_amendment_is_found_on_every_incident_it_changes(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "il.jsonl"
    generate(library, IL, export, incidents=200, seed=5, rulesets=[RULESETS])
    a, b = f"{IL}@2016.1.0", f"{IL}@2021.1.0"
    full, _ = _report(library, a, b, export, shortcut=False, monkeypatch=monkeypatch)
    fast, taken = _report(library, a, b, export, shortcut=True, monkeypatch=monkeypatch)
    assert fast == full
    assert 0 < taken < full["incidents"]  # some incidents are changed, most are not
    assert full["changed"] > 0


def _policy(ruleset: Ruleset) -> Policy:
    return Policy(compile_ruleset(ruleset))


def _variant(ruleset: Ruleset, k: int, how: str) -> Ruleset:
    rules = list(ruleset.rules)
    rule = rules[k % len(rules)]
    if how == "reworded":
        rules[k % len(rules)] = rule.model_copy(update={"summary": rule.summary + " (reworded)"})
    elif how == "noted":
        rules[k % len(rules)] = rule.model_copy(update={"notes": "a note"})
    elif how == "moved":  # the same rules, one of them moved to the end
        rules.append(rules.pop(k % len(rules)))
    elif how == "dropped":
        if any(rule.id in r.overrides for r in rules):
            return ruleset
        del rules[k % len(rules)]
    return ruleset.model_copy(update={"rules": rules})


@settings(max_examples=examples(60), deadline=None)
@given(rulesets_with_timelines(), st.integers(0, 50),
       st.sampled_from(["same", "reworded", "noted", "moved", "dropped"]))
def test_alike_firings_mean_alike_decisions(pair: tuple[Ruleset, dict[str, Any]], k: int, how: str) -> None:
    ruleset, timeline = pair
    a, b = _policy(ruleset), _policy(_variant(ruleset, k, how))
    incident = a.read({"id": "x", "timezone": ruleset.timezone, **timeline})
    if Unchanged(a, b, None).same(incident):
        assert differences(a.decide(incident, explain=False), b.decide(incident, explain=False)) == []


def _ruleset(library: Library, ref: str) -> Ruleset:
    return library.repository.resolve(ref)


def test_versions_unlike_beyond_their_rules_are_always_decided(library: Library) -> None:
    base = _ruleset(library, f"{IL}@2016.1.0")
    a = _policy(base)
    assert Unchanged(a, _policy(base), None).eligible
    for update in ({"holidays": [*base.holidays, "2024-07-04"]}, {"timezone": "America/New_York"},
                   {"version_date": "dispatched"}):
        other = base.model_validate({**base.model_dump(mode="json", by_alias=True, exclude_none=True), **update})
        assert not Unchanged(a, _policy(other), None).eligible, update
    # The rete backend: durable-rules evaluates the whole program, so its few rules cannot be asked alone.
    assert not Unchanged(Policy(a.program, "rete"), Policy(a.program, "rete"), None).eligible
    # A version judged with a base's layer, or with conduct rules (a layer of their own): decided in full.
    assert not Unchanged(Policy(compile_ruleset(base), bases=[a]), a, None).eligible
    conduct = library.policy(_ruleset(library, "california-pc-832-19@2020.2.0"))
    assert conduct.conduct_rules
    assert not Unchanged(conduct, conduct, None).eligible


def _incident(year: int) -> dict[str, Any]:
    return {"id": f"y{year}", "timezone": "America/Chicago", "facts": {"in_uniform": True},
            "events": [{"type": "dispatched", "at": f"{year}-02-20T13:00:00-06:00"},
                       {"type": "firearm_discharged", "at": f"{year}-02-20T13:10:00-06:00"},
                       {"type": "encounter_ended", "at": f"{year}-02-20T13:40:00-06:00"},
                       {"type": "flagged", "at": f"{year}-12-30T13:40:00-06:00"}]}


@pytest.mark.parametrize("year", [1, 2, 3, 2024, 9000, 9990, 9997, 9998, 9999])
def test_incidents_near_the_ends_of_the_calendar_are_reported_as_before(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, year: int) -> None:
    """Near year 1 or 9999 a date a rule counts may fall off the calendar: such an incident is decided
    in full, and what fails is reported as it was without the shortcut."""
    export = tmp_path / "ends.jsonl"
    export.write_text(json.dumps(_incident(year)) + "\n", encoding="utf-8")
    a = f"{IL}@2016.1.0"
    full, _ = _report(library, a, a, export, shortcut=False, monkeypatch=monkeypatch)
    fast, taken = _report(library, a, a, export, shortcut=True, monkeypatch=monkeypatch)
    assert fast == full
    if year == 2024:  # far from either end: the shortcut is taken, and the same report comes out
        assert taken == 1


def test_it_crosses_to_another_process_as_its_two_policies(library: Library) -> None:
    a = Side.of([RULESETS], f"{IL}@2016.1.0").policy(library)
    b = Side.of([RULESETS], f"{IL}@2021.1.0").policy(library)
    unchanged = Unchanged(a, b, None)
    copy = pickle.loads(pickle.dumps(unchanged))
    assert copy.eligible
    shot = _incident(2024)
    plain = {**shot, "events": [e for e in shot["events"] if e["type"] != "firearm_discharged"]}
    # A shooting meets the 2021 ban on review before the report, a rule 2016 does not have.
    assert [copy.same(a.read(plain)), copy.same(a.read(shot))] == [True, False]
