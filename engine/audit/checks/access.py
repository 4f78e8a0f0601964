"""Access checks: footage viewed by a role the rule denies, or biometric identification where it is banned."""

from __future__ import annotations

import math
from datetime import datetime

from engine.audit.checks.context import CheckContext
from engine.core.decision import Obligation
from engine.core.intervals import Span, contains

BIOMETRIC = "biometric_identification"
# Roles that `agency` ("any of its officers, staff or vendors") covers when matching a viewer's role.
AGENCY_ROLES = frozenset({"agency", "involved_officer", "witness_officer", "supervisor", "internal_affairs",
                          "investigator", "training_officer", "records_staff"})


def _access_spans(c: CheckContext, o: Obligation) -> tuple[list[Span], str] | None:
    """The window counted from the trigger, or from any time when the rule has none."""
    default = o.trigger and datetime.fromisoformat(o.trigger.at).timestamp()
    return c.window(o, default if isinstance(default, float) else -math.inf)


def viewed_while_denied(c: CheckContext, o: Obligation) -> None:
    check = "viewed_while_denied"
    roles = set(o.role or ())
    who = ", ".join(sorted(roles)) + (f" for {o.purpose}" if o.purpose else "")
    got = _access_spans(c, o)
    if got is None:
        c.add(o, check, "compliant", f"no viewing by {who} once the window opens", "the window has not opened")
        return
    spans, text = got
    expected = f"no viewing by {who} {text}"
    for t, role, purpose, at in c.actions.views:
        if role is None or not (role in roles or ("agency" in roles and role in AGENCY_ROLES)):
            continue
        if o.purpose is not None and purpose != o.purpose:
            continue
        if contains(spans, t):
            c.add(o, check, "violation", expected, f"viewed by {role}" + (f" for {purpose}" if purpose else "")
                  + f" at {at.isoformat()}")
            return
    c.add(o, check, "compliant", expected, "not viewed in the window")


def biometric_while_prohibited(c: CheckContext, o: Obligation) -> None:
    check = "biometric_while_prohibited"
    got = _access_spans(c, o)
    if got is None:
        c.add(o, check, "compliant", "no biometric identification once the window opens",
              "the window has not opened")
        return
    spans, text = got
    expected = f"no biometric identification {text}"
    for t, purpose, at in c.actions.biometric:
        if purpose != "redaction" and contains(spans, t):
            c.add(o, check, "violation", expected,
                  f"biometric analysis for {purpose or 'an unstated purpose'} run at {at.isoformat()}")
            return
    c.add(o, check, "compliant", expected, "no biometric analysis other than redaction")
