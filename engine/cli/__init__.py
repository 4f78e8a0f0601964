"""The `bwc` command line.

Every command runs inside one error boundary (`Bwc.main`): an expected error (bad input, a file
that cannot be read or written) is one line saying where and why, exit 1; a usage error exits 2;
Ctrl-C exits 130 and SIGTERM 143, leaving no partial output; a closed standard output (`| head`)
ends the run quietly; anything else is a bug, reported as "internal error" with the input being
processed and the file where its traceback was saved. docs/diagnostics.md lists the exit codes.

All text goes out through `say`, which shows data as literal text: control characters, terminal
escape sequences and bidirectional overrides from incidents, rulesets or file names are escaped.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from engine.api import Library, parse_as_of
from engine.cli.render import render_decision
from engine.core.decision import Decision
from engine.core.explain import render_text
from engine.core.incident import IncidentError
from engine.executor import default_workers
from engine.io.output import (
    OutputError,
    check_output_file,
    check_report_folder,
    save_traceback,
    terminal_text,
    write_text_atomic,
)
from engine.tools import scenarios
from policy import diff
from policy.canonical import digest
from policy.diagnostics import Diagnostic, RulesetError, Severity
from policy.loader import check_paths
from policy.model import Ruleset
from policy.repository import Repository
from policy.schema import ruleset_schema_json
from policy.values import quoted
from policy.vocabulary import core, to_markdown

# Exit codes (docs/diagnostics.md, "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1  # the input has problems, or an expected error stopped the command
EXIT_USAGE = 2  # click's own code for a bad command line
EXIT_INTERNAL = 70  # a bug in bwc (EX_SOFTWARE of sysexits.h)
EXIT_PIPE = 141  # standard output was closed by its reader (128 + SIGPIPE, as a shell reports it)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM)


# --- text output ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Styled:
    """A piece of a line with a colour or weight; its text is escaped like any other."""

    text: str
    fg: str | None = None
    bold: bool = False


def say(*parts: str | Styled, err: bool = False, nl: bool = True) -> None:
    """Print one line (or block) made of `parts`: THE way the CLI writes text. Every part is made
    printable first (control characters and terminal escapes in data shown as `\\x1b`, never
    obeyed), then styled; click drops the styles when the output is not a terminal."""
    line = "".join(click.style(terminal_text(p.text), fg=p.fg, bold=p.bold) if isinstance(p, Styled)
                   else terminal_text(p) for p in parts)
    click.echo(line, err=err, nl=nl)


def _say_diagnostic(d: Diagnostic) -> None:
    colour = "red" if d.severity is Severity.ERROR else "yellow"
    rule = (" (rule ", Styled(d.rule, bold=True), ")") if d.rule else ()
    say(Styled(d.location(), bold=True), ": ", Styled(f"{d.severity} {d.code}", fg=colour, bold=True), *rule,
        ": ", d.message)
    if d.hint:
        say(Styled("    hint: ", fg="cyan"), d.hint)


def _say_error(message: str) -> None:
    say(Styled("error: ", fg="red", bold=True), message, err=True)


# --- the error boundary ------------------------------------------------------------------------------

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C: every clean-up that runs on an interrupt
    (temporary files removed, worker processes stopped) runs on a termination too."""


class _Position:
    """The input being processed (`file:line`), for the report of an internal error."""

    current: str | None = None


@contextmanager
def _at(where: str) -> Iterator[None]:
    before, _Position.current = _Position.current, where
    try:
        yield
    finally:
        _Position.current = before


def _on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated()


# Expected errors: the message says what is wrong with the input or the environment. Named by module
# so that a module the command never imported is not imported just to test an exception against it.
_EXPECTED = (("engine.api", "SelectionError"), ("policy.repository", "RulesetLookupError"),
             ("engine.io.export", "ExportError"), ("engine.io.export", "JsonError"),
             ("engine.io.output", "OutputError"),
             ("engine.tools.generate", "GenerateError"), ("policy.duration", "CalendarOverflow"),
             ("engine.executor", "WorkerError"), ("engine.audit", "AuditError"), ("engine.tools.impact", "ImpactError"))


def _expected(exc: BaseException) -> bool:
    for module, name in _EXPECTED:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def _os_error_text(exc: OSError) -> str:
    why = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"cannot use {quoted(os.fsdecode(exc.filename), 200)}: {why}"
    return why


def _internal_error(exc: BaseException, where: str | None, *, say_where: bool = True) -> str:
    """One line for a bug: where it happened, and the file holding the traceback (never shown)."""
    saved = save_traceback(exc, where)
    place = f" while processing {where}" if where and say_where else ""
    detail = f"the details were saved to {saved}" if saved else "the details could not be saved"
    return (f"internal error{place} ({type(exc).__name__}): this is a bug in bwc, not a problem with your "
            f"input; {detail}; please report it with that file")


def _quiet_stdout() -> None:
    """Standard output is gone: point it at /dev/null so the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (tests capture it): nothing will flush it at exit


def _exit_code(run: Callable[[], Any]) -> int:
    """Run a command; turn whatever ends it into an exit code, having said why in one line."""
    try:
        result = run()
        return result if isinstance(result, int) else EXIT_OK
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_FAILED)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort as exc:  # click turns Ctrl-C (and end of input at a prompt) into Abort
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            return _interrupted(cause)
        _say_error("aborted")
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (BrokenPipeError, _OutputClosed):
        _quiet_stdout()
        return EXIT_PIPE
    except RulesetError as exc:
        for d in exc.diagnostics:
            _say_diagnostic(d)
        _say_error("the rulesets have errors: run `bwc check` on them")
        return EXIT_FAILED
    except IncidentError as exc:
        for p in exc.problems:
            _say_error(str(p))
        return EXIT_FAILED
    except OSError as exc:
        _say_error(_os_error_text(exc))
        return EXIT_FAILED
    except Exception as exc:
        if _expected(exc):
            _say_error(str(exc))
            return EXIT_FAILED
        _say_error(_internal_error(exc, _Position.current))
        return EXIT_INTERNAL


def _interrupted(exc: KeyboardInterrupt) -> int:
    terminated = isinstance(exc, Terminated)
    say("bwc: " + ("terminated" if terminated else "interrupted") + "; nothing was written", err=True)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


class _OutputClosed(Exception):
    """Standard output's reader went away. Not an OSError, so that click does not handle it itself
    (it would exit 1): the boundary exits quietly with EXIT_PIPE."""


class Bwc(click.Group):
    """The `bwc` group, whose `main` is the one error boundary of every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _OutputClosed() from exc

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main thread (an embedding program): leave signals to it
            previous = None
        try:
            code = _exit_code(lambda: super(Bwc, self).main(args, prog_name, complete_var,
                                                            standalone_mode=False, **extra))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            _Position.current = None
        if not standalone_mode:
            return code
        sys.exit(code)


# --- options shared by several commands --------------------------------------------------------------

def _as_of_option(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """`--as-of`, read by the one resolver every command uses; a bad value is a usage error."""
    try:
        return parse_as_of(value)
    except IncidentError as exc:
        raise click.BadParameter("; ".join(p.message for p in exc.problems), ctx, param) from None


_RULESETS = click.option("--rulesets", "rulesets", multiple=True, type=click.Path(exists=True, path_type=Path),
                         default=[Path("rulesets")], show_default=True, help="Folder(s) of rulesets.")
_POLICY = click.option("--policy", "ref", required=True, help="Ruleset id, optionally @version.")
_AS_OF = click.option("--as-of", "as_of", default=None, callback=_as_of_option,
                      help="Decide as of this time (ISO 8601 with offset, or `now`); default: the last event.")
_BACKEND = click.option("--backend", type=click.Choice(["native", "rete"]), default="native", show_default=True)
_ALLOW_EMPTY = click.option("--allow-empty", is_flag=True,
                            help="Succeed on an input holding no incident (by default that is an error).")


def _library(rulesets: tuple[Path, ...], backend: str = "native") -> Library:
    return Library.load(*rulesets, backend=backend)  # type: ignore[arg-type]


def _library_with(rulesets: tuple[Path, ...], ref: str, backend: str = "native") -> Library:
    """The rulesets, after checking that `ref` names one of them (SelectionError if not)."""
    library = _library(rulesets, backend)
    library.select(ref)
    return library


@click.group(cls=Bwc, context_settings={"help_option_names": ["-h", "--help"]})
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
        say(json.dumps({"files": out, "errors": sum(len(r.diagnostics) for r in failed)}, indent=2))
    else:
        for r in results:
            if r.ok and r.ruleset is not None:
                say(Styled("ok", fg="green"), f"  {r.file}  {r.ruleset.ref}  ({len(r.ruleset.rules)} rules)")
            for d in r.diagnostics:
                _say_diagnostic(d)
        if not results:
            say("no ruleset files found (looked for *.yaml and *.yml)", err=True)
        problems = sum(len(r.diagnostics) for r in failed)
        summary = f"{len(results)} file(s) checked, {len(failed)} with errors ({problems} problem(s))"
        say(Styled(summary, fg="red" if failed else "green"))
    if failed or not results:
        sys.exit(EXIT_FAILED)


_OVERWRITE = click.option("--overwrite", is_flag=True, default=False,
                          help="Replace an output file that already exists (refused otherwise).")


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to this file instead of standard output.")
@click.option("--kind", type=click.Choice(["ruleset", "scenarios", "decision"]), default="ruleset",
              show_default=True, help="Ruleset files, scenario test files, or decisions.")
@_OVERWRITE
def schema(output: Path | None, kind: str, overwrite: bool) -> None:
    """Print a JSON Schema: of ruleset files (for editors: see docs/editors.md), scenario files or decisions."""
    if output is not None:
        check_output_file(output, overwrite=overwrite)
    if kind == "ruleset":
        text = ruleset_schema_json()
    else:
        model = scenarios.ScenarioFile if kind == "scenarios" else Decision
        text = json.dumps(model.model_json_schema(by_alias=True), indent=2, sort_keys=True) + "\n"
    if output is None:
        say(text, nl=False)
    else:
        write_text_atomic(output, text)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
def vocabulary(fmt: str) -> None:
    """Print the core vocabulary (event types, attributes, facts, roles)."""
    vocab = core()
    if fmt == "json":
        say(vocab.model_dump_json(indent=2, exclude_defaults=True))
    else:
        say(to_markdown(vocab), nl=False)


# --- deciding incidents one by one -------------------------------------------------------------------

def _each_incident(library: Library, ref: str, source: Path, handle: Callable[[dict[str, Any]], str],
                   allow_empty: bool) -> None:
    """Print `handle(incident)` for each incident of `source`, as it is read (one reader for every
    format: engine.io.export). A bad incident, whatever went wrong with it, is reported on standard
    error with its line and the run goes on; the exit code is then 1."""
    from engine.io.export import Record, read_export

    name = str(source)
    vocabulary = library.select(ref).program.vocabulary
    seen = failures = 0
    for item in read_export(source, vocabulary):
        seen += 1
        where = f"{name}:{item.line}"
        if not isinstance(item, Record):
            failures += 1
            column = getattr(item, "column", None)
            say(Styled(f"{where}{f':{column}' if column else ''}: ", bold=True), item.message, err=True)
            continue
        with _at(where):
            text, problems = _decide_one(handle, item.incident, where)
        if problems:
            failures += 1
            for p in problems:
                say(Styled(f"{where}: ", bold=True), p, err=True)
        else:
            say(text)  # outside the guard: a closed stdout ends the run (BrokenPipeError), as it should
    if not seen and not allow_empty:
        _say_error(f"no incident in {quoted(name, 200)} (give --allow-empty if an empty input is expected)")
        sys.exit(EXIT_FAILED)
    if failures:
        sys.exit(EXIT_FAILED)


def _decide_one(handle: Callable[[dict[str, Any]], str], incident: dict[str, Any],
                where: str) -> tuple[str, list[str]]:
    """(text, []) or ("", the problems): per-incident isolation, whatever the exception."""
    try:
        return handle(incident), []
    except IncidentError as exc:
        return "", [str(p) for p in exc.problems]
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if _expected(exc):
            return "", [str(exc)]
        return "", [_internal_error(exc, where, say_where=False)]  # the line says where


@main.command()
@_RULESETS
@_POLICY
@click.argument("incidents", type=click.Path(path_type=Path, allow_dash=True))
@_AS_OF
@_BACKEND
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_ALLOW_EMPTY
def decide(rulesets: tuple[Path, ...], ref: str, incidents: Path, as_of: datetime | None, backend: str,
           fmt: str, allow_empty: bool) -> None:
    """Decide the obligations of incidents: one (.json), or many (.json array, .jsonl or .ndjson one per
    line, `-` for JSON Lines on standard input, .csv, .parquet).

    Each incident is judged by the version of the ruleset in effect on its date, unless a version
    is pinned with `--policy ID@VERSION`. Decisions are printed as each is made.

    JSON output is one decision per line. A bad incident is reported on standard error with its
    line number; the others are still decided, and the exit code is 1.
    """
    library = _library_with(rulesets, ref, backend)

    def one(data: dict[str, Any]) -> str:
        decision = library.decide(ref, data, as_of)
        return decision.to_json() if fmt == "json" else render_decision(decision)

    _each_incident(library, ref, incidents, one, allow_empty)


@main.command()
@_RULESETS
@_POLICY
@click.argument("incident", type=click.Path(path_type=Path, allow_dash=True))
@_AS_OF
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_ALLOW_EMPTY
def explain(rulesets: tuple[Path, ...], ref: str, incident: Path, as_of: datetime | None, fmt: str,
            allow_empty: bool) -> None:
    """Explain, rule by rule, why each obligation applies to an incident or why it does not.

    The incident is judged by the version in effect on its date, as `bwc decide` does; the input is
    read as `bwc decide` reads it.
    """
    library = _library_with(rulesets, ref)

    def one(data: dict[str, Any]) -> str:
        explanations = library.explain(ref, data, as_of)
        return json.dumps([e.to_dict() for e in explanations], ensure_ascii=False) if fmt == "json" \
            else render_text(explanations)

    _each_incident(library, ref, incident, one, allow_empty)


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
    report = scenarios.run(paths or [Path("rulesets")], rulesets or None)
    uncovered = coverage and any(c.missing for c in report.coverage)
    if fmt == "json":
        say(scenarios.to_json(report))
    elif fmt == "junit":
        say(scenarios.to_junit(report), nl=False)
    else:
        for d in report.problems:
            _say_diagnostic(d)
        for o in report.outcomes:
            mark = Styled("pass", fg="green") if o.passed else Styled("FAIL", fg="red", bold=True)
            say(mark, f"  {o.ruleset}  {o.scenario}  [{o.cite}]")
            for f in o.failures:
                say(f"      {f}")
        if coverage:
            say("")
            for c in report.coverage:
                colour = "green" if not c.missing else "red"
                say(Styled(f"{c.percent:5.1f}%", fg=colour), f"  {c.ruleset}  "
                    f"({len(c.rules) - len(c.missing)}/{len(c.rules)} rules exercised)")
                for rule in c.missing:
                    say(f"        not exercised: {rule}")
        failed = sum(not o.passed for o in report.outcomes)
        say(Styled(f"{len(report.outcomes)} scenarios, {len(report.outcomes) - failed} passed, {failed} failed",
                   fg="red" if failed else "green"))
        if uncovered:
            missing = sum(len(c.missing) for c in report.coverage)
            say(Styled(f"coverage: {missing} rule(s) not exercised by any scenario", fg="red"))
    if not report.ok or uncovered or not report.outcomes:
        sys.exit(EXIT_FAILED)


def _resolve(repo: Repository, ref: str) -> Ruleset:
    return repo.resolve(ref)  # RulesetLookupError and RulesetError are reported by the boundary


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
    say(render(d), nl=False)


@main.command("log")
@_RULESETS
@click.argument("ruleset_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def log_command(rulesets: tuple[Path, ...], ruleset_id: str, fmt: str) -> None:
    """List the versions of a ruleset, newest first, with what each changed."""
    repo = _library(rulesets).repository
    entries = list(reversed(diff.history(repo, ruleset_id)))
    if fmt == "json":
        say(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    for e in entries:
        until = f" until {e.effective_until}" if e.effective_until else ""
        say(Styled(f"{ruleset_id}@{e.version}", bold=True), f"  {e.status}  in force from {e.effective_from}{until}")
        say(f"    drafted by {e.drafted_by}")
        if e.corrects is not None:
            say(f"    corrects {e.corrects}: a new reading of the same law, on the same dates")
        for c in e.corrected_by:
            say(f"    corrected by {c}: decides only when pinned as {ruleset_id}@{e.version}")
        say(f"    {e.summary}")
        say("")


@main.command("impact")
@_RULESETS
@click.argument("old")
@click.argument("new")
@click.argument("incidents", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@_AS_OF
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes deciding in parallel (0: one per CPU; at most four per CPU are started).")
@click.option("--dates/--as-if-in-force", "dates", default=False, show_default=True,
              help="Keep each version's `effective` dates (an incident outside them is decided under nothing), "
                   "or judge both versions as though in force on every incident's date.")
@_ALLOW_EMPTY
def impact_command(rulesets: tuple[Path, ...], old: str, new: str, incidents: Path, fmt: str,
                   as_of: datetime | None, workers: int, dates: bool, allow_empty: bool) -> None:
    """Decide every incident (.jsonl, one per line) under OLD and NEW and report which decisions change.

    OLD and NEW are ID@VERSION references or ruleset files; both are pinned (no selection by date),
    and by default judged as though in force on every incident's date (`--dates` keeps their dates).
    Counts each kind of change (obligations added, removed or changed, retention and release dates
    moved, conflicts added or removed) with the incidents it affects. A bad line is reported with its
    line number and the rest goes on; the exit code is then 1.
    """
    from engine.tools import impact as impact_

    library = _library(rulesets)
    a, b = impact_.Side.of(rulesets, old, dates=dates), impact_.Side.of(rulesets, new, dates=dates)
    for side in (a, b):
        side.policy(library)  # an unknown or broken side is reported before any incident is read
    source: Path | str = "-" if str(incidents) == "-" else incidents  # `-`: standard input, read by the reader
    report = impact_.impact(a, b, source, as_of=as_of, workers=workers, library=library,
                            show_progress=sys.stderr.isatty(), allow_empty=allow_empty)
    say(impact_.RENDER[fmt](report), nl=False)
    say(f"{report.tally.incidents:,} incidents in {report.seconds:.1f} s "
        f"({report.throughput:,.0f} incidents/s, {report.workers} worker(s))", err=True)
    for bad in report.tally.bad:
        column = getattr(bad, "column", None)
        say(Styled(f"{incidents}:{bad.line}{f':{column}' if column else ''}: ", bold=True), bad.message, err=True)
    if report.tally.errors:
        sys.exit(EXIT_FAILED)


@main.command("audit")
@_RULESETS
@_POLICY
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="The export's format (default: by extension: .jsonl, .csv, .parquet).")
@click.option("--as-of", "as_of", default=None, callback=_as_of_option,
              help="Audit as of this time (ISO 8601 with offset, or `now`); default: each incident's last event.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the report (summary.json, findings.csv, ...) into this folder: a new or empty "
                   "folder, or the folder of a previous report, which is replaced.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes (default: every core; at most four per core are started).")
@_ALLOW_EMPTY
def audit_command(rulesets: tuple[Path, ...], ref: str, export: Path, fmt: str | None, as_of: datetime | None,
                  out: Path | None, workers: int | None, allow_empty: bool) -> None:
    """Audit an export of incidents (with their actions) against a ruleset: findings and a report.

    Exits 0 when the audit ran, whatever it found, and 1 when the input cannot be used. A report
    folder is replaced only by a complete new one, and only if it holds a previous report (or
    nothing): any other folder is refused before the audit starts.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    from engine.audit import run_audit, summary_text

    if out is not None:
        check_report_folder(out)  # before any work: never an hour of auditing, then a refusal
    library = _library_with(rulesets, ref)
    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                  disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("auditing", total=None)
        outcome = run_audit(rulesets, ref, export, fmt=fmt, as_of=as_of, out_dir=out, workers=workers,
                            library=library, allow_empty=allow_empty,
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
    say(summary_text(outcome.summary, out))


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
              help="Worker processes (0: every core; at most four per core are started); the output is the "
                   "same for any number.")
@_OVERWRITE
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def generate_command(rulesets: tuple[Path, ...], ref: str, count: int, seed: int, violations: str,
                     fmt: str | None, truth: Path | None, start: str | None, months: int, jobs: int,
                     overwrite: bool, out: Path) -> None:
    """Write a synthetic export of incidents with their actions, some with planted violations.

    For testing audits: the truth file lists every planted violation. See docs/audit.md.
    """
    from datetime import date

    from engine.tools import generate as gen

    try:
        shares = gen.parse_shares(violations)
    except gen.GenerateError as exc:
        raise click.BadParameter(str(exc), param_hint="--violations") from None
    first = None
    if start is not None:
        year, _, month = start.partition("-")
        try:  # `2024` alone is January, as before
            first = date(int(year), int(month or 1), 1) if year.isdigit() and (month or "1").isdigit() else None
        except ValueError:
            first = None
        if first is None:
            raise click.BadParameter(f"{quoted(start)} is not a month: write YYYY-MM, e.g. 2024-01",
                                     param_hint="--start")
    if truth is not None and os.path.realpath(truth) == os.path.realpath(out):
        raise click.BadParameter("the truth file would overwrite the export: give it another name",
                                 param_hint="--truth")
    for path in (out, truth):
        if path is not None:
            # Before any work: a missing folder, a read-only disk or a file already there is said at once.
            check_output_file(path, overwrite=overwrite)
    library = _library_with(rulesets, ref)
    workers = default_workers() if jobs == 0 else jobs
    with click.progressbar(length=count, label="generating", file=sys.stderr,
                           hidden=not sys.stderr.isatty()) as bar:
        stats = gen.generate(library, ref, out, incidents=count, seed=seed, shares=shares,
                             fmt=fmt, truth=truth, start=first, months=months,  # type: ignore[arg-type]
                             jobs=workers, rulesets=rulesets, progress=bar.update)
    say(gen.to_text(stats), nl=False, err=True)


__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PIPE", "EXIT_TERMINATED",
           "EXIT_USAGE", "Bwc", "OutputError", "Styled", "Terminated", "main", "say"]

if __name__ == "__main__":  # pragma: no cover
    main()
