"""Versions over time and layering, as docs/versions.md states them.

As-of selection (on the Illinois Act's two versions, in America/Chicago), pinned versions, incidents
before every version, `version_date`, `applies_to_existing_footage`, layering a department policy on
a statute (examples/layered/), and the property: adding a version that comes into force on day D never
changes the decision for an incident dated before D (unless a rule of it applies to existing footage
and the decision is made as of D or later).
"""

from __future__ import annotations

import copy
import json
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import Library
from engine.core.decision import Decision, Obligation
from policy.canonical import to_yaml
from policy.model import Ruleset
from tests.strategies import ruleset_data, timelines

ROOT = Path(__file__).resolve().parent.parent
IL = "illinois-50-ilcs-706-10-20"
CITY = "example-city-il"
LAYERED = ROOT / "examples" / "layered"
PROPERTY = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


@pytest.fixture(scope="module")
def layered() -> Library:
    return Library.load(ROOT / "rulesets", LAYERED)


def _il_incident(*times: str, iid: str = "IL-T") -> dict[str, Any]:
    events = [{"type": "dispatched", "at": times[0]}, {"type": "encounter_ended", "at": times[-1]}]
    return {"id": iid, "timezone": "America/Chicago", "facts": {"in_uniform": True}, "events": events}


def _rules(d: Decision) -> set[str]:
    return {o.rule for o in d.obligations}


def _write(folder: Path, data: dict[str, Any]) -> None:
    target = folder / data["ruleset"] / f"{data['version']}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_yaml(Ruleset.model_validate(data)), encoding="utf-8")


def _ruleset(rid: str, version: str, rules: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    return {"ruleset": rid, "version": version, "title": f"Test ruleset {rid} {version}", "status": "adopted",
            "effective": {"from": "2020-01-01"}, "timezone": "America/Chicago", "drafted_by": "tests",
            "sources": [{"id": "t", "title": "test source"}], "rules": rules, **header}


# --- as-of selection on Illinois -----------------------------------------------------------------------

# 2016.2.0 and 2021.2.0 correct 2016.1.0 and 2021.1.0, and 2016.3.0 and 2021.3.0 correct them in turn
# (`corrects`, same dates): the newest corrections judge those days.
@pytest.mark.parametrize(("first", "version"), [
    ("2021-06-30T12:00:00-05:00", "2016.3.0"),
    ("2021-06-30T23:59:59-05:00", "2016.3.0"),
    ("2021-07-01T03:00:00Z", "2016.3.0"),        # 22:00 on 30 June in Chicago
    ("2021-07-01T05:00:00Z", "2021.3.0"),        # midnight in Chicago
    ("2021-07-01T00:00:00-05:00", "2021.3.0"),
    ("2016-01-01T00:00:00-06:00", "2016.3.0"),
    ("2030-01-01T10:00:00-06:00", "2021.3.0"),
])
def test_the_version_in_force_on_the_incident_day_judges_it(library: Library, first: str, version: str) -> None:
    end = (datetime.fromisoformat(first.replace("Z", "+00:00")) + timedelta(minutes=30)).isoformat()
    d = library.decide(IL, _il_incident(first, end))
    assert (d.ruleset.id, d.ruleset.version, d.in_force) == (IL, version, True)
    assert d.layers == []
    assert "record-calls-for-service" in _rules(d)
    assert all(o.ruleset == f"{IL}@{version}" for o in d.obligations)
    assert d.ruleset.digest == library.select(f"{IL}@{version}").program.digest


def test_the_day_is_the_first_event_not_the_last(library: Library) -> None:
    # Dispatched on 30 June, encounter ended after midnight: still the 2016 version.
    d = library.decide(IL, _il_incident("2021-06-30T23:50:00-05:00", "2021-07-01T00:20:00-05:00"))
    assert d.ruleset.version == "2016.3.0"


def test_a_pinned_version_is_used_whatever_the_date(library: Library) -> None:
    inc = _il_incident("2024-02-20T13:00:00-06:00", "2024-02-20T13:30:00-06:00")
    pinned = library.decide(f"{IL}@2016.1.0", inc)
    assert (pinned.ruleset.version, pinned.in_force) == ("2016.1.0", False)
    assert pinned.obligations == [] and pinned.conflicts == []
    assert library.decide(f"{IL}@2021.3.0", inc).to_json() == library.decide(IL, inc).to_json()
    assert library.decide(f"{IL}@2021.1.0", inc).ruleset.version == "2021.1.0"  # the corrected reading, pinned
    old = _il_incident("2020-02-20T13:00:00-06:00", "2020-02-20T13:30:00-06:00")
    assert library.decide(f"{IL}@2016.3.0", old).to_json() == library.decide(IL, old).to_json()
    assert library.decide(f"{IL}@2021.1.0", old).in_force is False


def test_an_incident_before_every_version_is_in_force_under_none(library: Library) -> None:
    d = library.decide(IL, _il_incident("2015-12-31T23:00:00-06:00", "2016-01-01T00:30:00-06:00"))
    assert (d.ruleset.version, d.in_force) == ("2016.3.0", False)
    assert d.obligations == [] and d.summary.retention.minimum is None


# --- version_date ----------------------------------------------------------------------------------

KEEP = {"id": "keep", "summary": "Keep footage.", "cite": "t 1", "retain": {"at_least": "P90D", "after": "incident"}}


def _vd_library(tmp_path: Path) -> Library:
    v1 = _ruleset("vd", "1.0.0", [KEEP], effective={"from": "2020-01-01", "until": "2020-12-31"},
                  version_date="complaint_filed")
    v2 = _ruleset("vd", "2.0.0", [{**KEEP, "retain": {"at_least": "P1Y", "after": "incident"}}],
                  effective={"from": "2021-01-01"}, supersedes="1.0.0", version_date="complaint_filed")
    for data in (v1, v2):
        _write(tmp_path, data)
    return Library.load(tmp_path)


def test_version_date_chooses_by_a_later_event(tmp_path: Path) -> None:
    lib = _vd_library(tmp_path)
    events = [{"type": "contact_initiated", "at": "2020-06-01T10:00:00-05:00"},
              {"type": "complaint_filed", "at": "2021-02-01T09:00:00-06:00"}]
    inc = {"id": "vd-1", "timezone": "America/Chicago", "events": events}
    d = lib.decide("vd", inc)
    assert (d.ruleset.version, d.in_force) == ("2.0.0", True)
    assert d.summary.retention.minimum == date(2021, 6, 1)  # P1Y after the incident's first event
    # The complaint filed in 2020 instead: the first version.
    inc["events"][1]["at"] = "2020-12-31T23:30:00-06:00"
    d = lib.decide("vd", inc)
    assert (d.ruleset.version, d.in_force) == ("1.0.0", True)
    assert d.summary.retention.minimum == date(2020, 8, 30)


def test_without_the_version_date_event_no_version_is_in_force(tmp_path: Path) -> None:
    lib = _vd_library(tmp_path)
    inc = {"id": "vd-2", "timezone": "America/Chicago",
           "events": [{"type": "contact_initiated", "at": "2021-06-01T10:00:00-05:00"}]}
    d = lib.decide("vd", inc)
    assert d.in_force is False and d.obligations == []


# --- applies_to_existing_footage -------------------------------------------------------------------

def _amended_library(tmp_path: Path) -> Library:
    other = {"id": "release-subject", "summary": "Release to the subject.", "cite": "t 2", "on": "records_request",
             "release": {"effect": "must", "to": "subject", "within": "P30D", "after": "records_request"}}
    v1 = _ruleset("am", "1.0.0", [KEEP, other], effective={"from": "2020-01-01", "until": "2021-06-30"})
    keep2 = {**KEEP, "retain": {"at_least": "P2Y", "after": "incident"}, "applies_to_existing_footage": True}
    new = {"id": "new-rule", "summary": "Keep use-of-force footage forever.", "cite": "t 3",
           "when": {"event": "contact_initiated"}, "retain": {"indefinitely": True}}
    v2 = _ruleset("am", "2.0.0", [keep2, new], effective={"from": "2021-07-01"}, supersedes="1.0.0")
    for data in (v1, v2):
        _write(tmp_path, data)
    return Library.load(tmp_path)


AM_INCIDENT = {"id": "am-1", "timezone": "America/Chicago",
               "events": [{"type": "contact_initiated", "at": "2021-03-01T10:00:00-06:00"},
                          {"type": "records_request", "at": "2021-03-02T10:00:00-06:00", "requester": "subject"}]}


def test_a_later_retention_rule_governs_existing_footage_once_in_force(tmp_path: Path) -> None:
    lib = _amended_library(tmp_path)
    before = lib.decide("am", AM_INCIDENT, "2021-06-30T23:59:59-05:00")
    assert (before.ruleset.version, before.layers) == ("1.0.0", [])
    assert {(o.rule, o.ruleset) for o in before.obligations} == {("keep", "am@1.0.0"), ("release-subject", "am@1.0.0")}
    assert before.summary.retention.minimum == date(2021, 5, 30)

    after = lib.decide("am", AM_INCIDENT, "2021-07-01T00:00:00-05:00")
    assert after.ruleset.version == "1.0.0"  # still judged by the version of its date ...
    [layer] = after.layers
    assert (layer.id, layer.version, layer.role, layer.rules) == ("am", "2.0.0", "amendment", ["keep"])
    # ... but the amended retention rule replaces the old one, and the other old rule stays.
    assert {(o.rule, o.ruleset) for o in after.obligations} == {("keep", "am@2.0.0"),
                                                               ("release-subject", "am@1.0.0")}
    assert after.summary.retention.minimum == date(2023, 3, 1)
    assert "new-rule" not in _rules(after)  # not marked: it does not reach back
    assert after.decision_id != before.decision_id


def test_an_amendment_does_not_reach_incidents_pinned_or_judged_by_it(tmp_path: Path) -> None:
    lib = _amended_library(tmp_path)
    pinned = lib.decide("am@1.0.0", AM_INCIDENT, "2022-01-01T00:00:00-06:00")
    assert pinned.layers == [] and "am@2.0.0" not in {o.ruleset for o in pinned.obligations}
    later = {**AM_INCIDENT, "events": [{"type": "contact_initiated", "at": "2021-08-01T10:00:00-05:00"}]}
    d = lib.decide("am", later)
    assert (d.ruleset.version, d.layers) == ("2.0.0", [])
    assert _rules(d) == {"keep", "new-rule"}


# --- layering: examples/layered -------------------------------------------------------------------

def _example() -> dict[str, Any]:
    return json.loads((LAYERED / "incident.json").read_text(encoding="utf-8"))


def _by_rule(d: Decision) -> dict[str, Obligation]:
    return {o.rule: o for o in d.obligations}


def test_both_layers_apply_each_naming_its_ruleset(layered: Library) -> None:
    d = layered.decide(CITY, _example())
    assert (d.ruleset.id, d.ruleset.version, d.in_force) == (CITY, "1.0.0", True)
    [base] = d.layers
    # The range >=2021.1.0 <2022.0.0 accepts 2021.1.0 and its corrections 2021.2.0 and 2021.3.0 (which
    # corrects 2021.2.0); the newest correction judges.
    assert (base.id, base.version, base.role, base.in_force) == (IL, "2021.3.0", "base", True)
    assert base.digest == layered.select(f"{IL}@2021.3.0").program.digest
    rulesets = {o.rule: o.ruleset for o in d.obligations}
    assert rulesets["keep-90-days"] == rulesets["record-calls-for-service"] == f"{IL}@2021.3.0"
    assert rulesets["delete-unflagged-after-60-days"] == rulesets["report-before-review"] == f"{CITY}@1.0.0"


def test_the_statute_floor_prevails_over_a_shorter_department_deletion(layered: Library) -> None:
    d = layered.decide(CITY, _example())
    ob = _by_rule(d)
    assert ob["delete-unflagged-after-60-days"].delete_by == date(2024, 5, 11)
    assert ob["delete-unflagged-after-60-days"].overridden_by == "keep-90-days"
    [c] = [c for c in d.conflicts if c.kind == "retention"]
    assert (c.rules, c.resolution, c.winner) == (["keep-90-days", "delete-unflagged-after-60-days"], "layer",
                                                 "keep-90-days")
    ret = d.summary.retention
    # The corrected statute (2021.2.0) sets a 90-day storage period and no deletion deadline (IL-2), and
    # the city's deletion is set aside: a minimum and no maximum.
    assert (ret.minimum, ret.maximum) == (date(2024, 6, 10), None)
    assert ret.maximum_rules == []


def test_an_explicit_override_of_a_statute_rule(layered: Library) -> None:
    d = layered.decide(CITY, _example())
    [c] = [c for c in d.conflicts if c.kind == "effect"]
    assert (c.rules, c.resolution, c.winner) == (["review-before-report", "report-before-review"], "overrides",
                                                 "report-before-review")
    review = _by_rule(d)["review-before-report"]
    assert review.overridden_by is None  # the city's window ends at the report; the rest stays in force
    assert [s.rule for s in review.suspended or []] == ["report-before-review"]


def test_stricter_department_retention_adds_up(layered: Library) -> None:
    inc = _example()
    inc["events"].append({"type": "complaint_filed", "at": "2024-04-02T09:00:00-05:00", "by": "subject"})
    d = layered.decide(CITY, inc)
    ob = _by_rule(d)
    assert "delete-unflagged-after-60-days" not in ob
    assert ob["keep-complaint-footage-one-year"].retain_until == date(2025, 4, 2)
    ret = d.summary.retention
    # The corrected statute (2021.2.0, IL-1): the complaint itself flags the recording, so its 2 years run
    # from the complaint and outlast the city's one year; both obligations stand, the later one is the minimum.
    assert (ret.minimum, ret.minimum_rules) == (date(2026, 4, 2), ["flag-complaint"])
    assert ret.pending == []
    assert ret.maximum is None
    assert not [c for c in d.conflicts if c.kind == "retention"]


def test_a_stricter_department_release_deadline_adds_up(layered: Library) -> None:
    d = layered.decide(CITY, _example())
    ob = _by_rule(d)
    assert ob["release-to-subject-in-ten-business-days"].overridden_by is None
    assert d.summary.release["subject"].by == date(2024, 4, 3)


def test_the_documented_command_works(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    result = CliRunner().invoke(main, ["decide", "--rulesets", str(ROOT / "rulesets"), "--rulesets", str(LAYERED),
                                       "--policy", CITY, str(LAYERED / "incident.json"), "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["layers"][0]["role"] == "base" and d["ruleset"]["id"] == CITY


def test_the_base_layer_is_the_statute_version_in_force_on_the_incident_day(tmp_path: Path) -> None:
    city = Ruleset.model_validate(_ruleset(
        "city-wide", "1.0.0", [{**KEEP, "id": "city-keep"}], status="draft", effective={"from": "2019-01-01"},
        extends={"ruleset": IL, "version": ">=2016.1.0 <2022.0.0"}))
    _write(tmp_path, city.model_dump(mode="json", by_alias=True, exclude_none=True))
    lib = Library.load(ROOT / "rulesets", tmp_path)
    d = lib.decide("city-wide", _il_incident("2020-03-01T10:00:00-06:00", "2020-03-01T10:30:00-06:00"))
    [base] = d.layers
    assert (base.version, base.in_force) == ("2016.3.0", True)
    assert "keep-90-days" in _rules(d)


# --- the property: a new version never changes the past ----------------------------------------------

def _conduct_capable(rule: dict[str, Any]) -> bool:
    """`governs: conduct` is allowed on `access`, and on `release` without a deadline (BWC216)."""
    return "access" in rule or ("release" in rule and "within" not in rule["release"])


@st.composite
def amendments(draw: st.DrawFn) -> dict[str, Any]:
    v1 = draw(ruleset_data(max_rules=5))
    v2 = draw(ruleset_data(max_rules=5))
    zone = v1["timezone"]
    timeline = draw(timelines(Ruleset.model_validate(v1)))
    tz = ZoneInfo(zone)
    first = datetime.fromisoformat(timeline["events"][0]["at"]).astimezone(tz)
    last = datetime.fromisoformat(timeline["events"][-1]["at"]).astimezone(tz)
    day_d = last.date() + timedelta(days=draw(st.integers(1, 400)))
    start = first.date() - timedelta(days=draw(st.integers(-30, 3000)))  # usually in force, not always
    start = min(start, day_d - timedelta(days=1))
    for data in (v1, v2):
        data.update(ruleset="prop", status="adopted")
        data.pop("extends", None)
        data.pop("supersedes", None)
    v1.update(version="1.0.0", effective={"from": start.isoformat(), "until": (day_d - timedelta(days=1)).isoformat()})
    v2.update(version="2.0.0", timezone=zone, supersedes="1.0.0", effective={"from": day_d.isoformat()})
    events = sorted({e["type"] for e in timeline["events"]})
    for data in (v1, v2):
        if draw(st.integers(0, 3)) == 0:
            data["version_date"] = draw(st.sampled_from([*events, "records_request"]))
    # Some of the new version's rules take the ids of old ones (so that an amendment would replace them).
    old_ids = [r["id"] for r in v1["rules"]]
    renames: dict[str, str] = {}
    for rule, old in zip(v2["rules"], old_ids, strict=False):
        if draw(st.booleans()) and old not in {r["id"] for r in v2["rules"]}:
            renames[rule["id"]] = old
    for rule in v2["rules"]:
        rule["id"] = renames.get(rule["id"], rule["id"])
        if rule.get("overrides"):
            rule["overrides"] = [renames.get(o, o) for o in rule["overrides"]]
        if draw(st.integers(0, 3)) == 0:
            rule["applies_to_existing_footage"] = True
        elif _conduct_capable(rule) and draw(st.integers(0, 3)) == 0:
            rule["governs"] = "conduct"  # bounds actions from D on, on footage of any date
    midnight = datetime.combine(day_d, datetime.min.time(), tz)
    before = draw(st.one_of(st.none(), st.integers(0, max(0, int((midnight - last).total_seconds()) - 1)).map(
        lambda s: (last + timedelta(seconds=s)).isoformat())))
    after = (midnight + timedelta(minutes=draw(st.integers(0, 800 * 24 * 60)))).isoformat()
    incident = {"id": "prop-incident", "timezone": zone, **timeline}
    return {"v1": v1, "v2": v2, "incident": incident, "before": before, "after": after, "d": day_d}


@PROPERTY
@given(amendments())
def test_a_new_version_never_changes_the_decision_of_an_earlier_incident(case: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        without, with_ = Path(tmp) / "without", Path(tmp) / "with"
        _write(without, case["v1"])
        _write(with_, case["v1"])
        _write(with_, case["v2"])
        old, new = Library.load(without), Library.load(with_)
        assert new.repository.versions("prop") == ["1.0.0", "2.0.0"]
        incident = case["incident"]
        for as_of in (case["before"], None):
            assert new.decide("prop", copy.deepcopy(incident), as_of).to_json() == \
                old.decide("prop", copy.deepcopy(incident), as_of).to_json()
        amends = any(r.get("applies_to_existing_footage") for r in case["v2"]["rules"])
        conduct = any(r.get("governs") == "conduct" for r in case["v2"]["rules"])
        a = old.decide("prop", copy.deepcopy(incident), case["after"])
        b = new.decide("prop", copy.deepcopy(incident), case["after"])
        assert b.ruleset.version == "1.0.0"
        roles = [(lay.version, lay.role) for lay in b.layers]
        if not (amends or conduct):
            assert b.to_json() == a.to_json()
        # Reaching back is explicit: an amendment layer, or the new version's rules about conduct from D on.
        assert (("2.0.0", "amendment") in roles) == amends
        assert (("2.0.0", "conduct") in roles) == conduct
