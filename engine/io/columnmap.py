"""Column maps: a vendor's export (CSV, one row per call, audit-trail entry or video) translated into the
documented export's rows, which the one export reader (engine.io.export.TableParser) then reads.

A column map is a small YAML file (docs/vendor-exports.md; its JSON Schema is schemas/column-map.schema.json)
that says which columns hold the incident, the times, the officer, how each row becomes one or more
events of the vocabulary (`type`, `at`, attributes, with value maps for the vendor's action and category
names), which columns are facts or grouping columns, and, optionally, how a second file listing
recordings (one row per video) is matched to incidents: by officer and time window, the way Axon's
CAD auto-tagging matches a call to the videos whose start falls within the officer's dispatched and
cleared times.

This module is a translation step, not a second incident reader: every vendor row becomes rows of the
documented CSV layout (`incident_id`, `timezone`, `type`, `at`, attribute, `fact.` and `group.` columns),
framed into the same `TableUnit`s the CSV reader makes, and parsed by the same `TableParser`; the incident
reader then checks them against the vocabulary as it checks any export. A vendor row that the map cannot
read (a missing value, a time it cannot read, an action name the map does not list) is reported with its
line and the column's number and name; its incident is refused whole, as for any export, and the rest is
read. The map file's own problems are reported with file:line:column, before any row is read.

A vendor file is read whole (at most MAX_VENDOR_BYTES), because a vendor's rows of one incident need
not be contiguous and recordings are matched against every incident.
"""

from __future__ import annotations

import csv
import heapq
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.io.export import (
    MAX_CELL_CHARS,
    REQUIRED_COLUMNS,
    ExportError,
    RowError,
    TableParser,
    TableUnit,
    csv_problem,
)
from policy.diagnostics import Diagnostic, RulesetError
from policy.duration import Duration
from policy.source import SourceDocument, read_yaml_file
from policy.values import parse_timestamp, parse_zone, quoted, quoted_path
from policy.vocabulary import Vocabulary

MAPS_DIR = Path(__file__).parent / "maps"  # the maps shipped with bwc-policy, by name
MAX_MAP_BYTES = 256 * 1024
MAX_VENDOR_BYTES = 64 * 1024 * 1024  # a vendor file is read whole: the same cap as a .json export
MAP_VERSION = 1
# A recording is matched to at most this many calls of its officer: more means the calls' windows
# overlap too much to tell which it belongs to, and matching it to each would make the audit's input
# grow as recordings x calls rather than with the files' size.
MAX_MATCHES = 16

Scalar = str | bool | int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """A public document the map's column names (or matching rule) were read from."""

    url: str = Field(min_length=8, description="Where the columns are documented.")
    says: str = Field(min_length=1, description="What the document says, in a sentence (paraphrased).")


class Cell(_Model):
    """A value read from a column, optionally translated by `values` (vendor text -> vocabulary value)."""

    column: str = Field(min_length=1, description="The column's heading, exactly as in the vendor file.")
    values: dict[str, Scalar] | None = Field(
        default=None, description="Vendor text -> value; a cell not listed is handled by `other`.")
    other: Literal["error", "skip", "keep"] = Field(
        default="error", description="A cell not in `values`: refuse the row (error), ignore the row (skip, for "
                                     "audit-trail actions the audit does not read), or keep the text as it is.")
    format: str | None = Field(
        default=None, description="Times only: a strptime format (e.g. `%m/%d/%Y %I:%M:%S %p`) for local times "
                                  "written without an offset; they are read in the incident's time zone. Without "
                                  "it a time must be ISO 8601 with its offset (`Z` or `-06:00`).")
    optional: bool = Field(default=False, description="The column may be missing from the file (an empty cell "
                                                      "then means the attribute is absent).")


class Constant(_Model):
    """A value that is the same on every row (e.g. `redacted: {value: true}`)."""

    value: Scalar


ColumnName = Annotated[str, Field(min_length=1)]
CellSpec = ColumnName | Cell
ValueSpec = ColumnName | Cell | Constant


class EventSpec(_Model):
    """One event each row gives: its type (a vocabulary event, or a column translated by `values`) and time."""

    type: str | Cell = Field(description="A vocabulary event type, or a column whose values name one.")
    at: CellSpec = Field(description="The column holding the event's time.")
    attributes: dict[str, ValueSpec] = Field(default_factory=dict,
                                             description="Vocabulary attribute -> column or constant.")
    when_present: bool = Field(default=False, description="Give this event only when its `at` cell is not empty "
                                                          "(a cleared time not yet known, say).")


class IncidentSpec(_Model):
    """How rows become incidents."""

    id: CellSpec = Field(description="The column holding the incident (CAD event or case number).")
    timezone: CellSpec | Constant | None = Field(
        default=None, description="The incident's IANA time zone: a column, a constant, or (none) the ruleset's.")
    events: list[EventSpec] = Field(min_length=1, description="The events each row gives.")
    facts: dict[str, ValueSpec] = Field(default_factory=dict, description="Vocabulary fact -> column or constant.")
    groups: dict[str, CellSpec] = Field(default_factory=dict,
                                        description="Grouping column name in the report -> vendor column.")


class Match(_Model):
    """Which incident a recording belongs to: the officer's, whose time window holds the recording's start."""

    officer: str = Field(default="officer", description="The event attribute naming the officer on both sides.")
    start: str = Field(description="The event type opening an officer's window (e.g. `dispatched`).")
    end: str = Field(description="The event type closing it (e.g. `encounter_ended`).")
    before: str = Field(default="PT0S", description="How long before `start` a recording may begin and still "
                                                    "match (ISO 8601 duration, e.g. PT4M).")
    after: str = Field(default="PT0S", description="How long after `end` a recording may begin and still match.")


class RecordingsSpec(_Model):
    """A second file, one row per recording (video), matched to incidents by officer and time."""

    status: Literal["documented", "illustrative"]
    sources: list[Source] = Field(default_factory=list)
    note: str | None = None
    officer: CellSpec
    started: CellSpec
    ended: CellSpec
    match: Match


class ColumnMap(_Model):
    """A column map file (docs/vendor-exports.md)."""

    bwc_column_map: Literal[1] = Field(description="The map format's version (1).")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str = Field(min_length=1)
    status: Literal["documented", "illustrative"] = Field(
        description="documented: every column name below was read in the `sources`; illustrative: the names are "
                    "an example of the shape, not a vendor's (copy the map and write your export's headings).")
    sources: list[Source] = Field(default_factory=list)
    note: str | None = None
    underscores_as_spaces: bool = Field(
        default=False, description="A heading may write `_` for a space (Axon's CAD printout allows it).")
    incident: IncidentSpec
    recordings: RecordingsSpec | None = None


class ColumnMapError(ExportError):
    """A column map file that cannot be used: every problem with its file, line and column."""

    def __init__(self, problems: list[Diagnostic]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{d.location()}: {d.message}" + (f" ({d.hint})" if d.hint else "")
                                   for d in problems))

    def __reduce__(self) -> tuple[type[ColumnMapError], tuple[list[Diagnostic]], dict[str, Any]]:
        # Pickled as its problems (rebuilt from its message, each character would be taken for one).
        return (type(self), (self.problems,), self.__dict__)


# --- reading a map -----------------------------------------------------------------------------------------

def shipped_maps() -> list[str]:
    """The names of the maps shipped with bwc-policy."""
    return sorted(p.stem for p in MAPS_DIR.glob("*.yaml"))


def resolve_map(name_or_path: str | Path) -> Path:
    """A map file: a path to one, or the name of a shipped map (`axon-cad-auto-tagging`)."""
    text = str(name_or_path)
    shipped = MAPS_DIR / f"{text}.yaml"
    if "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")) and shipped.is_file():
        return shipped
    path = Path(text)
    if not path.exists():
        raise ExportError(f"no column map `{quoted(text)}`: give a map file, or one of the shipped maps: "
                          f"{', '.join(shipped_maps())}")
    return path


def load_map(name_or_path: str | Path, vocabulary: Vocabulary | None = None) -> ColumnMap:
    """Read and check a column map; raises ColumnMapError with every problem and its file:line:column.

    With a vocabulary, event types, attributes and facts the map names are checked against it too."""
    path = resolve_map(name_or_path)
    try:
        doc = read_yaml_file(path, max_bytes=MAX_MAP_BYTES)
    except RulesetError as exc:  # unreadable or not YAML: same positions, the map's words
        raise ColumnMapError(list(exc.diagnostics)) from None
    try:
        cmap = ColumnMap.model_validate(doc.data)
    except ValidationError as exc:
        raise ColumnMapError([_diagnostic(doc, tuple(e["loc"]), _plain(e), key=e.get("type") == "extra_forbidden")
                              for e in exc.errors()]) from None
    problems = _check_meaning(cmap, doc, vocabulary)
    if problems:
        raise ColumnMapError(problems)
    return cmap


def _plain(error: Any) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"unknown key `{quoted(str(error['loc'][-1]))}`"
    if kind == "missing":
        return f"missing key `{quoted(str(error['loc'][-1]))}`"
    return str(error.get("msg", "invalid value"))


def _diagnostic(doc: SourceDocument, loc: tuple[Any, ...], message: str, hint: str | None = None, *,
                key: bool = False) -> Diagnostic:
    # pydantic's locations name union branches (`str`, `Cell`); keep only what is in the file.
    path = doc.known_prefix(loc)
    key = key and path == tuple(loc)
    pos = doc.position(path, key=key) or (None, None)
    return Diagnostic("MAP", message, doc.file, pos[0], pos[1], hint, path=path)


def _check_meaning(cmap: ColumnMap, doc: SourceDocument, vocabulary: Vocabulary | None) -> list[Diagnostic]:
    """What the model cannot see: durations, zones, formats, and names the vocabulary does not know."""
    problems: list[Diagnostic] = []
    inc = cmap.incident

    def bad(loc: tuple[Any, ...], message: str, hint: str | None = None, *, key: bool = False) -> None:
        problems.append(_diagnostic(doc, loc, message, hint, key=key))

    if isinstance(inc.timezone, Constant):
        try:
            parse_zone(inc.timezone.value)
        except ValueError as exc:
            bad(("incident", "timezone", "value"), str(exc))
    for i, ev in enumerate(inc.events):
        if isinstance(ev.at, Cell) and ev.at.values is not None:
            bad(("incident", "events", i, "at", "values"), "a time column cannot have `values`")
        if isinstance(ev.type, Cell) and ev.type.values is None and ev.type.other != "keep":
            bad(("incident", "events", i, "type"), "a `type` read from a column needs `values` (vendor text -> "
                                                   "event type), or `other: keep` if the column holds event types")
    for loc, spec in _non_time_cells(cmap):
        if isinstance(spec, Cell) and spec.format is not None:
            bad((*loc, "format"), "`format` is for time columns only (`at`, `started`, `ended`)", key=True)
    for loc, spec in _time_cells(cmap):
        problem = _format_problem(spec.format) if isinstance(spec, Cell) and spec.format is not None else None
        if problem is not None:
            bad((*loc, "format"), *problem)
    if cmap.recordings is not None:
        for key in ("before", "after"):
            text = getattr(cmap.recordings.match, key)
            try:
                _seconds(text)
            except ValueError as exc:
                bad(("recordings", "match", key), str(exc))
    if vocabulary is None:
        return problems
    for i, ev in enumerate(inc.events):
        types = [ev.type] if isinstance(ev.type, str) else [v for v in (ev.type.values or {}).values()]
        for t in types:
            if not isinstance(t, str) or t not in vocabulary.events:
                where = ("incident", "events", i, "type") + (() if isinstance(ev.type, str) else ("values",))
                bad(where, f"`{quoted(str(t))}` is not an event type of the vocabulary")
        known_types = [t for t in types if isinstance(t, str) and t in vocabulary.events]
        for name in ev.attributes if known_types else ():
            if not any(name in vocabulary.attributes_of(t) for t in known_types):
                bad(("incident", "events", i, "attributes", name),
                    f"`{quoted(name)}` is not an attribute of the event type(s) {', '.join(known_types)}", key=True)
    for name in inc.facts:
        if name not in vocabulary.facts:
            bad(("incident", "facts", name), f"`{quoted(name)}` is not a fact of the vocabulary", key=True)
    if cmap.recordings is not None:
        m = cmap.recordings.match
        for key in ("start", "end"):
            if getattr(m, key) not in vocabulary.events:
                bad(("recordings", "match", key), f"`{quoted(getattr(m, key))}` is not an event type of the vocabulary")
    return problems


def _non_time_cells(cmap: ColumnMap) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every cell of the map that is not a time, with its location in the map file."""
    inc = cmap.incident
    yield ("incident", "id"), inc.id
    yield ("incident", "timezone"), inc.timezone
    for i, ev in enumerate(inc.events):
        yield ("incident", "events", i, "type"), ev.type
        for name, spec in ev.attributes.items():
            yield ("incident", "events", i, "attributes", name), spec
    for name, spec in inc.facts.items():
        yield ("incident", "facts", name), spec
    for name, spec in inc.groups.items():
        yield ("incident", "groups", name), spec
    if cmap.recordings is not None:
        yield ("recordings", "officer"), cmap.recordings.officer


def _time_cells(cmap: ColumnMap) -> Iterator[tuple[tuple[Any, ...], CellSpec]]:
    """Every time cell of the map, with its location in the map file."""
    for i, ev in enumerate(cmap.incident.events):
        yield ("incident", "events", i, "at"), ev.at
    if cmap.recordings is not None:
        yield ("recordings", "started"), cmap.recordings.started
        yield ("recordings", "ended"), cmap.recordings.ended


# The strptime directives a time `format` may use, and the part of the time each reads. The map is
# checked before any row is read because strptime itself fails only on a row (a directive written
# twice), reads `%Z` without using it, and fills a part no directive reads from 1900-01-01 00:00.
_DIRECTIVES = {"Y": "year", "y": "year", "m": "month", "b": "month", "B": "month", "d": "day",
               "j": "day of the year", "H": "hour", "I": "hour", "p": "AM/PM", "M": "minute", "S": "second",
               "f": "fraction of a second", "z": "offset", "a": "weekday", "A": "weekday"}
_FORMAT_EXAMPLE = "e.g. `%m/%d/%Y %H:%M:%S` (month/day/year, 24-hour clock) or `%m/%d/%Y %I:%M %p` (12-hour clock)"


def _format_problem(fmt: str) -> tuple[str, str] | None:
    """Why a time `format` cannot be used, and a hint (None when it can): every directive known and
    read once, a full date, the hour, and the parts a smaller part needs."""
    if not fmt.strip():
        return "the format is empty", f"write how the times are written, {_FORMAT_EXAMPLE}; or leave `format` " \
                                      "out for ISO 8601 times with their offset"
    read: dict[str, str] = {}  # part of the time -> the directive reading it
    i = fmt.find("%")
    while i != -1:
        d = fmt[i + 1:i + 2]
        if d == "Z":
            return ("`%Z` (a zone name such as UTC or EST) cannot be used: the name would be read and then "
                    "ignored, so every time would be taken as a local time of the incident's zone, hours off",
                    "write `%z` for an offset written in digits (-0500, -05:00 or Z), or set the zone with "
                    "the map's `timezone`")
        if d == "":
            return "the format ends with a lone `%`", "write `%%` for a percent sign"
        part = _DIRECTIVES.get(d)
        if part is None and d != "%":
            return (f"`%{quoted(d)}` is not a directive a time format may use",
                    "use " + " ".join(f"`%{k}`" for k in _DIRECTIVES) + " and `%%` for a percent sign")
        if part in read:
            return (f"the format reads the {part} twice (`%{read[part]}` and `%{d}`)",
                    "read each part of the time once: remove one of them")
        if part is not None:
            read[part] = d
        i = fmt.find("%", i + 2)
    missing = [name for name, present in (
        ("no year", "year" in read),
        ("no month and day (nor `%j`, the day of the year)", ("month" in read and "day" in read)
         or "day of the year" in read),
        ("no hour", "hour" in read)) if not present]
    if missing:
        return (f"the format reads {', '.join(missing)}: a time needs its full date and at least its hour, and "
                "what the format does not read would silently be taken from 1 January 1900 at midnight",
                _FORMAT_EXAMPLE)
    if "day of the year" in read and ("month" in read or "day" in read):
        return "the date is read twice (`%j`, the day of the year, and the month or day)", _FORMAT_EXAMPLE
    if (read.get("hour") == "I") != ("AM/PM" in read):
        return ("`%I` (the 12-hour clock) and `%p` (AM or PM) go together: one without the other reads "
                "2 PM as 2 in the morning", "use `%I` with `%p` for a 12-hour clock, or `%H` alone for a 24-hour clock")
    for part, needs in (("second", "minute"), ("fraction of a second", "second")):
        if part in read and needs not in read:
            return (f"the format reads the {part} but not the {needs}, which would silently be taken as 0",
                    _FORMAT_EXAMPLE)
    return None


def _seconds(text: str) -> float:
    """An ISO 8601 duration of hours, minutes and seconds (PT4M), in seconds."""
    try:
        d = Duration.parse(text)
    except ValueError:
        d = None
    if d is None or d.years or d.months or d.weeks or d.days or d.business_days:
        raise ValueError(f"`{quoted(text)}` is not a duration in hours, minutes or seconds (e.g. PT4M)")
    return float(d.hours * 3600 + d.minutes * 60 + d.seconds)


# --- reading a vendor file through a map ---------------------------------------------------------------------

class _Table:
    """A vendor CSV read whole: its headings and its rows with the line each starts on."""

    def __init__(self, path: Path, cmap: ColumnMap, what: str) -> None:
        self.path = path
        # Rows the CSV reader refused, with their cells read again without the cell limit (None if
        # even that fails), so that the caller can tell which incident each belongs to.
        self.problems: list[tuple[RowError, list[str] | None]] = []
        raw = _read_capped(path, what)
        text = raw.decode("utf-8-sig", "surrogateescape")
        self.size = len(raw)
        pending: list[str] = []  # the lines of the row being read, to learn the incident of a refused one

        def lines() -> Iterator[str]:
            for line in io.StringIO(text, newline=""):
                pending.append(line)
                yield line

        reader = csv.reader(lines())
        old = csv.field_size_limit(MAX_CELL_CHARS)
        try:
            try:
                header = next(reader, None)
            except csv.Error as exc:
                raise ExportError(f"{quoted_path(path)}:1: unreadable CSV header: {csv_problem(exc)}") from None
            if not header:
                raise ExportError(f"{quoted_path(path)}: empty file ({what} starts with a header row)")
            self.header = [self.heading_key(h, cmap) for h in header]
            self.index = {h: i for i, h in reversed(list(enumerate(self.header)))}
            self.rows: list[tuple[int, list[str]]] = []
            previous = 1
            pending.clear()
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    start, previous = previous + 1, reader.line_num
                    self.problems.append((RowError(start, None, csv_problem(exc), "unreadable CSV"),
                                          _salvaged(pending)))
                    pending.clear()
                    continue
                pending.clear()
                start, previous = previous + 1, reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if any(c.strip() for c in cells[len(header):]):
                    # Values past the last heading: a comma in an unquoted cell shifted them, so no cell
                    # of the row can be trusted to be under its heading. (Empty ones, as spreadsheets
                    # leave at a row's end, are no sign of that.)
                    self.problems.append((RowError(start, None, f"{len(cells)} fields where the header has "
                                                   f"{len(header)}, the last of them not empty (a comma in a "
                                                   "cell that is not quoted?)", "wrong number of fields"), cells))
                else:
                    self.rows.append((start, cells))
        finally:
            csv.field_size_limit(old)

    @staticmethod
    def heading_key(heading: str, cmap: ColumnMap) -> str:
        h = heading.strip()
        return h.replace("_", " ") if cmap.underscores_as_spaces else h

    def column(self, name: str, cmap: ColumnMap) -> int | None:
        return self.index.get(self.heading_key(name, cmap))


def _salvaged(lines: list[str]) -> list[str] | None:
    """The cells of a row the reader refused, read again without the cell limit, only to learn its
    incident (so that the incident is refused whole, never judged on its other rows)."""
    old = csv.field_size_limit(2**31 - 1)
    try:
        return next(csv.reader(lines), None)
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(old)


def _read_capped(path: Path, what: str) -> bytes:
    if not path.exists():
        raise ExportError(f"cannot read `{quoted_path(path)}`: no such file")
    if not path.is_file():
        raise ExportError(f"cannot read `{quoted_path(path)}`: not a regular file")
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_VENDOR_BYTES + 1)
    except OSError as exc:
        raise ExportError(f"cannot read `{quoted_path(path)}`: {exc.strerror}") from None
    if len(raw) > MAX_VENDOR_BYTES:
        raise ExportError(f"{quoted_path(path)}: {what} read through a column map may hold at most "
                          f"{MAX_VENDOR_BYTES // 2**20} MiB: split it by month")
    return raw


class _RowProblem(Exception):
    """One vendor cell the map cannot read: where (column number and heading) and why."""

    def __init__(self, column: int | None, heading: str, message: str, reason: str = "bad value") -> None:
        self.column = column
        self.heading = heading
        self.reason = reason
        where = f"column {column} (`{quoted(heading)}`)" if column is not None else f"column `{quoted(heading)}`"
        super().__init__(f"{where}: {message}")


class _Skip(Exception):
    """A row the map says to ignore (an audit-trail action the audit does not read)."""


@dataclass
class _Reader:
    """Reads the cells of one vendor row as the map says."""

    table: _Table
    cmap: ColumnMap
    zone_default: str | None

    def cell(self, cells: list[str], spec: CellSpec | Cell) -> tuple[str | None, int | None, str]:
        """(text or None when empty or the optional column is missing, 1-based column, heading)."""
        c = spec if isinstance(spec, Cell) else Cell(column=spec)
        i = self.table.column(c.column, self.cmap)
        if i is None:
            return None, None, c.column
        if i >= len(cells):
            raise _RowProblem(i + 1, c.column, f"the row has {len(cells)} fields, and no value here",
                              "wrong number of fields")
        text = cells[i]
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _RowProblem(i + 1, c.column, "not UTF-8: save the export as UTF-8", "not UTF-8") from None
        return (text if text != "" else None), i + 1, c.column

    def value(self, cells: list[str], spec: ValueSpec) -> Scalar | None:
        if isinstance(spec, Constant):
            return spec.value
        text, col, heading = self.cell(cells, spec)
        if text is None or not isinstance(spec, Cell) or spec.values is None:
            return text
        if text in spec.values:
            return spec.values[text]
        if spec.other == "keep":
            return text
        if spec.other == "skip":
            raise _Skip
        listed = ", ".join(f"`{quoted(k, 30)}`" for k in list(spec.values)[:8])
        raise _RowProblem(col, heading, f"`{quoted(text)}` is not a value the map lists ({listed})", "unknown value")

    def required(self, cells: list[str], spec: CellSpec) -> tuple[str, int | None, str]:
        text, col, heading = self.cell(cells, spec)
        if text is None:
            raise _RowProblem(col, heading, "empty: a value is required here", "missing value")
        return text, col, heading

    def time(self, cells: list[str], spec: CellSpec, zone: str) -> datetime | None:
        text, col, heading = self.cell(cells, spec)
        if text is None:
            return None
        fmt = spec.format if isinstance(spec, Cell) else None
        try:
            return _parse_time(text, fmt, zone)
        except ValueError as exc:
            raise _RowProblem(col, heading, str(exc)) from None

    def zone(self, cells: list[str]) -> str:
        spec = self.cmap.incident.timezone
        if isinstance(spec, Constant):
            return str(spec.value)
        if spec is None:
            if self.zone_default is None:
                raise _RowProblem(None, "timezone", "the map names no time zone and the ruleset has none")
            return self.zone_default
        text, col, heading = self.required(cells, spec)
        try:
            parse_zone(text)
        except ValueError as exc:
            raise _RowProblem(col, heading, str(exc)) from None
        return text


def _parse_time(text: str, fmt: str | None, zone: str) -> datetime:
    """A vendor's time; ValueError unless it is on the calendar in UTC too, so that the rest of this module
    may convert and compare it freely."""
    if fmt is None:
        return parse_timestamp(text)  # it refuses a time off the calendar itself
    try:
        naive = datetime.strptime(text, fmt)
    except ValueError:
        raise ValueError(f"`{quoted(text)}` is not a time written `{quoted(fmt)}`") from None
    try:  # 9999-12-31 23:30 west of Greenwich, or 0001-01-01 00:30 east of it, is past the calendar's end in UTC
        if naive.tzinfo is not None:  # `%z`: the time gave its offset
            naive.astimezone(UTC)
            return naive
        tz = ZoneInfo(zone)
        first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise ValueError(f"`{quoted(text)}` never happened in {zone}: the clocks jumped past it (daylight saving)")
    except OverflowError:
        raise ValueError(f"`{quoted(text)}` is outside the calendar this engine counts in (years 1 to 9999, UTC)") \
            from None
    if first.utcoffset() != second.utcoffset():
        raise ValueError(f"`{quoted(text)}` happened twice in {zone} (the clocks went back): the export must give "
                         "the offset for this time")
    return first


def _shifted(t: datetime, delta: timedelta) -> datetime:
    """`t + delta` counted in UTC; past the calendar's first or last moment, that moment, which holds every
    time read (a match window reaching past year 9999 still holds the recordings of 9999)."""
    try:
        return t.astimezone(UTC) + delta
    except OverflowError:
        return (datetime.max if delta > timedelta(0) else datetime.min).replace(tzinfo=UTC)


def _written_in(t: datetime, tz: ZoneInfo) -> str:
    """`t` in the zone `tz`, or with its own offset when that zone's clock would be past the calendar's end:
    the same moment, which the audit then treats as it treats such a time in any export."""
    try:
        return t.astimezone(tz).isoformat()
    except OverflowError:
        return t.isoformat()


@dataclass
class _Incident:
    line: int
    zone: str | None = None
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (vendor line, documented row)
    problems: list[RowError] = field(default_factory=list)
    windows: list[tuple[str, datetime, datetime, int]] = field(default_factory=list)  # officer, from, to, line


class _Window(NamedTuple):
    """An officer's match window in one incident: a recording starting from `low` to `high` belongs to it."""
    low: datetime
    high: datetime
    incident: _Incident
    iid: str


class _Video(NamedTuple):
    line: int
    officer: str
    started: datetime
    ended: datetime


def _windows_holding(windows: dict[str, list[_Window]], videos: list[_Video]) -> list[list[_Window] | int]:
    """For each video, its officer's windows holding its start, in the order of `windows`; or, when more
    than MAX_MATCHES hold it, how many. One sweep per officer (windows by opening, videos by start, a heap
    of the open windows by closing), so the time grows as (windows + videos) x log, not as their product,
    and no video is given more than MAX_MATCHES windows."""
    held: list[list[_Window] | int] = [[] for _ in videos]
    by_officer: dict[str, list[int]] = {}
    for i, video in enumerate(videos):
        by_officer.setdefault(video.officer, []).append(i)
    for officer, mine in by_officer.items():
        theirs = windows.get(officer, [])
        opening = sorted(range(len(theirs)), key=lambda w: theirs[w].low)
        open_now: list[tuple[datetime, int]] = []  # (high, index in theirs): a heap
        k = 0
        for i in sorted(mine, key=lambda v: videos[v].started):
            started = videos[i].started
            while k < len(opening) and theirs[opening[k]].low <= started:
                heapq.heappush(open_now, (theirs[opening[k]].high, opening[k]))
                k += 1
            while open_now and open_now[0][0] < started:
                heapq.heappop(open_now)
            held[i] = (len(open_now) if len(open_now) > MAX_MATCHES
                       else [theirs[w] for w in sorted(w for _, w in open_now)])
    return held


class MappedExport:
    """A vendor export read through a column map: the same interface as engine.io.export.Export
    (`path`, `format`, `parser`, `units()`, `position`, `total`), so the audit reads it as any export."""

    def __init__(self, path: Path, cmap: ColumnMap, vocabulary: Vocabulary, zone_default: str | None,
                 recordings: Path | None = None) -> None:
        self.path = path
        self.cmap = cmap
        self.format = "mapped csv"  # summary.json names the map in `input.map`
        self.vocabulary = vocabulary
        if recordings is not None and cmap.recordings is None:
            raise ExportError(f"the column map {cmap.name} has no `recordings` section: it cannot read a "
                              "recordings file")
        table = _Table(path, cmap, "an export")
        self._check_columns(table, self._main_columns(), "the export")
        self.position = 0  # units handed to the audit so far, of `total` (for the progress bar)
        self.recording_stats = {"rows": 0, "matched": 0, "unmatched": 0, "skipped": 0, "ambiguous": 0}
        columns = self._documented_columns()
        self.parser = TableParser.for_columns(columns, vocabulary, str(path))
        self._columns = columns
        self._standalone: list[RowError] = []
        self._incidents: dict[str, _Incident] = {}
        reader = _Reader(table, cmap, zone_default)
        for line, cells in table.rows:
            self._row(reader, line, cells)
        for problem, salvaged in table.problems:
            self._refused(reader, problem, salvaged)
        if recordings is not None and cmap.recordings is not None:
            self._match_recordings(recordings, cmap.recordings, zone_default)
        self.total = len(self._standalone) + len(self._incidents)

    # -- columns --

    def _main_columns(self) -> list[Cell]:
        inc = self.cmap.incident
        specs: list[Any] = [inc.id, inc.timezone, *inc.groups.values(), *inc.facts.values()]
        for ev in inc.events:
            specs += [ev.type if isinstance(ev.type, Cell) else None, ev.at, *ev.attributes.values()]
        return [s if isinstance(s, Cell) else Cell(column=s) for s in specs if isinstance(s, str | Cell)]

    def _check_columns(self, table: _Table, needed: list[Cell], what: str) -> None:
        names = {table.heading_key(c.column, self.cmap) for c in needed}
        twice = sorted(h for h in names if table.header.count(h) > 1)
        if twice:
            raise ExportError(f"{quoted_path(table.path)}: {what} has the column "
                              f"{', '.join(f'`{quoted(h)}`' for h in twice)} twice: the map cannot tell which to read")
        missing = sorted({c.column for c in needed if not c.optional and table.column(c.column, self.cmap) is None})
        if missing:
            found = ", ".join(f"`{quoted(h, 40)}`" for h in table.header[:12])
            raise ExportError(f"{quoted_path(table.path)}: {what} has no column "
                              f"{', '.join(f'`{quoted(m)}`' for m in missing)}, which the column map {self.cmap.name} "
                              f"reads (its columns: {found})")

    def _documented_columns(self) -> list[str]:
        inc = self.cmap.incident
        attrs: list[str] = []
        for ev in inc.events:
            attrs += [a for a in ev.attributes if a not in attrs]
        if self.cmap.recordings is not None and self.cmap.recordings.match.officer not in attrs:
            attrs.append(self.cmap.recordings.match.officer)
        return [*REQUIRED_COLUMNS, *attrs, *(f"fact.{f}" for f in inc.facts), *(f"group.{g}" for g in inc.groups)]

    # -- rows --

    def _row(self, reader: _Reader, line: int, cells: list[str]) -> None:
        inc_spec = self.cmap.incident
        try:
            iid, _, _ = reader.required(cells, inc_spec.id)
        except _RowProblem as exc:
            self._standalone.append(RowError(line, None, str(exc), exc.reason))
            return
        incident = self._incidents.setdefault(iid, _Incident(line))
        try:
            zone = reader.zone(cells)
            if incident.zone is None:
                incident.zone = zone
            common: dict[str, Any] = {}
            for name, spec in inc_spec.facts.items():
                value = reader.value(cells, spec)
                if value is not None:
                    common[f"fact.{name}"] = value
            for name, spec in inc_spec.groups.items():
                text, _, _ = reader.cell(cells, spec)
                if text is not None:
                    common[f"group.{name}"] = text
            events: list[dict[str, Any]] = []
            for ev in inc_spec.events:
                etype = ev.type if isinstance(ev.type, str) else reader.value(cells, ev.type)
                at = reader.time(cells, ev.at, zone)
                if at is None:
                    if ev.when_present:
                        continue
                    _, col, heading = reader.cell(cells, ev.at)
                    raise _RowProblem(col, heading, "empty: the event's time is required", "missing value")
                row = {"incident_id": iid, "timezone": zone, "type": etype, "at": at.isoformat(), **common}
                for name, spec in ev.attributes.items():
                    value = reader.value(cells, spec)
                    if value is not None:
                        row[name] = value
                events.append(row)
        except _Skip:
            return
        except _RowProblem as exc:
            incident.problems.append(RowError(line, iid, str(exc), exc.reason))
            return
        for row in events:
            incident.rows.append((line, row))
        self._windows(incident, events, line)

    def _refused(self, reader: _Reader, problem: RowError, cells: list[str] | None) -> None:
        """A row the CSV reader refused: it refuses its incident whole, when its incident can be told."""
        iid = None
        if cells is not None:
            try:
                iid = reader.cell(cells, self.cmap.incident.id)[0]
            except (_RowProblem, UnicodeEncodeError):
                iid = None
        if iid is None:
            self._standalone.append(problem)
            return
        incident = self._incidents.setdefault(iid, _Incident(problem.line))
        incident.problems.append(RowError(problem.line, iid, problem.message, problem.reason))

    def _windows(self, incident: _Incident, events: list[dict[str, Any]], line: int) -> None:
        """An officer's window (from the match's start event to its end event) given by one row."""
        rec = self.cmap.recordings
        if rec is None:
            return
        m = rec.match
        starts = [e for e in events if e["type"] == m.start and e.get(m.officer) is not None]
        ends = [e for e in events if e["type"] == m.end and e.get(m.officer) is not None]
        for s in starts:
            for e in ends:
                if e[m.officer] == s[m.officer]:
                    incident.windows.append((str(s[m.officer]), datetime.fromisoformat(s["at"]),
                                             datetime.fromisoformat(e["at"]), line))

    # -- recordings --

    def _match_recordings(self, path: Path, spec: RecordingsSpec, zone_default: str | None) -> None:
        table = _Table(path, self.cmap, "a recordings file")
        needed = [s if isinstance(s, Cell) else Cell(column=s) for s in (spec.officer, spec.started, spec.ended)]
        self._check_columns(table, needed, "the recordings file")
        for problem, _ in table.problems:
            self._standalone.append(self._recording_error(path, problem.line, problem.message, problem.reason))
        before, after = timedelta(seconds=_seconds(spec.match.before)), timedelta(seconds=_seconds(spec.match.after))
        windows: dict[str, list[_Window]] = {}
        for iid, inc in self._incidents.items():
            for officer, start, end, _ in inc.windows:
                windows.setdefault(officer, []).append(_Window(_shifted(start, -before), _shifted(end, after),
                                                               inc, iid))
        reader = _Reader(table, self.cmap, zone_default)
        videos: list[_Video | RowError] = [self._video(path, reader, spec, zone_default or "UTC", line, cells)
                                           for line, cells in table.rows]
        held = iter(_windows_holding(windows, [v for v in videos if isinstance(v, _Video)]))
        officer_attr = spec.match.officer
        self.recording_stats["rows"] += len(videos)
        for video in videos:  # in the file's order, so that the rows and reports do not depend on the matching
            if isinstance(video, RowError):
                self.recording_stats["skipped"] += 1
                self._standalone.append(video)
                continue
            matched = next(held)
            if isinstance(matched, int):
                self.recording_stats["ambiguous"] += 1
                self._standalone.append(self._recording_error(
                    path, video.line, f"the recording of `{quoted(video.officer)}` starting "
                    f"{video.started.isoformat()} falls in {matched:,} match windows of that officer, more than "
                    f"the {MAX_MATCHES} a recording may match: the officer's calls overlap too much to tell "
                    "which it belongs to (check the export's cleared times, or narrow the map's "
                    "`match.before` and `match.after`)", "ambiguous match"))
                continue
            added: set[str] = set()
            for window in matched:
                if window.iid in added:
                    continue  # two windows of one incident (the officer on two of its rows): one recording
                added.add(window.iid)
                zone_name = window.incident.zone or "UTC"
                tz = ZoneInfo(zone_name)
                for etype, at in (("recording_started", video.started), ("recording_stopped", video.ended)):
                    window.incident.rows.append((window.incident.line, {
                        "incident_id": window.iid, "timezone": zone_name, "type": etype,
                        "at": _written_in(at, tz), officer_attr: video.officer}))
            self.recording_stats["matched" if matched else "unmatched"] += 1

    def _video(self, path: Path, reader: _Reader, spec: RecordingsSpec, zone: str, line: int,
               cells: list[str]) -> _Video | RowError:
        """One row of the recordings file, read; or why it cannot be."""
        try:
            officer, _, _ = reader.required(cells, spec.officer)
            started = reader.time(cells, spec.started, zone)
            ended = reader.time(cells, spec.ended, zone)
            if started is None or ended is None:
                which = spec.started if started is None else spec.ended
                _, col, heading = reader.cell(cells, which)
                raise _RowProblem(col, heading, "empty: a recording needs its start and end", "missing value")
            if ended < started:
                _, col, heading = reader.cell(cells, spec.ended)
                raise _RowProblem(col, heading, "the recording ends before it starts")
        except _RowProblem as exc:
            return self._recording_error(path, line, str(exc), exc.reason)
        return _Video(line, officer, started, ended)

    def _recording_error(self, path: Path, line: int, message: str, reason: str) -> RowError:
        return RowError(line, None, f"recordings file {quoted_path(path.name)}, line {line}: {message}", reason)

    # -- units for the reader --

    def units(self) -> Iterator[TableUnit | RowError]:
        for problem in self._standalone:
            self.position += 1
            yield problem
        for iid, inc in self._incidents.items():
            self.position += 1
            rows = [(line, [_cell_text(row.get(c)) for c in self._columns]) for line, row in inc.rows]
            if not rows and not inc.problems:
                continue  # every row of it was skipped by the map (actions the audit does not read)
            yield TableUnit(inc.line, iid, rows, list(inc.problems))


def _cell_text(value: Any) -> str:
    """A documented-CSV cell: what the CSV reader would have read for this value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def open_mapped(path: Path | str, cmap: ColumnMap, vocabulary: Vocabulary, zone_default: str | None = None,
                recordings: Path | str | None = None) -> MappedExport:
    """Open a vendor export through a column map (ExportError if it cannot be read at all)."""
    return MappedExport(Path(path), cmap, vocabulary, zone_default, None if recordings is None else Path(recordings))


def column_map_schema() -> dict[str, Any]:
    schema = ColumnMap.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://bwc-policy.org/schema/column-map.schema.json", **schema}


__all__ = [
    "MAPS_DIR",
    "Cell",
    "ColumnMap",
    "ColumnMapError",
    "Constant",
    "EventSpec",
    "IncidentSpec",
    "MappedExport",
    "Match",
    "RecordingsSpec",
    "Source",
    "column_map_schema",
    "load_map",
    "open_mapped",
    "resolve_map",
    "shipped_maps",
]
