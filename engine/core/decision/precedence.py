"""Precedence: settling obligations that contradict each other, and reporting the conflicts left open.

Legal holds, explicit `overrides` and layer rank decide; what none of them settles is a conflict.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.core.decision.model import Conflict, Obligation, Pending, Resolution, Suspension, Window
from engine.core.program import Program
from policy.base import Effect

if TYPE_CHECKING:
    from engine.core.decision.layers import Layer

# Window bounds are compared as whole microseconds since 0001-01-01T00:00 UTC: exact, and defined for
# every time the reader accepts (an ISO text converted to UTC could leave the calendar and fail).
OPEN_START = -(1 << 62)  # a window with no opening edge starts before every event
FAR = 1 << 62  # a window with no closing edge ends after every event
_MICROSECOND = timedelta(microseconds=1)

WindowSpan = tuple[int, int] | None
_Winner = Callable[["Obligation", "Obligation", bool], tuple["Obligation | None", Resolution]]


def instant(text: str) -> int:
    t = datetime.fromisoformat(text)
    local = ((t.toordinal() * 86400 + t.hour * 3600 + t.minute * 60 + t.second) * 1_000_000 + t.microsecond)
    offset = t.utcoffset()
    return local - (offset // _MICROSECOND if offset is not None else 0)


def _span(w: Window | None) -> WindowSpan:
    """The window as comparable UTC bounds, or None when it has not opened."""
    if w is None:
        return (OPEN_START, FAR)
    if w.from_ is not None and w.from_.pending:
        return None
    start = instant(w.from_.at) if w.from_ is not None and w.from_.at else OPEN_START
    end = instant(w.until.at) if w.until is not None and w.until.at else FAR
    return (start, end)


def _windows_overlap(sa: WindowSpan, sb: WindowSpan) -> bool:
    if sa is None or sb is None:
        return False
    return sa[0] <= sb[1] and sb[0] <= sa[1]


def _covers(ws: WindowSpan, ls: WindowSpan) -> bool:
    assert ws is not None and ls is not None
    return ws[0] <= ls[0] and ls[1] <= ws[1]


def _precede(winner: Obligation, loser: Obligation, ws: WindowSpan, ls: WindowSpan) -> None:
    """The winner takes precedence where the windows overlap: over all of the loser's window, or a part."""
    assert ws is not None and ls is not None
    if _covers(ws, ls):
        loser.overridden_by = winner.rule
        return
    wf = winner.window.from_ if winner.window else None
    lf = loser.window.from_ if loser.window else None
    wu = winner.window.until if winner.window else None
    lu = loser.window.until if loser.window else None
    part = Suspension(
        from_=wf if ws[0] >= ls[0] else lf,
        until=wu if ws[1] <= ls[1] else lu,
        rule=winner.rule,
    )
    loser.suspended = [*(loser.suspended or []), part]


def _same_subject(a: Obligation, b: Obligation) -> bool:
    if a.kind == "access":
        return bool(set(a.role or ()) & set(b.role or ())) and (
            a.purpose is None or b.purpose is None or a.purpose == b.purpose)
    if a.kind == "release":
        return bool(set(a.to or ()) & set(b.to or ()))
    return True


def _contradict(a: Obligation, b: Obligation) -> bool:
    effects = {a.effect, b.effect}
    if Effect.MUST_NOT not in effects or len(effects) == 1:
        return False
    return a.kind == "access" or Effect.MAY not in effects


_WINDOWED = ("record", "notify", "access", "release")
_NONE: frozenset[str] = frozenset()


def _interactions(programs: Mapping[str, Program], windowed: list[Obligation]) -> bool:
    """Whether two of the windowed obligations might change each other: two of one kind whose effects
    contradict, or one whose rule overrides another's (`_settle_windows` then compares subjects and
    windows). Most decisions have neither, and this costs one pass."""
    if len(windowed) < 2:
        return False
    effects: dict[str, set[Effect]] = {}
    rules: set[str] = set()
    for o in windowed:
        effects.setdefault(o.kind, set()).add(o.effect)
        rules.add(o.rule)
    for kind, found in effects.items():
        if Effect.MUST_NOT in found and (Effect.MUST in found or (kind == "access" and Effect.MAY in found)):
            return True
    return any(not programs[o.ruleset].overrides.get(o.rule, _NONE).isdisjoint(rules) for o in windowed)


# --- finding overlapping windows without comparing every pair -------------------------------------
#
# Every obligation of one rule has the same kind, effect and subject, so whether two obligations can
# interact (and which takes precedence) is a question about their two rules; only the windows differ
# per obligation. Pairs are therefore looked up by window, rule against rule, with two search trees,
# so the work is (obligations + pairs that change the decision) x log(obligations), not
# obligations x obligations. The pairs found are applied in the order a plain double loop over the
# obligations would visit them, so the decision is the same, byte for byte.

_DIRECT = 64  # below this many pairs of two rules' obligations, comparing them all is cheaper


class _Reporter:
    """Items ordered by one key; reports those in a range of that order whose value is at least a bound.

    A segment tree holding each part's largest value: a part whose largest value is below the bound
    is skipped whole, so a query costs log(items) per item reported.
    """

    def __init__(self, keys: Sequence[int], values: Sequence[int], items: Sequence[int]) -> None:
        order = sorted(range(len(keys)), key=lambda k: (keys[k], items[k]))
        self.keys = [keys[k] for k in order]
        self.items = [items[k] for k in order]
        size = 1
        while size < len(order):
            size *= 2
        self.size = size
        tree = [OPEN_START] * (2 * size)
        for n, k in enumerate(order):
            tree[size + n] = values[k]
        for n in range(size - 1, 0, -1):
            tree[n] = max(tree[2 * n], tree[2 * n + 1])
        self.tree = tree

    def report(self, lo: int, hi: int, bound: int, out: list[int]) -> None:
        """Append the items at places lo..hi-1 (in key order) whose value is at least `bound`."""
        tree, size = self.tree, self.size
        stack = [(1, 0, size)]
        while stack:
            node, left, right = stack.pop()
            if right <= lo or hi <= left or tree[node] < bound:
                continue
            if node >= size:
                out.append(self.items[node - size])
                continue
            mid = (left + right) // 2
            stack.append((2 * node + 1, mid, right))
            stack.append((2 * node, left, mid))


def _overlapping(a_items: list[int], b_items: list[int], spans: list[WindowSpan]) -> list[tuple[int, int]]:
    """Every pair (a, b) of the two lists whose windows overlap."""
    out: list[tuple[int, int]] = []
    if len(a_items) * len(b_items) <= _DIRECT:
        return [(a, b) for a in a_items for b in b_items if _windows_overlap(spans[a], spans[b])]
    starts = [_bounds(spans[a])[0] for a in a_items]
    tree = _Reporter(starts, [_bounds(spans[a])[1] for a in a_items], a_items)
    for b in b_items:
        sb = _bounds(spans[b])
        found: list[int] = []
        # a overlaps b when a starts no later than b ends and ends no earlier than b starts
        tree.report(0, bisect_right(tree.keys, sb[1]), sb[0], found)
        out.extend((a, b) for a in found)
    return out


def _bounds(s: WindowSpan) -> tuple[int, int]:
    assert s is not None
    return s


def _partial(winners: list[int], losers: list[int], spans: list[WindowSpan]) -> list[tuple[int, int]]:
    """Every pair (winner, loser) whose windows overlap where the winner's does not cover the loser's."""
    if len(winners) * len(losers) <= _DIRECT:
        return [(w, lo) for w in winners for lo in losers
                if _windows_overlap(spans[w], spans[lo]) and not _covers(spans[w], spans[lo])]
    ws = [_bounds(spans[w]) for w in winners]
    # (1) the winner starts inside the loser (after its start): ordered by start, ends at or after it
    by_start = _Reporter([s[0] for s in ws], [s[1] for s in ws], winners)
    # (2) the winner starts at or before the loser and ends inside it (before its end): ordered by
    # end, starts at or before the loser's start (a largest value of minus the start)
    by_end = _Reporter([s[1] for s in ws], [-s[0] for s in ws], winners)
    out: list[tuple[int, int]] = []
    for lo in losers:
        ls = _bounds(spans[lo])
        found: list[int] = []
        by_start.report(bisect_right(by_start.keys, ls[0]), bisect_right(by_start.keys, ls[1]), ls[0], found)
        by_end.report(bisect_left(by_end.keys, ls[0]), bisect_left(by_end.keys, ls[1]), -ls[0], found)
        out.extend((w, lo) for w in found)
    return out


def _last_covering(winners: list[int], losers: list[int], spans: list[WindowSpan]) -> list[tuple[int, int]]:
    """For each loser, the winner (the latest in the list of obligations) whose window covers it."""
    if len(winners) * len(losers) <= _DIRECT:
        out = []
        for lo in losers:
            found = [w for w in winners if _covers(spans[w], spans[lo]) and _windows_overlap(spans[w], spans[lo])]
            if found:
                out.append((max(found), lo))
        return out
    # Losers by end, latest first; winners ending at or after it go into a tree by start that keeps
    # the latest winner per prefix of starts (a Fenwick tree of maxima).
    # A winner covering a loser it overlaps starts no later than either of the loser's bounds and ends
    # no earlier than either (for a well-formed window: its start and its end).
    starts = sorted({_bounds(spans[w])[0] for w in winners})
    fenwick = [-1] * (len(starts) + 1)
    by_end = sorted(winners, key=lambda w: -_bounds(spans[w])[1])
    out = []
    k = 0
    for lo in sorted(losers, key=lambda x: -max(_bounds(spans[x]))):
        ls = (min(_bounds(spans[lo])), max(_bounds(spans[lo])))
        while k < len(by_end) and _bounds(spans[by_end[k]])[1] >= ls[1]:
            w = by_end[k]
            n = bisect_left(starts, _bounds(spans[w])[0]) + 1
            while n <= len(starts):
                fenwick[n] = max(fenwick[n], w)
                n += n & -n
            k += 1
        best = -1
        n = bisect_right(starts, ls[0])
        while n > 0:
            best = max(best, fenwick[n])
            n -= n & -n
        if best >= 0:
            out.append((best, lo))
    return out


def _own_pairs(winners: list[int], losers: list[int], spans: list[WindowSpan],
               officer_of: Callable[[int], Any]) -> list[tuple[int, int]]:
    """`_partial` and `_last_covering` for a rule with `same_officer`, among one officer's obligations only:
    a loser meets the winners of its own officer and those naming none (one naming none meets them all).
    Grouped by officer, each group through the same trees, where comparing every pair cost winners x
    losers (thousands of officers, each pausing once, in one incident)."""
    anyone: list[int] = []
    by_officer: dict[Any, list[int]] = {}
    losers_of: dict[Any, list[int]] = {}
    try:
        for w in winners:
            named = officer_of(w)
            (anyone if named is None else by_officer.setdefault(named, [])).append(w)
        for lo in losers:
            losers_of.setdefault(officer_of(lo), []).append(lo)
    except TypeError:  # an officer that cannot be a key (a vocabulary that types it otherwise): pair by pair
        return _own_pairs_one_by_one(winners, losers, spans, officer_of)
    out: list[tuple[int, int]] = []
    for named, mine in losers_of.items():
        meets = winners if named is None else anyone + by_officer.get(named, [])
        if meets:
            out += _partial(meets, mine, spans) + _last_covering(meets, mine, spans)
    return out


def _own_pairs_one_by_one(winners: list[int], losers: list[int], spans: list[WindowSpan],
                          officer_of: Callable[[int], Any]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo in losers:
        b = officer_of(lo)
        mine = [w for w in winners if (b is None or officer_of(w) is None or officer_of(w) == b)
                and _windows_overlap(spans[w], spans[lo])]
        out += [(w, lo) for w in mine if not _covers(spans[w], spans[lo])]
        covering = [w for w in mine if _covers(spans[w], spans[lo])]
        if covering:
            out.append((max(covering), lo))
    return out


def _runs(items: list[Obligation]) -> list[list[int]]:
    """The obligations in runs of one rule (consecutive, with the same rule, ruleset and subject)."""
    runs: list[list[int]] = []
    last: tuple[Any, ...] | None = None
    for i, o in enumerate(items):
        key = (o.ruleset, o.rule, o.kind, o.effect, tuple(o.role or ()), o.purpose, tuple(o.to or ()))
        if key != last:
            runs.append([])
            last = key
        runs[-1].append(i)
    return runs


def settle(layers: list[Layer], obligations: list[Obligation],
           officers: Callable[[], Mapping[int, Any]] = dict) -> list[Conflict]:
    """Apply legal holds, `overrides` and layer precedence; return every contradiction and how it was settled.

    `officers` gives the `officer` of each event by its index, read only for rules with `same_officer`.
    """
    programs = {lay.program.ref: lay.program for lay in layers}
    rank = {lay.program.ref: lay.rank for lay in layers}
    conflicts: list[Conflict] = []
    named: Mapping[int, Any] | None = None

    def officer(o: Obligation) -> Any:
        nonlocal named
        if named is None:
            named = officers()
        return named.get(o.trigger.index) if o.trigger is not None else None

    def officer_at(i: int) -> Any:
        return officer(windowed[i])

    def winner(a: Obligation, b: Obligation, contradictory: bool) -> tuple[Obligation | None, Resolution]:
        if b.rule in programs[a.ruleset].overrides.get(a.rule, ()):
            return a, "overrides"
        if a.rule in programs[b.ruleset].overrides.get(b.rule, ()):
            return b, "overrides"
        if contradictory and rank[a.ruleset] != rank[b.ruleset]:
            # The layer that others build on (a statute) sets the floor a department's policy cannot lower.
            return (a if rank[a.ruleset] < rank[b.ruleset] else b), "layer"
        return None, "unresolved"

    windowed = [o for o in obligations if o.kind in _WINDOWED]
    if _interactions(programs, windowed):
        _settle_windows(windowed, programs, winner, officer_at, conflicts)
    deletes = [o for o in obligations if o.kind == "delete" and isinstance(o.delete_by, date)]
    if deletes:
        _settle_retention(obligations, deletes, winner, conflicts)
    return conflicts


def _settle_windows(windowed: list[Obligation], programs: Mapping[str, Program], winner: _Winner,
                    officer_at: Callable[[int], Any], conflicts: list[Conflict]) -> None:
    """Overlapping windows of rules that contradict or override each other (`officer_at`: the officer of
    the obligation at a place, for rules with `same_officer`)."""

    def compatible(w: int, lo: int) -> bool:
        """One officer's rule (`same_officer`) takes precedence only over that officer's obligations."""
        a, b = officer_at(w), officer_at(lo)
        return a is None or b is None or a == b

    spans = [_span(o.window) for o in windowed]
    opened = [i for i, s in enumerate(spans) if s is not None]  # a window not yet open overlaps nothing
    runs = _runs([windowed[i] for i in opened])
    runs = [[opened[i] for i in run] for run in runs]
    # What each pair of obligations does, keyed by their places (a before b), applied in that order.
    steps: list[tuple[int, int, Callable[[], None]]] = []
    for x, run_a in enumerate(runs):
        a0 = windowed[run_a[0]]
        for run_b in runs[x + 1:]:
            b0 = windowed[run_b[0]]
            if a0.kind != b0.kind or a0.rule == b0.rule or not _same_subject(a0, b0):
                continue
            contradictory = _contradict(a0, b0)
            w0, how = winner(a0, b0, contradictory)
            own = w0 is not None and how == "overrides" and w0.rule in programs[w0.ruleset].same_officer
            if contradictory:
                for i, j in _overlapping(run_a, run_b, spans):
                    if own and not compatible(i, j):
                        continue  # two officers' obligations: they do not contradict each other
                    steps.append((i, j, _conflict(windowed, spans, conflicts, i, j, w0 is a0, w0 is not None, how)))
            elif w0 is not None:
                wins, loses = (run_a, run_b) if w0 is a0 else (run_b, run_a)
                pairs = _own_pairs(wins, loses, spans, officer_at) if own else \
                    _partial(wins, loses, spans) + _last_covering(wins, loses, spans)
                for w, lo in pairs:
                    steps.append((min(w, lo), max(w, lo), _suspend(windowed, spans, w, lo)))
    steps.sort(key=lambda s: (s[0], s[1]))
    for _, _, apply in steps:
        apply()


def _settle_retention(obligations: list[Obligation], deletes: list[Obligation], winner: _Winner,
                      conflicts: list[Conflict]) -> None:
    """Deletions that come before a retention ends: a legal hold, `overrides` or the layers decide."""
    retains = [o for o in obligations if o.kind == "retain"]
    holds = {k for k, r in enumerate(retains) if r.legal_hold and isinstance(r.retain_until, Pending)}
    # Retentions that outlast any deletion (indefinite, or a hold), and dated ones by date: each
    # deletion meets only the retentions that keep footage past it, found by a binary search.
    always = sorted(holds | {k for k, r in enumerate(retains) if r.retain_until == "indefinite"})
    dated = sorted((r.retain_until, k) for k, r in enumerate(retains)
                   if isinstance(r.retain_until, date) and k not in holds)
    days = [day for day, _ in dated]
    for d in deletes:
        assert isinstance(d.delete_by, date)
        later = [k for _, k in dated[bisect_right(days, d.delete_by):]]
        for k in sorted(always + later) if later else always:
            r = retains[k]
            keep = r.retain_until
            if k in holds:
                d.overridden_by = r.rule
                conflicts.append(Conflict(
                    kind="retention", rules=[r.rule, d.rule],
                    detail=f"a legal hold (`{r.rule}`) blocks deletion by {d.delete_by} (`{d.rule}`)",
                    resolution="legal_hold", winner=r.rule))
                continue
            prevails, how = winner(r, d, True)
            if prevails is not None:
                (d if prevails is r else r).overridden_by = prevails.rule
            conflicts.append(Conflict(
                kind="retention", rules=[r.rule, d.rule],
                detail=f"`{r.rule}` keeps footage until {keep}, but `{d.rule}` deletes it by {d.delete_by}",
                resolution=how if prevails else "unresolved", winner=prevails.rule if prevails else None))


def _conflict(windowed: list[Obligation], spans: list[WindowSpan], conflicts: list[Conflict], i: int, j: int,
              first_wins: bool, settled: bool, how: Resolution) -> Callable[[], None]:
    def apply() -> None:
        a, b = windowed[i], windowed[j]
        if settled:
            w, lo = (i, j) if first_wins else (j, i)
            _precede(windowed[w], windowed[lo], spans[w], spans[lo])
        conflicts.append(Conflict(
            kind="effect", rules=[a.rule, b.rule],
            detail=f"{a.kind}: `{a.rule}` says {a.effect.value}, `{b.rule}` says {b.effect.value}",
            resolution=how if settled else "unresolved", winner=(a if first_wins else b).rule if settled else None))
    return apply


def _suspend(windowed: list[Obligation], spans: list[WindowSpan], w: int, lo: int) -> Callable[[], None]:
    return lambda: _precede(windowed[w], windowed[lo], spans[w], spans[lo])
