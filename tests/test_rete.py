"""The rete backend (durable-rules) gives the same firings as the native backend."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import durable_rules_engine
import pytest

from engine.api import Policy
from engine.core.backends import rete as rete_module
from engine.core.backends.native import NativeBackend
from engine.core.backends.rete import ReteBackend, ReteCapacityError
from engine.core.incident import Incident
from engine.core.program import Program, compile_ruleset
from engine.io.incident import IncidentReader
from policy.loader import load_ruleset, load_ruleset_text

ROOT = Path(__file__).resolve().parent.parent
COLORADO = ROOT / "rulesets" / "colorado-24-31-902" / "2021.1.0.yaml"
EXAMPLE = ROOT / "examples" / "colorado-complaint.json"

HEAD = """\
ruleset: rete-test-{n}
version: 1.0.0
title: Rete test
status: draft
effective: {{from: 2021-01-01}}
timezone: America/Denver
drafted_by: tests
sources:
  - id: s
    title: Test source
rules:
"""


def program(rules: str, n: str = "x") -> Program:
    return compile_ruleset(load_ruleset_text(HEAD.format(n=n) + rules))


def rule(rid: str, body: str) -> str:
    lines = [f"  - id: {rid}", f"    summary: Rule {rid}.", "    cite: s", "    confidence: verified"]
    lines += ["    " + line for line in body.strip("\n").splitlines()]
    lines.append("    record: {effect: must, from: arrived, until: encounter_ended}")
    return "\n".join(lines) + "\n"


def incident(prog: Program, events: list[dict[str, Any]], facts: dict[str, Any] | None = None,
             start: int = 0) -> Incident:
    evs = [{"at": f"2024-02-29T{(start + i) // 60 + 10:02d}:{(start + i) % 60:02d}:00-07:00", **e}
           if "at" not in e else e for i, e in enumerate(events)]
    return IncidentReader(prog.vocabulary).read({"id": "i", "timezone": "America/Denver",
                                                  "facts": facts or {}, "events": evs})


@pytest.fixture(autouse=True)
def never_retract(monkeypatch: pytest.MonkeyPatch) -> None:
    """durable 2.0.28 corrupts memory when a second fact of a fired rule is retracted: the backend never retracts."""
    def refuse(*args: object) -> None:
        raise AssertionError("a fact was retracted")
    for name in ("retract_fact", "retract_facts"):
        monkeypatch.setattr(durable_rules_engine, name, refuse)


def same(prog: Program, incidents: list[Incident]) -> list[list[tuple[int, int | None]]]:
    native, rete = NativeBackend(prog), ReteBackend(prog)
    out = []
    for inc in incidents:
        expected = native.firings(inc)
        assert rete.firings(inc) == expected, inc
        out.append(expected)
    return out


E = {"type": "encounter_ended"}


def test_trigger_with_where_and_facts() -> None:
    prog = program(rule("a", """
on: use_of_force
where: {level: {at_least: 3}, injury: {at_least: substantial}}
when: {facts: {assignment: patrol}}
""") + rule("b", """
on: dispatched
where: {civilian_contact: {not_equals: true}}
unless: {facts: {in_uniform: false}}
"""))
    uof = [{"type": "use_of_force", "level": lv, "injury": inj} for lv in (2, 3, 4)
           for inj in ("minor", "substantial", "death")]
    incs = [incident(prog, [*uof, E], {"assignment": "patrol"}),
            incident(prog, [*uof, E], {"assignment": "traffic"}),
            incident(prog, [{"type": "use_of_force"}, {"type": "dispatched"}, E]),  # missing fact and values
            incident(prog, [{"type": "dispatched", "civilian_contact": True},
                            {"type": "dispatched", "civilian_contact": False}, E], {"in_uniform": True}),
            incident(prog, [{"type": "dispatched"}, E], {"in_uniform": False})]
    out = same(prog, incs)
    assert len(out[0]) == 4 and out[1] == [] and out[2] == [(1, 1)]


def test_membership_exists_and_de_morgan() -> None:
    prog = program(rule("in", """
when: {facts: {location_type: {in: [school, hospital]}}}
""") + rule("notin", """
when: {facts: {location_type: {not_in: [school, hospital]}}}
""") + rule("ex", """
on: search
where: {of: {exists: true}, incident_to_arrest: {exists: false}}
""") + rule("notall", """
when: {not: {all: [{facts: {minor_involved: true}}, {event: arrest, where: {offense_class: {in: [felony]}}}]}}
""") + rule("notany", """
when: {not: {any: [{facts: {camera_issued: false}}, {event: frisk}]}}
"""))
    incs = [incident(prog, [E], {"location_type": "school"}),
            incident(prog, [E], {"location_type": "public", "camera_issued": True}),
            incident(prog, [E]),
            incident(prog, [{"type": "search", "of": "person"}, {"type": "search"},
                            {"type": "search", "of": "vehicle", "incident_to_arrest": True}, E],
                     {"minor_involved": True}),
            incident(prog, [{"type": "arrest", "offense_class": "felony"}, {"type": "frisk"}, E],
                     {"minor_involved": True, "camera_issued": False}),
            incident(prog, [{"type": "arrest", "offense_class": "traffic"}, E], {"minor_involved": True})]
    same(prog, incs)


def test_negated_event_atoms_including_the_trigger_type() -> None:
    prog = program(rule("noforce", """
on: arrest
unless: {event: use_of_force, where: {level: {at_least: 3}}}
""") + rule("self", """
on: arrest
when: {event: arrest, where: {offense_class: felony}}
""") + rule("notself", """
on: arrest
unless: {event: arrest, where: {offense_class: felony}}
""") + rule("two", """
when: {all: [{event: arrest, where: {offense_class: felony}}, {event: arrest, where: {offense_class: felony}}]}
"""))
    incs = [incident(prog, [{"type": "arrest", "offense_class": "felony"}, E]),
            incident(prog, [{"type": "arrest", "offense_class": "traffic"}, E]),
            incident(prog, [{"type": "arrest", "offense_class": "traffic"},
                            {"type": "arrest", "offense_class": "felony"},
                            {"type": "use_of_force", "level": 2}, E]),
            incident(prog, [{"type": "arrest"}, {"type": "use_of_force", "level": 4}, E])]
    out = same(prog, incs)
    assert out[0] == [(0, 0), (1, 0), (3, None)]


def test_sequences_with_and_without_within() -> None:
    prog = program(rule("seq", """
on: records_request
when:
  sequence:
    - {event: use_of_force}
    - {event: complaint_filed, where: {misconduct: true}}
""") + rule("year", """
when:
  sequence:
    - {event: use_of_force}
    - {event: complaint_filed}
  within: P1Y
""") + rule("noseq", """
unless:
  sequence:
    - {event: complaint_filed}
    - {event: use_of_force}
""") + rule("loop", """
when:
  sequence:
    - {event: arrest}
    - {event: arrest}
    - {event: arrest}
"""))
    def at(day: str) -> str:
        return f"{day}T12:00:00-07:00"

    incs = [
        incident(prog, [{"type": "use_of_force", "at": at("2024-02-29")},
                        {"type": "complaint_filed", "misconduct": True, "at": at("2025-02-28")},
                        {"type": "records_request", "at": at("2025-03-01")}]),
        incident(prog, [{"type": "use_of_force", "at": at("2024-02-29")},
                        {"type": "complaint_filed", "at": at("2025-03-01")},
                        {"type": "records_request", "at": at("2025-03-02")}]),
        incident(prog, [{"type": "complaint_filed", "misconduct": True}, {"type": "use_of_force"},
                        {"type": "records_request"}]),
        incident(prog, [{"type": "arrest"}, {"type": "arrest"}, E]),
        incident(prog, [{"type": "arrest"}, {"type": "arrest"}, {"type": "arrest"}, E]),
    ]
    out = same(prog, incs)
    assert out[0] == [(0, 2), (1, None), (2, None)]
    assert out[1] == [(2, None)]  # P1Y from 29 February 2024 ends on 28 February 2025


def test_a_session_holds_a_bounded_number_of_facts_and_begins_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rete_module, "HELD_FACTS", 12)
    prog = program(rule("each", """
on: frisk
when: {event: arrest}
""") + rule("nofrisk", "when: {not: {event: frisk}}\n"))
    three = incident(prog, [{"type": "arrest"}, {"type": "frisk"}, {"type": "frisk"}, {"type": "frisk"}])
    native, rete = NativeBackend(prog), ReteBackend(prog)
    held = []
    for inc in [three, incident(prog, [E]), three, incident(prog, [{"type": "arrest"}, E])] * 5:
        assert rete.firings(inc) == native.firings(inc)  # alike before and after each new session
        held.append(len(rete.session_facts()))
    assert max(held) <= 12 + 6  # the bound, plus one incident's facts and the primer
    assert held.count(1) >= 3  # sessions deleted and begun again, holding only the primer


def test_a_refused_incident_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    prog = program(rule("each", "on: frisk\n"))
    rete = ReteBackend(prog)
    inc = incident(prog, [{"type": "frisk"}])
    real = durable_rules_engine.assert_facts

    def refuse_events(handle: int, facts: str) -> Any:
        result = real(handle, facts)  # durable takes the facts in, then reports a limit (error 303) before
        if '"k": "e"' in facts:       # their actions run
            raise durable_rules_engine.error("Could not assert facts, error code: 303")
        return result
    monkeypatch.setattr(durable_rules_engine, "assert_facts", refuse_events)
    with pytest.raises(ReteCapacityError, match="303"):
        rete.firings(incident(prog, [{"type": "frisk"}, {"type": "frisk"}]))
    monkeypatch.setattr(durable_rules_engine, "assert_facts", real)
    assert len(rete.session_facts()) == 1  # only the primer: the half-asserted incident is gone
    assert rete.firings(inc) == [(0, 0)]  # and its pending firings never run


def test_a_rule_fires_for_each_trigger_event_and_no_incident_sees_another() -> None:
    prog = program(rule("each", """
on: frisk
when: {event: arrest}
""") + rule("always", "{}\n".replace("{}\n", "when: {not: {facts: {district: nowhere}}}")))
    three = incident(prog, [{"type": "arrest"}, {"type": "frisk"}, {"type": "frisk"}, {"type": "frisk"}])
    none = incident(prog, [{"type": "frisk"}, E])
    out = same(prog, [three, none, three, incident(prog, [E]), three] * 3)
    assert out[0] == [(0, 1), (0, 2), (0, 3), (1, None)]
    assert out[1] == [(1, None)]


def test_backends_coexist() -> None:
    prog = program(rule("each", "on: frisk\n"))
    a, b = ReteBackend(prog), ReteBackend(prog)
    inc = incident(prog, [{"type": "frisk"}, {"type": "frisk"}])
    assert a.firings(inc) == b.firings(inc) == [(0, 0), (0, 1)]
    assert a.ruleset_name != b.ruleset_name


def test_a_600_value_membership_is_refused_quickly() -> None:
    values = ", ".join(f"d{i}" for i in range(600))
    prog = program(rule("big", f"when: {{facts: {{district: {{in: [{values}]}}}}}}\n"), n="big")
    # Refused before durable-rules is asked to build it: its create_ruleset would hang for ever. The
    # bound only tells a refusal from that hang; it is not a measure of speed.
    started = time.perf_counter()
    with pytest.raises(ReteCapacityError, match="512"):
        ReteBackend(prog)
    assert time.perf_counter() - started < 60


def test_many_constants_on_one_attribute_are_refused() -> None:
    rules = "".join(rule(f"r{i}", f"when: {{facts: {{district: d{i}}}}}\n") for i in range(520))
    with pytest.raises(ReteCapacityError):
        ReteBackend(program(rules, n="many"))


def test_colorado_decisions_match() -> None:
    prog = compile_ruleset(load_ruleset(COLORADO))
    data = json.loads(EXAMPLE.read_text())
    native, rete = Policy(prog, "native"), Policy(prog, "rete")
    assert rete.decide(data).to_json() == native.decide(data).to_json()
    for cut in ("2024-01-17T21:10:00-07:00", "2024-01-20T00:00:00-07:00"):
        assert rete.decide(data, cut).to_json() == native.decide(data, cut).to_json()
    undercover = {**data, "facts": {"assignment": "undercover"}}
    assert rete.decide(undercover).to_json() == native.decide(undercover).to_json()
