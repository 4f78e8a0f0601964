"""Synthetic audit exports: realistic incidents with the actions taken on their footage, and a share
of planted violations listed in a truth file, so that an audit can be checked against it.

    from engine.api import Library
    from engine.tools.generate import generate
    stats = generate(Library.load("rulesets/"), "illinois-50-ilcs-706-10-20", "out.jsonl", incidents=1000,
                     seed=7, shares=0.1, truth="truth.jsonl")

How one incident is made (each incident has its own random generator, seeded from the seed and its
number, so the same seed gives the same bytes whatever the number of worker processes):

1. A scenario: facts, and a timeline of the events the ruleset talks about (dispatch, arrival, a
   contact, a few scene events such as a frisk, an arrest or a use of force, the end of the
   encounter, the report, and later events such as records requests or complaints), about ten
   events with the actions. Incidents are spread over `months` months from `start`, and carry
   grouping columns (district, unit).
2. Its obligations: `Library.decide` on the scenario (actions never change obligations).
3. The actions of a compliant agency: every officer's camera records the mandatory windows (with a
   margin) and stays off where recording is forbidden; notice is given in every notice window;
   views are by roles and for purposes nothing forbids at that time; biometric analysis only for
   redaction; every required release goes to each recipient on time, redacted where redaction is
   required; footage is deleted after the retention minimum and before the maximum. A scenario no
   agency could comply with (two duties that contradict each other) is drawn again.
4. Planted violations: for each check below, with probability `shares[check]` when the incident
   gives it something to break, the generator changes the actions to break it (a gap in the
   recording; no notice; a view or a biometric run inside a prohibition; a late, missing or
   unredacted release; an early deletion; no deletion past the maximum, with a later action so
   that the incident's own time has passed the maximum). The truth file lists, for every planted
   change, each obligation (incident, check, rule) the changed actions break; the planting keeps
   clear of boundaries (grace periods, the deadline day itself) so the answer is not a matter of
   rounding.

Nothing here runs the audit: the truth comes from what the generator planted.
"""

from __future__ import annotations

import calendar
import contextlib
import csv
import functools
import io
import json
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from engine.api import Library
from engine.core.decision import Decision, Obligation
from engine.core.incident import IncidentError
from engine.executor import Executor
from engine.io.output import open_atomic
from policy import obligations
from policy.duration import CalendarOverflow
from policy.model import Ruleset
from policy.values import quoted
from policy.vocabulary import Spec, ValueType, Vocabulary

Format = Literal["jsonl", "csv"]

# The checks the generator can plant, in the order it plants them.
CHECKS: tuple[str, ...] = (
    "camera_off_in_mandatory_window",
    "no_notice",
    "viewed_while_denied",
    "biometric_while_prohibited",
    "released_late",
    "not_released",
    "unredacted_release",
    "deleted_before_minimum",
    "kept_past_maximum",
)

INF = math.inf
Span = tuple[float, float]

DISTRICTS = ("District 1", "District 2", "District 3", "District 4", "District 5", "District 6")
UNITS = ("Patrol", "Traffic", "Patrol", "Patrol", "Investigations", "Community")
# Events that happen after the encounter (hours to weeks later).
_LATER = ("request", "complaint", "flag", "hold", "case_", "charges", "investigation", "withheld", "proceeding",
          "permission", "determined", "aware", "report", "disposition", "statement", "review")
_RARE = ("firearm", "death", "informant", "first_amendment", "activation_prevented", "crowd", "pursuit",
         "emergency", "great_bodily")
_COMMON = ("contact_initiated", "arrest", "detention", "frisk", "search", "use_of_force", "entered_residence",
           "victim_interview", "request_to_stop_recording", "records_request", "agency_aware")
_BASE = ("dispatched", "arrived", "encounter_ended", "report_completed")
_VIEWS = (("involved_officer", "report_writing"), ("supervisor", "supervision"), ("investigator", "investigation"),
          ("records_staff", "redaction"), ("training_officer", "training"), ("prosecutor", "prosecution"))


class GenerateError(Exception):
    """The generator cannot do what was asked (unknown ruleset, no compliant incident possible)."""


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


# --- time helpers ----------------------------------------------------------------------------------

def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _minus(spans: Iterable[Span], cut: Iterable[Span]) -> list[Span]:
    out = _merge(spans)
    for cs, ce in _merge(cut):
        nxt: list[Span] = []
        for s, e in out:
            if ce <= s or cs >= e:
                nxt.append((s, e))
                continue
            if s < cs:
                nxt.append((s, cs))
            if ce < e:
                nxt.append((ce, e))
        out = nxt
    return out


def _measure(spans: Iterable[Span]) -> float:
    return sum(e - s for s, e in _merge(spans))


def _intersect(a: Iterable[Span], b: Iterable[Span]) -> list[Span]:
    a_m = _merge(a)
    return _minus(a_m, _minus(a_m, b))


def _near_edge(t: float, spans: Iterable[Span], margin: float) -> bool:
    return any(abs(t - s) < margin or abs(t - e) < margin for s, e in spans)


def _inside(t: float, spans: Iterable[Span]) -> bool:
    return any(s <= t <= e for s, e in spans)


# --- what a decision says, as spans ----------------------------------------------------------------

def _window(o: Obligation, start: float) -> Span | None:
    """The obligation's window as seconds (None when it has not opened); open ends are infinite."""
    w = o.window
    if w is None:
        return (-INF, INF)
    if w.from_ is not None and w.from_.pending:
        return None
    s = _ts(w.from_.at) if w.from_ is not None and w.from_.at else -INF
    e = _ts(w.until.at) if w.until is not None and w.until.at else INF
    return (s, e)


def _effective(o: Obligation, start: float) -> list[Span]:
    """The parts of the window in force: not overridden, minus suspended parts."""
    if o.overridden_by is not None:
        return []
    span = _window(o, start)
    if span is None:
        return []
    cut: list[Span] = []
    for part in o.suspended or ():
        ps = _ts(part.from_.at) if part.from_ is not None and part.from_.at else span[0]
        pe = _ts(part.until.at) if part.until is not None and part.until.at and not part.until.pending else span[1]
        cut.append((ps, pe))
    return _minus([span], cut)


def _live(d: Decision, kind: str, effect: str | None = None) -> list[Obligation]:
    return [o for o in d.obligations if o.kind == kind and o.overridden_by is None
            and (effect is None or o.effect.value == effect)]


# --- the generator ---------------------------------------------------------------------------------

def _referenced(ruleset: Ruleset, vocab: Vocabulary) -> set[str]:
    """Every (non-action) event type a ruleset's rules name anywhere."""
    found: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, str):
            spec = vocab.events.get(x)
            if spec is not None and not spec.action:
                found.add(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list | tuple):
            for v in x:
                walk(v)

    walk([r.model_dump(by_alias=True, exclude={"summary", "cite", "notes", "id", "confidence"})
          for r in ruleset.rules])
    return found


@dataclass
class _Plan:
    """The actions of one incident while they are being planned."""

    recordings: dict[str, list[Span]]
    notices: list[tuple[float, str]]
    views: list[tuple[float, str, str]]
    biometrics: list[tuple[float, str]]
    releases: dict[str, tuple[float, bool]]
    deletion: float | None
    truth: list[tuple[str, str, str]] = field(default_factory=list)


class _Redraw(Exception):
    pass


class Generator:
    """Makes incidents (dicts with `groups`) and their truth lines for one ruleset id."""

    def __init__(self, library: Library, policy: str, seed: int, shares: Mapping[str, float] | float = 0.1,
                 start: date | None = None, months: int = 12) -> None:
        self.library = library
        self.ref = policy
        self.seed = seed
        rid = policy.partition("@")[0]
        family = library.versions_of(rid)
        self.policies = family
        if isinstance(shares, int | float):
            shares = dict.fromkeys(CHECKS, float(shares))
        unknown = set(shares) - set(CHECKS)
        if unknown:
            raise GenerateError(f"unknown check(s) {sorted(unknown)}: use {', '.join(CHECKS)}")
        self.shares = {k: float(shares.get(k, 0.0)) for k in CHECKS}
        newest = family[-1].program.ruleset
        self.zone = ZoneInfo(newest.timezone)
        self.timezone = newest.timezone
        vocab = family[-1].program.vocabulary
        for p in family[:-1]:
            v = p.program.vocabulary
            vocab = vocab.extended({k: s for k, s in v.facts.items() if k not in vocab.facts},
                                   {k: s for k, s in v.events.items() if k not in vocab.events}, {})
        self.vocab = vocab
        if start is None:
            enacted = [p.program.ruleset for p in family if p.program.ruleset.status.value in
                       ("adopted", "superseded", "repealed")] or [newest]
            start = enacted[-1].effective.from_
            start = date(start.year, start.month, 1) if start.day == 1 else _next_month(start)
        self.start = start
        self.months = max(1, months)
        if start.year * 12 + start.month - 1 + self.months > 9999 * 12 + 12:  # the last month must be in 9999
            raise GenerateError(f"{self.months} month(s) from {start:%Y-%m} run past December 9999, the last month "
                                "of the calendar: give an earlier --start or fewer --months")
        refs: set[str] = set()
        for p in family:
            refs |= _referenced(p.program.ruleset, vocab)
        self.closers: dict[str, set[str]] = {}
        self.openers: dict[str, set[str]] = {}
        for p in family:
            for r in p.program.ruleset.rules:
                if r.on is None:
                    continue
                ob = r.record or r.notify
                closer = ob.until if ob is not None else (r.access.before if r.access is not None else None)
                opener = ob.from_ if ob is not None else (r.access.after if r.access is not None else None)
                if closer and closer not in _BASE and closer != "encounter_ended":
                    self.closers.setdefault(r.on, set()).add(closer)
                if opener and opener != r.on and opener != "incident":
                    self.openers.setdefault(r.on, set()).add(opener)
        # the events release deadlines count from (a records request, the agency learning of it)
        self.release_anchors = sorted({n for p in family for r in p.program.ruleset.rules if r.release is not None
                                       for n in obligations.anchor_names(r.release.after)
                                       if n != r.on and n not in obligations.RESERVED_ANCHORS})
        anchor_names = {n for s in (*self.closers.values(), *self.openers.values()) for n in s}
        core_scene = {e for e in _COMMON if e in vocab.events and not _later(e)}
        pool = sorted((refs | core_scene) - set(_BASE) - anchor_names - {"left_scene"})
        self.scene = [e for e in pool if not _later(e) and e != "contact_initiated"]
        self.later = [e for e in pool if _later(e)]
        # rare events (shootings, deaths) stay rare, unless they are most of what the ruleset is about
        self.rare = 0.25 if sum(1 for e in refs if e in self.scene and not any(w in e for w in _RARE)) >= 4 else 1.5
        self.has_left_scene = "left_scene" in refs
        self.has_contact = "contact_initiated" in refs
        self.fact_names = sorted(vocab.facts)

    # -- scenario -----------------------------------------------------------------------------------

    def _value(self, r: random.Random, spec: Spec) -> Any:
        if spec.type is ValueType.BOOLEAN:
            return r.random() < 0.5
        if spec.type in (ValueType.INTEGER, ValueType.NUMBER):
            lo = int(spec.minimum if spec.minimum is not None else 0)
            hi = int(spec.maximum if spec.maximum is not None else 10)
            return min(hi, lo + int(r.expovariate(1.0)))
        values = self.vocab.allowed_values(spec)
        if not values:
            return None
        if spec.ordered:  # e.g. injury: mostly the low end
            return values[min(len(values) - 1, int(r.expovariate(0.7)))]
        return r.choice(values)

    def _attributes(self, r: random.Random, etype: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in self.vocab.attributes_of(etype).items():
            if name == "officer" or r.random() < 0.25:
                continue
            v = self._value(r, spec)
            if v is not None:
                out[name] = v
        return out

    def _facts(self, r: random.Random) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        for name in self.fact_names:
            spec = self.vocab.facts[name]
            if name == "district" or spec.type in (ValueType.TEXT, ValueType.DATE):
                continue
            if name == "in_uniform":
                facts[name] = r.random() < 0.93
            elif name == "camera_issued":
                facts[name] = r.random() < 0.97
            elif name == "location_type":
                facts[name] = r.choice(("public", "public", "public", "residence", "residence", "school", "hospital",
                                        "courthouse", "jail"))
            elif name == "assignment":
                facts[name] = r.choice(("patrol", "patrol", "patrol", "traffic", "traffic", "detective",
                                        "specialized_unit", "school_resource"))
            elif spec.type is ValueType.BOOLEAN:
                if r.random() < 0.7:
                    facts[name] = r.random() < 0.2
            elif r.random() < 0.6:
                v = self._value(r, spec)
                if v is not None:
                    facts[name] = v
        return facts

    def _scenario(self, r: random.Random, n: int, minimal: bool) -> tuple[dict[str, Any], list[str], float]:
        month = r.randrange(self.months)
        first = _add_months(self.start, month)
        days = calendar.monthrange(first.year, first.month)[1]  # not via the next month: December 9999 has none
        hour = r.choice((1, 3, 8, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23))
        local = datetime.combine(first + timedelta(days=r.randrange(days)), time(hour, r.randrange(60)),
                                 self.zone)
        t = local.astimezone(UTC)
        district = r.randrange(len(DISTRICTS))
        officers = [f"B{district + 1}{r.randrange(1000):03d}"]
        if r.random() < 0.35:
            officers.append(f"B{district + 1}{r.randrange(1000):03d}")
        events: list[dict[str, Any]] = []

        def add(etype: str, at: datetime, officer: str | None = None) -> None:
            ev: dict[str, Any] = {"type": etype, "at": at}
            if officer is not None:
                ev["officer"] = officer
            ev.update(self._attributes(r, etype))
            events.append(ev)

        lead = officers[0]
        dispatched = minimal or not self.has_contact or r.random() < 0.6
        if dispatched:
            add("dispatched", t, lead)
            t += timedelta(minutes=r.randint(3, 15))
            add("arrived", t, lead)
        if self.has_contact and not minimal and (not dispatched or r.random() < 0.4):
            t += timedelta(minutes=r.randint(1, 5))
            add("contact_initiated", t, lead)
        if not minimal and self.scene:
            k = r.choice((1, 1, 1, 2, 2, 3))
            weights = [self.rare if any(w in e for w in _RARE) else 3.0 if e in _COMMON else 1.0 for e in self.scene]
            for etype in sorted(set(r.choices(self.scene, weights, k=k)), key=self.scene.index):
                t += timedelta(minutes=r.randint(2, 9), seconds=r.randint(0, 59))
                who = r.choice(officers)
                add(etype, t, who)
                for opener in sorted(self.openers.get(etype, ())):
                    if r.random() < 0.8:
                        t += timedelta(minutes=r.randint(1, 4))
                        add(opener, t, who)
                for closer in sorted(self.closers.get(etype, ())):
                    if not _later(closer):
                        t += timedelta(minutes=r.randint(2, 12))
                        add(closer, t, who)
        t += timedelta(minutes=r.randint(5, 35), seconds=r.randint(0, 59))
        add("encounter_ended", t, lead)
        end = t
        if self.has_left_scene:
            add("left_scene", t + timedelta(minutes=r.randint(2, 8)), lead)
        add("report_completed", t + timedelta(hours=r.randint(1, 6), minutes=r.randrange(60)), lead)
        for opened in [e for e in events if e["type"] in self.closers]:
            for closer in sorted(self.closers[opened["type"]]):
                if _later(closer) and not any(e["type"] == closer for e in events):
                    add(closer, end + timedelta(hours=r.randint(2, 30)), lead)
        for etype in self.release_anchors:
            if not minimal and r.random() < 0.85:
                add(etype, end + timedelta(hours=r.randint(1, 72)), None)
        if not minimal and self.later:
            k = r.choice((0, 1, 1, 2))
            for etype in sorted(set(r.choices(self.later, k=k)) - set(self.release_anchors)):
                fast = "aware" in etype
                delay = timedelta(hours=r.randint(1, 48)) if fast else timedelta(days=r.randint(1, 40),
                                                                                  hours=r.randint(0, 23))
                add(etype, end + delay, None if "request" in etype or fast else lead)
        events.sort(key=lambda e: e["at"])
        for ev in events:
            ev["at"] = _iso(ev["at"], self.zone)
        groups = {"district": DISTRICTS[district], "unit": UNITS[r.randrange(len(UNITS))]}
        incident = {"id": self.incident_id(n), "timezone": self.timezone, "facts": self._facts(r),
                    "groups": groups, "events": events}
        return incident, officers, end.timestamp()

    def incident_id(self, n: int) -> str:
        return f"INC-{self.seed}-{n + 1:07d}"

    # -- one incident -------------------------------------------------------------------------------

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
        r = random.Random(f"bwc-generate/{self.seed}/{n}")
        for attempt in range(24):
            incident, officers, end = self._scenario(r, n, minimal=attempt >= 20)
            scenario = {k: v for k, v in incident.items() if k != "groups"}
            decision = self.library.decide(self.ref, scenario)
            try:
                plan = self._comply(r, incident, decision, officers, end)
            except _Redraw:
                continue
            stats = Stats(incidents=1)
            self._plant(r, incident, decision, officers, plan, stats)
            actions = self._actions(plan)
            events = [*incident["events"], *actions]
            events.sort(key=lambda e: _ts(e["at"]))
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
        raise GenerateError(f"{self.ref}: no incident an agency could comply with after 24 draws (incident {n + 1})")

    def _trigger_officer(self, incident: Mapping[str, Any], o: Obligation) -> str | None:
        if o.trigger is None:
            return None
        officer = incident["events"][o.trigger.index].get("officer")
        return officer if isinstance(officer, str) else None

    def _comply(self, r: random.Random, incident: dict[str, Any], d: Decision, officers: list[str],
                end: float) -> _Plan:
        start = _ts(incident["events"][0]["at"])
        # Recording: every mandatory part, never where recording is forbidden.
        forbidden = _merge(s for o in _live(d, "record", "must_not") for s in _effective(o, start))
        need: dict[str, list[Span]] = {}
        for o in _live(d, "record", "must"):
            parts = _effective(o, start)
            if any(math.isinf(s) or math.isinf(e) for s, e in parts):
                raise _Redraw
            need.setdefault(self._trigger_officer(incident, o) or officers[0], []).extend(parts)
        recordings: dict[str, list[Span]] = {}
        for who, parts in need.items():
            if _measure(_intersect(parts, forbidden)) > 0:
                raise _Redraw
            # never before the first event: the incident's first event anchors its dates ("incident")
            padded = [(max(start, s - r.randint(20, 90)), e + r.randint(20, 120)) for s, e in parts]
            recordings[who] = _minus(padded, [(s - 5, e + 5) for s, e in forbidden])
        for who in officers:  # officers without a duty sometimes record anyway
            if who not in recordings and r.random() < 0.3 and not forbidden:
                recordings[who] = [(start + 30, end + 60)]
        # Notice in every notice window.
        notify = [o for o in _live(d, "notify", "must") if _effective(o, start)]
        notices: list[tuple[float, str]] = []
        for o in notify:
            parts = _effective(o, start)
            s, e = parts[0]
            if math.isinf(s):
                raise _Redraw
            t = self._time_in(r, s, min(e, s + 600), [w for x in notify for w in _effective(x, start)])
            if t is None:
                raise _Redraw
            notices.append((t, self._trigger_officer(incident, o) or officers[0]))
        # Releases: every required one, on time, redacted where redaction is required.
        releases: dict[str, tuple[float, bool]] = {}
        blocked = {to for o in _live(d, "release", "must_not") for to in o.to or ()}
        for o in _live(d, "release", "must"):
            for to in o.to or ():
                if to in blocked:
                    if isinstance(o.by, date):
                        raise _Redraw
                    continue
                when = self._release_time(r, incident, o, end)
                if when is None:
                    raise _Redraw
                prev = releases.get(to)
                if prev is None or when < prev[0]:
                    releases[to] = (when, self._needs_redaction(d, to) or r.random() < 0.4)
        # Retention: delete after the minimum and before the maximum.
        deletion = self._compliant_deletion(r, d, end)
        # Views nothing forbids, and biometric analysis for redaction only.
        views: list[tuple[float, str, str]] = []
        for _ in range(r.choice((0, 1, 1, 2))):
            t = end + r.randint(600, 20 * 86400)
            if deletion is not None and t >= deletion:
                continue
            v = self._free_view(r, d, start, t)
            if v is not None:
                views.append((t, *v))
        biometrics: list[tuple[float, str]] = []
        if releases and r.random() < 0.15:
            first = min(t for t, _ in releases.values())
            if first - 3600 > end:
                biometrics.append((first - r.randint(600, 3000), "redaction"))
        return _Plan(recordings, notices, views, biometrics, releases, deletion)

    def _time_in(self, r: random.Random, s: float, e: float, edges: list[Span]) -> float | None:
        for _ in range(12):
            if e - s < 40:
                return None
            t = float(int(s + 15 + r.random() * (e - s - 30)))
            if not _near_edge(t, edges, 10):
                return t
        return None

    def _local_day(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.zone).date()

    def _noon(self, day: date, r: random.Random) -> float:
        return datetime.combine(day, time(r.randint(9, 16), r.randrange(60)), self.zone).timestamp()

    def _release_time(self, r: random.Random, incident: Mapping[str, Any], o: Obligation, end: float) -> float | None:
        base = max(end, _ts(o.trigger.at) if o.trigger is not None else end) + 3600
        if isinstance(o.by, date):
            first = self._local_day(base) + timedelta(days=1)
            if first > o.by:
                return None
            return self._noon(first + timedelta(days=r.randint(0, (o.by - first).days)), r)
        return self._noon(self._local_day(base) + timedelta(days=r.randint(1, 20)), r)

    def _needs_redaction(self, d: Decision, to: str) -> bool:
        return any(o.redact and to in (o.to or ()) for o in _live(d, "release"))

    def _retention(self, d: Decision) -> tuple[list[Obligation], bool, date | None, list[Obligation], date | None]:
        retains = _live(d, "retain")
        open_min = any(not isinstance(o.retain_until, date) for o in retains)
        dated = [o.retain_until for o in retains if isinstance(o.retain_until, date)]
        deletes = [o for o in _live(d, "delete") if isinstance(o.delete_by, date)]
        maximum = min((o.delete_by for o in deletes if isinstance(o.delete_by, date)), default=None)
        return retains, open_min, max(dated, default=None), deletes, maximum

    def _compliant_deletion(self, r: random.Random, d: Decision, end: float) -> float | None:
        retains, open_min, minimum, _, maximum = self._retention(d)
        first = self._local_day(end) + timedelta(days=1)
        low = max(first, minimum + timedelta(days=1)) if minimum is not None else first
        if maximum is not None:
            if open_min:
                raise _Redraw
            if (maximum - low).days >= 1:
                return self._noon(low + timedelta(days=r.randint(0, (maximum - low).days - 1)), r)
            # the minimum's last day is the maximum (keep 90 days, delete within 90 days): delete that day
            day = max(first, minimum) if minimum is not None else first
            if day > maximum:
                raise _Redraw
            return self._noon(day, r)
        if open_min or (not retains and r.random() < 0.8) or r.random() < 0.5:
            return None
        return self._noon(low + timedelta(days=r.randint(0, 90)), r)

    def _denies(self, o: Obligation, role: str, purpose: str) -> bool:
        roles = o.role or ()
        return (role in roles or "agency" in roles) and (o.purpose is None or o.purpose == purpose)

    def _free_view(self, r: random.Random, d: Decision, start: float, t: float) -> tuple[str, str] | None:
        denials = [o for o in d.obligations if o.kind == "access" and o.effect.value == "must_not"]
        choices = list(_VIEWS)
        r.shuffle(choices)
        for role, purpose in choices:
            clash = False
            for o in denials:
                span = _window(o, start)
                if span is not None and self._denies(o, role, purpose) and span[0] - 60 <= t <= span[1] + 60:
                    clash = True
                    break
            if not clash:
                return role, purpose
        return None

    # -- planting -----------------------------------------------------------------------------------

    def _plant(self, r: random.Random, incident: dict[str, Any], d: Decision, officers: list[str], plan: _Plan,
               stats: Stats) -> None:
        start = _ts(incident["events"][0]["at"])
        planters: dict[str, Callable[[bool], bool]] = {
            "camera_off_in_mandatory_window": lambda go: self._camera_off(r, incident, d, start, plan, go),
            "no_notice": lambda go: self._no_notice(r, d, start, plan, go),
            "viewed_while_denied": lambda go: self._denied_view(r, d, start, plan, go, biometric=False),
            "biometric_while_prohibited": lambda go: self._denied_view(r, d, start, plan, go, biometric=True),
            "released_late": lambda go: self._release(r, d, plan, go, "released_late"),
            "not_released": lambda go: self._release(r, d, plan, go, "not_released"),
            "unredacted_release": lambda go: self._release(r, d, plan, go, "unredacted_release"),
            "deleted_before_minimum": lambda go: self._early_deletion(r, d, plan, go),
            "kept_past_maximum": lambda go: self._kept(r, d, start, plan, go),
        }
        done_release = done_retention = False
        for check in CHECKS:
            roll = r.random()
            if check in ("released_late", "not_released", "unredacted_release") and done_release:
                continue
            if check in ("deleted_before_minimum", "kept_past_maximum") and done_retention:
                continue
            if not planters[check](False):
                continue
            stats.eligible[check] += 1
            if roll < self.shares[check] and planters[check](True):
                stats.planted[check] += 1
                done_release |= check in ("released_late", "not_released", "unredacted_release")
                done_retention |= check in ("deleted_before_minimum", "kept_past_maximum")

    def _camera_off(self, r: random.Random, incident: Mapping[str, Any], d: Decision, start: float, plan: _Plan,
                    go: bool) -> bool:
        musts = _live(d, "record", "must")
        candidates = [(o, s, e) for o in musts for s, e in _effective(o, start) if e - s >= 360]
        if not candidates or not go:
            return bool(candidates)
        o, s, e = r.choice(candidates)
        gs = float(int(s + 60 + r.random() * (e - s - 300)))
        ge = min(e - 60, gs + r.randint(120, 600))
        who = self._trigger_officer(incident, o)
        saved = {k: list(v) for k, v in plan.recordings.items()}
        for k in plan.recordings:
            if who is None or k == who:
                plan.recordings[k] = _minus(plan.recordings[k], [(gs, ge)])
        found = []
        for x in musts:
            xw = self._trigger_officer(incident, x)
            cover = plan.recordings.get(xw, []) if xw is not None else [
                sp for v in plan.recordings.values() for sp in v]
            gap = _measure(_minus(_effective(x, start), cover))
            if 15 < gap <= 90:
                plan.recordings = saved
                return False
            if gap > 90:
                found.append(("camera_off_in_mandatory_window", x.rule, x.ruleset))
        plan.truth.extend(found)
        return bool(found)

    def _no_notice(self, r: random.Random, d: Decision, start: float, plan: _Plan, go: bool) -> bool:
        notify = [o for o in _live(d, "notify", "must") if _effective(o, start)]
        closed = [o for o in notify if not any(math.isinf(e) for _, e in _effective(o, start))]
        targets = [o for o in closed if not o.suspended]
        if not targets or not go:
            return bool(targets)
        target = r.choice(targets)
        tw = _effective(target, start)
        kept = [(t, who) for t, who in plan.notices if not _inside(t, tw)]
        # notices removed from the target window: every obligation left without one is broken
        plan.notices = kept
        for o in closed:
            if not any(_inside(t, _effective(o, start)) for t, _ in kept):
                plan.truth.append(("no_notice", o.rule, o.ruleset))
        return True

    def _denied_view(self, r: random.Random, d: Decision, start: float, plan: _Plan, go: bool,
                     biometric: bool) -> bool:
        denials = [o for o in _live(d, "access", "must_not") if not o.suspended]
        if biometric:
            denials = [o for o in denials if o.purpose == "biometric_identification"]
        else:
            denials = [o for o in denials if o.role]
        usable = []
        for o in denials:
            parts = _effective(o, start)
            if not parts:
                continue
            s, e = parts[0]
            s = max(s, start + 600)
            e = min(e, s + 3 * 86400)
            if e - s >= 600:
                usable.append((o, s, e))
        if plan.deletion is not None:
            usable = [u for u in usable if u[1] + 600 < plan.deletion]
        if not usable or not go:
            return bool(usable)
        o, s, e = r.choice(usable)
        e = min(e, plan.deletion - 60) if plan.deletion is not None else e
        t = float(int(s + 120 + r.random() * (e - s - 240)))
        live = [x for x in _live(d, "access", "must_not") if not x.suspended]
        edges = [p for x in d.obligations if x.kind == "access" for p in _effective(x, start)]
        if _near_edge(t, edges, 60):
            return False
        if biometric:
            purpose = r.choice(("identification", "other"))
            plan.biometrics.append((t, purpose))
            for x in live:
                if x.purpose == "biometric_identification" and _inside(t, _effective(x, start)):
                    plan.truth.append(("biometric_while_prohibited", x.rule, x.ruleset))
            return True
        role = (o.role or ["agency"])[0]
        purpose = o.purpose or r.choice(("report_writing", "investigation", "supervision", "statement"))
        for x in live:  # a prohibition for the whole agency: does it cover this role? not settled, so avoid
            if "agency" in (x.role or ()) and role not in (x.role or ()) and (
                    x.purpose is None or x.purpose == purpose) and _inside(t, _effective(x, start)):
                return False
        plan.views.append((t, role, purpose))
        for x in live:
            if role in (x.role or ()) and (x.purpose is None or x.purpose == purpose) and _inside(
                    t, _effective(x, start)):
                plan.truth.append(("viewed_while_denied", x.rule, x.ruleset))
        return True

    def _release_groups(self, d: Decision, redaction: bool) -> list[list[Obligation]]:
        """Required releases grouped by their recipients, when no other release rule makes the answer
        depend on a reading: the required releases touching those recipients all name exactly them,
        and (for redaction) no permission to release touches them either."""
        live = _live(d, "release")
        groups: list[list[Obligation]] = []
        for o in live:
            if o.effect.value != "must":
                continue
            rec = set(o.to or ())
            touching = [x for x in live if rec & set(x.to or ()) and (redaction or x.effect.value == "must")]
            if any(set(x.to or ()) != rec or x.effect.value != "must" for x in touching):
                continue
            if touching not in groups:
                groups.append(touching)
        return groups

    def _release(self, r: random.Random, d: Decision, plan: _Plan, go: bool, check: str) -> bool:
        groups = self._release_groups(d, check == "unredacted_release")
        if check == "unredacted_release":
            groups = [g for g in groups if any(o.redact for o in g)
                      and all(to in plan.releases for o in g for to in o.to or ())]
        else:
            groups = [g for g in groups if all(isinstance(o.by, date) for o in g)
                      and not any(dl.available for o in g for dl in o.delays or ())]
        if check == "not_released" and plan.deletion is not None:
            limit = self._local_day(plan.deletion) - timedelta(days=35)
            groups = [g for g in groups if all(isinstance(o.by, date) and o.by < limit for o in g)]
        if not groups or not go:
            return bool(groups)
        g = r.choice(groups)
        recipients = sorted({to for o in g for to in o.to or ()})
        if check == "unredacted_release":
            for to in recipients:
                plan.releases[to] = (plan.releases[to][0], False)
            plan.truth.extend((check, o.rule, o.ruleset) for o in g if o.redact)
            return True
        latest = max(o.by for o in g if isinstance(o.by, date))
        day = latest + timedelta(days=r.randint(3, 30))
        when = self._noon(day, r)
        if plan.deletion is not None and when >= plan.deletion:
            return False
        if check == "released_late":
            for to in recipients:
                plan.releases[to] = (when, self._needs_redaction(d, to))
        else:
            view = self._free_view(r, d, 0.0, when)
            if view is None:
                return False
            for to in recipients:
                plan.releases.pop(to, None)
            plan.views.append((when, *view))  # an action after the deadline: the incident's time has passed it
        plan.truth.extend((check, o.rule, o.ruleset) for o in g)
        return True

    def _early_deletion(self, r: random.Random, d: Decision, plan: _Plan, go: bool) -> bool:
        retains, _, _, _, _ = self._retention(d)
        if not retains:
            return False
        actions = [t for t, *_ in plan.views] + [t for t, _ in plan.notices] + [t for t, _ in plan.biometrics] + [
            t for t, _ in plan.releases.values()] + [e for v in plan.recordings.values() for _, e in v]
        first = self._local_day(max(actions, default=0.0) + 3600) + timedelta(days=1) if actions else None
        dated = [o.retain_until for o in retains if isinstance(o.retain_until, date)]
        if first is None:
            return False
        last = min(dated) - timedelta(days=3) if dated else first + timedelta(days=30)
        if last < first:
            return False
        if not go:
            return True
        plan.deletion = self._noon(first + timedelta(days=r.randint(0, (last - first).days)), r)
        plan.truth.extend(("deleted_before_minimum", o.rule, o.ruleset) for o in retains)
        return True

    def _kept(self, r: random.Random, d: Decision, start: float, plan: _Plan, go: bool) -> bool:
        _, _, _, deletes, maximum = self._retention(d)
        if maximum is None or plan.deletion is None:
            return False
        if not go:
            return True
        latest = max(o.delete_by for o in deletes if isinstance(o.delete_by, date))
        t = self._noon(latest + timedelta(days=r.randint(3, 40)), r)
        v = self._free_view(r, d, start, t)
        if v is None:
            return False
        plan.deletion = None
        plan.views.append((t, *v))
        plan.truth.extend(("kept_past_maximum", o.rule, o.ruleset) for o in deletes)
        return True

    # -- actions --------------------------------------------------------------------------------------

    def _actions(self, plan: _Plan) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []

        def add(t: float, etype: str, **attrs: Any) -> None:
            out.append({"type": etype, "at": _iso(datetime.fromtimestamp(int(t), UTC), self.zone), **attrs})

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


def _later(etype: str) -> bool:
    return any(w in etype for w in _LATER)


def _iso(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).replace(microsecond=0).isoformat()


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def _next_month(d: date) -> date:
    return _add_months(date(d.year, d.month, 1), 1)


# --- writing ---------------------------------------------------------------------------------------

def csv_columns(vocab: Vocabulary) -> list[str]:
    """The CSV header: required columns, every attribute of the vocabulary, facts, groups."""
    attrs = sorted({a for name in vocab.events for a in vocab.attributes_of(name)} - {"type", "at"})
    return ["incident_id", "timezone", "type", "at", *attrs, *(f"fact.{f}" for f in sorted(vocab.facts)),
            "group.district", "group.unit"]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def csv_rows(incident: Mapping[str, Any], columns: Sequence[str]) -> list[list[str]]:
    """The CSV rows of one incident (one per event)."""
    rows = []
    for ev in incident["events"]:
        row = []
        for c in columns:
            if c == "incident_id":
                row.append(incident["id"])
            elif c == "timezone":
                row.append(incident["timezone"])
            elif c.startswith("fact."):
                row.append(_cell(incident.get("facts", {}).get(c[5:])))
            elif c.startswith("group."):
                row.append(_cell(incident.get("groups", {}).get(c[6:])))
            else:
                row.append(_cell(ev.get(c)))
        rows.append(row)
    return rows


def _load_generator(paths: tuple[str, ...], policy: str, seed: int, shares: dict[str, float], start: date,
                    months: int) -> Generator:
    """A worker's generator where it cannot be inherited (spawn): the rulesets loaded again."""
    return Generator(Library.load(*paths), policy, seed, shares, start, months)


def _make_chunk(gen: Generator, span: tuple[int, int]) -> list[tuple[dict[str, Any], list[dict[str, str]], Stats]]:
    return [gen.make(n) for n in range(*span)]


def iter_incidents(gen: Generator, count: int, pool: Executor[Generator], chunk: int = 500,
                   ) -> Iterator[tuple[dict[str, Any], list[dict[str, str]], Stats]]:
    """Incidents 0..count-1 in order, made by the pool's workers (the same results for any number)."""
    spans = ((i, min(count, i + chunk)) for i in range(0, count, chunk))
    for batch in pool.map(_make_chunk, spans):
        yield from batch


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or (both existing) one file
    through a hard or symbolic link."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def generate(library: Library, policy: str, out: Path | str, *, incidents: int, seed: int = 0,
             shares: Mapping[str, float] | float = 0.1, fmt: Format | None = None, truth: Path | str | None = None,
             start: date | None = None, months: int = 12, jobs: int = 1,
             rulesets: Sequence[Path | str] = ("rulesets",),
             progress: Callable[[int], None] | None = None) -> Stats:
    """Write `incidents` incidents to `out` (JSONL or CSV, from `fmt` or the file suffix) and, if asked,
    the truth file (JSONL); both appear whole or not at all (engine.io.output.open_atomic), also on
    Ctrl-C. Memory stays bounded: incidents are written as they are made. `rulesets` are the folders
    worker processes load where they cannot inherit the library (jobs > 1, not on Linux)."""
    out = Path(out)
    fmt = fmt or ("csv" if out.suffix.lower() == ".csv" else "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise GenerateError(f"unknown format `{quoted(str(fmt))}`: use jsonl or csv")
    if truth is not None and _same_file(out, Path(truth)):
        raise GenerateError(f"the truth file {quoted(str(truth), 200)} is the export {quoted(str(out), 200)}: "
                            "give the truth file another name (the export would be overwritten)")
    gen = Generator(library, policy, seed, shares, start, months)
    stats = Stats()
    columns = csv_columns(gen.vocab)
    loader = functools.partial(_load_generator, tuple(str(p) for p in rulesets), gen.ref, gen.seed, gen.shares,
                               gen.start, gen.months)
    # Few incidents are made faster here than by starting processes.
    workers = jobs if incidents >= 1000 else 1
    with Executor(gen, workers, loader) as pool, open_atomic(out) as fh, \
            (open_atomic(truth) if truth is not None else contextlib.nullcontext()) as tfh:
        table = csv.writer(fh, lineterminator="\n") if fmt == "csv" else None
        if table is not None:
            table.writerow(columns)
        done = 0
        for incident, lines, st in iter_incidents(gen, incidents, pool):
            if table is not None:
                table.writerows(csv_rows(incident, columns))
            else:
                fh.write(json.dumps(incident, ensure_ascii=False, separators=(",", ":")) + "\n")
            if tfh is not None:
                for line in lines:
                    tfh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            stats.add(st)
            done += 1
            if progress is not None and done % 100 == 0:
                progress(100)
        if progress is not None and done % 100:
            progress(done % 100)
    return stats


def parse_shares(text: str) -> dict[str, float]:
    """`0.1` (every check) or `0.1,no_notice=0.3,kept_past_maximum=0` (a default, then per check)."""
    shares: dict[str, float] = dict.fromkeys(CHECKS, 0.0)
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        try:
            share = float(value if eq else name)
        except ValueError:
            raise GenerateError(f"`{part}` is not a share (a number from 0 to 1)") from None
        if not 0 <= share <= 1:
            raise GenerateError(f"`{part}`: a share is from 0 to 1")
        if not eq:
            shares = dict.fromkeys(CHECKS, share)
        elif name.strip() not in CHECKS:
            raise GenerateError(f"unknown check `{name.strip()}`: use {', '.join(CHECKS)}")
        else:
            shares[name.strip()] = share
    return shares


def to_text(stats: Stats) -> str:
    buf = io.StringIO()
    buf.write(f"{stats.incidents} incidents, {stats.events} events, {stats.truth} planted violation(s)\n")
    for k in CHECKS:
        buf.write(f"  {k}: planted in {stats.planted[k]} of {stats.eligible[k]} incidents that allowed it\n")
    return buf.getvalue()
