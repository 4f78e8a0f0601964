"""The lint checks, one module each, in the order they run (`CHECKS`); `FAST` are those `bwc check` runs."""

from __future__ import annotations

from engine.tools.lint.checks import (
    anchor_never_occurs,
    conflicting_access,
    conflicting_effects,
    delay_never_available,
    extends_window,
    never_applies,
    override_no_effect,
    release_before_footage,
    release_before_request,
    retention_conflict,
    shadowed,
    trigger_cannot_match,
    window_never_opens,
)
from engine.tools.lint.checks.base import Check

CHECKS: tuple[Check, ...] = tuple(m.CHECK for m in (
    conflicting_effects, conflicting_access, retention_conflict, release_before_footage, release_before_request,
    shadowed, override_no_effect, never_applies, trigger_cannot_match, extends_window, anchor_never_occurs,
    window_never_opens, delay_never_available,
))
FAST: tuple[Check, ...] = tuple(c for c in CHECKS if c.fast)

__all__ = ["CHECKS", "FAST", "Check"]
