"""Scans: one search per rule (or pair of rules), read by several checks.

A rule's scan decides the incidents of its search space (its own conditions, and those of the rules
that override it) and keeps, for each thing a check asks about, a count and the first incident that
shows it. A pair's scan looks for the first incident whose decision shows an unsettled conflict between
the two rules. Both search through the real engine (`LintContext.search`, `LintContext.replay`).

The pair checks ask for a scan of every candidate pair, so the number of pairs grows with the square of
the rules. Two things keep the work in step with the rules: a pair whose conditions no incident can meet
together (`district: d1` against `district: d2`; `solve.Exclusions`) is not searched, as no decision
can hold both; and pairs whose searches make the same incidents share their decisions (`replay`), each
decision read once for every pair (`PairView`). Neither changes a finding or its example (a pair not
searched adds nothing to the report's `searched`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.api import Conflict, Decision, Obligation, Pending
from engine.tools.lint.context import Found, LintContext, LintRule
from engine.tools.lint.finding import Search
from policy.obligations import INCIDENT, RULE_APPLIES, ReleaseObligation, RetainObligation, WindowObligation


@dataclass
class Seen:
    """How often something was seen among the incidents searched, and the first incident that showed it."""

    count: int = 0
    first: dict[str, Any] | None = None
    at: int | None = None
    note: str = ""

    def add(self, found: Found, note: str = "") -> None:
        self.saw(found.number, found.incident, note)

    def saw(self, number: int, incident: dict[str, Any], note: str = "") -> None:
        self.count += 1
        if self.first is None:
            self.first, self.at, self.note = incident, number, note


@dataclass
class RuleScan:
    rule: LintRule
    searched: int = 0
    combinations: int = 0
    complete: bool = True
    first: Seen = field(default_factory=Seen)  # every incident decided
    applies: Seen = field(default_factory=Seen)  # incidents in which the rule imposes an obligation
    triggered: Seen = field(default_factory=Seen)  # incidents holding the rule's trigger event (any attributes)
    dated: Seen = field(default_factory=Seen)  # applications whose counted date or window edge is known
    undated: Seen = field(default_factory=Seen)
    delays: list[Seen] = field(default_factory=list)  # per `may_delay` entry: applications where it is available
    set_aside: dict[str, Seen] = field(default_factory=dict)  # by overriding rule: applications wholly set aside
    before_trigger: Seen = field(default_factory=Seen)  # a must-release due before the day of its trigger
    before_footage: Seen = field(default_factory=Seen)  # a must-release due before any recording window opens

    def search(self, seen: Seen | None = None) -> Search:
        return Search(self.searched, self.combinations, self.complete, seen.at if seen is not None else None)


def _day(text: str, zone: Any) -> date:
    return datetime.fromisoformat(text).astimezone(zone).date()


def _counted_date(o: Obligation) -> bool | None:
    """Whether the date an obligation counts (or the window edge it opens at) is known; None: nothing counted."""
    if o.kind == "retain":
        return None if o.legal_hold else not isinstance(o.retain_until, Pending)
    if o.kind == "delete":
        return not isinstance(o.delete_by, Pending)
    if o.kind == "release":
        if o.promptly_after is not None:
            return not o.promptly_after.pending
        return None if o.by is None else not isinstance(o.by, Pending)
    if o.window is not None and o.window.from_ is not None:
        return not o.window.from_.pending
    return None


def _first_recording(decision: Decision, zone: Any) -> date | None:
    """The day the first recording window of the decision opens (None: no window to record has opened)."""
    days = [_day(o.window.from_.at, zone) for o in decision.obligations
            if o.kind == "record" and o.effect.value in ("must", "may") and o.window is not None
            and o.window.from_ is not None and o.window.from_.at is not None]
    opened_at_trigger = [_day(o.trigger.at, zone) for o in decision.obligations
                         if o.kind == "record" and o.effect.value in ("must", "may") and o.trigger is not None
                         and (o.window is None or o.window.from_ is None)]
    found = days + opened_at_trigger
    return min(found) if found else None


def counts_from_anchor(rule: LintRule) -> bool:
    """Whether the rule's obligation counts a date from (or opens a window at) an event that may be awaited."""
    ob = rule.rule.obligation
    if isinstance(ob, RetainObligation):
        if ob.legal_hold or ob.indefinitely:
            return False
        names = [ob.until] if ob.until else ([ob.after] if isinstance(ob.after, str) else list(ob.after.earliest)
                                             if ob.after is not None else [])
    elif isinstance(ob, WindowObligation):
        names = [ob.from_] if ob.from_ else []
    elif isinstance(ob, ReleaseObligation):
        if ob.after is None:
            return False
        names = [ob.after] if isinstance(ob.after, str) else list(ob.after.earliest)
    else:
        after = getattr(ob, "after", None)
        if after is None:
            return False
        names = [after] if isinstance(after, str) else list(after.earliest)
    # An `earliest` list is awaited only while every anchor in it is; `incident`, `rule_applies` and the
    # rule's own trigger have always happened when the rule applies.
    return bool(names) and all(n not in (INCIDENT, RULE_APPLIES) and n != rule.rule.on for n in names if n)


def rule_scan(ctx: LintContext, rule: LintRule) -> RuleScan:
    """The scan of one rule (made once, shared by the checks)."""
    key = ("rule", rule.ref, rule.id)
    return ctx.memo(key, lambda: _scan_rule(ctx, rule))


def _scan_rule(ctx: LintContext, rule: LintRule) -> RuleScan:
    overriders = ctx.overriders(rule)
    run = ctx.search([rule, *overriders])
    scan = RuleScan(rule, searched=run.planned, combinations=run.combinations, complete=run.complete)
    release = rule.rule.release
    scan.delays = [Seen() for _ in (release.may_delay if release is not None else ())]
    scan.set_aside = {o.id: Seen() for o in overriders}
    zone = ctx.zone
    for f in run.found:
        scan.first.add(f)
        if rule.rule.on is not None and any(e["type"] == rule.rule.on for e in f.incident["events"]):
            scan.triggered.add(f)
        mine = rule.obligations(f.decision)
        if not mine:
            continue
        scan.applies.add(f)
        known = [_counted_date(o) for o in mine]
        if any(k is True for k in known):
            scan.dated.add(f)
        elif any(k is False for k in known):
            scan.undated.add(f)
        for k, seen in enumerate(scan.delays):
            if any(o.delays and k < len(o.delays) and o.delays[k].available for o in mine):
                seen.add(f)
        for winner, seen in scan.set_aside.items():
            if all(o.overridden_by == winner for o in mine):
                seen.add(f)
        for o in mine:
            if o.kind != "release" or o.effect.value != "must" or not isinstance(o.by, date):
                continue
            if o.trigger is not None and o.by < _day(o.trigger.at, zone):
                scan.before_trigger.add(f, f"`{rule.id}` is due by {o.by}, but its trigger `{o.trigger.type}` "
                                           f"happens on {_day(o.trigger.at, zone)}")
            first = _first_recording(f.decision, zone)
            if first is not None and o.by < first:
                scan.before_footage.add(f, f"`{rule.id}` is due by {o.by}, but no recording window opens "
                                           f"before {first}")
    return scan


@dataclass
class PairScan:
    a: LintRule
    b: LintRule
    witness: Seen
    search: Search
    conflict: Conflict | None = None


def pair_scan(ctx: LintContext, a: LintRule, b: LintRule, kind: str) -> PairScan:
    """The first incident whose decision reports an unsettled conflict of `kind` between rules a and b."""
    key = ("pair", kind, a.ref, a.id, b.ref, b.id)
    return ctx.memo(key, lambda: _scan_pair(ctx, a, b, kind))


@dataclass(frozen=True)
class PairView:
    """What a pair scan reads of a decision, for every pair at once: the rules with an obligation in force
    (by ruleset and id), and the first unresolved conflict of each kind between each two rules."""

    in_force: frozenset[tuple[str, str]]
    unsettled: dict[tuple[str, frozenset[str]], Conflict]


def pair_view(decision: Decision) -> PairView:
    unsettled: dict[tuple[str, frozenset[str]], Conflict] = {}
    for c in decision.conflicts:
        if c.resolution == "unresolved":
            unsettled.setdefault((c.kind, frozenset(c.rules)), c)
    # A rule is in force when some obligation of it is not set aside by a rule that overrides it.
    return PairView(frozenset((o.ruleset, o.rule) for o in decision.obligations if o.overridden_by is None),
                    unsettled)


def _scan_pair(ctx: LintContext, a: LintRule, b: LintRule, kind: str) -> PairScan:
    if ctx.prune and ctx.exclusions.exclusive(a.compiled, b.compiled):
        # No incident makes both rules apply, so no decision can show them in conflict: nothing to search
        # (and nothing decided, so the report's `searched` counts none for it).
        return PairScan(a, b, Seen(), Search(0, 0, True))
    plan = ctx.plan([a, b, *ctx.overriders(a), *ctx.overriders(b)])
    wanted = (kind, frozenset((a.id, b.id)))
    seen = Seen()
    conflict = None
    for number, incident, view in ctx.replay(plan, "pair", pair_view):
        # Both rules in force: a third rule that sets one of them aside settles the matter for this incident.
        if (a.ref, a.id) not in view.in_force or (b.ref, b.id) not in view.in_force:
            continue
        hit = view.unsettled.get(wanted)
        if hit is not None:
            seen.saw(number, incident, hit.detail)
            conflict = hit
            break
    return PairScan(a, b, seen, Search(plan.planned, plan.space.size, plan.complete, seen.at), conflict)
