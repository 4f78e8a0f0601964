"""The scorecard's criteria as data: scorecard.yaml read, checked against its model and the vocabulary.

The file holds, for each of the eight criteria, what the scorecard evaluates and what its marks mean
(each statement tagged V, S or R, with its sources) and the test that reads the criterion onto the
ruleset language (`test.method`, with the names and thresholds it uses). A broken file is reported
as every problem at its line and column (`ScorecardDataError`), never as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from policy.base import Name
from policy.diagnostics import Diagnostic, RulesetError, closest
from policy.duration import Duration
from policy.source import SourceDocument, read_yaml_file
from policy.vocabulary import Vocabulary, core

DATA_FILE = "scorecard.yaml"


class ScorecardDataError(RulesetError):
    """The criteria file cannot be used; carries every problem, each at its line and column."""


class Tag(StrEnum):
    """How far a statement about the scorecard can be trusted."""

    VERIFIED = "V"  # seen in the scorecard or in its publisher's own words
    SECONDARY = "S"  # seen in a secondary source
    RECALLED = "R"  # recalled, not confirmed by any source read: unverified


class _Data(BaseModel):
    """Strict, like the ruleset model: a misspelt key in the data file is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Statement(_Data):
    """Something said about the scorecard: its text, whether it is the source's own words, its tag."""

    text: Annotated[str, Field(min_length=1)]
    tag: Tag
    quote: bool = False
    sources: list[str] = Field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.tag is Tag.VERIFIED


class SourceRef(_Data):
    id: Annotated[str, Field(min_length=1)]
    title: Annotated[str, Field(min_length=1)]
    url: HttpUrl
    read: Annotated[str, Field(min_length=1)] = Field(description="What of the source was actually read.")


class Edition(_Data):
    label: Annotated[str, Field(min_length=1)]
    source: str


class PublishedSourceTest(_Data):
    method: Literal["published_source"]
    limit: str


class RecordingDutiesTest(_Data):
    method: Literal["recording_duties"]
    partial: str
    full_limit: str


class PrivacyTest(_Data):
    method: Literal["privacy_protections"]
    consent_requesters: list[Name]
    places: list[Name]
    facts: list[Name]
    events: list[Name]
    full: str
    partial: str


class ReviewTest(_Data):
    method: Literal["review_before_report"]
    roles: list[Name]
    before: list[Name]
    purposes: list[Name]
    full: str
    partial: str


class RetentionTest(_Data):
    method: Literal["retention_limit"]
    benchmark: Duration
    benchmark_tag: Tag
    anchors: list[Name]
    full: str
    partial: str


class MisuseTest(_Data):
    method: Literal["misuse_protections"]
    limit: str


class ComplainantTest(_Data):
    method: Literal["complainant_access"]
    complainant_roles: list[Name]
    person_roles: list[Name]
    person_recipients: list[Name]
    complaint_events: list[Name]
    full: str
    partial: str


class BiometricTest(_Data):
    method: Literal["biometric_limit"]
    purposes: list[Name]
    roles: list[Name]
    full: str
    partial: str


CriterionTest = Annotated[
    PublishedSourceTest | RecordingDutiesTest | PrivacyTest | ReviewTest | RetentionTest | MisuseTest
    | ComplainantTest | BiometricTest,
    Field(discriminator="method"),
]


class Criterion(_Data):
    id: Name
    name: Annotated[str, Field(min_length=1)] = Field(description="As the scorecard's column names it.")
    evaluates: Statement
    also: list[Statement] = Field(default_factory=list)
    full: Statement | None = None
    partial: Statement | None = None
    test: CriterionTest


class Scorecard(_Data):
    title: str
    publisher: str
    editions: list[Edition]
    grading: list[Statement]
    sources: list[SourceRef]
    criteria: Annotated[list[Criterion], Field(min_length=1)]

    @model_validator(mode="after")
    def _references_resolve(self) -> Scorecard:
        ids = [s.id for s in self.sources]
        if len(set(ids)) != len(ids):
            raise ValueError("two sources have the same `id`")
        criteria = [c.id for c in self.criteria]
        if len(set(criteria)) != len(criteria):
            raise ValueError("two criteria have the same `id`")
        named = [e.source for e in self.editions] + [s for st in self.statements() for s in st.sources]
        unknown = sorted({s for s in named if s not in ids})
        if unknown:
            raise ValueError(f"sources not listed under `sources`: {', '.join(unknown)}")
        return self

    def statements(self) -> Iterator[Statement]:
        yield from self.grading
        for c in self.criteria:
            yield c.evaluates
            yield from c.also
            yield from (s for s in (c.full, c.partial) if s is not None)

    def source(self, source_id: str) -> SourceRef:
        return next(s for s in self.sources if s.id == source_id)


def _vocabulary_problems(card: Scorecard, vocab: Vocabulary) -> Iterator[tuple[tuple[Any, ...], str, list[str]]]:
    """Every name a test uses that the core vocabulary lacks: (path in the file, name, the names it could be)."""
    request = vocab.events["request_to_stop_recording"].attributes["by"].values or ()
    location = vocab.facts["location_type"].values or ()
    for i, c in enumerate(card.criteria):
        t = c.test
        lists: dict[str, tuple[list[str], tuple[str, ...]]] = {}
        if isinstance(t, PrivacyTest):
            lists = {"consent_requesters": (t.consent_requesters, tuple(request)),
                     "places": (t.places, tuple(location)), "facts": (t.facts, tuple(vocab.facts)),
                     "events": (t.events, tuple(vocab.events))}
        elif isinstance(t, ReviewTest):
            lists = {"roles": (t.roles, tuple(vocab.roles)), "before": (t.before, tuple(vocab.events)),
                     "purposes": (t.purposes, tuple(vocab.purposes))}
        elif isinstance(t, RetentionTest):
            lists = {"anchors": (t.anchors, ("incident", *vocab.events))}
        elif isinstance(t, ComplainantTest):
            lists = {"complainant_roles": (t.complainant_roles, tuple(vocab.roles)),
                     "person_roles": (t.person_roles, tuple(vocab.roles)),
                     "person_recipients": (t.person_recipients, tuple(vocab.recipients)),
                     "complaint_events": (t.complaint_events, tuple(vocab.events))}
        elif isinstance(t, BiometricTest):
            lists = {"roles": (t.roles, tuple(vocab.roles)), "purposes": (t.purposes, tuple(vocab.purposes))}
        for key, (names, known) in lists.items():
            for j, n in enumerate(names):
                if n not in known:
                    yield ("criteria", i, "test", key, j), n, list(known)


def _problems(exc: ValidationError, doc: SourceDocument) -> Iterator[Diagnostic]:
    for err in exc.errors():
        loc = tuple(err["loc"])
        line, col = doc.position(doc.known_prefix(loc), key=err["type"] == "extra_forbidden") or (None, None)
        place = "".join(f"[{x + 1}]" if isinstance(x, int) else f".{x}" for x in loc).lstrip(".")
        yield Diagnostic("BWC112", f"{place or 'the file'}: {err['msg']}", doc.file, line, col)


def read_scorecard(path: Path | None = None) -> Scorecard:
    """The criteria (the file shipped with bwc, or `path`); ScorecardDataError with every problem."""
    if path is None:
        with resources.as_file(resources.files(__package__ or "engine.tools.score") / DATA_FILE) as shipped:
            return read_scorecard(shipped)
    try:
        doc = read_yaml_file(path)
    except RulesetError as exc:
        raise ScorecardDataError(exc.diagnostics) from None
    try:
        card = Scorecard.model_validate(doc.data)
    except ValidationError as exc:
        raise ScorecardDataError(list(_problems(exc, doc))) from None
    bad = []
    for where, name, known in _vocabulary_problems(card, core()):
        line, col = doc.position(where) or (None, None)
        best = closest(name, known)
        bad.append(Diagnostic("BWC112", f"`{name}` is not a name of the core vocabulary here", doc.file, line, col,
                              f"did you mean `{best}`?" if best else None))
    if bad:
        raise ScorecardDataError(bad)
    return card


__all__ = ["DATA_FILE", "BiometricTest", "ComplainantTest", "Criterion", "CriterionTest", "MisuseTest", "PrivacyTest",
           "PublishedSourceTest", "RecordingDutiesTest", "RetentionTest", "ReviewTest", "Scorecard",
           "ScorecardDataError", "SourceRef", "Statement", "Tag", "read_scorecard"]
