"""The bodies the service reads and some it writes, as pydantic models: they validate requests and make
the OpenAPI document. A decision is answered with the published decision schema (engine.api)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.core.decision.model import DecisionDocument
from policy.model import Ruleset

MAX_BODY = 1 << 20  # bytes of one request body, by default (`bwc serve --max-body`)
MAX_BATCH = 1000  # incidents of one batch
_Id = Annotated[str, Field(min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecideRequest(_Body):
    policy: _Id = Field(description="`id` (the version in force on the incident's date) or `id@version`.")
    incident: dict[str, Any] = Field(description="The incident: id, timezone, facts, events (docs/api.md).")
    as_of: str | None = Field(default=None, description="Decide as of this time (ISO 8601 with an offset, or "
                              "`now`); default: the incident's last event.")


class BatchRequest(_Body):
    policy: _Id
    incidents: list[dict[str, Any]] = Field(description="Up to 1,000 incidents.")
    as_of: str | None = None


class IncidentRequest(_Body):
    policy: _Id = Field(description="The ruleset that judges this incident (`id` or `id@version`).")
    timezone: str = Field(description="The incident's IANA time zone, e.g. America/Chicago.")
    facts: dict[str, Any] = Field(default_factory=dict, description="Its facts, fixed when it is opened.")


class EventIn(_Body):
    event_id: _Id = Field(description="The client's id of this event: a retry with the same id is skipped.")
    event: dict[str, Any] = Field(description="The event: type, at (ISO 8601 with offset) and its attributes.")


class AppendRequest(_Body):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class RulesetSummary(_Body):
    id: str
    title: str
    versions: list[str] = Field(description="Oldest first.")


class VersionDocument(_Body):
    version: str
    status: str
    effective_from: date
    effective_until: date | None
    digest: str

    @classmethod
    def of(cls, r: Ruleset, digest: str) -> VersionDocument:
        return cls(version=r.version, status=r.status.value, effective_from=r.effective.from_,
                   effective_until=r.effective.until, digest=digest)


class RulesetVersions(_Body):
    id: str
    versions: list[VersionDocument]


class ReplayRequest(_Body):
    candidate: _Id = Field(description="The version to try, `id@version` (one the service holds: a draft "
                           "loaded with PUT /v1/rulesets/{id}/versions/{version}, say).")
    baseline: _Id | None = Field(default=None, description="The version to compare with, `id@version`; "
                                 "default: the newest enacted version of the candidate's ruleset.")
    since: str | None = Field(default=None, description="Replay incidents whose first event is at or after "
                              "this time (ISO 8601 with an offset); default: the oldest stored.")
    until: str | None = Field(default=None, description="... and before this time; default: no end.")
    as_of: str | None = Field(default=None, description="Decide every incident as of this time; default: "
                              "each as of its own last event.")


class LoadedVersion(_Body):
    id: str
    version: str
    digest: str
    loaded: bool = Field(description="False when the service held this very version already.")


# --- what the service answers (they make the OpenAPI document's response schemas) ---------------------

class FieldError(BaseModel):
    where: str = Field(description="Where in the request, e.g. `body.incident` or `query.to`.")
    message: str


class IncidentProblem(BaseModel):
    incident: str
    field: str = Field(description="Where in the incident, e.g. `events[3].type`.")
    message: str
    hint: str | None = None


class RulesetProblem(BaseModel):
    """A problem of a ruleset sent to be loaded, as `bwc check --format json` reports it."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    rule: str | None = None
    severity: str | None = None
    path: list[str | int] | None = None
    title: str | None = None


class Problem(BaseModel):
    """An error, as a problem document (RFC 9457), sent as `application/problem+json`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="422: the fields missing or malformed "
                                            "(never the values sent).")
    problems: list[IncidentProblem | RulesetProblem] | None = Field(
        default=None, description="422: why the incident does not fit the vocabulary, or what is wrong with a "
        "ruleset sent to be loaded.")
    recorded: list[int] | None = Field(default=None, description="503 to a batch: the indexes (in `incidents`) "
                                       "of the decisions that were recorded before the store failed.")
    appended: int | None = Field(default=None, description="503 to an append: its events were stored (this many "
                                 "new), but its decision was not recorded in the log.")


class Ready(BaseModel):
    status: str
    rulesets: int


class Refusal(BaseModel):
    index: int = Field(description="The incident's position in the request.")
    detail: str
    problems: list[IncidentProblem] | None = None


class BatchDecisions(BaseModel):
    decisions: list[DecisionDocument | None] = Field(description="In the order sent; null for one refused.")
    refused: list[Refusal]


class LayerExplanation(BaseModel):
    ruleset: str = Field(description="`id@version` of another version the decision weighs.")
    digest: str
    role: Literal["base", "amendment", "conduct"]
    in_force: bool
    rules: list[dict[str, Any]] = Field(description="For every rule of the layer, as `rules` above.")


class Explanation(BaseModel):
    incident_id: str
    as_of: str
    ruleset: str = Field(description="`id@version` of the version that judged the incident.")
    digest: str
    in_force: bool = Field(description="Whether that version was in effect on the incident's date; when not, "
                           "it decides nothing, whatever its rules' conditions found.")
    rules: list[dict[str, Any]] = Field(description="For every rule: rule, summary, cite, fired, triggers, "
                                        "reason, checks.")
    layers: list[LayerExplanation] = Field(description="The other versions the decision weighs, as the "
                                           "decision's `layers`, each with its rules explained.")


class CanonicalVersion(BaseModel):
    id: str
    version: str
    digest: str
    canonical: dict[str, Any]


class IncidentOpened(BaseModel):
    incident_id: str
    created: bool = Field(description="False when the same incident was there already.")


class Appended(BaseModel):
    appended: int = Field(description="How many of the events sent were new (a retried event id is skipped).")
    decision: DecisionDocument


class LogEntryDocument(BaseModel):
    seq: int
    decision_id: str
    incident_id: str
    ruleset: str
    version: str
    digest: str
    input_digest: str
    as_of: str
    recorded_at: str
    prev: str = Field(description="The hash of the entry before (empty for the first).")
    hash: str
    decision: DecisionDocument | str = Field(description="The decision, as it was returned (text, when the "
                                             "row was changed and it is no longer JSON: see `problem`).")
    problem: str | None = Field(default=None, description="Set only for an entry whose row was changed in the "
                                "database behind bwc's back: what is wrong with it.")


class Verification(BaseModel):
    ok: bool
    entries: int
    head: str = Field(description="The newest entry's hash (save it, and pass it as `head` later).")
    problems: list[str]
    head_at: int | None = Field(default=None, description="The number of the entry whose hash is the `head` "
                                "given, when it is in the chain.")
    added_since_head: int = Field(default=0, description="Entries recorded after that one since it was saved.")
