"""What a run of scenario tests found: each scenario's outcome, each version's rule coverage, and
the problems of files that could not be run; as JSON or JUnit XML."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from policy.diagnostics import Diagnostic


@dataclass
class Outcome:
    file: str
    ruleset: str
    scenario: str
    cite: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)


@dataclass
class Coverage:
    ruleset: str
    rules: list[str]
    exercised: set[str]

    @property
    def missing(self) -> list[str]:
        return [r for r in self.rules if r not in self.exercised]

    @property
    def percent(self) -> float:
        return 100.0 * (len(self.rules) - len(self.missing)) / len(self.rules) if self.rules else 100.0


@dataclass
class Report:
    outcomes: list[Outcome]
    coverage: list[Coverage]
    problems: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.passed for o in self.outcomes)


def to_junit(report: Report) -> str:
    from xml.sax.saxutils import escape, quoteattr

    cases = []
    for o in report.outcomes:
        detail = escape("\n".join(o.failures))
        body = "" if o.passed else f"<failure message={quoteattr(o.failures[0])}>{detail}</failure>"
        cases.append(f'  <testcase classname={quoteattr(o.ruleset)} name={quoteattr(o.scenario)} '
                     f'file={quoteattr(o.file)}>{body}</testcase>')
    for d in report.problems:
        cases.append(f'  <testcase classname="bwc" name={quoteattr(d.location())}>'
                     f'<error message={quoteattr(d.message)}/></testcase>')
    failed = sum(not o.passed for o in report.outcomes)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="bwc test" tests="{len(cases)}" '
            f'failures="{failed}" errors="{len(report.problems)}">\n' + "\n".join(cases) + "\n</testsuite>\n")


def to_json(report: Report) -> str:
    return json.dumps({
        "ok": report.ok,
        "scenarios": [{"file": o.file, "ruleset": o.ruleset, "name": o.scenario, "cite": o.cite,
                       "passed": o.passed, "failures": o.failures} for o in report.outcomes],
        "coverage": [{"ruleset": c.ruleset, "percent": round(c.percent, 1), "not_exercised": c.missing}
                     for c in report.coverage],
        "problems": [d.to_dict() for d in report.problems],
    }, indent=2, ensure_ascii=False)
