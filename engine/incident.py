"""Incidents: the events of one police incident, checked against a vocabulary and put in time order.

Input (JSON): {"id", "timezone", "facts": {...}, "events": [{"type", "at", <attributes>}, ...]}.
Timestamps must carry an offset; events are ordered by time, ties by their position in the input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from policy.diagnostics import did_you_mean
from policy.vocabulary import NUMERIC, Spec, ValueType, Vocabulary

RESERVED = ("type", "at")


@dataclass(frozen=True)
class Problem:
    """What is wrong with an incident, and where (a path such as `events[3].injury`)."""

    incident: str
    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"incident {self.incident}: {self.field}: {self.message}"
        return text + (f" ({self.hint})" if self.hint else "")


class IncidentError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    at: datetime
    attributes: Mapping[str, Any]
    index: int  # position in the input (ties in time keep this order)
    position: int = 0  # position in time order

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "at": self.at.isoformat(), **self.attributes}


@dataclass(frozen=True)
class Incident:
    id: str
    timezone: str
    facts: Mapping[str, Any]
    events: tuple[Event, ...]  # in time order
    by_type: Mapping[str, tuple[Event, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, id: str, timezone: str, facts: Mapping[str, Any], events: list[Event]) -> Incident:
        ordered = sorted(events, key=lambda e: (e.at, e.index))
        placed = tuple(Event(e.type, e.at, e.attributes, e.index, pos) for pos, e in enumerate(ordered))
        by_type: dict[str, list[Event]] = {}
        for e in placed:
            by_type.setdefault(e.type, []).append(e)
        return cls(id, timezone, facts, placed, {k: tuple(v) for k, v in by_type.items()})

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


def parse_time(value: Any, where: str, incident: str) -> datetime:
    if type(value) is str:
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if t.tzinfo is not None and t.utcoffset() is not None:
                return t
    if not isinstance(value, str):
        raise IncidentError([Problem(incident, where, "a time is text in ISO 8601, e.g. 2024-03-01T14:05:00-06:00")])
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise IncidentError([Problem(incident, where, f"`{value}` is not a valid ISO 8601 time",
                                     "e.g. 2024-03-01T14:05:00-06:00")]) from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise IncidentError([Problem(incident, where, f"`{value}` has no time zone offset",
                                     "add the offset, e.g. -06:00 or Z; naive times are ambiguous")])
    return t


class IncidentReader:
    """Checks incident data against one vocabulary (the ruleset's, with its declarations)."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self._attrs = {name: vocab.attributes_of(name) for name in vocab.events}
        # Fast acceptance tests; a value they refuse goes through `_value` for the message.
        self._accept = {name: {a: self._acceptor(spec) for a, spec in attrs.items()}
                        for name, attrs in self._attrs.items()}
        self._accept_fact = {name: self._acceptor(spec) for name, spec in vocab.facts.items()}

    def _acceptor(self, spec: Spec) -> Callable[[Any], bool]:
        allowed = self.vocab.allowed_values(spec)
        if allowed is not None:
            pool = frozenset(allowed)
            return lambda v: type(v) is str and v in pool
        t, low, high = spec.type, spec.minimum, spec.maximum
        if t is ValueType.BOOLEAN:
            return lambda v: type(v) is bool
        if t is ValueType.TEXT:
            return lambda v: type(v) is str
        if t is ValueType.DATE:
            return lambda v: type(v) is str and _is_date(v)
        kinds = (int,) if t is ValueType.INTEGER else (int, float)
        return lambda v: (type(v) in kinds and (low is None or v >= low) and (high is None or v <= high))

    def read(self, data: Any) -> Incident:
        if not isinstance(data, dict):
            raise IncidentError([Problem("?", "(incident)", "an incident is a JSON object with id, timezone, "
                                         "facts and events")])
        raw_id = data.get("id")
        iid = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else "?"
        problems: list[Problem] = []
        if iid == "?":
            problems.append(Problem(iid, "id", "every incident needs an `id` (text)"))
        for key in data:
            if key not in ("id", "timezone", "facts", "events"):
                problems.append(Problem(iid, key, f"`{key}` is not a field of an incident",
                                        did_you_mean(key, ["id", "timezone", "facts", "events"], "fields")))
        tz = data.get("timezone")
        if not isinstance(tz, str):
            problems.append(Problem(iid, "timezone", "every incident needs a `timezone` (an IANA name)"))
        else:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(Problem(iid, "timezone", f"`{tz}` is not an IANA time zone"))
        facts = data.get("facts", {})
        if not isinstance(facts, dict):
            problems.append(Problem(iid, "facts", "`facts` is an object of fact names and values"))
            facts = {}
        for name, value in facts.items():
            accept = self._accept_fact.get(name)
            if accept is not None and accept(value):
                continue
            spec = self.vocab.facts.get(name)
            if spec is None:
                problems.append(Problem(iid, f"facts.{name}", f"unknown fact `{name}`",
                                        did_you_mean(name, self.vocab.facts, "facts")))
            else:
                problems.extend(self._value(iid, f"facts.{name}", value, spec))
        raw_events = data.get("events")
        events: list[Event] = []
        if not isinstance(raw_events, list) or not raw_events:
            problems.append(Problem(iid, "events", "an incident needs a non-empty list of `events`"))
            raw_events = []
        for i, raw in enumerate(raw_events):
            try:
                events.append(self._event(iid, i, raw))
            except IncidentError as exc:
                problems.extend(exc.problems)
        if problems:
            raise IncidentError(problems)
        return Incident.of(iid, str(tz), dict(facts), events)

    def _event(self, iid: str, i: int, raw: Any) -> Event:
        where = f"events[{i}]"
        if not isinstance(raw, dict):
            raise IncidentError([Problem(iid, where, "an event is an object with `type`, `at` and attributes")])
        etype = raw.get("type")
        attrs_spec = self._attrs.get(etype) if isinstance(etype, str) else None
        accept = self._accept.get(etype) if isinstance(etype, str) else None
        problems: list[Problem] = []
        if attrs_spec is None:
            problems.append(Problem(iid, f"{where}.type", f"unknown event type `{etype}`",
                                    did_you_mean(str(etype), self.vocab.events, "event types")))
        try:
            at = parse_time(raw.get("at"), f"{where}.at", iid)
        except IncidentError as exc:
            problems.extend(exc.problems)
        attributes: dict[str, Any] = {}
        for name, value in raw.items():
            if name in RESERVED or attrs_spec is None or accept is None:
                continue
            check = accept.get(name)
            if check is not None and check(value):
                attributes[name] = value
                continue
            spec = attrs_spec.get(name)
            if spec is None:
                problems.append(Problem(iid, f"{where}.{name}", f"`{etype}` events have no attribute `{name}`",
                                        did_you_mean(name, attrs_spec, "attributes")))
            else:
                problems.extend(self._value(iid, f"{where}.{name}", value, spec))
                attributes[name] = value
        if problems:
            raise IncidentError(problems)
        return Event(str(etype), at, attributes, i)

    def _value(self, iid: str, where: str, value: Any, spec: Spec) -> Iterator[Problem]:
        allowed = self.vocab.allowed_values(spec)
        if allowed is not None:
            if value not in allowed or not isinstance(value, str):
                yield Problem(iid, where, f"`{json.dumps(value)}` is not allowed",
                              did_you_mean(str(value), allowed, "values"))
            return
        t = spec.type
        ok = ((t is ValueType.BOOLEAN and isinstance(value, bool))
              or (t is ValueType.INTEGER and isinstance(value, int) and not isinstance(value, bool))
              or (t is ValueType.NUMBER and isinstance(value, int | float) and not isinstance(value, bool))
              or (t is ValueType.TEXT and isinstance(value, str))
              or (t is ValueType.DATE and isinstance(value, str) and _is_date(value)))
        if not ok:
            yield Problem(iid, where, f"expected {spec.describe()}, found `{json.dumps(value)}`")
        elif t in NUMERIC and ((spec.minimum is not None and value < spec.minimum)
                               or (spec.maximum is not None and value > spec.maximum)):
            yield Problem(iid, where, f"`{value}` is out of range ({spec.describe()})")


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
