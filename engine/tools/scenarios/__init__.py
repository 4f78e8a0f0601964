"""Scenario tests for rulesets: incidents with the obligations a drafter expects, written by hand.

A test file (`rulesets/<id>/tests/*.yaml`) names the ruleset and lists scenarios; each gives an
incident and the obligations that must be decided (`expect`) and must not be (`expect_not`).
An expected obligation matches a decided one when every key it gives is equal; keys it leaves out
are not checked. `bwc test` runs them and reports rule coverage.

The package: `model` (the file format), `read` (a file with its problems at their line and column),
`run` (deciding and comparing), `report` (outcomes and coverage, as JSON or JUnit XML).
"""

from engine.tools.scenarios.model import ExpectedObligation, Scenario, ScenarioFile, ScenarioIncident
from engine.tools.scenarios.report import Coverage, Outcome, Report, to_json, to_junit
from engine.tools.scenarios.run import run

__all__ = ["Coverage", "ExpectedObligation", "Outcome", "Report", "Scenario", "ScenarioFile", "ScenarioIncident",
           "run", "to_json", "to_junit"]
