"""Incidents: the events of one police incident in time order, and what is wrong with one that cannot be read.

The model only: reading incident data into it, against a vocabulary, is engine.io.incident's job.
Events are ordered by time, ties by their position in the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from operator import eq, itemgetter, le, lt
from typing import Any, NamedTuple

from policy.values import quoted


@dataclass(frozen=True)
class Problem:
    """What is wrong with an incident, and where (a path such as `events[3].injury`)."""

    incident: str
    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"incident {quoted(self.incident, 120)}: {self.field}: {self.message}"
        return text + (f" ({self.hint})" if self.hint else "")


class IncidentError(ValueError):
    """An incident that cannot be read: every problem found, each with where and why. The only
    exception `engine.io.incident.IncidentReader.read` raises, whatever it is given."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))

    def __reduce__(self) -> tuple[type[IncidentError], tuple[list[Problem]], dict[str, Any]]:
        # Pickled (to or from a worker process) as its problems, and whatever else was set on it (notes):
        # rebuilt from its message, its text would be cut into one problem per character.
        return (type(self), (self.problems,), self.__dict__)


class Event(NamedTuple):
    """One event of an incident. A named tuple, immutable and the cheapest record to make: a reader
    makes one for every event it reads."""

    type: str
    at: datetime
    attributes: Mapping[str, Any]
    index: int  # type: ignore[assignment]  # position in the input (ties in time keep this order); hides tuple.index
    position: int = 0  # position in time order

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "at": self.at.isoformat(), **self.attributes}


# An event's fields read in C (an event is a tuple): time, input position, place in time order, and the
# order events are sorted in (time, ties in input order).
_AT, _INDEX, _POSITION, _TIME_ORDER = itemgetter(1), itemgetter(3), itemgetter(4), itemgetter(1, 3)


@dataclass(frozen=True)
class Incident:
    id: str
    timezone: str
    facts: Mapping[str, Any]
    events: tuple[Event, ...]  # in time order
    by_type: Mapping[str, tuple[Event, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, id: str, timezone: str, facts: Mapping[str, Any], events: list[Event], *,
           placed: bool = False) -> Incident:
        """The incident of these events, put in time order. `placed`: the caller knows they already are,
        each at its place (`position`) and in input order (`index`), as a reader that compared the times
        as written can (engine.io.incident): nothing is compared again."""
        if placed:
            return cls(id, timezone, facts, tuple(events), _by_type(events))
        # Input in time order (the common case) needs no sort. Times that never go back, with positions
        # that always go up, are in order: two comparisons per event, each pass made in C (`map`), where
        # comparing pair by pair in Python cost three times as much. Anything else is sorted, which
        # leaves events already in order as they are.
        ats = list(map(_AT, events))
        indices = list(map(_INDEX, events))
        ordered = events if all(map(le, ats, ats[1:])) and all(map(lt, indices, indices[1:])) \
            else sorted(events, key=_TIME_ORDER)
        # Events already in their places (input in time order, or a prefix of a placed incident) are kept.
        in_place = tuple(ordered) if all(map(eq, map(_POSITION, ordered), count())) else tuple(
            e if e.position == pos else Event(e.type, e.at, e.attributes, e.index, pos)
            for pos, e in enumerate(ordered))
        return cls(id, timezone, facts, in_place, _by_type(in_place))

    def until(self, as_of: datetime) -> Incident:
        """The incident as known at `as_of`: later events have not happened yet."""
        if not self.events or self.events[-1].at <= as_of:
            return self
        return Incident.of(self.id, self.timezone, self.facts, [e for e in self.events if e.at <= as_of])

    @property
    def start(self) -> datetime | None:
        return self.events[0].at if self.events else None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "timezone": self.timezone, "facts": dict(self.facts),
                "events": [e.to_json() for e in sorted(self.events, key=lambda e: e.index)]}


def _by_type(events: tuple[Event, ...] | list[Event]) -> dict[str, tuple[Event, ...]]:
    """The events of each type, in time order (`events` are)."""
    by_type: dict[str, list[Event]] = {}
    for e in events:
        by_type.setdefault(e.type, []).append(e)
    return {k: tuple(v) for k, v in by_type.items()}
