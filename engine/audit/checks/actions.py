"""The actions of one incident up to the as-of time, read into the forms the checks need when first asked for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import takewhile
from operator import attrgetter
from typing import Any

from engine.core.incident import Event, Incident
from engine.core.intervals import Coverage, Span, overlap, union

_POSITION = attrgetter("position")  # an event's place in the incident's time order


class Actions:
    """Recording spans per officer, notices, views, releases, the first deletion, biometric runs.

    Each is read from the incident's events of its types (`Incident.by_type`) the first time a check asks
    for it: an incident's obligations call for few of them (most never get an access or release check),
    and an incident has no events of most types.
    """

    __slots__ = ("_biometric", "_by_type", "_coverage", "_cut", "_notice_times", "_notices", "_recorded",
                 "_recordings", "_release_firsts", "_releases", "_views", "as_of", "as_of_ts", "deleted", "start_ts")

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
        # Indexes for incidents with many events of a kind (see `recorded_in`, `notice_times`, `first_release`):
        # built when first asked for, so that the usual incident of a few events pays nothing for them.
        self._coverage: dict[str | None, Coverage] | None = None
        self._notice_times: dict[str | None, list[float]] | None = None
        self._release_firsts: dict[Any, tuple[int, int]] | None = None
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

    def recorded_in(self, officer: str | None, window: Iterable[Span]) -> float:
        """`overlap(window, self.recorded(officer))`: the seconds of the window that `officer`'s camera (or one
        with no officer; or anyone's, for None) recorded.

        An incident with many recordings answers from a `Coverage` per officer instead, built once: merging
        each officer's spans with the spans of cameras with no officer would keep a copy of those per
        officer (memory officers times recordings), and walking the merged spans for each obligation would take
        time obligations times recordings."""
        spans = self._recorded.get(officer)
        if spans is None:
            coverage = self._coverage
            if coverage is None:
                if sum(map(len, self.recordings.values())) <= _FEW_SPANS:
                    return overlap(window, self.recorded(officer))
                coverage = self._coverage = {}
            return self._coverage_of(officer, coverage).overlap(window)
        return overlap(window, spans)

    def _coverage_of(self, officer: str | None, coverage: dict[str | None, Coverage]) -> Coverage:
        found = coverage.get(officer)
        if found is None:
            recordings = self.recordings
            if officer is None:  # anyone's recordings
                found = Coverage(iv for ivs in recordings.values() for iv in ivs)
            else:
                # The spans of cameras with no officer count for every officer: indexed once, shared.
                shared = coverage.get(_NO_OFFICER)
                if shared is None:
                    shared = coverage[_NO_OFFICER] = Coverage(recordings.get(None, ()))
                found = Coverage(recordings.get(officer, ()), shared)
            coverage[officer] = found
        return found

    def notice_times(self, officer: str | None) -> tuple[list[float], ...]:
        """The times of the notices `officer` gave or that name no officer (for None: every notice), sorted:
        a notice check asks whether one falls in its window, with bisect (an incident may have thousands)."""
        index = self._notice_times
        if index is None:
            index = self._notice_times = {}
            for t, who in self.notices:
                index.setdefault(who, []).append(t)
                index.setdefault(_ANYONE, []).append(t)
            for times in index.values():
                times.sort()
        if officer is None:
            return (index.get(_ANYONE, []),)
        return index.get(None, []), index.get(officer, [])

    def first_release(self, to: Iterable[Any]) -> tuple[int, int]:
        """The places in `releases` of the first release to any of `to` and of the first one to any of them
        marked `redacted: false` (len(releases): none). Worked out per recipient once, not per obligation."""
        index = self._release_firsts
        releases = self.releases
        none = len(releases)
        if index is None:
            index = self._release_firsts = {}
            for n, (_, who, redacted) in enumerate(releases):
                first, bad = index.get(who, (none, none))
                index[who] = (min(first, n), n if bad == none and redacted is False else bad)
        first, bad = none, none
        for who in set(to):
            f, b = index.get(who, (none, none))
            first, bad = min(first, f), min(bad, b)
        return first, bad


_FEW_SPANS = 64  # recording spans an incident may have and still have them merged per officer, as most do
# Keys in the indexes that no officer's name can be (a name is a string, None is "no officer").
_NO_OFFICER: Any = ("no officer",)
_ANYONE: Any = ("anyone",)
