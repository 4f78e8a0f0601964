"""Layers: which ruleset versions' obligations make up a decision, combined into one Decision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, NamedTuple

from engine.core.decision.model import Decision, LayerRef, Obligation, RulesetRef
from engine.core.decision.precedence import settle
from engine.core.decision.summary import summarise
from engine.core.evaluation import BEYOND_CALENDAR
from engine.core.incident import Incident, IncidentError, Problem
from engine.core.program import Program
from policy.obligations import INCIDENT
from policy.values import quoted


def judging_date(program: Program, incident: Incident, zone: Any) -> date | None:
    """The day that decides whether (and which version of) a ruleset judges the incident."""
    anchor = program.ruleset.version_date
    events = incident.events if anchor == INCIDENT else incident.by_type.get(anchor, ())
    if not events:
        return None
    try:
        return events[0].at.astimezone(zone).date()
    except BEYOND_CALENDAR:
        e = events[0]
        raise IncidentError([Problem(
            incident.id, f"events[{e.index}].at",
            f"{e.at.isoformat()} falls outside years 1 to 9999 in the time zone of ruleset "
            f"{quoted(program.ref)} ({quoted(str(getattr(zone, 'key', zone)))}), beyond the calendar this "
            "engine counts in, so the day that decides which version judges the incident has no date",
            "check the event's date and offset")]) from None


def in_force(program: Program, incident: Incident, zone: Any) -> bool:
    day = judging_date(program, incident, zone)
    return day is not None and program.ruleset.effective.covers(day)


LayerRole = Literal["selected", "base", "amendment", "conduct"]


class Layer(NamedTuple):
    """One ruleset version's contribution to a decision (a named tuple: several are made per decision)."""

    program: Program
    role: LayerRole
    in_force: bool
    obligations: list[Obligation]
    rank: int  # 0 for the most fundamental layer (a statute that others extend)


def assemble(incident: Incident, known: Incident, as_of: datetime, layers: list[Layer]) -> Decision:
    """Combine the layers' obligations, settle precedence, summarise. `layers[0]` is the selected version."""
    selected = layers[0]
    if len(layers) == 1:  # one version alone (most decisions): its obligations as they are
        obligations = list(selected.obligations) if selected.in_force else []
    else:
        obligations = _combined(selected, layers)
    conflicts = settle(layers, obligations, lambda: {e.index: e.attributes.get("officer") for e in known.events})
    rs = selected.program.ruleset
    return Decision(
        identity=(tuple(lay.program.digest for lay in layers), incident, as_of),
        incident_id=incident.id,
        as_of=as_of.isoformat(),
        ruleset=RulesetRef(id=rs.ruleset, version=rs.version, digest=selected.program.digest),
        in_force=selected.in_force,
        layers=[LayerRef(
            id=lay.program.ruleset.ruleset, version=lay.program.ruleset.version, digest=lay.program.digest,
            role="amendment" if lay.role == "selected" else lay.role, in_force=lay.in_force,
            rules=sorted(_rule_ids(lay)) if lay.role in ("amendment", "conduct") else None)
            for lay in layers[1:]],
        obligations=obligations,
        summary=summarise(obligations, known),
        conflicts=conflicts,
    )


def _combined(selected: Layer, layers: list[Layer]) -> list[Obligation]:
    """The layers' obligations, the most fundamental layer's first; an amendment's rule replaces the
    selected version's rule of the same id."""
    replaced = {r for layer in layers if layer.role == "amendment" and layer.in_force for r in _rule_ids(layer)}
    obligations: list[Obligation] = []
    for layer in sorted(layers, key=lambda lay: lay.rank):
        if not layer.in_force and layer.role not in ("amendment", "conduct"):
            continue
        for o in layer.obligations:
            if layer.role not in ("amendment", "conduct") and o.rule in replaced \
                    and o.ruleset == selected.program.ref:
                continue  # the later version's rule of the same id governs existing footage
            obligations.append(o)
    return obligations


def _rule_ids(layer: Layer) -> frozenset[str]:
    return layer.program.conduct_rules if layer.role == "conduct" else layer.program.existing_footage_rules
