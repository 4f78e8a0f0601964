"""Decisions: the obligations an incident carries under one ruleset version, as of a time.

`obligations_for` (build) turns a backend's firings (which rule fired, on which trigger event) into
obligations with concrete windows, dates and deadlines; `assemble` (layers) combines the layers'
obligations, settles precedence (precedence: explicit `overrides`, legal holds, layer rank),
reports what nothing settled and summarises (summary). It is pure: the same program, incident,
firings and as-of give the same Decision (model), byte for byte, with the same id (identity).
"""

from engine.core.decision.build import beyond_calendar, obligations_for
from engine.core.decision.conduct import bound_to_version, in_force_span
from engine.core.decision.evidence import evidence, since
from engine.core.decision.identity import decision_id
from engine.core.decision.layers import Layer, LayerRole, assemble, in_force, judging_date
from engine.core.decision.model import (
    DECISION_SCHEMA,
    Conflict,
    DateOrPending,
    Decision,
    Delay,
    EventRef,
    Kind,
    LayerRef,
    Matched,
    Moment,
    Obligation,
    Pending,
    ReleaseDeadline,
    Resolution,
    RetentionSummary,
    RulesetRef,
    Summary,
    Suspension,
    Window,
)
from engine.core.decision.precedence import settle
from engine.core.decision.summary import summarise

__all__ = [
    "DECISION_SCHEMA",
    "Conflict",
    "DateOrPending",
    "Decision",
    "Delay",
    "EventRef",
    "Kind",
    "Layer",
    "LayerRef",
    "LayerRole",
    "Matched",
    "Moment",
    "Obligation",
    "Pending",
    "ReleaseDeadline",
    "Resolution",
    "RetentionSummary",
    "RulesetRef",
    "Summary",
    "Suspension",
    "Window",
    "assemble",
    "beyond_calendar",
    "bound_to_version",
    "decision_id",
    "evidence",
    "in_force",
    "in_force_span",
    "judging_date",
    "obligations_for",
    "settle",
    "since",
    "summarise",
]
