"""Obligations: what a rule requires, permits or forbids once it applies.

A rule states exactly one: `record`, `notify`, `retain`, `delete`, `access` or `release`.
Anchors (`from`, `until`, `after`, `before`) name an event type, or `incident` for the incident's
first event.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, model_validator

from policy.base import Effect, Name, NameList, PolicyModel, Text
from policy.conditions import Condition
from policy.duration import Duration

INCIDENT = "incident"

OBLIGATION_KEYS = ("record", "notify", "retain", "delete", "access", "release")


class WindowObligation(PolicyModel):
    """`record` or `notify`: must, may or must not, from one event until another."""

    effect: Effect
    from_: Name | None = Field(default=None, alias="from",
                               description="The event that opens the window (default: the rule's trigger).")
    until: Name | None = Field(default=None, description="The event that closes the window (default: open).")


class RetainObligation(PolicyModel):
    """Keep footage at least a duration after an anchor, indefinitely, until an event, or under legal hold."""

    at_least: Duration | None = None
    after: Name | None = None
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
    after: Name


class AccessObligation(PolicyModel):
    """A role may, or must not, view footage, for a purpose, before or after an event."""

    effect: Effect
    role: NameList
    purpose: Name | None = Field(default=None, description="The purpose of viewing (default: any purpose).")
    after: Name | None = Field(default=None, description="The window opens at this event.")
    before: Name | None = Field(default=None, description="The window closes at this event.")


class DelayAllowance(PolicyModel):
    """A permitted delay of a release, and what it requires."""

    up_to: Duration | Literal["indefinitely"]
    after: Name | None = Field(default=None, description="Counted from this event (default: the release's `after`).")
    only_if: Condition | None = None
    requires: list[Text] = Field(default_factory=list)
    reassess_every: Duration | None = None


class ReleaseObligation(PolicyModel):
    """Release footage to a recipient, within a duration of an anchor event."""

    effect: Effect
    to: NameList
    within: Duration | None = None
    after: Name | None = None
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
