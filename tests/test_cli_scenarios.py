"""`bwc test` on scenario files whose incidents hold values that are not values: a clean diagnostic at
the line and column of the value, the other scenarios still run, exit 1, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import cli
from engine.tools.scenarios.model import _same, expected_value

ROOT = Path(__file__).resolve().parent.parent
POLICY = "colorado-24-31-902"

GOOD = """\
  - name: a good one
    cite: crs (1)(a)(II)(A)
    incident:
      events:
        - {type: dispatched, at: 2024-01-17T21:02:00-07:00}
        - {type: arrived, at: 2024-01-17T21:09:00-07:00}
    expect:
      - {rule: record-calls-for-service, kind: record}
"""


def _scenarios(tmp_path: Path, bad: str) -> Path:
    folder = tmp_path / "rulesets" / POLICY
    shutil.copytree(ROOT / "rulesets" / POLICY, folder)
    for old in (folder / "tests").glob("*.yaml"):
        old.unlink()
    (folder / "tests" / "hostile.yaml").write_text(f"ruleset: {POLICY}\nscenarios:\n{GOOD}{bad}", encoding="utf-8")
    return tmp_path / "rulesets"


def _bad(incident: str, as_of: str = "") -> str:
    return ("  - name: the bad one\n    cite: crs (1)\n" + (f"    as_of: {as_of}\n" if as_of else "")
            + "    incident:\n" + incident)


EVENT = "      events:\n        - {type: dispatched, at: 2024-01-17T21:02:00-07:00}\n"


@pytest.mark.parametrize(("bad", "line", "says"), [
    (_bad("      timezone: America\n" + EVENT), 14, "`America` is not a time zone"),
    (_bad("      timezone: localtime\n" + EVENT), 14, "`localtime` is not a time zone"),
    (_bad("      timezone: US\n" + EVENT), 14, "`US` is not a time zone"),
    (_bad("      timezone: \"Europe/London # notes\"\n" + EVENT), 14, "is not a time zone"),
    (_bad("      events:\n        - {type: dispatched, at: \"2024-01-17T25:02:00-07:00\"}\n"), 15,
     "is not a time of the calendar"),
    (_bad("      events:\n        - {type: dispatched, at: 2024-01-17}\n"), 15, "is not a time in ISO 8601"),
    (_bad("      events:\n        - {type: dispatched, at: 9999-12-31T23:02:00-07:00}\n"), 15,
     "outside the calendar"),
    (_bad(EVENT, as_of="\"yesterday\""), 13, "as_of"),
])
def test_a_bad_value_in_a_scenario_is_a_diagnostic_at_its_position(tmp_path: Path, bad: str, line: int,
                                                                    says: str) -> None:
    rulesets = _scenarios(tmp_path, bad)
    result = CliRunner().invoke(cli.main, ["test", str(rulesets)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert f"hostile.yaml:{line}:" in result.stdout, result.stdout
    assert "BWC112" in result.stdout and says in result.stdout
    assert "pass  colorado-24-31-902@2021.3.0  a good one" in result.stdout  # the others still ran


# --- times and dates in expectations: checked like an event's `at`, compared as instants and days ---------

WELFARE = ("    incident:\n      events:\n        - {type: welfare_check, at: 2024-05-02T10:00:00-06:00}\n"
           "        - {type: encounter_ended, at: 2024-05-02T12:30:00-06:00}\n")


def _expecting(which: str, entry: str) -> str:
    """A scenario (its entry on line 18 of the file) with one expectation under `which`."""
    return f"  - name: the bad one\n    cite: crs (1)\n{WELFARE}    {which}:\n      - {entry}\n"


def _outcome(result_stdout: str, name: str) -> str:
    return next(line for line in result_stdout.splitlines() if line.endswith(f"{name}  [crs (1)]"))


@pytest.mark.parametrize(("which", "entry", "passes"), [
    # the same instant as the decided trigger (10:00 at -06:00), written in UTC: it was decided
    ("expect_not", "{rule: record-welfare-checks, trigger: 2024-05-02T16:00:00Z}", False),
    ("expect_not", "{rule: record-welfare-checks, trigger: \"2024-05-02T12:00:00-04:00\"}", False),
    ("expect_not", "{rule: record-welfare-checks, window_until: 2024-05-02T18:30:00.000+00:00}", False),
    ("expect", "{rule: record-welfare-checks, trigger: 2024-05-02T16:00:00Z}", True),
    ("expect", "{rule: record-welfare-checks, window_from: 2024-05-02T16:00:00.5Z}", False),
    ("expect", "{rule: record-welfare-checks, window_from: 2024-05-02T11:00:00-05:00, "
               "window_until: 2024-05-02T18:30:00+00:00}", True),
    # another instant, in any offset, is another time
    ("expect", "{rule: record-welfare-checks, trigger: 2024-05-02T10:00:00Z}", False),
    ("expect_not", "{rule: record-welfare-checks, trigger: 2024-05-02T10:00:00Z}", True),
])
def test_expected_times_are_compared_as_instants(tmp_path: Path, which: str, entry: str, passes: bool) -> None:
    rulesets = _scenarios(tmp_path, _expecting(which, entry))
    result = CliRunner().invoke(cli.main, ["test", str(rulesets)])
    assert result.exit_code == (0 if passes else 1), result.output
    assert _outcome(result.stdout, "the bad one").startswith("pass" if passes else "FAIL"), result.stdout
    assert "BWC" not in result.stdout
    if which == "expect_not" and not passes:  # the failure says why a time written otherwise was the one decided
        assert "the same moment" in result.stdout, result.stdout


@pytest.mark.parametrize(("written", "decided", "same"), [
    ("pending:flagged+P24M", "pending:flagged+P2Y", True),  # a year is twelve months on this calendar
    ("pending:flagged+P1Y12M", "pending:flagged+P2Y", True),
    ("pending:flagged+P14D", "pending:flagged+P2W", True),
    ("pending:flagged+P0D", "pending:flagged", True),
    ("pending:flagged+P730D", "pending:flagged+P2Y", False),  # 730 days is not two years after 29 February
    ("pending:flagged+P1D", "pending:flagged+PT24H", False),  # a calendar day can last 23 or 25 hours
    ("pending:flagged+10 business days", "pending:flagged+P2W", False),
    ("pending:closed+P2Y", "pending:flagged+P2Y", False),
])
def test_an_awaited_date_is_compared_by_what_its_duration_counts(written: str, decided: str, same: bool) -> None:
    assert _same("retain_until", written, decided) is same
    assert (expected_value("retain_until", written) == expected_value("retain_until", decided)) is same


@pytest.mark.parametrize(("which", "key", "value", "says"), [
    ("expect_not", "window_from", "2024-02-30T99:00:00", "is not a time of the calendar"),
    ("expect_not", "trigger", "2024-05-02T10:00:00", "has no time zone offset"),
    ("expect", "trigger", "2024-05-02T10:00:00", "has no time zone offset"),
    ("expect", "trigger", "\"pending:welfare_check\"", "is not a time in ISO 8601"),
    ("expect", "window_until", "2024-05-02", "is not a time in ISO 8601"),
    ("expect_not", "window_until", "soon", "is not a time in ISO 8601"),
    ("expect", "promptly_after", "2024-05-02T25:00:00-06:00", "is not a time of the calendar"),
    ("expect", "window_from", "\"pending:\"", "is not `pending:` followed by an event type"),
    ("expect", "window_until", "\"pending:encounter_ended+P1D\"", "no duration"),
    ("expect_not", "by", "2024-02-30", "is not a day of the calendar"),
    ("expect", "retain_until", "2024-3-1", "is not a date written YYYY-MM-DD"),
    ("expect", "delete_by", "2024-03-01T00:00:00-06:00", "is not a date written YYYY-MM-DD"),
    ("expect_not", "delay_until", "\"pending:agency_aware+P45X\"", "is not a duration"),
    ("expect", "delays", "[{until: 2023-02-29}]", "is not a day of the calendar"),
    ("expect", "trigger", "9999-12-31T23:00:00-06:00", "outside the calendar"),
])
def test_a_bad_time_or_date_in_an_expectation_is_a_diagnostic_at_its_position(
        tmp_path: Path, which: str, key: str, value: str, says: str) -> None:
    entry = f"{{rule: record-welfare-checks, {key}: {value}}}"
    rulesets = _scenarios(tmp_path, _expecting(which, entry))
    result = CliRunner().invoke(cli.main, ["test", str(rulesets)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    column = f"      - {entry}".index(value.removeprefix("[{until: ").removesuffix("}]")) + 1
    assert f"hostile.yaml:18:{column}: error BWC112: scenarios[2].{which}[1].{key}" in result.stdout, result.stdout
    assert says in result.stdout, result.stdout
    assert "the bad one" not in result.stdout.replace("error BWC112", "")  # not run: its file is wrong
    assert "pass  colorado-24-31-902@2021.3.0  a good one" in result.stdout  # the others still ran


# --- which files `bwc test` reads, and which rulesets it loads for them ---------------------------------

def _loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path `bwc test` loads rulesets from (the filesystem's root is never actually walked)."""
    from engine.api import Library

    seen: list[Path] = []
    real = Library.load.__func__  # type: ignore[attr-defined]

    def load(cls: type[Library], *paths: Path | str, **kw: object) -> Library:
        seen.extend(Path(p) for p in paths)
        return real(cls, *[p for p in paths if Path(p).resolve() != Path("/")], **kw)

    monkeypatch.setattr(Library, "load", classmethod(load))
    return seen


def test_a_device_is_not_a_scenario_file_and_no_ancestor_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _loads(monkeypatch)
    result = CliRunner().invoke(cli.main, ["test", "/dev/null"])
    assert result.exit_code == 1, result.output
    assert "/dev/null: error BWC001: this is not a scenario file: it is not a regular file" in result.stdout
    assert len(result.stdout.splitlines()) <= 4, result.stdout
    assert seen == []


def test_a_ruleset_file_is_not_a_scenario_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rulesets = _scenarios(tmp_path, "")
    seen = _loads(monkeypatch)
    version = rulesets / POLICY / "2021.2.0.yaml"
    result = CliRunner().invoke(cli.main, ["test", str(version)])
    assert result.exit_code == 1, result.output
    assert f"{version}: error BWC001: this is not a scenario file" in result.stdout, result.stdout
    assert f"bwc test {rulesets / POLICY}" in result.stdout  # the hint: how to run this ruleset's scenarios
    assert "0 scenarios" in result.stdout and seen == []


@pytest.mark.parametrize(("where", "says"), [
    ("tests/notes.txt", "a scenario file's name ends in .yaml"),
    ("scenarios.yaml", "not in a ruleset's `tests` folder"),
    ("elsewhere/tests/scenarios.yaml", "holds no ruleset file"),
])
def test_a_file_out_of_place_is_refused_in_plain_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        where: str, says: str) -> None:
    rulesets = _scenarios(tmp_path, "")
    f = tmp_path / where
    f.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(rulesets / POLICY / "tests" / "hostile.yaml", f)
    seen = _loads(monkeypatch)
    result = CliRunner().invoke(cli.main, ["test", str(f)])
    assert result.exit_code == 1, result.output
    assert f"{f}: error BWC001: this is not a scenario file" in result.stdout and says in result.stdout, \
        result.stdout
    assert "0 scenarios" in result.stdout and seen == []


def test_a_scenario_file_loads_only_the_versions_beside_its_tests_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rulesets = _scenarios(tmp_path, "")
    shutil.copytree(ROOT / "rulesets" / "boston-rule-405", rulesets / "boston-rule-405")
    (rulesets / POLICY / "tests" / "also.yml").write_text(
        (rulesets / POLICY / "tests" / "hostile.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    seen = _loads(monkeypatch)
    result = CliRunner().invoke(cli.main, ["test", str(rulesets / POLICY / "tests" / "also.yml")])
    assert result.exit_code == 0, result.output
    assert "1 scenarios, 1 passed" in result.stdout
    assert seen and all(p.parent == rulesets / POLICY and p.suffix == ".yaml" for p in seen), seen
    result = CliRunner().invoke(cli.main, ["test", str(rulesets / POLICY)])  # a folder finds .yml files too
    assert result.exit_code == 0 and "2 scenarios, 2 passed" in result.stdout, result.output
    seen.clear()  # a ruleset's `tests` folder named: its files, with the versions beside it (none read as one)
    result = CliRunner().invoke(cli.main, ["test", str(rulesets / POLICY / "tests")])
    assert result.exit_code == 0 and "2 scenarios, 2 passed" in result.stdout, result.output
    assert seen and all(p.parent == rulesets / POLICY and p.suffix == ".yaml" for p in seen), seen


def test_with_rulesets_named_a_scenario_file_may_be_anywhere_but_must_be_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rulesets = _scenarios(tmp_path, "")
    loose = tmp_path / "loose.yaml"
    shutil.copy(rulesets / POLICY / "tests" / "hostile.yaml", loose)
    seen = _loads(monkeypatch)
    result = CliRunner().invoke(cli.main, ["test", str(loose), "--rulesets", str(rulesets)])
    assert result.exit_code == 0 and "1 scenarios, 1 passed" in result.stdout, result.output
    assert seen == [rulesets]
    result = CliRunner().invoke(cli.main, ["test", "/dev/null", str(loose), "--rulesets", str(rulesets)])
    assert result.exit_code == 1, result.output
    assert "/dev/null: error BWC001: this is not a scenario file: it is not a regular file" in result.stdout
    assert "1 scenarios, 1 passed" in result.stdout  # the scenario file named with it still ran


def test_run_reports_a_missing_file_without_loading_from_its_folder(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.tools import scenarios

    seen = _loads(monkeypatch)
    report = scenarios.run([tmp_path / "tests" / "gone.yaml"])
    assert [d.message for d in report.problems] == ["this is not a scenario file: there is no such file"]
    assert report.outcomes == [] and not report.ok and seen == []
