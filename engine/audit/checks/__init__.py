"""The audit's checks, one family per module, and which checks an obligation gets.

Each check is a function `(CheckContext, Obligation) -> None` that adds its findings to the context;
`CHECKERS` names them (`not_released` also reports `released_late`).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.audit.checks.access import BIOMETRIC, biometric_while_prohibited, viewed_while_denied
from engine.audit.checks.context import CheckContext
from engine.audit.checks.notice import no_notice
from engine.audit.checks.recording import camera_off_in_mandatory_window, recorded_while_prohibited
from engine.audit.checks.release import not_released, unredacted_release
from engine.audit.checks.retention import deleted_before_minimum, kept_past_maximum
from engine.core.decision import Obligation
from policy.base import Effect

Checker = Callable[[CheckContext, Obligation], None]

CHECKERS: dict[str, Checker] = {
    "camera_off_in_mandatory_window": camera_off_in_mandatory_window,
    "recorded_while_prohibited": recorded_while_prohibited,
    "no_notice": no_notice,
    "deleted_before_minimum": deleted_before_minimum,
    "kept_past_maximum": kept_past_maximum,
    "viewed_while_denied": viewed_while_denied,
    "biometric_while_prohibited": biometric_while_prohibited,
    "not_released": not_released,
    "unredacted_release": unredacted_release,
}


def checks_for(kind: str, effect: Effect, purpose: str | None, redact: bool) -> tuple[str, ...]:
    """The checks an obligation of this shape gets (none for permissions)."""
    if kind == "record":
        return {Effect.MUST: ("camera_off_in_mandatory_window",),
                Effect.MUST_NOT: ("recorded_while_prohibited",)}.get(effect, ())
    if kind == "notify":
        return ("no_notice",) if effect is Effect.MUST else ()
    if kind == "retain":
        return ("deleted_before_minimum",)
    if kind == "delete":
        return ("kept_past_maximum",)
    if kind == "access" and effect is Effect.MUST_NOT:
        return ("viewed_while_denied", "biometric_while_prohibited") if purpose == BIOMETRIC else \
            ("viewed_while_denied",)
    if kind == "release" and effect is Effect.MUST:
        return ("not_released", "unredacted_release") if redact else ("not_released",)
    return ()


__all__ = ["CHECKERS", "CheckContext", "Checker", "checks_for"]
