"""Drawing an incident's scenario: its facts and a timeline of the events a ruleset family talks
about (dispatch, arrival, a contact, a few scene events, the end of the encounter, the report, later
events such as records requests), spread over months from a start, with grouping columns."""

from __future__ import annotations

import calendar
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.api import Policy
from engine.tools.generate import facts
from engine.tools.generate.clock import add_months, iso
from policy import obligations
from policy.in_force import judging, judging_version
from policy.model import Ruleset
from policy.vocabulary import Vocabulary

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


def _later(etype: str) -> bool:
    return any(w in etype for w in _LATER)


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


class _Words:
    """The events a drawer draws from and the vocabulary of their attributes and facts: the whole family's,
    or those kept to what one version declares (`kept_to`). Drawer.__init__ chooses them and says what
    each holds."""

    __slots__ = ("closers", "fact_names", "has_contact", "has_left_scene", "later", "openers", "release_anchors",
                 "scene", "vocab")

    def __init__(self, vocab: Vocabulary, scene: list[str], later: list[str], closers: dict[str, set[str]],
                 openers: dict[str, set[str]], release_anchors: list[str], has_left_scene: bool,
                 has_contact: bool) -> None:
        self.vocab = vocab
        self.fact_names = sorted(vocab.facts)
        self.scene = scene
        self.later = later
        self.closers = closers
        self.openers = openers
        self.release_anchors = release_anchors
        self.has_left_scene = has_left_scene
        self.has_contact = has_contact

    def kept_to(self, vocab: Vocabulary) -> _Words:
        """These words less the events `vocab` does not declare, its facts and attribute specs in place."""
        known = vocab.events

        def kept(pairs: dict[str, set[str]]) -> dict[str, set[str]]:
            return {k: {e for e in v if e in known} for k, v in pairs.items() if k in known}

        return _Words(vocab, [e for e in self.scene if e in known], [e for e in self.later if e in known],
                      kept(self.closers), kept(self.openers), [e for e in self.release_anchors if e in known],
                      self.has_left_scene and "left_scene" in known, self.has_contact and "contact_initiated" in known)


class Drawer:
    """Draws the scenarios of one ruleset family's incidents: which events they have, and when.
    (Unrelated to engine.tools.scenarios, the scenario tests a drafter writes.)"""

    def __init__(self, family: Sequence[Policy], vocab: Vocabulary, start: date, months: int, timezone: str,
                 pinned: Policy | None = None) -> None:
        self.pinned = pinned
        self.start = start
        self.months = months
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        refs: set[str] = set()
        for p in family:
            refs |= _referenced(p.program.ruleset, vocab)
        # the events that close (or open) a window a scene event opens: drawn with it
        closers: dict[str, set[str]] = {}
        openers: dict[str, set[str]] = {}
        for p in family:
            for r in p.program.ruleset.rules:
                if r.on is None:
                    continue
                ob = r.record or r.notify
                closer = ob.until if ob is not None else (r.access.before if r.access is not None else None)
                opener = ob.from_ if ob is not None else (r.access.after if r.access is not None else None)
                if closer and closer not in _BASE and closer != "encounter_ended":
                    closers.setdefault(r.on, set()).add(closer)
                if opener and opener != r.on and opener != "incident":
                    openers.setdefault(r.on, set()).add(opener)
        # the events release deadlines count from (a records request, the agency learning of it)
        release_anchors = sorted({n for p in family for r in p.program.ruleset.rules if r.release is not None
                                  for n in obligations.anchor_names(r.release.after)
                                  if n != r.on and n not in obligations.RESERVED_ANCHORS})
        anchor_names = {n for s in (*closers.values(), *openers.values()) for n in s}
        core_scene = {e for e in _COMMON if e in vocab.events and not _later(e)}
        pool = sorted((refs | core_scene) - set(_BASE) - anchor_names - {"left_scene"})
        scene = [e for e in pool if not _later(e) and e != "contact_initiated"]
        # rare events (shootings, deaths) stay rare, unless they are most of what the ruleset is about
        self.rare = 0.25 if sum(1 for e in refs if e in scene and not any(w in e for w in _RARE)) >= 4 else 1.5
        self.whole = _Words(vocab, scene, [e for e in pool if _later(e)], closers, openers, release_anchors,
                            "left_scene" in refs, "contact_initiated" in refs)
        self._words: dict[int, _Words] = {}
        self._rulesets = [p.program.ruleset for p in family]
        self._judges = judging(self._rulesets)
        self._by_ruleset = {id(p.program.ruleset): p for p in family}

    def words_on(self, local: datetime) -> tuple[Policy, _Words]:
        """The version that would judge an incident starting at `local` (the pinned one, if any), and what
        of the family's events and facts it declares: an incident before a version's first day is drawn
        from the words of the version in force then, which may not know every one of the newest's."""
        version = self.pinned or self._by_ruleset[id(judging_version(
            self._rulesets, lambda r: local.astimezone(ZoneInfo(r.timezone)).date(), self._judges))]
        words = self._words.get(id(version))
        if words is None:
            words = self._words[id(version)] = self.whole.kept_to(version.program.vocabulary)
        return version, words

    def draw(self, r: random.Random, incident_id: str, minimal: bool
             ) -> tuple[dict[str, Any], list[str], float, Policy]:
        """An incident (with `groups`), its officers, the time its encounter ends, and the version it was
        drawn for (`words_on`). A `minimal` one has only the events every incident has."""
        month = r.randrange(self.months)
        first = add_months(self.start, month)
        days = calendar.monthrange(first.year, first.month)[1]  # not via the next month: December 9999 has none
        hour = r.choice((1, 3, 8, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23))
        local = datetime.combine(first + timedelta(days=r.randrange(days)), time(hour, r.randrange(60)),
                                 self.zone)
        t = local.astimezone(UTC)
        version, w = self.words_on(local)
        district = r.randrange(len(DISTRICTS))
        officers = [f"B{district + 1}{r.randrange(1000):03d}"]
        if r.random() < 0.35:
            officers.append(f"B{district + 1}{r.randrange(1000):03d}")
        events: list[dict[str, Any]] = []

        def add(etype: str, at: datetime, officer: str | None = None) -> None:
            ev: dict[str, Any] = {"type": etype, "at": at}
            if officer is not None:
                ev["officer"] = officer
            ev.update(facts.attributes(r, etype, w.vocab))
            events.append(ev)

        lead = officers[0]
        dispatched = minimal or not w.has_contact or r.random() < 0.6
        if dispatched:
            add("dispatched", t, lead)
            t += timedelta(minutes=r.randint(3, 15))
            add("arrived", t, lead)
        if w.has_contact and not minimal and (not dispatched or r.random() < 0.4):
            t += timedelta(minutes=r.randint(1, 5))
            add("contact_initiated", t, lead)
        if not minimal and w.scene:
            k = r.choice((1, 1, 1, 2, 2, 3))
            weights = [self.rare if any(w in e for w in _RARE) else 3.0 if e in _COMMON else 1.0 for e in w.scene]
            for etype in sorted(set(r.choices(w.scene, weights, k=k)), key=w.scene.index):
                t += timedelta(minutes=r.randint(2, 9), seconds=r.randint(0, 59))
                who = r.choice(officers)
                add(etype, t, who)
                for opener in sorted(w.openers.get(etype, ())):
                    if r.random() < 0.8:
                        t += timedelta(minutes=r.randint(1, 4))
                        add(opener, t, who)
                for closer in sorted(w.closers.get(etype, ())):
                    if not _later(closer):
                        t += timedelta(minutes=r.randint(2, 12))
                        add(closer, t, who)
        t += timedelta(minutes=r.randint(5, 35), seconds=r.randint(0, 59))
        add("encounter_ended", t, lead)
        end = t
        if w.has_left_scene:
            add("left_scene", t + timedelta(minutes=r.randint(2, 8)), lead)
        add("report_completed", t + timedelta(hours=r.randint(1, 6), minutes=r.randrange(60)), lead)
        for opened in [e for e in events if e["type"] in w.closers]:
            for closer in sorted(w.closers[opened["type"]]):
                if _later(closer) and not any(e["type"] == closer for e in events):
                    add(closer, end + timedelta(hours=r.randint(2, 30)), lead)
        for etype in w.release_anchors:
            if not minimal and r.random() < 0.85:
                add(etype, end + timedelta(hours=r.randint(1, 72)), None)
        if not minimal and w.later:
            k = r.choice((0, 1, 1, 2))
            for etype in sorted(set(r.choices(w.later, k=k)) - set(w.release_anchors)):
                fast = "aware" in etype
                delay = timedelta(hours=r.randint(1, 48)) if fast else timedelta(days=r.randint(1, 40),
                                                                                  hours=r.randint(0, 23))
                add(etype, end + delay, None if "request" in etype or fast else lead)
        events.sort(key=lambda e: e["at"])
        for ev in events:
            ev["at"] = iso(ev["at"], self.zone)
        groups = {"district": DISTRICTS[district], "unit": UNITS[r.randrange(len(UNITS))]}
        incident = {"id": incident_id, "timezone": self.timezone, "facts": facts.facts(r, w.vocab, w.fact_names),
                    "groups": groups, "events": events}
        return incident, officers, end.timestamp(), version
