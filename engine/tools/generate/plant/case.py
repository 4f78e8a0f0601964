"""What a planter is given: one incident, its decision, and its compliant actions to change."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from engine.core.decision import Decision
from engine.tools.generate.plan import Plan


@dataclass(frozen=True, slots=True)
class Case:
    """One incident being made: its random generator, the incident (scenario events), its decision,
    the time of its first event (`start`), the actions planned so far, and its time zone."""

    r: random.Random
    incident: dict[str, Any]
    decision: Decision
    start: float
    plan: Plan
    zone: ZoneInfo


Planter = Callable[[Case, bool], bool]
"""`planter(case, go)`: whether the case allows the check's violation; with `go`, also plant it (in
`case.plan`, with its truth lines), and say whether it was planted."""
