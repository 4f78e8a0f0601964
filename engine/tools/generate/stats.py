"""What a run generated, counted per check, and those counts as text."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from engine.tools.generate.checks import CHECKS


@dataclass
class Stats:
    """What was generated: incidents, events, and per check how many incidents could have had a
    planted violation (`eligible`) and how many got one (`planted`); `truth` counts truth lines."""

    incidents: int = 0
    events: int = 0
    eligible: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    planted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    truth: int = 0

    def add(self, other: Stats) -> None:
        self.incidents += other.incidents
        self.events += other.events
        self.truth += other.truth
        for k in CHECKS:
            self.eligible[k] += other.eligible[k]
            self.planted[k] += other.planted[k]


def to_text(stats: Stats) -> str:
    buf = io.StringIO()
    buf.write(f"{stats.incidents} incidents, {stats.events} events, {stats.truth} planted violation(s)\n")
    for k in CHECKS:
        buf.write(f"  {k}: planted in {stats.planted[k]} of {stats.eligible[k]} incidents that allowed it\n")
    return buf.getvalue()
