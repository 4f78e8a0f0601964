"""Readers for incident exports: JSON Lines, CSV and (when pyarrow is importable) Parquet.

Every reader streams: it never holds more than one incident's rows in memory. It yields, in input
order, either a `Record` (an incident dict ready for the engine, its grouping columns, and the line
or row number where it starts) or a `RowError` (a malformed line or row, with its number, the
incident id when known, and a message); a bad line never stops the rest of the export.

Reading happens in two steps so an audit can spread the work over processes: `Export.units()`
frames the input into raw units (a JSON line; the contiguous rows of one CSV or Parquet incident),
which is cheap, and `Export.parser.parse(unit)` turns one unit into a Record or RowError (JSON
decoding, typed conversion), which a worker process can do. `read_export` does both in one go.

Formats (docs/audit.md):

- JSON Lines: one incident per line, in the engine's incident format, plus an optional
  `"groups": {"district": "..."}` object of grouping columns, which the reader strips.
- CSV: one row per event; the rows of one incident are contiguous. Columns `incident_id`,
  `timezone`, `type`, `at` (required); any attribute of the vocabulary (empty cell = absent;
  booleans `true`/`false`; integers as digits); `fact.<name>` (repeated on every row, the first
  non-empty wins); `group.<name>` (grouping). Any other column makes the file unusable.
- Parquet: the same columns as CSV; typed columns (booleans, integers, timestamps with a time zone)
  are taken as they are.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from policy.vocabulary import ValueType, Vocabulary

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "parquet")
REQUIRED_COLUMNS = ("incident_id", "timezone", "type", "at")
_INTEGER = re.compile(r"[+-]?\d+")


class ExportError(Exception):
    """The export cannot be read at all (missing file, unknown format, bad header, no pyarrow)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One incident read from an export."""

    line: int  # the line (JSONL, CSV) or row (Parquet, 1-based) where the incident starts
    incident: dict[str, Any]
    groups: dict[str, str]
    rows: int = 1  # how many lines or rows it was read from
    event_lines: tuple[int, ...] = ()  # CSV and Parquet: the line or row of each event


@dataclass(frozen=True, slots=True)
class RowError:
    """A line or row that could not be read; the incident it belongs to is skipped."""

    line: int
    incident: str | None
    message: str
    reason: str  # a short category, for counts: "invalid JSON", "bad value", ...
    rows: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "incident": self.incident, "message": self.message}


@dataclass(frozen=True, slots=True)
class JsonUnit:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class TableUnit:
    """The contiguous rows of one incident: (line or row number, cells) each."""

    line: int
    incident: str
    rows: list[tuple[int, list[Any]]]


Unit = JsonUnit | TableUnit


def detect_format(path: Path | str, fmt: str | None = None) -> Format:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ExportError(f"unknown export format `{fmt}`: use jsonl, csv or parquet")
        return fmt
    suffix = Path(path).suffix.lower()
    by_suffix: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
                                    ".parquet": "parquet", ".pq": "parquet"}
    if suffix not in by_suffix:
        raise ExportError(f"cannot tell the format of `{path}` from its extension: give --format jsonl, csv "
                          "or parquet")
    return by_suffix[suffix]


# --- JSON Lines ------------------------------------------------------------------------------------

class JsonParser:
    def parse(self, unit: JsonUnit) -> Record | RowError:
        try:
            data = json.loads(unit.text)
        except json.JSONDecodeError as exc:
            return RowError(unit.line, None, f"not valid JSON: {exc.msg} at column {exc.colno}", "invalid JSON")
        if not isinstance(data, dict):
            return RowError(unit.line, None, "a line must hold one incident (a JSON object)", "invalid JSON")
        raw_id = data.get("id")
        iid = raw_id if isinstance(raw_id, str) else None
        groups = data.pop("groups", None)
        if groups is None:
            groups = {}
        if not isinstance(groups, dict) or not all(isinstance(v, str | int | float | bool) or v is None
                                                   for v in groups.values()):
            return RowError(unit.line, iid, "`groups` must be an object of column names and plain values",
                            "bad groups")
        return Record(unit.line, data, {str(k): _group_text(v) for k, v in groups.items() if v is not None})


def _group_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
                raise ExportError(f"{where}: column `{name}` appears twice")
            seen.add(name)
            if name in REQUIRED_COLUMNS or name in any_attrs:
                continue
            if name.startswith("group.") and len(name) > 6:
                continue
            if name.startswith("fact."):
                if name[5:] not in vocabulary.facts:
                    raise ExportError(f"{where}: column `{name}`: `{name[5:]}` is not a fact of the vocabulary")
                continue
            raise ExportError(f"{where}: unknown column `{name}` (not an event attribute of the vocabulary, "
                              "nor `fact.<name>` or `group.<name>`)")
        return cls(tuple(names), event_attrs, any_attrs, {n: s.type for n, s in vocabulary.facts.items()},
                   {n: i for i, n in enumerate(names)})

    def parse(self, unit: TableUnit) -> Record | RowError:
        facts: dict[str, Any] = {}
        groups: dict[str, str] = {}
        events: list[dict[str, Any]] = []
        timezone: str | None = None
        width = len(self.columns)
        n = len(unit.rows)
        for line, cells in unit.rows:
            if len(cells) != width:
                return RowError(line, unit.incident, f"{len(cells)} fields where the header has {width}",
                                "wrong number of fields", n)
            etype = _cell(cells[self.index["type"]])
            at = cells[self.index["at"]]
            if not etype:
                return RowError(line, unit.incident, "empty `type`", "missing value", n)
            event: dict[str, Any] = {"type": etype}
            if isinstance(at, datetime):
                if at.tzinfo is None:
                    return RowError(line, unit.incident, "`at` has no time zone", "bad value", n)
                event["at"] = at.isoformat()
            else:
                event["at"] = _cell(at)
            known = self.event_attrs.get(etype, {})
            for name, value in zip(self.columns, cells, strict=True):
                if name in REQUIRED_COLUMNS:
                    if name == "timezone" and timezone is None and _cell(value):
                        timezone = _cell(value)
                    continue
                if value is None or value == "":
                    continue
                try:
                    if name.startswith("group."):
                        groups.setdefault(name[6:], _group_text(value))
                    elif name.startswith("fact."):
                        if name[5:] not in facts:
                            facts[name[5:]] = _convert(value, self.fact_types[name[5:]])
                    else:
                        event[name] = _convert(value, known.get(name, self.any_attrs[name]))
                except ValueError as exc:
                    return RowError(line, unit.incident, f"column `{name}`: {exc}", "bad value", n)
            events.append(event)
        incident = {"id": unit.incident, "timezone": timezone or "", "facts": facts, "events": events}
        if timezone is None:
            return RowError(unit.line, unit.incident, "no row gives the incident's `timezone`", "missing value", n)
        return Record(unit.line, incident, groups, n, tuple(line for line, _ in unit.rows))


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _convert(value: Any, vtype: ValueType) -> Any:
    """A cell as the vocabulary's type: booleans `true`/`false`, integers as digits, numbers."""
    if vtype is ValueType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        raise ValueError(f"`{value}` is not a boolean (true or false)")
    if vtype is ValueType.INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        raise ValueError(f"`{value}` is not an integer")
    if vtype is ValueType.NUMBER:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"`{value}` is not a number") from None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).strip()


def _frame(rows: Iterable[tuple[int, list[Any]]], id_column: int) -> Iterator[TableUnit | RowError]:
    """Group contiguous rows by incident id; rows of an incident seen earlier are an error."""
    finished: set[str] = set()
    current: TableUnit | None = None
    for line, cells in rows:
        iid = _cell(cells[id_column]) if id_column < len(cells) else ""
        if not iid:
            yield RowError(line, None, "empty `incident_id`", "missing value")
            continue
        if current is not None and iid == current.incident:
            current.rows.append((line, cells))
            continue
        if current is not None:
            finished.add(current.incident)
            yield current
            current = None
        if iid in finished:
            yield RowError(line, iid, f"rows of incident `{iid}` are not contiguous (it appeared earlier)",
                           "rows not contiguous")
            continue
        current = TableUnit(line, iid, [(line, cells)])
    if current is not None:
        yield current


# --- opening an export ------------------------------------------------------------------------------

class Export:
    """An opened export: frame it with `units()`, parse each unit with `parser`."""

    def __init__(self, path: Path, fmt: Format, vocabulary: Vocabulary) -> None:
        self.path = path
        self.format = fmt
        self.vocabulary = vocabulary
        self.position = 0  # bytes (JSONL, CSV) or rows (Parquet) consumed so far
        self.total = 0
        self.parser: JsonParser | TableParser
        if not path.is_file():
            raise ExportError(f"cannot read `{path}`: no such file")
        if fmt == "jsonl":
            self.total = path.stat().st_size
            self.parser = JsonParser()
        elif fmt == "csv":
            self.total = path.stat().st_size
            with path.open("rb") as fh:
                header = next(csv.reader([_decode(fh.readline(), 1, path)]), None)
            if not header:
                raise ExportError(f"{path}: empty file (a CSV export starts with a header row)")
            if header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            self.parser = TableParser.for_columns(header, vocabulary, str(path))
        else:
            pq = _pyarrow_parquet()
            try:
                meta = pq.ParquetFile(str(path))
            except Exception as exc:
                raise ExportError(f"{path}: not a readable Parquet file: {exc}") from None
            self.total = int(meta.metadata.num_rows)
            self.parser = TableParser.for_columns(list(meta.schema_arrow.names), vocabulary, str(path))

    def units(self) -> Iterator[Unit | RowError]:
        if self.format == "jsonl":
            return self._json_units()
        assert isinstance(self.parser, TableParser)
        rows = self._csv_rows() if self.format == "csv" else self._parquet_rows(self.parser.columns)
        return _frame(rows, self.parser.index["incident_id"])

    def _json_units(self) -> Iterator[JsonUnit | RowError]:
        with self.path.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                self.position += len(raw)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield RowError(n, None, f"not UTF-8: {exc.reason} at byte {exc.start}", "invalid JSON")
                    continue
                if text.strip():
                    yield JsonUnit(n, text)

    def _csv_rows(self) -> Iterator[tuple[int, list[Any]]]:
        fh: BinaryIO
        with self.path.open("rb") as fh:
            self.position += len(fh.readline())
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

            def lines() -> Iterator[str]:
                for raw in fh:
                    self.position += len(raw)
                    yield decoder.decode(raw)

            reader = csv.reader(lines())
            previous = 1
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise ExportError(f"{self.path}:{reader.line_num}: unreadable CSV: {exc}") from None
                start, previous = previous + 1, reader.line_num + 1  # +1: the header line read above
                if cells and any(c.strip() for c in cells):
                    yield start, cells

    def _parquet_rows(self, names: tuple[str, ...]) -> Iterator[tuple[int, list[Any]]]:
        pq = _pyarrow_parquet()
        n = 0
        for batch in pq.ParquetFile(str(self.path)).iter_batches(batch_size=8192, columns=list(names)):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for cells in zip(*columns, strict=True):
                n += 1
                self.position = n
                yield n, list(cells)


def _decode(raw: bytes, line: int, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExportError(f"{path}:{line}: the header is not UTF-8") from None


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError("reading Parquet needs pyarrow, which is not installed (pip install pyarrow), "
                          "or export as JSON Lines or CSV") from None
    return pq


def open_export(path: Path | str, vocabulary: Vocabulary, fmt: str | None = None) -> Export:
    """Open an export (format from `fmt`, else from the extension); raises ExportError if unusable."""
    p = Path(path)
    return Export(p, detect_format(p, fmt), vocabulary)


def read_export(path: Path | str, vocabulary: Vocabulary, fmt: str | None = None) -> Iterator[Record | RowError]:
    """Stream the incidents of an export, in input order, as Records or RowErrors."""
    export = open_export(path, vocabulary, fmt)
    for unit in export.units():
        yield unit if isinstance(unit, RowError) else parse_unit(export.parser, unit)


def parse_unit(parser: JsonParser | TableParser, unit: Unit) -> Record | RowError:
    if isinstance(parser, JsonParser):
        assert isinstance(unit, JsonUnit)
        return parser.parse(unit)
    assert isinstance(unit, TableUnit)
    return parser.parse(unit)


__all__ = ["FORMATS", "Export", "ExportError", "Format", "JsonParser", "Record", "RowError", "TableParser",
           "detect_format", "open_export", "parse_unit", "read_export"]
