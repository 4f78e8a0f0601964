"""Commands over many incidents at once: audit an export, generate one, and measure a new version's impact."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from engine.cli.boundary import EXIT_FAILED
from engine.cli.options import (
    ALLOW_EMPTY,
    AS_OF,
    CLUSTER,
    OVERWRITE,
    POLICY,
    RULESETS,
    as_of_option,
    input_format_option,
    load_library,
    load_library_for,
)
from engine.cli.text.console import say, say_line_problem
from engine.cli.text.progress import audit_progress, generate_progress
from engine.executor import default_workers
from engine.executor.cluster import require_dask
from engine.io.export import FORMATS
from engine.io.output import check_output_file, check_report_folder
from engine.tools import generate as gen
from policy.values import quoted


@click.command("impact")
@RULESETS
@click.argument("old")
@click.argument("new")
@click.argument("incidents", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@input_format_option(FORMATS)
@AS_OF
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes deciding in parallel (0: one per CPU; at most four per CPU are started).")
@click.option("--dates/--as-if-in-force", "dates", default=False, show_default=True,
              help="Keep each version's `effective` dates (an incident outside them is decided under nothing), "
                   "or judge both versions as though in force on every incident's date.")
@ALLOW_EMPTY
@CLUSTER
def impact_command(rulesets: tuple[Path, ...], old: str, new: str, incidents: Path, fmt: str,
                   input_format: str | None, as_of: datetime | None, workers: int, dates: bool, allow_empty: bool,
                   cluster: str | None) -> None:
    """Decide every incident of an export under OLD and NEW and report which decisions change.

    The export is read as `bwc decide` reads it: JSON Lines, a .json array, CSV or Parquet, by
    extension or `--input-format`; `-` is JSON Lines on standard input.

    OLD and NEW are ID@VERSION references or ruleset files; both are pinned (no selection by date),
    and by default judged as though in force on every incident's date (`--dates` keeps their dates).
    Counts each kind of change (obligations added, removed or changed, retention and release dates
    moved, conflicts added or removed) with the incidents it affects. A bad line is reported with its
    line number and the rest goes on; the exit code is then 1.
    """
    from engine.cli.text.impact import RENDER, progress_bar
    from engine.tools import impact as impact_

    if cluster is not None:
        require_dask()  # before any ruleset is loaded
    library = load_library(rulesets)
    a, b = impact_.Side.of(rulesets, old, dates=dates), impact_.Side.of(rulesets, new, dates=dates)
    for side in (a, b):
        side.policy(library)  # an unknown or broken side is reported before any incident is read
    with progress_bar(sys.stderr.isatty()) as tick:
        report = impact_.impact(a, b, incidents, as_of=as_of, workers=workers, library=library, progress=tick,
                                fmt=input_format, allow_empty=allow_empty, cluster=cluster)
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
@input_format_option(("jsonl", "csv", "parquet"), also_format=True)
@as_of_option("Audit as of this time (ISO 8601 with offset, or `now`); default: each incident's last event.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the report (summary.json, findings.csv, ...) into this folder: a new or empty "
                   "folder, or the folder of a previous report, which is replaced.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes (default: every core; at most four per core are started).")
@ALLOW_EMPTY
@CLUSTER
@click.option("--map", "column_map", default=None, metavar="FILE_OR_NAME",
              help="Read a vendor's CSV export through a column map: a map file, or a shipped map's name "
                   "(docs/vendor-exports.md).")
@click.option("--recordings", type=click.Path(path_type=Path), default=None,
              help="With --map: a CSV of recordings (one row per video), matched to incidents as the map says.")
@click.option("--preset", default=None, metavar="NAME_OR_FILE",
              help="Audit by a published method: its checks, and its measure (docs/audit.md, \"Presets\").")
def audit_command(rulesets: tuple[Path, ...], ref: str, export: Path, input_format: str | None,
                  as_of: datetime | None,
                  out: Path | None, workers: int | None, allow_empty: bool, cluster: str | None,
                  column_map: str | None, recordings: Path | None, preset: str | None) -> None:
    """Audit an export of incidents (with their actions) against a ruleset: findings and a report.

    Exits 0 when the audit ran, whatever it found, and 1 when the input cannot be used. A report
    folder is replaced only by a complete new one, and only if it holds a previous report (or
    nothing): any other folder is refused before the audit starts.
    """
    from engine.audit import run_audit
    from engine.cli.text.audit import summary_text

    if cluster is not None:
        require_dask()
    if out is not None:
        check_report_folder(out)  # before any work: never an hour of auditing, then a refusal
    library = load_library_for(rulesets, ref)
    cmap, chosen = _map_and_preset(library, ref, column_map, recordings, preset)
    with audit_progress() as tick:
        outcome = run_audit(rulesets, ref, export, fmt=input_format, as_of=as_of, out_dir=out, workers=workers,
                            library=library, allow_empty=allow_empty, progress=tick, cluster=cluster,
                            column_map=cmap, recordings=recordings, preset=chosen)
    say(summary_text(outcome.summary, out))
    say_map_and_preset(outcome.summary)


def _map_and_preset(library: Any, ref: str, column_map: str | None, recordings: Path | None,
                    preset: str | None) -> tuple[Any, Any]:
    """The column map and preset named on the command line, read before any work (their problems
    are said with file:line:column, and the command exits 1)."""
    from engine.audit.presets import load_preset
    from engine.cli.commands.maps import say_map_problem
    from engine.io.columnmap import ColumnMapError, load_map

    if recordings is not None and column_map is None:
        raise click.BadParameter("a recordings file is read through a column map: give --map too",
                                 param_hint="--recordings")
    try:
        cmap = None if column_map is None else load_map(column_map, library.vocabulary(ref))
        chosen = None if preset is None else load_preset(preset)
    except ColumnMapError as exc:
        for problem in exc.problems:
            say_map_problem(problem)
        sys.exit(EXIT_FAILED)
    if cmap is not None and cmap.recordings is not None and recordings is None:
        say(f"note: the map {cmap.name} matches recordings from a second file; without --recordings no recording "
            "is known, so every required recording shows as missing", err=True)
    return cmap, chosen


def say_map_and_preset(summary: dict[str, Any]) -> None:
    """What the map matched and what the preset leaves to be checked by hand."""
    mapped = summary["input"].get("map")
    if mapped and mapped.get("recordings"):
        r = mapped["recordings"]
        say(f"recordings: {r['rows']:,} row{'' if r['rows'] == 1 else 's'}, {r['matched']:,} matched to an incident, "
            f"{r['unmatched']:,} matched to none, {r['skipped']:,} unreadable"
            + (f", {r['ambiguous']:,} matching too many calls to tell" if r.get("ambiguous") else ""))
    chosen = summary.get("preset")
    if not chosen:
        return
    say(f"preset {chosen['name']}: {chosen['title']}")
    for element in chosen["elements"]:
        how = ", ".join(element["checks"]) if element["checks"] else f"by hand ({element['by_hand']})"
        say(f"  {element['name']}: {how}")
    measure = chosen.get("measure")
    if measure:
        percent = "n/a" if measure["percent"] is None else f"{measure['percent']}%"
        say(f"  activation rate: {measure['matched']:,} of {measure['calls']:,} calls matched to a recording "
            f"({percent})")


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
@click.option("--violations", default=None,
              help="Share of eligible incidents given a planted violation of each kind: `0.1`, or per check, "
                   "e.g. `0.1,no_notice=0.3,kept_past_maximum=0`.  [default: 0.1]")
@click.option("--profile", default=None, metavar="NAME_OR_FILE",
              help="Shares calibrated to a published audit's findings, each with its source (instead of "
                   "--violations; docs/audit.md).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Output format (default: by extension, .csv or else JSON Lines).")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the planted violations (JSONL: incident_id, check, rule, ruleset).")
@click.option("--start", default=None, help="First month (YYYY-MM; default: when the pinned version, or else "
                                            "the newest enacted one, took effect).")
@click.option("--months", type=click.IntRange(min=1), default=12, show_default=True,
              help="Months the incidents are spread over.")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes (0: every core; at most four per core are started); the output is the "
                   "same for any number.")
@OVERWRITE
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def generate_command(rulesets: tuple[Path, ...], ref: str, count: int, seed: int, violations: str | None,
                     profile: str | None, fmt: str | None, truth: Path | None, start: str | None, months: int,
                     jobs: int, overwrite: bool, out: Path) -> None:
    """Write a synthetic export of incidents with their actions, some with planted violations.

    For testing audits: the truth file lists every planted violation. See docs/audit.md.
    """
    if profile is not None and violations is not None:
        raise click.BadParameter("give --violations or --profile, not both", param_hint="--profile")
    try:
        if profile is not None:
            from engine.tools.generate.profiles import load_profile
            shares = load_profile(profile).shares()
        else:
            shares = gen.parse_shares("0.1" if violations is None else violations)
    except gen.GenerateError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile" if profile else "--violations") from None
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
                             jobs=workers, rulesets=rulesets, progress=tick, overwrite=overwrite)
    say(gen.to_text(stats), nl=False, err=True)


__all__ = ["audit_command", "generate_command", "impact_command"]
