"""The `bwc` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.output import write_text_atomic
from policy.canonical import digest
from policy.diagnostics import Diagnostic, Severity
from policy.loader import check_paths
from policy.schema import ruleset_schema_json
from policy.vocabulary import core, to_markdown


def _echo_diagnostic(d: Diagnostic) -> None:
    colour = "red" if d.severity is Severity.ERROR else "yellow"
    head = click.style(d.location(), bold=True)
    label = click.style(f"{d.severity} {d.code}", fg=colour, bold=True)
    rule = f" (rule {click.style(d.rule, bold=True)})" if d.rule else ""
    click.echo(f"{head}: {label}{rule}: {d.message}")
    if d.hint:
        click.echo(click.style("    hint: ", fg="cyan") + d.hint)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bwc-policy", prog_name="bwc")
def main() -> None:
    """bwc-policy: body-worn camera policies as versioned, checkable rulesets."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(paths: tuple[Path, ...], fmt: str) -> None:
    """Validate ruleset files (or every ruleset under the folders given).

    Prints every problem with its file, line and column, and exits 1 if there is any error.
    """
    results = check_paths(paths)
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        out = [{"file": r.file, "ok": r.ok,
                "ruleset": r.ruleset.ref if r.ruleset else None,
                "digest": digest(r.ruleset) if r.ruleset else None,
                "diagnostics": [d.to_dict() for d in r.diagnostics]} for r in results]
        click.echo(json.dumps({"files": out, "errors": sum(len(r.diagnostics) for r in failed)}, indent=2))
    else:
        for r in results:
            if r.ok and r.ruleset is not None:
                click.echo(f"{click.style('ok', fg='green')}  {r.file}  {r.ruleset.ref}  "
                           f"({len(r.ruleset.rules)} rules)")
            for d in r.diagnostics:
                _echo_diagnostic(d)
        if not results:
            click.echo("no ruleset files found (looked for *.yaml and *.yml)", err=True)
        problems = sum(len(r.diagnostics) for r in failed)
        summary = f"{len(results)} file(s) checked, {len(failed)} with errors ({problems} problem(s))"
        click.echo(click.style(summary, fg="red" if failed else "green"), err=bool(failed))
    if failed or not results:
        sys.exit(1)


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to this file instead of standard output.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of ruleset files (for editors: see docs/editors.md)."""
    text = ruleset_schema_json()
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
def vocabulary(fmt: str) -> None:
    """Print the core vocabulary (event types, attributes, facts, roles)."""
    vocab = core()
    if fmt == "json":
        click.echo(vocab.model_dump_json(indent=2, exclude_defaults=True))
    else:
        click.echo(to_markdown(vocab), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
