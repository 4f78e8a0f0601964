"""`bwc lint`: static analysis of a ruleset (with the rulesets it extends), each finding shown by an example.

    from engine.tools.lint import lint
    report = lint(library, library.repository.get("colorado-24-31-902"))
    for f in report.findings:
        print(f.code, f.at.location(), f.message, f.example.incident if f.example else None)

Each check is a module of `checks` with a stable code (`finding.CODES`): contradictions that precedence
does not settle, rules an override always sets aside, rules and parts of rules that can never take
effect. Where a check needs an incident to show the problem, it searches for one (`space` builds the
incidents from the values the rules mention, `solve` aims some at each rule's conditions first; `scan`
decides them through the real engine) and reports the first it finds, which `bwc decide --policy
ID@VERSION` reproduces. A search is bounded: when there are
more combinations than the limit, a fixed sample is decided, and the report says so.
`report` renders the findings as text lines and as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api import Library, Ruleset
from engine.tools.lint.checks import CHECKS, FAST, Check
from engine.tools.lint.context import DEFAULT_LIMIT, LintContext
from engine.tools.lint.finding import CODES, Code, Example, Finding, Place, Search, Severity


@dataclass(frozen=True)
class LintReport:
    """The findings for one ruleset version, and how much was searched to find them."""

    ruleset: str  # `id@version`
    file: str
    findings: list[Finding]
    searched: int  # incidents decided
    bounded: bool  # some search decided a sample, not every combination
    limit: int

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)


def lint(library: Library, ruleset: Ruleset, *, limit: int = DEFAULT_LIMIT, fast_only: bool = False,
         checks: tuple[Check, ...] | None = None, _prune: bool = True) -> LintReport:
    """Run the checks (by default every one; with `fast_only`, those `bwc check` runs, without examples).

    `_prune=False` (for the tests only) searches every candidate pair of rules, even those whose
    conditions no incident meets together (`solve.Exclusions`): the findings are the same."""
    ctx = LintContext(library, ruleset, limit, fast_only=fast_only, prune=_prune)
    chosen = checks if checks is not None else (FAST if fast_only else CHECKS)
    findings = [f for c in chosen for f in c.run(ctx)]
    try:
        file = str(library.repository.file_of(ruleset))
    except LookupError:
        file = ruleset.ref
    return LintReport(ruleset.ref, file, findings, ctx.searched, ctx.bounded, limit)


__all__ = ["CHECKS", "CODES", "DEFAULT_LIMIT", "FAST", "Check", "Code", "Example", "Finding", "LintReport", "Place",
           "Search", "Severity", "lint"]
