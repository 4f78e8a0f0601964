"""The impact report: counts per kind of change with the incidents and rules concerned, refusals,
bad lines; parts merged in input order; and its JSON form."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from engine.io.sorting import IdRead
from engine.tools.impact.differences import Difference, substantive

MAX_ERRORS = 1000
"""Bad lines whose message the report keeps (all are counted)."""

EXAMPLES = 3
"""Incidents per kind of change whose details (what moved, and for which rule) the report shows."""


@dataclass
class BadLine:
    """A line (or row) that gave no comparison: unreadable, refused by both versions, or an internal error."""

    line: int
    message: str
    incident: str | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "message": self.message}
        if self.incident is not None:
            out["incident"] = self.incident
        if self.column is not None:
            out["column"] = self.column
        return out


SIDES = ("A only", "B only")


@dataclass
class ImpactTally:
    """Counts for part of the input (a chunk) or all of it; parts merge in input order."""

    incidents: int = 0
    changed: int = 0
    by_kind: dict[str, list[str]] = field(default_factory=dict)
    rules: dict[str, Counter[str]] = field(default_factory=dict)  # label -> rule -> incidents
    examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # label -> (incident, what moved)
    refused: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # "A only"/"B only" -> reason -> ids
    refused_incidents: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    bad: list[BadLine] = field(default_factory=list)
    # engine.io.sorting.id_read of each incident id read in this chunk: taken by the runner, which sorts them in
    # bounded memory (engine.io.sorting) and sets `repeated_ids`, the ids given more than once.
    ids: list[IdRead] = field(default_factory=list)
    repeated_ids: dict[str, Any] = field(default_factory=lambda: {"ids": 0, "incidents": 0, "examples": []})

    def add(self, incident_id: str, found: list[Difference]) -> None:
        """An incident decided under both versions, with the differences between its two decisions."""
        self.incidents += 1
        if substantive([d.label for d in found]):
            self.changed += 1
        by_label: dict[str, list[Difference]] = {}
        for d in found:
            by_label.setdefault(d.label, []).append(d)
        for label, ds in by_label.items():
            # `get` first: `setdefault` would build a list, a Counter and a list per label per incident.
            ids = self.by_kind.get(label)
            if ids is None:
                ids = self.by_kind[label] = []
            ids.append(incident_id)
            counted = self.rules.get(label)
            if counted is None:
                counted = self.rules[label] = Counter()
            for r in {r for d in ds for r in d.rules}:
                counted[r] += 1
            examples = self.examples.get(label)
            if examples is None:
                examples = self.examples[label] = []
            if len(examples) < EXAMPLES:
                examples.append((incident_id, "; ".join(dict.fromkeys(d.detail for d in ds))))

    def refuse(self, side: str, incident_id: str, reasons: list[str]) -> None:
        """An incident one version could read and decide and the other could not: not a change."""
        self.refused_incidents[side] += 1
        by_reason = self.refused.setdefault(side, {})
        for reason in dict.fromkeys(reasons):
            by_reason.setdefault(reason, []).append(incident_id)

    def fail(self, line: int, message: str, incident: str | None = None, column: int | None = None) -> None:
        self.errors += 1
        if len(self.bad) < MAX_ERRORS:
            self.bad.append(BadLine(line, message, incident, column))

    def merge(self, other: ImpactTally) -> None:
        self.incidents += other.incidents
        self.changed += other.changed
        for label, ids in other.by_kind.items():
            self.by_kind.setdefault(label, []).extend(ids)
        for label, rules in other.rules.items():
            self.rules.setdefault(label, Counter()).update(rules)
        for label, examples in other.examples.items():
            mine = self.examples.setdefault(label, [])
            mine.extend(examples[:max(0, EXAMPLES - len(mine))])
        for side, reasons in other.refused.items():
            mine_r = self.refused.setdefault(side, {})
            for reason, ids in reasons.items():
                mine_r.setdefault(reason, []).extend(ids)
        self.refused_incidents.update(other.refused_incidents)
        self.errors += other.errors
        self.bad.extend(other.bad[:max(0, MAX_ERRORS - len(self.bad))])

    @property
    def empty(self) -> bool:
        return not (self.incidents or self.errors or self.refused_incidents)


@dataclass
class ImpactReport:
    a: str
    b: str
    as_of: str | None
    tally: ImpactTally
    seconds: float = 0.0
    workers: int = 1

    @property
    def throughput(self) -> float:
        return self.tally.incidents / self.seconds if self.seconds > 0 else 0.0

    def kinds(self) -> list[tuple[str, list[str]]]:
        """(label, incident ids) by number of incidents, most first, then by label."""
        return sorted(self.tally.by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def rules_of(self, label: str) -> list[tuple[str, int]]:
        """The rules a kind of change concerns, with the incidents each, most first."""
        return sorted(self.tally.rules.get(label, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))

    def refusals(self, side: str) -> list[tuple[str, list[str]]]:
        """(reason, incident ids) for the incidents refused under one version only, most first."""
        return sorted(self.tally.refused.get(side, {}).items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def to_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "a": self.a, "b": self.b, "as_of": self.as_of,
            "incidents": t.incidents, "changed": t.changed, "unchanged": t.incidents - t.changed,
            "changes": {label: {"incidents": len(ids), "ids": ids,
                                "rules": dict(self.rules_of(label)),
                                "examples": [{"incident": i, "detail": d} for i, d in t.examples.get(label, [])]}
                        for label, ids in self.kinds()},
            "refused": {side: {"incidents": t.refused_incidents[side],
                               "reasons": {reason: {"incidents": len(ids), "ids": ids}
                                           for reason, ids in self.refusals(side)}}
                        for side in SIDES},
            "errors": t.errors, "bad_lines": [b.to_dict() for b in t.bad],
            "repeated_ids": t.repeated_ids,
        }


def render_json(report: ImpactReport) -> str:
    """The report as JSON (its text and Markdown forms are presentation: engine.cli.text.impact)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
