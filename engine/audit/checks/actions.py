"""The actions of one incident up to the as-of time, read once into the forms the checks need."""

from __future__ import annotations

from datetime import datetime
from itertools import takewhile
from typing import Any

from engine.core.incident import Incident
from engine.core.intervals import Span, union


class Actions:
    """Recording spans per officer, notices, views, releases, the first deletion, biometric runs."""

    __slots__ = ("as_of", "as_of_ts", "biometric", "deleted", "notices", "recordings", "releases", "start_ts",
                 "views")

    def __init__(self, incident: Incident, as_of: datetime) -> None:
        self.as_of = as_of
        self.as_of_ts = as_of.timestamp()
        self.start_ts = incident.events[0].at.timestamp() if incident.events else self.as_of_ts
        self.recordings: dict[str | None, list[Span]] = {}
        self.notices: list[tuple[float, str | None]] = []
        self.views: list[tuple[float, str | None, str | None, datetime]] = []
        self.releases: list[tuple[datetime, str | None, Any]] = []
        self.deleted: datetime | None = None
        self.biometric: list[tuple[float, str | None, datetime]] = []
        open_at: dict[str | None, float] = {}
        events = incident.events
        # The events up to the as-of time. They are in time order, and an audit is as of each incident's
        # last event unless told otherwise: the last one settles most incidents without comparing the others.
        if events and events[-1].at > as_of:
            events = tuple(takewhile(lambda e: e.at <= as_of, events))
        for e in events:
            t = e.type
            if t == "recording_started":
                open_at.setdefault(e.attributes.get("officer"), e.at.timestamp())
            elif t == "recording_stopped":
                officer = e.attributes.get("officer")
                begun = open_at.pop(officer, None)
                if begun is not None:
                    self.recordings.setdefault(officer, []).append((begun, e.at.timestamp()))
            elif t == "notice_given":
                self.notices.append((e.at.timestamp(), e.attributes.get("officer")))
            elif t == "footage_viewed":
                self.views.append((e.at.timestamp(), e.attributes.get("role"), e.attributes.get("purpose"), e.at))
            elif t == "footage_released":
                self.releases.append((e.at, e.attributes.get("to"), e.attributes.get("redacted")))
            elif t == "footage_deleted":
                if self.deleted is None:
                    self.deleted = e.at
            elif t == "biometric_analysis_run":
                self.biometric.append((e.at.timestamp(), e.attributes.get("purpose"), e.at))
        for officer, begun in open_at.items():  # still recording at the as-of time
            self.recordings.setdefault(officer, []).append((begun, self.as_of_ts))

    def recorded(self, officer: str | None) -> list[Span]:
        """Recording spans of `officer` (and of cameras with no officer), or of anyone; merged."""
        if officer is None:
            spans = [iv for ivs in self.recordings.values() for iv in ivs]
        else:
            spans = [*self.recordings.get(officer, ()), *self.recordings.get(None, ())]
        return union(spans)
