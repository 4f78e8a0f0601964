"""Checking a structurally valid ruleset against its vocabulary and itself.

Every name a rule uses must exist (with a suggestion of the closest valid name when it does not),
every compared value must have the attribute's type, every cite must name a declared source, and
rule ids must be unique. Each problem carries the path of the offending value in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from policy.base import ID_PATTERN
from policy.conditions import (
    ORDERING,
    AllCondition,
    AnyCondition,
    Comparison,
    EventCondition,
    FactsCondition,
    NotCondition,
    Operator,
    SequenceCondition,
)
from policy.diagnostics import did_you_mean
from policy.model import Declarations, Governs, Rule, Source
from policy.obligations import (
    INCIDENT,
    RESERVED_ANCHORS,
    RULE_APPLIES,
    AccessObligation,
    DeleteObligation,
    Earliest,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
)
from policy.values import date_hint, is_date, quoted
from policy.vocabulary import NUMERIC, Spec, ValueType, Vocabulary

Path = tuple[str | int, ...]

_VALID_ID = re.compile(ID_PATTERN.strip("^$"))


@dataclass(frozen=True)
class RulesetProblem:
    """One problem `policy.validate` found in a ruleset: its BWC code, words, hint, and where (the path
    of the offending value; `at_key`: point at its key rather than its value)."""

    path: Path
    code: str
    message: str
    hint: str | None = None
    at_key: bool = False


def declarations(declare: Declarations, vocab: Vocabulary) -> list[RulesetProblem]:
    """Declared names must be new, and attributes must extend known event types."""
    out: list[RulesetProblem] = []
    for name in declare.facts:
        if name in vocab.facts:
            out.append(RulesetProblem(("declare", "facts", name), "BWC212",
                                      f"fact `{name}` is already in the vocabulary {vocab.ref}",
                                      "remove the declaration and use the vocabulary's fact", at_key=True))
    for name in declare.events:
        if name in RESERVED_ANCHORS:
            out.append(RulesetProblem(("declare", "events", name), "BWC212",
                                      f"`{name}` is a reserved anchor name, not an event type",
                                      "give the event type another name", at_key=True))
        elif name in vocab.events:
            out.append(RulesetProblem(("declare", "events", name), "BWC212",
                                      f"event type `{name}` is already in the vocabulary {vocab.ref}",
                                      "remove the declaration, or declare extra attributes under "
                                      "`declare: attributes:`", at_key=True))
    for event, attrs in declare.attributes.items():
        if event not in vocab.events and event not in declare.events:
            out.append(RulesetProblem(("declare", "attributes", event), "BWC201", f"unknown event type `{event}`",
                                      did_you_mean(event, [*vocab.events, *declare.events], "event types"),
                                      at_key=True))
            continue
        for attr in attrs:
            if attr in vocab.attributes_of(event):
                out.append(RulesetProblem(("declare", "attributes", event, attr), "BWC212",
                                          f"`{event}` already has an attribute `{attr}`",
                                          "remove the declaration and use the vocabulary's attribute", at_key=True))
    return out


def sources(items: Sequence[Source]) -> list[RulesetProblem]:
    seen: set[str] = set()
    out = []
    for i, s in enumerate(items):
        if s.id in seen:
            out.append(RulesetProblem(("sources", i, "id"), "BWC211", f"source id `{s.id}` is used twice",
                                      "give each source its own id"))
        seen.add(s.id)
    return out


def rule_ids(raw_rules: Any, *, layered: bool) -> list[RulesetProblem]:
    """Unique ids, and `overrides` that name rules of this ruleset (or of the layer below)."""
    if not isinstance(raw_rules, list):
        return []
    out: list[RulesetProblem] = []
    first: dict[str, int] = {}
    for i, rule in enumerate(raw_rules):
        rid = rule.get("id") if isinstance(rule, dict) else None
        if not isinstance(rid, str):
            continue
        if rid in first:
            out.append(RulesetProblem(("rules", i, "id"), "BWC209",
                                      f"rule id `{rid}` is already used by rule number {first[rid] + 1}",
                                      "rule ids must be unique in a ruleset: rename one of them"))
        else:
            first[rid] = i
    for i, rule in enumerate(raw_rules):
        targets = rule.get("overrides") if isinstance(rule, dict) else None
        if not isinstance(targets, list):
            continue
        for j, target in enumerate(targets):
            if not isinstance(target, str):
                continue
            if target == rule.get("id"):
                out.append(RulesetProblem(("rules", i, "overrides", j), "BWC210", "a rule cannot override itself",
                                          "remove the rule's own id from `overrides`"))
            elif target not in first and not layered:
                # Suggest only ids that are valid: an id the checker refuses is no fix for anything.
                valid = [rid for rid in first if _VALID_ID.fullmatch(rid)]
                out.append(RulesetProblem(("rules", i, "overrides", j), "BWC210",
                                          f"no rule `{quoted(target)}` in this ruleset",
                                          did_you_mean(target, valid, "rule ids") if valid else None))
    return out


@dataclass(frozen=True)
class RuleParts:
    """The parts of a rule that passed structural validation (all of them for a valid rule)."""

    cite: str | None = None
    on: str | None = None
    where: dict[str, Comparison] | None = None
    when: Any = None
    unless: Any = None
    kind: str | None = None
    obligation: Any = None

    conduct: bool = False
    applies_to_existing_footage: bool = False
    same_officer: bool = False
    overrides: bool = False

    @classmethod
    def of(cls, rule: Rule) -> RuleParts:
        return cls(rule.cite, rule.on, rule.where, rule.when, rule.unless, rule.kind, rule.obligation,
                   rule.governs is Governs.CONDUCT, rule.applies_to_existing_footage, rule.same_officer,
                   bool(rule.overrides))


def rules(indexed: Iterable[tuple[int, RuleParts]], vocab: Vocabulary,
          source_ids: Iterable[str] | None) -> list[RulesetProblem]:
    checker = _RuleChecker(vocab, None if source_ids is None else set(source_ids))
    out: list[RulesetProblem] = []
    for i, parts in indexed:
        out.extend(checker.rule(parts, ("rules", i)))
    return out


class _RuleChecker:
    def __init__(self, vocab: Vocabulary, source_ids: set[str] | None) -> None:
        self.vocab = vocab
        self.source_ids = source_ids

    def rule(self, rule: RuleParts, path: Path) -> Iterator[RulesetProblem]:
        if rule.cite is not None and self.source_ids is not None:
            source_id = rule.cite.split(maxsplit=1)[0] if rule.cite.strip() else ""
            if source_id not in self.source_ids:
                yield RulesetProblem((*path, "cite"), "BWC208",
                                     f"the cite starts with `{source_id}`, which is not the id of a source",
                                     "write `cite: <source id> <clause>`; "
                                     + did_you_mean(source_id, self.source_ids, "source ids"))
        if rule.on is not None:
            if self.event_known(rule.on):
                yield from self.tests(rule.where or {}, self.vocab.attributes_of(rule.on), (*path, "where"),
                                      rule.on)
            else:
                yield self.unknown_event(rule.on, (*path, "on"))
        for key in ("when", "unless"):
            cond = getattr(rule, key)
            if cond is not None:
                yield from self.condition(cond, (*path, key))
        if rule.kind is not None and rule.obligation is not None:
            yield from self.obligation(rule.obligation, rule.on, (*path, rule.kind))
        if rule.conduct:
            yield from self.conduct(rule, path)
        if rule.same_officer and not (rule.on and rule.overrides):
            yield RulesetProblem((*path, "same_officer"), "BWC217",
                                 "`same_officer` limits what this rule's `overrides` "
                                 "set aside to the officer its trigger names, so it needs both `on` and `overrides`",
                                 "add `on: <event type>` (an event that names the officer) and `overrides: [...]`, or "
                                 "remove `same_officer`")

    def conduct(self, rule: RuleParts, path: Path) -> Iterator[RulesetProblem]:
        """`governs: conduct` bounds actions on footage: viewing and analysis (`access`), and release."""
        where = (*path, "governs")
        if rule.kind is not None and rule.kind not in ("access", "release"):
            hint = ("recording happens during the incident, so the version in force on the incident's date is "
                    "already the one in force when it happens" if rule.kind in ("record", "notify") else
                    "a retention or deletion duty is about the footage: to make a later version govern footage of "
                    "earlier incidents, write `applies_to_existing_footage: true`")
            yield RulesetProblem(where, "BWC216", "`governs: conduct` is for rules about actions on footage "
                                 f"(`access`, `release`), not `{rule.kind}`", hint)
        elif isinstance(rule.obligation, ReleaseObligation) and rule.obligation.within is not None:
            yield RulesetProblem(where, "BWC216", "a release deadline (`within`) is about the footage, so it cannot be "
                                 "judged by the version in force when an action happens",
                                 "remove `governs: conduct`, or state the rule as what may or must not be released")
        if rule.applies_to_existing_footage:
            yield RulesetProblem(where, "BWC216", "`governs: conduct` already applies to footage of any date; "
                                 "`applies_to_existing_footage` would add nothing",
                                 "remove `applies_to_existing_footage`")

    # --- names -------------------------------------------------------------------------------------

    def event_known(self, name: str) -> bool:
        return name in self.vocab.events

    def unknown_event(self, name: str, path: Path) -> RulesetProblem:
        return RulesetProblem(path, "BWC201", f"unknown event type `{name}`",
                              did_you_mean(name, self.vocab.events, "event types"))

    def anchor(self, name: str | None, path: Path) -> Iterator[RulesetProblem]:
        """An anchor a window opens or closes at: an event type, or `incident`."""
        if name == RULE_APPLIES:
            yield RulesetProblem(path, "BWC215", "`rule_applies` counts time from the moment the rule came to apply; "
                                 "it is not a window's edge",
                                 "use it in `after:` of retain, delete, release or may_delay; a window without `from` "
                                 "already opens at the rule's trigger")
        elif name is not None and name != INCIDENT and not self.event_known(name):
            f = self.unknown_event(name, path)
            yield RulesetProblem(path, f.code, f.message + " (an anchor is an event type, or `incident`)", f.hint)

    def counted(self, anchor: str | Earliest | None, path: Path) -> Iterator[RulesetProblem]:
        """An anchor a time is counted from: an event type, `incident`, `rule_applies`, or `earliest`."""
        if anchor is None:
            return
        if isinstance(anchor, str):
            if anchor != RULE_APPLIES:
                yield from self._counted_name(anchor, path)
            return
        seen: set[str] = set()
        for j, name in enumerate(anchor.earliest):
            if name in seen:
                yield RulesetProblem((*path, "earliest", j), "BWC215", f"`{name}` is listed twice in `earliest`",
                                     "list each anchor once")
            seen.add(name)
            if name != RULE_APPLIES:
                yield from self._counted_name(name, (*path, "earliest", j))
        if INCIDENT in seen:
            yield RulesetProblem((*path, "earliest"), "BWC215", "`incident` is the first event, so nothing listed with "
                                 "it can be earlier: `earliest` would always be `incident`",
                                 "write `after: incident`, or leave `incident` out of the list")

    def _counted_name(self, name: str, path: Path) -> Iterator[RulesetProblem]:
        if name != INCIDENT and not self.event_known(name):
            f = self.unknown_event(name, path)
            yield RulesetProblem(path, f.code, f.message + " (a time is counted from an event type, `incident` or "
                                 "`rule_applies`)", f.hint)

    def names(self, names: Iterable[str], kind: ValueType, path: Path) -> Iterator[RulesetProblem]:
        allowed = self.vocab.names_of(kind)
        for j, name in enumerate(names):
            if name not in allowed:
                # Who may see footage is the point of the rule: a guess is shown with every valid
                # name beside it, so a drafter checks it rather than taking it.
                hint = did_you_mean(name, allowed, f"{kind}s")
                if hint.startswith("did you mean"):
                    hint += f" (valid {kind}s: {', '.join(sorted(allowed))})"
                yield RulesetProblem((*path, j), "BWC207", f"unknown {kind} `{quoted(name)}`", hint)

    # --- conditions --------------------------------------------------------------------------------

    def condition(self, cond: Any, path: Path) -> Iterator[RulesetProblem]:
        if isinstance(cond, AllCondition | AnyCondition):
            key = "all" if isinstance(cond, AllCondition) else "any"
            for j, sub in enumerate(getattr(cond, key)):
                yield from self.condition(sub, (*path, key, j))
        elif isinstance(cond, NotCondition):
            yield from self.condition(cond.not_, (*path, "not"))
        elif isinstance(cond, FactsCondition):
            for name, test in cond.facts.items():
                spec = self.vocab.facts.get(name)
                if spec is None:
                    yield RulesetProblem((*path, "facts", name), "BWC203", f"unknown fact `{name}`",
                                         did_you_mean(name, self.vocab.facts, "facts"), at_key=True)
                else:
                    yield from self.test(test, spec, (*path, "facts", name), f"fact `{name}`")
        elif isinstance(cond, EventCondition):
            yield from self.event_condition(cond, path)
        elif isinstance(cond, SequenceCondition):
            for j, step in enumerate(cond.sequence):
                yield from self.event_condition(step, (*path, "sequence", j))
            if cond.within is not None and cond.within.is_zero:
                yield RulesetProblem((*path, "within"), "BWC105", "`within` must be longer than zero",
                                     "write a duration such as P1Y (one year) or P30D (30 days)")

    def event_condition(self, cond: EventCondition, path: Path) -> Iterator[RulesetProblem]:
        if not self.event_known(cond.event):
            yield self.unknown_event(cond.event, (*path, "event"))
            return
        yield from self.tests(cond.where, self.vocab.attributes_of(cond.event), (*path, "where"), cond.event)

    def tests(self, where: dict[str, Comparison], attrs: dict[str, Spec], path: Path,
              event: str) -> Iterator[RulesetProblem]:
        for name, test in where.items():
            spec = attrs.get(name)
            if spec is None:
                known = sorted(attrs)
                yield RulesetProblem((*path, name), "BWC202", f"`{event}` events have no attribute `{name}`",
                                     did_you_mean(name, known, f"attributes of `{event}`") if known
                                     else f"`{event}` has no attributes of its own; declare one under "
                                   "`declare: attributes:`", at_key=True)
            else:
                yield from self.test(test, spec, (*path, name), f"`{event}.{name}`")

    def test(self, test: Comparison, spec: Spec, path: Path, what: str) -> Iterator[RulesetProblem]:
        if test.op is Operator.EXISTS:
            return
        if test.op in ORDERING and not _ordered(spec):
            yield RulesetProblem(path, "BWC206", f"{what} is {spec.describe()}, which has no order, so `{test.op}` "
                                 "cannot compare it", "use `equals`, `in` or `not_in`")
            return
        values = test.value if isinstance(test.value, list) else [test.value]
        for j, value in enumerate(values):
            vpath = (*path, test.op.value, j) if isinstance(test.value, list) else (
                path if test.op is Operator.EQUALS else (*path, test.op.value))
            yield from self.value(value, spec, vpath, what)

    def value(self, value: Any, spec: Spec, path: Path, what: str) -> Iterator[RulesetProblem]:
        allowed = self.vocab.allowed_values(spec)
        if allowed is not None:
            if not isinstance(value, str):
                yield RulesetProblem(path, "BWC204",
                                     f"{what} is {spec.describe()}, so `{_as_written(value)}` cannot match it",
                                     "write one of: " + ", ".join(allowed))
            elif value not in allowed:
                yield RulesetProblem(path, "BWC205", f"`{value}` is not a value of {what}",
                                     did_you_mean(value, allowed, "values"))
            return
        ok = {
            ValueType.BOOLEAN: isinstance(value, bool),
            ValueType.INTEGER: isinstance(value, int) and not isinstance(value, bool),
            ValueType.NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
            ValueType.TEXT: isinstance(value, str),
            ValueType.DATE: is_date(value),
        }[spec.type]
        if not ok and spec.type is ValueType.DATE:
            yield RulesetProblem(path, "BWC106",
                                 f"{what} is a date, written YYYY-MM-DD; `{quoted(_as_written(value))}` is not one",
                                 date_hint(value))
        elif not ok:
            example = {ValueType.BOOLEAN: "true or false", ValueType.INTEGER: "a whole number",
                       ValueType.NUMBER: "a number", ValueType.TEXT: "text",
                       ValueType.DATE: "a date such as 2021-07-06"}[spec.type]
            yield RulesetProblem(path, "BWC204", f"{what} is {spec.type}, so `{_as_written(value)}` cannot match it",
                                 f"write {example}")
        elif spec.type in NUMERIC and (
            (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum)
        ):
            yield RulesetProblem(path, "BWC205", f"{what} is {spec.describe()}; `{value}` is out of range",
                                 f"write a value from {_as_written(spec.minimum)} to {_as_written(spec.maximum)}")

    # --- obligations -------------------------------------------------------------------------------

    def obligation(self, ob: Any, on: str | None, path: Path) -> Iterator[RulesetProblem]:
        if isinstance(ob, WindowObligation):
            yield from self.anchor(ob.from_, (*path, "from"))
            yield from self.anchor(ob.until, (*path, "until"))
            if ob.from_ is None and on is None:
                yield RulesetProblem(path, "BWC102", "the window has no start: it needs `from: <event type>`, or a "
                                     "trigger `on: <event type>` in the rule",
                                     "add `from: <event type>`, e.g. `from: arrived`")
        elif isinstance(ob, RetainObligation):
            yield from self.counted(ob.after, (*path, "after"))
            yield from self.anchor(ob.until, (*path, "until"))
        elif isinstance(ob, DeleteObligation):
            yield from self.counted(ob.after, (*path, "after"))
        elif isinstance(ob, AccessObligation):
            if ob.role is not None:  # None: a field that failed on its own (see loader._fields_that_validate)
                yield from self.names(ob.role, ValueType.ROLE, (*path, "role"))
            if ob.purpose is not None:
                yield from self.names([ob.purpose], ValueType.PURPOSE, (*path, "purpose"))
            yield from self.anchor(ob.after, (*path, "after"))
            yield from self.anchor(ob.before, (*path, "before"))
        elif isinstance(ob, ReleaseObligation):
            if ob.to is not None:
                yield from self.names(ob.to, ValueType.RECIPIENT, (*path, "to"))
            yield from self.counted(ob.after, (*path, "after"))
            for j, delay in enumerate(ob.may_delay or ()):
                dpath = (*path, "may_delay", j)
                yield from self.counted(delay.after, (*dpath, "after"))
                if delay.ends_on in RESERVED_ANCHORS:
                    yield RulesetProblem((*dpath, "ends_on"), "BWC215",
                                         "`ends_on` names the event that ends the delay; "
                                         f"`{delay.ends_on}` is not an event", "name an event type, e.g. "
                                         "`ends_on: investigation_concluded`")
                elif delay.ends_on is not None and not self.event_known(delay.ends_on):
                    yield self.unknown_event(delay.ends_on, (*dpath, "ends_on"))
                if delay.only_if is not None:
                    yield from self.condition(delay.only_if, (*dpath, "only_if"))


def _ordered(spec: Spec) -> bool:
    return spec.type in NUMERIC or spec.type is ValueType.DATE or (spec.type is ValueType.ENUM and spec.ordered)


def _as_written(value: Any) -> str:
    """A value of a ruleset as the file writes it (`true`, `3` for 3.0; None, meaning any value, as `any`)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "true" if value is True else "false" if value is False else "any" if value is None else str(value)
