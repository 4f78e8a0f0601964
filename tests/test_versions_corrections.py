"""Corrections (`corrects:`), as docs/versions.md states them.

A correction is a new reading of the same law: same `effective` dates, it judges those dates in place
of the version it corrects, the old file still decides exactly as before when pinned, `bwc check`
does not count the corrected version for BWC301 and refuses a correction that names no version
(BWC307) or has other dates (BWC308); `bwc log` and `bwc diff` name the relation. And the property:
adding a correction changes no decision outside its dates, and pinning the corrected version gives
the decision it gave before the correction existed.
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
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import Library
from engine.cli import main
from policy import diff
from policy.canonical import to_yaml
from policy.diagnostics import CODES, RulesetError
from policy.in_force import corrected, judging
from policy.model import Ruleset
from policy.repository import Repository
from tests.strategies import ruleset_data, timelines

PROPERTY = settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEEP = {"id": "keep", "summary": "Keep footage 90 days.", "cite": "t 1",
        "retain": {"at_least": "P90D", "after": "incident"}}
DELETE_ON_90 = {"id": "delete", "summary": "Delete footage within 90 days.", "cite": "t 1",
                "delete": {"within": "P90D", "after": "incident"}}


def _ruleset(version: str, rules: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    return {"ruleset": "corr", "version": version, "title": f"Test ruleset corr {version}", "status": "adopted",
            "effective": {"from": "2020-01-01"}, "timezone": "America/Chicago", "drafted_by": "tests",
            "sources": [{"id": "t", "title": "test source"}], "rules": rules, **header}


def _write(folder: Path, data: dict[str, Any]) -> Path:
    target = folder / data["ruleset"] / f"{data['version']}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_yaml(Ruleset.model_validate(data)), encoding="utf-8")
    return target


def _family(tmp_path: Path, *, correction_status: str = "adopted") -> Path:
    """1.0.0 (2020 to 2021-06-30, keep + delete on day 90), its correction 1.1.0 (keep only), and
    2.0.0 from 2021-07-01 superseding 1.0.0."""
    first = {"from": "2020-01-01", "until": "2021-06-30"}
    _write(tmp_path, _ruleset("1.0.0", [KEEP, DELETE_ON_90], status="superseded", effective=first))
    _write(tmp_path, _ruleset("1.1.0", [KEEP], status=correction_status, effective=first, corrects="1.0.0"))
    _write(tmp_path, _ruleset("2.0.0", [KEEP, {**DELETE_ON_90, "delete": {"within": "P1Y", "after": "incident"}}],
                              effective={"from": "2021-07-01"}, supersedes="1.0.0"))
    return tmp_path


def _incident(day: str) -> dict[str, Any]:
    return {"id": f"inc-{day}", "timezone": "America/Chicago",
            "events": [{"type": "contact_initiated", "at": f"{day}T10:00:00-05:00"}]}


def _errors(tmp_path: Path) -> list[tuple[str, str, int | None]]:
    with pytest.raises(RulesetError) as exc:
        Repository.load(tmp_path)
    return [(d.code, Path(d.file).name, d.line) for d in exc.value.diagnostics]


# --- choosing ---------------------------------------------------------------------------------------

def test_the_correction_judges_the_dates_of_the_version_it_corrects(tmp_path: Path) -> None:
    lib = Library.load(_family(tmp_path))
    d = lib.decide("corr", _incident("2021-03-01"))
    assert (d.ruleset.version, d.in_force) == ("1.1.0", True)
    assert {o.rule for o in d.obligations} == {"keep"}
    assert d.summary.retention.maximum is None  # the corrected reading has no day-90 deletion


def test_pinning_the_corrected_version_reproduces_its_decisions(tmp_path: Path) -> None:
    lib = Library.load(_family(tmp_path))
    pinned = lib.decide("corr@1.0.0", _incident("2021-03-01"))
    assert (pinned.ruleset.version, pinned.in_force) == ("1.0.0", True)
    assert {o.rule for o in pinned.obligations} == {"keep", "delete"}
    # The same decision, digest and all, as before the correction was written.
    before = tmp_path / "before"
    _write(before, _ruleset("1.0.0", [KEEP, DELETE_ON_90], status="superseded",
                            effective={"from": "2020-01-01", "until": "2021-06-30"}))
    old = Library.load(before).decide("corr", _incident("2021-03-01"))
    assert pinned.to_json() == old.to_json()


def test_a_correction_leaves_the_later_version_alone(tmp_path: Path) -> None:
    lib = Library.load(_family(tmp_path))
    d = lib.decide("corr", _incident("2021-08-01"))
    assert (d.ruleset.version, d.layers) == ("2.0.0", [])


def test_a_draft_correction_corrects_nothing(tmp_path: Path) -> None:
    lib = Library.load(_family(tmp_path, correction_status="draft"))
    assert lib.decide("corr", _incident("2021-03-01")).ruleset.version == "1.0.0"
    assert lib.repository.in_effect("corr", date(2021, 3, 1)).version == "1.0.0"  # type: ignore[union-attr]


def test_in_effect_and_judging_skip_the_corrected_version(tmp_path: Path) -> None:
    repo = Repository.load(_family(tmp_path))
    assert repo.in_effect("corr", date(2021, 3, 1)).version == "1.1.0"  # type: ignore[union-attr]
    family = [repo.get("corr", v) for v in repo.versions("corr")]
    assert corrected(family) == {"1.0.0"}
    assert [r.version for r in judging(family)] == ["1.1.0", "2.0.0"]


def test_a_correction_of_a_correction(tmp_path: Path) -> None:
    _family(tmp_path)
    first = {"from": "2020-01-01", "until": "2021-06-30"}
    _write(tmp_path, _ruleset("1.2.0", [{**KEEP, "retain": {"at_least": "P100D", "after": "incident"}}],
                              effective=first, corrects="1.1.0"))
    lib = Library.load(tmp_path)
    assert lib.decide("corr", _incident("2021-03-01")).ruleset.version == "1.2.0"
    assert lib.decide("corr@1.1.0", _incident("2021-03-01")).ruleset.version == "1.1.0"


# --- checking ---------------------------------------------------------------------------------------

def test_the_corrected_version_does_not_count_for_bwc301(tmp_path: Path) -> None:
    repo = Repository.load(_family(tmp_path))  # 1.0.0 and 1.1.0 share every day: no BWC301
    assert repo.versions("corr") == ["1.0.0", "1.1.0", "2.0.0"]


def test_two_corrections_of_one_version_overlap(tmp_path: Path) -> None:
    _family(tmp_path)
    first = {"from": "2020-01-01", "until": "2021-06-30"}
    _write(tmp_path, _ruleset("1.2.0", [KEEP], status="superseded", effective=first, corrects="1.0.0"))
    assert [c for c, _, _ in _errors(tmp_path)] == ["BWC301"]


def test_corrects_a_missing_version(tmp_path: Path) -> None:
    _write(tmp_path, _ruleset("1.0.0", [KEEP]))
    fix = _write(tmp_path, _ruleset("1.1.0", [KEEP], corrects="1.0.1", status="proposed"))
    [(code, file, line)] = _errors(tmp_path)
    assert (code, file) == ("BWC307", "1.1.0.yaml") and line is not None
    assert fix.read_text(encoding="utf-8").splitlines()[line - 1].startswith("corrects: 1.0.1")
    with pytest.raises(RulesetError, match=r"did you mean `1\.0\.0`"):
        Repository.load(tmp_path)


def test_corrects_itself(tmp_path: Path) -> None:
    _write(tmp_path, _ruleset("1.0.0", [KEEP], corrects="1.0.0"))
    with pytest.raises(RulesetError, match="names this very version") as exc:
        Repository.load(tmp_path)
    assert [d.code for d in exc.value.diagnostics] == ["BWC307"]


def test_versions_cannot_correct_each_other(tmp_path: Path) -> None:
    _write(tmp_path, _ruleset("1.0.0", [KEEP], corrects="1.1.0", status="draft"))
    _write(tmp_path, _ruleset("1.1.0", [KEEP], corrects="1.0.0", status="draft"))
    assert sorted(c for c, _, _ in _errors(tmp_path)) == ["BWC307", "BWC307"]


@pytest.mark.parametrize("effective", [{"from": "2020-01-02"}, {"from": "2020-01-01", "until": "2030-12-31"}])
def test_a_correction_has_the_same_dates(tmp_path: Path, effective: dict[str, str]) -> None:
    _write(tmp_path, _ruleset("1.0.0", [KEEP]))
    _write(tmp_path, _ruleset("1.1.0", [KEEP], corrects="1.0.0", effective=effective))
    codes = [c for c, f, _ in _errors(tmp_path) if f == "1.1.0.yaml"]
    assert codes[0] == "BWC308"


def test_the_new_codes_are_registered() -> None:
    assert CODES["BWC307"] and CODES["BWC308"]


# --- log and diff -----------------------------------------------------------------------------------

def test_log_shows_the_relation(tmp_path: Path) -> None:
    _family(tmp_path)
    history = {h.version: h for h in diff.history(Repository.load(tmp_path), "corr")}
    assert (history["1.1.0"].corrects, history["1.1.0"].previous) == ("1.0.0", "1.0.0")
    assert history["1.0.0"].corrected_by == ["1.1.0"]
    assert history["1.1.0"].summary == "-1 rule: removed delete"
    out = CliRunner().invoke(main, ["log", "--rulesets", str(tmp_path), "corr"])
    assert out.exit_code == 0, out.output
    assert "corrects 1.0.0: a new reading of the same law, on the same dates" in out.output
    assert "corrected by 1.1.0: decides only when pinned as corr@1.0.0" in out.output
    data = json.loads(CliRunner().invoke(main, ["log", "--rulesets", str(tmp_path), "corr", "--format", "json"]).output)
    assert {e["version"]: e["corrects"] for e in data} == {"2.0.0": None, "1.1.0": "1.0.0", "1.0.0": None}


def test_diff_reads_as_the_correction(tmp_path: Path) -> None:
    _family(tmp_path)
    out = CliRunner().invoke(main, ["diff", "--rulesets", str(tmp_path), "corr@1.0.0", "corr@1.1.0"])
    assert out.exit_code == 0, out.output
    assert "corrects 1.0.0: a new reading of the same law, in force on the same dates" in out.output
    assert "in force:" not in out.output  # the dates did not change


# --- the property -----------------------------------------------------------------------------------

@st.composite
def corrections(draw: st.DrawFn) -> dict[str, Any]:
    v1 = draw(ruleset_data(max_rules=4))
    fix = draw(ruleset_data(max_rules=4))
    v2 = draw(ruleset_data(max_rules=4))
    zone = v1["timezone"]
    timeline = draw(timelines(Ruleset.model_validate(v1)))
    tz = ZoneInfo(zone)
    first = datetime.fromisoformat(timeline["events"][0]["at"]).astimezone(tz)
    last = datetime.fromisoformat(timeline["events"][-1]["at"]).astimezone(tz)
    day_d = last.date() + timedelta(days=draw(st.integers(1, 400)))
    start = min(first.date() - timedelta(days=draw(st.integers(0, 3000))), day_d - timedelta(days=1))
    dates = {"from": start.isoformat(), "until": (day_d - timedelta(days=1)).isoformat()}
    for data in (v1, fix, v2):
        data.update(ruleset="prop", status="adopted", timezone=zone)
        for key in ("extends", "supersedes", "version_date"):
            data.pop(key, None)
        for rule in data["rules"]:
            rule.pop("applies_to_existing_footage", None)
    v1.update(version="1.0.0", effective=dict(dates), status="superseded")
    fix.update(version="1.1.0", effective=dict(dates), status="superseded", corrects="1.0.0")
    v2.update(version="2.0.0", supersedes="1.0.0", effective={"from": day_d.isoformat()})
    shift = timedelta(days=(day_d - first.date()).days + draw(st.integers(0, 400)))
    later = {**timeline, "events": [{**e, "at": (datetime.fromisoformat(e["at"]) + shift).isoformat()}
                                    for e in timeline["events"]]}
    return {"v1": v1, "fix": fix, "v2": v2, "before": {"id": "p-before", "timezone": zone, **timeline},
            "after": {"id": "p-after", "timezone": zone, **later}}


@PROPERTY
@given(corrections())
def test_a_correction_changes_only_the_decisions_of_its_dates(case: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        without, with_ = Path(tmp) / "without", Path(tmp) / "with"
        for folder in (without, with_):
            _write(folder, case["v1"])
            _write(folder, case["v2"])
        _write(with_, case["fix"])
        old, new = Library.load(without), Library.load(with_)
        # Outside the corrected dates: nothing changes.
        assert new.decide("prop", copy.deepcopy(case["after"])).to_json() == \
            old.decide("prop", copy.deepcopy(case["after"])).to_json()
        # On them: the correction judges, and pinning the corrected version reproduces the old decision.
        before = case["before"]
        pinned = new.decide("prop@1.0.0", copy.deepcopy(before)).to_json()
        assert pinned == old.decide("prop@1.0.0", copy.deepcopy(before)).to_json()
        chosen = new.decide("prop", copy.deepcopy(before))
        if old.decide("prop", copy.deepcopy(before)).ruleset.version == "1.0.0":
            assert chosen.ruleset.version == "1.1.0"
            assert chosen.to_json() == new.decide("prop@1.1.0", copy.deepcopy(before)).to_json()
