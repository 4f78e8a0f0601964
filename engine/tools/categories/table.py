"""Reading a department's configured category table: CSV or JSON, each row a category of the evidence
system with its duration (or indefinite: until manually deleted) and the ruleset categories it covers.

Columns (CSV header names, or JSON keys of each row object):

- `name`: the system's category name (any text; only shown).
- `duration`: how long the system keeps a video of this category: an ISO 8601 duration (`P90D`, `P1Y`,
  `P1Y6M`), `N business days`, words (`90 days`, `2 years`, `1 year, 180 days`) or a whole number of
  days (`365`); empty when `indefinite` is true.
- `indefinite`: `true` when the system keeps the video until someone deletes it (`false`, `yes`, `no`,
  `1`, `0` and an empty cell are read too; empty is false).
- `covers`: the ruleset categories the row is meant to cover (the `category` ids of `bwc categories
  export`), separated by `;` (a JSON list of strings in JSON); may be empty for a category of the
  department's own.
- `counts_from` (optional): what the system counts the duration from; empty or `recording` for the
  recording (or upload) date, as evidence systems do.

Any other column is ignored, so an exported table (which adds columns explaining each category) is a
table this reader accepts. A cell that starts with `'` has it dropped: the export writes one before a
cell a spreadsheet would read as a formula. A row that cannot be read is reported with its row and
column and left out; the other rows are still read.
"""

from __future__ import annotations

import csv
import io
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.io.jsondoc import JsonError, decode_json
from engine.tools.categories.model import RECORDING, Severity
from policy.duration import MAX_YEARS, Duration, DurationTooLong
from policy.values import quoted, quoted_path

COLUMNS = ("name", "duration", "indefinite", "covers", "counts_from")
REQUIRED = ("name", "duration", "indefinite", "covers")
MAX_TABLE_BYTES = 8 * 1024 * 1024  # a category table has tens of rows; a file this large is not one
MAX_ROWS = 10_000
MAX_CELL_CHARS = 10_000
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
_WORD_UNITS = {"year": "years", "month": "months", "week": "weeks", "day": "days"}
_WORD_PART = re.compile(r"(\d+)\s*(years?|months?|weeks?|days?)", re.ASCII)
_WORD_JOINERS = re.compile(r"^[\s,]*(?:and)?[\s,]*$", re.ASCII)
_RECORDING_WORDS = {"", RECORDING, "recorded", "recording date", "upload", "uploaded", "upload date", "incident"}


class TableError(Exception):
    """The table cannot be used at all (missing, not UTF-8, not CSV or JSON, no usable header): one line."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where in the table: a row (the spreadsheet's row number, the header being row 1; in JSON the
    element's position counting from 1) and a column, or neither for the table as a whole."""

    row: int | None = None
    column: str | None = None
    letter: str | None = None  # the spreadsheet column letter, for CSV
    json: bool = False

    def __str__(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" (categories[{self.row - 1}])" if self.json else ""))
        if self.column is not None:
            parts.append(f"column `{self.column}`" + (f" ({self.letter})" if self.letter else ""))
        return ", ".join(parts) or "the table"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the table: where, how bad, which ruleset category it concerns, and why."""

    place: Place
    severity: Severity
    message: str
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """One category of the department's table, read."""

    number: int
    name: str
    duration: Duration | None
    indefinite: bool
    covers: tuple[str, ...]
    counts_from: str  # RECORDING, or what the row says it counts from (lower-case, single spaces)
    places: dict[str, Place]

    def at(self, column: str) -> Place:
        return self.places.get(column) or Place(self.number, column)


def parse_duration(text: str) -> Duration:
    """A row's duration: ISO 8601, `N business days`, words (`1 year, 180 days`) or a number of days.
    Raises ValueError with a plain message."""
    text = text.strip()
    if not text:
        raise ValueError("no duration")
    if text.isascii() and text.isdigit():  # a day count
        if len(text.lstrip("0")) > 7:  # more than 9,999,999 days, whatever the digits (and no int() of them)
            raise ValueError(_too_long(text))
        text = f"P{int(text)}D"
    try:
        return Duration.parse(text)
    except DurationTooLong:
        raise ValueError(_too_long(text)) from None
    except ValueError:
        pass
    lowered = text.lower()
    parts: dict[str, int] = {}
    last = 0
    for m in _WORD_PART.finditer(lowered):
        unit = _WORD_UNITS[m[2].rstrip("s")]
        if not _WORD_JOINERS.match(lowered[last:m.start()]) or unit in parts:
            break
        if len(m[1].lstrip("0")) > 7:  # ten million days or more, in any unit
            raise ValueError(_too_long(text))
        parts[unit] = int(m[1])
        last = m.end()
    else:
        if parts and not lowered[last:].strip():
            iso = "P" + "".join(f"{parts[u]}{u[0].upper()}" for u in ("years", "months", "weeks", "days") if u in parts)
            try:
                return Duration.parse(iso)
            except DurationTooLong:
                raise ValueError(_too_long(text)) from None
    raise ValueError(f"`{quoted(text)}` is not a duration: write P90D, P1Y, `90 days`, `2 years` or a number of days")


def _too_long(text: str) -> str:
    return f"`{quoted(text)}` is longer than {MAX_YEARS:,} years"


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"`{quoted(str(value))}` is not true or false")


def _counts_from(value: Any) -> str:
    if value is None:
        return RECORDING
    if not isinstance(value, str):
        raise ValueError("counts_from is text: `recording` or an event type")
    text = " ".join(value.replace("`", "").split()).lower()
    return RECORDING if text in _RECORDING_WORDS else text


def _covers(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split(";")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise ValueError("covers is a list of category ids (text separated by `;`)")
    return tuple(i.strip() for i in items if i.strip())


def _uncell(text: str) -> str:
    """A CSV cell as the export meant it: one leading `'` (put before would-be formulas) dropped."""
    return text[1:] if text.startswith("'") else text


def _letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = string.ascii_uppercase[rest] + out
    return out


def _row(number: int, cells: dict[str, Any], places: dict[str, Place]) -> Row | list[Problem]:
    problems: list[Problem] = []

    def bad(column: str, message: str) -> None:
        problems.append(Problem(places.get(column) or Place(number, column), Severity.ERROR, message))

    for column, value in cells.items():
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            bad(column, f"the cell holds {len(value):,} characters; at most {MAX_CELL_CHARS:,}")
    if problems:
        return problems
    name = cells.get("name")
    if not isinstance(name, str):
        bad("name", "name is text")
    indefinite = False
    try:
        indefinite = _flag(cells.get("indefinite"))
    except ValueError as exc:
        bad("indefinite", str(exc))
    raw = cells.get("duration")
    duration: Duration | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if raw is not None and not isinstance(raw, str):
        bad("duration", "duration is text such as P90D or `2 years`, or a number of days")
    elif raw is not None and raw.strip():
        try:
            duration = parse_duration(raw)
        except ValueError as exc:
            bad("duration", str(exc))
        else:
            if indefinite:
                bad("duration", "the row is both indefinite and a duration: leave the duration empty for a category "
                    "kept until manually deleted, or set indefinite to false")
    elif not indefinite:
        bad("duration", "no duration: give one, or set indefinite to true (kept until manually deleted)")
    covers: tuple[str, ...] = ()
    try:
        covers = _covers(cells.get("covers"))
    except ValueError as exc:
        bad("covers", str(exc))
    counts_from = RECORDING
    try:
        counts_from = _counts_from(cells.get("counts_from"))
    except ValueError as exc:
        bad("counts_from", str(exc))
    if problems:
        return problems
    assert isinstance(name, str)
    return Row(number, name, duration, indefinite, covers, counts_from, places)


@dataclass(frozen=True, slots=True)
class ReadTable:
    rows: tuple[Row, ...]
    problems: tuple[Problem, ...]


def read_table(path: Path) -> ReadTable:
    """Every row of a table file that can be read, and a problem for each that cannot. `.json` files are
    JSON; anything else is CSV. Raises TableError when the file cannot be used at all."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_TABLE_BYTES + 1)
    except OSError as exc:
        raise TableError(f"cannot read {quoted_path(path)}: {exc.strerror or exc}") from None
    if len(data) > MAX_TABLE_BYTES:
        raise TableError(f"{quoted_path(path)} is larger than {MAX_TABLE_BYTES // (1024 * 1024)} MiB: "
                         "not a category table")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise TableError(f"{quoted_path(path)}: line {line} is not UTF-8 text") from None
    text = text.removeprefix("\ufeff")
    if path.suffix.lower() == ".json":
        return _read_json(path, text)
    return _read_csv(path, text)


def _read_csv(path: Path, text: str) -> ReadTable:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    old = csv.field_size_limit(MAX_CELL_CHARS + 1)
    rows: list[Row] = []
    problems: list[Problem] = []
    try:
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise TableError(f"{quoted_path(path)}: the header cannot be read as CSV ({exc})") from None
        if not header or not any(h.strip() for h in header):
            raise TableError(f"{quoted_path(path)} has no header row: the first row names the columns "
                             f"({', '.join(REQUIRED)}, and optionally counts_from)")
        names = [_uncell(h).strip().lower() for h in header]
        for i, n in enumerate(names):
            if n in COLUMNS and names.index(n) != i:
                raise TableError(f"{quoted_path(path)}: the column `{n}` appears twice in the header "
                                 f"(columns {_letter(names.index(n))} and {_letter(i)})")
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise TableError(f"{quoted_path(path)}: the header has no column {', '.join(f'`{m}`' for m in missing)} "
                             f"(it needs {', '.join(REQUIRED)}; found {quoted(', '.join(header), 200)})")
        index = {n: i for i, n in enumerate(names) if n in COLUMNS}
        number = 1
        while True:
            number += 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.append(Problem(Place(number), Severity.ERROR, f"this row cannot be read as CSV ({exc})"))
                break  # the reader cannot find the next row after a broken one
            if not any(cell.strip() for cell in record):
                continue  # a blank line between rows
            if len(rows) >= MAX_ROWS:
                problems.append(Problem(Place(number), Severity.ERROR,
                                        f"more than {MAX_ROWS:,} rows: the rest of the table is not read"))
                break
            # a spreadsheet may leave out the empty cells at the end of a row: they are empty
            cells = {c: _uncell(record[i]) if i < len(record) else "" for c, i in index.items()}
            places = {c: Place(number, c, _letter(i)) for c, i in index.items()}
            read = _row(number, cells, places)
            if isinstance(read, Row):
                rows.append(read)
            else:
                problems.extend(read)
    finally:
        csv.field_size_limit(old)
    return ReadTable(tuple(rows), tuple(problems))


def _read_json(path: Path, text: str) -> ReadTable:
    try:
        doc = decode_json(text)
    except JsonError as exc:
        raise TableError(f"{quoted_path(path)}: {exc}") from None
    items = doc.get("categories") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise TableError(f"{quoted_path(path)}: a JSON table is a list of rows, or an object whose `categories` "
                         "is that list")
    rows: list[Row] = []
    problems: list[Problem] = []
    for k, item in enumerate(items[:MAX_ROWS]):
        number = k + 1
        if not isinstance(item, dict):
            problems.append(Problem(Place(number, json=True), Severity.ERROR,
                                    f"a row is an object with {', '.join(REQUIRED)}"))
            continue
        places = {c: Place(number, c, json=True) for c in COLUMNS}
        absent = [c for c in REQUIRED if c not in item and c != "duration"]  # no duration: as an empty one
        if absent:
            problems.extend(Problem(places[c], Severity.ERROR, f"the row has no `{c}`") for c in absent)
            continue
        read = _row(number, {c: item.get(c) for c in COLUMNS}, places)
        if isinstance(read, Row):
            rows.append(read)
        else:
            problems.extend(read)
    if len(items) > MAX_ROWS:
        problems.append(Problem(Place(MAX_ROWS + 1, json=True), Severity.ERROR,
                                f"more than {MAX_ROWS:,} rows: the rest of the table is not read"))
    return ReadTable(tuple(rows), tuple(problems))


__all__ = ["COLUMNS", "REQUIRED", "Place", "Problem", "ReadTable", "Row", "TableError", "parse_duration",
           "read_table"]
