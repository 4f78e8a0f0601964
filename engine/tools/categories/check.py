"""Checking a department's configured category table against a ruleset's category table.

Every row is held to each ruleset category it covers, and to every blanket category (a rule with no
condition: it governs every recording, whatever categories a video is given), unless precedence
exempts the categories it covers from that blanket. A row fails a minimum when the system would
delete earlier than the ruleset allows on some start day, and a maximum when it would keep a video
past the ruleset's limit; every ruleset category no row covers is missing. Each problem names the row
and the column to change.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from engine.tools.categories.compile import INDEFINITELY, LEGAL_HOLD, Opposites
from engine.tools.categories.model import RECORDING, Category, CategoryTable, Exemption, Limit, SetAside, Severity
from engine.tools.categories.spans import day_range, longest, never_shorter, shortest
from engine.tools.categories.table import Place, Problem, ReadTable, Row
from policy.diagnostics import did_you_mean
from policy.duration import Duration


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What the check found: problems in table order (unreadable rows among them), then what is missing."""

    table: CategoryTable
    rows: int  # rows read
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def passed(self) -> bool:
        return self.errors == 0


def _keeps(c: Category) -> str:
    """How long the ruleset keeps (or at most keeps) footage of a category, in words."""
    if c.duration is None:
        return {INDEFINITELY: "indefinitely", LEGAL_HOLD: "while a legal hold is in place"}.get(
            c.keeps_until or "", f"until a `{c.keeps_until}` event")
    text = f"{c.duration} ({c.duration.describe()}"
    span = day_range(c.duration, c.holidays)
    if span.exact is None and not c.duration.business_days:
        text += f", {int(span.low)} to {int(span.high)} days by the start day"
    text += ")"
    return text + ("" if c.counts_from == RECORDING else f" from `{c.counts_from}`")


def _row_keeps(row: Row) -> str:
    if row.duration is None:
        return "until manually deleted"
    return f"{row.duration} ({row.duration.describe()})" + (
        "" if row.counts_from == RECORDING else f" from `{row.counts_from}`")


def _why(c: Category, blanket: bool) -> str:
    source = f"{c.cite}" if c.id == c.rule else f"{c.rule}, {c.cite}"
    if blanket:
        return f"`{c.id}` ({source}; no condition: it governs every recording)"
    return f"`{c.id}` ({source})"


def _against(row: Row, c: Category, *, blanket: bool, disputed: Exemption | None = None) -> Problem | None:
    """The problem of `row` against one category, or None when it respects it."""
    severity = Severity.WARNING if disputed is not None else Severity.ERROR
    tail = f"; but {disputed.reason}" if disputed is not None else ""

    def problem(column: str, message: str) -> Problem:
        return Problem(row.at(column), severity, message + tail, c.id)

    who = _why(c, blanket)
    if c.limit is Limit.MINIMUM:
        if row.indefinite:
            return None
        assert row.duration is not None
        if c.duration is None:
            return problem("indefinite", "deletes earlier than the minimum: the system deletes after "
                           f"{_row_keeps(row)}, but {who} keeps the footage {_keeps(c)}, which no fixed duration "
                           "covers; set indefinite (until manually deleted)")
        if c.counts_from != RECORDING and row.counts_from != c.counts_from:
            return problem("counts_from", f"deletes earlier than the minimum: the system counts {row.duration} from "
                           f"the {'recording date' if row.counts_from == RECORDING else f'`{row.counts_from}`'}, but "
                           f"{who} keeps {c.duration} from `{c.counts_from}`, which can come later; count from that "
                           "event, or keep the category until manually deleted")
        if not never_shorter(row.duration, c.duration, c.holidays):
            return problem("duration", f"deletes earlier than the minimum: {_row_keeps(row)} is shorter, on some "
                           f"start day, than the {_keeps(c)} {who} requires")
        return None
    assert c.duration is not None
    if row.indefinite:
        return problem("indefinite", f"keeps past the maximum: the system keeps videos until manually deleted, but "
                       f"{who} requires deletion within {_keeps(c)}")
    assert row.duration is not None
    if row.counts_from not in (RECORDING, c.counts_from):
        return problem("counts_from", f"can keep past the maximum: the system counts from `{row.counts_from}`, which "
                       f"can come later than what {who} counts from ({c.counts_from})")
    if not never_shorter(c.duration, row.duration, c.holidays):
        return problem("duration", f"keeps past the maximum: {_row_keeps(row)} is longer, on some start day, than "
                       f"the {_keeps(c)} within which {who} requires deletion")
    return None


def _names(c: Category) -> tuple[str, str, str]:
    """The keys a row may name `c` by: its id, or `ruleset/rule` with or without the version."""
    return c.id, f"{c.ruleset}/{c.rule}", f"{c.ruleset.partition('@')[0]}/{c.rule}"


def check_table(table: CategoryTable, read: ReadTable) -> CheckReport:
    """`read` (a department's table) checked against `table` (the ruleset's categories)."""
    problems: list[Problem] = list(read.problems)
    covered: set[str] = set()
    # Every lookup the rows make is prepared once, so that checking a row costs about what it finds, not the
    # size of the table: the same answers as table.category, set_aside_category and exemption, the first match.
    categories: dict[str, Category] = {}
    for category in table.categories:
        for key in _names(category):
            categories.setdefault(key, category)
    aside_of: dict[str, SetAside] = {}
    for s in table.set_aside:
        for key in _names(s.category):
            aside_of.setdefault(key, s)
    hints: dict[str, str] = {}
    blankets = table.blankets
    position = {b.id: k for k, b in enumerate(blankets)}
    minima, maxima = Opposites(blankets, Limit.MINIMUM), Opposites(blankets, Limit.MAXIMUM)
    exempt = {c: {e.blanket: e for e in reversed(es)} for c, es in table.exemptions.items()}  # the first of each
    # A row exempt from a blanket by none of its categories is held to it, but only warned when the blanket is
    # in a dispute with another blanket that nothing settles.
    is_blanket = {id(b) for b in blankets}
    contested = {b.id: next((e for e in table.exemptions.get(b.id, ()) if e.disputed
                             and id(categories.get(e.blanket)) in is_blanket), None) for b in blankets}
    for row in read.rows:
        named: list[Category] = []
        for key in row.covers:
            c = categories.get(key)
            if c is not None:
                named.append(c)
                covered.add(c.id)
                continue
            aside = aside_of.get(key)
            if aside is not None:
                problems.append(Problem(row.at("covers"), Severity.WARNING,
                                        f"`{key}` never takes effect ({aside.reason}); it is not checked", key))
                continue
            if key not in hints:
                hints[key] = (did_you_mean(key, [c.id for c in table.categories], "categories", "the exported table")
                              if table.categories else "it has no retention category")
            problems.append(Problem(row.at("covers"), Severity.ERROR,
                                    f"`{key}` is not a category of {table.ruleset}; {hints[key]}", key))
        for c in named:
            found = _against(row, c, blanket=False)
            if found is not None:
                problems.append(found)
        # The blankets the row's categories are exempt from, each with its exemptions in the order of `named`.
        exemptions: dict[str, list[Exemption]] = {}
        for c in named:
            for blanket, e in exempt.get(c.id, {}).items():
                exemptions.setdefault(blanket, []).append(e)
        # Only those and the blankets the row may break need a look: `_against` finds nothing in the others.
        if row.indefinite:
            reach = maxima.every()
        else:
            assert row.duration is not None
            reach = [*minima.minima_beyond(row.duration, row.counts_from),
                     *maxima.maxima_within(row.duration, row.counts_from, None)]
        reach += (position[blanket] for blanket in exemptions if blanket in position)
        own = {id(c) for c in named}
        for b in (blankets[k] for k in sorted(set(reach))):
            if id(b) in own:
                continue
            held = exemptions.get(b.id, [])
            if any(not e.disputed for e in held):
                continue
            found = _against(row, b, blanket=True, disputed=held[0] if held else contested[b.id])
            if found is not None:
                problems.append(found)
    for c in table.categories:
        if c.id not in covered:
            problems.append(Problem(Place(column="covers"), Severity.ERROR,
                                    f"missing: no row covers `{c.id}` ({c.limit.value} {_keeps(c)}; "
                                    f"{c.cite if c.id == c.rule else f'{c.rule}, {c.cite}'}): add it to the `covers` "
                                    "of the row meant for it", c.id))
    order = {id(p): k for k, p in enumerate(problems)}
    problems.sort(key=lambda p: (p.place.row is None, p.place.row or 0, order[id(p)]))
    return CheckReport(table, len(read.rows), tuple(problems))


class _FirstOver:
    """The first position at or after `i` whose value exceeds `t`, in time logarithmic in the number of
    values: a tree of maxima over the values (a segment tree)."""

    def __init__(self, values: Sequence[float]) -> None:
        self._n = len(values)
        self._size = 1
        while self._size < self._n:
            self._size *= 2
        self._tree = [-math.inf] * (2 * self._size)
        self._tree[self._size:self._size + self._n] = values
        for k in range(self._size - 1, 0, -1):
            self._tree[k] = max(self._tree[2 * k], self._tree[2 * k + 1])

    def first(self, i: int, t: float) -> int:
        """The position, or the number of values when there is none."""
        if i >= self._n:
            return self._n
        tree, k = self._tree, i + self._size
        while tree[k] <= t:
            while k & 1:  # the last node of its parent's span: the next span to the right starts higher up
                k >>= 1
            if k == 0:
                return self._n
            k += 1
        while k < self._size:  # the leftmost leaf above `t` under node k
            k = 2 * k if tree[2 * k] > t else 2 * k + 1
        return k - self._size


def _after_same(values: Sequence[str]) -> list[int]:
    """For each position, the first one after it whose value differs (len(values) when none does)."""
    out = [len(values)] * len(values)
    for k in range(len(values) - 2, -1, -1):
        out[k] = k + 1 if values[k + 1] != values[k] else out[k + 1]
    return out


class _Blankets:
    """The blanket categories of one limit in table order, as a category counted with `holidays` meets them
    when its row is derived, with what finds the next one that can change the row (`next`)."""

    def __init__(self, blankets: Sequence[Category], limit: Limit, holidays: tuple[str, ...]) -> None:
        self.limit = limit
        self.holidays = holidays
        self.members = blankets
        self.position = {b.id: k for k, b in enumerate(blankets)}
        spans = [day_range(b.duration, holidays + b.holidays) if b.duration is not None else None for b in blankets]
        # A blanket with no fixed duration always changes the row (to indefinite): it is above every bound.
        self._highs = _FirstOver([s.high if s is not None else math.inf for s in spans])
        self._lows = _FirstOver([-s.low if s is not None else math.inf for s in spans])
        # A business-day duration lasts longest with the most holidays: a bound that holds for every blanket.
        self._most_holidays = holidays + max((b.holidays for b in blankets), key=len, default=())
        self._events = [k for k, b in enumerate(blankets) if b.counts_from != RECORDING]
        self._event_names = [blankets[k].counts_from for k in self._events]
        self._next_event = _after_same(self._event_names)
        self._names = [b.counts_from for b in blankets]
        self._next_name = _after_same(self._names)

    def next(self, i: int, duration: Duration, counts_from: str) -> int:
        """The first position from `i` on whose blanket can change a row of `duration` counted from
        `counts_from` (`_step`), or len(members): a blanket it already respects is passed over unread."""
        if self.limit is Limit.MINIMUM:
            # A minimum changes it when it may last longer (it lasts more than the row's fewest days on some
            # start), or counts from an event other than the recording and the row's. (The fewest days of a
            # business-day duration do not depend on the holidays: these are the fewest with any.)
            at = self._highs.first(i, day_range(duration, self.holidays).low)
            k = bisect_left(self._events, i)
            if k < len(self._events):
                if self._event_names[k] == counts_from:
                    k = self._next_event[k]
                if k < len(self._events):
                    at = min(at, self._events[k])
            return at
        # A maximum changes it when it may be shorter, or counts from another event than a row not counted
        # from the recording.
        at = self._lows.first(i, -day_range(duration, self._most_holidays).high)
        if counts_from != RECORDING and i < len(self._names):
            at = min(at, i if self._names[i] != counts_from else self._next_name[i])
        return at


def _step(c: Category, duration: Duration, counts_from: str, b: Category) -> tuple[Duration | None, str]:
    """A row for `c` of `duration` counted from `counts_from`, after blanket `b` of c's limit (see
    derived_duration). None: until manually deleted."""
    if b.duration is None:  # a blanket minimum with no fixed duration
        return None, RECORDING
    if c.limit is Limit.MAXIMUM:
        # Counted from different events, both limits are kept by counting from the recording, which
        # comes first: the earlier start deletes no later.
        return (shortest(duration, b.duration, c.holidays + b.holidays),
                counts_from if b.counts_from == counts_from else RECORDING)
    if b.counts_from != RECORDING and b.counts_from != counts_from:
        if counts_from != RECORDING:
            return None, RECORDING  # two different events to count from: no one count covers both
        counts_from = b.counts_from
    return longest(duration, b.duration, c.holidays + b.holidays), counts_from


class Derivation:
    """derived_duration for the categories of one table, sharing the work between them.

    A row is derived by meeting every blanket of its limit in table order, each raising (or lowering) it
    as need be; the order matters when neither of two calendar-aware durations always outlasts the other.
    With thousands of blanket rules, meeting each blanket for each row took time quadratic in the rules.
    Here a row passes over the blankets it already respects (`_Blankets.next`), and once past the last
    blanket it is exempt from, a row that meets a blanket in a state another row met it in ends as that
    one ended (`_ends`): most rows soon join the same run, which is walked once.
    """

    def __init__(self, table: CategoryTable) -> None:
        self._table = table
        self._blankets: dict[tuple[Limit, tuple[str, ...]], _Blankets] = {}
        self._ends: dict[tuple[Limit, tuple[str, ...], int, Duration, str], tuple[Duration | None, str]] = {}

    def _of_limit(self, limit: Limit, holidays: tuple[str, ...]) -> _Blankets:
        key = (limit, holidays)
        if key not in self._blankets:  # one for each limit and layer's holidays
            self._blankets[key] = _Blankets([b for b in self._table.blankets if b.limit is limit], limit, holidays)
        return self._blankets[key]

    def of(self, c: Category) -> tuple[Duration | None, str]:
        """What a row for `c` alone must keep, and what it counts from (derived_duration)."""
        duration: Duration | None = c.duration
        counts_from = c.counts_from
        if duration is None:
            return None, RECORDING
        blankets = self._of_limit(c.limit, c.holidays)
        skip = {blankets.position[e.blanket] for e in self._table.exemptions.get(c.id, ())
                if e.blanket in blankets.position}
        if c.id in blankets.position and blankets.members[blankets.position[c.id]] is c:
            skip.add(blankets.position[c.id])
        last = max(skip, default=-1)
        walked = []
        i = 0
        while True:
            at = blankets.next(i, duration, counts_from)
            if at > last:  # nothing skipped from here on: the end depends only on the state
                key = (c.limit, c.holidays, at, duration, counts_from)
                if key in self._ends:
                    end = self._ends[key]
                    break
                walked.append(key)
            if at == len(blankets.members):
                end = duration, counts_from
                break
            i = at + 1
            if at in skip:
                continue
            after, counts_from = _step(c, duration, counts_from, blankets.members[at])
            if after is None:
                end = None, RECORDING
                break
            duration = after
        for key in walked:
            self._ends[key] = end
        return end


def derived_duration(table: CategoryTable, c: Category) -> tuple[Duration | None, str]:
    """What a row for `c` alone must keep so that it passes: `c`'s own duration, raised to every blanket
    minimum (or lowered to every blanket maximum) it is not exempt from, since a video given only this
    category still falls under those. Returns the duration (None: until manually deleted) and what it
    counts from. For every category of a table, share one Derivation."""
    return Derivation(table).of(c)


__all__ = ["CheckReport", "Derivation", "check_table", "derived_duration"]
