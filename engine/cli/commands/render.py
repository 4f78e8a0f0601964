"""The command that turns rulesets into documents for public review: `bwc render`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from engine.cli.options import OVERWRITE, RULESETS, load_library
from engine.cli.text.console import say
from engine.io.output import check_output_file, write_text_atomic
from engine.tools import render as render_


@click.command("render")
@RULESETS
@click.argument("ref")
@click.option("--compare", "other", default=None, metavar="OTHER",
              help="A second ruleset (ID, ID@VERSION or a file) to show beside REF, topic by topic.")
@click.option("--format", "fmt", type=click.Choice(render_.FORMATS), default="html", show_default=True,
              help="One self-contained HTML page, or Markdown.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the document to this file (whole or not at all) instead of standard output.")
@OVERWRITE
def render_command(rulesets: tuple[Path, ...], ref: str, other: str | None, fmt: str, out: Path | None,
                   overwrite: bool) -> None:
    """Render a ruleset version as a document for public review: each rule's summary, cited clause,
    confidence, source and notes beside what the file encodes, grouped by topic (when to record, how long
    to keep, who may watch, when to release), with the rulesets it builds on.

    REF is ID (the newest version), ID@VERSION or a ruleset file. With --compare OTHER, the two are shown
    side by side. See docs/render.md.
    """
    if out is not None:
        check_output_file(out, overwrite=overwrite)  # before any work: a refusal costs nothing
    repo = load_library(rulesets).repository
    # An unknown ruleset or version (RulesetLookupError) is reported by the boundary in one line.
    ruleset = repo.resolve(ref)
    form = cast(render_.Format, fmt)
    if other is None:
        text = render_.render_ruleset(repo, ruleset, form)
    else:
        text = render_.render_comparison(repo, ruleset, repo.resolve(other), form)
    if out is None:
        say(text, nl=False)
    else:
        write_text_atomic(out, text, replace=overwrite)
        say(f"wrote {out}", err=True)


__all__ = ["render_command"]
