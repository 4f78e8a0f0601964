"""Commands of the decision service: `bwc serve`, `bwc import` of an export into its store, `bwc replay`
over it, and `bwc log verify` of its decision log."""

from __future__ import annotations

import gc
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from engine.api import SelectionError
from engine.cli.boundary import EXIT_FAILED, committing
from engine.cli.options import ALLOW_EMPTY, BACKEND, CLUSTER, POLICY, RULESETS, input_format_option, load_library
from engine.cli.text.console import say, say_error, say_line_problem
from engine.io.export import FORMATS, STDIN, open_export
from engine.service.models import MAX_BODY
from engine.service.store import Store, StoreError, is_head
from engine.service.tokens import ENV, TokenError, Tokens
from policy.values import quoted

STORE = click.option("--store", "store_url", default="sqlite:///bwc.db", show_default=True,
                     help="Where incidents and the decision log are kept: sqlite:///FILE (made if missing, except by "
                          "`log verify` and `replay`, which read one), or "
                          "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (pip install 'bwc-policy[postgres]'; "
                          "leave the password out to take it from PGPASSWORD or ~/.pgpass). Its schema is made "
                          "or upgraded when it is opened.")


@click.command("serve")
@RULESETS
@STORE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--tokens", "tokens_file", type=click.Path(path_type=Path), default=None,
              help=f"Tokens file (JSON or YAML: tokens: [{{name, role, token}}]); or set {ENV}=role:TOKEN,...")
@click.option("--max-body", default=MAX_BODY, show_default=True, type=click.IntRange(1024, 1 << 30),
              help="Largest request body accepted, in bytes.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes serving the port, sharing the store (one per core is the most that helps).")
@click.option("--replay-workers", default=0, show_default=True, type=click.IntRange(min=0),
              help="Processes a replay decides with (0: one per CPU).")
@BACKEND
def serve(rulesets: tuple[Path, ...], store_url: str, host: str, port: int, tokens_file: Path | None,
          max_body: int, workers: int, replay_workers: int, backend: str) -> int:
    """Serve decisions over HTTP (docs/service.md): decide, explain, incidents as streams of events,
    rulesets, diffs and loading new versions, replays of stored incidents, and a hash-chained log of
    every decision returned."""
    from engine.service.app import create_app
    from engine.service.loaded import compiled, restored
    from engine.service.serving import listening
    from engine.service.serving import serve as serve_on

    tokens = Tokens.from_file(tokens_file) if tokens_file is not None else Tokens.from_env(os.environ)
    if tokens is None:
        raise TokenError(f"give --tokens FILE or set {ENV}: every call but /healthz, /readyz and /v1/openapi.json "
                         "needs a bearer token")
    # The store is opened here once (its schema made or upgraded, the versions loaded through the
    # service read back and checked), then closed: each worker opens its own connection to it.
    with Store(store_url) as store:
        library = compiled(restored(load_library(rulesets, backend), store))
        shown = store.shown
    sock = listening(host, port)
    say(f"bwc serve: {len(library.repository.ids())} ruleset(s), store {shown}, {workers} worker(s), "
        f"listening on http://{host}:{sock.getsockname()[1]}", err=True)
    # What was loaded to serve (the compiled rulesets, the web stack) lives as long as the process: kept
    # out of the garbage collector's full passes, which otherwise walk it all and hold every request
    # (a full pass took ~15 ms with the bundled rulesets loaded; docs/performance.md, "The service"),
    # and shared by the workers forked from this process rather than copied into each.
    gc.collect()
    gc.freeze()
    opened: list[Store] = []

    def make_app() -> object:
        opened.append(Store(store_url))  # in the worker: a connection of its own
        return create_app(library, opened[-1], tokens, max_body=max_body, replay_workers=replay_workers)

    try:
        with committing("every write it answered was stored before its answer; a request it had not answered "
                        "may not have been: send it again"):
            return serve_on(make_app, sock, workers, say=lambda text: say(text, err=True))
    finally:
        for store in opened:
            store.close()
        sock.close()


@click.command("verify")
@STORE
@click.option("--head", default=None, help="A head (the newest entry's hash) printed or saved earlier: it must be "
              "the hash of an entry of the chain, so entries removed from the end since are caught too; entries "
              "added since are counted.")
def log_verify(store_url: str, head: str | None) -> int:
    """Check the decision log's chain: every entry's hash and link, no entry missing. The store is only
    read (opened read-only, never upgraded): an archived copy in a read-only folder can be checked."""
    if head is not None and not is_head(head):  # a mistyped head is the command line's mistake, not the log's
        raise click.BadParameter(f"`{quoted(head, 200)}` is not a head: a head is the 64 hexadecimal digits "
                                 "`bwc log verify` prints after `head`", param_hint="--head")
    with Store(store_url, existing=True, read_only=True) as store:
        result = store.verify(head)
    for problem in result.problems:
        say_error(problem)
    if not result.ok:
        say_error(f"the decision log of {store.shown} was altered ({len(result.problems)} problem(s))")
        return EXIT_FAILED
    say(f"{result.entries:,} entries, the chain holds; head {result.head or '(empty log)'}")
    if result.head_at is not None:
        saved = head.strip().lower() if head is not None else ""
        added = result.added_since_head
        since = ("nothing was added since" if not added else
                 f"{added:,} {'entry was' if added == 1 else 'entries were'} added after it since it was saved")
        say(f"the head saved earlier, {saved} (entry {result.head_at}), is in the chain: {since}")
    return 0


@click.command("replay")
@RULESETS
@STORE
@click.argument("candidate")
@click.option("--baseline", default=None, metavar="ID@VERSION",
              help="The version to compare with (default: the newest enacted version of CANDIDATE's ruleset).")
@click.option("--since", default=None, metavar="TIME",
              help="Replay incidents whose first event is at or after this time (ISO 8601 with offset).")
@click.option("--until", default=None, metavar="TIME", help="... and before this time.")
@click.option("--as-of", "as_of", default=None, metavar="TIME",
              help="Decide every incident as of this time (default: each as of its own last event).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes deciding in parallel (0: one per CPU).")
@CLUSTER
def replay_command(rulesets: tuple[Path, ...], store_url: str, candidate: str, baseline: str | None,
                   since: str | None, until: str | None, as_of: str | None, fmt: str, workers: int,
                   cluster: str | None) -> None:
    """Decide the incidents kept in the service's store under CANDIDATE (ID@VERSION) and a baseline, and
    report what would change: the `bwc impact` report over stored history. The versions loaded
    through the service are there too; the service's own replay (POST /v1/replays) is the same."""
    from engine.cli.text.impact import RENDER, progress_bar
    from engine.service.loaded import restored
    from engine.service.replay import replay

    # A mistyped path is no store, not an empty history; the store is only read (a replay from the command
    # line records nothing), so an archived copy in a read-only folder can be replayed.
    with Store(store_url, existing=True, read_only=True) as store:
        library = restored(load_library(rulesets), store)
        with progress_bar(sys.stderr.isatty()) as tick:
            seen = [0]

            def progress(scanned: int, decided: int) -> None:
                if tick is not None:
                    tick(decided - seen[0])
                seen[0] = decided

            report = replay(library, store, candidate, baseline, since=since, until=until, as_of=as_of,
                            workers=workers, progress=progress, cluster=cluster)
    say(RENDER[fmt](report), nl=False)
    say(f"{report.tally.incidents:,} incidents in {report.seconds:.1f} s "
        f"({report.throughput:,.0f} incidents/s, {report.workers} worker(s))", err=True)
    if report.tally.errors:
        sys.exit(EXIT_FAILED)


@click.command("import")
@RULESETS
@STORE
@POLICY
@click.argument("export", type=click.Path(path_type=Path, allow_dash=True))
@input_format_option(FORMATS, also_format=True)
@ALLOW_EMPTY
def import_command(rulesets: tuple[Path, ...], store_url: str, ref: str, export: Path,
                   input_format: str | None, allow_empty: bool) -> None:
    """Store the incidents of an export (docs/audit.md's layouts) in the service's store, judged by
    --policy, so replays and the incident endpoints see them. Each is checked as the service checks an
    incident sent to it; a line that cannot be stored is reported with its number and the rest goes
    on (exit code 1). Importing the same export again adds nothing."""
    from engine.service.imports import import_export
    from engine.service.loaded import restored

    files = load_library(rulesets)
    try:
        files.select(ref)
    except SelectionError as exc:  # perhaps a version loaded through the service: then in a store bwc made
        unknown: SelectionError | None = exc
    else:
        unknown = None
        if str(export) != STDIN:  # a mistyped export is refused before a store is made for it
            open_export(export, files.vocabulary(ref), input_format)
    try:
        store = Store(store_url, existing=unknown is not None)
    except StoreError:
        if unknown is not None:  # no store, so nothing loaded through one: the ruleset is unknown
            raise unknown from None
        raise
    left = ("the incidents stored before it stay stored; import the export again to store the rest (those "
            "stored are skipped)")
    with store, committing(left):
        library = restored(files, store)
        report = import_export(library, store, ref, export, datetime.now(UTC).isoformat(timespec="microseconds"),
                               fmt=input_format)
    for bad in report.problems:
        say_line_problem(export, bad.line, bad.reason)
    if report.refused > len(report.problems):
        say_error(f"... and {report.refused - len(report.problems):,} more lines refused")
    # "in the export", not "incidents read": a line that cannot be read is counted, and is no incident
    say(f"{report.read:,} in the export: {report.added:,} incident(s) stored, {report.present:,} already stored, "
        f"{report.refused:,} refused", err=True)
    if not report.read and not allow_empty:  # most likely the wrong file: as decide and audit say it
        say_error(f"no incident in {quoted(str(export), 200)} (give --allow-empty if an empty input is expected)")
        sys.exit(EXIT_FAILED)
    if report.refused:
        sys.exit(EXIT_FAILED)


__all__ = ["import_command", "log_verify", "replay_command", "serve"]
