"""Commands on rulesets themselves: check, test, schema, vocabulary, log and diff."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.cli.boundary import EXIT_FAILED
from engine.cli.lazy import LazyGroup
from engine.cli.options import OVERWRITE, RULESETS, load_library
from engine.cli.text.console import say
from engine.cli.text.rulesets import say_check, say_log, say_scenarios
from engine.core.decision import DECISION_SCHEMA
from engine.io.output import check_output_file, write_text_atomic
from engine.tools import scenarios
from engine.tools.lint.fast import with_warnings
from engine.tools.render.amendment import amendment_html
from policy import diff
from policy.repository import check_paths
from policy.schema import ruleset_schema_json
from policy.vocabulary import core, to_markdown


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(paths: tuple[Path, ...], fmt: str) -> None:
    """Validate ruleset files (or every ruleset under the folders given).

    Prints every problem with its file, line and column, and exits 1 if there is any error.
    """
    results = with_warnings(check_paths(paths))  # and the fast `bwc lint` checks, as warnings (docs/lint.md)
    say_check(results, fmt)
    if not results or not all(r.ok for r in results):
        sys.exit(EXIT_FAILED)


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to this file instead of standard output.")
@click.option("--kind", type=click.Choice(["ruleset", "scenarios", "decision"]), default="ruleset",
              show_default=True, help="Ruleset files, scenario test files, or decisions.")
@OVERWRITE
def schema(output: Path | None, kind: str, overwrite: bool) -> None:
    """Print a JSON Schema: of ruleset files (for editors: see docs/editors.md), scenario files or decisions."""
    if output is not None:
        check_output_file(output, overwrite=overwrite)
    if kind == "ruleset":
        text = ruleset_schema_json()
    else:
        schema = scenarios.ScenarioFile.model_json_schema(by_alias=True) if kind == "scenarios" \
            else DECISION_SCHEMA.json_schema(by_alias=True)
        text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if output is None:
        say(text, nl=False)
    else:
        write_text_atomic(output, text, replace=overwrite)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
def vocabulary(fmt: str) -> None:
    """Print the core vocabulary (event types, attributes, facts, roles)."""
    vocab = core()
    if fmt == "json":
        say(vocab.model_dump_json(indent=2, exclude_defaults=True))
    else:
        say(to_markdown(vocab), nl=False)


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--rulesets", "rulesets", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Folder(s) of rulesets (default: the paths given).")
@click.option("--coverage", is_flag=True, help="Report the rules no scenario exercised, per ruleset.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
def test_command(paths: tuple[Path, ...], rulesets: tuple[Path, ...], coverage: bool, fmt: str) -> None:
    """Run the scenario tests of rulesets (the `tests/*.yaml` files beside them).

    Exits 1 if any scenario fails, if a test file is invalid, or (with --coverage) if a rule is
    exercised by no scenario.
    """
    report = scenarios.run(paths or [Path("rulesets")], rulesets or None)
    if fmt == "json":
        say(scenarios.to_json(report))
    elif fmt == "junit":
        say(scenarios.to_junit(report), nl=False)
    else:
        say_scenarios(report, coverage)
    uncovered = coverage and any(c.missing for c in report.coverage)
    if not report.ok or uncovered or not report.outcomes:
        sys.exit(EXIT_FAILED)


@click.command("diff")
@RULESETS
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "html"]), default="text",
              show_default=True, help="html: one self-contained page for a public comment period.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the diff to this file (whole or not at all) instead of standard output.")
@OVERWRITE
def diff_command(rulesets: tuple[Path, ...], old: str, new: str, fmt: str, out: Path | None,
                 overwrite: bool) -> None:
    """Say in plain words what changed between two rulesets: files, or ID@VERSION references.

    The duties come first, in each rule's own summary; then when the changed rules apply and for how
    long; then citations and notes; the ruleset's header last.
    """
    if out is not None:
        check_output_file(out, overwrite=overwrite)  # before any work: a refusal costs nothing
    repo = load_library(rulesets).repository
    # RulesetLookupError and RulesetError are reported by the boundary
    d = diff.diff(repo.resolve(old), repo.resolve(new))
    render = {"text": diff.render_text, "markdown": diff.render_markdown, "json": diff.render_json,
              "html": amendment_html}[fmt]
    if out is None:
        say(render(d), nl=False)
    else:
        write_text_atomic(out, render(d), replace=overwrite)
        say(f"wrote {out}", err=True)


class _Log(LazyGroup):
    """`bwc log ID` lists a ruleset's versions; `bwc log verify` checks the service's decision log."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.list_commands(ctx):
            args = ["versions", *args]  # `bwc log [--rulesets DIR] ID`, as it always read
        return super().parse_args(ctx, args)


@click.group("log", cls=_Log, lazy={"verify": "engine.cli.commands.service:log_verify"})
def log_group() -> None:
    """The versions of a ruleset (`bwc log ID`), or a check of the decision log (`bwc log verify`)."""


@log_group.command("versions")
@RULESETS
@click.argument("ruleset_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def log_command(rulesets: tuple[Path, ...], ruleset_id: str, fmt: str) -> None:
    """List the versions of a ruleset, newest first, with what each changed.

    `bwc log ID` is short for this; a ruleset whose id is `verify` or `versions` is listed with
    `bwc log versions ID`."""
    repo = load_library(rulesets).repository
    say_log(ruleset_id, list(reversed(diff.history(repo, ruleset_id))), fmt)


__all__ = ["check", "diff_command", "log_group", "schema", "test_command", "vocabulary"]
