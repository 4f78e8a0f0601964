"""What `bwc check`, `bwc test` and `bwc log` print about rulesets, their scenarios and their versions."""

from __future__ import annotations

import json
from collections.abc import Sequence

from engine.cli.text.console import Styled, say, say_diagnostic
from engine.io.output import one_line
from engine.tools.scenarios import Report
from policy.canonical import digest
from policy.diff import HistoryEntry
from policy.loader import CheckResult


def say_check(results: Sequence[CheckResult], fmt: str) -> None:
    """Each file checked (`ok` or its problems), then a count; or all of it as one JSON document."""
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        out = [{"file": r.file, "ok": r.ok,
                "ruleset": r.ruleset.ref if r.ruleset else None,
                "digest": digest(r.ruleset) if r.ruleset else None,
                "diagnostics": [d.to_dict() for d in r.diagnostics]} for r in results]
        say(json.dumps({"files": out, "errors": sum(len(r.diagnostics) for r in failed)}, indent=2))
        return
    for r in results:
        if r.ok and r.ruleset is not None:
            say(Styled("ok", fg="green"), f"  {r.file}  {r.ruleset.ref}  ({len(r.ruleset.rules)} rules)")
        for d in r.diagnostics:
            say_diagnostic(d)
    if not results:
        say("no ruleset files found (looked for *.yaml and *.yml)", err=True)
    problems = sum(len(r.diagnostics) for r in failed)
    summary = f"{len(results)} file(s) checked, {len(failed)} with errors ({problems} problem(s))"
    say(Styled(summary, fg="red" if failed else "green"))


def say_scenarios(report: Report, coverage: bool) -> None:
    """Each scenario passed or failed (with why), the coverage of each ruleset if asked, then a count."""
    for d in report.problems:
        say_diagnostic(d)
    for o in report.outcomes:
        mark = Styled("pass", fg="green") if o.passed else Styled("FAIL", fg="red", bold=True)
        say(mark, f"  {o.ruleset}  {one_line(o.scenario)}  [{one_line(o.cite)}]")
        for f in o.failures:
            say(f"      {f}")
    if coverage:
        say("")
        for c in report.coverage:
            colour = "green" if not c.missing else "red"
            say(Styled(f"{c.percent:5.1f}%", fg=colour), f"  {c.ruleset}  "
                f"({len(c.rules) - len(c.missing)}/{len(c.rules)} rules exercised)")
            for rule in c.missing:
                say(f"        not exercised: {rule}")
    failed = sum(not o.passed for o in report.outcomes)
    say(Styled(f"{len(report.outcomes)} scenarios, {len(report.outcomes) - failed} passed, {failed} failed",
               fg="red" if failed else "green"))
    if coverage and any(c.missing for c in report.coverage):
        missing = sum(len(c.missing) for c in report.coverage)
        say(Styled(f"coverage: {missing} rule(s) not exercised by any scenario", fg="red"))


def say_log(ruleset_id: str, entries: Sequence[HistoryEntry], fmt: str) -> None:
    """The versions of a ruleset, in the order given: dates, author, corrections and summary of each."""
    if fmt == "json":
        say(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    for e in entries:
        until = f" until {e.effective_until}" if e.effective_until else ""
        say(Styled(f"{ruleset_id}@{e.version}", bold=True), f"  {e.status}  in force from {e.effective_from}{until}")
        say(f"    drafted by {one_line(e.drafted_by)}")
        if e.corrects is not None:
            say(f"    corrects {e.corrects}: a new reading of the same law, on the same dates")
        for c in e.corrected_by:
            say(f"    corrected by {c}: decides only when pinned as {ruleset_id}@{e.version}")
        say(f"    {one_line(e.summary)}")
        say("")


__all__ = ["say_check", "say_log", "say_scenarios"]
