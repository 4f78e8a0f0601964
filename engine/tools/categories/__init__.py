"""Retention categories (`bwc categories`): a ruleset's retention and deletion rules, with the layers it
extends, compiled into the category table evidence systems are configured with (a category name, a
duration or "until manually deleted", the rules behind it; a video keeps the longest of its
categories), and a department's configured table checked against it.

    from engine.tools.categories import compile_table, render, read_table, check_table
    table = compile_table(library, "minnesota-13-825", as_of)   # as_of: a datetime, or None for the newest
    text = render(table, "csv")                                  # or "json"
    report = check_table(table, read_table(Path("configured.csv")))

The table model is `model`; compiling it from the rules and the engine's precedence, `compile`; how long
a calendar-aware duration lasts and whether one always outlasts another, `spans`; reading a
department's table, `table`; the check, `check`; the export, `write`. docs/categories.md is the guide.
"""

from engine.tools.categories.check import CheckReport, check_table, derived_duration
from engine.tools.categories.compile import chain, compile_table, table_of
from engine.tools.categories.model import RECORDING, Category, CategoryTable, Exemption, Limit, SetAside, Severity
from engine.tools.categories.table import Place, Problem, ReadTable, Row, TableError, parse_duration, read_table
from engine.tools.categories.write import FORMATS, Format, render, render_csv, render_json

__all__ = ["FORMATS", "RECORDING", "Category", "CategoryTable", "CheckReport", "Exemption", "Format", "Limit", "Place",
           "Problem", "ReadTable", "Row", "SetAside", "Severity", "TableError", "chain", "check_table",
           "compile_table", "derived_duration", "parse_duration", "read_table", "render", "render_csv",
           "render_json", "table_of"]
