"""The actions of one incident while they are planned, and the events they become."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.core.intervals import Span
from engine.tools.generate.clock import iso


@dataclass
class Plan:
    """The actions of one incident while they are being planned, and the truth lines of what was
    planted in them: (check, rule, ruleset)."""

    recordings: dict[str, list[Span]]
    notices: list[tuple[float, str]]
    views: list[tuple[float, str, str]]
    biometrics: list[tuple[float, str]]
    releases: dict[str, tuple[float, bool]]
    deletion: float | None
    truth: list[tuple[str, str, str]] = field(default_factory=list)


def actions(plan: Plan, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The planned actions as events of the export."""
    out: list[dict[str, Any]] = []

    def add(t: float, etype: str, **attrs: Any) -> None:
        out.append({"type": etype, "at": iso(datetime.fromtimestamp(int(t), UTC), zone), **attrs})

    for who in sorted(plan.recordings):
        for s, e in plan.recordings[who]:
            add(s, "recording_started", officer=who)
            add(e, "recording_stopped", officer=who)
    for t, who in plan.notices:
        add(t, "notice_given", officer=who)
    for t, role, purpose in plan.views:
        add(t, "footage_viewed", role=role, purpose=purpose)
    for t, purpose in plan.biometrics:
        add(t, "biometric_analysis_run", purpose=purpose)
    for to in sorted(plan.releases):
        t, redacted = plan.releases[to]
        add(t, "footage_released", to=to, redacted=redacted)
    if plan.deletion is not None:
        add(plan.deletion, "footage_deleted")
    return out
