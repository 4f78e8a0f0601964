"""The actions of one incident up to the as-of time, read into the forms the checks need when first asked for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import takewhile
from operator import attrgetter
from typing import Any

from engine.core.incident import Event, Incident
from engine.core.intervals import Span, union

_POSITION = attrgetter("position")  # an event's place in the incident's time order


class Actions:
    """Recording spans per officer, notices, views, releases, the first deletion, biometric runs.

    Each is read from the incident's events of its types (`Incident.by_type`) the first time a check asks
    for it: an incident's obligations call for few of them (most never get an access or release check),
    and an incident has no events of most types.
    """

    __slots__ = ("_biometric", "_by_type", "_cut", "_notices", "_recorded", "_recordings", "_releases", "_views",
                 "as_of", "as_of_ts", "deleted", "start_ts")

    def __init__(self, incident: Incident, as_of: datetime) -> None:
        self.as_of = as_of
        self.as_of_ts = as_of.timestamp()
        events = incident.events
        self.start_ts = events[0].at.timestamp() if events else self.as_of_ts
        self._by_type = incident.by_type
        # An audit is as of each incident's last event unless told otherwise: the last one settles most
        # incidents, whose events of each type are then all kept without comparing them.
        self._cut = as_of if events and events[-1].at > as_of else None
        self._recorded: dict[str | None, list[Span]] = {}
        self._recordings: dict[str | None, list[Span]] | None = None
        self._notices: list[tuple[float, str | None]] | None = None
        self._views: list[tuple[float, str | None, str | None, datetime]] | None = None
        self._releases: list[tuple[datetime, str | None, Any]] | None = None
        self._biometric: list[tuple[float, str | None, datetime]] | None = None
        deleted = self._events("footage_deleted")
        self.deleted: datetime | None = deleted[0].at if deleted else None  # when the footage was first deleted

    def _events(self, event_type: str) -> tuple[Event, ...]:
        """The incident's events of this type up to the as-of time (in time order, as `by_type` keeps them)."""
        found = self._by_type.get(event_type, ())
        cut = self._cut
        if cut is not None and found and found[-1].at > cut:
            return tuple(takewhile(lambda e: e.at <= cut, found))
        return found

    @property
    def recordings(self) -> dict[str | None, list[Span]]:
        """Recording spans per officer (None: cameras with no officer), still-open ones ending at the as-of time."""
        if self._recordings is not None:
            return self._recordings
        recordings: dict[str | None, list[Span]] = {}
        open_at: dict[str | None, float] = {}
        # Starts and stops of all officers, interleaved in time order (ties in input order), as they happened.
        for e in sorted((*self._events("recording_started"), *self._events("recording_stopped")), key=_POSITION):
            officer = e.attributes.get("officer")
            if e.type == "recording_started":
                open_at.setdefault(officer, e.at.timestamp())
            else:
                begun = open_at.pop(officer, None)
                if begun is not None:
                    recordings.setdefault(officer, []).append((begun, e.at.timestamp()))
        for officer, begun in open_at.items():  # still recording at the as-of time
            recordings.setdefault(officer, []).append((begun, self.as_of_ts))
        self._recordings = recordings
        return recordings

    @property
    def notices(self) -> list[tuple[float, str | None]]:
        if self._notices is None:
            self._notices = [(e.at.timestamp(), e.attributes.get("officer")) for e in self._events("notice_given")]
        return self._notices

    @property
    def views(self) -> list[tuple[float, str | None, str | None, datetime]]:
        if self._views is None:
            self._views = [(e.at.timestamp(), e.attributes.get("role"), e.attributes.get("purpose"), e.at)
                           for e in self._events("footage_viewed")]
        return self._views

    @property
    def releases(self) -> list[tuple[datetime, str | None, Any]]:
        if self._releases is None:
            self._releases = [(e.at, e.attributes.get("to"), e.attributes.get("redacted"))
                              for e in self._events("footage_released")]
        return self._releases

    @property
    def biometric(self) -> list[tuple[float, str | None, datetime]]:
        if self._biometric is None:
            self._biometric = [(e.at.timestamp(), e.attributes.get("purpose"), e.at)
                               for e in self._events("biometric_analysis_run")]
        return self._biometric

    def recorded(self, officer: str | None) -> Sequence[Span]:
        """Recording spans of `officer` (and of cameras with no officer), or of anyone; merged. Worked out
        once per officer: an incident's recording obligations mostly name the same one."""
        spans = self._recorded.get(officer)
        if spans is None:
            recordings = self.recordings
            if officer is None:
                spans = union([iv for ivs in recordings.values() for iv in ivs])
            else:
                spans = union([*recordings.get(officer, ()), *recordings.get(None, ())])
            self._recorded[officer] = spans
        return spans
