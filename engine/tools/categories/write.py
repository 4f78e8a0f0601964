"""The category table as a department configures from it: CSV (one row per category, spreadsheet-safe)
or JSON, each row already in the form `bwc categories check` reads back.

A row's `duration`, `indefinite` and `counts_from` are what the evidence system should hold for a video
given only that category: the rule's own duration, raised to any blanket minimum the row must also
respect (every recording falls under those). `rule_duration` is the rule's own duration as the ruleset
writes it, `days` the day count where it is the same from every start day, and `notes` says what a
records manager must know (calendar-aware durations, counting from a later event, exceptions).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from engine.tools.categories.check import Derivation
from engine.tools.categories.compile import INDEFINITELY, LEGAL_HOLD
from engine.tools.categories.model import Category, CategoryTable
from engine.tools.categories.spans import day_range

Format = Literal["csv", "json"]
FORMATS: tuple[Format, ...] = ("csv", "json")
TABLE_FORMAT = "bwc-category-table"
TABLE_VERSION = 1

CSV_COLUMNS = ("name", "covers", "duration", "indefinite", "counts_from", "limit", "days", "duration_words",
               "rule_duration", "applies_when", "conditions", "rule", "cite", "ruleset", "confidence", "overrides",
               "exempt_from", "notes", "rule_notes")

# A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or one of those after a tab or a
# carriage return) gets a single quote in front, as the audit report's CSV does (docs/audit.md); a cell
# that already starts with a quote gets one more, so a reader recovers every value by dropping one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def _keeps_until_words(c: Category) -> str:
    return {INDEFINITELY: "indefinitely", LEGAL_HOLD: "while a legal hold is in place"}.get(
        c.keeps_until or "", f"until {c.keeps_until}")


def row_of(table: CategoryTable, c: Category, derivation: Derivation | None = None) -> dict[str, Any]:
    """The exported row of one category (JSON types: lists, booleans, numbers, None). For every row of a
    table, pass one Derivation of it: the rows share its work."""
    duration, counts_from = (derivation or Derivation(table)).of(c)
    notes = list(c.notes)
    if duration is not None and c.duration is not None and duration != c.duration:
        notes.insert(0, f"Raised from the rule's {c.duration} to {duration}: a video given only this category still "
                     "falls under the blanket minimum(s) every recording keeps.")
    elif duration is None and c.duration is not None:
        notes.insert(0, "Kept until manually deleted: a blanket minimum with no fixed duration (or counted from "
                     "another event) governs every recording.")
    span = day_range(duration, c.holidays) if duration is not None else None
    exempt = table.exemptions.get(c.id, ())
    return {
        "name": c.id,
        "covers": [c.id],
        "duration": str(duration) if duration is not None else None,
        "indefinite": duration is None,
        "counts_from": counts_from,
        "limit": c.limit.value,
        "days": span.exact if span is not None else None,
        "duration_words": duration.describe() if duration is not None else "until manually deleted",
        "rule_duration": str(c.duration) if c.duration is not None else _keeps_until_words(c),
        "applies_when": c.summary,
        "conditions": c.conditions or "every recording",
        "rule": c.rule,
        "cite": c.cite,
        "ruleset": c.ruleset,
        "confidence": c.confidence,
        "overrides": list(c.overrides),
        "exempt_from": [f"{e.blanket}: {e.reason}" for e in exempt],
        "notes": notes,
        "rule_notes": c.rule_notes,
    }


def rows(table: CategoryTable) -> list[dict[str, Any]]:
    derivation = Derivation(table)
    return [row_of(table, c, derivation) for c in table.categories]


# List cells: ids joined with `;` (what the table reader splits `covers` on); sentences one to a line.
_LINES = ("notes", "exempt_from")


def _cell(v: Any, column: str = "") -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    joiner = "\n" if column in _LINES else "; "
    text = "" if v is None else joiner.join(v) if isinstance(v, list) else str(v)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(cells: Iterable[Any], columns: Iterable[str]) -> str:
    return ",".join(_cell(c, k) for c, k in zip(cells, columns, strict=True)) + "\n"


def render_csv(table: CategoryTable) -> str:
    """The table as CSV: a header, then one row per category (RFC 4180 quoting, `\\n` line ends)."""
    out = [_csv_line(CSV_COLUMNS, CSV_COLUMNS)]
    for row in rows(table):
        out.append(_csv_line([row[c] for c in CSV_COLUMNS], CSV_COLUMNS))
    return "".join(out)


def render_json(table: CategoryTable) -> str:
    """The table as one JSON document: the ruleset, its layers, the categories, and those set aside."""
    doc = {
        "format": TABLE_FORMAT,
        "format_version": TABLE_VERSION,
        "ruleset": table.ruleset,
        "title": table.title,
        "layers": list(table.layers),
        "as_of": table.as_of,
        "notes": list(table.notes),
        "categories": rows(table),
        "set_aside": [{"category": s.category.id, "limit": s.category.limit.value, "rule": s.category.rule,
                       "ruleset": s.category.ruleset, "by": s.by, "reason": s.reason} for s in table.set_aside],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def render(table: CategoryTable, fmt: Format) -> str:
    return render_csv(table) if fmt == "csv" else render_json(table)


__all__ = ["CSV_COLUMNS", "FORMATS", "TABLE_FORMAT", "Format", "render", "render_csv", "render_json", "row_of", "rows"]
