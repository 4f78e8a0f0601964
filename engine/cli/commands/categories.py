"""`bwc categories`: a ruleset's retention categories for an evidence system, exported and checked."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import cast

import click

from engine.cli.boundary import EXIT_FAILED
from engine.cli.options import OVERWRITE, POLICY, RULESETS, as_of_option, load_library
from engine.cli.text.console import Styled, say, say_error
from engine.io.output import check_output_file, write_text_atomic
from engine.tools import categories as categories_

AS_OF = as_of_option("Compile the version in force on this day (ISO 8601 with offset, or `now`), and the versions "
                     "it extends in force then; default: the newest version.")


@click.group("categories")
def categories_group() -> None:
    """Retention categories for an evidence system: export a ruleset's category table, or check a configured one.

    See docs/categories.md.
    """


@categories_group.command("export")
@RULESETS
@POLICY
@AS_OF
@click.option("--format", "fmt", type=click.Choice(categories_.FORMATS), default="csv", show_default=True)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the table to this file (whole or not at all) instead of standard output.")
@OVERWRITE
def export_command(rulesets: tuple[Path, ...], ref: str, as_of: datetime | None, fmt: str, out: Path | None,
                   overwrite: bool) -> None:
    """Export the category table of a ruleset (with the rulesets it extends): one row per retention or
    deletion rule, with its duration (or "until manually deleted"), what it counts from, when it applies
    in the rule's own words, and the rule and clause behind it. The rows are a configuration that
    `bwc categories check` passes; rename them to the system's category names as needed."""
    if out is not None:
        check_output_file(out, overwrite=overwrite)  # before any work: a refusal costs nothing
    table = categories_.compile_table(load_library(rulesets), ref, as_of)
    text = categories_.render(table, cast(categories_.Format, fmt))
    if out is None:
        say(text, nl=False)
    else:
        write_text_atomic(out, text, replace=overwrite)
        say(f"wrote {out} ({len(table.categories)} categories of {table.ruleset})", err=True)
    for note in table.notes:
        say(Styled("note: ", fg="cyan"), note, err=True)
    for aside in table.set_aside:
        say(Styled("note: ", fg="cyan"), f"`{aside.category.id}` is left out: it never takes effect ({aside.reason})",
            err=True)


@categories_group.command("check")
@RULESETS
@POLICY
@AS_OF
@click.argument("table", type=click.Path(dir_okay=False, path_type=Path))
def check_command(rulesets: tuple[Path, ...], ref: str, as_of: datetime | None, table: Path) -> None:
    """Check a configured category table (CSV, or JSON for a .json file) against a ruleset: every row that
    deletes earlier than a minimum or keeps past a maximum, and every ruleset category no row covers, with
    the row and column to change. Exits 1 when there is any error. See docs/categories.md for the columns."""
    compiled = categories_.compile_table(load_library(rulesets), ref, as_of)
    try:
        read = categories_.read_table(table)
    except categories_.TableError as exc:
        say_error(str(exc))
        sys.exit(EXIT_FAILED)
    report = categories_.check_table(compiled, read)
    for p in report.problems:
        colour = "red" if p.severity is categories_.Severity.ERROR else "yellow"
        say(Styled(f"{table}: {p.place}: ", bold=True), Styled(f"{p.severity.value}: ", fg=colour, bold=True),
            p.message)
    errors, warnings = report.errors, len(report.problems) - report.errors
    layers = f" (with {', '.join(compiled.layers[1:])})" if len(compiled.layers) > 1 else ""
    summary = (f"{report.rows} row{'s' if report.rows != 1 else ''} checked against {len(compiled.categories)} "
               f"categor{'ies' if len(compiled.categories) != 1 else 'y'} of {compiled.ruleset}{layers}: "
               f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}")
    say(Styled("ok: " if report.passed else "failed: ", fg="green" if report.passed else "red", bold=True), summary)
    for note in compiled.notes:
        say(Styled("note: ", fg="cyan"), note)
    if not report.passed:
        sys.exit(EXIT_FAILED)


__all__ = ["categories_group"]
