"""Adding a rule never shortens a minimum retention.

A drafter who adds a rule (one that does not name another in `overrides`, the explicit way to set a
rule aside) can only add obligations: the footage of an incident is kept at least as long as before,
a retention still waiting for its anchor still waits, and a legal hold still holds. A rule that
contradicts a retention (a deletion deadline before the minimum) is reported as a conflict; it
never moves the minimum.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import Policy
from engine.core.decision import Decision
from engine.core.program import compile_ruleset
from policy.model import Ruleset
from tests.strategies import (
    OBLIGATION_KINDS,
    delete_obligations,
    duration_texts,
    retain_obligations,
    rules,
    ruleset_data,
    timelines,
)


def _rank(minimum: Any) -> tuple[int, date]:
    if minimum is None:
        return (0, date.min)
    if minimum == "indefinite":
        return (2, date.max)
    assert isinstance(minimum, date)
    return (1, minimum)


def _decide(data: dict[str, Any], incident: dict[str, Any]) -> Decision:
    return Policy(compile_ruleset(Ruleset.model_validate(data)), "native").decide(incident)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    # Always in force, so that there is something to decide (random dates would leave most out).
    data = {**draw(ruleset_data(max_rules=5)), "effective": {"from": "1990-01-01"}}
    data.pop("extends", None)  # a base that is not there cannot be compiled alone
    taken = {r["id"] for r in data["rules"]}
    new_id = draw(st.from_regex(r"added-[a-z]{1,6}", fullmatch=True).filter(lambda i: i not in taken))
    cite = data["sources"][0]["id"]
    # A minimum to protect: most random rulesets have none, which would leave nothing to check.
    data["rules"] = [*data["rules"], {"id": "keep-base-minimum", "summary": "Keep footage.", "cite": cite,
                                       "retain": {"at_least": draw(duration_texts), "after": "incident"}}]
    added = draw(rules(new_id, [s["id"] for s in data["sources"]], other_ids=[]))
    if draw(st.booleans()):  # half the time, the kinds that bear on retention
        kind = draw(st.sampled_from(["retain", "delete"]))
        added = {k: v for k, v in added.items() if k not in OBLIGATION_KINDS}
        added[kind] = draw(retain_obligations() if kind == "retain" else delete_obligations())
    ruleset = Ruleset.model_validate(data)
    incident = {"id": "gen", "timezone": ruleset.timezone, **draw(timelines(ruleset))}
    return data, added, incident


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_adding_a_rule_never_shortens_the_minimum_retention(
        case: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]) -> None:
    data, added, incident = case
    before = _decide(data, incident)
    after = _decide({**data, "rules": [*data["rules"], added]}, incident)
    old, new = before.summary.retention, after.summary.retention
    assert _rank(new.minimum) >= _rank(old.minimum), (old, new)
    assert not old.legal_hold or new.legal_hold
    waiting = {(p.pending, p.then) for p in new.pending}
    assert {(p.pending, p.then) for p in old.pending} <= waiting
