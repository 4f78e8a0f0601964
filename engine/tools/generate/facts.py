"""Drawing the values of an incident's facts and of its events' attributes from a vocabulary."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from policy.vocabulary import Spec, ValueType, Vocabulary


def value(r: random.Random, spec: Spec, vocab: Vocabulary) -> Any:
    """A value of `spec`'s type: small numbers, the low end of ordered values (None if it has none)."""
    if spec.type is ValueType.BOOLEAN:
        return r.random() < 0.5
    if spec.type in (ValueType.INTEGER, ValueType.NUMBER):
        lo = int(spec.minimum if spec.minimum is not None else 0)
        hi = int(spec.maximum if spec.maximum is not None else 10)
        return min(hi, lo + int(r.expovariate(1.0)))
    values = vocab.allowed_values(spec)
    if not values:
        return None
    if spec.ordered:  # e.g. injury: mostly the low end
        return values[min(len(values) - 1, int(r.expovariate(0.7)))]
    return r.choice(values)


def attributes(r: random.Random, etype: str, vocab: Vocabulary) -> dict[str, Any]:
    """Some of the attributes an event of `etype` may carry (never its officer: the caller sets it)."""
    out: dict[str, Any] = {}
    for name, spec in vocab.attributes_of(etype).items():
        if name == "officer" or r.random() < 0.25:
            continue
        v = value(r, spec, vocab)
        if v is not None:
            out[name] = v
    return out


def facts(r: random.Random, vocab: Vocabulary, names: Sequence[str]) -> dict[str, Any]:
    """Some of the facts `names` (of `vocab`), with realistic shares for the common ones."""
    out: dict[str, Any] = {}
    for name in names:
        spec = vocab.facts[name]
        if name == "district" or spec.type in (ValueType.TEXT, ValueType.DATE):
            continue
        if name == "in_uniform":
            out[name] = r.random() < 0.93
        elif name == "camera_issued":
            out[name] = r.random() < 0.97
        elif name == "location_type":
            out[name] = r.choice(("public", "public", "public", "residence", "residence", "school", "hospital",
                                  "courthouse", "jail"))
        elif name == "assignment":
            out[name] = r.choice(("patrol", "patrol", "patrol", "traffic", "traffic", "detective",
                                  "specialized_unit", "school_resource"))
        elif spec.type is ValueType.BOOLEAN:
            if r.random() < 0.7:
                out[name] = r.random() < 0.2
        elif r.random() < 0.6:
            v = value(r, spec, vocab)
            if v is not None:
                out[name] = v
    return out
