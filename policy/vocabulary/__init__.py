"""The typed vocabulary a ruleset is checked against: event types, attributes, facts, roles.

The core vocabulary ships as data (`bwc-core-1.yaml`); a ruleset may add to it under `declare:`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from policy.source import read_yaml_file

if TYPE_CHECKING:
    from policy.model import Ruleset

DATA = Path(__file__).parent


class ValueType(StrEnum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    TEXT = "text"
    ENUM = "enum"
    DATE = "date"
    ROLE = "role"
    PURPOSE = "purpose"
    RECIPIENT = "recipient"


NUMERIC = {ValueType.INTEGER, ValueType.NUMBER}


class Spec(BaseModel):
    """The type of one fact or event attribute."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ValueType
    values: tuple[str, ...] = Field(default=(), description="The allowed values of an enum.")
    ordered: StrictBool = Field(default=False, description="Whether enum values are listed from least to most.")
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    @model_validator(mode="after")
    def _enum_has_values(self) -> Spec:
        if self.type is ValueType.ENUM and not self.values:
            raise ValueError("an enum needs a list of `values`")
        if self.type is not ValueType.ENUM and (self.values or self.ordered):
            raise ValueError("only an enum has `values`")
        if len(set(self.values)) != len(self.values):
            raise ValueError("enum values must be distinct")
        return self

    def describe(self) -> str:
        if self.type is ValueType.ENUM:
            return "one of " + ", ".join(self.values)
        if self.type in NUMERIC and (self.minimum is not None or self.maximum is not None):
            return f"{self.type} from {_num(self.minimum)} to {_num(self.maximum)}"
        return str(self.type)


def _num(x: float | None) -> str:
    if x is None:
        return "any"
    return str(int(x)) if x == int(x) else str(x)


class EventSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    action: StrictBool = Field(default=False, description="An action taken on the footage, checked by audits.")
    attributes: dict[str, Spec] = Field(default_factory=dict)


class Vocabulary(BaseModel):
    """A complete vocabulary: the core one, or the core plus a ruleset's declarations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vocabulary: str
    version: int
    description: str = ""
    facts: dict[str, Spec]
    common_attributes: dict[str, Spec] = Field(default_factory=dict)
    events: dict[str, EventSpec]
    roles: dict[str, str]
    purposes: dict[str, str]
    recipients: dict[str, str]

    @property
    def ref(self) -> str:
        return f"{self.vocabulary}@{self.version}"

    def attributes_of(self, event_type: str) -> dict[str, Spec]:
        """All attributes an event of this type may carry, common ones included."""
        spec = self.events.get(event_type)
        own = spec.attributes if spec is not None else {}
        return {**self.common_attributes, **own}

    def names_of(self, value_type: ValueType) -> tuple[str, ...]:
        """The allowed values of the vocabulary-wide name types (roles, purposes, recipients)."""
        table = {ValueType.ROLE: self.roles, ValueType.PURPOSE: self.purposes,
                 ValueType.RECIPIENT: self.recipients}
        return tuple(table[value_type])

    def allowed_values(self, spec: Spec) -> tuple[str, ...] | None:
        if spec.type is ValueType.ENUM:
            return spec.values
        if spec.type in (ValueType.ROLE, ValueType.PURPOSE, ValueType.RECIPIENT):
            return self.names_of(spec.type)
        return None

    def reads_within(self, other: Vocabulary) -> bool:
        """Whether every incident this vocabulary accepts, `other` accepts as it is: each fact, event type
        and attribute declared here is declared there, taking the same values. (Then an incident read
        with this vocabulary need not be read again with the other's.)"""
        def same(a: dict[str, Spec], b: dict[str, Spec]) -> bool:
            return all(n in b and self._accepts(s) == other._accepts(b[n]) for n, s in a.items())
        return same(self.facts, other.facts) and all(
            t in other.events and same(self.attributes_of(t), other.attributes_of(t)) for t in self.events)

    def _accepts(self, spec: Spec) -> tuple[Any, ...]:
        """What decides which values of one name an incident may give: its type, allowed values, range."""
        allowed = self.allowed_values(spec)
        return (spec.type, None if allowed is None else frozenset(allowed), spec.minimum, spec.maximum)

    def extended(self, facts: dict[str, Spec], events: dict[str, EventSpec],
                 attributes: dict[str, dict[str, Spec]]) -> Vocabulary:
        """This vocabulary plus a ruleset's declarations (clashes are checked by the caller)."""
        new_events = dict(self.events)
        for name, spec in events.items():
            new_events[name] = spec
        for event, extra in attributes.items():
            base = new_events.get(event)
            if base is not None:
                new_events[event] = base.model_copy(update={"attributes": {**base.attributes, **extra}})
        return self.model_copy(update={"facts": {**self.facts, **facts}, "events": new_events})


CORE_REF = "bwc-core@1"


@cache
def core() -> Vocabulary:
    """The shipped core vocabulary, bwc-core version 1."""
    return load_vocabulary(DATA / "bwc-core-1.yaml")


def load_vocabulary(path: Path) -> Vocabulary:
    doc = read_yaml_file(path)
    return Vocabulary.model_validate(doc.data)


def known_vocabularies() -> dict[str, Vocabulary]:
    return {CORE_REF: core()}


def vocabulary_for(ruleset: Ruleset) -> Vocabulary:
    """The vocabulary a (valid) ruleset is checked against: its base vocabulary plus its declarations."""
    vocab = known_vocabularies()[ruleset.vocabulary]
    d = ruleset.declare
    return vocab.extended(d.facts, d.events, d.attributes)


def to_markdown(vocab: Vocabulary) -> str:
    """The vocabulary as a Markdown reference page (docs/vocabulary.md is generated from this)."""
    out: list[str] = [
        f"# Vocabulary `{vocab.ref}`",
        "",
        "<!-- Generated by `bwc vocabulary --format markdown`; do not edit by hand. -->",
        "",
        vocab.description,
        "",
        "Every name a ruleset uses is checked against this list when the ruleset is loaded. "
        "A ruleset may add facts, event types and attributes of its own under `declare:` "
        "(see docs/language.md).",
        "",
        "## Incident facts",
        "",
        "| fact | type | meaning |",
        "|---|---|---|",
    ]
    out += [f"| `{n}` | {s.describe()} | {s.description} |" for n, s in vocab.facts.items()]
    out += ["", "## Attributes every event may carry", "", "| attribute | type | meaning |", "|---|---|---|"]
    out += [f"| `{n}` | {s.describe()} | {s.description} |" for n, s in vocab.common_attributes.items()]
    for title, actions in (("Incident events", False), ("Actions on the footage (checked by audits)", True)):
        out += ["", f"## {title}", "", "| event type | meaning | attributes |", "|---|---|---|"]
        for name, ev in vocab.events.items():
            if ev.action != actions:
                continue
            attrs = "<br>".join(f"`{a}`: {s.describe()}" + (f" ({s.description})" if s.description else "")
                                for a, s in ev.attributes.items()) or "—"
            out.append(f"| `{name}` | {ev.description} | {attrs} |")
    for title, table in (("Roles", vocab.roles), ("Purposes", vocab.purposes), ("Recipients", vocab.recipients)):
        out += ["", f"## {title}", "", "| name | meaning |", "|---|---|"]
        out += [f"| `{n}` | {d} |" for n, d in table.items()]
    return "\n".join(out) + "\n"
