"""Obligations: what a rule requires, permits or forbids once it applies.

A rule states exactly one: `record`, `notify`, `retain`, `delete`, `access` or `release`.
Anchors (`from`, `until`, `after`, `before`) name an event type, or `incident` for the incident's
first event. A time counted *from* an anchor (`after:` of `retain`, `delete`, `release` and
`may_delay`) may also be `rule_applies` (the moment the rule came to apply) or `{earliest: [...]}`
(the earliest of several anchors that have happened).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StrictBool, Tag, model_validator

from policy.base import Effect, Name, NameList, PolicyModel, Text
from policy.conditions import Condition
from policy.duration import Duration

INCIDENT = "incident"
RULE_APPLIES = "rule_applies"
RESERVED_ANCHORS = (INCIDENT, RULE_APPLIES)

OBLIGATION_KEYS = ("record", "notify", "retain", "delete", "access", "release")


class Earliest(PolicyModel):
    """The earliest of several anchors, among those that have happened (e.g. a recording deemed flagged
    when the rule came to apply, or flagged explicitly before that)."""

    earliest: Annotated[tuple[Name, ...], Field(min_length=2, max_length=8)] = Field(
        description="Two to eight anchors: event types, `incident` or `rule_applies`.")

    def __str__(self) -> str:
        return "earliest of " + ", ".join(self.earliest)


def _anchor_form(value: Any) -> str | None:
    if isinstance(value, str):
        return "after"
    if isinstance(value, dict | Earliest):
        return "earliest"
    return None


# A time counted from an anchor: an event type, `incident`, `rule_applies`, or the earliest of several.
# (The tags name the key the value sits under, so that messages about a bad name read "`after`".)
CountedAnchor = Annotated[
    Annotated[Name, Tag("after")] | Annotated[Earliest, Tag("earliest")],
    Discriminator(_anchor_form, custom_error_type="anchor_shape",
                  custom_error_message="a time is counted from one anchor (an event type, `incident` or "
                  "`rule_applies`), or from `{earliest: [...]}`"),
]


def anchor_names(anchor: CountedAnchor | None) -> tuple[str, ...]:
    """The names an anchor refers to (none, one, or those of an `earliest` list)."""
    if anchor is None:
        return ()
    return anchor.earliest if isinstance(anchor, Earliest) else (anchor,)


class WindowObligation(PolicyModel):
    """`record` or `notify`: must, may or must not, from one event until another."""

    effect: Effect
    from_: Name | None = Field(default=None, alias="from",
                               description="The event that opens the window (default: the rule's trigger).")
    until: Name | None = Field(default=None, description="The event that closes the window (default: open).")


class RetainObligation(PolicyModel):
    """Keep footage at least a duration after an anchor, indefinitely, until an event, or under legal hold."""

    at_least: Duration | None = None
    after: CountedAnchor | None = None
    indefinitely: StrictBool = False
    until: Name | None = Field(default=None, description="Keep until this event happens (e.g. case_closed).")
    legal_hold: StrictBool = Field(default=False, description="Keep while a legal hold is in place.")

    @model_validator(mode="after")
    def _one_form(self) -> RetainObligation:
        forms = [f for f, on in (("at_least", self.at_least is not None), ("indefinitely", self.indefinitely),
                                 ("until", self.until is not None), ("legal_hold", self.legal_hold)) if on]
        if len(forms) != 1:
            raise ValueError(
                "`retain` says how long in exactly one way: `at_least` (with `after`), `indefinitely: true`, "
                f"`until: <event>` or `legal_hold: true`; found {', '.join(forms) or 'none'}"
            )
        if self.at_least is not None and self.after is None:
            raise ValueError("`at_least` needs `after`: the event the time is counted from (or `incident`)")
        if self.after is not None and self.at_least is None:
            raise ValueError("`after` goes with `at_least`")
        return self


class DeleteObligation(PolicyModel):
    """Delete footage no later than a duration after an anchor (a cap on retention)."""

    within: Duration
    after: CountedAnchor


class AccessObligation(PolicyModel):
    """A role may, or must not, view footage, for a purpose, before or after an event."""

    effect: Effect
    role: NameList
    purpose: Name | None = Field(default=None, description="The purpose of viewing (default: any purpose).")
    after: Name | None = Field(default=None, description="The window opens at this event.")
    before: Name | None = Field(default=None, description="The window closes at this event.")


PROMPTLY = "promptly"

# A release deadline: a duration, or `promptly` (the law gives no number of days). Tagged so that a
# misspelt duration is reported as one, under the key `within`.
Deadline = Annotated[
    Annotated[Duration, Tag("within")] | Annotated[Literal["promptly"], Tag("promptly")],
    Discriminator(lambda v: "promptly" if v == PROMPTLY else "within"),
]


class DelayAllowance(PolicyModel):
    """A permitted delay of a release, and what it requires."""

    up_to: Duration | Literal["indefinitely"]
    after: CountedAnchor | None = Field(default=None,
                                        description="Counted from this event (default: the release's `after`).")
    only_if: Condition | None = None
    ends_on: Name | None = Field(
        default=None, description="The event that ends the delay early (e.g. the interference is resolved): from "
        "then on the release is due as if the delay had run out that day.")
    requires: list[Text] = Field(default_factory=list)
    reassess_every: Duration | None = None


class ReleaseObligation(PolicyModel):
    """Release footage to a recipient, within a duration of an anchor event."""

    effect: Effect
    to: NameList
    within: Deadline | None = Field(
        default=None, description="The deadline counted from `after`: a duration, or `promptly` when the law says "
        "\"promptly\" and gives no number of days (the engine then sets no date).")
    after: CountedAnchor | None = None
    may_delay: list[DelayAllowance] = Field(default_factory=list)
    redact: list[Text] = Field(default_factory=list)
    unedited: StrictBool = False

    @model_validator(mode="after")
    def _deadline_has_anchor(self) -> ReleaseObligation:
        if self.within is not None and self.after is None:
            raise ValueError("`within` needs `after`: the event the deadline is counted from")
        if self.may_delay and self.within is None:
            raise ValueError("`may_delay` needs a deadline to delay: add `within` and `after`")
        return self


AnyObligation = WindowObligation | RetainObligation | DeleteObligation | AccessObligation | ReleaseObligation
