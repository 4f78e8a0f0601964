"""The console writer: `say`, the one way the command line prints, and its styled pieces.

All text goes out through `say`, which shows data as literal text: control characters, terminal
escape sequences and bidirectional overrides from incidents, rulesets or file names are escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from engine.io.output import terminal_text
from policy.diagnostics import Diagnostic, Severity


@dataclass(frozen=True, slots=True)
class Styled:
    """A piece of a line with a colour or weight; its text is escaped like any other."""

    text: str
    fg: str | None = None
    bold: bool = False


def say(*parts: str | Styled, err: bool = False, nl: bool = True) -> None:
    """Print one line (or block) made of `parts`: THE way the CLI writes text. Every part is made
    printable first (control characters and terminal escapes in data shown as `\\x1b`, never
    obeyed), then styled; click drops the styles when the output is not a terminal."""
    line = "".join(click.style(terminal_text(p.text), fg=p.fg, bold=p.bold) if isinstance(p, Styled)
                   else terminal_text(p) for p in parts)
    click.echo(line, err=err, nl=nl)


def say_diagnostic(d: Diagnostic, err: bool = False) -> None:
    """A ruleset problem: where, severity and code, the rule, the message, then its hint. On standard
    output where the problems are the command's report (`check`, `test`); `err` where they are why a
    command cannot run (its output, `--format json` say, stays what it promises)."""
    colour = "red" if d.severity is Severity.ERROR else "yellow"
    rule = (" (rule ", Styled(d.rule, bold=True), ")") if d.rule else ()
    where = d.location().replace("\n", "\\u000a")  # a file name's line break, escaped: one problem, one line
    say(Styled(where, bold=True), ": ", Styled(f"{d.severity} {d.code}", fg=colour, bold=True), *rule,
        ": ", d.message, err=err)
    if d.hint:
        say(Styled("    hint: ", fg="cyan"), d.hint, err=err)


def say_line_problem(source: str | Path, line: int, message: str, column: int | None = None) -> None:
    """A problem with one line (or row) of an input, on standard error: `SOURCE:LINE[:COLUMN]: MESSAGE`."""
    say(Styled(f"{source}:{line}{f':{column}' if column else ''}: ", bold=True), message, err=True)


def say_error(message: str) -> None:
    """`error: MESSAGE` on standard error."""
    say(Styled("error: ", fg="red", bold=True), message, err=True)


__all__ = ["Styled", "say", "say_diagnostic", "say_error", "say_line_problem"]
