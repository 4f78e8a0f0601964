"""The actions of a compliant agency for one decision: recordings, notices, releases, views, a deletion.

A decision no agency could comply with (two duties that contradict each other, a duty with no end)
raises `Redraw`: the generator then draws another scenario.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.core.decision import Decision, Obligation
from engine.core.intervals import Span, intersect, length, near_edge, subtract, union
from engine.tools.generate.clock import local_day, noon, timestamp
from engine.tools.generate.duties import effective, free_view, live, needs_redaction, officer, retention
from engine.tools.generate.plan import Plan


class Redraw(Exception):
    """No agency could comply with this decision: draw another scenario."""


def comply(r: random.Random, incident: dict[str, Any], d: Decision, officers: list[str], end: float,
           zone: ZoneInfo) -> Plan:
    """The compliant actions for `incident` (whose encounter ends at `end`) under its decision `d`."""
    start = timestamp(incident["events"][0]["at"])
    # Recording: every mandatory part, never where recording is forbidden.
    forbidden = union(s for o in live(d, "record", "must_not") for s in effective(o))
    need: dict[str, list[Span]] = {}
    for o in live(d, "record", "must"):
        parts = effective(o)
        if any(math.isinf(s) or math.isinf(e) for s, e in parts):
            raise Redraw
        need.setdefault(officer(incident, o) or officers[0], []).extend(parts)
    recordings: dict[str, list[Span]] = {}
    for who, parts in need.items():
        if length(intersect(parts, forbidden)) > 0:
            raise Redraw
        # never before the first event: the incident's first event anchors its dates ("incident")
        padded = [(max(start, s - r.randint(20, 90)), e + r.randint(20, 120)) for s, e in parts]
        recordings[who] = subtract(padded, [(s - 5, e + 5) for s, e in forbidden])
    for who in officers:  # officers without a duty sometimes record anyway
        if who not in recordings and r.random() < 0.3 and not forbidden:
            recordings[who] = [(start + 30, end + 60)]
    # Notice in every notice window.
    notify = [o for o in live(d, "notify", "must") if effective(o)]
    notices: list[tuple[float, str]] = []
    for o in notify:
        parts = effective(o)
        s, e = parts[0]
        if math.isinf(s):
            raise Redraw
        t = _time_in(r, s, min(e, s + 600), [w for x in notify for w in effective(x)])
        if t is None:
            raise Redraw
        notices.append((t, officer(incident, o) or officers[0]))
    # Releases: every required one, on time, redacted where redaction is required.
    releases: dict[str, tuple[float, bool]] = {}
    blocked = {to for o in live(d, "release", "must_not") for to in o.to or ()}
    for o in live(d, "release", "must"):
        for to in o.to or ():
            if to in blocked:
                if isinstance(o.by, date):
                    raise Redraw
                continue
            when = _release_time(r, o, end, zone)
            if when is None:
                raise Redraw
            prev = releases.get(to)
            if prev is None or when < prev[0]:
                releases[to] = (when, needs_redaction(d, to) or r.random() < 0.4)
    # Retention: delete after the minimum and before the maximum.
    deletion = _deletion(r, d, end, zone)
    # Views nothing forbids, and biometric analysis for redaction only.
    views: list[tuple[float, str, str]] = []
    for _ in range(r.choice((0, 1, 1, 2))):
        t = end + r.randint(600, 20 * 86400)
        if deletion is not None and t >= deletion:
            continue
        v = free_view(r, d, t)
        if v is not None:
            views.append((t, *v))
    biometrics: list[tuple[float, str]] = []
    if releases and r.random() < 0.15:
        first = min(t for t, _ in releases.values())
        if first - 3600 > end:
            biometrics.append((first - r.randint(600, 3000), "redaction"))
    return Plan(recordings, notices, views, biometrics, releases, deletion)


def _time_in(r: random.Random, s: float, e: float, edges: list[Span]) -> float | None:
    """A time between `s` and `e`, clear of every window's edges, or None."""
    for _ in range(12):
        if e - s < 40:
            return None
        t = float(int(s + 15 + r.random() * (e - s - 30)))
        if not near_edge(edges, t, 10):
            return t
    return None


def _release_time(r: random.Random, o: Obligation, end: float, zone: ZoneInfo) -> float | None:
    """A release on time for `o` (None when its deadline leaves no whole day)."""
    base = max(end, timestamp(o.trigger.at) if o.trigger is not None else end) + 3600
    if isinstance(o.by, date):
        first = local_day(base, zone) + timedelta(days=1)
        if first > o.by:
            return None
        return noon(first + timedelta(days=r.randint(0, (o.by - first).days)), r, zone)
    return noon(local_day(base, zone) + timedelta(days=r.randint(1, 20)), r, zone)


def _deletion(r: random.Random, d: Decision, end: float, zone: ZoneInfo) -> float | None:
    """A deletion after the retention minimum and before the maximum, or none."""
    retains, open_min, minimum, _, maximum = retention(d)
    first = local_day(end, zone) + timedelta(days=1)
    low = max(first, minimum + timedelta(days=1)) if minimum is not None else first
    if maximum is not None:
        if open_min:
            raise Redraw
        if (maximum - low).days >= 1:
            return noon(low + timedelta(days=r.randint(0, (maximum - low).days - 1)), r, zone)
        # the minimum's last day is the maximum (keep 90 days, delete within 90 days): delete that day
        day = max(first, minimum) if minimum is not None else first
        if day > maximum:
            raise Redraw
        return noon(day, r, zone)
    if open_min or (not retains and r.random() < 0.8) or r.random() < 0.5:
        return None
    return noon(low + timedelta(days=r.randint(0, 90)), r, zone)

