"""Plain-English descriptions of rules, for drafters and for reviewers of a change.

    describe_rule(rule)
    # "Officers must record from `arrived` until `encounter_ended`, when a `dispatched` event happens"
    describe_obligation(retain)   # "Keep footage at least 2 years after `flagged`"
    describe_condition(when)      # "a `use_of_force` event with `injury` at least `substantial`"

Names from the vocabulary are shown in backticks, as a drafter writes them in the file.
"""

from __future__ import annotations

import re
from typing import Any

from policy.base import Effect
from policy.conditions import (
    AllCondition,
    AnyCondition,
    Comparison,
    EventCondition,
    FactsCondition,
    NotCondition,
    Operator,
    SequenceCondition,
)
from policy.duration import Duration
from policy.model import Rule
from policy.obligations import (
    INCIDENT,
    PROMPTLY,
    RULE_APPLIES,
    AccessObligation,
    AnyObligation,
    DelayAllowance,
    DeleteObligation,
    Earliest,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
)

_TESTS = {
    Operator.EQUALS: "is", Operator.NOT_EQUALS: "is not", Operator.IN: "is one of",
    Operator.NOT_IN: "is none of", Operator.LESS_THAN: "is less than", Operator.AT_MOST: "is at most",
    Operator.MORE_THAN: "is more than", Operator.AT_LEAST: "is at least",
}


def name(n: str) -> str:
    """A vocabulary name as written in a file."""
    return f"`{n}`"


def anchor(event: str | Earliest) -> str:
    """An anchor event: `incident` is the incident itself; `rule_applies` the moment the rule came to
    apply; `earliest` whichever of its anchors happened first."""
    if isinstance(event, Earliest):
        return "whichever came first of " + join([anchor(e) for e in event.earliest], "and")
    if event == RULE_APPLIES:
        return "the rule coming to apply"
    return "the incident" if event == INCIDENT else name(event)


# Which names are read with a vowel sound first. Spelling decides it for most words; these are the
# usual exceptions, after the rules of the `inflect` library (a `u` read as "you", an `eu`, a `one`; a
# silent `h`). Names are vocabulary words joined by `_`, so a word ends at anything not a letter.
_SAID_WITH_A = re.compile(r"e[uw]|onc?e(?![a-z])|onetime|uni(?:[^nmd]|mo)|u[bcfghjkqrst][aeiou]|ukr|ura[lnm]")
_SAID_WITH_AN = re.compile(r"hours?(?![a-z])|heir|honest|hono[ur]")


def article(n: str) -> str:
    """`an` before a name read with a vowel sound first (`an arrest`, `an unlawful_stop`, `an hour`), else
    `a` (`a use_of_force`, `a unit`, `a one_party_consent`, `a hearing`)."""
    low = n.lower()
    if _SAID_WITH_AN.match(low):
        return "an"
    if low[:1] in ("a", "e", "i", "o", "u") and not _SAID_WITH_A.match(low):
        return "an"
    return "a"


def a(n: str) -> str:
    """`a `arrest`` is `an `arrest``."""
    return f"{article(n)} {name(n)}"


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return join([value(x) for x in v], "or")
    return f"`{v}`" if isinstance(v, str) else str(v)


def join(items: list[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def describe_test(attribute: str, test: Comparison) -> str:
    """`injury` is at least `substantial`; `camera_issued` is false; `kind` is one of ..."""
    if test.op is Operator.EXISTS:
        return f"{name(attribute)} is {'recorded' if test.value else 'not recorded'}"
    return f"{name(attribute)} {_TESTS[test.op]} {value(test.value)}"


def describe_tests(tests: dict[str, Comparison]) -> str:
    return join([describe_test(k, v) for k, v in tests.items()])


def _event(cond: EventCondition) -> str:
    text = f"{a(cond.event)} event"
    return text + (f" where {describe_tests(cond.where)}" if cond.where else "")


def describe_condition(cond: Any) -> str:
    """A condition (`when`, `unless`, `only_if`) in words."""
    if isinstance(cond, FactsCondition):
        return describe_tests(cond.facts)
    if isinstance(cond, EventCondition):
        return _event(cond) + " happened"
    if isinstance(cond, AllCondition):
        parts = [describe_condition(c) for c in cond.all]
        return parts[0] if len(parts) == 1 else "all of: " + "; ".join(parts)
    if isinstance(cond, AnyCondition):
        parts = [describe_condition(c) for c in cond.any]
        return parts[0] if len(parts) == 1 else "any of: " + "; ".join(parts)
    if isinstance(cond, NotCondition):
        inner = cond.not_
        if isinstance(inner, EventCondition):
            return "no " + _event(inner).split(" ", 1)[1] + " happened"
        return f"not ({describe_condition(inner)})"
    if isinstance(cond, SequenceCondition):
        steps = ", then ".join(_event(c) for c in cond.sequence)
        within = f", the last within {cond.within.describe()} of the first" if cond.within else ""
        return f"{steps}{within}"
    raise TypeError(f"not a condition: {cond!r}")


def describe_trigger(rule: Rule) -> str | None:
    """`a `dispatched` event happens where ...`, or None when the rule has no trigger."""
    if rule.on is None:
        return None
    where = f" where {describe_tests(rule.where)}" if rule.where else ""
    return f"{a(rule.on)} event happens{where}"


def _who(roles: list[str]) -> str:
    return join([name(r) for r in roles], "or")


def recipients(to: list[str]) -> str:
    return join(["the public" if r == "public" else name(r) for r in to], "and")


def _window(o: WindowObligation) -> str:
    parts = []
    if o.from_ is not None:
        parts.append(f"from {anchor(o.from_)}")
    parts.append(f"until {anchor(o.until)}" if o.until is not None else "with no set end")
    return " ".join(parts)


_EFFECT_WORDS = {Effect.MUST: "must", Effect.MAY: "may", Effect.MUST_NOT: "must not"}


def describe_delay(d: DelayAllowance, default_after: str | Earliest | None = None) -> str:
    after = d.after or default_after
    if d.up_to == "indefinitely":
        text = "indefinitely"
    else:
        assert isinstance(d.up_to, Duration)
        text = f"up to {d.up_to.describe()}" + (f" after {anchor(after)}" if after else "")
    if d.only_if is not None:
        text += f" if {describe_condition(d.only_if)}"
    if d.ends_on is not None:
        text += f", ending when {a(d.ends_on)} event happens"
    if d.reassess_every is not None:
        text += f", reassessed every {d.reassess_every.describe()}"
    return text


def describe_duration(duration: Duration | None, after: str | Earliest | None, word: str = "after") -> str:
    if duration is None:
        return "no deadline"
    return f"{duration.describe()}" + (f" {word} {anchor(after)}" if after else "")


def describe_obligation(o: AnyObligation, kind: str) -> str:
    """The obligation alone, as an instruction: `Keep footage at least 2 years after `flagged``."""
    if isinstance(o, WindowObligation):
        verb = "record" if kind == "record" else "tell people they are being recorded"
        return f"Officers {_EFFECT_WORDS[o.effect]} {verb} {_window(o)}"
    if isinstance(o, RetainObligation):
        if o.at_least is not None:
            return f"Keep footage at least {describe_duration(o.at_least, o.after)}"
        if o.indefinitely:
            return "Keep footage indefinitely"
        if o.until is not None:
            return f"Keep footage until {anchor(o.until)}"
        return "Keep footage while a legal hold is in place"
    if isinstance(o, DeleteObligation):
        return f"Delete footage within {describe_duration(o.within, o.after)}"
    if isinstance(o, AccessObligation):
        text = f"{_who(o.role)} {_EFFECT_WORDS[o.effect]} view footage"
        if o.purpose is not None:
            text += f" for {name(o.purpose)}"
        if o.after is not None:
            text += f" after {anchor(o.after)}"
        if o.before is not None:
            text += f" before {anchor(o.before)}"
        return text[0].upper() + text[1:]
    if isinstance(o, ReleaseObligation):
        lead = {Effect.MUST: "Release", Effect.MAY: "May release", Effect.MUST_NOT: "Do not release"}[o.effect]
        text = f"{lead} to {recipients(o.to)}"
        if o.within == PROMPTLY:
            text += " promptly" + (f" after {anchor(o.after)}" if o.after is not None else "")
        elif isinstance(o.within, Duration):
            text += f" within {describe_duration(o.within, o.after, 'of')}"
        if o.may_delay:
            text += "; may be delayed " + "; or ".join(describe_delay(d, o.after) for d in o.may_delay)
        if o.redact:
            text += "; redact " + join(list(o.redact))
        if o.unedited:
            text += "; unedited"
        return text
    raise TypeError(f"not an obligation: {o!r}")


def describe_applies(rule: Rule) -> str:
    """When the rule applies, as a clause (empty for a rule that applies to every incident)."""
    parts = []
    trigger = describe_trigger(rule)
    if trigger:
        parts.append(f"when {trigger}")
    if rule.when is not None:
        parts.append(f"only if {describe_condition(rule.when)}")
    if rule.unless is not None:
        parts.append(f"unless {describe_condition(rule.unless)}")
    return ", ".join(parts)


def describe_rule(rule: Rule) -> str:
    """One sentence: the obligation, then when it applies, then what it sets aside."""
    text = describe_obligation(rule.obligation, rule.kind)
    applies = describe_applies(rule)
    if applies:
        text += ", " + applies
    if rule.overrides:
        text += f" (sets aside {join([name(r) for r in rule.overrides])})"
    return text


def subject(rule: Rule) -> str:
    """What a rule is about, as a short noun phrase: `recording`, `release to the public`, ..."""
    o = rule.obligation
    if isinstance(o, ReleaseObligation):
        return f"release to {recipients(o.to)}"
    if isinstance(o, AccessObligation):
        return f"viewing by {_who(o.role)}"
    return {"record": "recording", "notify": "notice of recording", "retain": "retention",
            "delete": "deletion"}[rule.kind]
