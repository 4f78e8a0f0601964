"""What `bwc score` finds: each criterion's grade, the rules behind it, what is missing, and its JSON form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from engine.tools.score.criteria import Scorecard, Statement


class Grade(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"
    CANNOT_TELL = "cannot_tell"


GRADE_WORDS = {Grade.FULL: "full marks", Grade.PARTIAL: "partial", Grade.NONE: "none",
               Grade.CANNOT_TELL: "cannot tell from the rules"}

CAVEAT = (
    "Grades judge the rules as encoded in this ruleset (with the rulesets it extends), read onto the scorecard's "
    "criteria as docs/score.md explains; they are not the scorecard's own grades. A provision the encoding left out "
    "counts as absent: `none` means that no rule earns the mark, not that the policy lacks it (the ruleset's notes "
    "say what was left out). The scorecard's methodology text was not read: thresholds tagged R are recalled and "
    "unverified, those tagged S come from secondary sources.")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class RuleEvidence(_Out):
    """One rule behind a grade (or bearing on it), and what in it counts."""

    ruleset: str
    rule: str
    cite: str
    summary: str
    confidence: str | None
    reading: str
    why: str


class SourceEvidence(_Out):
    id: str
    title: str
    url: str | None


class Threshold(_Out):
    """A mark of the scorecard as far as it is known: its wording, and how far that wording is verified."""

    mark: str
    text: str
    quote: bool
    tag: str
    sources: list[str]
    verified: bool

    @classmethod
    def of(cls, mark: str, s: Statement) -> Threshold:
        return cls(mark=mark, text=s.text, quote=s.quote, tag=s.tag.value, sources=list(s.sources),
                   verified=s.verified)


class CriterionScore(_Out):
    """One criterion graded: the grade, why, the rules that earned it, and what the next grade needs."""

    criterion: str
    name: str
    evaluates: str
    grade: Grade
    at_least: bool
    reason: str
    missing: str | None
    earned_by: list[RuleEvidence]
    related: list[RuleEvidence]
    sources: list[SourceEvidence]
    thresholds: list[Threshold]
    thresholds_verified: bool
    weakest_confidence: str | None

    @property
    def grade_words(self) -> str:
        return ("at least " if self.at_least else "") + GRADE_WORDS[self.grade]


class ScoreReport(_Out):
    """A ruleset version graded against every criterion, in the order of the scorecard."""

    ruleset: str
    title: str
    status: str
    layers: list[str]
    criteria: list[CriterionScore]
    caveat: str = CAVEAT

    def criterion(self, criterion_id: str) -> CriterionScore:
        return next(c for c in self.criteria if c.criterion == criterion_id)


def scorecard_json(card: Scorecard) -> dict[str, object]:
    """What the grades were measured against: the scorecard, its editions and grading, the sources read."""
    return {"title": card.title, "publisher": card.publisher,
            "editions": [e.model_dump(mode="json") for e in card.editions],
            "grading": [s.model_dump(mode="json") for s in card.grading],
            "sources": [s.model_dump(mode="json") for s in card.sources]}


def render_json(card: Scorecard, reports: Sequence[ScoreReport]) -> str:
    """One JSON document: the scorecard and one report per ruleset, in the order asked (deterministic)."""
    doc = {"scorecard": scorecard_json(card), "reports": [r.model_dump(mode="json") for r in reports]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


__all__ = ["CAVEAT", "GRADE_WORDS", "CriterionScore", "Grade", "RuleEvidence", "ScoreReport", "SourceEvidence",
           "Threshold", "render_json", "scorecard_json"]
