"""The audit's counts: `Tally` adds up findings, coverage and row errors; `build_summary` makes summary.json.

Findings are counted one by one (`counts`), and incidents too (`incidents`): one footage deletion that
breaks three retention rules is three violations in one incident, so a rate per incident is never read
from finding counts. `rule_texts` gives each rule's summary and cite for the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.audit.findings import SEVERITIES, IncidentAudit, RuleKey, UnappliedRules
from engine.io.export import RowError
from policy.model import Ruleset

NA = "not_applicable"
MAX_ERRORS = 100  # row errors kept to show (summary.json, the CLI); the rest are only counted
FLAGGED = ("violation", "at_risk")  # the severities an incident is counted for (incidents with at least one)
CHECKED = "checked"  # in `incident_counts`, the incidents of a group, whatever they were found to be
# Why a `not_applicable` finding is one: the rule did not apply at all (no trigger, a condition unmet or an
# exception held), or it applied and another rule set it aside (`overrides`).
DID_NOT_APPLY, SET_ASIDE = "did_not_apply", "set_aside"


@dataclass
class Tally:
    """Counts that add up across chunks (in input order, so the result does not depend on workers)."""

    # The findings are counted in as few keys as the audit of millions of them allows, and `counts` derives
    # the per-dimension counts from them when read: the checked findings by (rule, check, severity,
    # month), one key each instead of one per dimension; the rules that did not apply by (rule id, its
    # checks), each standing for one `not_applicable` finding per check, and per month by their findings.
    # An incident adds its rules that did not apply (some twenty) as one set, hashed once (`unapplied_sets`);
    # `fold` counts them rule by rule, so that what a whole audit keeps is as many keys as the rulesets
    # have rules, whatever mix of rules its incidents bring.
    found: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    unapplied: Counter[RuleKey] = field(default_factory=Counter)
    unapplied_sets: Counter[UnappliedRules] = field(default_factory=Counter)
    unapplied_months: Counter[str] = field(default_factory=Counter)
    groups: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (column, value, severity)
    required: float = 0.0
    recorded: float = 0.0
    coverage: dict[str, list[float]] = field(default_factory=dict)  # month -> [required, recorded]
    rows: int = 0
    incidents: int = 0
    skipped_rows: int = 0
    skipped_incidents: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    rulesets: set[str] = field(default_factory=set)
    # (dimension, key, severity): incidents with at least one finding of that severity (dimension
    # `severity`, `check`, `rule` or `group.<column>`; severity `checked` counts a group's incidents).
    incident_counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    not_applicable: Counter[str] = field(default_factory=Counter)  # DID_NOT_APPLY / SET_ASIDE -> findings

    @property
    def counts(self) -> Counter[tuple[str, str, str]]:
        """Findings by (dimension, key, severity), dimension `severity`, `rule`, `check` or `month`."""
        counts: Counter[tuple[str, str, str]] = Counter()
        for (rule, check, sev, month), n in self.found.items():
            counts[("severity", sev, sev)] += n
            counts[("rule", rule, sev)] += n
            counts[("check", check, sev)] += n
            counts[("month", month, sev)] += n
        self.fold()
        if self.unapplied:
            total = 0
            for (rule, checks), n in self.unapplied.items():
                total += n * len(checks)
                counts[("rule", rule, NA)] += n * len(checks)
                for check in checks:
                    counts[("check", check, NA)] += n
            counts[("severity", NA, NA)] += total
        for month, n in self.unapplied_months.items():
            counts[("month", month, NA)] += n
        return counts

    def fold(self) -> None:
        """Count the sets of rules that did not apply rule by rule (the counts are the same)."""
        update = self.unapplied.update
        for rules, n in self.unapplied_sets.items():
            for _ in range(n):  # (each update counts its keys in C; a set comes a few times in a chunk)
                update(rules.keys)
        self.unapplied_sets.clear()

    def merge(self, other: Tally) -> None:
        other.fold()
        self.found.update(other.found)
        self.unapplied.update(other.unapplied)
        self.unapplied_months.update(other.unapplied_months)
        self.groups.update(other.groups)
        self.incident_counts.update(other.incident_counts)
        self.not_applicable.update(other.not_applicable)
        self.required += other.required
        self.recorded += other.recorded
        for month, (req, rec) in other.coverage.items():
            cur = self.coverage.setdefault(month, [0.0, 0.0])
            cur[0] += req
            cur[1] += rec
        self.rows += other.rows
        self.incidents += other.incidents
        self.skipped_rows += other.skipped_rows
        self.skipped_incidents += other.skipped_incidents
        self.reasons.update(other.reasons)
        self.errors.extend(other.errors[:max(0, MAX_ERRORS - len(self.errors))])
        self.rulesets |= other.rulesets

    def error(self, err: RowError, whole: bool = True) -> None:
        self.rows += err.rows
        self.skipped_rows += err.rows
        self.skipped_incidents += 1 if (whole and err.incident is not None) or err.reason == "invalid JSON" else 0
        self.reasons[err.reason] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(err)

    def add(self, result: IncidentAudit) -> None:
        self.incidents += 1
        self.rulesets.update(result.rulesets)
        found, groups, incident_counts = self.found, self.groups, self.incident_counts
        # Every finding of an incident has the incident's groups: a group value is counted once per
        # severity the incident has, by that severity's findings, not once per finding.
        severities: dict[str, int] = {}
        flagged: set[tuple[str, str, str]] = set()
        for f in result.checked:
            sev = f.severity
            found[(f.rule, f.check, sev, f.month)] += 1
            severities[sev] = severities.get(sev, 0) + 1
            if sev in FLAGGED:
                flagged.update((("severity", sev, sev), ("check", f.check, sev), ("rule", f.rule, sev)))
            elif sev == NA:
                self.not_applicable[SET_ASIDE if f.actual.startswith("set aside") else DID_NOT_APPLY] += 1
        unapplied = result.unapplied
        if unapplied:  # one `not_applicable` finding per check of each rule, counted in bulk
            self.unapplied_sets[unapplied] += 1
            total = unapplied.findings
            self.unapplied_months[result.month] += total
            self.not_applicable[DID_NOT_APPLY] += total
            severities[NA] = severities.get(NA, 0) + total
        flagged_sevs: list[str] = []  # the severities the incident is counted for, in its groups too
        if flagged:
            incident_counts.update(flagged)
            flagged_sevs = [s for s in FLAGGED if ("severity", s, s) in flagged]
        for col, value in result.groups.items():
            for s, n in severities.items():
                groups[(col, value, s)] += n
            dim = f"group.{col}"
            incident_counts[(dim, value, CHECKED)] += 1
            for s in flagged_sevs:
                incident_counts[(dim, value, s)] += 1
        self.required += result.required_seconds
        self.recorded += result.recorded_seconds
        if result.required_seconds:
            cur = self.coverage.setdefault(result.month, [0.0, 0.0])
            cur[0] += result.required_seconds
            cur[1] += result.recorded_seconds


def _nested(counter: Counter[tuple[str, str, str]], dimension: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (dim, key, sev), n in sorted(counter.items()):
        if dim == dimension:
            out.setdefault(key, {})[sev] = n
    return out


def _incidents(tally: Tally) -> dict[str, Any]:
    """`counts.incidents` of summary.json: incidents (not findings) with at least one violation or
    at-risk finding, in all and per check and rule, and per group value with the group's incidents."""
    out: dict[str, Any] = {"by_severity": {sev: tally.incident_counts.get(("severity", sev, sev), 0)
                                           for sev in FLAGGED}}
    out["by_check"] = _nested(tally.incident_counts, "check")
    out["by_rule"] = _nested(tally.incident_counts, "rule")
    by_group: dict[str, dict[str, dict[str, int]]] = {}
    for (dim, value, sev), n in sorted(tally.incident_counts.items()):
        if dim.startswith("group."):
            by_group.setdefault(dim[len("group."):], {}).setdefault(value, {})[sev] = n
    out["by_group"] = by_group
    return out


def rule_texts(rulesets: list[Ruleset]) -> dict[str, dict[str, str]]:
    """`rules` of summary.json: each rule id's summary, cite and ruleset (the first ruleset given that has
    it), so that the report shows a rule's words beside its id."""
    out: dict[str, dict[str, str]] = {}
    for r in rulesets:
        for rule in r.rules:
            out.setdefault(rule.id, {"summary": rule.summary, "cite": rule.cite, "ruleset": r.ref})
    return dict(sorted(out.items()))


def _percent(recorded: float, required: float) -> float | None:
    return round(100.0 * recorded / required, 2) if required > 0 else None


def build_summary(tally: Tally, input_format: str, as_of: datetime | None) -> dict[str, Any]:
    """The summary of docs/audit.md: as_of, rulesets, input (`input_format`: the export's format as read,
    e.g. `jsonl` or `mapped csv`), counts, recording_coverage."""
    by_group: dict[str, dict[str, dict[str, int]]] = {}
    for (col, value, sev), n in sorted(tally.groups.items()):
        by_group.setdefault(col, {}).setdefault(value, {})[sev] = n
    counts = tally.counts
    return {
        "as_of": as_of.isoformat() if as_of is not None else None,
        "rulesets": sorted(tally.rulesets),
        "input": {
            "format": input_format,
            "rows": tally.rows,
            "incidents": tally.incidents,
            "skipped_rows": tally.skipped_rows,
            "skipped_incidents": tally.skipped_incidents,
            "skipped_reasons": dict(sorted(tally.reasons.items())),
            "errors": [e.to_dict() for e in tally.errors[:MAX_ERRORS]],
        },
        "counts": {
            "by_severity": {sev: counts.get(("severity", sev, sev), 0) for sev in SEVERITIES},
            "by_rule": _nested(counts, "rule"),
            "by_check": _nested(counts, "check"),
            "by_month": _nested(counts, "month"),
            "by_group": by_group,
            "incidents": _incidents(tally),
            "not_applicable": {why: tally.not_applicable.get(why, 0) for why in (DID_NOT_APPLY, SET_ASIDE)},
        },
        "recording_coverage": {
            "required_seconds": round(tally.required, 3),
            "recorded_seconds": round(tally.recorded, 3),
            "percent": _percent(tally.recorded, tally.required),
            "by_month": {m: _percent(rec, req) for m, (req, rec) in sorted(tally.coverage.items())},
        },
    }
