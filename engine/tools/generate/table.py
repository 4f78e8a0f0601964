"""Incidents as CSV: the header, and one row per event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policy.vocabulary import Vocabulary


def csv_columns(vocab: Vocabulary) -> list[str]:
    """The CSV header: required columns, every attribute of the vocabulary, facts, groups."""
    attrs = sorted({a for name in vocab.events for a in vocab.attributes_of(name)} - {"type", "at"})
    return ["incident_id", "timezone", "type", "at", *attrs, *(f"fact.{f}" for f in sorted(vocab.facts)),
            "group.district", "group.unit"]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def csv_rows(incident: Mapping[str, Any], columns: Sequence[str]) -> list[list[str]]:
    """The CSV rows of one incident (one per event)."""
    rows = []
    for ev in incident["events"]:
        row = []
        for c in columns:
            if c == "incident_id":
                row.append(incident["id"])
            elif c == "timezone":
                row.append(incident["timezone"])
            elif c.startswith("fact."):
                row.append(_cell(incident.get("facts", {}).get(c[5:])))
            elif c.startswith("group."):
                row.append(_cell(incident.get("groups", {}).get(c[6:])))
            else:
                row.append(_cell(ev.get(c)))
        rows.append(row)
    return rows
