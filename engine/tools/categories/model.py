"""The category table a ruleset compiles to: one category per retention or deletion rule, each with
the limit it sets (a minimum or a maximum), how long, counted from what, when it applies in the
ruleset's own words, and the rule behind it; with the rulesets it was compiled from, the categories
set aside by precedence, and the conflicts precedence leaves open.

Evidence systems hold retention as a table of named categories, each a duration or "until manually
deleted", and keep a video for the longest among the categories it is given. A category here is what
one row of such a table must respect; `compile` says which rows must respect which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from policy.duration import Duration

RECORDING = "recording"
"""What a category counts from when the ruleset counts from the incident: systems count from the
recording (or upload) date, and the recording is made during the incident."""


class Limit(StrEnum):
    MINIMUM = "minimum"  # a `retain` rule: do not delete before
    MAXIMUM = "maximum"  # a `delete` rule: do not keep past


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Category:
    """What one retention or deletion rule asks of the rows that cover it."""

    id: str  # the rule id, or `ruleset/rule` when two layers use the same rule id
    limit: Limit
    ruleset: str  # the ruleset version (`id@version`) the rule is in
    layer: int  # 0 for the ruleset asked about, 1 for the one it extends, and so on
    rule: str
    cite: str
    confidence: str | None
    summary: str  # the rule's own words: when the category applies and what it keeps
    conditions: str  # the rule's trigger and conditions as the file encodes them, or "" for every recording
    rule_notes: str | None
    duration: Duration | None  # None: no fixed duration (`keeps_until` says how long)
    keeps_until: str | None  # for a minimum with no fixed duration: "indefinitely", an event, or a legal hold
    counts_from: str  # RECORDING, an event type, `rule_applies`, or `earliest of ...`
    holidays: tuple[str, ...] = ()  # the ruleset's holidays, which a business-day duration skips
    blanket: bool = False  # the rule has no trigger and no condition: it governs every recording
    overrides: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what a records manager must know to configure it honestly

    @property
    def fixed(self) -> bool:
        return self.duration is not None


@dataclass(frozen=True, slots=True)
class SetAside:
    """A category that never takes effect: another rule prevails over it on every recording."""

    category: Category
    by: str  # the category that prevails
    reason: str


@dataclass(frozen=True, slots=True)
class Exemption:
    """A category whose rows need not respect a blanket category (one with no condition), and why; a
    disputed exemption is a conflict the ruleset leaves open (reported as a warning, not an error)."""

    blanket: str
    reason: str
    disputed: bool = False


@dataclass(frozen=True, slots=True)
class CategoryTable:
    """A ruleset version's retention categories, with its layers, compiled as of a time (or newest)."""

    ruleset: str
    title: str
    layers: tuple[str, ...]  # the ruleset and the versions it extends, in the order compiled
    as_of: str | None
    categories: tuple[Category, ...]
    set_aside: tuple[SetAside, ...] = ()
    exemptions: dict[str, tuple[Exemption, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def category(self, key: str) -> Category | None:
        """The category a row names: its id, or `ruleset/rule` (with or without the version)."""
        for c in self.categories:
            if key in (c.id, f"{c.ruleset}/{c.rule}", f"{c.ruleset.partition('@')[0]}/{c.rule}"):
                return c
        return None

    def set_aside_category(self, key: str) -> SetAside | None:
        for s in self.set_aside:
            c = s.category
            if key in (c.id, f"{c.ruleset}/{c.rule}", f"{c.ruleset.partition('@')[0]}/{c.rule}"):
                return s
        return None

    @property
    def blankets(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if c.blanket)

    def exemption(self, category: str, blanket: str) -> Exemption | None:
        return next((e for e in self.exemptions.get(category, ()) if e.blanket == blanket), None)


__all__ = ["RECORDING", "Category", "CategoryTable", "Exemption", "Limit", "SetAside", "Severity"]
