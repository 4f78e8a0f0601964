"""Evidence: what satisfied a rule's condition and since when it held, read from the evaluator's trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.core.decision.model import Matched, event_ref
from engine.core.evaluation import Trace
from engine.core.incident import Event
from engine.core.program import And, Cond, Const, EventAtom, FactTest, Or, SequenceAtom


def evidence(cond: Cond, trace: Trace, facts: Mapping[str, Any]) -> Matched:
    """The facts and events that satisfied `cond`, as its traced evaluation found them: every part of an
    `all`, the parts of an `any` up to the first that held; only atoms that are not negated match events."""
    events: dict[int, Event] = {}
    values: dict[str, Any] = {}
    _collect(cond, trace, facts, events, values)
    return Matched(events=[event_ref(e) for _, e in sorted(events.items())], facts=values)


def _collect(cond: Cond, trace: Trace, facts: Mapping[str, Any], events: dict[int, Event],
             values: dict[str, Any]) -> bool:
    if isinstance(cond, Const):
        return cond.value
    held, found = trace[id(cond)]
    if isinstance(cond, FactTest):
        if held and cond.test.name in facts:
            values[cond.test.name] = facts[cond.test.name]
    elif isinstance(cond, And):
        for c in cond.items:
            _collect(c, trace, facts, events, values)
    elif isinstance(cond, Or):
        for c in cond.items:
            if _collect(c, trace, facts, events, values):
                break
    elif found and not cond.negated:  # an event atom (its first match) or a sequence (its match)
        if isinstance(cond, EventAtom):
            events[found[0].position] = found[0]
        else:
            for e in found:
                events[e.position] = e
    return held


def since(cond: Cond, trace: Trace) -> Event | None:
    """The first event at which a condition that holds as of the decision came to hold; None when it held
    from the start (it needs no event: facts, or only the absence of events). Read from its trace.

    Each positive event atom holds from its first matching event, and a sequence from the last step of its
    earliest-ending match; facts and negated atoms keep the value they have as of the decision (as `when`
    and `unless` always do), so they hold from the start. `all` holds from the latest of its parts, `any`
    from the earliest of those that hold.
    """
    return _since(cond, trace)[1]


_NEVER: tuple[bool, Event | None] = (False, None)
_START: tuple[bool, Event | None] = (True, None)


def _since(cond: Cond, trace: Trace) -> tuple[bool, Event | None]:
    if isinstance(cond, Const):
        return _START if cond.value else _NEVER
    if isinstance(cond, FactTest) or (isinstance(cond, EventAtom | SequenceAtom) and cond.negated):
        return _START if trace.held(cond) else _NEVER
    if isinstance(cond, EventAtom):
        found = trace.found(cond)
        return _NEVER if not found else (True, found[0])
    if isinstance(cond, SequenceAtom):
        found = trace.found(cond)
        return _NEVER if not found else (True, found[-1])
    if isinstance(cond, And):
        latest: Event | None = None
        for c in cond.items:
            ok, e = _since(c, trace)
            if not ok:
                return _NEVER
            if e is not None and (latest is None or e.position > latest.position):
                latest = e
        return (True, latest)
    best: tuple[bool, Event | None] = _NEVER
    for c in cond.items:
        ok, e = _since(c, trace)
        if ok and (e is None or not best[0] or (best[1] is not None and e.position < best[1].position)):
            best = (True, e)
            if e is None:
                break
    return best
