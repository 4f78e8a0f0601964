"""Scoring rulesets against the Leadership Conference / Upturn body-worn camera policy scorecard.

    from engine.tools.score import read_scorecard, score
    card = read_scorecard()                              # the eight criteria, from scorecard.yaml
    report = score(repository, repository.resolve("dc-24-dcmr-3900"), card)
    print(render_json(card, [report]))                   # text and Markdown: engine.cli.text.score

Each criterion's grade (full, partial, none, or "cannot tell from the rules") comes from the rules of
the ruleset and of the rulesets it extends: the rules that earned it are listed with their cite,
summary and confidence, and so is what the next grade needs. The criteria, their wording as far as
it is known (each statement tagged verified, secondary or recalled) and the tests that read them onto
the ruleset language are data (scorecard.yaml, `criteria`); the graders are in `grade`; the report
and its JSON form in `report`.
"""

from __future__ import annotations

from engine.tools.score.criteria import Criterion, Scorecard, ScorecardDataError, Tag, read_scorecard
from engine.tools.score.grade import LayeredRule, grade
from engine.tools.score.report import (
    CAVEAT,
    GRADE_WORDS,
    CriterionScore,
    Grade,
    RuleEvidence,
    ScoreReport,
    render_json,
)
from policy.model import Ruleset
from policy.repository import Repository


def layers(repository: Repository, ruleset: Ruleset) -> list[Ruleset]:
    """The ruleset and every ruleset it extends, base first: the newest version each `extends` range
    accepts (what a reader of the policy would read today; the engine itself judges each incident by
    the base version in force on its date)."""
    chain = [ruleset]
    seen = {ruleset.ref}
    base = repository.base_of(ruleset)
    while base is not None and base.ref not in seen:  # the repository refuses circles; this only guards
        chain.append(base)
        seen.add(base.ref)
        base = repository.base_of(base)
    return list(reversed(chain))


def score(repository: Repository, ruleset: Ruleset, card: Scorecard) -> ScoreReport:
    """`ruleset`, with the layers it extends, graded against every criterion of `card`, in its order."""
    chain = layers(repository, ruleset)
    rules = [LayeredRule(layer, rule) for layer in chain for rule in layer.rules]
    return ScoreReport(ruleset=ruleset.ref, title=ruleset.title, status=ruleset.status.value,
                       layers=[r.ref for r in chain], criteria=[grade(c, rules, chain) for c in card.criteria])


__all__ = ["CAVEAT", "GRADE_WORDS", "Criterion", "CriterionScore", "Grade", "RuleEvidence", "ScoreReport", "Scorecard",
           "ScorecardDataError", "Tag", "layers", "read_scorecard", "render_json", "score"]
