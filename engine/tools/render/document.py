"""The document a ruleset version becomes for public review: its title block, its rules grouped by topic, its
base layers, and two rulesets paired topic by topic; every piece of text taken from the ruleset, never written.

Each rule is shown as the drafter wrote it (`summary`, `cite`, `confidence`, `notes`) beside what the file
encodes, in the words of policy.describe (the same sentences `bwc diff` uses). Nothing here rewords a
summary: a reader who finds the two disagreeing has found an error in the file, which is the point of a
comment period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from policy.base import Effect
from policy.describe import describe_applies, describe_obligation, join, name, subject
from policy.markdown import Phrase, Segment, phrase
from policy.model import Confidence, Governs, Rule, Ruleset
from policy.obligations import (
    AccessObligation,
    DeleteObligation,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
)
from policy.repository import Repository


@dataclass(frozen=True, slots=True)
class Topic:
    """A group of rules by what they are about, in the order a reader asks about footage."""

    key: str
    title: str
    covers: str
    kinds: tuple[str, ...]


TOPICS = (
    Topic("record", "When to record", "Recording, and telling people they are being recorded.", ("record", "notify")),
    Topic("keep", "How long to keep", "Keeping footage, and deleting it.", ("retain", "delete")),
    Topic("watch", "Who may watch", "Who may view footage, and for what.", ("access",)),
    Topic("release", "When to release", "Releasing footage, to whom and by when.", ("release",)),
)
_TOPIC_OF = {kind: t for t in TOPICS for kind in t.kinds}

# The meanings docs/language.md gives the three levels: shown beside each rule, so that a reader needs no
# other page to know how far to trust it.
CONFIDENCE_MEANINGS = {
    Confidence.VERIFIED: "checked against the official text",
    Confidence.SECONDARY: "taken from a summary, news report or other secondary source",
    Confidence.UNVERIFIED: "recalled or inferred; needs checking",
}
NO_CONFIDENCE = "not stated by the drafter"

_EFFECTS = {Effect.MUST: "a duty (must)", Effect.MAY: "a permission (may)", Effect.MUST_NOT: "a ban (must not)"}


@dataclass(frozen=True, slots=True)
class SourceView:
    id: str
    title: str
    url: str | None
    date: date | None
    cited_by: tuple[str, ...]  # ids of the rules whose `cite` names it


@dataclass(frozen=True, slots=True)
class RuleView:
    """One rule: the drafter's words beside what the file encodes."""

    id: str
    summary: str
    cite: str
    clause: str  # the cite without its source id: `§3(b)` of `updated §3(b)`
    source: SourceView | None
    confidence: Confidence | None
    notes: str | None
    kind: str
    effect: str  # a duty, a permission or a ban; for retention a minimum, for deletion a limit
    about: Phrase  # `retention`, `release to the public`, `viewing by `supervisor``
    requires: Phrase  # `Keep footage at least 90 days after the incident`
    applies: Phrase | None  # `when a `dispatched` event happens, only if ...`; None: every incident
    sets_aside: tuple[str, ...]
    scope: tuple[str, ...]  # what `governs`, `applies_to_existing_footage`, `same_officer` change

    @property
    def confidence_meaning(self) -> str:
        return CONFIDENCE_MEANINGS[self.confidence] if self.confidence is not None else NO_CONFIDENCE


@dataclass(frozen=True, slots=True)
class TopicRules:
    topic: Topic
    rules: tuple[RuleView, ...]


@dataclass(frozen=True, slots=True)
class Layer:
    """One ruleset version: its title block, sources, notes and rules by topic."""

    ref: str
    ruleset: str
    version: str
    title: str
    status: str
    effective_from: date
    effective_until: date | None
    digest: str
    drafted_by: str
    timezone: str
    supersedes: str | None
    corrects: str | None
    extends: str | None  # `illinois-50-ilcs-706-10-20, versions >=2021.1.0 <2022.0.0`
    notes: str | None
    sources: tuple[SourceView, ...]
    topics: tuple[TopicRules, ...]

    @property
    def in_force(self) -> str:
        start = self.effective_from.isoformat()
        if self.effective_until is None:
            return f"from {start}, with no end date"
        return f"from {start} to {self.effective_until.isoformat()} (inclusive)"

    @property
    def rule_count(self) -> int:
        return sum(len(t.rules) for t in self.topics)


@dataclass(frozen=True, slots=True)
class BaseLayer:
    """A ruleset the rendered one builds on (`extends`): the version shown, and every version accepted."""

    layer: Layer
    accepted: tuple[str, ...]  # refs of every version the range accepts, oldest first


@dataclass(frozen=True, slots=True)
class RulesetDocument:
    layer: Layer
    bases: tuple[BaseLayer, ...]  # nearest first: what the ruleset extends, then what that extends, ...


@dataclass(frozen=True, slots=True)
class PairedTopic:
    """One topic of a comparison: rules with the same id side by side, then each side's others."""

    topic: Topic
    pairs: tuple[tuple[RuleView | None, RuleView | None], ...]


@dataclass(frozen=True, slots=True)
class ComparisonDocument:
    left: Layer
    right: Layer
    topics: tuple[PairedTopic, ...]


# --- building ------------------------------------------------------------------------------------------

def _effect(rule: Rule) -> str:
    o = rule.obligation
    if isinstance(o, RetainObligation):
        return "a minimum (keep at least this long)"
    if isinstance(o, DeleteObligation):
        return "a limit (delete by then)"
    assert isinstance(o, WindowObligation | AccessObligation | ReleaseObligation)
    return _EFFECTS[o.effect]


def _scope(rule: Rule) -> tuple[str, ...]:
    out = []
    if rule.governs is Governs.CONDUCT:
        out.append("Governs conduct: binds every action taken while this version is in force, on footage of any "
                   "date.")
    if rule.applies_to_existing_footage:
        out.append("Also governs footage of earlier incidents once this version is in force.")
    if rule.same_officer:
        out.append("Sets aside only the obligations of the officer its trigger names.")
    return tuple(out)


def _rule_view(rule: Rule, sources: dict[str, SourceView]) -> RuleView:
    source_id, *clause = rule.cite.split(maxsplit=1)  # as policy.model.Rule.source_id reads it
    applies = describe_applies(rule)
    return RuleView(
        id=rule.id, summary=rule.summary, cite=rule.cite, clause=clause[0] if clause else "",
        source=sources.get(source_id), confidence=rule.confidence, notes=rule.notes, kind=rule.kind,
        effect=_effect(rule),
        about=phrase(subject(rule)), requires=phrase(describe_obligation(rule.obligation, rule.kind)),
        applies=phrase(applies) if applies else None, sets_aside=tuple(rule.overrides), scope=_scope(rule))


def _sources(ruleset: Ruleset) -> dict[str, SourceView]:
    cited: dict[str, list[str]] = {}
    for r in ruleset.rules:
        cited.setdefault(r.source_id, []).append(r.id)
    return {s.id: SourceView(s.id, s.title, str(s.url) if s.url is not None else None, s.date,
                             tuple(cited.get(s.id, ())))
            for s in ruleset.sources}


def layer(ruleset: Ruleset, digest: str) -> Layer:
    """A ruleset version as a layer of a document; `digest` is its content digest (policy.canonical)."""
    sources = _sources(ruleset)
    views = [_rule_view(r, sources) for r in ruleset.rules]
    topics = tuple(TopicRules(t, tuple(v for v in views if _TOPIC_OF[v.kind] is t)) for t in TOPICS)
    ext = ruleset.extends
    return Layer(
        ref=ruleset.ref, ruleset=ruleset.ruleset, version=ruleset.version, title=ruleset.title,
        status=ruleset.status.value, effective_from=ruleset.effective.from_, effective_until=ruleset.effective.until,
        digest=digest, drafted_by=ruleset.drafted_by, timezone=ruleset.timezone, supersedes=ruleset.supersedes,
        corrects=ruleset.corrects, extends=f"{ext.ruleset}, versions {ext.version}" if ext is not None else None,
        notes=ruleset.notes, sources=tuple(sources.values()), topics=topics)


def document(repo: Repository, ruleset: Ruleset) -> RulesetDocument:
    """`ruleset` with the rulesets it builds on: for each `extends`, the newest version its range accepts
    (the one a reader of today's law wants; the engine judges each incident by the accepted version in force
    on its date, and the document lists them all). Raises RulesetLookupError when a base is not in `repo`."""
    bases: list[BaseLayer] = []
    seen = {ruleset.ref}
    current = ruleset
    while (base := repo.base_of(current)) is not None and base.ref not in seen:  # the repository refuses circles
        seen.add(base.ref)
        accepted = tuple(b.ref for b in repo.bases(current))
        bases.append(BaseLayer(layer(base, repo.digest(base)), accepted))
        current = base
    return RulesetDocument(layer(ruleset, repo.digest(ruleset)), tuple(bases))


def comparison(left: Layer, right: Layer) -> ComparisonDocument:
    """Two layers topic by topic. Within a topic, a rule of the right with the id of one on the left sits
    beside it (rulesets written to be compared share ids: the BPCAT draft and Rule 405); the left's order
    is kept, and the right's other rules follow in their own order."""
    topics = []
    for lt, rt in zip(left.topics, right.topics, strict=True):
        by_id = {r.id: r for r in rt.rules}
        pairs: list[tuple[RuleView | None, RuleView | None]] = [(r, by_id.get(r.id)) for r in lt.rules]
        paired = {r.id for r in lt.rules}
        pairs += [(None, r) for r in rt.rules if r.id not in paired]
        topics.append(PairedTopic(lt.topic, tuple(pairs)))
    return ComparisonDocument(left, right, tuple(topics))


def names(ids: tuple[str, ...]) -> Phrase:
    """Rule ids as a phrase: `a`, `b` and `c`."""
    return phrase(join([name(i) for i in ids]))


__all__ = ["CONFIDENCE_MEANINGS", "NO_CONFIDENCE", "TOPICS", "BaseLayer", "ComparisonDocument", "Layer",
           "PairedTopic", "Phrase", "RuleView", "RulesetDocument", "Segment", "SourceView", "Topic", "TopicRules",
           "comparison", "document", "layer", "names", "phrase"]
