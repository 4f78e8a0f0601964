"""Auditing one incident: decide it, run the checks of every obligation in force, list what did not apply."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from engine.api import Library, resolve_as_of
from engine.audit.checks import CHECKERS, CheckContext, checks_for
from engine.audit.findings import Finding, IncidentAudit, RuleChecks
from engine.core.decision import Decision
from engine.core.incident import Incident
from policy.base import Effect


@dataclass(frozen=True)
class _RefInfo:
    zone: tzinfo
    rules: tuple[RuleChecks, ...]  # the rules that have checks


class Auditor:
    """Audits incidents under one ruleset (an id, judged by the version in force; or a pinned id@version)."""

    def __init__(self, library: Library, ruleset_id: str, checks: frozenset[str] | None = None,
                 measure: Any = None) -> None:
        self.library = library
        self.ruleset_id = ruleset_id
        # A preset (engine.audit.presets) runs only its checks (None: all) and may add a measure (an
        # ActivationMeasure; typed Any because the presets package imports this one's package).
        self.checks = None if checks is None else checks | ({"not_released"} if "released_late" in checks else set())
        self.measure = measure
        # What an export's columns may name: any version that may judge one of its incidents. Each
        # incident is checked against the version that judges it (`Library.read`), as `bwc decide` does.
        self.vocabulary = library.vocabulary(ruleset_id)
        self._refs: dict[str, _RefInfo] = {}

    def _ref(self, ref: str) -> _RefInfo:
        info = self._refs.get(ref)
        if info is None:
            policy = self.library.select(ref)
            rules = []
            for r in policy.program.rules:
                ob = r.obligation
                effect = getattr(ob, "effect", Effect.MUST)
                checks = self._selected(checks_for(r.kind, effect, getattr(ob, "purpose", None),
                                                   bool(getattr(ob, "redact", None))))
                if checks:  # a rule no check reads never makes a finding
                    rules.append(RuleChecks(ref, r.id, r.rule.cite, r.kind, checks))
            info = self._refs[ref] = _RefInfo(policy.zone, tuple(rules))
        return info

    def _selected(self, checks: tuple[str, ...]) -> tuple[str, ...]:
        return checks if self.checks is None else tuple(c for c in checks if c in self.checks)

    def audit(self, incident: Mapping[str, Any] | Incident, groups: Mapping[str, str] | None = None,
              as_of: datetime | str | None = None) -> IncidentAudit:
        """Raises IncidentError when the incident does not fit the vocabulary of the version that judges it."""
        inc, policy = self.library.read(self.ruleset_id, incident)
        when = resolve_as_of(as_of, inc)
        decision = self.library.judge(self.ruleset_id, inc, policy, when, explain=False)
        selected = f"{decision.ruleset.id}@{decision.ruleset.version}"
        c = CheckContext(inc, when, dict(groups or {}), self._ref(selected).zone)
        return self._check(c, decision, selected)

    def _check(self, c: CheckContext, decision: Decision, selected: str) -> IncidentAudit:
        applied: set[str] = set()
        for o in decision.obligations:
            applied.add(o.rule)
            for check in self._selected(checks_for(o.kind, o.effect, o.purpose, bool(o.redact))):
                if o.overridden_by is not None:
                    c.add(o, check, "not_applicable", "", f"set aside by `{o.overridden_by}`")
                    continue
                CHECKERS[check](c, o)
        refs = list(dict.fromkeys([selected, *(f"{lay.id}@{lay.version}" for lay in decision.layers)]))
        amended: dict[str, set[str]] = {}
        for lay in decision.layers:  # a later version's amendments, or a version's conduct rules
            if lay.role in ("amendment", "conduct") and f"{lay.id}@{lay.version}" != selected:
                amended.setdefault(f"{lay.id}@{lay.version}", set()).update(lay.rules or ())
        unapplied: list[RuleChecks] = []
        for ref in refs:
            only = amended.get(ref)
            for r in self._ref(ref).rules:
                if r.id not in applied and (only is None or r.id in only):
                    applied.add(r.id)
                    unapplied.append(r)
        return IncidentAudit(c.findings, unapplied, c.inc.id, c.month, c.groups, c.required, c.recorded, refs)


_AUDITORS: weakref.WeakKeyDictionary[Library, dict[str, Auditor]] = weakref.WeakKeyDictionary()


def audit_incident(library: Library, ruleset_id: str, incident: Mapping[str, Any] | Incident,
                   groups: Mapping[str, str] | None = None, as_of: datetime | str | None = None) -> list[Finding]:
    """Every finding of one incident (raises IncidentError if it does not fit the vocabulary)."""
    auditors = _AUDITORS.setdefault(library, {})
    auditor = auditors.get(ruleset_id) or auditors.setdefault(ruleset_id, Auditor(library, ruleset_id))
    return auditor.audit(incident, groups, as_of).findings
