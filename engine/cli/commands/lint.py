"""`bwc lint`: find contradictions and rules that can never take effect, each shown by an example incident."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import click

from engine.api import Library
from engine.cli.boundary import EXIT_FAILED
from engine.cli.options import OVERWRITE
from engine.cli.text.console import Styled, say, say_diagnostic, say_error
from engine.io.output import check_output_file, write_text_atomic
from engine.tools.lint import DEFAULT_LIMIT, LintReport, lint
from engine.tools.lint.report import Line, example_files, example_text, render_json, render_text
from policy.files import ruleset_files
from policy.repository import Repository

_STYLES = {"error": Styled("", fg="red", bold=True), "warning": Styled("", fg="yellow", bold=True),
           "ok": Styled("", fg="green"), "hint": Styled("", fg="cyan"), "summary-ok": Styled("", fg="green"),
           "summary-bad": Styled("", fg="red")}


def _say_line(line: Line) -> None:
    if line.style in ("error", "warning"):
        colour = _STYLES[line.style]
        say(Styled(line.text, bold=True), ": ", Styled(line.style + " ", fg=colour.fg, bold=True), line.rest)
        return
    style = _STYLES.get(line.style)
    head = Styled(line.text, fg=style.fg, bold=style.bold) if style is not None else line.text
    say(head, line.rest)


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _unique(paths: Iterable[Path]) -> list[Path]:
    """The files, each once (a file named twice, or found under two folders given, is linted once)."""
    seen: set[Path] = set()
    out = []
    for p in paths:
        if _real(p) not in seen:
            seen.add(_real(p))
            out.append(p)
    return out


@click.command("lint")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rulesets", "rulesets", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Folder(s) holding the rulesets these extend (loaded with them, not linted).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=DEFAULT_LIMIT, show_default=True,
              help="Value combinations decided per search (each on four timelines).")
@click.option("--write-examples", "examples", type=click.Path(path_type=Path),
              help="Write each finding's example incident as a JSON file in this folder.")
@OVERWRITE
def lint_command(paths: tuple[Path, ...], rulesets: tuple[Path, ...], fmt: str, limit: int,
                 examples: Path | None, overwrite: bool) -> None:
    """Find problems of meaning in ruleset files (or every ruleset under the folders given), with the rulesets
    they extend: contradictions precedence does not settle, rules an override always sets aside, rules and
    durations that can never take effect.

    Each finding names its rules with file and line and, where an incident shows it, gives one that
    `bwc decide` reproduces. Exits 1 if a finding is an error (a contradiction), 0 otherwise; a file
    `bwc check` refuses is reported as `bwc check` reports it, exit 1. docs/lint.md lists the codes.
    """
    targets = _unique(ruleset_files(paths))
    named = {_real(t) for t in targets}
    extra = [f for f in _unique(ruleset_files(rulesets)) if _real(f) not in named]
    results = Repository.check([*targets, *extra])
    if not targets or not all(r.ok for r in results):
        for r in results:
            for d in r.diagnostics:
                say_diagnostic(d, err=True)
        say_error("no ruleset file found (looked for *.yaml and *.yml)" if not targets
                  else "the rulesets have errors: fix them (see `bwc check`) before linting")
        sys.exit(EXIT_FAILED)
    library = Library.load(*targets, *extra)
    reports: list[LintReport] = []
    for path in targets:
        ruleset = library.repository.resolve(path)
        reports.append(lint(library, ruleset, limit=limit))
    written: dict[tuple[int, int], Path] = {}
    if examples is not None:
        examples.mkdir(parents=True, exist_ok=True)
        written = example_files(reports, examples)
        for target in written.values():  # every file is checked before any is written: all or nothing
            check_output_file(target, overwrite=overwrite)
        done: list[Path] = []
        try:
            for (i, j), target in written.items():
                write_text_atomic(target, example_text(reports[i].findings[j]), replace=overwrite)
                done.append(target)
        except BaseException:
            if not overwrite:
                for target in done:  # files this run created (none existed before: checked above)
                    target.unlink(missing_ok=True)
            raise
    folders = sorted({str(p) for p in (*paths, *rulesets)})
    if fmt == "json":
        say(render_json(reports, written), nl=False)
    else:
        for line in render_text(reports, folders, written):
            _say_line(line)
    if any(r.errors for r in reports):
        sys.exit(EXIT_FAILED)


__all__ = ["lint_command"]
