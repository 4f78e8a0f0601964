"""The backends sit behind one interface: chosen by name with make_backend, and nothing outside
engine/core/backends/ imports a backend's own module (what backends and decisions share is in
engine/core/evaluation.py)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import rulesets_with_timelines

from engine.core.backends import make_backend
from engine.core.backends.native import NativeBackend
from engine.core.program import compile_ruleset
from engine.io.incident import IncidentReader
from policy.loader import load_ruleset_text
from policy.model import Ruleset

ROOT = Path(__file__).resolve().parent.parent
BACKEND_MODULES = ("engine.core.backends.native", "engine.core.backends.rete")


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_only_the_backends_package_imports_a_backend_module() -> None:
    outside = [p for p in sorted((ROOT / "engine").rglob("*.py")) if "backends" not in p.relative_to(ROOT).parts]
    offenders = [f"{p.relative_to(ROOT)} imports {m}" for p in outside for m in sorted(_imported(p))
                 if m in BACKEND_MODULES]
    assert offenders == []


def test_backends_are_made_by_name() -> None:
    path = ROOT / "rulesets" / "colorado-24-31-902" / "2021.2.0.yaml"
    program = compile_ruleset(load_ruleset_text(path.read_text(encoding="utf-8"), str(path)))
    native = make_backend(program, "native")
    assert isinstance(native, NativeBackend) and native.name == "native"
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend(program, "prolog")  # type: ignore[arg-type]
    assert isinstance(make_backend(program, "native", only={0}), NativeBackend)
    with pytest.raises(ValueError, match="whole program"):
        make_backend(program, "rete", only={0})  # durable-rules is not even loaded: refused first


@settings(max_examples=examples(40), deadline=None)
@given(rulesets_with_timelines(), st.data())
def test_the_native_backend_asked_for_some_rules_fires_those_rules_alike(
        pair: tuple[Ruleset, dict[str, Any]], data: st.DataObject) -> None:
    ruleset, timeline = pair
    program = compile_ruleset(ruleset)
    only = data.draw(st.sets(st.sampled_from([r.position for r in program.rules])))
    whole, some = NativeBackend(program), NativeBackend(program, only)
    incident = IncidentReader(program.vocabulary).read({"id": "x", "timezone": ruleset.timezone, **timeline})
    fired = whole.firings(incident)
    # In the order every backend gives (decisions list obligations in it): rule, then trigger, None first.
    assert fired == sorted(fired, key=lambda f: (f[0], -1 if f[1] is None else f[1]))
    assert some.firings(incident) == [f for f in fired if f[0] in only]


_TRIGGERED_THEN_FACTS = """
ruleset: firing-order
version: 1.0.0
title: A rule on an event, then rules on facts alone
status: draft
effective: {from: 2020-01-01}
timezone: America/Chicago
drafted_by: tests
sources:
  - id: t
    title: tests
rules:
  - id: record-arrests
    summary: Record each arrest.
    cite: t 1
    on: arrest
    record: {effect: must, until: left_scene}
  - id: keep-force
    summary: Keep footage of force.
    cite: t 2
    when: {event: use_of_force}
    retain: {at_least: P1Y, after: incident}
  - id: keep-uniformed
    summary: Keep footage of officers in uniform.
    cite: t 3
    when: {facts: {in_uniform: true}}
    retain: {at_least: P2Y, after: incident}
"""


@pytest.mark.parametrize("backend", ["native", "rete"])
def test_firings_come_in_rule_order_then_trigger_order(backend: Any) -> None:
    # Rules on facts alone are found before rules on events; decisions list obligations in firing order.
    program = compile_ruleset(load_ruleset_text(_TRIGGERED_THEN_FACTS, "order.yaml"))
    incident = IncidentReader(program.vocabulary).read({"id": "x", "timezone": "America/Chicago",
                                                        "facts": {"in_uniform": True}, "events": [
        {"type": "arrest", "at": "2024-03-01T10:05:00-06:00"},
        {"type": "use_of_force", "at": "2024-03-01T10:01:00-06:00"},
        {"type": "arrest", "at": "2024-03-01T10:00:00-06:00"}]})
    assert make_backend(program, backend).firings(incident) == [(0, 0), (0, 2), (1, None), (2, None)]
