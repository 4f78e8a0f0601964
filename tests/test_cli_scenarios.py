"""`bwc test` on scenario files whose incidents hold values that are not values: a clean diagnostic at
the line and column of the value, the other scenarios still run, exit 1, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import cli

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
    assert "pass  colorado-24-31-902@2021.2.0  a good one" in result.stdout  # the others still ran
