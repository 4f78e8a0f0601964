"""The scenario file format: a ruleset, and scenarios each giving an incident and the obligations
expected of its decision; an expected obligation matches a decided one on every key it gives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.core.decision import Moment, Obligation, Pending
from policy.base import NAME_PATTERN
from policy.duration import Duration
from policy.values import DATE_EXAMPLE, TIMESTAMP_EXAMPLE, date_hint, parse_date, parse_timestamp, quoted


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedDelay(_Strict):
    until: str | None = None
    available: bool | None = None

    @field_validator("until", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, date) else v


class ExpectedObligation(_Strict):
    """What a decided obligation must show; every key is optional and only given keys are checked."""

    kind: str | None = None
    effect: str | None = None
    rule: str | None = None
    cite: str | None = None
    to: str | list[str] | None = Field(default=None, description="Recipient(s), e.g. public.")
    role: str | list[str] | None = None
    purpose: str | None = None
    by: str | None = Field(default=None, description="Release deadline: a date, or `pending:<event>`.")
    promptly_after: str | None = Field(default=None, description="A release due promptly: the time it is due "
                                       "promptly after, or `pending:<event>`.")
    retain_until: str | None = Field(default=None, description="A date, `indefinite` or `pending:<event>`.")
    delete_by: str | None = None
    legal_hold: bool | None = None
    window_from: str | None = Field(default=None, description="A time, or `pending:<event>`.")
    window_until: str | None = Field(default=None, description="A time, `open` or `pending:<event>`.")
    trigger: str | None = Field(default=None, description="The trigger event's time.")
    overridden_by: str | None = None
    overridden: bool | None = Field(default=None, description="false: in force (no rule took precedence over it).")
    suspended_by: str | None = Field(default=None, description="A rule that suspends part of the window.")
    delays: list[ExpectedDelay] | None = Field(default=None, description="Every permitted delay, in order.")
    delay_until: str | None = Field(default=None, description="The first permitted delay's last day.")
    delay_available: bool | None = None

    @field_validator("by", "retain_until", "delete_by", "delay_until", "window_from", "window_until", "trigger",
                     "promptly_after", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, date | datetime) else v

    def mismatches(self, o: Obligation) -> list[str]:
        """The keys on which `o` differs from this expectation (empty: it matches)."""
        actual = _observed(o)
        out = []
        for key, want in self.model_dump(exclude_none=True).items():
            got: Any = actual.get(key)
            if key in ("to", "role"):
                want = [want] if isinstance(want, str) else want
                ok = sorted(want) == sorted(got or [])
            elif key == "suspended_by":
                ok = want in got
            elif key == "delays":
                want = [{k: v for k, v in w.items() if v is not None} for w in want]
                ok = len(want) == len(got) and all(
                    all(_same(k, v, g.get(k)) for k, v in w.items()) for w, g in zip(want, got, strict=True))
            elif key in _FORMS:
                ok = _same(key, want, got)
            else:
                ok = got == want
            if not ok:
                out.append(f"{key}: expected {want!r}, decided {got!r}")
        return out

    def restated(self, o: Obligation) -> list[str]:
        """The times and dates this expectation writes otherwise than the decision `o` does, though they are
        the same (`2024-05-02T16:00:00Z` for `2024-05-02T10:00:00-06:00`): said when that decision fails it."""
        actual = _observed(o)
        return [f"{key}: {want} is {actual[key]}, the same moment" for key in _TIMES
                if isinstance(want := getattr(self, key), str) and want != actual[key]
                and _same(key, want, actual[key])]

    def value_problems(self) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
        """Each time or date this expectation gives that is not one, as (its path in the expectation, the
        problem, how to write it), read as the incident's own times and dates are (policy.values)."""
        for key in (*_TIMES, *_DAYS):
            value = getattr(self, key)
            if isinstance(value, str):
                try:
                    expected_value(key, value)
                except ValueError as exc:
                    yield (key,), str(exc), f"`{key}` takes {_FORMS[key]}"
        for i, delay in enumerate(self.delays or []):
            if isinstance(delay.until, str):
                try:
                    expected_value("until", delay.until)
                except ValueError as exc:
                    yield ("delays", i, "until"), str(exc), f"a delay's `until` takes {_FORMS['until']}"


# The keys that hold a time or a date, and what each takes besides (in plain words, for a hint).
_A_TIME = f"a time with its offset from UTC, e.g. {TIMESTAMP_EXAMPLE}"
_A_DAY = f"a date written YYYY-MM-DD, e.g. {DATE_EXAMPLE}, `indefinite`, or `pending:<event>` (optionally " \
         "followed by `+` and a duration, e.g. pending:flagged+P3Y)"
_FORMS = {
    "trigger": _A_TIME,
    "window_from": f"{_A_TIME}, `open` or `pending:<event>`",
    "window_until": f"{_A_TIME}, `open` or `pending:<event>`",
    "promptly_after": f"{_A_TIME} or `pending:<event>`",
    **dict.fromkeys(("by", "retain_until", "delete_by", "delay_until", "until"), _A_DAY),
}
_TIMES = ("trigger", "window_from", "window_until", "promptly_after")
_DAYS = ("by", "retain_until", "delete_by", "delay_until")  # and a delay's `until`
_WORDS = {"window_from": ("open",), "window_until": ("open",), **dict.fromkeys((*_DAYS, "until"), ("indefinite",))}
_PENDING = re.compile(r"pending:(?P<event>[^+]*)(?:\+(?P<then>.*))?", re.ASCII | re.DOTALL)
_NAME = re.compile(NAME_PATTERN.strip("^$"), re.ASCII)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def expected_value(key: str, text: str) -> object:
    """The value a time or date key's `text` stands for, as compared: a time as its instant (so
    `2024-05-02T16:00:00Z` and `2024-05-02T10:00:00-06:00` are one value), a date as its day, an awaited
    event with what its duration counts (`P1Y` and `P12M` are one value); raises ValueError saying in
    plain words what is wrong."""
    if key == "trigger" or not text.startswith("pending:"):
        if text in _WORDS.get(key, ()):
            return text
        if key in _TIMES:
            return parse_timestamp(text)
        try:
            return parse_date(text)
        except ValueError as exc:
            if _ISO_DAY.fullmatch(text):
                raise
            raise ValueError(f"`{quoted(text)}` is not a date written YYYY-MM-DD ({date_hint(text)})") from exc
    m = _PENDING.fullmatch(text)
    if m is None or not _NAME.fullmatch(m["event"]):
        raise ValueError(f"`{quoted(text)}` is not `pending:` followed by an event type, e.g. pending:arrived")
    then = m["then"]
    if then is None:
        return ("pending", m["event"], Duration().counted)
    if key in _TIMES:
        raise ValueError(f"`{quoted(text)}`: a moment that has not happened yet has no duration after it "
                         f"(write pending:{m['event']})")
    try:
        return ("pending", m["event"], Duration.parse(then).counted)
    except ValueError:
        raise ValueError(f"`{quoted(then)}` (after `+` in `{quoted(text)}`) is not a duration, e.g. P3Y or "
                         "10 business days") from None


def _same(key: str, want: Any, got: Any) -> bool:
    """Whether a decided value is the one expected: times as instants, dates as days (text as text when
    either is not a value: an expectation made in code, not read from a file, is not checked first)."""
    if isinstance(want, str) and isinstance(got, str):
        try:
            return expected_value(key, want) == expected_value(key, got)
        except (ValueError, OverflowError):
            pass
    return bool(want == got)


def _day(v: Any) -> Any:
    if isinstance(v, Pending):
        return f"pending:{v.pending}" + (f"+{v.then}" if v.then != "P0D" else "")
    return v.isoformat() if isinstance(v, date) else v


def _moment(m: Moment | None, open_word: str = "open") -> str | None:
    if m is None:
        return open_word
    return f"pending:{m.event}" if m.pending else m.at


def _observed(o: Obligation) -> dict[str, Any]:
    return {
        "kind": o.kind, "effect": o.effect.value, "rule": o.rule, "cite": o.cite, "to": o.to, "role": o.role,
        "purpose": o.purpose, "by": _day(o.by), "retain_until": _day(o.retain_until),
        "promptly_after": _moment(o.promptly_after, "") if o.promptly_after is not None else None,
        "delete_by": _day(o.delete_by), "legal_hold": bool(o.legal_hold),
        "window_from": _moment(o.window.from_, "open") if o.window else None,
        "window_until": _moment(o.window.until) if o.window else None,
        "trigger": o.trigger.at if o.trigger else None, "overridden_by": o.overridden_by,
        "overridden": o.overridden_by is not None,
        "suspended_by": [p.rule for p in o.suspended or []],
        "delays": [{"until": _day(d.until), "available": d.available} for d in o.delays or []],
        "delay_until": _day(o.delays[0].until) if o.delays else None,
        "delay_available": o.delays[0].available if o.delays else None,
    }


class ScenarioIncident(_Strict):
    id: str | None = None
    timezone: str | None = Field(default=None, description="Default: the ruleset's time zone.")
    facts: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]]


class Scenario(_Strict):
    name: str = Field(min_length=1)
    cite: str = Field(min_length=1, description="The clause this scenario checks.")
    notes: str | None = None
    version: str | None = Field(default=None, description="Pin a version of the ruleset.")
    as_of: str | None = None
    incident: ScenarioIncident
    expect: list[ExpectedObligation] = Field(default_factory=list)
    expect_not: list[ExpectedObligation] = Field(default_factory=list)
    expect_error: str | None = Field(default=None, description="The incident must be refused with this text.")
    expect_in_force: bool | None = Field(default=None, description="Whether the ruleset governs the incident "
                                         "(false before its effective date: then nothing is decided).")

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime) else v


class ScenarioFile(_Strict):
    """A file of scenarios for one ruleset (its JSON Schema: `bwc schema --kind scenarios`)."""

    ruleset: str = Field(description="The ruleset id, optionally @version.")
    scenarios: Annotated[list[Scenario], Field(min_length=1)]


def plain(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the engine reads it: times YAML parsed into dates written back as ISO 8601 text."""
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in event.items()}
