"""Commands that judge incidents one by one: decide and explain."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from engine.api import IncidentError, Library
from engine.cli.boundary import EXIT_FAILED, EXPECTED, at, internal_error
from engine.cli.options import ALLOW_EMPTY, AS_OF, BACKEND, POLICY, RULESETS, input_format_option, load_library_for
from engine.cli.text.console import say, say_error, say_line_problem
from engine.cli.text.decision import render_decision
from engine.cli.text.explain import render_text
from engine.io.export import FORMATS, Record, read_export
from policy.values import quoted


def _each_incident(library: Library, ref: str, source: Path, input_format: str | None,
                   handle: Callable[[dict[str, Any]], str], allow_empty: bool) -> None:
    """Print `handle(incident)` for each incident of `source`, as it is read (one reader for every
    format: engine.io.export). A bad incident, whatever went wrong with it, is reported on standard
    error with its line and the run goes on; the exit code is then 1."""
    name = str(source)
    vocabulary = library.select(ref).program.vocabulary
    seen = failures = 0
    for item in read_export(source, vocabulary, input_format):
        seen += 1
        if not isinstance(item, Record):
            failures += 1
            say_line_problem(name, item.line, item.message, item.column)
            continue
        where = f"{name}:{item.line}"
        with at(where):
            text, problems = _decide_one(handle, item, where)
        if problems:
            failures += 1
            for line, p in problems:
                say_line_problem(name, line, p)
        else:
            say(text)  # outside the guard: a closed stdout ends the run (BrokenPipeError), as it should
    if not seen and not allow_empty:
        say_error(f"no incident in {quoted(name, 200)} (give --allow-empty if an empty input is expected)")
        sys.exit(EXIT_FAILED)
    if failures:
        sys.exit(EXIT_FAILED)


def _decide_one(handle: Callable[[dict[str, Any]], str], record: Record,
                where: str) -> tuple[str, list[tuple[int, str]]]:
    """(text, []) or ("", the problems, each on its line): per-incident isolation, whatever the exception."""
    try:
        return handle(record.incident), []
    except IncidentError as exc:
        return "", [(record.line_of(p.field), str(p)) for p in exc.problems]  # a CSV row: the event's own
    except (KeyboardInterrupt, SystemExit):
        raise
    except EXPECTED as exc:
        return "", [(record.line, str(exc))]
    except Exception as exc:
        return "", [(record.line, internal_error(exc, where, say_where=False))]  # the line says where


@click.command()
@RULESETS
@POLICY
@click.argument("incidents", type=click.Path(path_type=Path, allow_dash=True))
@AS_OF
@BACKEND
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@input_format_option(FORMATS)
@ALLOW_EMPTY
def decide(rulesets: tuple[Path, ...], ref: str, incidents: Path, as_of: datetime | None, backend: str,
           fmt: str, input_format: str | None, allow_empty: bool) -> None:
    """Decide the obligations of incidents: one (.json), or many (.json array, .jsonl or .ndjson one per
    line, `-` for JSON Lines on standard input, .csv, .parquet).

    Each incident is judged by the version of the ruleset in effect on its date, unless a version
    is pinned with `--policy ID@VERSION`. Decisions are printed as each is made.

    JSON output is one decision per line. A bad incident is reported on standard error with its
    line number; the others are still decided, and the exit code is 1.
    """
    library = load_library_for(rulesets, ref, backend)

    def one(data: dict[str, Any]) -> str:
        decision = library.decide(ref, data, as_of)
        return decision.to_json() if fmt == "json" else render_decision(decision)

    _each_incident(library, ref, incidents, input_format, one, allow_empty)


@click.command()
@RULESETS
@POLICY
@click.argument("incident", type=click.Path(path_type=Path, allow_dash=True))
@AS_OF
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@input_format_option(FORMATS)
@ALLOW_EMPTY
def explain(rulesets: tuple[Path, ...], ref: str, incident: Path, as_of: datetime | None, fmt: str,
            input_format: str | None, allow_empty: bool) -> None:
    """Explain, rule by rule, why each obligation applies to an incident or why it does not.

    The incident is judged as `bwc decide` judges it: the version in effect on its date, with the
    versions it extends and any amendment or conduct layer, each explained under its own heading; the
    input is read as `bwc decide` reads it. JSON output is one explanation per line, naming its
    incident.
    """
    library = load_library_for(rulesets, ref)

    def one(data: dict[str, Any]) -> str:
        explanation = library.explain(ref, data, as_of)
        return json.dumps(explanation.to_dict(), ensure_ascii=False) if fmt == "json" else render_text(explanation)

    _each_incident(library, ref, incident, input_format, one, allow_empty)


__all__ = ["decide", "explain"]
