"""The activation-compliance measure: calls for service matched to recordings, call by call.

It mirrors the method a city open-data program publishes (presets/tempe-activation-1-25.yaml): each
officer of a call is taken on their own; an officer counts when they have a documented arrival and
spent at least `min_on_scene_seconds` between their first arrival and their last clearing of the call;
a call counts when at least one such officer is on it; it is matched when one of them has a recording
that started between that officer's dispatch (or arrival, if no dispatch is recorded) and clearing.
A recording that names no officer counts for every officer, as in the audit's checks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.audit.presets import ActivationMeasure


def _at(event: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(event.get("at")))
    except ValueError:
        return None


def activation(incident: Mapping[str, Any], measure: ActivationMeasure) -> tuple[int, int]:
    """(calls, matched) for one incident: (0, 0) when it is not a call with an officer on scene."""
    events = [e for e in incident.get("events", ()) if isinstance(e, Mapping)]
    officers: dict[str, dict[str, datetime]] = {}
    starts: list[tuple[str | None, datetime]] = []
    for e in events:
        at = _at(e)
        if at is None:
            continue
        officer = e.get("officer")
        kind = e.get("type")
        if kind == "recording_started":
            starts.append((officer if isinstance(officer, str) else None, at))
        if not isinstance(officer, str):
            continue
        seen = officers.setdefault(officer, {})
        if kind == measure.dispatched and ("dispatched" not in seen or at < seen["dispatched"]):
            seen["dispatched"] = at
        elif kind == measure.arrived and ("arrived" not in seen or at < seen["arrived"]):
            seen["arrived"] = at
        elif kind in measure.cleared and ("cleared" not in seen or at > seen["cleared"]):
            seen["cleared"] = at
    eligible = False
    by_officer: dict[str | None, list[datetime]] | None = None
    for officer, seen in sorted(officers.items()):
        arrived, cleared = seen.get("arrived"), seen.get("cleared")
        if arrived is None or cleared is None or (cleared - arrived).total_seconds() < measure.min_on_scene_seconds:
            continue
        eligible = True
        opened = min(seen.get("dispatched", arrived), arrived)
        if len(starts) <= _FEW_STARTS:
            if any((who is None or who == officer) and opened <= at <= cleared for who, at in starts):
                return 1, 1
            continue
        # Many recordings (and perhaps many officers): the starts of each officer, and of cameras with no
        # officer, sorted once, and the first at or after `opened` found by bisect; scanning them all for
        # each officer would take time officers times recordings.
        if by_officer is None:
            by_officer = {}
            for who, at in starts:
                by_officer.setdefault(who, []).append(at)
            for times in by_officer.values():
                times.sort()
        for times in (by_officer.get(None, []), by_officer.get(officer, [])):
            i = bisect_left(times, opened)
            if i < len(times) and times[i] <= cleared:
                return 1, 1
    return (1, 0) if eligible else (0, 0)


_FEW_STARTS = 16  # recording starts scanned for each officer, as most calls have


__all__ = ["activation"]
