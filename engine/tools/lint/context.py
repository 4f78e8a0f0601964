"""What every lint check reads: the ruleset, the layers it extends, where each rule is written, and the search.

The search decides incidents through the real engine (`engine.api.Policy.decide`, as `bwc decide
--policy ID@VERSION` does), so an example a check reports is one the engine reproduces.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar, cast
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from engine.api import ERRORS, Decision, Library, Obligation, Policy
from engine.core.program import And, CompiledRule, Const
from engine.tools.lint.finding import Place, Search
from engine.tools.lint.solve import Exclusions, Goal, aimed
from engine.tools.lint.space import TIMELINES, Mentions, Space, build, first_day, incidents
from policy.in_force import judging_version
from policy.model import Rule, Ruleset
from policy.repository import Entry

T = TypeVar("T")
V = TypeVar("V")
DEFAULT_LIMIT = 256  # value combinations per search (each decided on every timeline)
REPLAYS = 8  # searches whose decisions are kept for the next searches of the same incidents
REPLAY_INCIDENTS = 4 * 1024  # a search of more incidents is not kept (memory)
KEEP_DECISIONS = 4 * 16  # nor, of whole decisions, one of more than this


def _whole(decision: Decision) -> Decision:
    """A rule's scan reads all of a decision: kept as it is."""
    return decision


@dataclass(frozen=True)
class LintRule:
    """A rule of the linted ruleset (`own`) or of a ruleset it extends, with where it is written."""

    rule: Rule
    ruleset: Ruleset
    own: bool
    place: Place
    compiled: CompiledRule

    def goals(self) -> list[Goal]:
        """What the search aims at for this rule: its condition, and its condition with each delay's `only_if`."""
        c = self.compiled
        out: list[Goal] = [(c.trigger, c.trigger_tests, c.condition)]
        out += [(c.trigger, c.trigger_tests, And((c.condition, d))) for d in c.delay_conditions
                if not (isinstance(d, Const) and d.value)]
        return out

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def ref(self) -> str:
        return self.ruleset.ref

    def obligations(self, decision: Decision) -> list[Obligation]:
        """This rule's obligations in a decision."""
        return [o for o in decision.obligations if o.rule == self.id and o.ruleset == self.ref]


@dataclass(frozen=True)
class Found:
    """One incident of a search and its decision; `number` counts the incidents decided (from 1)."""

    number: int
    incident: dict[str, Any]
    decision: Decision


def _entry(library: Library, ruleset: Ruleset) -> Entry | None:
    # Looked up by version, not by scanning the ruleset's versions: this runs once per rule, and a
    # scan made `bwc check` of a ruleset with 1,000 versions quadratic. (The entry of a version is the
    # only one that can hold `ruleset` itself.)
    return library.repository.entry(ruleset.ruleset, ruleset.version)


def _on(day: date) -> Callable[[Ruleset], date]:
    """The same day for every version (a `DayOf` for policy.in_force)."""
    return lambda _r: day


def place_of(library: Library, ruleset: Ruleset, path: tuple[str | int, ...], rule: str | None) -> Place:
    """Where a key of a ruleset (`("rules", 3)`, `("extends",)`) is written: file and line."""
    entry = _entry(library, ruleset)
    if entry is None:
        return Place(ruleset.ref, rule, ruleset.ref, None)
    pos = entry.doc.position(path, key=True)
    return Place(ruleset.ref, rule, str(entry.file), pos[0] if pos else None)


@dataclass(frozen=True)
class BaseLayer:
    """What a lint reads of an extended ruleset: its rules, with where each is written, and the event types
    they name."""

    ruleset: Ruleset
    rules: list[LintRule]
    events: frozenset[str]


# By library, the base layers already read: each version of a chain of `extends` is linted with every
# layer under it, and reading them all again for each made the chain quadratic in its rules.
_LAYERS: WeakKeyDictionary[Library, dict[str, BaseLayer]] = WeakKeyDictionary()


def _layer(library: Library, base: Ruleset) -> BaseLayer:
    """An extended ruleset's rules as every lint of a ruleset above it reads them (read once per library)."""
    layers = _LAYERS.setdefault(library, {})
    found = layers.get(base.ref)
    if found is not None and found.ruleset is base:
        return found
    program = library.policy(base).program
    rules = [LintRule(r, base, False, place_of(library, base, ("rules", i), r.id), c)
             for i, (r, c) in enumerate(zip(base.rules, program.rules, strict=True))]
    m = Mentions()
    for r in rules:
        m.rule(r.rule)
    layers[base.ref] = made = BaseLayer(base, rules, frozenset(m.events))
    return made


class LintContext:
    """One ruleset version with its layers, ready to be searched."""

    def __init__(self, library: Library, ruleset: Ruleset, limit: int = DEFAULT_LIMIT, *,
                 fast_only: bool = False, prune: bool = True) -> None:
        self.library = library
        self.ruleset = ruleset
        self.limit = limit
        self.fast_only = fast_only  # `bwc check`: the static checks, without searching for examples
        self.policy: Policy = library.policy(ruleset)
        self.vocab = self.policy.program.vocabulary
        self.zone = ZoneInfo(ruleset.timezone)
        self.day = self._day()
        self.start = first_day(self.day, self.zone)
        self.bases = self._bases()
        self.rules = [LintRule(r, ruleset, True, place_of(library, ruleset, ("rules", i), r.id), c)
                      for i, (r, c) in enumerate(zip(ruleset.rules, self.policy.program.rules, strict=True))]
        for base in self.bases:
            self.rules += _layer(library, base).rules
        self.own = [r for r in self.rules if r.own]
        # The rules naming each id in `overrides`, in the order of `rules`: looked up for every rule by
        # several checks, which scanning every rule of every layer made quadratic in a chain of layers.
        self._overriders: dict[str, list[LintRule]] = {}
        for r in self.rules:
            for name in dict.fromkeys(r.rule.overrides):
                self._overriders.setdefault(name, []).append(r)
        self.start_event = self._start_event()
        self.searched = 0  # incidents decided, in all
        self.bounded = False  # whether some search took a sample rather than every combination
        self.prune = prune
        self.exclusions = Exclusions()
        self._scans: dict[tuple[str, ...], object] = {}
        self._replays: OrderedDict[str, Replay[Any]] = OrderedDict()

    @property
    def ref(self) -> str:
        return self.ruleset.ref

    def _day(self) -> date:
        """The day the search dates its incidents: the first day in force of this ruleset on which a version of
        each ruleset it extends is in force too (the first day in force, if there is none)."""
        own = self.ruleset.effective
        families = []
        p = self.policy
        while p.bases:
            families.append([b.program.ruleset for b in p.bases])
            p = p.bases[-1]
        candidates = sorted({own.from_} | {r.effective.from_ for f in families for r in f
                                           if own.covers(r.effective.from_)})
        for day in candidates:
            if all(judging_version(f, _on(day)).effective.covers(day) for f in families):
                return day
        return own.from_

    def _bases(self) -> list[Ruleset]:
        """The versions of the extended rulesets that judge incidents of the search's day, nearest first."""
        try:
            probe = self.policy.read({"id": "lint-probe", "timezone": self.zone.key, "facts": {},
                                      "events": [{"type": self.ruleset.version_date if self.ruleset.version_date
                                                  in self.vocab.events else next(iter(self.vocab.events)),
                                                  "at": self.start.isoformat()}]})
            return [p.program.ruleset for p in self.policy.chain(probe)[1:]]
        except ERRORS:
            return [p.program.ruleset for p in self.policy.chain()[1:]]  # the newest versions

    def _start_event(self) -> str:
        """An event type no rule of any layer names: the incident's opening event, which changes no outcome."""
        m = Mentions()
        for r in self.own:
            m.rule(r.rule)
        named = set(m.events).union(*(_layer(self.library, b).events for b in self.bases))
        # Preferably the events that open most incidents, so that examples read like one.
        ordered = [*(e for e in ("dispatched", "arrived") if e in self.vocab.events), *sorted(self.vocab.events)]
        unused = [e for e in ordered if e not in named]
        return unused[0] if unused else ordered[0]

    def rule(self, rule_id: str, ruleset: str | None = None) -> LintRule | None:
        for r in self.rules:
            if r.id == rule_id and (ruleset is None or r.ref == ruleset):
                return r
        return None

    def overriders(self, target: LintRule) -> list[LintRule]:
        """The rules, in every layer, that name `target` in `overrides` (precedence matches rule ids)."""
        return [r for r in self._overriders.get(target.id, ()) if r is not target]

    def space(self, rules: Sequence[LintRule]) -> Space:
        return build([r.rule for r in rules], self.vocab, self.ruleset.version_date, self.start_event)

    def decide(self, incident: dict[str, Any]) -> Decision | None:
        """The engine's decision, as `bwc decide --policy ID@VERSION` makes it; None if it refuses the incident."""
        try:
            return self.policy.decide(incident, explain=False)
        except ERRORS:
            return None

    def plan(self, rules: Sequence[LintRule]) -> Plan:
        """The combinations a search of the rules decides (the report is `bounded` if they are a sample)."""
        space = self.space(rules)
        goals = [g for r in rules for g in r.goals()]
        combos, complete = space.choices(self.limit, aimed(space, goals, together=True))
        self.bounded = self.bounded or not complete
        return Plan(space, combos, complete)

    def search(self, rules: Sequence[LintRule]) -> SearchRun:
        """The incidents of the rules' search space with their decisions (those the engine refuses are
        passed over), and how many there are."""
        plan = self.plan(rules)
        # Whole decisions are kept only for small searches (memory): rules that mention the same few
        # things, such as many rules with no condition, search the same incidents.
        found = (Found(n, inc, d) for n, inc, d in self.replay(plan, "decision", _whole, keep=KEEP_DECISIONS))
        return SearchRun(found, plan.space.size, plan.complete, plan.planned)

    def _decided(self, plan: Plan) -> Iterator[tuple[int, dict[str, Any], Decision | None]]:
        for n, inc in enumerate(incidents(plan.combos, plan.space, self.start, self.zone), start=1):
            yield n, inc, self.decide(inc)

    def replay(self, plan: Plan, kind: str, read: Callable[[Decision], V], *,
               keep: int = REPLAY_INCIDENTS) -> Iterator[tuple[int, dict[str, Any], V]]:
        """The incidents of a plan (numbered as `search` numbers them), each decision read by `read`, and
        counted in `searched` as `search` counts them: passed over when refused, one by one as the caller
        goes on. A plan that makes the same incidents as a recent one of the same `kind` is not decided
        again: the decisions already read are replayed (the same incident always gets the same decision).
        Pairs of rules that mention the same things (160 `retain` rules against 160 `delete` rules with no
        condition) all search the same few incidents."""
        if plan.planned > keep:
            return self._unkept(plan, read)  # too big to keep
        # The incidents of a plan are made from exactly these (the day and zone are the context's).
        key = kind + "\n" + repr((plan.space.facts, plan.space.slots, plan.space.start, plan.combos))
        kept = self._replays.get(key)
        if kept is None:
            kept = self._replays[key] = Replay(self._decided(plan), read)
            while len(self._replays) > REPLAYS:
                self._replays.popitem(last=False)
        else:
            self._replays.move_to_end(key)
        return self._replayed(cast(Replay[V], kept))

    def _unkept(self, plan: Plan, read: Callable[[Decision], V]) -> Iterator[tuple[int, dict[str, Any], V]]:
        for n, inc, d in self._decided(plan):
            self.searched += 1
            if d is not None:
                yield n, inc, read(d)

    def _replayed(self, kept: Replay[V]) -> Iterator[tuple[int, dict[str, Any], V]]:
        k = 0
        while True:
            if k == len(kept.seen) and not kept.more():
                return
            n, inc, view = kept.seen[k]
            k += 1
            self.searched += 1
            if view is not None:
                yield n, inc, view

    def memo(self, key: tuple[str, ...], make: Callable[[], T]) -> T:
        """A scan made once per key and shared by the checks that read it."""
        if key not in self._scans:
            self._scans[key] = make()
        return cast(T, self._scans[key])


@dataclass(frozen=True)
class Plan:
    """The combinations one search decides, each on every timeline."""

    space: Space
    combos: list[tuple[Any, ...]]
    complete: bool

    @property
    def planned(self) -> int:
        return len(self.combos) * len(TIMELINES)


class Replay(Generic[V]):
    """The incidents of one plan with their decisions as read so far (None: refused), and the rest to come."""

    def __init__(self, source: Iterator[tuple[int, dict[str, Any], Decision | None]],
                 read: Callable[[Decision], V]) -> None:
        self.source = source
        self.read = read
        self.seen: list[tuple[int, dict[str, Any], V | None]] = []

    def more(self) -> bool:
        """Decide the next incident; False when there is none left."""
        for n, inc, d in self.source:
            self.seen.append((n, inc, None if d is None else self.read(d)))
            return True
        return False


@dataclass(frozen=True)
class SearchRun:
    """A search under way: its incidents as they are decided, and what it covers."""

    found: Iterator[Found]
    combinations: int
    complete: bool
    planned: int  # incidents it decides when run to the end

    def summary(self, found_at: int | None = None) -> Search:
        """What the search covered, and where (if anywhere) the example was found."""
        return Search(self.planned, self.combinations, self.complete, found_at)
