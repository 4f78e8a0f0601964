"""What the audit finds: the `Finding` record, its severities, the check names, and how amounts read.

A finding is one obligation checked one way against one incident's actions; its severity is one of
`SEVERITIES`. The checks and their meaning are in docs/audit.md.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from engine.core.decision import Pending

FindingSeverity = Literal["violation", "at_risk", "compliant", "not_applicable"]
SEVERITIES: tuple[FindingSeverity, ...] = ("violation", "at_risk", "compliant", "not_applicable")
CHECKS = ("camera_off_in_mandatory_window", "recorded_while_prohibited", "no_notice", "deleted_before_minimum",
          "kept_past_maximum", "viewed_while_denied", "released_late", "not_released", "unredacted_release",
          "biometric_while_prohibited")


class Finding(NamedTuple):
    """One obligation checked one way against one incident. A named tuple, immutable and the cheapest
    record to make: an audit makes several for every incident."""

    incident_id: str
    ruleset: str
    rule: str
    cite: str
    kind: str
    check: str
    severity: FindingSeverity
    expected: str
    actual: str
    missed_by: str | None
    month: str
    groups: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "ruleset": self.ruleset, "rule": self.rule, "cite": self.cite,
                "kind": self.kind, "check": self.check, "severity": self.severity, "expected": self.expected,
                "actual": self.actual, "missed_by": self.missed_by, "month": self.month,
                "groups": dict(self.groups)}


@dataclass(frozen=True, slots=True)
class RuleChecks:
    """A rule of a ruleset version and the checks its obligations get (compiled once per version)."""

    ruleset: str
    id: str
    cite: str
    kind: str
    checks: tuple[str, ...]

    @property
    def key(self) -> RuleKey:
        """How a tally counts the rule when it did not apply: its id and its checks."""
        return (self.id, self.checks)


RuleKey = tuple[str, tuple[str, ...]]


class UnappliedRules:
    """The rules with checks that did not apply to an incident, each standing for one `not_applicable`
    finding per check. Made once per set of rules that did apply (the auditor's memo) and shared by every
    incident alike, so that a tally counts it by one key, hashed once, not rule by rule per incident."""

    __slots__ = ("_hash", "findings", "keys", "rules")

    def __init__(self, rules: tuple[RuleChecks, ...], keys: tuple[RuleKey, ...] | None = None) -> None:
        self.rules = rules
        self.findings = sum(len(r.checks) for r in rules)  # the `not_applicable` findings they stand for
        # What a tally counts them by, rule by rule: each rule's key, given by the auditor as one tuple per
        # rule, shared by all the sets it remembers.
        self.keys = keys if keys is not None else tuple([r.key for r in rules])
        self._hash = hash(rules)

    def __reduce__(self) -> tuple[type[UnappliedRules], tuple[tuple[RuleChecks, ...]]]:
        # Made again on the other side: a string's hash differs from one process to another.
        return (UnappliedRules, (self.rules,))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, UnappliedRules) and self.rules == other.rules)

    def __len__(self) -> int:
        return len(self.rules)


@dataclass
class IncidentAudit:
    """The findings of one incident, and what its recording duties required and got (seconds).

    `checked` holds the findings of the obligations that applied, one by one. Most rules do not apply
    to a given incident: they are kept in `unapplied`, each standing for one `not_applicable` finding
    per check, which the audit counts in bulk without making them; `findings` lists them all.
    """

    checked: list[Finding]
    unapplied: UnappliedRules
    incident_id: str
    month: str
    groups: Mapping[str, str]
    required_seconds: float
    recorded_seconds: float
    rulesets: list[str]

    @property
    def findings(self) -> list[Finding]:
        return self.checked + [
            Finding(self.incident_id, r.ruleset, r.id, r.cite, r.kind, check, "not_applicable", "",
                    UNAPPLIED, None, self.month, self.groups)
            for r in self.unapplied.rules for check in r.checks]


UNAPPLIED = "the rule did not apply"


# --- how a finding writes amounts ---------------------------------------------------------------------

def duration_text(seconds: float) -> str:
    """`12 min 30 s`, `1 h 5 min`, `45 s`."""
    return _duration_text(round(seconds))


# A recording check writes two or three amounts, most of them met before: in the same finding (all of a
# window recorded) or in other incidents (windows of a usual length). Bounded, whatever an export brings.
@functools.lru_cache(maxsize=4096)
def _duration_text(s: int) -> str:
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts: list[str] = []
    if h:
        parts.append(f"{h} h")
    if m:
        parts.append(f"{m} min")
    if sec or not (h or m):
        parts.append(f"{sec} s")
    return " ".join(parts)


def days_text(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def pending_text(p: Pending) -> str:
    """A deadline counted from an event that has not happened yet."""
    return f"{p.then} after `{p.pending}` (not yet happened)" if p.then not in ("P0D", "") else \
        f"until `{p.pending}` (not yet happened)"
