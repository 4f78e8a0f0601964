"""Auditing one incident: decide it, run the checks of every obligation in force, list what did not apply."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from engine.api import Library, resolve_as_of
from engine.audit.checks import CHECKERS, CheckContext, Checker, checks_for
from engine.audit.findings import Finding, IncidentAudit, RuleChecks, RuleKey, UnappliedRules
from engine.core.decision import Decision
from engine.core.incident import Incident
from policy.base import Effect

_Shape = tuple[str, Effect, str | None, bool]  # an obligation's kind, effect, purpose and whether it redacts
_LayerKey = tuple[str, str, str, tuple[str, ...]]  # a decision layer's id, version, role and rules
_MEMO_LIMIT = 4096  # sets of applied rules remembered (some 2,000 in 20,000 generated incidents; ~1.5 kB each)


@dataclass(frozen=True)
class _RefInfo:
    zone: tzinfo
    rules: tuple[RuleChecks, ...]  # the rules that have checks
    keys: tuple[RuleKey, ...]  # each rule's key in a tally


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
        # Memos of what is the same for many incidents: the checks of each obligation shape, and the rules
        # that did not apply (with the versions whose rules count) for each set of rules that did.
        self._shapes: dict[_Shape, tuple[tuple[str, Checker], ...]] = {}  # with each check's function
        self._unapplied: dict[tuple[str, tuple[_LayerKey, ...], frozenset[str]],
                              tuple[tuple[str, ...], UnappliedRules]] = {}

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
            info = self._refs[ref] = _RefInfo(policy.zone, tuple(rules), tuple([r.key for r in rules]))
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
        shapes = self._shapes
        obligations = decision.obligations
        for o in obligations:
            shape = (o.kind, o.effect, o.purpose, bool(o.redact))
            checks = shapes.get(shape)
            if checks is None:
                checks = shapes[shape] = tuple((name, CHECKERS[name])
                                               for name in self._selected(checks_for(*shape)))
            if o.overridden_by is not None:
                for name, _ in checks:
                    c.add(o, name, "not_applicable", "", f"set aside by `{o.overridden_by}`")
            else:
                for _, checker in checks:
                    checker(c, o)
        applied = frozenset([o.rule for o in obligations])
        layers = tuple([(lay.id, lay.version, lay.role, tuple(lay.rules or ())) for lay in decision.layers])
        key = (selected, layers, applied)
        memo = self._unapplied.get(key)
        if memo is None:
            if len(self._unapplied) >= _MEMO_LIMIT:  # bounded, whatever mix of rules an export brings
                self._unapplied.clear()
            memo = self._unapplied[key] = self._unapplied_rules(selected, layers, applied)
        refs, unapplied = memo
        return IncidentAudit(c.findings, unapplied, c.inc.id, c.month, c.groups, c.required, c.recorded,
                             list(refs))

    def _unapplied_rules(self, selected: str, layers: tuple[_LayerKey, ...],
                         applied: frozenset[str]) -> tuple[tuple[str, ...], UnappliedRules]:
        """The versions whose rules count (the selected one, then its layers') and their rules with checks
        that `applied` does not name; a later version's amendments, or a version's conduct rules, count only
        for the rules the layer names."""
        refs = tuple(dict.fromkeys([selected, *(f"{id_}@{version}" for id_, version, _, _ in layers)]))
        amended: dict[str, set[str]] = {}
        for id_, version, role, rules in layers:
            if role in ("amendment", "conduct") and f"{id_}@{version}" != selected:
                amended.setdefault(f"{id_}@{version}", set()).update(rules)
        seen = set(applied)
        unapplied: list[RuleChecks] = []
        keys: list[RuleKey] = []
        for ref in refs:
            only = amended.get(ref)
            info = self._ref(ref)
            for r, key in zip(info.rules, info.keys, strict=True):
                if r.id not in seen and (only is None or r.id in only):
                    seen.add(r.id)
                    unapplied.append(r)
                    keys.append(key)
        return refs, UnappliedRules(tuple(unapplied), tuple(keys))


_AUDITORS: weakref.WeakKeyDictionary[Library, dict[str, Auditor]] = weakref.WeakKeyDictionary()


def audit_incident(library: Library, ruleset_id: str, incident: Mapping[str, Any] | Incident,
                   groups: Mapping[str, str] | None = None, as_of: datetime | str | None = None) -> list[Finding]:
    """Every finding of one incident (raises IncidentError if it does not fit the vocabulary)."""
    auditors = _AUDITORS.setdefault(library, {})
    auditor = auditors.get(ruleset_id) or auditors.setdefault(ruleset_id, Auditor(library, ruleset_id))
    return auditor.audit(incident, groups, as_of).findings
