"""The synthetic export generator (engine/tools/generate/): determinism, planted shares, truth, formats,
and (when engine/audit/ exists) an audit that finds exactly the planted violations."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from engine.api import Library
from engine.audit import Auditor
from engine.audit.tally import Tally
from engine.tools.generate import CHECKS, GenerateError, generate, parse_shares

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ["illinois-50-ilcs-706-10-20", "california-gov-7923-625", "california-pc-832-19", "colorado-24-31-902",
            "boston-rule-405", "boston-bpcat-draft"]


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


def _truth(path: Path) -> set[tuple[str, str, str]]:
    return {(d["incident_id"], d["check"], d["rule"]) for d in map(json.loads, path.read_text().splitlines())}


def test_same_seed_same_bytes(library: Library, tmp_path: Path) -> None:
    for name in ("a", "b"):
        generate(library, "illinois-50-ilcs-706-10-20", tmp_path / f"{name}.jsonl", incidents=150, seed=11,
                 shares=0.2, truth=tmp_path / f"{name}.truth.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.truth.jsonl").read_bytes() == (tmp_path / "b.truth.jsonl").read_bytes()
    generate(library, "illinois-50-ilcs-706-10-20", tmp_path / "c.jsonl", incidents=150, seed=12, shares=0.2)
    assert (tmp_path / "c.jsonl").read_bytes() != (tmp_path / "a.jsonl").read_bytes()


def test_workers_give_the_same_bytes(library: Library, tmp_path: Path) -> None:
    generate(library, "california-pc-832-19", tmp_path / "one.jsonl", incidents=1200, seed=3)
    generate(library, "california-pc-832-19", tmp_path / "two.jsonl", incidents=1200, seed=3, jobs=2,
             rulesets=[ROOT / "rulesets"])
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()


def test_incidents_are_realistic(library: Library, tmp_path: Path) -> None:
    out = tmp_path / "il.jsonl"
    stats = generate(library, "illinois-50-ilcs-706-10-20", out, incidents=400, seed=1)
    incidents = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(incidents) == stats.incidents == 400
    assert len({i["id"] for i in incidents}) == 400
    assert 7 <= stats.events / stats.incidents <= 14  # about ten events each
    months = {i["events"][0]["at"][:7] for i in incidents}
    assert len(months) >= 10  # spread over a year
    assert {i["groups"]["district"] for i in incidents} >= {"District 1", "District 2"}
    types = {e["type"] for i in incidents for e in i["events"]}
    assert {"recording_started", "recording_stopped", "notice_given", "footage_viewed", "footage_deleted",
            "footage_released"} <= types
    policy = library.select("illinois-50-ilcs-706-10-20")
    for inc in incidents[:50]:  # every incident fits the vocabulary
        policy.read({k: v for k, v in inc.items() if k != "groups"})


def test_planted_share_roughly_matches_and_truth_lists_them(library: Library, tmp_path: Path) -> None:
    for rid, share in (("illinois-50-ilcs-706-10-20", 0.25), ("boston-bpcat-draft", 0.1)):
        truth = tmp_path / f"{rid}.truth.jsonl"
        stats = generate(library, rid, tmp_path / f"{rid}.jsonl", incidents=1500, seed=2, shares=share, truth=truth)
        lines = _truth(truth)
        assert len(lines) == stats.truth
        for check in CHECKS:
            if stats.eligible[check] >= 150:
                got = stats.planted[check] / stats.eligible[check]
                assert abs(got - share) < 0.06, (rid, check, got)
            if stats.planted[check]:
                assert any(c == check for _, c, _ in lines)
        incidents_with = {i for i, _, _ in lines}
        assert 0 < len(incidents_with) < stats.incidents


def test_no_share_plants_nothing(library: Library, tmp_path: Path) -> None:
    truth = tmp_path / "t.jsonl"
    stats = generate(library, "colorado-24-31-902", tmp_path / "x.jsonl", incidents=200, seed=4, shares=0.0,
                     truth=truth)
    assert stats.truth == 0 and truth.read_text() == ""


def test_csv_and_jsonl_carry_the_same_incidents(library: Library, tmp_path: Path) -> None:
    generate(library, "california-gov-7923-625", tmp_path / "x.jsonl", incidents=120, seed=9, shares=0.3)
    generate(library, "california-gov-7923-625", tmp_path / "x.csv", incidents=120, seed=9, shares=0.3)
    incidents = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text().splitlines()]
    with (tmp_path / "x.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(len(i["events"]) for i in incidents)
    k = 0
    for inc in incidents:
        for ev in inc["events"]:
            row = rows[k]
            k += 1
            assert (row["incident_id"], row["timezone"], row["type"], row["at"]) == (
                inc["id"], inc["timezone"], ev["type"], ev["at"])
            for name, value in ev.items():
                if name not in ("type", "at"):
                    assert row[name] == (str(value).lower() if isinstance(value, bool) else str(value))
            for name, value in inc["facts"].items():
                assert row[f"fact.{name}"] == (str(value).lower() if isinstance(value, bool) else str(value))
            assert row["group.district"] == inc["groups"]["district"]


def test_bad_options(library: Library, tmp_path: Path) -> None:
    assert parse_shares("0.1,no_notice=0.5")["no_notice"] == 0.5
    assert parse_shares("0.1,no_notice=0.5")["released_late"] == 0.1
    with pytest.raises(GenerateError):
        parse_shares("camera=0.2")
    with pytest.raises(GenerateError):
        parse_shares("1.5")
    # one of two shares for a check would be dropped without a word: refused
    with pytest.raises(GenerateError, match="`no_notice` is given a share twice"):
        parse_shares("no_notice=0.3,no_notice=0.5")
    for text in ("no_notice=0.3,0.1", "0.1,0.2"):
        with pytest.raises(GenerateError, match="the share for every check comes once, first"):
            parse_shares(text)
    with pytest.raises(GenerateError):
        generate(library, "illinois-50-ilcs-706-10-20", tmp_path / "x.txt", incidents=1, fmt="xml")  # type: ignore[arg-type]
    assert not (tmp_path / "x.txt").exists()


def test_cli_generate(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    out, truth = tmp_path / "g.csv", tmp_path / "g.truth.jsonl"
    result = CliRunner().invoke(main, ["generate", "--rulesets", str(ROOT / "rulesets"), "--policy",
                                       "california-pc-832-19", "--incidents", "50", "--seed", "5", "--violations",
                                       "0.2", str(out), "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("incident_id,timezone,type,at,")
    assert truth.exists()


@pytest.mark.parametrize("rid", RULESETS)
def test_audit_finds_exactly_the_planted_violations(library: Library, tmp_path: Path, rid: str) -> None:
    truth = tmp_path / "truth.jsonl"
    out = tmp_path / "export.jsonl"
    generate(library, rid, out, incidents=300, seed=21, shares=0.3, truth=truth)
    auditor = Auditor(library, rid)
    found: set[tuple[str, str, str]] = set()
    for line in out.read_text().splitlines():
        inc = json.loads(line)
        groups = inc.pop("groups")
        for f in auditor.audit(inc, groups).findings:
            if f.severity == "violation":
                found.add((f.incident_id, f.check, f.rule))
    planted = _truth(truth)
    assert found - planted == set(), "violations the generator did not plant"
    assert planted - found == set(), "planted violations the audit missed"


@pytest.mark.parametrize("rid", RULESETS)
def test_not_applicable_findings_counted_in_bulk_equal_those_counted_one_by_one(
        library: Library, tmp_path: Path, rid: str) -> None:
    out = tmp_path / "export.jsonl"
    generate(library, rid, out, incidents=150, seed=5, shares=0.3)
    auditor = Auditor(library, rid)
    bulk, one_by_one = Tally(), Counter[tuple[str, str, str]]()
    groups_one_by_one = Counter[tuple[str, str, str]]()
    for line in out.read_text().splitlines():
        inc = json.loads(line)
        result = auditor.audit(inc, inc.pop("groups"))
        bulk.add(result)
        for f in result.findings:
            for dim, key in (("severity", f.severity), ("rule", f.rule), ("check", f.check), ("month", f.month)):
                one_by_one[(dim, key, f.severity)] += 1
            for col, value in f.groups.items():
                groups_one_by_one[(col, value, f.severity)] += 1
    assert bulk.counts == one_by_one and bulk.groups == groups_one_by_one


def test_the_truth_file_may_not_be_the_export(library: Library, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    out.write_text("the user's export\n")
    (tmp_path / "link.jsonl").symlink_to(out)
    os.link(out, tmp_path / "hard.jsonl")
    for truth in (out, tmp_path / "." / "x.jsonl", tmp_path / "link.jsonl", tmp_path / "hard.jsonl"):
        with pytest.raises(GenerateError, match="truth file"):
            generate(library, "illinois-50-ilcs-706-10-20", out, incidents=3, truth=truth)
    assert out.read_text() == "the user's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.jsonl", "link.jsonl", "x.jsonl"]


def test_months_past_the_year_9999_are_a_clear_error(library: Library, tmp_path: Path) -> None:
    from datetime import date

    for start, months in ((date(9999, 12, 1), 12), (date(9999, 1, 1), 13)):
        with pytest.raises(GenerateError, match="past December 9999"):
            generate(library, "illinois-50-ilcs-706-10-20", tmp_path / "x.jsonl", incidents=5, start=start,
                     months=months)
    # One month that fits: its later deadlines (90 days of retention) run past the calendar.
    with pytest.raises(GenerateError, match="9999"):
        generate(library, "illinois-50-ilcs-706-10-20", tmp_path / "x.jsonl", incidents=50,
                 start=date(9999, 12, 1), months=1)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_leaves_no_partial_output(library: Library, tmp_path: Path) -> None:
    calls = 0

    def progress(n: int) -> None:
        nonlocal calls
        calls += 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(library, "illinois-50-ilcs-706-10-20", tmp_path / "x.jsonl", incidents=150, seed=1,
                 truth=tmp_path / "t.jsonl", progress=progress)
    assert calls == 1 and list(tmp_path.iterdir()) == []


def test_cli_generate_refuses_start_past_9999(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    result = CliRunner().invoke(main, ["generate", "--rulesets", str(ROOT / "rulesets"), "--policy",
                                       "illinois-50-ilcs-706-10-20", "--incidents", "5", "--start", "9999-12",
                                       str(tmp_path / "x.jsonl")])
    assert result.exit_code == 1 and "9999" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("ref", "start", "months"), [
    ("illinois-50-ilcs-706-10-20", "2020-07-01", 24),  # across 1 July 2021, when the 2021 versions took effect
    ("illinois-50-ilcs-706-10-20@2016.2.0", None, 12),  # pinned: from the month it took effect, 2016-01
    ("colorado-24-31-902@2021.1.0", None, 12)])  # pinned to the version without two facts the newest has
def test_each_incident_is_drawn_from_the_words_of_the_version_that_judges_it(
        library: Library, tmp_path: Path, ref: str, start: str | None, months: int) -> None:
    from datetime import date

    truth, out = tmp_path / "truth.jsonl", tmp_path / "export.jsonl"
    generate(library, ref, out, incidents=200, seed=3, shares=0.3, truth=truth,
             start=None if start is None else date.fromisoformat(start), months=months)
    auditor = Auditor(library, ref)
    found: set[tuple[str, str, str]] = set()
    judged_by: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        inc = json.loads(line)
        # read with the vocabulary of the version that judges it, which refuses a fact or event it lacks
        _, policy = library.read(ref, {k: v for k, v in inc.items() if k != "groups"})
        judged_by[policy.program.ruleset.version] += 1
        found |= {(f.incident_id, f.check, f.rule) for f in auditor.audit(inc, inc.pop("groups")).findings
                  if f.severity == "violation"}
    assert found == _truth(truth) and found
    if "@" in ref:  # dated within the pinned version's range, so that it has obligations to plant
        assert set(judged_by) == {ref.partition("@")[2]}
    else:
        assert set(judged_by) == {"2016.3.0", "2021.3.0"}


def test_a_ruleset_taking_effect_in_late_december_9999_asks_for_start(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "rulesets" / "minnesota-13-825"
    shutil.copytree(ROOT / "rulesets" / "minnesota-13-825", folder)
    for version in folder.glob("*.yaml"):  # the first reading and its correction (same dates)
        text = version.read_text(encoding="utf-8")
        version.write_text(text.replace("effective: {from: 2016-08-01}", "effective: {from: 9999-12-15}"),
                           encoding="utf-8")
    with pytest.raises(GenerateError, match=r"takes effect on 9999-12-15: no whole month is left .* give --start"):
        generate(Library.load(tmp_path / "rulesets"), "minnesota-13-825", tmp_path / "x.jsonl", incidents=5)
    assert not (tmp_path / "x.jsonl").exists()
