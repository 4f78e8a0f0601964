"""The incidents a lint search tries for some rules: built from what those rules' conditions mention.

A rule's outcome depends only on the facts, event types and attributes it names, and a test on a value
only tells apart the values it mentions (and, for an ordering, the values either side of its bound). So
the search gives each fact and attribute the values the rules mention, one value they do not (the
"other" value) and, where a test could tell it apart, no value at all; each event type the rules name
is present with one of its attribute combinations, or absent. Every combination of those choices is an
incident; when there are more than the search's limit, a fixed sample is taken (seeded by the rules'
ids, so that the same ruleset always gives the same incidents).

The events of an incident follow one another in the order the rules first name them (trigger,
conditions, then anchors), a minute apart; three more timelines try them in reverse order, and 400 days
apart in either order (so that a deadline counted from an early event can fall before a late one).
What the search cannot build: two events of one type with different attributes (except the repeated
steps of a `sequence`), and an order of events other than these four.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from policy.conditions import (
    AllCondition,
    AnyCondition,
    Comparison,
    EventCondition,
    FactsCondition,
    NotCondition,
    Operator,
    SequenceCondition,
)
from policy.model import Rule
from policy.obligations import (
    INCIDENT,
    RULE_APPLIES,
    AccessObligation,
    DeleteObligation,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
    anchor_names,
)
from policy.vocabulary import NUMERIC, Spec, ValueType, Vocabulary

ORDERING = {Operator.LESS_THAN, Operator.AT_MOST, Operator.MORE_THAN, Operator.AT_LEAST}
ATTRIBUTE_COMBINATIONS = 12  # at most this many attribute combinations of one event type


class _Absent:
    """No value recorded (the fact or attribute is left out of the incident)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


@dataclass(frozen=True)
class Timeline:
    name: str
    gap: timedelta
    reverse: bool


TIMELINES = (
    Timeline("in order, a minute apart", timedelta(minutes=1), False),
    Timeline("in reverse order, a minute apart", timedelta(minutes=1), True),
    Timeline("in order, 400 days apart", timedelta(days=400), False),
    Timeline("in reverse order, 400 days apart", timedelta(days=400), True),
)


@dataclass
class Mentions:
    """The facts, event types and attributes some rules name, each with the tests on it, in order."""

    facts: dict[str, list[Comparison]] = field(default_factory=dict)
    events: dict[str, dict[str, list[Comparison]]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)  # event types a sequence needs more than once

    def event(self, etype: str, where: dict[str, Comparison] | None = None) -> None:
        if etype in (INCIDENT, RULE_APPLIES):
            return
        attrs = self.events.setdefault(etype, {})
        for name, test in (where or {}).items():
            attrs.setdefault(name, []).append(test)

    def condition(self, cond: Any) -> None:
        if isinstance(cond, AllCondition | AnyCondition):
            for c in (cond.all if isinstance(cond, AllCondition) else cond.any):
                self.condition(c)
        elif isinstance(cond, NotCondition):
            self.condition(cond.not_)
        elif isinstance(cond, FactsCondition):
            for name, test in cond.facts.items():
                self.facts.setdefault(name, []).append(test)
        elif isinstance(cond, EventCondition):
            self.event(cond.event, cond.where)
        elif isinstance(cond, SequenceCondition):
            counts: dict[str, int] = {}
            for step in cond.sequence:
                self.event(step.event, step.where)
                counts[step.event] = counts.get(step.event, 0) + 1
            for etype, n in counts.items():
                self.repeats[etype] = max(self.repeats.get(etype, 0), n - 1)

    def rule(self, rule: Rule) -> None:
        if rule.on is not None:
            self.event(rule.on, rule.where)
        for cond in (rule.when, rule.unless):
            if cond is not None:
                self.condition(cond)
        for name in obligation_anchors(rule):
            self.event(name)
        if isinstance(rule.release, ReleaseObligation):
            for d in rule.release.may_delay:
                if d.only_if is not None:
                    self.condition(d.only_if)


def obligation_anchors(rule: Rule) -> list[str]:
    """The event types a rule's obligation counts from or opens and closes at, in the order written."""
    ob = rule.obligation
    names: list[str | None] = []
    if isinstance(ob, WindowObligation):
        names = [ob.from_, ob.until]
    elif isinstance(ob, RetainObligation):
        names = [*anchor_names(ob.after), ob.until, "legal_hold_placed" if ob.legal_hold else None,
                 "legal_hold_released" if ob.legal_hold else None]
    elif isinstance(ob, DeleteObligation):
        names = list(anchor_names(ob.after))
    elif isinstance(ob, AccessObligation):
        names = [ob.after, ob.before]
    elif isinstance(ob, ReleaseObligation):
        names = list(anchor_names(ob.after))
        for d in ob.may_delay:
            names += [*anchor_names(d.after), d.ends_on]
    return [n for n in names if n and n not in (INCIDENT, RULE_APPLIES)]


def _unique(values: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out


def domain(spec: Spec, tests: Sequence[Comparison], vocab: Vocabulary) -> tuple[Any, ...]:
    """The values worth trying for one fact or attribute, given the tests on it (ABSENT: left out)."""
    mentioned: list[Any] = []
    for t in tests:
        mentioned += t.value if isinstance(t.value, list) else [t.value]
    mentioned = [v for v in mentioned if not isinstance(v, bool) or spec.type is ValueType.BOOLEAN]
    ordering = any(t.op in ORDERING for t in tests)
    absent_differs = ordering or any(t.op is Operator.EXISTS for t in tests)
    allowed = vocab.allowed_values(spec)
    values: list[Any]
    if spec.type is ValueType.BOOLEAN:
        values = _unique([*[v for v in mentioned if isinstance(v, bool)], True, False])
    elif allowed is not None:
        named = [v for v in mentioned if v in allowed]
        if ordering and spec.ordered:
            # either side of each bound, so that every ordering test is tried both true and false
            near = [allowed[i] for v in named for i in (allowed.index(v) - 1, allowed.index(v) + 1)
                    if 0 <= i < len(allowed)]
            named = [*named, *near]
        other = [v for v in allowed if v not in named][:1]
        values = _unique([*named, *other]) or list(allowed[:1])
    elif spec.type in NUMERIC:
        step = 1 if spec.type is ValueType.INTEGER else 0.5
        numbers = [v for v in mentioned if isinstance(v, int | float)]
        tried = [x for v in numbers for x in (v, v - step, v + step)]
        if spec.type is ValueType.INTEGER:
            tried = [int(x) for x in tried if float(x).is_integer()]
        low, high = spec.minimum, spec.maximum
        tried = [x for x in tried if (low is None or x >= low) and (high is None or x <= high)]
        if not tried:
            tried = [int(low) if low is not None and spec.type is ValueType.INTEGER else (low if low is not None
                                                                                        else 1)]
        values = _unique(tried)
    elif spec.type is ValueType.DATE:
        days = [date.fromisoformat(v) if isinstance(v, str) else v for v in mentioned if isinstance(v, str | date)]
        tried_days = _unique([d + timedelta(days=k) for d in days for k in (0, -1, 1)]) or [date(2000, 1, 1)]
        values = [d.isoformat() for d in tried_days]
    else:  # text
        values = _unique([*[v for v in mentioned if isinstance(v, str)], "other"])
    if absent_differs:
        values.append(ABSENT)
    return tuple(values)


@dataclass(frozen=True)
class Slot:
    """One event of the incidents searched: its type and the attribute combinations tried (None: absent)."""

    type: str
    options: tuple[dict[str, Any] | None, ...]
    fixed: bool = False  # always present, first (the ruleset's `version_date` event)
    attributes: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # each tested attribute and the values it may take

    def combinations(self, cap: int) -> Iterator[dict[str, Any]]:
        """Attribute combinations beyond `options` (at most `cap`), for aiming at a test the options miss."""
        product = itertools.product(*(d for _, d in self.attributes))
        for combo in itertools.islice(product, cap):
            yield {name: v for (name, _), v in zip(self.attributes, combo, strict=True) if v is not ABSENT}


def _combinations(attrs: list[tuple[str, tuple[Any, ...]]]) -> list[dict[str, Any]]:
    """Attribute combinations of one event: each value of each attribute at least once, then others in order."""
    if not attrs:
        return [{}]
    longest = max(len(d) for _, d in attrs)
    picks = [tuple(d[i % len(d)] for _, d in attrs) for i in range(longest)]
    for combo in itertools.product(*(d for _, d in attrs)):
        if len(picks) >= ATTRIBUTE_COMBINATIONS:
            break
        if combo not in picks:
            picks.append(combo)
    return [{name: v for (name, _), v in zip(attrs, combo, strict=True) if v is not ABSENT} for combo in picks]


@dataclass(frozen=True)
class Space:
    """The incidents to try for some rules: every combination of fact values and event options."""

    facts: tuple[tuple[str, tuple[Any, ...]], ...]
    slots: tuple[Slot, ...]
    start: str  # the event that opens every incident (it decides the incident's date)
    seed: int

    @property
    def dimensions(self) -> list[tuple[Any, ...]]:
        return [d for _, d in self.facts] + [s.options for s in self.slots]

    @property
    def size(self) -> int:
        n = 1
        for d in self.dimensions:
            n *= len(d)
        return n

    def choices(self, limit: int, aimed: Sequence[tuple[Any, ...]] = ()) -> tuple[list[tuple[Any, ...]], bool]:
        """The combinations to try, `aimed` ones first: all of them if there are no more than `limit` (then
        the search is complete), else a fixed sample of `limit`."""
        dims = self.dimensions
        picked: list[tuple[Any, ...]] = []
        seen: set[str] = set()

        def add(combo: tuple[Any, ...]) -> None:
            k = _key(combo)
            if k not in seen:
                seen.add(k)
                picked.append(combo)

        for combo in aimed:
            add(combo)
        if self.size <= limit:
            for combo in itertools.product(*dims):
                add(combo)
            return picked, True
        # Then each value of each dimension (the first combination is every first value: every event
        # present, with the values the rules name), then a sample seeded by the rules.
        longest = max((len(d) for d in dims), default=1)
        for i in range(longest):
            add(tuple(d[i % len(d)] for d in dims))
        rng = random.Random(self.seed)
        attempts = 0
        while len(picked) < limit and attempts < limit * 20:
            attempts += 1
            add(tuple(d[rng.randrange(len(d))] for d in dims))
        return picked[:max(limit, len(aimed))], False

    def incident(self, combo: tuple[Any, ...], timeline: Timeline, start: datetime, zone: ZoneInfo,
                 number: int) -> dict[str, Any]:
        """The incident of one combination on one timeline, as `bwc decide` reads it."""
        nf = len(self.facts)
        facts = {name: v for (name, _), v in zip(self.facts, combo[:nf], strict=True) if v is not ABSENT}
        present = [(s, o) for s, o in zip(self.slots, combo[nf:], strict=True) if o is not None]
        fixed = [p for p in present if p[0].fixed]
        rest = [p for p in present if not p[0].fixed]
        if timeline.reverse:
            rest.reverse()
        events: list[tuple[str, dict[str, Any]]] = [] if fixed else [(self.start, {})]
        events += [(s.type, o) for s, o in fixed + rest]
        base = start.astimezone(ZoneInfo("UTC"))
        out = []
        for k, (etype, attrs) in enumerate(events):
            at = (base + timeline.gap * k).astimezone(zone)
            out.append({"type": etype, "at": at.isoformat(), **attrs})
        return {"id": f"lint-{number}", "timezone": zone.key, "facts": facts, "events": out}


def _key(combo: tuple[Any, ...]) -> str:
    return repr(combo)


def build(rules: Sequence[Rule], vocab: Vocabulary, version_date: str, start: str) -> Space:
    """The search space of some rules, read against the vocabulary incidents are read with."""
    m = Mentions()
    for r in rules:
        m.rule(r)
    facts = tuple((name, domain(vocab.facts[name], tests, vocab)) for name, tests in m.facts.items()
                  if name in vocab.facts)
    slots: list[Slot] = []
    if version_date != INCIDENT:
        m.event(version_date)
    for etype, attrs in m.events.items():
        if etype not in vocab.events:
            continue  # a name only a base ruleset declares: incidents under this ruleset cannot hold it
        specs = vocab.attributes_of(etype)
        doms = [(a, domain(specs[a], tests, vocab)) for a, tests in attrs.items() if a in specs]
        combos = _combinations(doms)
        fixed = etype == version_date
        options: tuple[dict[str, Any] | None, ...] = tuple(combos) if fixed else (*combos, None)
        slots.append(Slot(etype, options, fixed, tuple(doms)))
        for _ in range(m.repeats.get(etype, 0)):
            slots.append(Slot(etype, (*combos, None), attributes=tuple(doms)))
    slots.sort(key=lambda s: not s.fixed)  # the judging event first; the others in the order named
    seed = int.from_bytes(hashlib.sha256("\n".join(r.id for r in rules).encode()).digest()[:8], "big")
    return Space(facts, tuple(slots), start, seed)


def first_day(start: date, zone: ZoneInfo) -> datetime:
    """The first event's time on the day the search dates its incidents: 09:00 there."""
    return datetime.combine(start, time(9, 0), tzinfo=zone)


def incidents(combos: Sequence[tuple[Any, ...]], space: Space, start: datetime,
              zone: ZoneInfo) -> Iterator[dict[str, Any]]:
    """Every incident of the search, each combination on each timeline in turn."""
    n = 0
    for combo in combos:
        for timeline in TIMELINES:
            n += 1
            try:
                made = space.incident(combo, timeline, start, zone, n)
            except (OverflowError, ValueError):
                continue  # a timeline that runs past the year 9999: no incident can hold it
            yield made
