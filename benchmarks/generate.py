"""Seeded rulesets (as YAML text) and incidents for the benchmarks, drawn from the core vocabulary.

A generated ruleset of N rules models a state-wide policy of N/10 districts, each with about ten
rules of its own (every rule requires `district: dN`), the way a 1,000-rule library is many
department policies rather than one policy with 1,000 clauses. Rules vary as real ones do:
triggers with `where` tests, fact tests, event conditions, sequences, `unless`, and every
obligation kind (record, notify, retain, delete, access, release with redactions and delays).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from policy.vocabulary import Spec, ValueType, Vocabulary, core

VOCAB: Vocabulary = core()
EVENTS = [name for name, spec in VOCAB.events.items() if not spec.action]
# Event types that triggers and conditions name (the rest are obligation anchors).
TRIGGERS = ["dispatched", "arrived", "contact_initiated", "frisk", "search", "entered_residence", "use_of_force",
            "firearm_discharged", "arrest", "detention", "pursuit_started", "crowd_control", "victim_interview",
            "request_to_stop_recording", "complaint_filed", "records_request", "retention_request", "flagged",
            "legal_hold_placed", "charges_filed"]
ZONE = "America/Chicago"

HEADER = """\
ruleset: generated-{n}
version: 1.0.0
title: Generated benchmark ruleset ({n} rules)
status: draft
effective: {{from: 2020-01-01}}
timezone: America/Chicago
drafted_by: bwc-policy benchmarks (seed {seed})
holidays: [2024-01-01, 2024-07-04, 2024-12-25]
sources:
  - id: gen
    title: Generated rules
rules:
"""


def _value(r: random.Random, spec: Spec) -> Any:
    if spec.type is ValueType.ENUM:
        return r.choice(spec.values)
    if spec.type is ValueType.BOOLEAN:
        return r.random() < 0.5
    if spec.type in (ValueType.INTEGER, ValueType.NUMBER):
        lo, hi = int(spec.minimum if spec.minimum is not None else 0), int(spec.maximum if spec.maximum is not None
                                                                           else 10)
        return r.randint(lo, hi)
    if spec.type is ValueType.TEXT:
        return r.choice(["A-101", "B-202", "C-303"])
    values = VOCAB.allowed_values(spec)
    return r.choice(values) if values else "x"


def _test(r: random.Random, spec: Spec) -> Any:
    """One test on a value of `spec`: bare equals, in, not_equals, not_in or an ordering."""
    ordered = spec.type in (ValueType.INTEGER, ValueType.NUMBER) or (spec.type is ValueType.ENUM and spec.ordered)
    roll = r.random()
    if ordered and roll < 0.4:
        return {r.choice(["at_least", "at_most", "more_than", "less_than"]): _value(r, spec)}
    if spec.type is ValueType.ENUM and roll < 0.6:
        k = min(len(spec.values), r.randint(2, 3))
        return {r.choice(["in", "not_in"]): r.sample(list(spec.values), k)}
    if roll < 0.75:
        return {"not_equals": _value(r, spec)}
    return _value(r, spec)


def _where(r: random.Random, etype: str, at_most: int = 2) -> dict[str, Any]:
    attrs = VOCAB.attributes_of(etype)
    names = [n for n in attrs if n != "officer"]
    chosen = r.sample(names, min(len(names), r.randint(0, at_most)))
    return {n: _test(r, attrs[n]) for n in chosen}


def _event_cond(r: random.Random) -> dict[str, Any]:
    etype = r.choice(TRIGGERS)
    where = _where(r, etype, 1)
    return {"event": etype, **({"where": where} if where else {})}


def _fact_cond(r: random.Random) -> dict[str, Any]:
    name = r.choice(["assignment", "in_uniform", "camera_issued", "location_type", "minor_involved"])
    return {"facts": {name: _test(r, VOCAB.facts[name])}}


def _extra_condition(r: random.Random) -> dict[str, Any] | None:
    roll = r.random()
    if roll < 0.3:
        return _fact_cond(r)
    if roll < 0.55:
        return _event_cond(r)
    if roll < 0.65:
        return {"sequence": [{"event": r.choice(TRIGGERS)}, {"event": r.choice(TRIGGERS)}],
                **({"within": "P30D"} if r.random() < 0.5 else {})}
    if roll < 0.75:
        return {"any": [_fact_cond(r), _event_cond(r)]}
    return None


def _obligation(r: random.Random, trigger: str | None) -> dict[str, Any]:
    kinds = ["retain", "delete", "access", "release"] + (["record", "record", "notify"] if trigger else [])
    kind = r.choice(kinds)
    if kind in ("record", "notify"):
        return {kind: {"effect": r.choice(["must", "must", "may", "must_not"]),
                       "until": r.choice(["encounter_ended", "left_scene", "transport_ended"])}}
    if kind == "retain":
        roll = r.random()
        if roll < 0.6:
            return {"retain": {"at_least": r.choice(["P90D", "P1Y", "P2Y", "P3Y", "P180D"]),
                               "after": r.choice(["incident", "incident", trigger or "incident"])}}
        if roll < 0.75:
            return {"retain": {"indefinitely": True}}
        if roll < 0.9:
            return {"retain": {"until": "case_closed"}}
        return {"retain": {"legal_hold": True}}
    if kind == "delete":
        return {"delete": {"within": r.choice(["P190D", "P1Y", "P3Y"]), "after": "incident"}}
    if kind == "access":
        out: dict[str, Any] = {"effect": r.choice(["may", "must_not"]),
                               "role": r.choice(["involved_officer", "supervisor", "internal_affairs", "investigator"])}
        if r.random() < 0.5:
            out["purpose"] = r.choice(["statement", "report_writing", "investigation", "training"])
        if r.random() < 0.3:
            out["before"] = "statement_given"
        return {"access": out}
    rel: dict[str, Any] = {"effect": "must", "to": r.choice(["public", "subject", ["public", "requester"]])}
    roll = r.random()
    if roll < 0.5:
        rel.update(within=r.choice(["P21D", "P45D", "10 business days"]), after=r.choice(["incident",
                                                                                            "records_request"]))
        if r.random() < 0.3:
            rel["may_delay"] = [{"up_to": "P45D", "after": "complaint_filed",
                                 "only_if": {"event": "investigation_interference_asserted",
                                             "where": {"by": "prosecutor"}},
                                 "requires": ["the prosecutor explains the reason in writing"]}]
    elif roll < 0.8:
        rel["redact"] = r.sample(["minors", "nudity", "medical information", "the inside of a residence"], 2)
    else:
        rel["effect"] = "must_not"
    return {"release": rel}


def ruleset_yaml(n: int, seed: int) -> str:
    """A valid ruleset of `n` rules, as YAML text (JSON-style flow mappings, one rule per item)."""
    r = random.Random(seed * 7919 + n)
    districts = max(1, n // 10)
    lines = [HEADER.format(n=n, seed=seed)]
    for i in range(n):
        rule: dict[str, Any] = {"id": f"r{i:04d}", "summary": f"Generated rule {i}.", "cite": f"gen {i}"}
        trigger = r.choice(TRIGGERS) if r.random() < 0.7 else None
        if trigger:
            rule["on"] = trigger
            where = _where(r, trigger)
            if where:
                rule["where"] = where
        parts: list[dict[str, Any]] = [{"facts": {"district": f"d{i % districts}"}}]
        extra = _extra_condition(r)
        if extra is not None:
            parts.append(extra)
        rule["when"] = parts[0] if len(parts) == 1 else {"all": parts}
        if r.random() < 0.25:
            rule["unless"] = {"facts": {"assignment": "undercover"}}
        rule.update(_obligation(r, trigger))
        lines.append("  - " + json.dumps(rule) + "\n")
    return "".join(lines)


def incidents(n: int, seed: int, *, rules: int, events: tuple[int, int] = (3, 8)) -> list[dict[str, Any]]:
    """Seeded incidents for a generated ruleset of `rules` rules (one of its districts each)."""
    r = random.Random(seed)
    districts = max(1, rules // 10)
    start = datetime(2024, 3, 1, 8, 0).astimezone()
    out = []
    for k in range(n):
        t = start + timedelta(days=r.randint(0, 300), minutes=r.randint(0, 600))
        facts: dict[str, Any] = {"district": f"d{r.randrange(districts)}"}
        for name in ("assignment", "in_uniform", "camera_issued", "location_type", "minor_involved"):
            if r.random() < 0.7:
                facts[name] = _value(r, VOCAB.facts[name])
        evs = []
        for _ in range(r.randint(*events)):
            etype = r.choice(TRIGGERS) if r.random() < 0.75 else r.choice(EVENTS)
            t += timedelta(minutes=r.randint(1, 240))
            ev: dict[str, Any] = {"type": etype, "at": t.strftime("%Y-%m-%dT%H:%M:%S") + "-06:00"}
            for name, spec in VOCAB.attributes_of(etype).items():
                if name != "officer" and r.random() < 0.8:
                    ev[name] = _value(r, spec)
            evs.append(ev)
        out.append({"id": f"inc-{seed}-{k}", "timezone": ZONE, "facts": facts, "events": evs})
    return out
