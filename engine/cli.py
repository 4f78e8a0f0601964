"""The `bwc` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from engine import scenarios
from engine.api import Library, SelectionError
from engine.decision import Decision
from engine.explain import render_text
from engine.incident import IncidentError, Problem
from engine.output import write_text_atomic
from engine.render import render_decision
from policy import diff
from policy.canonical import digest
from policy.diagnostics import Diagnostic, RulesetError, Severity
from policy.loader import check_paths
from policy.model import Ruleset
from policy.repository import Repository, RulesetLookupError
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
        click.echo(click.style(summary, fg="red" if failed else "green"))
    if failed or not results:
        sys.exit(1)


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to this file instead of standard output.")
@click.option("--kind", type=click.Choice(["ruleset", "scenarios", "decision"]), default="ruleset",
              show_default=True, help="Ruleset files, scenario test files, or decisions.")
def schema(output: Path | None, kind: str) -> None:
    """Print a JSON Schema: of ruleset files (for editors: see docs/editors.md), scenario files or decisions."""
    if kind == "ruleset":
        text = ruleset_schema_json()
    else:
        model = scenarios.ScenarioFile if kind == "scenarios" else Decision
        text = json.dumps(model.model_json_schema(by_alias=True), indent=2, sort_keys=True) + "\n"
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


def _library(rulesets: tuple[Path, ...], backend: str = "native") -> Library:
    try:
        return Library.load(*rulesets, backend=backend)  # type: ignore[arg-type]
    except RulesetError as exc:
        for d in exc.diagnostics:
            _echo_diagnostic(d)
        raise click.ClickException("the rulesets have errors: run `bwc check` on them") from None


def _library_with(rulesets: tuple[Path, ...], ref: str, backend: str = "native") -> Library:
    """The rulesets, after checking that `ref` names one of them."""
    library = _library(rulesets, backend)
    try:
        library.select(ref)
    except SelectionError as exc:
        raise click.ClickException(str(exc)) from None
    return library


def _incidents(path: Path) -> Iterator[tuple[str, Any]]:
    """(label, data) for each incident in a .json file, or each line of a .jsonl file."""
    stream = sys.stdin if str(path) == "-" else None
    try:
        text = stream.read() if stream else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    if path.suffix == ".jsonl" or (stream is None and path.suffix == ".ndjson"):
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{path}:{n}", _json(line, f"{path}:{n}")
    else:
        yield str(path), _json(text, str(path))


class _BadJSON:
    def __init__(self, message: str) -> None:
        self.message = message


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return _BadJSON(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")


_RULESETS = click.option("--rulesets", "rulesets", multiple=True, type=click.Path(exists=True, path_type=Path),
                         default=[Path("rulesets")], show_default=True, help="Folder(s) of rulesets.")
_POLICY = click.option("--policy", "ref", required=True, help="Ruleset id, optionally @version.")
_AS_OF = click.option("--as-of", "as_of", default=None,
                      help="Decide as of this time (ISO 8601 with offset, or `now`); default: the last event.")
_BACKEND = click.option("--backend", type=click.Choice(["native", "rete"]), default="native", show_default=True)


@main.command()
@_RULESETS
@_POLICY
@click.argument("incidents", type=click.Path(path_type=Path, allow_dash=True))
@_AS_OF
@_BACKEND
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def decide(rulesets: tuple[Path, ...], ref: str, incidents: Path, as_of: str | None, backend: str,
           fmt: str) -> None:
    """Decide the obligations of an incident (.json) or of many (.jsonl, one per line).

    Each incident is judged by the version of the ruleset in effect on its date, unless a version
    is pinned with `--policy ID@VERSION`.

    JSON output is one decision per line. A bad incident is reported on standard error with its
    line number; the others are still decided, and the exit code is 1.
    """
    library = _library(rulesets, backend)
    try:
        library.select(ref)
    except SelectionError as exc:
        raise click.ClickException(str(exc)) from None
    def one(data: Any) -> str:
        decision = library.decide(ref, data, as_of)
        return decision.to_json() if fmt == "json" else render_decision(decision)

    _each_incident(incidents, one)


def _each_incident(path: Path, handle: Callable[[Any], str]) -> None:
    """Print `handle(incident)` for each incident; report bad ones on stderr and exit 1 at the end."""
    failures = 0
    for label, data in _incidents(path):
        try:
            if isinstance(data, _BadJSON):
                raise IncidentError([Problem("?", "(json)", data.message)])
            click.echo(handle(data))
        except IncidentError as exc:
            failures += 1
            for p in exc.problems:
                click.echo(click.style(f"{label}: ", bold=True) + str(p), err=True)
    if failures:
        sys.exit(1)


@main.command()
@_RULESETS
@_POLICY
@click.argument("incident", type=click.Path(path_type=Path, allow_dash=True))
@_AS_OF
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def explain(rulesets: tuple[Path, ...], ref: str, incident: Path, as_of: str | None, fmt: str) -> None:
    """Explain, rule by rule, why each obligation applies to an incident or why it does not.

    The incident is judged by the version in effect on its date, as `bwc decide` does.
    """
    library = _library_with(rulesets, ref)

    def one(data: Any) -> str:
        explanations = library.explain(ref, data, as_of)
        return json.dumps([e.to_dict() for e in explanations], ensure_ascii=False) if fmt == "json" \
            else render_text(explanations)

    _each_incident(incident, one)


@main.command("test")
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
    try:
        report = scenarios.run(paths or [Path("rulesets")], rulesets or None)
    except RulesetError as exc:
        for d in exc.diagnostics:
            _echo_diagnostic(d)
        raise click.ClickException("the rulesets have errors: run `bwc check` on them") from None
    uncovered = coverage and any(c.missing for c in report.coverage)
    if fmt == "json":
        click.echo(scenarios.to_json(report))
    elif fmt == "junit":
        click.echo(scenarios.to_junit(report), nl=False)
    else:
        for d in report.problems:
            _echo_diagnostic(d)
        for o in report.outcomes:
            mark = click.style("pass", fg="green") if o.passed else click.style("FAIL", fg="red", bold=True)
            click.echo(f"{mark}  {o.ruleset}  {o.scenario}  [{o.cite}]")
            for f in o.failures:
                click.echo(f"      {f}")
        if coverage:
            click.echo("")
            for c in report.coverage:
                colour = "green" if not c.missing else "red"
                click.echo(click.style(f"{c.percent:5.1f}%", fg=colour) + f"  {c.ruleset}  "
                           f"({len(c.rules) - len(c.missing)}/{len(c.rules)} rules exercised)")
                for rule in c.missing:
                    click.echo(f"        not exercised: {rule}")
        failed = sum(not o.passed for o in report.outcomes)
        click.echo(click.style(f"{len(report.outcomes)} scenarios, {len(report.outcomes) - failed} passed, "
                               f"{failed} failed", fg="red" if failed else "green"))
        if uncovered:
            missing = sum(len(c.missing) for c in report.coverage)
            click.echo(click.style(f"coverage: {missing} rule(s) not exercised by any scenario", fg="red"))
    if not report.ok or uncovered or not report.outcomes:
        sys.exit(1)


def _resolve(repo: Repository, ref: str) -> Ruleset:
    try:
        return repo.resolve(ref)
    except (RulesetLookupError, RulesetError) as exc:
        if isinstance(exc, RulesetError):
            for d in exc.diagnostics:
                _echo_diagnostic(d)
            raise click.ClickException(f"cannot load {ref}") from None
        raise click.ClickException(str(exc)) from None


@main.command("diff")
@_RULESETS
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def diff_command(rulesets: tuple[Path, ...], old: str, new: str, fmt: str) -> None:
    """Say in plain words what changed between two rulesets: files, or ID@VERSION references."""
    repo = _library(rulesets).repository
    d = diff.diff(_resolve(repo, old), _resolve(repo, new))
    render = {"text": diff.render_text, "markdown": diff.render_markdown, "json": diff.render_json}[fmt]
    click.echo(render(d), nl=False)


@main.command("log")
@_RULESETS
@click.argument("ruleset_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def log_command(rulesets: tuple[Path, ...], ruleset_id: str, fmt: str) -> None:
    """List the versions of a ruleset, newest first, with what each changed."""
    repo = _library(rulesets).repository
    try:
        entries = list(reversed(diff.history(repo, ruleset_id)))
    except RulesetLookupError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    for e in entries:
        until = f" until {e.effective_until}" if e.effective_until else ""
        click.echo(click.style(f"{ruleset_id}@{e.version}", bold=True) + f"  {e.status}  in force from "
                   f"{e.effective_from}{until}")
        click.echo(f"    drafted by {e.drafted_by}")
        click.echo(f"    {e.summary}")
        click.echo("")


@main.command("impact")
@_RULESETS
@click.argument("old")
@click.argument("new")
@click.argument("incidents", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@_AS_OF
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes deciding in parallel (0: one per CPU).")
@click.option("--dates/--as-if-in-force", "dates", default=False, show_default=True,
              help="Keep each version's `effective` dates (an incident outside them is decided under nothing), "
                   "or judge both versions as though in force on every incident's date.")
def impact_command(rulesets: tuple[Path, ...], old: str, new: str, incidents: Path, fmt: str, as_of: str | None,
                   workers: int, dates: bool) -> None:
    """Decide every incident (.jsonl, one per line) under OLD and NEW and report which decisions change.

    OLD and NEW are ID@VERSION references or ruleset files; both are pinned (no selection by date),
    and by default judged as though in force on every incident's date (`--dates` keeps their dates).
    Counts each kind of change (obligations added, removed or changed, retention and release dates
    moved, conflicts added or removed) with the incidents it affects. A bad line is reported with its
    line number and the rest goes on; the exit code is then 1.
    """
    from engine import impact as impact_

    library = _library(rulesets)
    a, b = impact_.Side.of(rulesets, old, dates=dates), impact_.Side.of(rulesets, new, dates=dates)
    for side in (a, b):
        try:
            side.policy(library)
        except (RulesetLookupError, RulesetError, SelectionError) as exc:
            if isinstance(exc, RulesetError):
                for d in exc.diagnostics:
                    _echo_diagnostic(d)
                raise click.ClickException(f"cannot load {side.ref}") from None
            raise click.ClickException(str(exc)) from None
    source: Path | Any = sys.stdin if str(incidents) == "-" else incidents
    if source is incidents and not incidents.is_file():
        raise click.ClickException(f"cannot read {incidents}: no such file")
    report = impact_.impact(a, b, source, as_of=as_of, workers=workers, library=library,
                            show_progress=sys.stderr.isatty())
    click.echo(impact_.RENDER[fmt](report), nl=False)
    click.echo(f"{report.tally.incidents:,} incidents in {report.seconds:.1f} s "
               f"({report.throughput:,.0f} incidents/s, {report.workers} worker(s))", err=True)
    for bad in report.tally.bad:
        click.echo(click.style(f"{incidents}:{bad.line}: ", bold=True) + bad.message, err=True)
    if report.tally.errors:
        sys.exit(1)


@main.command("audit")
@_RULESETS
@_POLICY
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="The export's format (default: by extension: .jsonl, .csv, .parquet).")
@click.option("--as-of", "as_of", default=None,
              help="Audit as of this time (ISO 8601 with offset, or `now`); default: each incident's last event.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the report (summary.json, findings.csv, ...) into this folder.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: every core).")
def audit_command(rulesets: tuple[Path, ...], ref: str, export: Path, fmt: str | None, as_of: str | None,
                  out: Path | None, workers: int | None) -> None:
    """Audit an export of incidents (with their actions) against a ruleset: findings and a report.

    Exits 0 when the audit ran, whatever it found, and 1 when the input cannot be used. A report
    folder is replaced only by a complete new one.
    """
    from engine.audit import parse_as_of, run_audit, summary_text
    from engine.export import ExportError

    try:
        when = parse_as_of(as_of)
    except IncidentError as exc:
        raise click.ClickException(exc.problems[0].message) from None
    library = _library(rulesets)
    try:
        library.select(ref)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

        with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                      TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                      disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("auditing", total=None)
            outcome = run_audit(rulesets, ref, export, fmt=fmt, as_of=when, out_dir=out, workers=workers,
                                library=library, progress=lambda done, total: bar.update(task, completed=done,
                                                                                         total=total))
    except (SelectionError, ExportError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary_text(outcome.summary, out))



@main.command("generate")
@_RULESETS
@_POLICY
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
              help="Worker processes (0: every core); the output is the same for any number.")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def generate_command(rulesets: tuple[Path, ...], ref: str, count: int, seed: int, violations: str,
                     fmt: str | None, truth: Path | None, start: str | None, months: int, jobs: int,
                     out: Path) -> None:
    """Write a synthetic export of incidents with their actions, some with planted violations.

    For testing audits: the truth file lists every planted violation. See docs/audit.md.
    """
    import os
    from datetime import date

    from engine import generate as gen

    try:
        shares = gen.parse_shares(violations)
        first = None
        if start is not None:
            year, _, month = start.partition("-")
            first = date(int(year), int(month or 1), 1)
    except (gen.GenerateError, ValueError) as exc:
        raise click.ClickException(f"bad option: {exc}") from None
    library = _library(rulesets)
    try:
        library.select(ref)
    except SelectionError as exc:
        raise click.ClickException(str(exc)) from None
    workers = (os.cpu_count() or 1) if jobs == 0 else jobs
    with click.progressbar(length=count, label="generating", file=sys.stderr,
                           hidden=not sys.stderr.isatty()) as bar:
        try:
            stats = gen.generate(library, ref, out, incidents=count, seed=seed, shares=shares,
                                 fmt=fmt, truth=truth, start=first, months=months,  # type: ignore[arg-type]
                                 jobs=workers, rulesets=rulesets, progress=bar.update)
        except (gen.GenerateError, OSError) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(gen.to_text(stats), nl=False, err=True)

if __name__ == "__main__":  # pragma: no cover
    main()
