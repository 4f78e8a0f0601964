"""Reading exports: the incidents of JSON Lines, a JSON document, CSV and (when pyarrow is importable) Parquet.

`bwc decide`, `bwc explain`, `bwc impact` and `bwc audit` all read incident files through here, so
a file one of them accepts, every one accepts (each incident is then checked against a vocabulary by
the one incident reader, engine.io.incident). Every reader streams: it holds one incident's lines or
rows at a time (a `.json` document, which cannot be cut into lines, is read whole, up to
`MAX_DOCUMENT_BYTES`). It yields, in input order, either a `Record` (an incident dict ready for the
engine, its grouping columns, and the line or row where it starts) or a `RowError` (a line or row
that cannot be read, with its number, the column when known, the incident id when known, and a
plain message). A bad line never stops the rest of the export: whatever goes wrong in one line or
row, of any exception class, becomes a RowError for it. Only a source that cannot be read at all
(missing, not a regular file, unusable header) raises ExportError.

Reading happens in two steps so an audit can spread the work over processes: `Export.units()`
frames the input into raw units (a JSON line; an element of a JSON document; the contiguous rows of
one CSV or Parquet incident), which is cheap, and `parse_unit(Export.parser, unit)` turns one unit
into a Record or RowError (JSON decoding, typed conversion), which a worker process can do (units
and parsers pickle). `read_export` does both in one go.

Formats (docs/audit.md, "The export"):

- JSON Lines (`.jsonl`, `.ndjson`, and standard input `-`): one incident per line, in the engine's
  incident format, plus an optional `"groups": {"district": "..."}` object of grouping columns,
  which the reader strips into `Record.groups` (so what `bwc generate` writes is read as is). Lines
  end only at `\\n` (optionally `\\r\\n`): a U+2028 or a `\\r` inside a line does not end it, so
  line numbers are those an editor shows. JSON is decoded strictly (engine.io.jsondoc).
- JSON (`.json`): one JSON document, an incident object or an array of incident objects.
- CSV: one row per event; the rows of one incident are contiguous (an incident whose rows are not
  is refused whole: `Export.units` finds such incidents in a quick first pass over the file, so none
  is judged on part of its rows; standard input is first copied to a temporary file for that).
  Columns `incident_id`,
  `timezone`, `type`, `at` (required); any attribute of the vocabulary (empty cell = absent;
  booleans `true`/`false`; integers as digits); `fact.<name>` (repeated on every row, the first
  non-empty wins); `group.<name>` (grouping). Any other column makes the file unusable. Cells are
  UTF-8 and hold at most `MAX_CELL_CHARS` characters; a row breaking either is refused on its own.
- Parquet: the same columns as CSV; typed columns (booleans, integers, timestamps with a time zone)
  are taken as they are; a struct, list, map or NaN where a value is expected refuses its row.

Incident ids are taken exactly as written: two rows belong to one incident only if their ids are
equal, character for character.
"""

from __future__ import annotations

import csv
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from engine.io.jsondoc import JsonError, decode_json, decode_utf8, split_document
from policy.values import quoted, quoted_path
from policy.vocabulary import ValueType, Vocabulary

Format = Literal["jsonl", "json", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "json", "csv", "parquet")
REQUIRED_COLUMNS = ("incident_id", "timezone", "type", "at")
STDIN = "-"
MAX_LINE_BYTES = 64 * 1024 * 1024  # one JSON line or CSV line; a longer one is refused without being held
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # a .json document is read whole: larger exports belong in JSON Lines
MAX_CELL_CHARS = 131_072  # one CSV cell (Python's csv default, set explicitly so it holds whatever else runs)
_INTEGER = re.compile(r"[+-]?[0-9]{1,100}", re.ASCII)
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
_CSV_PARSE_LIMIT = 2**31 - 1  # to re-read a refused row, only to learn which incident it belongs to


class ExportError(Exception):
    """The export cannot be read at all (missing file, unknown format, bad header, no pyarrow)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One incident read from an export."""

    line: int  # the line (JSONL, JSON, CSV) or row (Parquet, 1-based) where the incident starts
    incident: dict[str, Any]
    groups: dict[str, str]
    rows: int = 1  # how many lines or rows it was read from
    event_lines: tuple[int, ...] = ()  # CSV and Parquet: the line or row of each event
    column: int = 1  # where it starts on its line: past 1 only for an element of a JSON document

    def line_of(self, field: str) -> int:
        """The line or row a problem at `field` (`events[3].at`, as a Problem names it) is on: its event's
        row in a CSV or Parquet export, where each event is a row; else where the incident starts."""
        match = _EVENT_FIELD.match(field)
        k = int(match.group(1)) if match else -1
        return self.event_lines[k] if 0 <= k < len(self.event_lines) else self.line


_EVENT_FIELD = re.compile(r"events\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class RowError:
    """A line or row that could not be read; the incident it belongs to is skipped."""

    line: int
    incident: str | None
    message: str
    reason: str  # a short category, for counts: "invalid JSON", "bad value", ...
    rows: int = 1
    column: int | None = None  # the character (JSON) or byte (not UTF-8) in the line, 1-based, when known
    file: str | None = None  # the file of a partitioned export (engine.io.partitions) the line is in

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.line, "incident": self.incident, "message": self.message}
        if self.column is not None:
            data["column"] = self.column
        if self.file is not None:
            data["file"] = self.file
        return data


@dataclass(frozen=True, slots=True)
class JsonUnit:
    line: int
    text: str
    column: int = 1  # where `text` starts on its first line (an element of a JSON array)

    # Units are what an audit or an impact ships to its workers, one per incident. A slotted dataclass
    # pickles through Python-level __getstate__/__setstate__; its constructor's arguments pickle in C,
    # about 2 µs less an incident, sent and received.
    def __reduce__(self) -> tuple[type[JsonUnit], tuple[int, str, int]]:
        return JsonUnit, (self.line, self.text, self.column)


@dataclass(frozen=True, slots=True)
class TableUnit:
    """The contiguous rows of one incident: (line or row number, cells) each, and the rows of it
    that could not be read (the incident is then refused, never judged on part of its rows)."""

    line: int
    incident: str
    rows: list[tuple[int, list[Any]]]
    problems: list[RowError] = field(default_factory=list)

    def __reduce__(self) -> tuple[type[TableUnit], tuple[int, str, list[tuple[int, list[Any]]], list[RowError]]]:
        return TableUnit, (self.line, self.incident, self.rows, self.problems)  # as JsonUnit's


@dataclass(frozen=True, slots=True)
class BadCell:
    """A Parquet cell that could not be converted to a Python value (a timestamp past year 9999)."""

    reason: str


Unit = JsonUnit | TableUnit


def csv_problem(exc: csv.Error) -> str:
    """What the `csv` module's error means, in words a records clerk can act on."""
    said = str(exc)
    if "field limit" in said:
        return f"a cell is longer than {MAX_CELL_CHARS:,} characters"
    if "new-line character seen in unquoted field" in said:
        return ("a carriage return (`\\r`) outside quotes: the export's lines end with `\\r` alone (as some old "
                "programs write them), or a cell holds one unquoted; save it with ordinary line ends (`\\n` or "
                "`\\r\\n`), a cell holding a line break in quotes")
    return f"unreadable CSV: {quoted(said, 200)}"


def detect_format(path: Path | str, fmt: str | None = None) -> Format:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ExportError(f"unknown export format `{quoted(fmt)}`: use jsonl, json, csv or parquet")
        return fmt  # type: ignore[return-value,unused-ignore]  # checked just above
    if str(path) == STDIN:
        return "jsonl"
    suffix = Path(path).suffix.lower()
    by_suffix: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
                                    ".parquet": "parquet", ".pq": "parquet"}
    if suffix not in by_suffix:
        raise ExportError(f"cannot tell the format of `{quoted_path(path)}` from its extension (.jsonl or .ndjson, "
                          ".json, .csv, .parquet or .pq): give --input-format jsonl, json, csv or parquet")
    return by_suffix[suffix]


def _safe_id(iid: str | None) -> str | None:
    """An id fit to be shown and written: one holding undecodable bytes (kept as surrogates while
    framing) is not."""
    if iid is None:
        return None
    try:
        iid.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return iid


# --- JSON: JSON Lines and JSON documents -------------------------------------------------------------

class JsonParser:
    def parse(self, unit: JsonUnit) -> Record | RowError:
        try:
            data = decode_json(unit.text)
        except JsonError as exc:
            line = unit.line + exc.line - 1
            column = exc.column + (unit.column - 1 if exc.line == 1 else 0)
            return RowError(line, None, f"not valid JSON at column {column}: {exc.message}", "invalid JSON",
                            column=column)
        if not isinstance(data, dict):
            return RowError(unit.line, None, "an incident is one JSON object (with id, timezone, facts and events)",
                            "invalid JSON", column=unit.column)
        raw_id = data.get("id")
        iid = raw_id if isinstance(raw_id, str) else None
        groups = data.pop("groups", None)
        if groups is None:
            groups = {}
        if not isinstance(groups, dict):
            return RowError(unit.line, iid, "`groups` must be an object of column names and plain values",
                            "bad groups")
        kept: dict[str, str] = {}
        for name, value in groups.items():
            if value is None:
                continue
            text = _group_text(value)
            if text is None:
                return RowError(unit.line, iid, f"`groups.{quoted(name)}` must be text, a number or true/false",
                                "bad groups")
            kept[name] = text
        return Record(unit.line, data, kept, column=unit.column)


def _group_text(value: Any) -> str | None:
    """A grouping value as text; None for one that is not a plain value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int) and value.bit_length() <= 200:
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


# --- CSV and Parquet: one row per event -------------------------------------------------------------

@dataclass(frozen=True)
class TableParser:
    """Turns the rows of one incident into an incident dict, converting cells by the vocabulary."""

    columns: tuple[str, ...]
    event_attrs: dict[str, dict[str, ValueType]]  # event type -> attribute -> type
    any_attrs: dict[str, ValueType]  # attribute -> type, when the event type does not know it
    fact_types: dict[str, ValueType]
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_columns(cls, columns: list[str], vocabulary: Vocabulary, where: str) -> TableParser:
        names = [c.strip() for c in columns]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise ExportError(f"{where}: missing column(s) {', '.join(missing)} (needs {', '.join(REQUIRED_COLUMNS)})")
        event_attrs = {t: {a: s.type for a, s in vocabulary.attributes_of(t).items()} for t in vocabulary.events}
        any_attrs: dict[str, ValueType] = {}
        for attrs in event_attrs.values():
            for a, t in attrs.items():
                any_attrs.setdefault(a, t)
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ExportError(f"{where}: column `{quoted(name)}` appears twice")
            seen.add(name)
            if name in REQUIRED_COLUMNS or name in any_attrs:
                continue
            if name.startswith("group.") and len(name) > 6:
                continue
            if name.startswith("fact."):
                if name[5:] not in vocabulary.facts:
                    raise ExportError(f"{where}: column `{quoted(name)}`: `{quoted(name[5:])}` is not a fact of "
                                      "the vocabulary")
                continue
            raise ExportError(f"{where}: unknown column `{quoted(name)}` (not an event attribute of the "
                              "vocabulary, nor `fact.<name>` or `group.<name>`)")
        return cls(tuple(names), event_attrs, any_attrs, {n: s.type for n, s in vocabulary.facts.items()},
                   {n: i for i, n in enumerate(names)})

    def parse(self, unit: TableUnit) -> Record | RowError:
        n = len(unit.rows) + sum(p.rows for p in unit.problems)
        if unit.problems:
            first = unit.problems[0]
            more = len(unit.problems) - 1
            message = first.message + (f" (and {more} more row(s) of this incident cannot be read)" if more else "")
            return RowError(first.line, _safe_id(unit.incident), message, first.reason, n, first.column)
        facts: dict[str, Any] = {}
        groups: dict[str, str] = {}
        events: list[dict[str, Any]] = []
        timezone: str | None = None
        width = len(self.columns)
        for line, cells in unit.rows:
            if len(cells) != width:
                return RowError(line, unit.incident, f"{len(cells)} fields where the header has {width}",
                                "wrong number of fields", n)
            try:
                event, zone = self._event(cells, facts, groups)
            except ValueError as exc:
                return RowError(line, unit.incident, str(exc), "bad value", n)
            if timezone is None:
                timezone = zone
            events.append(event)
        if timezone is None:
            return RowError(unit.line, unit.incident, "no row gives the incident's `timezone`", "missing value", n)
        incident = {"id": unit.incident, "timezone": timezone, "facts": facts, "events": events}
        return Record(unit.line, incident, groups, n, tuple(line for line, _ in unit.rows))

    def _event(self, cells: list[Any], facts: dict[str, Any], groups: dict[str, str]) -> tuple[dict[str, Any],
                                                                                               str | None]:
        """One row as an event (facts and groups are filled in as found); ValueError names the column."""
        etype = _text_cell(cells[self.index["type"]], "type")
        if not etype:
            raise ValueError("empty `type`")
        event: dict[str, Any] = {"type": etype}
        at = cells[self.index["at"]]
        if isinstance(at, datetime):
            if at.tzinfo is None or at.utcoffset() is None:
                raise ValueError("column `at`: the time has no time zone")
            event["at"] = at.isoformat()
        else:
            event["at"] = _text_cell(at, "at")
        zone = _text_cell(cells[self.index["timezone"]], "timezone") or None
        known = self.event_attrs.get(etype, {})
        for name, value in zip(self.columns, cells, strict=True):
            if name in REQUIRED_COLUMNS or value is None or value == "":
                continue
            if isinstance(value, BadCell):
                raise ValueError(f"column `{quoted(name)}`: {value.reason}")
            try:
                if name.startswith("group."):
                    text = _group_text(value)
                    if text is None:
                        raise ValueError(f"expected text, a number or true/false, found {_kind(value)}")
                    groups.setdefault(name[6:], text)
                elif name.startswith("fact."):
                    if name[5:] not in facts:
                        facts[name[5:]] = _convert(value, self.fact_types[name[5:]])
                else:
                    event[name] = _convert(value, known.get(name, self.any_attrs[name]))
            except ValueError as exc:
                raise ValueError(f"column `{quoted(name)}`: {exc}") from None
        return event, zone


def _kind(value: Any) -> str:
    """What a refused cell holds, in words (never its Python repr)."""
    if isinstance(value, str):
        return f"`{quoted(value)}`"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, float) and not math.isfinite(value):
        return f"`{value}` (not a number)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a structure (struct or map)"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, datetime | date):
        return "a date or time"
    return f"a value of type {type(value).__name__}"


def _text_cell(value: Any, name: str) -> str:
    """A required column's cell as text, exactly as written (an integer in decimal)."""
    if value is None:
        return ""
    if isinstance(value, BadCell):
        raise ValueError(f"column `{name}`: {value.reason}")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 200:
        return str(value)
    raise ValueError(f"column `{name}`: expected text, found {_kind(value)}")


def _convert(value: Any, vtype: ValueType) -> Any:
    """A cell as the vocabulary's type: booleans `true`/`false`, integers as digits, numbers; text as
    written. A cell of another kind (a structure, a list, NaN) is refused, never turned into text."""
    if vtype is ValueType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"{_kind(value)} is not a boolean (true or false)")
    if vtype is ValueType.INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value.strip())
        raise ValueError(f"{_kind(value)} is not an integer")
    if vtype is ValueType.NUMBER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value):
            return value
        if isinstance(value, str):
            text = value.strip()
            if _INTEGER.fullmatch(text):
                return int(text)
            if len(text) <= 100 and _DECIMAL.fullmatch(text) and math.isfinite(float(text)):
                return float(text)
        raise ValueError(f"{_kind(value)} is not a number")
    if vtype is ValueType.DATE and type(value) is date:
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 200:
        return str(value)
    raise ValueError(f"{_kind(value)} is not text")


Row = tuple[int, list[Any]]


def _frame(rows: Iterable[Row | RowError], id_column: int, apart: set[str]) -> Iterator[TableUnit | RowError]:
    """Group contiguous rows by incident id (ids compared exactly). The incidents in `apart` (found
    by `_apart`, before) have rows elsewhere too: each is refused whole at its first rows, and its
    later rows are errors. A row that could not be read is kept with its incident (which is then
    refused) when its id is known, else reported on its own."""
    finished: set[str] = set()
    current: TableUnit | None = None
    for item in rows:
        if isinstance(item, RowError):
            line, iid, problem = item.line, item.incident, item
        else:
            line, cells = item
            iid, problem = _row_id(cells, id_column), None
            if iid is None:
                yield RowError(line, None, _id_problem(cells, id_column), "missing value")
                continue
        if iid is None:
            yield item  # type: ignore[misc]  # a RowError whose incident is unknown
            continue
        if current is not None and iid == current.incident:
            _add(current, item, problem)
            continue
        if current is not None:
            finished.add(current.incident)
            yield current
            current = None
        if iid in finished:
            yield RowError(line, _safe_id(iid), f"rows of incident `{quoted(iid)}` are not contiguous (it appeared "
                           "earlier)", "rows not contiguous")
            continue
        current = TableUnit(line, iid, [])
        if iid in apart:  # refused whole, as an incident with a row that cannot be read; rows=0: not a row
            current.problems.append(RowError(line, _safe_id(iid), f"the rows of incident `{quoted(iid)}` are not "
                                             "together: more of them come later in the file (sort the export by "
                                             "`incident_id`, keeping each incident's rows in order)",
                                             "rows not contiguous", 0))
        _add(current, item, problem)
    if current is not None:
        yield current


def _row_ids(rows: Iterable[Row | RowError], id_column: int) -> Iterator[str | None]:
    """The incident of each row as `_frame` sees it (None: a row it reports on its own)."""
    for item in rows:
        yield item.incident if isinstance(item, RowError) else _row_id(item[1], id_column)


def _apart(ids: Iterable[str | None]) -> set[str]:
    """The incidents whose rows are not all together, from the incident of each row in file order."""
    seen: set[str] = set()
    apart: set[str] = set()
    current: str | None = None
    for iid in ids:
        if iid is None or iid == current:
            continue
        if iid in seen:
            apart.add(iid)
        else:
            seen.add(iid)
        current = iid
    return apart


class _Irregular(Exception):
    """A CSV file the quick scan does not read row for row as `Export._csv_rows` does."""


def _add(unit: TableUnit, item: Row | RowError, problem: RowError | None) -> None:
    if problem is not None:
        unit.problems.append(problem)
    else:
        assert not isinstance(item, RowError)
        unit.rows.append(item)


def _row_id(cells: list[Any], id_column: int) -> str | None:
    value = cells[id_column] if id_column < len(cells) else None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 200:
        return str(value)
    return None


def _id_problem(cells: list[Any], id_column: int) -> str:
    value = cells[id_column] if id_column < len(cells) else None
    if value is None or value == "":
        return "empty `incident_id`"
    return f"`incident_id` must be text, found {_kind(value)}"


# --- opening an export ------------------------------------------------------------------------------

class Export:
    """An opened export: frame it with `units()`, parse each unit with `parser`."""

    def __init__(self, path: Path, fmt: Format, vocabulary: Vocabulary) -> None:
        self.path = path
        self.format = fmt
        self.vocabulary = vocabulary
        self.position = 0  # bytes (JSONL, JSON, CSV) or rows (Parquet) consumed so far
        self.total = 0  # 0 when unknown (standard input)
        self.stdin = str(path) == STDIN
        self.parser: JsonParser | TableParser
        self._spool: BinaryIO | None = None  # standard input's CSV, copied so that it can be read twice
        self._empty = False  # a CSV file of no bytes at all: nothing to read, not an error
        if self.stdin:
            if fmt == "parquet":
                raise ExportError("Parquet cannot be read from standard input: give the file's path")
            if fmt == "csv":
                self._spool = _spooled_stdin()
                self.total = self._spool.tell()
        elif not path.exists():
            raise ExportError(f"cannot read `{quoted_path(path)}`: no such file")
        elif not path.is_file():
            raise ExportError(f"cannot read `{quoted_path(path)}`: not a regular file")
        else:
            self.total = self._size()
        if fmt in ("jsonl", "json"):
            self.parser = JsonParser()
        elif fmt == "csv":
            header = self._csv_header()
            self.parser = TableParser.for_columns(header, vocabulary, str(path))
        else:
            pq = _pyarrow_parquet()
            try:
                meta = pq.ParquetFile(str(path))
                self.total = int(meta.metadata.num_rows)
                names = list(meta.schema_arrow.names)
            except Exception as exc:
                raise ExportError(f"{quoted_path(path)}: not a readable Parquet file: "
                                  f"{quoted(str(exc), 200)}") from None
            self.parser = TableParser.for_columns(names, vocabulary, str(path))

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError as exc:
            raise ExportError(f"cannot read `{quoted_path(self.path)}`: {exc.strerror}") from None

    def _open(self) -> BinaryIO:
        if self._spool is not None:
            self._spool.seek(0)
            return _Unclosed(self._spool)  # type: ignore[return-value]  # read again by the next pass
        if self.stdin:
            return _Unclosed(sys.stdin.buffer)  # type: ignore[return-value]  # same interface; never closes stdin
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise ExportError(f"cannot read `{quoted_path(self.path)}`: {exc.strerror}") from None

    def _csv_header(self) -> list[str]:
        with self._open() as fh:
            raw = fh.readline(MAX_LINE_BYTES + 1)
        self.position += len(raw)
        if not raw:
            self._empty = True
            return list(REQUIRED_COLUMNS)
        try:
            text = decode_utf8(raw)
        except JsonError as exc:
            raise ExportError(f"{self.path}:1: the header is not UTF-8 (byte {exc.column})") from None
        try:
            header = next(csv.reader([text]), None)
        except csv.Error as exc:
            raise ExportError(f"{quoted_path(self.path)}:1: unreadable CSV header: {csv_problem(exc)}") from None
        if not header:
            raise ExportError(f"{self.path}: empty file (a CSV export starts with a header row)")
        return header

    def units(self) -> Iterator[Unit | RowError]:
        if self.format == "jsonl":
            return self._jsonl_units()
        if self.format == "json":
            return self._json_units()
        return self._table_units()

    def _table_units(self) -> Iterator[TableUnit | RowError]:
        assert isinstance(self.parser, TableParser)
        if self._empty:
            return
        id_column = self.parser.index["incident_id"]
        position = self.position
        if self.format == "csv":
            try:
                apart = _apart(self._quick_csv_ids(id_column))
            except _Irregular:
                apart = _apart(_row_ids(self._csv_rows(), id_column))
            rows = self._csv_rows()
        else:
            apart = _apart(_row_ids(self._parquet_rows(("incident_id",)), 0))
            rows = self._parquet_rows(self.parser.columns)
        self.position = position  # the first pass is not progress
        yield from _frame(rows, id_column, apart)

    def _quick_csv_ids(self, id_column: int) -> Iterator[str | None]:
        """The incident of each row as `_csv_rows` then `_row_ids` would give it, at a third of the cost
        (no line bookkeeping for messages); _Irregular when the file has a row that `_csv_rows` reads
        otherwise (an over-long line, a row the csv module refuses), which the exact pass then reads.
        Consumed at once by `_apart`: the csv module's cell limit is this scan's until it ends."""
        with self._open() as fh:
            fh.readline(MAX_LINE_BYTES + 1)  # the header, as `_csv_rows` skips it

            def lines() -> Iterator[str]:
                while raw := fh.readline(MAX_LINE_BYTES + 1):
                    if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                        raise _Irregular
                    yield raw.decode("utf-8", "surrogateescape")  # as `_csv_rows` keeps a line not UTF-8

            old = csv.field_size_limit(MAX_CELL_CHARS)
            try:
                for cells in csv.reader(lines()):
                    # `_row_id` of a row that is not `_blank`, in fewer steps: every cell here is text.
                    iid = cells[id_column] if id_column < len(cells) else ""
                    yield iid if iid and (iid.strip() or not _blank(cells)) else None
            except csv.Error:
                raise _Irregular from None
            finally:
                csv.field_size_limit(old)

    def _lines(self, fh: BinaryIO, first: int) -> Iterator[tuple[int, bytes | None]]:
        """(line number, bytes) of each line, split only at `\\n`; None for a line longer than
        MAX_LINE_BYTES, which is skipped without being held in memory."""
        n = first - 1
        while True:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            n += 1
            self.position += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while True:
                    rest = fh.readline(1 << 20)
                    self.position += len(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
                yield n, None
                continue
            yield n, raw

    def _jsonl_units(self) -> Iterator[JsonUnit | RowError]:
        with self._open() as fh:
            for n, raw in self._lines(fh, 1):
                if raw is None:
                    yield RowError(n, None, f"the line is longer than {MAX_LINE_BYTES // 2**20} MiB", "invalid JSON")
                    continue
                try:
                    text = decode_utf8(raw) if n == 1 else raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield RowError(n, None, f"not UTF-8 at byte {exc.start + 1} of the line ({exc.reason}): save "
                                   "the export as UTF-8", "invalid JSON", column=exc.start + 1)
                    continue
                except JsonError as exc:
                    yield RowError(n, None, exc.message, "invalid JSON", column=exc.column)
                    continue
                # The line without its end, so an error at the end of a cut-off line is on this line.
                text = text[:-1] if text.endswith("\n") else text
                text = text[:-1] if text.endswith("\r") else text
                if text.strip(" \t\r\n"):
                    yield JsonUnit(n, text)

    def _json_units(self) -> Iterator[JsonUnit | RowError]:
        with self._open() as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
        self.position += len(data)
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ExportError(f"{self.path}: a .json file is read whole and may hold at most "
                              f"{MAX_DOCUMENT_BYTES // 2**20} MiB: write larger exports as JSON Lines (.jsonl), "
                              "one incident per line")
        try:
            text = decode_utf8(data)
        except JsonError as exc:
            yield RowError(exc.line, None, exc.message, "invalid JSON", column=exc.column)
            return
        for part in split_document(text):
            if isinstance(part, JsonError):
                yield RowError(part.line, None, f"not valid JSON at column {part.column}: {part.message}",
                               "invalid JSON", column=part.column)
            else:
                yield JsonUnit(part[0], part[2], part[1])

    def _csv_rows(self) -> Iterator[Row | RowError]:
        id_column = self.parser.index["incident_id"] if isinstance(self.parser, TableParser) else 0
        with self._open() as fh:
            fh.readline(MAX_LINE_BYTES + 1)  # the header, read (and counted) by `_csv_header`
            bad: dict[int, RowError] = {}  # line -> why it cannot be read (not UTF-8, too long)
            pending: list[str] = []  # the lines of the row being read

            def lines() -> Iterator[str]:
                for n, raw in self._lines(fh, 2):
                    if raw is None:
                        bad[n] = RowError(n, None, f"the line is longer than {MAX_LINE_BYTES // 2**20} MiB",
                                          "bad value")
                        text = "\n"
                    else:
                        try:
                            text = raw.decode("utf-8")
                        except UnicodeDecodeError as exc:
                            bad[n] = RowError(n, None, f"not UTF-8 at byte {exc.start + 1} of the line "
                                              f"({exc.reason}): save the export as UTF-8", "not UTF-8",
                                              column=exc.start + 1)
                            # Kept as surrogates so the row's cells (and its incident) are still known.
                            text = raw.decode("utf-8", "surrogateescape")
                    pending.append(text)
                    yield text

            reader = csv.reader(lines())
            previous = 1  # the last line of the previous row (the header)
            while True:
                try:
                    cells = _next_row(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    start, previous = previous + 1, reader.line_num + 1
                    salvaged = _salvage(pending)
                    iid = _row_id(salvaged, id_column) if salvaged is not None else None
                    yield RowError(start, iid, csv_problem(exc), "unreadable CSV")
                    pending.clear()
                    for n in [n for n in bad if n < previous + 1]:
                        del bad[n]
                    continue
                start, previous = previous + 1, reader.line_num + 1  # +1: the header line read above
                pending.clear()
                problem = next((bad.pop(n) for n in range(start, previous + 1) if n in bad), None)
                blank = _blank(cells)
                if problem is not None:
                    for n in range(start, previous + 1):
                        bad.pop(n, None)
                    iid = None if blank else _row_id(cells, id_column)
                    yield RowError(problem.line, iid, problem.message, problem.reason, column=problem.column)
                elif not blank:
                    yield start, cells

    def _parquet_rows(self, names: tuple[str, ...]) -> Iterator[Row]:
        pq = _pyarrow_parquet()
        n = 0
        try:
            batches = pq.ParquetFile(str(self.path)).iter_batches(batch_size=8192, columns=list(names))
            for batch in batches:
                columns = [_column_values(batch.column(i)) for i in range(batch.num_columns)]
                for cells in zip(*columns, strict=True):
                    n += 1
                    self.position = n
                    yield n, list(cells)
        except Exception as exc:  # pyarrow raises many classes for a damaged file; all mean the same here
            raise ExportError(f"{self.path}: the Parquet file cannot be read past row {n}: "
                              f"{quoted(str(exc), 200)}") from None


class _Unclosed:
    """Standard input's binary stream, which a `with` block must not close."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readline(self, size: int = -1) -> bytes:
        return self._stream.readline(size)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def __enter__(self) -> _Unclosed:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _spooled_stdin() -> BinaryIO:
    """Standard input copied to a temporary file, which is unlinked at once (POSIX): nothing is left
    behind, whatever stops the run."""
    try:
        spool = tempfile.TemporaryFile()  # noqa: SIM115  # open for the export's life, read once per pass
        shutil.copyfileobj(sys.stdin.buffer, spool)
    except OSError as exc:
        raise ExportError(f"cannot copy standard input to a temporary file (a CSV export is read twice): "
                          f"{exc.strerror}; give the file's path") from None
    return spool


def _blank(cells: list[str]) -> bool:
    """A CSV row with no text in any cell, which is skipped (a spreadsheet's empty line)."""
    return not cells or not any(isinstance(c, str) and c.strip() for c in cells)


def _next_row(reader: Any) -> list[str]:
    """The next CSV row, read with this module's cell limit whatever the process-wide one is."""
    old = csv.field_size_limit(MAX_CELL_CHARS)
    try:
        row: list[str] = next(reader)
        return row
    finally:
        csv.field_size_limit(old)


def _salvage(lines: list[str]) -> list[str] | None:
    """The cells of a row the reader refused, read again without the cell limit, only to learn its
    incident; None if it cannot be read at all."""
    old = csv.field_size_limit(_CSV_PARSE_LIMIT)
    try:
        return next(csv.reader(lines), None)
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(old)


def _column_values(column: Any) -> list[Any]:
    """A Parquet column's values; a value Python cannot hold (a timestamp past year 9999 or before
    year 1) becomes a BadCell for its row alone."""
    try:
        values: list[Any] = column.to_pylist()
        return values
    except (OverflowError, ValueError):
        pass
    out: list[Any] = []
    for i in range(len(column)):
        try:
            out.append(column[i].as_py())
        except (OverflowError, ValueError):
            out.append(BadCell("the value is outside the calendar this engine counts in (years 1 to 9999)"))
    return out


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError("reading Parquet needs pyarrow, which is not installed (pip install pyarrow), "
                          "or export as JSON Lines or CSV") from None
    return pq


def open_export(path: Path | str, vocabulary: Vocabulary, fmt: str | None = None) -> Export:
    """Open an export (format from `fmt`, else from the extension; `-` is standard input, JSON Lines
    unless `fmt` says otherwise); raises ExportError if it cannot be read at all, or if `path` is not
    text or an os.PathLike, or `fmt` neither text nor None."""
    return _opened(path, vocabulary, fmt, "open_export: path")


def read_export(source: Path | str, vocabulary: Vocabulary, fmt: str | None = None) -> Iterator[Record | RowError]:
    """Stream the incidents of an export, in input order, as Records or RowErrors.

    Raises ExportError (at once) only when the source cannot be read at all (also when `source` is not
    text or an os.PathLike, or `fmt` neither text nor None)."""
    export = _opened(source, vocabulary, fmt, "read_export: source")
    return _read(export)


def _opened(source: object, vocabulary: Vocabulary, fmt: object, argument: str) -> Export:
    """The one way in, for both: the arguments' types checked once, at open (never per line); a value
    of another type is an ExportError naming `argument` (or `fmt`), not an error from pathlib."""
    try:
        named = source if isinstance(source, str) else os.fspath(source) if isinstance(source, os.PathLike) else None
    except Exception:  # a PathLike whose __fspath__ fails: it names no file either
        named = None
    if not isinstance(named, str):
        raise ExportError(f"{argument} is the export's path, as text or an os.PathLike, not a value of type "
                          f"{type(source).__name__}")
    if fmt is not None and not isinstance(fmt, str):
        raise ExportError(f"{argument.partition(':')[0]}: fmt is an export format (jsonl, json, csv or parquet) "
                          f"or None, not a value of type {type(fmt).__name__}")
    if not isinstance(vocabulary, Vocabulary):
        raise ExportError(f"{argument.partition(':')[0]}: vocabulary is the Vocabulary incidents are read against "
                          f"(library.vocabulary(ref)), not a value of type {type(vocabulary).__name__}")
    return Export(Path(named), detect_format(named, fmt), vocabulary)


def _read(export: Export) -> Iterator[Record | RowError]:
    for unit in export.units():
        yield unit if isinstance(unit, RowError) else parse_unit(export.parser, unit)


def parse_unit(parser: JsonParser | TableParser, unit: Unit) -> Record | RowError:
    """One unit as a Record, or a RowError: whatever goes wrong while decoding or converting it,
    of any exception class, stays with this unit."""
    try:
        if isinstance(parser, JsonParser):
            assert isinstance(unit, JsonUnit)
            return parser.parse(unit)
        assert isinstance(unit, TableUnit)
        return parser.parse(unit)
    except Exception as exc:  # one record must never stop the others: report it with its line
        iid = _safe_id(unit.incident) if isinstance(unit, TableUnit) else None
        reason = "invalid JSON" if isinstance(unit, JsonUnit) else "bad value"
        return RowError(unit.line, iid, f"cannot be read ({type(exc).__name__}: {quoted(str(exc), 120)})", reason)


__all__ = ["FORMATS", "MAX_CELL_CHARS", "MAX_DOCUMENT_BYTES", "MAX_LINE_BYTES", "STDIN", "BadCell", "Export",
           "ExportError", "Format", "JsonParser", "JsonUnit", "Record", "RowError", "TableParser", "TableUnit", "Unit",
           "csv_problem", "detect_format", "open_export", "parse_unit", "read_export"]
