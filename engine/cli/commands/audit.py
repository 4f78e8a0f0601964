"""Commands over many incidents at once: audit an export, generate one, and measure a new version's impact."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path

import click

from engine.cli.boundary import EXIT_FAILED
from engine.cli.options import (
    ALLOW_EMPTY,
    AS_OF,
    OVERWRITE,
    POLICY,
    RULESETS,
    as_of_option,
    load_library,
    load_library_for,
)
from engine.cli.text.console import say, say_line_problem
from engine.cli.text.progress import audit_progress, generate_progress
from engine.executor import default_workers
from engine.io.output import check_output_file, check_report_folder
from engine.tools import generate as gen
from policy.values import quoted


@click.command("impact")
@RULESETS
@click.argument("old")
@click.argument("new")
@click.argument("incidents", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@AS_OF
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes deciding in parallel (0: one per CPU; at most four per CPU are started).")
@click.option("--dates/--as-if-in-force", "dates", default=False, show_default=True,
              help="Keep each version's `effective` dates (an incident outside them is decided under nothing), "
                   "or judge both versions as though in force on every incident's date.")
@ALLOW_EMPTY
def impact_command(rulesets: tuple[Path, ...], old: str, new: str, incidents: Path, fmt: str,
                   as_of: datetime | None, workers: int, dates: bool, allow_empty: bool) -> None:
    """Decide every incident (.jsonl, one per line) under OLD and NEW and report which decisions change.

    OLD and NEW are ID@VERSION references or ruleset files; both are pinned (no selection by date),
    and by default judged as though in force on every incident's date (`--dates` keeps their dates).
    Counts each kind of change (obligations added, removed or changed, retention and release dates
    moved, conflicts added or removed) with the incidents it affects. A bad line is reported with its
    line number and the rest goes on; the exit code is then 1.
    """
    from engine.cli.text.impact import RENDER, progress_bar
    from engine.tools import impact as impact_

    library = load_library(rulesets)
    a, b = impact_.Side.of(rulesets, old, dates=dates), impact_.Side.of(rulesets, new, dates=dates)
    for side in (a, b):
        side.policy(library)  # an unknown or broken side is reported before any incident is read
    with progress_bar(sys.stderr.isatty()) as tick:
        report = impact_.impact(a, b, incidents, as_of=as_of, workers=workers, library=library, progress=tick,
                                allow_empty=allow_empty)
    say(RENDER[fmt](report), nl=False)
    say(f"{report.tally.incidents:,} incidents in {report.seconds:.1f} s "
        f"({report.throughput:,.0f} incidents/s, {report.workers} worker(s))", err=True)
    for bad in report.tally.bad:
        say_line_problem(incidents, bad.line, bad.message, bad.column)
    if report.tally.errors:
        sys.exit(EXIT_FAILED)


@click.command("audit")
@RULESETS
@POLICY
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="The export's format (default: by extension: .jsonl, .csv, .parquet).")
@as_of_option("Audit as of this time (ISO 8601 with offset, or `now`); default: each incident's last event.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the report (summary.json, findings.csv, ...) into this folder: a new or empty "
                   "folder, or the folder of a previous report, which is replaced.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes (default: every core; at most four per core are started).")
@ALLOW_EMPTY
def audit_command(rulesets: tuple[Path, ...], ref: str, export: Path, fmt: str | None, as_of: datetime | None,
                  out: Path | None, workers: int | None, allow_empty: bool) -> None:
    """Audit an export of incidents (with their actions) against a ruleset: findings and a report.

    Exits 0 when the audit ran, whatever it found, and 1 when the input cannot be used. A report
    folder is replaced only by a complete new one, and only if it holds a previous report (or
    nothing): any other folder is refused before the audit starts.
    """
    from engine.audit import run_audit
    from engine.cli.text.audit import summary_text

    if out is not None:
        check_report_folder(out)  # before any work: never an hour of auditing, then a refusal
    library = load_library_for(rulesets, ref)
    with audit_progress() as tick:
        outcome = run_audit(rulesets, ref, export, fmt=fmt, as_of=as_of, out_dir=out, workers=workers,
                            library=library, allow_empty=allow_empty, progress=tick)
    say(summary_text(outcome.summary, out))


def _first_month(start: str) -> date:
    """`--start`: YYYY-MM (`2024` alone is January), or a usage error."""
    year, _, month = start.partition("-")
    try:
        first = date(int(year), int(month or 1), 1) if year.isdigit() and (month or "1").isdigit() else None
    except ValueError:
        first = None
    if first is None:
        raise click.BadParameter(f"{quoted(start)} is not a month: write YYYY-MM, e.g. 2024-01", param_hint="--start")
    return first


@click.command("generate")
@RULESETS
@POLICY
@click.option("--incidents", "count", type=click.IntRange(min=0), required=True, help="How many incidents.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same bytes.")
@click.option("--violations", default="0.1", show_default=True,
              help="Share of eligible incidents given a planted violation of each kind: `0.1`, or per check, "
                   "e.g. `0.1,no_notice=0.3,kept_past_maximum=0`.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Output format (default: by extension, .csv or else JSON Lines).")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the planted violations (JSONL: incident_id, check, rule, ruleset).")
@click.option("--start", default=None, help="First month (YYYY-MM; default: when the newest enacted version "
                                            "took effect).")
@click.option("--months", type=click.IntRange(min=1), default=12, show_default=True,
              help="Months the incidents are spread over.")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes (0: every core; at most four per core are started); the output is the "
                   "same for any number.")
@OVERWRITE
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def generate_command(rulesets: tuple[Path, ...], ref: str, count: int, seed: int, violations: str,
                     fmt: str | None, truth: Path | None, start: str | None, months: int, jobs: int,
                     overwrite: bool, out: Path) -> None:
    """Write a synthetic export of incidents with their actions, some with planted violations.

    For testing audits: the truth file lists every planted violation. See docs/audit.md.
    """
    try:
        shares = gen.parse_shares(violations)
    except gen.GenerateError as exc:
        raise click.BadParameter(str(exc), param_hint="--violations") from None
    first = None if start is None else _first_month(start)
    if truth is not None and os.path.realpath(truth) == os.path.realpath(out):
        raise click.BadParameter("the truth file would overwrite the export: give it another name",
                                 param_hint="--truth")
    for path in (out, truth):
        if path is not None:
            # Before any work: a missing folder, a read-only disk or a file already there is said at once.
            check_output_file(path, overwrite=overwrite)
    library = load_library_for(rulesets, ref)
    workers = default_workers() if jobs == 0 else jobs
    with generate_progress(count) as tick:
        stats = gen.generate(library, ref, out, incidents=count, seed=seed, shares=shares,
                             fmt=fmt, truth=truth, start=first, months=months,  # type: ignore[arg-type]
                             jobs=workers, rulesets=rulesets, progress=tick)
    say(gen.to_text(stats), nl=False, err=True)


COMMANDS = (audit_command, generate_command, impact_command)

__all__ = ["COMMANDS"]
