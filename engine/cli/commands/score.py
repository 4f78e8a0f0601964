"""`bwc score`: a ruleset graded against the Leadership Conference / Upturn body-worn camera policy scorecard."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.boundary import EXIT_FAILED
from engine.cli.options import RULESETS, load_library
from engine.cli.text.console import say, say_error
from engine.cli.text.score import render_markdown, say_score
from engine.tools.score import ScorecardDataError, read_scorecard, render_json, score


@click.command("score")
@RULESETS
@click.argument("ref")
@click.argument("other", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def score_command(rulesets: tuple[Path, ...], ref: str, other: str | None, fmt: str) -> None:
    """Grade a ruleset (ID, ID@VERSION or a file) against the eight criteria of the body-worn camera policy
    scorecard, listing the rules behind each grade; with OTHER, two rulesets side by side.

    The grades read the rules as encoded, not the policy's full text: docs/score.md says what each
    criterion checks, which thresholds are verified, and what the rules cannot tell.
    """
    try:
        card = read_scorecard()
    except ScorecardDataError as exc:
        # The criteria file shipped with bwc is broken: say where, as `bwc check` says it of a ruleset, on
        # standard error so that no output (`--format json`) is mistaken for a score.
        for d in exc.diagnostics:
            say(str(d), err=True)
        say_error("the scorecard criteria file is broken; reinstall bwc or report it")
        sys.exit(EXIT_FAILED)
    repo = load_library(rulesets).repository
    # RulesetLookupError and RulesetError are reported by the boundary
    reports = [score(repo, repo.resolve(r), card) for r in (ref, *((other,) if other else ()))]
    if fmt == "json":
        say(render_json(card, reports), nl=False)
    elif fmt == "markdown":
        say(render_markdown(card, reports), nl=False)
    else:
        say_score(card, reports)


__all__ = ["score_command"]
