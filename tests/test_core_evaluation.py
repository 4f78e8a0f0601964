"""One evaluator: a condition compiled with a trace sink holds exactly when the untraced closure does,
and its trace reports every node (what explanations and evidence are read from)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api import Library
from engine.core.evaluation import Context, Trace, compile_condition, compile_traced
from engine.core.program import And, Cond, Or

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.json"))


def _nodes(cond: Cond) -> list[Cond]:
    return [cond, *(n for c in cond.items for n in _nodes(c))] if isinstance(cond, And | Or) else [cond]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_traced_evaluator_agrees_with_the_fast_one(example: Path) -> None:
    library = Library.load(ROOT / "rulesets")
    family = "colorado-24-31-902" if example.stem == "colorado-complaint" else example.stem
    incident, policy = library.read(family, json.loads(example.read_text(encoding="utf-8")))
    # every prefix of the incident, so conditions are seen both holding and not
    for n in range(1, len(incident.events) + 1):
        known = incident.until(incident.events[n - 1].at)
        ctx = Context(known.facts, known.by_type, policy.zone)
        for rule in policy.program.rules:
            for cond in (rule.condition, *rule.delay_conditions):
                trace = Trace()
                assert compile_traced(cond)(ctx, trace) == compile_condition(cond)(ctx), rule.id
                assert all(id(node) in trace for node in _nodes(cond)), rule.id
