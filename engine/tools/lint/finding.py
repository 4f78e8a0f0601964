"""What `bwc lint` reports: a finding, with its stable code, the rules involved and the example incident.

Codes are `BWL` and three digits ("bwc lint"), apart from `bwc check`'s `BWC` codes: a lint finding is a
problem of meaning in a ruleset that reads correctly. A code never changes meaning; retire one rather
than reuse it. docs/lint.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"  # the rules contradict themselves: some incident gets duties that cannot all be met
    WARNING = "warning"  # a rule (or part of one) can never take effect: probably not what was meant


@dataclass(frozen=True)
class Code:
    code: str
    title: str
    severity: Severity


# Every code, in the order the checks run. Never renumber.
CODES: dict[str, Code] = {c.code: c for c in (
    Code("BWL101", "must and must not at the same time", Severity.ERROR),
    Code("BWL102", "access both allowed and forbidden", Severity.ERROR),
    Code("BWL103", "minimum retention beyond a deletion deadline", Severity.ERROR),
    Code("BWL104", "release due before the footage is recorded", Severity.ERROR),
    Code("BWL105", "release due before the request that triggers it", Severity.ERROR),
    Code("BWL201", "rule always set aside by an override", Severity.WARNING),
    Code("BWL202", "override that can never take effect", Severity.WARNING),
    Code("BWL301", "rule that never applies", Severity.WARNING),
    Code("BWL302", "trigger no event can match", Severity.WARNING),
    Code("BWL303", "extended ruleset never in force with this one", Severity.WARNING),
    Code("BWL401", "duration counted from an anchor that never occurs", Severity.WARNING),
    Code("BWL402", "window that never opens", Severity.WARNING),
    Code("BWL403", "release delay that is never available", Severity.WARNING),
)}


@dataclass(frozen=True)
class Place:
    """A rule (or a key of the file, when `rule` is None) of a ruleset version, with where it is written."""

    ruleset: str  # `id@version`
    rule: str | None
    file: str
    line: int | None

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict[str, Any]:
        return {"ruleset": self.ruleset, "rule": self.rule, "file": self.file, "line": self.line}


@dataclass(frozen=True)
class Search:
    """How the example was looked for: how many incidents were decided, out of how many combinations
    of the values the rules mention (`complete` when every combination was decided)."""

    searched: int
    combinations: int
    complete: bool
    found_at: int | None = None  # the example was the n-th incident decided (1-based); None: a "never" finding

    def words(self) -> str:
        scope = (f"every combination of the values the rules mention ({self.combinations}) under each timeline"
                 if self.complete else
                 f"a fixed sample of the {self.combinations} combinations of the values the rules mention")
        if self.found_at is not None:
            return f"found at incident {self.found_at} of the {self.searched} to search ({scope})"
        return f"searched {self.searched} incidents ({scope}); the search is bounded"

    def to_dict(self) -> dict[str, Any]:
        return {"searched": self.searched, "combinations": self.combinations, "complete": self.complete,
                "found_at": self.found_at}


@dataclass(frozen=True)
class Example:
    """An incident that shows the finding when decided under `policy` (as `bwc decide --policy` does), and
    what its decision shows."""

    policy: str
    incident: dict[str, Any]
    shows: str

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "incident": self.incident, "shows": self.shows}


@dataclass(frozen=True)
class Finding:
    code: str
    at: Place  # where to look first: the rule to change (or the key, for a finding about the file)
    message: str
    hint: str
    rules: tuple[Place, ...] = ()
    example: Example | None = None
    search: Search | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False)  # e.g. which `may_delay` entry (0-based)

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    @property
    def title(self) -> str:
        return CODES[self.code].title

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "title": self.title, "severity": str(self.severity), "message": self.message,
            "hint": self.hint, "file": self.at.file, "line": self.at.line, "rule": self.at.rule,
            "rules": [r.to_dict() for r in self.rules],
            "example": self.example.to_dict() if self.example is not None else None,
            "search": self.search.to_dict() if self.search is not None else None, **self.detail,
        }
