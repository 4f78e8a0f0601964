"""Hypothesis strategies: random valid rulesets and random incident timelines.

Everything is drawn from the core vocabulary (`policy.vocabulary.core()`) with values of the right
type, so a generated ruleset always loads. The timeline strategy is meant to be reused (e.g. to
compare two engine backends): its events cluster on a few event types and a few days, and its
attribute values come from small pools shared with the rulesets, so that rules actually fire.

    rulesets()              -> Ruleset (validated)
    ruleset_data()          -> dict, the ruleset as YAML-shaped data
    timelines(ruleset=None) -> {"facts": {...}, "events": [{"type", "at", **attributes}, ...]}
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import Phase, settings
from hypothesis import strategies as st

from policy.base import ID_PATTERN
from policy.conditions import ORDERING, Operator
from policy.duration import Duration
from policy.model import Confidence, Ruleset, Status
from policy.obligations import INCIDENT
from policy.vocabulary import NUMERIC, Spec, ValueType, Vocabulary, core

# `BWC_NO_SHRINK=1 pytest ...` reports the first failing example at once (shrinking a whole ruleset
# can take minutes).
settings.register_profile("no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
if os.environ.get("BWC_NO_SHRINK"):
    settings.load_profile("no-shrink")

VOCAB: Vocabulary = core()
EVENT_TYPES: tuple[str, ...] = tuple(VOCAB.events)
FACTS: tuple[str, ...] = tuple(VOCAB.facts)
ROLES: tuple[str, ...] = tuple(VOCAB.roles)
PURPOSES: tuple[str, ...] = tuple(VOCAB.purposes)
RECIPIENTS: tuple[str, ...] = tuple(VOCAB.recipients)

MAX_RULES = 8
MAX_DEPTH = 3

# Small pools shared by rulesets and timelines, so that equality tests hit.
TEXT_POOL = ("A-101", "B-202", "north", "district 7")
ZONES = ("UTC", "America/Denver", "America/Chicago", "America/New_York", "Europe/London", "Australia/Lord_Howe")

# --- small values ----------------------------------------------------------------------------------

idents = st.from_regex(ID_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 128)
short_idents = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,15}", fullmatch=True)

# Text: mostly readable words, sometimes arbitrary Unicode (YAML quoting, escapes, line breaks).
_words = st.lists(st.sampled_from(["record", "footage", "must", "be", "kept", "for", "days", "the", "public",
                                   "officer", "a: b", "#hash", "'quote'", '"dq"', "- dash", "yes", "no", "null",
                                   "1.0", "2021-07-06", "on", "~", "*star", "&amp", "[x]", "{y}", "%", "@"]),
                  min_size=1, max_size=8).map(" ".join)
# Characters a YAML file cannot hold even escaped-free in JSON (DEL, C1 controls but NEL, U+FFFE/U+FFFF):
# text that contains them cannot come from a ruleset file.
_NOT_IN_FILES = [chr(c) for c in (*range(0x7F, 0x85), *range(0x86, 0xA0), 0xFFFE, 0xFFFF)]
_chars = st.characters(exclude_categories=("Cs",), exclude_characters=_NOT_IN_FILES)
texts = st.one_of(_words, st.text(_chars, min_size=1, max_size=40)).filter(lambda s: bool(s.strip()))

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def durations(draw: st.DrawFn, *, nonzero: bool = True) -> Duration:
    if draw(st.integers(0, 5)) == 0:
        return Duration(business_days=draw(st.integers(1, 30)))
    small = st.integers(0, 3)
    parts = {k: draw(small) for k in ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
             if draw(st.booleans())}
    d = Duration(**parts)
    if nonzero and d.is_zero:
        d = Duration(days=draw(st.integers(1, 400)))
    return d


duration_texts = durations().map(str)


@st.composite
def semvers(draw: st.DrawFn) -> str:
    n = st.integers(0, 3000)
    text = f"{draw(n)}.{draw(n)}.{draw(n)}"
    if draw(st.booleans()):
        ident = st.one_of(st.from_regex(r"[A-Za-z-][0-9A-Za-z-]{0,5}", fullmatch=True),
                          st.integers(0, 99).map(str))
        text += "-" + ".".join(draw(st.lists(ident, min_size=1, max_size=3)))
    if draw(st.booleans()):
        text += "+" + ".".join(draw(st.lists(st.from_regex(r"[0-9A-Za-z-]{1,6}", fullmatch=True),
                                             min_size=1, max_size=3)))
    return text


@st.composite
def version_ranges(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(st.sampled_from(["", ">=", "<=", ">", "<", "=", "=="]), semvers()),
                          min_size=1, max_size=3))
    return " ".join(op + v for op, v in parts)


# --- comparisons -----------------------------------------------------------------------------------

def values_of(spec: Spec, vocab: Vocabulary = VOCAB) -> st.SearchStrategy[Any]:
    """Valid values of a fact or attribute type."""
    allowed = vocab.allowed_values(spec)
    if allowed is not None:
        return st.sampled_from(allowed)
    if spec.type is ValueType.BOOLEAN:
        return st.booleans()
    if spec.type is ValueType.INTEGER:
        lo = int(spec.minimum) if spec.minimum is not None else -1000
        hi = int(spec.maximum) if spec.maximum is not None else 1000
        return st.integers(lo, hi)
    if spec.type is ValueType.NUMBER:
        lo_f = spec.minimum if spec.minimum is not None else -1e6
        hi_f = spec.maximum if spec.maximum is not None else 1e6
        return st.one_of(st.integers(int(lo_f), int(hi_f)),
                         st.floats(lo_f, hi_f, allow_nan=False, allow_infinity=False))
    if spec.type is ValueType.DATE:
        return days.map(date.isoformat)
    return st.one_of(st.sampled_from(TEXT_POOL), texts)


def is_ordered(spec: Spec) -> bool:
    return spec.type in NUMERIC or spec.type is ValueType.DATE or (spec.type is ValueType.ENUM and spec.ordered)


@st.composite
def comparisons(draw: st.DrawFn, spec: Spec) -> Any:
    """One test of a value of this type, as YAML data (a bare value means `equals`)."""
    ops = [Operator.EQUALS, Operator.NOT_EQUALS, Operator.IN, Operator.NOT_IN, Operator.EXISTS]
    if is_ordered(spec):
        ops += sorted(ORDERING)
    op = draw(st.sampled_from(ops))
    values = values_of(spec)
    if op is Operator.EQUALS:
        return draw(values)
    if op is Operator.EXISTS:
        return {"exists": draw(st.booleans())}
    if op in (Operator.IN, Operator.NOT_IN):
        return {op.value: draw(st.lists(values, min_size=1, max_size=4))}
    return {op.value: draw(values)}


@st.composite
def tests_of(draw: st.DrawFn, specs: dict[str, Spec], *, min_size: int = 0) -> dict[str, Any]:
    if not specs:
        return {}
    names = draw(st.lists(st.sampled_from(sorted(specs)), min_size=min_size, max_size=3, unique=True))
    return {name: draw(comparisons(specs[name])) for name in names}


# --- conditions ------------------------------------------------------------------------------------

event_types = st.sampled_from(EVENT_TYPES)
anchors = st.one_of(st.just(INCIDENT), event_types)


@st.composite
def event_conditions(draw: st.DrawFn) -> dict[str, Any]:
    event = draw(event_types)
    out: dict[str, Any] = {"event": event}
    where = draw(tests_of(VOCAB.attributes_of(event)))
    if where:
        out["where"] = where
    return out


@st.composite
def facts_conditions(draw: st.DrawFn) -> dict[str, Any]:
    return {"facts": draw(tests_of(VOCAB.facts, min_size=1))}


@st.composite
def sequence_conditions(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"sequence": draw(st.lists(event_conditions(), min_size=2, max_size=4))}
    if draw(st.booleans()):
        out["within"] = draw(duration_texts)
    return out


def conditions(depth: int = MAX_DEPTH) -> st.SearchStrategy[dict[str, Any]]:
    """A condition at most `depth` levels deep."""
    leaves = st.one_of(facts_conditions(), event_conditions(), sequence_conditions())
    if depth <= 1:
        return leaves
    inner = st.deferred(lambda: conditions(depth - 1))
    return st.one_of(
        leaves,
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        inner.map(lambda c: {"not": c}),
    )


# --- obligations -----------------------------------------------------------------------------------

effects = st.sampled_from(["must", "may", "must_not"])


def _names(pool: tuple[str, ...]) -> st.SearchStrategy[Any]:
    # A NameList may be written as one name or a list.
    return st.one_of(st.sampled_from(pool), st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))


@st.composite
def window_obligations(draw: st.DrawFn, *, has_trigger: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": draw(effects)}
    if not has_trigger or draw(st.booleans()):
        out["from"] = draw(anchors)
    if draw(st.booleans()):
        out["until"] = draw(anchors)
    return out


@st.composite
def retain_obligations(draw: st.DrawFn) -> dict[str, Any]:
    form = draw(st.sampled_from(["at_least", "indefinitely", "until", "legal_hold"]))
    if form == "at_least":
        return {"at_least": draw(duration_texts), "after": draw(anchors)}
    if form == "until":
        return {"until": draw(anchors)}
    return {form: True}


@st.composite
def delete_obligations(draw: st.DrawFn) -> dict[str, Any]:
    return {"within": draw(duration_texts), "after": draw(anchors)}


@st.composite
def access_obligations(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": draw(effects), "role": draw(_names(ROLES))}
    for key, strategy in (("purpose", st.sampled_from(PURPOSES)), ("after", anchors), ("before", anchors)):
        if draw(st.booleans()):
            out[key] = draw(strategy)
    return out


@st.composite
def delay_allowances(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"up_to": draw(st.one_of(duration_texts, st.just("indefinitely")))}
    if draw(st.booleans()):
        out["after"] = draw(anchors)
    if draw(st.booleans()):
        out["only_if"] = draw(conditions(2))
    if draw(st.booleans()):
        out["requires"] = draw(st.lists(texts, min_size=1, max_size=3))
    if draw(st.booleans()):
        out["reassess_every"] = draw(duration_texts)
    return out


@st.composite
def release_obligations(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": draw(effects), "to": draw(_names(RECIPIENTS))}
    if draw(st.booleans()):
        out["within"] = draw(duration_texts)
        out["after"] = draw(anchors)
        if draw(st.booleans()):
            out["may_delay"] = draw(st.lists(delay_allowances(), min_size=1, max_size=2))
    elif draw(st.booleans()):
        out["after"] = draw(anchors)
    if draw(st.booleans()):
        out["redact"] = draw(st.lists(texts, min_size=1, max_size=3))
    if draw(st.booleans()):
        out["unedited"] = draw(st.booleans())
    return out


def obligations(kind: str, *, has_trigger: bool) -> st.SearchStrategy[dict[str, Any]]:
    return {
        "record": window_obligations(has_trigger=has_trigger),
        "notify": window_obligations(has_trigger=has_trigger),
        "retain": retain_obligations(),
        "delete": delete_obligations(),
        "access": access_obligations(),
        "release": release_obligations(),
    }[kind]


# --- rules and rulesets ----------------------------------------------------------------------------

OBLIGATION_KINDS = ("record", "notify", "retain", "delete", "access", "release")


@st.composite
def rules(draw: st.DrawFn, rule_id: str, source_ids: list[str], other_ids: list[str]) -> dict[str, Any]:
    clause = draw(st.one_of(st.just(""), st.from_regex(r"\([0-9a-z]{1,3}\)(\([0-9a-zA-Z]{1,4}\)){0,3}",
                                                         fullmatch=True), texts))
    cite = f"{draw(st.sampled_from(source_ids))} {clause}".strip()
    rule: dict[str, Any] = {"id": rule_id, "summary": draw(texts), "cite": cite}
    if draw(st.booleans()):
        rule["confidence"] = draw(st.sampled_from([c.value for c in Confidence]))
    on = draw(st.one_of(st.none(), event_types))
    if on is not None:
        rule["on"] = on
        where = draw(tests_of(VOCAB.attributes_of(on)))
        if where:
            rule["where"] = where
    for key in ("when", "unless"):
        if draw(st.integers(0, 2)) == 0:
            rule[key] = draw(conditions())
    if other_ids and draw(st.integers(0, 3)) == 0:
        rule["overrides"] = draw(st.lists(st.sampled_from(other_ids), min_size=1, max_size=2, unique=True))
    if draw(st.integers(0, 3)) == 0:
        rule["notes"] = draw(texts)
    kind = draw(st.sampled_from(OBLIGATION_KINDS))
    rule[kind] = draw(obligations(kind, has_trigger=on is not None))
    return rule


urls = st.builds(
    lambda host, path: f"https://{host}/{path}",
    st.sampled_from(["colorado.public.law", "example.org", "www.ilga.gov", "coloradofoic.org"]),
    st.from_regex(r"[a-z0-9_-]{0,12}(/[a-z0-9_.-]{1,10}){0,2}", fullmatch=True),
)


@st.composite
def sources(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(short_idents, min_size=1, max_size=3, unique=True))
    out = []
    for sid in ids:
        src: dict[str, Any] = {"id": sid, "title": draw(texts)}
        if draw(st.booleans()):
            src["url"] = draw(urls)
        if draw(st.booleans()):
            src["date"] = draw(days).isoformat()
        out.append(src)
    return out


@st.composite
def ruleset_data(draw: st.DrawFn, *, max_rules: int = MAX_RULES) -> dict[str, Any]:
    """A valid ruleset as YAML-shaped data (what a drafter would write)."""
    start = draw(days)
    effective: dict[str, Any] = {"from": start.isoformat()}
    if draw(st.booleans()):
        effective["until"] = (start + timedelta(days=draw(st.integers(0, 3650)))).isoformat()
    srcs = draw(sources())
    source_ids = [s["id"] for s in srcs]
    data: dict[str, Any] = {
        "ruleset": draw(idents),
        "version": draw(semvers()),
        "title": draw(texts),
        "status": draw(st.sampled_from([s.value for s in Status])),
        "effective": effective,
        "timezone": draw(st.sampled_from(ZONES)),
        "drafted_by": draw(texts),
        "sources": srcs,
    }
    if draw(st.booleans()):
        data["vocabulary"] = "bwc-core@1"
    if draw(st.integers(0, 3)) == 0:
        data["extends"] = {"ruleset": draw(idents), "version": draw(version_ranges())}
    if draw(st.integers(0, 3)) == 0:
        data["supersedes"] = draw(semvers())
    if draw(st.booleans()):
        data["holidays"] = [d.isoformat() for d in draw(st.lists(days, max_size=4))]
    if draw(st.integers(0, 2)) == 0:
        data["notes"] = draw(texts)
    ids = draw(st.lists(short_idents, min_size=1, max_size=max_rules, unique=True))
    data["rules"] = [draw(rules(rid, source_ids, [o for o in ids if o != rid])) for rid in ids]
    return data


def rulesets(*, max_rules: int = MAX_RULES) -> st.SearchStrategy[Ruleset]:
    """A valid ruleset model."""
    return ruleset_data(max_rules=max_rules).map(Ruleset.model_validate)


# --- incident timelines ----------------------------------------------------------------------------

def event_types_named(ruleset: Ruleset) -> list[str]:
    """The event types a ruleset mentions anywhere (triggers, conditions, anchors)."""
    found: list[str] = []

    def walk(value: Any, key: str | None = None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in {"on", "event", "from", "until", "after", "before"} and (
            value in VOCAB.events and value not in found
        ):
            found.append(value)

    walk(ruleset.model_dump(mode="json", by_alias=True))
    return found


@st.composite
def timeline_events(draw: st.DrawFn, types: list[str], zone: str, *, max_events: int = 12) -> list[dict[str, Any]]:
    tz = ZoneInfo(zone)
    base = draw(st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2030, 12, 31)))
    base = base.replace(tzinfo=UTC, microsecond=0)
    offsets = st.one_of(st.integers(0, 24 * 60),          # the same day
                        st.integers(0, 5 * 24 * 60),      # within a few days
                        st.integers(0, 400 * 24 * 60))    # occasionally much later
    events = []
    for _ in range(draw(st.integers(1, max_events))):
        etype = draw(st.sampled_from(types))
        at = (base + timedelta(minutes=draw(offsets), seconds=draw(st.sampled_from([0, 0, 0, 30])))).astimezone(tz)
        event: dict[str, Any] = {"type": etype, "at": at.isoformat()}
        for name, spec in VOCAB.attributes_of(etype).items():
            if draw(st.integers(0, 3)) > 0:
                event[name] = draw(_timeline_value(spec))
        events.append(event)
    events.sort(key=lambda e: datetime.fromisoformat(e["at"]))
    return events


def _timeline_value(spec: Spec) -> st.SearchStrategy[Any]:
    if spec.type is ValueType.TEXT:
        return st.sampled_from(TEXT_POOL)
    return values_of(spec)


@st.composite
def timeline_facts(draw: st.DrawFn) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name, spec in VOCAB.facts.items():
        if draw(st.integers(0, 3)) > 0:
            facts[name] = draw(_timeline_value(spec))
    return facts


@st.composite
def timelines(draw: st.DrawFn, ruleset: Ruleset | None = None, *, max_events: int = 12) -> dict[str, Any]:
    """An incident: `{"facts": {...}, "events": [{"type": ..., "at": <ISO 8601 with offset>, **attrs}]}`.

    Events use a few event types (those the ruleset names, when one is given) over a few days.
    """
    pool = event_types_named(ruleset) if ruleset is not None else []
    if not pool:
        pool = list(EVENT_TYPES)
    k = min(len(pool), draw(st.integers(1, 5)))
    types = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=k, unique=True))
    zone = ruleset.timezone if ruleset is not None else draw(st.sampled_from(ZONES))
    return {"facts": draw(timeline_facts()), "events": draw(timeline_events(types, zone, max_events=max_events))}


@st.composite
def rulesets_with_timelines(draw: st.DrawFn) -> tuple[Ruleset, dict[str, Any]]:
    """A ruleset and an incident that uses the event types it names."""
    ruleset = draw(rulesets())
    return ruleset, draw(timelines(ruleset))
