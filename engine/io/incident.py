"""Reading incidents: incident data (JSON) checked against a vocabulary and turned into an `Incident`.

Input (JSON): {"id", "timezone", "facts": {...}, "events": [{"type", "at", <attributes>}, ...]}.
Timestamps must carry an offset; every problem found is reported at once, in one IncidentError.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from operator import itemgetter, le
from typing import Any

from engine.core.incident import Event, Incident, IncidentError, Problem
from policy.diagnostics import did_you_mean
from policy.values import DATE_EXAMPLE, is_date, parse_timestamp, parse_zone, quoted
from policy.vocabulary import NUMERIC, Spec, ValueType, Vocabulary

RESERVED = ("type", "at")
# `tuple.__new__(Event, fields)` makes the same tuple as `Event(*fields)` in C, in half the time (a named
# tuple's own constructor is Python code), and a reader makes one for every event it reads.
_new_tuple = tuple.__new__


def parse_time(value: Any, where: str, incident: str) -> datetime:
    """A time with its UTC offset (policy.values.parse_timestamp), or IncidentError saying where."""
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise IncidentError([Problem(incident, where, str(exc))]) from None


def shown(value: Any) -> str:
    """A value from data as it may appear in a message: bounded, escaped, and never failing (a list
    or an object is named, not printed; an integer too long to print is described)."""
    if isinstance(value, str):
        return f"`{quoted(value)}`"
    if value is None or isinstance(value, bool):
        return "`null`" if value is None else f"`{str(value).lower()}`"
    if isinstance(value, int):
        if value.bit_length() > 200:
            return "a number of more than 60 digits"
        return f"`{value}`"
    if isinstance(value, float):
        return f"`{value!r}`" if math.isfinite(value) else f"`{value!r}` (not a finite number)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a value of type {type(value).__name__}"


def _name(key: Any) -> str:
    """A key from data as part of a field path."""
    return quoted(key) if isinstance(key, str) else shown(key)


def _typo_hint(name: Any, candidates: Any, noun: str) -> str | None:
    # Only text keys of a sane length can be typos of a valid name.
    if not isinstance(name, str) or len(name) > 64:
        return None
    return did_you_mean(name, candidates, noun)


def incident_id(raw: Any) -> str | None:
    """The id as the engine keeps it: text as written (an integer id is written in decimal)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() <= 200:
        return str(raw)
    return None


def _finite_number(v: Any, kinds: tuple[type, ...]) -> bool:
    return type(v) in kinds and (type(v) is not float or math.isfinite(v))


# A time as read at three places: the separator between date and time (`T` or a space, which sort
# apart), the colon before its seconds, and everything after the seconds (a fraction, then the offset).
# `2021-07-01T14:03:20-05:00` gives ("T", ":", "-05:00"). Every time read has at least 17 characters
# (date, hours, minutes and an offset), so all three places exist.
_AT_TEXT, _SHAPE = itemgetter("at"), itemgetter(10, 16, slice(19, None))


def _written_in_order(raw_events: list[Any]) -> bool:
    """Whether events that were all read are in time order, seen from their times as written. When every
    time has its seconds, the same separator and the same text after the seconds, they differ only in
    the fixed-width digits, and texts in order are times in order. Comparing texts costs a tenth of
    comparing times with their offsets; False (not in order, or written otherwise) leaves the comparing
    to `Incident.of`."""
    texts = list(map(_AT_TEXT, raw_events))
    shapes = set(map(_SHAPE, texts))
    return len(shapes) == 1 and shapes.pop()[1] == ":" and all(map(le, texts, texts[1:]))


class IncidentReader:
    """Checks incident data against one vocabulary (the ruleset's, with its declarations).

    `read` raises IncidentError for anything it cannot accept, whatever the data (any type, any
    size), listing every problem found; it never raises anything else."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self._attrs = {name: vocab.attributes_of(name) for name in vocab.events}
        # Fast acceptance tests; a value they refuse goes through `_value` for the message.
        self._accept = {name: {a: self._acceptor(spec) for a, spec in attrs.items()}
                        for name, attrs in self._attrs.items()}
        self._accept_fact = {name: self._acceptor(spec) for name, spec in vocab.facts.items()}
        self._zones: set[str] = set()  # time zone names already read (each is read once)

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
            return is_date
        kinds: tuple[type, ...] = (int,) if t is ValueType.INTEGER else (int, float)
        return lambda v: (_finite_number(v, kinds) and (low is None or v >= low) and (high is None or v <= high))

    def read(self, data: Any) -> Incident:
        if not isinstance(data, dict):
            raise IncidentError([Problem("?", "(incident)", f"an incident is a JSON object with id, timezone, "
                                         f"facts and events, not {shown(data)}")])
        raw_id = data.get("id")
        found_id = incident_id(raw_id)
        iid = found_id if found_id is not None else "?"
        problems: list[Problem] = []
        if found_id is None:
            problems.append(Problem(iid, "id", "every incident needs an `id` (text)"
                                    + ("" if raw_id is None else f", not {shown(raw_id)}")))
        for key in data:
            if key not in ("id", "timezone", "facts", "events"):
                problems.append(Problem(iid, _name(key), f"`{_name(key)}` is not a field of an incident",
                                        _typo_hint(key, ["id", "timezone", "facts", "events"], "fields")))
        tz = data.get("timezone")
        facts = data.get("facts", {})
        problems += self.header_problems(iid, tz, facts)
        if not isinstance(facts, dict):
            facts = {}
        raw_events = data.get("events")
        events: list[Event] = []
        if not isinstance(raw_events, list) or not raw_events:
            problems.append(Problem(iid, "events", "an incident needs a non-empty list of `events`"
                                    + ("" if raw_events is None or raw_events == [] else
                                       f", not {shown(raw_events)}")))
            raw_events = []
        for i, raw in enumerate(raw_events):
            try:
                events.append(self._event(iid, i, raw))
            except IncidentError as exc:
                problems.extend(exc.problems)
        if problems:
            raise IncidentError(problems)
        return Incident.of(iid, str(tz), dict(facts), events, placed=_written_in_order(raw_events))

    def header_problems(self, iid: str, tz: Any, facts: Any) -> list[Problem]:
        """What is wrong with an incident's time zone and facts (an incident opened before its events)."""
        problems: list[Problem] = []
        if tz is None:
            problems.append(Problem(iid, "timezone", "every incident needs a `timezone` (an IANA name, "
                                    "e.g. America/Chicago)"))
        elif not (type(tz) is str and tz in self._zones):  # (a value of another type may not hash)
            try:
                parse_zone(tz)
                self._zones.add(tz)  # bounded: the tz database names a few hundred zones
            except ValueError as exc:
                problems.append(Problem(iid, "timezone", f"{shown(tz)}: {exc}" if not isinstance(tz, str)
                                        else str(exc)))
        if not isinstance(facts, dict):
            problems.append(Problem(iid, "facts", f"`facts` is an object of fact names and values, not "
                                    f"{shown(facts)}"))
            return problems
        accept_fact = self._accept_fact
        for name, value in facts.items():
            accept = accept_fact.get(name)  # a key of any type: only names of facts are found
            if accept is not None and accept(value):
                continue
            spec = self.vocab.facts.get(name) if isinstance(name, str) else None
            if spec is None:
                problems.append(Problem(iid, f"facts.{_name(name)}", f"unknown fact `{_name(name)}`",
                                        _typo_hint(name, self.vocab.facts, "facts")))
            else:
                problems.extend(self._value(iid, f"facts.{name}", value, spec))
        return problems

    def _event(self, iid: str, i: int, raw: Any) -> Event:
        # The common case first, an event the vocabulary accepts as it is: no bookkeeping for messages.
        # Anything else goes to `_checked_event`, which finds every problem and says where.
        etype = raw.get("type") if type(raw) is dict else None
        accept = self._accept.get(etype) if isinstance(etype, str) else None
        if accept is not None and isinstance(etype, str):
            try:
                at = parse_timestamp(raw["at"])
            except (KeyError, ValueError):
                return self._checked_event(iid, i, raw)
            attributes = raw.copy()  # a copy: the caller's data is never changed
            del attributes["type"], attributes["at"]
            for name, value in attributes.items():
                check = accept.get(name)
                if check is None or not check(value):
                    return self._checked_event(iid, i, raw)
            return _new_tuple(Event, (etype, at, attributes, i, i))
        return self._checked_event(iid, i, raw)

    def _checked_event(self, iid: str, i: int, raw: Any) -> Event:
        where = f"events[{i}]"
        if not isinstance(raw, dict):
            raise IncidentError([Problem(iid, where, f"an event is an object with `type`, `at` and attributes, "
                                         f"not {shown(raw)}")])
        etype = raw.get("type")
        attrs_spec = self._attrs.get(etype) if isinstance(etype, str) else None
        accept = self._accept.get(etype) if isinstance(etype, str) else None
        problems: list[Problem] = []
        if attrs_spec is None:
            problems.append(Problem(iid, f"{where}.type", "every event needs a `type`" if etype is None
                                    else f"unknown event type {shown(etype)}",
                                    _typo_hint(etype, self.vocab.events, "event types")))
        at: datetime | None = None
        try:
            at = parse_time(raw.get("at"), f"{where}.at", iid)
        except IncidentError as exc:
            problems.extend(exc.problems)
        attributes: dict[str, Any] = {}
        for name, value in raw.items():
            if name in RESERVED or attrs_spec is None or accept is None:
                continue
            check = accept.get(name) if isinstance(name, str) else None
            if check is not None and check(value):
                attributes[name] = value
                continue
            spec = attrs_spec.get(name) if isinstance(name, str) else None
            if spec is None:
                problems.append(Problem(iid, f"{where}.{_name(name)}",
                                        f"`{_name(etype)}` events have no attribute `{_name(name)}`",
                                        _typo_hint(name, attrs_spec, "attributes")))
            else:
                problems.extend(self._value(iid, f"{where}.{name}", value, spec))
        if problems or at is None:
            raise IncidentError(problems)
        return Event(str(etype), at, attributes, i, i)

    def _value(self, iid: str, where: str, value: Any, spec: Spec) -> Iterator[Problem]:
        allowed = self.vocab.allowed_values(spec)
        if allowed is not None:
            if not isinstance(value, str) or value not in allowed:
                yield Problem(iid, where, f"{shown(value)} is not allowed",
                              _typo_hint(value, allowed, "values") if isinstance(value, str)
                              else f"valid values: {', '.join(sorted(allowed))}")
            return
        t = spec.type
        ok = ((t is ValueType.BOOLEAN and isinstance(value, bool))
              or (t is ValueType.INTEGER and _finite_number(value, (int,)))
              or (t is ValueType.NUMBER and _finite_number(value, (int, float)))
              or (t is ValueType.TEXT and isinstance(value, str))
              or (t is ValueType.DATE and is_date(value)))
        if not ok:
            hint = f"written YYYY-MM-DD, e.g. {DATE_EXAMPLE}" if t is ValueType.DATE else None
            yield Problem(iid, where, f"expected {spec.describe()}, found {shown(value)}", hint)
        elif t in NUMERIC and ((spec.minimum is not None and value < spec.minimum)
                               or (spec.maximum is not None and value > spec.maximum)):
            yield Problem(iid, where, f"{shown(value)} is out of range ({spec.describe()})")
