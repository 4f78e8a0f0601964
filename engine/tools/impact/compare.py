"""Deciding every incident of an export under A and under B, in chunks spread over the one executor,
and tallying the differences."""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.api import Library, Policy, resolve_as_of
from engine.core.decision import Decision
from engine.core.incident import Incident, IncidentError
from engine.executor import Executor, chunked, default_workers, start_method
from engine.io.export import (
    ExportError,
    JsonParser,
    JsonUnit,
    Record,
    RowError,
    TableParser,
    TableUnit,
    Unit,
    open_export,
    parse_unit,
)
from engine.io.incident import incident_id
from engine.io.sorting import Sorter, id_read, repeated_ids
from engine.tools.impact.differences import differences
from engine.tools.impact.report import ImpactReport, ImpactTally
from engine.tools.impact.sides import Side
from engine.tools.impact.unchanged import Unchanged
from policy.duration import CalendarOverflow
from policy.values import quoted
from policy.vocabulary import Vocabulary

CHUNK = 400
"""Incidents per chunk handed to a worker."""


def _reasons(exc: Exception) -> list[str]:
    """Why one version could not decide an incident, in plain words (one per problem)."""
    if isinstance(exc, IncidentError):
        return [p.message for p in exc.problems] or ["an incident needs at least one event"]
    if isinstance(exc, CalendarOverflow | OverflowError):
        return [f"its dates run past the calendar (years 1 to 9999): {exc}"]
    return [f"internal error: {type(exc).__name__}: {exc}"]


class Comparer:
    """Decides incidents under A and B and tallies the differences."""

    def __init__(self, a: Policy, b: Policy, as_of: datetime | None = None,
                 parser: JsonParser | TableParser | None = None) -> None:
        self.a, self.b, self.as_of = a, b, as_of
        # With a parser, the export's lines or rows are handed over as read (`Unit`s) and decoded here,
        # in the worker that decides them: the process reading the file only splits it.
        self.parser = parser
        # An incident is read once, for both, by a version whose vocabulary the other's includes (most
        # versions of a ruleset change rules, or add words); what it refuses, each version reads itself.
        va, vb = a.program.vocabulary, b.program.vocabulary
        self.reader = a if va.reads_within(vb) else b if vb.reads_within(va) else None
        self.unchanged = Unchanged(a, b, as_of)

    def one(self, data: Any, tally: ImpactTally, line: int) -> None:
        iid = data.get("id") if isinstance(data, dict) else None
        label = iid if isinstance(iid, str) and iid else f"line {line}"
        decided: dict[str, Decision] = {}
        failed: dict[str, tuple[Exception, list[str]]] = {}
        source: Any = data
        if self.reader is not None:
            try:
                source = self.reader.read(data)
            except Exception:  # each version refuses it below, in its own words
                source = data
        if isinstance(source, Incident):
            try:
                same = self.unchanged.same(source)
            except Exception:  # whatever fails is met again, and reported, as each version decides it
                same = False
            if same:
                tally.add(label, [])
                return
        for name, policy in (("A", self.a), ("B", self.b)):
            try:
                decided[name] = policy.decide(source, self.as_of, explain=False)  # `matched` is never compared
            except Exception as exc:  # any failure of one version on one incident is reported, and the run goes on
                failed[name] = (exc, _reasons(exc))
        if len(decided) == 2:
            tally.add(label, differences(decided["A"], decided["B"]))
        elif len(decided) == 1:
            side = "B" if "B" in failed else "A"
            tally.refuse(f"{side} only", label, failed[side][1])
        else:
            ea, eb = failed["A"][0], failed["B"][0]
            ta, tb = _failure_text(ea), _failure_text(eb)
            tally.fail(line, ta if ta == tb else f"under A: {ta} / under B: {tb}",
                       iid if isinstance(iid, str) else None)

    def records(self, items: Iterable[Record | RowError | Unit]) -> ImpactTally:
        tally = ImpactTally()
        for item in items:
            if isinstance(item, JsonUnit | TableUnit):
                assert self.parser is not None, "units need the export's parser"
                item = parse_unit(self.parser, item)
            if isinstance(item, RowError):
                tally.fail(item.line, item.message, item.incident, getattr(item, "column", None))
                continue
            iid = incident_id(item.incident.get("id"))
            if iid is not None:  # read, so counted as given, whether or not it can be decided
                tally.ids.append(id_read(iid, 0, item.line, item.column))
            try:
                self.one(item.incident, tally, item.line)
            except Exception as exc:  # pragma: no cover - one() isolates each version; this is the last guard
                tally.fail(item.line, f"internal error: {type(exc).__name__}: {exc}")
        return tally


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, IncidentError):
        return "; ".join(str(p) for p in exc.problems)
    return "; ".join(_reasons(exc))




def _load_comparer(a: Side, b: Side, as_of: datetime | None,
                   parser: JsonParser | TableParser | None = None) -> Comparer:
    """A worker's comparer where it cannot be inherited (spawn): the rulesets loaded again."""
    lib_a = Library.load(*a.rulesets)
    lib_b = lib_a if b.rulesets == a.rulesets else Library.load(*b.rulesets)
    return Comparer(a.policy(lib_a), b.policy(lib_b), as_of, parser)


def _work(comparer: Comparer, items: list[Record | RowError | Unit]) -> ImpactTally:
    return comparer.records(items)


def workers_used(workers: int, load: Callable[[], Comparer] | None, cluster: str | None) -> int:
    """The worker processes `run` starts for `workers` (0: one per CPU): one, where processes do not
    fork and nothing can build the comparer in a new one, since the work then stays in this process."""
    if load is None and start_method() != "fork" and cluster is None:
        return 1
    return workers or default_workers()


def run(comparer: Comparer, items: Iterable[Record | RowError | Unit], *, workers: int = 0,
        load: Callable[[], Comparer] | None = None, progress: Callable[[int], None] | None = None,
        cluster: str | None = None) -> ImpactTally:
    """Compare every incident read. `progress(n)` is told of each chunk's size. With `workers` > 1 (0:
    one per CPU), chunks are decided by worker processes (engine.executor) and merged in input order.
    Workers inherit `comparer` where processes fork; elsewhere each builds its own with `load`, and
    without one the work stays in this process. With `cluster` (a Dask scheduler's address, or
    `local`), chunks are decided on a Dask cluster, `comparer` shipped to its workers with its compiled
    versions; the tally is the same. The ids read are sorted in bounded memory, spilled to a temporary
    folder, and those given more than once set the tally's `repeated_ids`."""
    workers = workers_used(workers, load, cluster)
    total = ImpactTally()
    with tempfile.TemporaryDirectory(prefix="bwc-impact-") as scratch, \
            Executor(comparer, workers, load, cluster=cluster) as pool:
        ids = Sorter(Path(scratch))
        for part in pool.map(_work, chunked(items, CHUNK)):
            ids.extend(part.ids)
            total.merge(part)
            if progress:
                progress(part.incidents + part.errors + sum(part.refused_incidents.values()))
        # Each copy of a repeated id was decided and counted: said here, since only the whole input shows it.
        total.repeated_ids = repeated_ids(ids, {})
    return total


def _vocabulary(a: Policy, b: Policy) -> Vocabulary:
    """What the export's columns may name: what either version declares (each incident is then
    checked by each version against its own)."""
    vb, va = b.program.vocabulary, a.program.vocabulary
    return vb.extended({k: v for k, v in va.facts.items() if k not in vb.facts},
                       {k: v for k, v in va.events.items() if k not in vb.events}, {})


def impact(a: Side, b: Side, incidents: Path | str, *, as_of: datetime | str | None = None, workers: int = 0,
           library: Library | None = None, progress: Callable[[int], None] | None = None, fmt: str | None = None,
           allow_empty: bool = False, cluster: str | None = None) -> ImpactReport:
    """Decide every incident of an export (engine.io.export.read_export: JSON Lines, `.json`, CSV,
    Parquet, or `-` for standard input) under A and under B, and report the changes. `progress(n)`
    is told of each chunk's size as it is done.

    Raises ExportError when the input cannot be read at all, or holds no incident (unless
    `allow_empty`); IncidentError for an `as_of` text that is not a time.
    """
    if library is None:
        library = Library.load(*a.rulesets)
    lib_b = library if b.rulesets == a.rulesets else Library.load(*b.rulesets)
    when = resolve_as_of(as_of)
    pa, pb = a.policy(library), b.policy(lib_b)
    start = time.perf_counter()
    export = open_export(incidents, _vocabulary(pa, pb), fmt)
    comparer = Comparer(pa, pb, when, export.parser)
    load = functools.partial(_load_comparer, a, b, when, export.parser)
    workers = workers_used(workers, load, cluster)
    tally = run(comparer, export.units(), workers=workers, load=load, progress=progress, cluster=cluster)
    if tally.empty and not allow_empty:
        raise ExportError(f"{quoted(str(incidents), 200)}: the input holds no incident (it is empty); nothing was "
                          "compared (pass --allow-empty to accept an empty input)")
    return ImpactReport(a.shown(library), b.shown(lib_b), when.isoformat() if when is not None else None, tally,
                        time.perf_counter() - start, workers)
