"""Making one incident: a scenario, its decision, a compliant agency's actions, planted violations,
and the truth lines of what was planted."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from engine.api import Library
from engine.core.incident import IncidentError
from engine.tools.generate.checks import shares_of
from engine.tools.generate.clock import next_month, timestamp
from engine.tools.generate.comply import Redraw, comply
from engine.tools.generate.draw import Drawer
from engine.tools.generate.errors import GenerateError
from engine.tools.generate.plan import actions
from engine.tools.generate.plant import Case, plant
from engine.tools.generate.stats import Stats
from policy.duration import CalendarOverflow
from policy.in_force import ENACTED
from policy.values import quoted

DRAWS = 24
"""Scenarios drawn for one incident before giving up; the last few are minimal."""
MINIMAL_FROM = 20


class Generator:
    """Makes incidents (dicts with `groups`) and their truth lines for one ruleset id."""

    def __init__(self, library: Library, policy: str, seed: int, shares: Mapping[str, float] | float = 0.1,
                 start: date | None = None, months: int = 12) -> None:
        self.library = library
        self.ref = policy
        self.seed = seed
        rid, at, _ = policy.partition("@")
        self.family = family = library.versions_of(rid)
        # a pinned version judges every incident; otherwise each is drawn for the version in force on its day
        self.pinned = library.select(policy) if at else None
        self.shares = shares_of(shares)
        newest = family[-1].program.ruleset
        self.zone = ZoneInfo(newest.timezone)
        # every fact and event any version declares (the newest version's spec where two declare one)
        self.vocab = vocab = library.vocabulary(rid)
        if start is None:
            enacted = [p.program.ruleset for p in family if p.program.ruleset.status in ENACTED] or [newest]
            start = (self.pinned.program.ruleset if self.pinned else enacted[-1]).effective.from_
            if start.day != 1 and (start.year, start.month) == (9999, 12):
                raise GenerateError(f"{policy} takes effect on {start.isoformat()}: no whole month is left before "
                                    "the calendar ends, so give --start (a month from 0001-01 to 9999-12)")
            start = date(start.year, start.month, 1) if start.day == 1 else next_month(start)
        self.start = start
        self.months = max(1, months)
        if start.year * 12 + start.month - 1 + self.months > 9999 * 12 + 12:  # the last month must be in 9999
            raise GenerateError(f"{self.months} month(s) from {start:%Y-%m} run past December 9999, the last month "
                                "of the calendar: give an earlier --start or fewer --months")
        self.drawer = Drawer(family, vocab, start, self.months, newest.timezone, self.pinned)

    def incident_id(self, n: int) -> str:
        return f"INC-{self.seed}-{n + 1:07d}"

    def make(self, n: int) -> tuple[dict[str, Any], list[dict[str, str]], Stats]:
        """Incident number `n` (0-based): the incident dict, its truth lines and its statistics."""
        try:
            return self._make(n)
        except (CalendarOverflow, OverflowError, IncidentError) as exc:
            # Later events and deadlines (records requests, years of retention) come after the
            # incident's month: near the end of the calendar they run past it.
            raise GenerateError(f"incident {n + 1} cannot be made: {quoted(str(exc), 200)} (its times and deadlines "
                                "must stay within the years 1 to 9999: give an earlier --start)") from None

    def _make(self, n: int) -> tuple[dict[str, Any], list[dict[str, str]], Stats]:
        # Each incident has its own random generator, so the same seed gives the same bytes
        # whatever the number of worker processes.
        r = random.Random(f"bwc-generate/{self.seed}/{n}")
        for attempt in range(DRAWS):
            incident, officers, end, version = self.drawer.draw(r, self.incident_id(n),
                                                                minimal=attempt >= MINIMAL_FROM)
            raw = {k: v for k, v in incident.items() if k != "groups"}
            scenario = version.read(raw)
            if self.pinned is None and (judge := self.family.judging(scenario)) is not version:
                # Another version judges it (its first event fell on that version's first day, or the
                # versions date incidents by an event of their own): read with that one's words.
                try:
                    scenario = judge.read(raw)
                except IncidentError:
                    continue  # it lacks a word drawn: drawn again
            decision = self.library.decide(self.ref, scenario)
            try:
                plan = comply(r, incident, decision, officers, end, self.zone)
            except Redraw:
                continue
            stats = Stats(incidents=1)
            plant(Case(r, incident, decision, timestamp(incident["events"][0]["at"]), plan, self.zone),
                  self.shares, stats)
            events = [*incident["events"], *actions(plan, self.zone)]
            events.sort(key=lambda e: timestamp(e["at"]))
            incident["events"] = events
            stats.events = len(events)
            seen: set[tuple[str, str, str]] = set()
            truth = []
            for check, rule, ruleset in plan.truth:
                if (check, rule, ruleset) not in seen:
                    seen.add((check, rule, ruleset))
                    truth.append({"incident_id": incident["id"], "check": check, "rule": rule, "ruleset": ruleset})
            stats.truth = len(truth)
            return incident, truth, stats
        raise GenerateError(f"{self.ref}: no incident an agency could comply with after {DRAWS} draws "
                            f"(incident {n + 1})")
