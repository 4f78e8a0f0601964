"""The bundled rulesets: valid, and every scenario passes with every rule exercised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main


def test_bwc_test_passes_with_full_coverage(root: Path) -> None:
    result = CliRunner().invoke(main, ["test", str(root / "rulesets"), "--coverage", "--format", "json"])
    report = json.loads(result.stdout)
    failures = [(s["name"], s["failures"]) for s in report["scenarios"] if not s["passed"]]
    assert failures == []
    assert report["problems"] == []
    assert {c["ruleset"]: c["not_exercised"] for c in report["coverage"] if c["not_exercised"]} == {}
    assert result.exit_code == 0


def test_every_ruleset_has_at_least_8_scenarios_citing_a_clause(root: Path) -> None:
    for folder in sorted(p for p in (root / "rulesets").iterdir() if p.is_dir()):
        report = json.loads(CliRunner().invoke(main, ["test", str(folder), "--format", "json"]).stdout)
        assert len(report["scenarios"]) >= 8, folder.name
        assert all(s["cite"].strip() for s in report["scenarios"])


def test_a_failing_scenario_is_reported_with_a_readable_difference(root: Path, tmp_path: Path) -> None:
    tests = tmp_path / "colorado-24-31-902" / "tests"
    tests.mkdir(parents=True)
    (tests / "wrong.yaml").write_text("""
ruleset: colorado-24-31-902
scenarios:
  - name: a deliberately wrong deadline
    cite: crs (2)(a)
    incident:
      events:
        - {type: complaint_filed, at: 2024-02-01T10:00:00-07:00, misconduct: true}
        - {type: records_request, at: 2024-02-20T16:00:00-07:00}
    expect:
      - {rule: release-after-misconduct-complaint, by: 2024-03-11}
""")
    result = CliRunner().invoke(main, ["test", str(tmp_path), "--rulesets", str(root / "rulesets")])
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "by: expected '2024-03-11', decided '2024-03-12'" in result.output
    junit = CliRunner().invoke(main, ["test", str(tmp_path), "--rulesets", str(root / "rulesets"),
                                      "--format", "junit"])
    assert 'failures="1"' in junit.output and "<failure" in junit.output


@pytest.mark.parametrize("kind", ["scenarios", "decision"])
def test_committed_schemas_are_current(root: Path, kind: str) -> None:
    committed = (root / "schemas" / f"{kind}.schema.json").read_text()
    result = CliRunner().invoke(main, ["schema", "--kind", kind])
    assert result.exit_code == 0 and result.output == committed


def test_a_misspelt_rule_id_in_an_expectation_fails_the_scenario(root: Path, tmp_path: Path) -> None:
    tests = tmp_path / "colorado-24-31-902" / "tests"
    tests.mkdir(parents=True)
    (tests / "typo.yaml").write_text("""
ruleset: colorado-24-31-902
scenarios:
  - name: expect_not with a misspelt rule id would always pass
    cite: crs (2)(a)
    incident:
      events:
        - {type: records_request, at: 2024-02-20T16:00:00-07:00}
    expect_not:
      - {rule: release-after-misconduct-complant}
""")
    result = CliRunner().invoke(main, ["test", str(tmp_path), "--rulesets", str(root / "rulesets")])
    assert result.exit_code == 1
    assert "`release-after-misconduct-complant` is not a rule of colorado-24-31-902@2021.3.0" in result.output


def test_a_malformed_scenario_file_is_reported_in_plain_words(root: Path, tmp_path: Path) -> None:
    tests = tmp_path / "colorado-24-31-902" / "tests"
    tests.mkdir(parents=True)
    (tests / "bad.yaml").write_text("""ruleset: colorado-24-31-902
scenarios:
  - name: a wrong key
    cite: crs (2)(a)
    incident:
      events:
        - {type: records_request, at: 2024-02-20T16:00:00-07:00}
    expect:
      - {rule: release-after-misconduct-complaint, deadline: 2024-03-12}
""")
    result = CliRunner().invoke(main, ["test", str(tmp_path), "--rulesets", str(root / "rulesets")])
    assert result.exit_code == 1
    assert "bad.yaml:9:" in result.output
    assert "`deadline` is not a key a scenario file knows (scenarios[1].expect[1].deadline)" in result.output
