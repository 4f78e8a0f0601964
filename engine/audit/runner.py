"""Running an audit over a whole export: chunks of incidents over the executor's processes, findings
sorted in bounded memory, the counts tallied in input order, the report folder written at the end."""

from __future__ import annotations

import dataclasses
import functools
import operator
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.api import Library
from engine.audit.auditor import Auditor
from engine.audit.presets import Preset
from engine.audit.presets.activation import activation
from engine.audit.report import ReportWriter, write_report_folder
from engine.audit.tally import Tally, build_summary, rule_texts
from engine.core.incident import IncidentError
from engine.executor import Executor, chunked, default_workers
from engine.io.columnmap import ColumnMap, MappedExport, open_mapped
from engine.io.export import (
    Export,
    ExportError,
    JsonParser,
    Record,
    RowError,
    TableParser,
    Unit,
    open_export,
    parse_unit,
)
from engine.io.incident import incident_id
from engine.io.output import check_report_folder
from engine.io.partitions import PartitionedExport, is_partitioned
from engine.io.sorting import IdRead, Sorter, id_read, repeated_ids
from policy.values import quoted, quoted_path
from policy.vocabulary import Vocabulary

KEPT: frozenset[str] = frozenset({"violation", "at_risk"})  # findings listed one by one; the rest only counted


@dataclass
class ChunkResult:
    tally: Tally
    findings: list[tuple[list[Any], dict[str, Any]]]  # (sort key, finding) for violations and at-risk
    measure: dict[str, int] = field(default_factory=dict)  # a preset's measure (calls, matched)
    ids: list[IdRead] = field(default_factory=list)  # each incident id read (engine.io.sorting.id_read)


@dataclass(frozen=True, slots=True)
class Chunk:
    """The unit of work: consecutive units of one file (a chunk never spans two files of a partitioned
    export, so every error in it is said to be in `file`, the `part`-th file)."""

    units: list[Unit | RowError]
    file: str | None = None
    part: int = 0


def _chunks(export: Any, size: int, names: dict[int, str]) -> Iterator[Chunk]:
    """The export's chunks; `names` gets the name of each file of a partitioned export, by its place."""
    if isinstance(export, PartitionedExport):
        for part, (name, units) in enumerate(export.parts()):
            names[part] = name
            for units_of_chunk in chunked(units, size):
                yield Chunk(units_of_chunk, name, part)
    else:
        for units_of_chunk in chunked(export.units(), size):
            yield Chunk(units_of_chunk)


def _open(export_path: Path | str, vocabulary: Vocabulary, fmt: str | None) -> Export | PartitionedExport:
    """One export file, or the files of a folder or glob (engine.io.partitions)."""
    if is_partitioned(export_path):
        return PartitionedExport(export_path, vocabulary, fmt)
    return open_export(export_path, vocabulary, fmt)


def _audit_units(auditor: Auditor, parser: JsonParser | TableParser, units: Sequence[Unit | RowError],
                 as_of: datetime | None, part: int | None = None) -> ChunkResult:
    tally = Tally()
    kept: list[tuple[list[Any], dict[str, Any]]] = []
    ids: list[IdRead] = []
    measure: dict[str, int] = {}
    for unit in units:
        if isinstance(unit, RowError):
            tally.error(unit, whole=False)
            continue
        rec: Record | RowError | None = None
        # One record must not stop an audit of millions: whatever goes wrong while parsing or judging
        # it (any exception class) becomes a row error with its line, and the audit goes on.
        try:
            rec = parse_unit(parser, unit)
            if isinstance(rec, RowError):
                tally.error(rec)
                continue
            iid = _id_of(rec)
            if iid is not None:  # read, so counted as given, whether or not it can be judged
                ids.append(id_read(iid, part or 0, rec.line, rec.column))
            result = auditor.audit(rec.incident, rec.groups, as_of)
        except Exception as exc:
            tally.error(record_error(unit, rec if isinstance(rec, Record) else None, exc))
            continue
        tally.rows += rec.rows
        tally.add(result)
        if auditor.measure is not None:
            calls, matched = activation(rec.incident, auditor.measure)
            measure["calls"] = measure.get("calls", 0) + calls
            measure["matched"] = measure.get("matched", 0) + matched
        for n, f in enumerate(result.checked):
            if f.severity in KEPT:
                # In a partitioned export the file's place comes before the line: lines restart in each file.
                where = [rec.line, n] if part is None else [part, rec.line, n]
                kept.append(([f.incident_id, f.rule, f.check, *where], f.to_dict()))
    tally.fold()  # here, in the worker: the process that merges every chunk's tally has the least time to spare
    return ChunkResult(tally, kept, measure, ids)


def _id_of(rec: Record) -> str | None:
    return incident_id(rec.incident.get("id"))


def record_error(unit: Unit, rec: Record | None, exc: Exception) -> RowError:
    """The row error of one record that could not be parsed or judged: an incident that does not fit
    the vocabulary, dates past the calendar (year 9999), or anything unexpected (an internal error)."""
    if rec is not None and isinstance(exc, IncidentError):
        return _incident_error(rec, exc)
    line = rec.line if rec is not None else unit.line
    rows = rec.rows if rec is not None else len(getattr(unit, "rows", ())) or 1
    iid = _id_of(rec) if rec is not None else getattr(unit, "incident", None)
    if isinstance(exc, OverflowError) or type(exc).__name__ == "CalendarOverflow":
        return RowError(line, iid, f"its dates run past the calendar (years 1 to 9999): {exc}", "out of range", rows)
    if isinstance(exc, IncidentError):
        return RowError(line, iid, "; ".join(p.message for p in exc.problems[:3]), "invalid incident", rows)
    return RowError(line, iid, f"internal error: {type(exc).__name__}: {exc}", "internal error", rows)


def _incident_error(rec: Record, exc: IncidentError) -> RowError:
    problems = exc.problems or []
    text = "; ".join(f"{p.field}: {p.message}" for p in problems[:3]) or "an incident needs at least one event"
    if len(problems) > 3:
        text += f" (and {len(problems) - 3} more)"
    line = rec.line_of(problems[0].field) if problems else rec.line  # the row of the offending event
    return RowError(line, _id_of(rec), text, "invalid incident", rec.rows)


# --- worker processes ------------------------------------------------------------------------------------

_State = tuple[Auditor, JsonParser | TableParser, datetime | None]


def _load_state(rulesets: list[str], ruleset_id: str, backend: str, parser: JsonParser | TableParser,
                as_of: datetime | None, preset: Preset | None = None) -> _State:
    """A worker's state where it cannot be inherited (spawn): the rulesets loaded again."""
    library = Library.load(*rulesets, backend=backend)  # type: ignore[arg-type]
    return (_auditor(library, ruleset_id, preset), parser, as_of)


def _auditor(library: Library, ruleset_id: str, preset: Preset | None) -> Auditor:
    if preset is None:
        return Auditor(library, ruleset_id)
    return Auditor(library, ruleset_id, preset.checks, preset.measure)


def _work(state: _State, chunk: Chunk) -> ChunkResult:
    auditor, parser, as_of = state
    result = _audit_units(auditor, parser, chunk.units, as_of, None if chunk.file is None else chunk.part)
    if chunk.file is not None:  # errors found here (parsing, judging) are in the chunk's file too
        result.tally.errors = [e if e.file is not None else dataclasses.replace(e, file=chunk.file)
                               for e in result.tally.errors]
    return result


# --- running an audit -----------------------------------------------------------------------------------

@dataclass
class AuditOutcome:
    summary: dict[str, Any]
    findings: int  # violations and at-risk findings listed
    out_dir: Path | None


def run_audit(rulesets: Sequence[Path | str], ruleset_id: str, export_path: Path | str, *,
              fmt: str | None = None, as_of: datetime | None = None, out_dir: Path | str | None = None,
              workers: int | None = None, chunk_size: int = 200, backend: str = "native",
              library: Library | None = None, writer: ReportWriter | None = None,
              progress: Callable[[int, int], None] | None = None, allow_empty: bool = False,
              cluster: str | None = None, column_map: ColumnMap | None = None,
              recordings: Path | str | None = None, preset: Preset | None = None) -> AuditOutcome:
    """Audit every incident of an export; write the report folder (when `out_dir` is given) atomically.

    Raises OutputError (an `out_dir` that cannot take a report: checked before anything is read),
    ExportError (unusable export; an export with no incident at all, unless `allow_empty`),
    SelectionError (unknown ruleset), RulesetError. `as_of` None audits each incident as of its own
    last event. KeyboardInterrupt stops the workers and leaves no output behind.

    `cluster` (a Dask scheduler's address, or `local` for a cluster of `workers` processes started for
    the run) audits the chunks on a Dask cluster instead (engine.executor.cluster): the auditor, with
    its compiled rulesets, is shipped to the workers, and the report is byte-identical. ClusterError
    when Dask is not installed or the scheduler cannot be reached.
    """
    if out_dir is not None:
        check_report_folder(out_dir)
    lib = library or Library.load(*rulesets, backend=backend)  # type: ignore[arg-type]
    auditor = _auditor(lib, ruleset_id, preset)
    # A vendor export is read through its column map (engine.io.columnmap): translated into the
    # documented rows, then read by the one export reader. Incidents default to the ruleset's zone.
    export: Export | PartitionedExport | MappedExport = _open(export_path, auditor.vocabulary, fmt) \
        if column_map is None else \
        open_mapped(export_path, column_map, auditor.vocabulary, lib.select(ruleset_id).zone.key, recordings)
    n_workers = max(1, workers if workers is not None else default_workers())
    tally = Tally()
    state: _State = (auditor, export.parser, as_of)
    loader = functools.partial(_load_state, [str(p) for p in rulesets], ruleset_id, backend, export.parser, as_of,
                               preset)
    with tempfile.TemporaryDirectory(prefix="bwc-audit-") as scratch, \
            Executor(state, n_workers, loader, window=3 * n_workers, cluster=cluster) as pool:
        (Path(scratch) / "findings").mkdir()
        (Path(scratch) / "ids").mkdir()
        sorter, ids = Sorter(Path(scratch) / "findings", key=operator.itemgetter(0)), Sorter(Path(scratch) / "ids")
        measure: dict[str, int] = {}
        names: dict[int, str] = {}
        for result in pool.map(_work, _chunks(export, chunk_size, names)):
            tally.merge(result.tally)
            for key, n in result.measure.items():
                measure[key] = measure.get(key, 0) + n
            sorter.extend(result.findings)
            ids.extend(result.ids)
            if progress is not None:
                progress(export.position, export.total)
        summary = build_summary(tally, export.format, as_of)
        # Each copy of a repeated id was audited and counted: said here, since only the whole export shows it.
        summary["input"]["repeated_ids"] = repeated_ids(ids, names)
        summary["rules"] = rule_texts([lib.repository.get(*ref.split("@", 1)) for ref in summary["rulesets"]])
        if isinstance(export, MappedExport):
            summary["input"]["map"] = {"name": export.cmap.name, "status": export.cmap.status,
                                       "recordings": dict(export.recording_stats) if recordings is not None else None}
        if preset is not None:
            summary["preset"] = preset.describe(measure)
        if tally.incidents == 0 and tally.skipped_rows:
            raise ExportError(f"{quoted_path(export.path)}: no incident could be read ({tally.skipped_rows} row(s) "
                              f"skipped; first problem: line {tally.errors[0].line}: "
                              f"{quoted(tally.errors[0].message, 300)})")
        if tally.rows == 0 and not allow_empty:
            raise ExportError(f"{quoted_path(export.path)}: the export holds no incident (it is empty); "
                              "nothing was audited (pass --allow-empty to accept an empty export)")
        if out_dir is not None:
            write_report_folder(Path(out_dir), summary, (finding for _, finding in sorter), writer)
        return AuditOutcome(summary, sorter.count, Path(out_dir) if out_dir is not None else None)
