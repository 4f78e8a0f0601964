"""Plain words for the model's validation errors: each pydantic error becomes a Diagnostic (BWC code, message, hint).

The error's type picks the code (`_CODES_BY_TYPE`) and the words; the position comes from the
document (`SourceDocument.known_prefix`), and "did you mean" from the keys of the model there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from policy.conditions import CONDITION_KEYS, Operator
from policy.diagnostics import Diagnostic, closest, did_you_mean
from policy.duration import MAX_YEARS, Duration
from policy.model_paths import keys_of, model_at
from policy.source import SourceDocument
from policy.values import date_hint, quoted, zone_hint

_FIELD_HINTS = {
    "ruleset": "start the file with `ruleset: <id>`, e.g. `ruleset: illinois-50-ilcs-706-10-20`",
    "version": "add `version: 1.0.0`",
    "title": "add a `title:` a reader will recognise",
    "status": "add `status:` draft, proposed, adopted, superseded or repealed",
    "effective": "add `effective: {from: YYYY-MM-DD}`",
    "from": "add `from: YYYY-MM-DD`, the first day in force",
    "timezone": "add `timezone:` with an IANA name such as America/Chicago",
    "drafted_by": "add `drafted_by:` naming who wrote the policy",
    "sources": "list the documents the rules cite under `sources:`",
    "rules": "add `rules:` with at least one rule",
    "id": "give it an `id:` made of lower-case letters, digits and `-`",
    "summary": "add a one-sentence `summary:` in plain words",
    "cite": "every rule says where it comes from: add `cite: <source id> <clause>`",
    "effect": "add `effect:` must, may or must_not",
    "role": "add `role:` naming who may (or may not) view the footage",
    "to": "add `to:` naming the recipient, e.g. public",
    "within": "add `within:` with a duration such as P45D",
    "after": "add `after:` with the event the time is counted from (or `incident`)",
}

_DURATION_HINT = ("write an ISO 8601 duration: P90D (90 days), P2Y (2 years), P1Y6M, PT72H (72 hours), "
                  "or `10 business days`")

_CODES_BY_TYPE = {
    "missing": "BWC102",
    "extra_forbidden": "BWC101",
    "enum": "BWC104",
    "literal_error": "BWC104",
    "duration": "BWC105",
    "duration_type": "BWC105",
    "duration_too_long": "BWC105",
    "date": "BWC106",
    "date_from_datetime_parsing": "BWC106",
    "date_parsing": "BWC106",
    "date_type": "BWC106",
    "date_from_datetime_inexact": "BWC106",
    "version": "BWC107",
    "version_type": "BWC107",
    "version_range": "BWC107",
    "timezone": "BWC108",
    "obligation_count": "BWC109",
    "condition_kind": "BWC110",
    "union_tag_invalid": "BWC110",
    "union_tag_not_found": "BWC110",
    "where_without_on": "BWC110",
    "comparison_shape": "BWC110",
    "comparison_operator": "BWC110",
    "comparison_list": "BWC110",
    "comparison_null": "BWC110",
    "comparison_value": "BWC110",
    "string_pattern_mismatch": "BWC111",
    "date_order": "BWC214",
    "anchor_shape": "BWC103",
}

_TYPE_WORDS = {
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "list_type": "a list (lines starting with `- `)",
    "dict_type": "a mapping (`key: value` lines)", "model_type": "a mapping (`key: value` lines)",
    "model_attributes_type": "a mapping (`key: value` lines)", "int_from_float": "a whole number",
}


def rule_id_at(doc: SourceDocument, path: tuple[Any, ...]) -> str | None:
    """The id of the rule a path in `doc` lies in, when it has one."""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rules = doc.data.get("rules")
        if isinstance(rules, list) and path[1] < len(rules) and isinstance(rules[path[1]], dict):
            rid = rules[path[1]].get("id")
            return rid if isinstance(rid, str) else None
    return None


def from_pydantic(errors: list[ErrorDetails], doc: SourceDocument) -> Iterator[Diagnostic]:
    """Each error pydantic found in `doc`, as a diagnostic in plain words at its position."""
    # A misspelt key shows up twice: as unknown, and as the missing key it was meant to be.
    # Report it once, as the unknown key with its correction.
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = tuple(err["loc"])
            model = model_at(loc[:-1])
            meant = closest(str(loc[-1]), keys_of(model)) if model else None
            if meant:
                misspelt.add((*loc[:-1], meant))
    for err in errors:
        if err["type"] == "missing" and tuple(err["loc"]) in misspelt:
            continue
        loc = tuple(err["loc"])
        etype = err["type"]
        path = doc.known_prefix(loc)
        at_key = False
        code = _CODES_BY_TYPE.get(etype, "BWC103" if etype in _TYPE_WORDS else "BWC112")
        message, hint = _words(err, loc)
        if etype == "extra_forbidden":
            path = doc.known_prefix(loc)
            at_key = bool(path) and path[-1] == loc[-1]
        elif etype == "date_order":
            path = doc.known_prefix((*loc, "until"))
        line, col = doc.position(path, key=at_key) or (None, None)
        yield Diagnostic(code, message, doc.file, line, col, hint, rule_id_at(doc, path), path=path)


def _field_name(loc: tuple[Any, ...]) -> str:
    for el in reversed(loc):
        if (isinstance(el, str) and el not in CONDITION_KEYS) or (isinstance(el, str) and el == loc[-1]):
            return el
    return "value"


def described(value: Any) -> str:
    """A value of a ruleset file as a message names it: `a mapping`, `the text `x``, `nothing`."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text `{quoted(value)}`" if len(value) < 60 else "a long text"
    return f"`{quoted(str(value))}`"


def _words(err: ErrorDetails, loc: tuple[Any, ...]) -> tuple[str, str | None]:
    """Plain-words message and fix hint for one pydantic error."""
    etype = err["type"]
    ctx = err.get("ctx") or {}
    field = _field_name(loc)
    value = err.get("input")
    if etype == "missing":
        return f"`{field}` is required here", _FIELD_HINTS.get(field) or f"add `{field}:`"
    if etype == "extra_forbidden":
        model = model_at(loc[:-1])
        valid = keys_of(model) if model else []
        hint = did_you_mean(str(loc[-1]), valid, "keys here", see="docs/language.md") if valid else None
        where = f" of {_what(model)}" if model else ""
        return f"`{loc[-1]}` is not a known key{where}", hint
    if etype in ("enum", "literal_error"):
        choices = [c.strip(" '") for c in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
        return (f"{described(value)} is not allowed for `{field}`",
                did_you_mean(str(value), [c for c in choices if c], "values"))
    if etype == "duration_too_long":
        return (f"`{field}`: `{quoted(str(value))}` is longer than {MAX_YEARS:,} years; no law keeps footage "
                "that long, so this is most likely a typo", "check the number; to keep footage forever write "
                "`retain: {indefinitely: true}`")
    if etype in ("duration", "duration_type"):
        return f"`{field}`: {err['msg']}", _duration_hint(value)
    if etype == "date_order":
        return (f"`effective`: the last day in force, `until` ({ctx.get('until')}), is before the first, "
                f"`from` ({ctx.get('start')})", "check both dates; `until` must be the same day as `from` or later")
    if etype.startswith("date") or (etype == "value_error" and field in ("from", "until", "date")):
        return (f"`{field}` must be a real date written YYYY-MM-DD; {described(value)} is not one",
                date_hint(value))
    if etype == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "_" in pattern and "." not in pattern:
            return (f"{described(value)} is not a valid name for `{field}`",
                    "names use lower-case letters, digits and `_`, starting with a letter (e.g. use_of_force)")
        return (f"{described(value)} is not a valid id for `{field}`",
                "ids use lower-case letters, digits, `-`, `_` and `.` (e.g. record-traffic-stops)")
    if etype in ("string_too_short", "too_short"):
        least = ctx.get("min_length")
        if isinstance(value, list) and isinstance(least, int) and least > 1:
            return (f"`{field}` lists at least {least} items; it has {len(value)}",
                    "for one anchor, write it alone, e.g. `after: flagged`" if field == "earliest"
                    else f"add items under `{field}`")
        if isinstance(value, list | dict):
            return f"`{field}` must not be empty", f"add at least one item under `{field}`"
        return f"`{field}` must not be empty", f"write a value for `{field}`"
    if etype in ("too_long", "string_too_long"):
        limit = ctx.get("max_length")
        return f"`{field}` is too long", (f"keep it to {limit} items or characters" if limit else None)
    if etype in _TYPE_WORDS:
        return f"`{field}` must be {_TYPE_WORDS[etype]}, not {described(value)}", _TYPE_HINTS.get(etype, "").format(
            field=field, value=value)
    if etype.startswith("url"):
        return (f"`{field}` must be a web address starting with https:// or http://",
                "e.g. https://www.ilga.gov/legislation/ilcs/ilcs.asp")
    msg = err["msg"].removeprefix("Value error, ")
    if etype == "timezone":
        msg = f"`{ctx.get('name')}` is not an IANA time zone name"
    # Rule-level problems (a location ending in a rule's number) need no field name in front.
    named = isinstance(loc[-1], str) if loc else False
    return (f"`{field}`: {msg}" if named and f"`{field}`" not in msg else msg), _validator_hint(etype, ctx, value, loc)


_UNITS = {"year": "Y", "month": "M", "week": "W", "day": "D", "hour": "H", "minute": "M", "second": "S"}
_ENGLISH_PART = re.compile(r"(\d+)\s*(year|month|week|day|hour|minute|second)s?", re.ASCII | re.IGNORECASE)
_ENGLISH_GLUE = re.compile(r"(?:\s|,|\band\b)*", re.ASCII | re.IGNORECASE)


def _duration_hint(value: Any) -> str:
    """The ISO 8601 form of a duration written in English (`3 years` → P3Y), else the general hint."""
    # Amounts with units, joined only by spaces, commas and `and` (`1 year and 6 months`).
    if isinstance(value, str) and len(value) <= 80 and _ENGLISH_PART.search(value) \
            and _ENGLISH_GLUE.fullmatch(_ENGLISH_PART.sub(" ", value)):
        amounts: dict[str, int] = {}
        for number, unit in _ENGLISH_PART.findall(value):
            amounts[unit.lower()] = amounts.get(unit.lower(), 0) + int(number)
        date_part = "".join(f"{amounts[u]}{_UNITS[u]}" for u in ("year", "month", "week", "day") if u in amounts)
        time_part = "".join(f"{amounts[u]}{_UNITS[u]}" for u in ("hour", "minute", "second") if u in amounts)
        iso = "P" + date_part + (f"T{time_part}" if time_part else "")
        try:
            Duration.parse(iso)
        except ValueError:
            return _DURATION_HINT
        return f"write `{iso}`, the ISO 8601 form of `{quoted(value.strip())}`"
    return _DURATION_HINT


_TYPE_HINTS = {
    "string_type": "write text after `{field}:`; put it in quotes if it looks like a number or a date, "
                   "e.g. {field}: \"{value}\"",
    "bool_type": "write `true` or `false`", "bool_parsing": "write `true` or `false`",
    "int_type": "write a whole number such as 3", "int_parsing": "write a whole number such as 3",
    "int_from_float": "write a whole number such as 3",
    "float_type": "write a number such as 2.5", "float_parsing": "write a number such as 2.5",
    "list_type": "write the items on lines starting with `- `, or as [a, b]",
    "dict_type": "write `key: value` lines indented under `{field}:`",
    "model_type": "write `key: value` lines indented under `{field}:`",
    "model_attributes_type": "write `key: value` lines indented under `{field}:`",
}

_OBLIGATION_EXAMPLES = {
    "retain": "keep one way, e.g. `retain: {at_least: P90D, after: incident}` or `retain: {indefinitely: true}`",
    "release": "e.g. `release: {effect: must, to: public, within: P21D, after: records_request}`",
}


def _validator_hint(etype: str, ctx: dict[str, Any], value: Any, loc: tuple[Any, ...]) -> str | None:
    """The fix hint for an error raised by a validator of the model."""
    if etype == "timezone":
        return str(ctx.get("hint")) if ctx.get("hint") else zone_hint(value)
    if etype in ("version", "version_type"):
        return "write three numbers separated by dots, such as 1.0.0 or 2021.1.0 (a bare 1.0 is read as a number)"
    if etype == "version_range":
        return "e.g. `>=1.0.0 <2.0.0`"
    if etype == "obligation_count":
        if ctx.get("found") == "none":
            return "add what the rule requires: one of record, notify, retain, delete, access or release"
        return "split it into one rule per obligation, each with its own id, summary and cite"
    if etype == "anchor_shape":
        return ("write an event type, e.g. `after: flagged`, or the earliest of several, e.g. "
                "`after: {earliest: [rule_applies, flagged]}`")
    if etype == "where_without_on":
        return ("add `on: <event type>` for the event that triggers the rule, or test another event with "
                "`when: {event: <event type>, where: {...}}`")
    if etype in ("condition_kind", "union_tag_invalid", "union_tag_not_found"):
        first = next(iter(value), None) if isinstance(value, dict) else None
        meant = closest(str(first), CONDITION_KEYS) if first is not None else None
        return f"did you mean `{meant}`?" if meant else "e.g. `when: {facts: {in_uniform: true}}` or " \
            "`when: {event: use_of_force}`; see docs/language.md"
    if etype == "comparison_operator":
        return did_you_mean(str(ctx.get("key")), [o.value for o in Operator], "operators")
    if etype == "comparison_shape":
        return "write one operator per test, e.g. `{at_least: 2}`; to test two things use `all: [...]`"
    if etype == "comparison_list":
        return "e.g. `{in: [patrol, traffic]}`"
    if etype == "comparison_null":
        return "write a value after the `:`, or `{exists: false}`"
    if etype == "comparison_value":
        return "e.g. `{in: [a, b]}`, `{at_least: 2}` or `{exists: true}`"
    if etype == "value_error":
        kind = next((el for el in reversed(loc) if el in _OBLIGATION_EXAMPLES), None)
        if kind is not None:
            return _OBLIGATION_EXAMPLES[str(kind)]
        return "see docs/language.md for an example"
    return None


def _what(model: type[BaseModel]) -> str:
    names = {"Ruleset": "a ruleset", "Rule": "a rule", "WindowObligation": "`record`/`notify`",
             "RetainObligation": "`retain`", "DeleteObligation": "`delete`", "AccessObligation": "`access`",
             "ReleaseObligation": "`release`", "DelayAllowance": "a `may_delay` entry", "Earliest": "`earliest`",
             "EventCondition": "an `event` condition", "SequenceCondition": "a `sequence`",
             "Effective": "`effective`", "Source": "a source", "Extends": "`extends`",
             "Declarations": "`declare`", "Spec": "a fact or attribute declaration",
             "EventSpec": "an event type declaration"}
    return names.get(model.__name__, f"`{model.__name__}`")
