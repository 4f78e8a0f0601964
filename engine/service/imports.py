"""Importing an export (JSON Lines, JSON, CSV, Parquet: the one export reader) into the service's store,
so that a department's history is there for replays and for the incident endpoints.

Each incident is read as the service reads one sent to it (against the vocabulary of the version that
judges it) before anything is stored; one that does not fit, or a line that cannot be read, is
reported with its line and the rest goes on. Incidents are stored `BATCH` to a transaction, each with
its events, which get the ids `import:0`, `import:1`, ... in the order of the export: importing the same
export again adds nothing, and an incident already stored with other content is reported, not changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.api import CalendarOverflow, IncidentError, Library
from engine.executor import chunked
from engine.io.export import Record, RowError, read_export
from engine.service.store import Store, StoredIncident, id_problem

BATCH = 500
KEPT = 1000
"""Refused lines listed in full; beyond them only counted (memory stays bounded by the batch)."""


@dataclass
class Refused:
    line: int
    incident: str | None
    reason: str


@dataclass
class ImportReport:
    read: int = 0  # the export's incidents and lines (or rows) that could not be read, each counted once
    added: int = 0
    present: int = 0  # stored already, with the same content
    refused: int = 0
    problems: list[Refused] = field(default_factory=list)

    def refuse(self, line: int, incident: str | None, reason: str) -> None:
        self.refused += 1
        if len(self.problems) < KEPT:
            self.problems.append(Refused(line, incident, reason))


def _reason(exc: Exception) -> str:
    if isinstance(exc, IncidentError):
        return "; ".join(str(p) for p in exc.problems) or "an incident needs at least one event"
    return f"its dates run past the calendar (years 1 to 9999): {exc}"


def import_export(library: Library, store: Store, policy: str, source: Path | str, now: str, *,
                  fmt: str | None = None, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Store every incident of the export that `policy` (`id` or `id@version`) can judge. Raises
    ExportError when the export cannot be read at all, SelectionError for an unknown policy."""
    library.select(policy)  # an unknown ruleset is refused before anything is read
    report = ImportReport()
    for chunk in chunked(read_export(source, library.vocabulary(policy), fmt), BATCH):
        ready: list[tuple[Record, StoredIncident]] = []
        for item in chunk:
            report.read += 1
            if isinstance(item, RowError):
                report.refuse(item.line, item.incident, item.message)
                continue
            data = item.incident
            try:
                incident, _ = library.read(policy, data)
            except (IncidentError, CalendarOverflow) as exc:
                line = item.line_of(exc.problems[0].field) if isinstance(exc, IncidentError) and exc.problems \
                    else item.line  # a CSV row: the first problem's event's own
                report.refuse(line, str(data.get("id")), _reason(exc))
                continue
            why = id_problem(incident.id, "the incident's id")
            if why is not None:
                report.refuse(item.line, incident.id, why)
                continue
            ready.append((item, StoredIncident(incident.id, policy, data["timezone"], data.get("facts") or {},
                                               list(data["events"]))))
        outcomes = store.add_incidents([s for _, s in ready], now)
        for (item, stored), outcome in zip(ready, outcomes, strict=True):
            if outcome == "added":
                report.added += 1
            elif outcome == "present":
                report.present += 1
            else:
                report.refuse(item.line, stored.incident_id, outcome)
        if progress is not None:
            progress(len(chunk))
    return report
