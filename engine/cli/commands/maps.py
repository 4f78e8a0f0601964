"""`bwc map`: column maps, which read a vendor's export (docs/vendor-exports.md): list the shipped ones,
check a map file, and write the JSON Schema of the map format."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.cli.boundary import EXIT_FAILED
from engine.cli.options import OVERWRITE, load_library_for
from engine.cli.text.console import Styled, say
from engine.io.columnmap import ColumnMapError, column_map_schema, load_map, resolve_map, shipped_maps
from engine.io.output import check_output_file, write_text_atomic
from policy.diagnostics import Diagnostic
from policy.values import quoted_path


def say_map_problem(d: Diagnostic) -> None:
    """A problem of a column map or preset file, on standard error: `FILE:LINE:COLUMN: error: MESSAGE`."""
    say(Styled(d.location(), bold=True), ": ", Styled("error", fg="red", bold=True), ": ", d.message, err=True)
    if d.hint:
        say(Styled("    hint: ", fg="cyan"), d.hint, err=True)


@click.group("map")
def map_group() -> None:
    """Column maps: how a vendor's export becomes incidents and actions (docs/vendor-exports.md)."""


@map_group.command("list")
def map_list() -> None:
    """The column maps shipped with bwc, with whether their column names are documented or illustrative."""
    for name in shipped_maps():
        cmap = load_map(name)
        extra = f"; recordings section {cmap.recordings.status}" if cmap.recordings is not None else ""
        say(f"{name} ({cmap.status}{extra}): {cmap.title}")


@map_group.command("check")
# Read only with --policy: without it a map is checked on its own, anywhere, with no rulesets folder.
@click.option("--rulesets", "rulesets", multiple=True, type=click.Path(path_type=Path), default=[Path("rulesets")],
              show_default=True, help="Folder(s) of rulesets (read with --policy).")
@click.option("--policy", "ref", default=None,
              help="Also check event types, attributes and facts against this ruleset's vocabulary.")
@click.argument("map_file", metavar="FILE_OR_NAME")
def map_check(rulesets: tuple[Path, ...], ref: str | None, map_file: str) -> None:
    """Check a column map: every problem with its file:line:column; exit 1 if there is one."""
    missing = [p for p in rulesets if not p.exists()] if ref is not None else []
    if missing:
        raise click.BadParameter(f"Path {quoted_path(missing[0])!r} does not exist.", param_hint="'--rulesets'")
    vocabulary = None if ref is None else load_library_for(rulesets, ref).vocabulary(ref)
    try:
        cmap = load_map(map_file, vocabulary)
    except ColumnMapError as exc:
        for problem in exc.problems:
            say_map_problem(problem)
        sys.exit(EXIT_FAILED)
    status = "column names documented" if cmap.status == "documented" else "ILLUSTRATIVE column names"
    say(f"{resolve_map(map_file)}: ok ({cmap.name}, {status})")


@map_group.command("schema")
@OVERWRITE
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def map_schema(overwrite: bool, output: Path | None) -> None:
    """The JSON Schema of column map files (for editors)."""
    text = json.dumps(column_map_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output is None:
        say(text, nl=False)
        return
    check_output_file(output, overwrite=overwrite)
    write_text_atomic(output, text, replace=overwrite)


__all__ = ["map_group", "say_map_problem"]
