"""Compiling a ruleset version, with the versions it extends, into its category table.

The versions are chosen as the engine chooses them (engine.api): `ID@VERSION` is that version; `ID`
is the newest version, or with an as-of time the version in force on that day (`judging_version`, as
for an incident of that day); each extended ruleset is its newest accepted version, or with an as-of
time the one in force on that day (as `Policy.chain` chooses for an incident).

Every `retain` rule becomes a minimum and every `delete` rule a maximum. Where a rule with no trigger
and no condition (a blanket: it governs every recording) meets a rule it contradicts, the engine's
precedence settles which prevails (docs/semantics.md, "Precedence and conflicts"): a legal hold over
any deletion, then explicit `overrides`, then the extended ruleset over the one building on it; what
it leaves open is a conflict. Two conditional rules are never compared here: whether they can meet
depends on the incident, which `bwc decide` judges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from engine.api import Library, Policy, SelectionError
from engine.tools.categories.model import RECORDING, Category, CategoryTable, Exemption, Limit, SetAside
from engine.tools.categories.spans import DurationIndex, day_range, never_shorter
from policy.conditions import NotCondition, SequenceCondition
from policy.describe import anchor as anchor_words
from policy.describe import describe_applies, describe_condition
from policy.duration import Duration
from policy.in_force import ENACTED, judging_version
from policy.model import Confidence, Rule, Ruleset
from policy.obligations import INCIDENT, DeleteObligation, Earliest, RetainObligation

LEGAL_HOLD = "legal_hold"
INDEFINITELY = "indefinitely"


def chain(library: Library, ref: str, as_of: datetime | None = None) -> list[Policy]:
    """The version `ref` names (see the module's docstring) and the versions it extends, selected first.
    Raises SelectionError for an unknown ruleset or version."""
    rid, _, pinned = ref.partition("@")
    selected = library.select(ref) if pinned or as_of is None else _in_force(library.versions_of(rid), as_of)
    out = [selected]
    seen = {id(selected)}
    while out[-1].bases:
        bases = out[-1].bases
        base = _in_force(bases, as_of) if as_of is not None else bases[-1]
        if id(base) in seen:  # the repository refuses circles; this only guards
            break
        seen.add(id(base))
        out.append(base)
    return out


def _in_force(family: Sequence[Policy], as_of: datetime) -> Policy:
    """The member of `family` that would judge an incident on the day of `as_of` (in each version's zone)."""
    try:
        chosen = judging_version([p.program.ruleset for p in family],
                                 lambda r: as_of.astimezone(ZoneInfo(r.timezone)).date())
    except (OverflowError, ValueError):
        raise SelectionError(f"{as_of.isoformat()} has no date in the rulesets' time zones") from None
    return next(p for p in family if p.program.ruleset is chosen)


def compile_table(library: Library, ref: str, as_of: datetime | None = None) -> CategoryTable:
    """The category table of `ref` (ID or ID@VERSION) with its layers. Raises SelectionError."""
    layers = [p.program.ruleset for p in chain(library, ref, as_of)]
    table = table_of(layers, as_of)
    if as_of is None:
        return table
    late = [_not_in_force(r, as_of) for r in layers]
    return replace(table, notes=(*table.notes, *(n for n in late if n)))


def _not_in_force(ruleset: Ruleset, as_of: datetime) -> str | None:
    """A note when the version compiled for `as_of` was not in force on its day (none was; or a draft)."""
    day = as_of.astimezone(ZoneInfo(ruleset.timezone)).date()
    if ruleset.status in ENACTED and ruleset.effective.covers(day):
        return None
    return (f"{ruleset.ref} ({ruleset.status.value}, in effect from {ruleset.effective.from_}"
            f"{f' to {ruleset.effective.until}' if ruleset.effective.until else ''}) was not in force on {day}: no "
            "version was; it is the version the engine would judge that day's incidents by.")


def table_of(layers: Sequence[Ruleset], as_of: datetime | None = None) -> CategoryTable:
    """The category table of `layers`: a ruleset version, then the version it extends, and so on."""
    rules = [(k, r, rule) for k, r in enumerate(layers) for rule in r.rules if rule.kind in ("retain", "delete")]
    clashing = {rid for rid, n in Counter(rule.id for _, _, rule in rules).items() if n > 1}
    categories = [_category(k, r, rule, rule.id in clashing) for k, r, rule in rules]
    kept, set_aside, exemptions = _precedence(categories)
    notes = [f"{r.ref} is {r.status.value}, not adopted: configure a system from it only as a trial of the proposal."
             for r in layers if r.status.value in ("draft", "proposed")]
    if not categories:
        notes.append("The ruleset and the rulesets it extends set no retention or deletion rule: they put no limit "
                     "on the category table, whose durations are the department's own choice (or another law's).")
    return CategoryTable(ruleset=layers[0].ref, title=layers[0].title, layers=tuple(r.ref for r in layers),
                         as_of=as_of.isoformat() if as_of is not None else None, categories=tuple(kept),
                         set_aside=tuple(set_aside), exemptions=exemptions, notes=tuple(notes))


# --- one rule, one category -------------------------------------------------------------------------------

def _counts_from(after: str | Earliest | None) -> str:
    if after is None or after == INCIDENT:
        return RECORDING
    if isinstance(after, Earliest):
        return "earliest of " + ", ".join(RECORDING if a == INCIDENT else a for a in after.earliest)
    return after


def _category(layer: int, ruleset: Ruleset, rule: Rule, qualify: bool) -> Category:
    o = rule.obligation
    limit = Limit.MINIMUM if isinstance(o, RetainObligation) else Limit.MAXIMUM
    duration: Duration | None
    after: str | Earliest | None
    if isinstance(o, DeleteObligation):
        duration, keeps_until, after = o.within, None, o.after
    else:
        assert isinstance(o, RetainObligation)
        duration, after = o.at_least, o.after
        keeps_until = None if duration is not None else (
            INDEFINITELY if o.indefinitely else LEGAL_HOLD if o.legal_hold else o.until)
    applies = describe_applies(rule)
    category = Category(
        id=f"{ruleset.ruleset}/{rule.id}" if qualify else rule.id, limit=limit, ruleset=ruleset.ref, layer=layer,
        rule=rule.id, cite=rule.cite, confidence=rule.confidence.value if rule.confidence else None,
        summary=rule.summary, conditions=applies, rule_notes=rule.notes, duration=duration,
        keeps_until=keeps_until, counts_from=_counts_from(after), holidays=tuple(str(d) for d in ruleset.holidays),
        blanket=rule.on is None and rule.when is None and rule.unless is None, overrides=tuple(rule.overrides))
    return _with_notes(category, rule, after)


def _with_notes(c: Category, rule: Rule, after: str | Earliest | None) -> Category:
    notes: list[str] = []
    if c.blanket:
        notes.append("No condition: every recording falls under it, so every row of the table must respect it "
                     "(the check holds every row to it), not only the default category's.")
    if c.keeps_until is not None:
        how = {INDEFINITELY: "indefinitely",
               LEGAL_HOLD: "while a legal hold is in place"}.get(c.keeps_until, f"until a `{c.keeps_until}` event")
        notes.append(f"No fixed duration: the ruleset keeps this footage {how}. Configure it as kept until manually "
                     "deleted (indefinite), and delete it by hand only when that has ended.")
    elif c.duration is not None:
        span = day_range(c.duration, [])
        if c.duration.business_days:
            notes.append(f"Counted in business days ({c.duration}), which skip weekends and the ruleset's holidays: "
                         "no day count is exact; the check compares by the fewest and most days it can last.")
        elif span.exact is None:
            covers = (f"a row of {int(span.high)} days keeps it long enough from every start day" if c.limit is
                      Limit.MINIMUM else f"a row of {int(span.low)} days stays within it from every start day")
            notes.append(f"Calendar-aware: {c.duration} lasts {int(span.low)} to {int(span.high)} days depending on "
                         f"the day it starts; {covers}.")
    if c.counts_from != RECORDING and c.keeps_until is None:
        words = anchor_words(after) if after is not None else c.counts_from
        if c.limit is Limit.MINIMUM:
            notes.append(f"Counted from {words}, not from the recording date. A system counting from the recording "
                         "date deletes the footage too early when that comes later: count from that event if the "
                         "system can (counts_from), or keep it until manually deleted.")
        else:
            notes.append(f"Counted from {words}; a system counting from the recording date deletes no later.")
    if c.limit is Limit.MAXIMUM and rule.unless is not None:
        notes.append(f"Not bound by this maximum when {describe_condition(rule.unless)}. The ruleset sets no minimum "
                     "for that footage in this rule: give it categories of the department's own, which this maximum "
                     "does not bound.")
    elif rule.unless is not None:
        notes.append(f"Does not apply when {describe_condition(rule.unless)}; that footage is governed by the other "
                     "categories of this table, or by other law the ruleset does not encode.")
    if _timed(rule.when) or _timed(rule.unless):
        notes.append("Its condition depends on the order or timing of events: someone must judge when it holds and "
                     "give the video this category then.")
    if c.counts_from.startswith("earliest of") or c.counts_from == "rule_applies":
        notes.append("`rule_applies` is the moment the rule's condition first held (the first event it names).")
    if rule.applies_to_existing_footage:
        notes.append("Applies also to footage recorded before this version came into force: re-check the videos "
                     "already stored.")
    if rule.confidence is not None and rule.confidence is not Confidence.VERIFIED:
        notes.append(f"The rule's reading is {rule.confidence.value}, not checked against the official text.")
    return replace(c, notes=tuple(notes))


def _timed(cond: object) -> bool:
    """Whether a condition tests the order of events (a `sequence`), anywhere inside it."""
    if cond is None:
        return False
    if isinstance(cond, SequenceCondition):
        return True
    if isinstance(cond, NotCondition):
        return _timed(cond.not_)
    return any(_timed(c) for c in (getattr(cond, "all", None) or getattr(cond, "any", None) or ()))


# --- precedence between blanket categories and the others ---------------------------------------------------

def _exceeds(minimum: Category, maximum: Category) -> bool:
    """Whether a minimum can keep footage past a maximum: no fixed duration, a later start than the
    maximum's, or a duration longer on some start day."""
    if minimum.duration is None:
        return True
    if minimum.counts_from not in (RECORDING, maximum.counts_from):
        return True
    assert maximum.duration is not None
    return not never_shorter(maximum.duration, minimum.duration, minimum.holidays)


def _settle(a: Category, b: Category) -> tuple[Category, Category, str] | None:
    """Which of two contradicting categories prevails (winner, loser, why), or None when nothing settles it."""
    for m, x in ((a, b), (b, a)):
        if m.limit is Limit.MINIMUM and x.limit is Limit.MAXIMUM and m.keeps_until == LEGAL_HOLD:
            return m, x, "a legal hold always blocks deletion"
    if a.rule in b.overrides:
        return b, a, f"`{b.rule}` overrides `{a.rule}`"
    if b.rule in a.overrides:
        return a, b, f"`{a.rule}` overrides `{b.rule}`"
    if a.layer != b.layer:
        base, top = (a, b) if a.layer > b.layer else (b, a)
        return base, top, f"{base.ruleset} is the ruleset {top.ruleset} extends, and prevails over it"
    return None


def _contradict(a: Category, b: Category) -> bool:
    if a.limit is b.limit:
        return a.rule in b.overrides or b.rule in a.overrides  # an explicit `overrides` sets the other aside
    m, x = (a, b) if a.limit is Limit.MINIMUM else (b, a)
    return _exceeds(m, x)


class Opposites:
    """Categories of one limit, indexed so that those a duration may break are found without comparing it
    with each: the minima it may fall short of, or the maxima it may exceed.

    Precedence compares every blanket category with the categories of the other limit, and the check every
    row of a department's table with every blanket: with thousands of blanket rules, comparing each pair
    took time quadratic in the rules. Grouped by what they count from and by their holidays, and each group
    sorted by how many days its durations last (spans.DurationIndex), a query costs about what it finds.
    What it finds is a superset: each caller still judges every category found as before.
    """

    def __init__(self, categories: Sequence[Category], limit: Limit) -> None:
        self._open: list[int] = []  # positions in `categories` of those with no fixed duration
        self._groups: dict[tuple[str, tuple[str, ...]], list[tuple[Duration, int]]] = {}
        for k, c in enumerate(categories):
            if c.limit is not limit:
                continue
            if c.duration is None:
                self._open.append(k)
            else:
                self._groups.setdefault((c.counts_from, c.holidays), []).append((c.duration, k))
        self._indexes: dict[tuple[str, tuple[str, ...], tuple[str, ...]], DurationIndex[int]] = {}

    def _index(self, group: tuple[str, tuple[str, ...]], holidays: tuple[str, ...]) -> DurationIndex[int]:
        key = (*group, holidays)
        if key not in self._indexes:  # a few: one for each event counted from, layer, and holidays asked with
            self._indexes[key] = DurationIndex(self._groups[group], holidays)
        return self._indexes[key]

    def every(self) -> list[int]:
        return [*self._open, *(k for members in self._groups.values() for _, k in members)]

    def minima_beyond(self, d: Duration, counts_from: str) -> list[int]:
        """Positions of the minima that `d` counted from `counts_from` may fall short of: those with no fixed
        duration, those counted from an event other than the recording and `counts_from`, and those longer
        than `d` on some start day (counted with their own holidays)."""
        found = list(self._open)
        for (event, holidays), members in self._groups.items():
            if event in (RECORDING, counts_from):
                found += self._index((event, holidays), holidays).not_outlasted_by(d)
            else:
                found += (k for _, k in members)
        return found

    def maxima_within(self, d: Duration, counts_from: str, holidays: tuple[str, ...] | None) -> list[int]:
        """Positions of the maxima that `d` counted from `counts_from` may exceed: those with no fixed duration,
        those counted from another event when `counts_from` is not the recording, and those shorter than `d`
        on some start day, counted with `holidays` (None: with each maximum's own)."""
        found = list(self._open)
        for (event, own), members in self._groups.items():
            if counts_from in (RECORDING, event):
                found += self._index((event, own), own if holidays is None else holidays).not_outlasting(d)
            else:
                found += (k for _, k in members)
        return found


class _Rivals:
    """The categories a blanket category may contradict (`_contradict`), in table order: those of the other
    limit it may exceed or fall short of (`Opposites`), and those an `overrides` links it with."""

    def __init__(self, categories: Sequence[Category]) -> None:
        self._categories = categories
        self._minima = Opposites(categories, Limit.MINIMUM)
        self._maxima = Opposites(categories, Limit.MAXIMUM)
        self._by_rule: dict[str, list[int]] = {}
        self._overriding: dict[str, list[int]] = {}  # a rule id: the categories whose rule overrides it
        for k, c in enumerate(categories):
            self._by_rule.setdefault(c.rule, []).append(k)
            for rule in c.overrides:
                self._overriding.setdefault(rule, []).append(k)

    def of(self, b: Category) -> list[Category]:
        if b.limit is Limit.MINIMUM:
            found = (self._maxima.every() if b.duration is None
                     else self._maxima.maxima_within(b.duration, b.counts_from, b.holidays))
        else:
            found = (self._minima.every() if b.duration is None
                     else self._minima.minima_beyond(b.duration, b.counts_from))
        found += (k for rule in b.overrides for k in self._by_rule.get(rule, ()))
        found += self._overriding.get(b.rule, ())
        return [self._categories[k] for k in sorted(set(found))]


def _precedence(categories: list[Category]) -> tuple[list[Category], list[SetAside], dict[str, tuple[Exemption, ...]]]:
    set_aside: dict[str, SetAside] = {}
    exemptions: dict[str, list[Exemption]] = {}
    rivals = _Rivals(categories)
    for b in (c for c in categories if c.blanket):
        for c in rivals.of(b):  # the others cannot contradict b: skipping them is what keeps this near-linear
            if c is b or (c.blanket and c.id < b.id) or not _contradict(b, c):
                continue  # each pair of blankets once
            settled = _settle(b, c)
            if settled is None:
                why = (f"`{b.id}` and `{c.id}` contradict each other and nothing in the rulesets settles which "
                       "prevails (a conflict `bwc decide` reports): resolve it in the ruleset")
                exemptions.setdefault(c.id, []).append(Exemption(b.id, why, disputed=True))
                if c.blanket:
                    exemptions.setdefault(b.id, []).append(Exemption(c.id, why, disputed=True))
                continue
            winner, loser, why = settled
            if winner.blanket:
                set_aside.setdefault(loser.id, SetAside(loser, winner.id, why))
            else:
                exemptions.setdefault(winner.id, []).append(Exemption(loser.id, why))
    kept = [c for c in categories if c.id not in set_aside]
    live = {c.id for c in kept}
    return kept, list(set_aside.values()), {k: tuple(e for e in v if e.blanket in live)
                                            for k, v in exemptions.items() if k in live}


__all__ = ["INDEFINITELY", "LEGAL_HOLD", "Opposites", "chain", "compile_table", "table_of"]
