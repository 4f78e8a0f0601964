"""The lint report: as lines of text (the command line styles and prints them) and as JSON; the example
incidents as files; the findings `bwc check` shows as warnings.

The text names, for each finding, the rules with their file and line, the example incident on one line
and the `bwc decide` command that reproduces it, and how far the search went. When a search found
nothing the report says how many incidents it decided, and whether it was bounded (a sample rather than
every combination).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.tools.lint import LintReport
from engine.tools.lint.finding import Finding
from policy.diagnostics import Diagnostic
from policy.diagnostics import Severity as DiagnosticSeverity


@dataclass(frozen=True)
class Line:
    """One line of the text report: its parts, and how the first part is shown."""

    text: str
    style: str = "plain"  # plain, error or warning (a finding's location), ok, hint, summary-ok, summary-bad
    rest: str = ""


def example_name(report: LintReport, f: Finding, taken: set[str]) -> str:
    """A file name for a finding's example: `RULESET@VERSION-CODE-RULE.json`, numbered when taken."""
    stem = f"{report.ruleset}-{f.code}" + (f"-{f.at.rule}" if f.at.rule else "")
    stem = re.sub(r"[^A-Za-z0-9._@-]", "_", stem)
    name, n = f"{stem}.json", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.json"
    taken.add(name)
    return name


def example_files(reports: Sequence[LintReport], folder: Path) -> dict[tuple[int, int], Path]:
    """Where each finding's example is written, by (report, finding) position."""
    taken: set[str] = set()
    out: dict[tuple[int, int], Path] = {}
    for i, report in enumerate(reports):
        for j, f in enumerate(report.findings):
            if f.example is not None:
                out[(i, j)] = folder / example_name(report, f, taken)
    return out


def example_text(f: Finding) -> str:
    assert f.example is not None
    return json.dumps(f.example.incident, indent=2, ensure_ascii=False) + "\n"


def _decide_command(folders: Sequence[str], policy: str, file: str) -> str:
    rulesets = " ".join(f"--rulesets {_shell(d)}" for d in folders)
    return f"bwc decide {rulesets} --policy {policy} {_shell(file)}"


def _shell(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9._/@:=+-]+", text) else "'" + text.replace("'", "'\"'\"'") + "'"


def render_text(reports: Sequence[LintReport], folders: Sequence[str],
                written: dict[tuple[int, int], Path] | None = None) -> list[Line]:
    lines: list[Line] = []
    for i, report in enumerate(reports):
        if not report.findings:
            lines.append(Line("ok", "ok", f"  {report.file}  {report.ruleset}  (searched {report.searched} "
                              f"incidents; none found{_bounded(report)})"))
            continue
        for j, f in enumerate(report.findings):
            rule = f" (rule {f.at.rule})" if f.at.rule else ""
            lines.append(Line(f.at.location(), str(f.severity), f"{f.code}{rule}: {f.message}"))
            lines.append(Line("    hint: ", "hint", f.hint))
            if f.rules:
                lines.append(Line("    rules: ", "plain", ", ".join(
                    f"{p.rule or 'extends'} ({p.location()})" for p in f.rules)))
            if f.example is not None:
                lines.append(Line("    example: ", "plain",
                                  json.dumps(f.example.incident, ensure_ascii=False, separators=(", ", ": "))))
                path = (written or {}).get((i, j))
                lines.append(Line("    reproduce: ", "plain", (_decide_command(folders, f.example.policy, str(path))
                                                               if path is not None else
                                  _decide_command(folders, f.example.policy, "EXAMPLE.json") +
                                  " (save the example as EXAMPLE.json, or give --write-examples DIR)")))
                lines.append(Line("    shows: ", "plain", f.example.shows))
            if f.search is not None:
                lines.append(Line("    search: ", "plain", f.search.words()))
        lines.append(Line(f"    {report.ruleset}: ", "plain", f"{len(report.findings)} finding(s); searched "
                          f"{report.searched} incidents{_bounded(report)}"))
    errors = sum(r.errors for r in reports)
    warnings = sum(len(r.findings) - r.errors for r in reports)
    searched = sum(r.searched for r in reports)
    lines.append(Line(f"{len(reports)} ruleset(s) linted: {errors} error(s), {warnings} warning(s); "
                      f"{searched} incidents searched", "summary-bad" if errors else "summary-ok"))
    return lines


def _bounded(report: LintReport) -> str:
    if not report.bounded:
        return ""
    return (f"; bounded: where the values the rules mention make more than {report.limit} combinations, a fixed "
            "sample was decided")


def render_json(reports: Sequence[LintReport], written: dict[tuple[int, int], Path] | None = None) -> str:
    out: list[dict[str, Any]] = []
    for i, report in enumerate(reports):
        findings = []
        for j, f in enumerate(report.findings):
            item = f.to_dict()
            path = (written or {}).get((i, j))
            if item["example"] is not None:
                item["example"]["file"] = str(path) if path is not None else None
            findings.append(item)
        out.append({"ruleset": report.ruleset, "file": report.file, "searched": report.searched,
                    "bounded": report.bounded, "limit": report.limit, "findings": findings})
    errors = sum(r.errors for r in reports)
    warnings = sum(len(r.findings) - r.errors for r in reports)
    return json.dumps({"rulesets": out, "errors": errors, "warnings": warnings}, indent=2, ensure_ascii=False) + "\n"


def as_diagnostic(f: Finding) -> Diagnostic:
    """A finding as `bwc check` shows it: a warning with its code, at the rule's line."""
    # Always a warning: `bwc check` fails on what makes a file unreadable, not on what `bwc lint` judges.
    return Diagnostic(f.code, f.message, f.at.file, f.at.line, None, f.hint, f.at.rule, DiagnosticSeverity.WARNING)
