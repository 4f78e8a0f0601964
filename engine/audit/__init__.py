"""Compliance audit: compare what was done (action events) with what a ruleset required.

`audit_incident` decides one incident and checks every obligation in force against the incident's
actions (recording_started/stopped, notice_given, footage_viewed, footage_released,
footage_deleted, biometric_analysis_run), giving one `Finding` per obligation and check, plus a
`not_applicable` finding for each checkable rule that did not apply. `run_audit` streams a whole
export (engine.io.export), spreads the incidents over processes in chunks, tallies the findings and
writes the report folder atomically. The checks and their meaning are in docs/audit.md.

As of: an explicit time (the same for every incident), or, by default, each incident's own last
event — an incident is then judged on what its export says had happened by then.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
import re
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal

from engine.api import Library, resolve_as_of
from engine.audit.report import write_reports
from engine.core.decision import Decision, Moment, Obligation, Pending
from engine.core.incident import Incident, IncidentError
from engine.executor import Executor, chunked
from engine.executor import default_workers as default_workers
from engine.io.export import (
    Export,
    ExportError,
    JsonParser,
    Record,
    RowError,
    TableParser,
    Unit,
    open_export,
    parse_unit,
)
from engine.io.output import check_report_folder, replace_report_folder
from policy.base import Effect
from policy.values import quoted, quoted_path

Severity = Literal["violation", "at_risk", "compliant", "not_applicable"]
SEVERITIES: tuple[Severity, ...] = ("violation", "at_risk", "compliant", "not_applicable")
CHECKS = ("camera_off_in_mandatory_window", "recorded_while_prohibited", "no_notice", "deleted_before_minimum",
          "kept_past_maximum", "viewed_while_denied", "released_late", "not_released", "unredacted_release",
          "biometric_while_prohibited")
GRACE_SECONDS = 30.0  # recording may start or stop this late without a finding
AT_RISK_DAYS = 7  # a deadline this close to the as-of time is at risk
BIOMETRIC = "biometric_identification"
# Roles that `agency` ("any of its officers, staff or vendors") covers when matching a viewer's role.
AGENCY_ROLES = frozenset({"agency", "involved_officer", "witness_officer", "supervisor", "internal_affairs",
                          "investigator", "training_officer", "records_staff"})
_INF = math.inf


@dataclass(frozen=True, slots=True)
class Finding:
    incident_id: str
    ruleset: str
    rule: str
    cite: str
    kind: str
    check: str
    severity: Severity
    expected: str
    actual: str
    missed_by: str | None
    month: str
    groups: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "ruleset": self.ruleset, "rule": self.rule, "cite": self.cite,
                "kind": self.kind, "check": self.check, "severity": self.severity, "expected": self.expected,
                "actual": self.actual, "missed_by": self.missed_by, "month": self.month,
                "groups": dict(self.groups)}


@dataclass
class IncidentAudit:
    """The findings of one incident, and what its recording duties required and got (seconds)."""

    findings: list[Finding]
    month: str
    required_seconds: float
    recorded_seconds: float
    rulesets: list[str]


def checks_for(kind: str, effect: Effect, purpose: str | None, redact: bool) -> tuple[str, ...]:
    """The checks an obligation of this shape gets (none for permissions)."""
    if kind == "record":
        return {Effect.MUST: ("camera_off_in_mandatory_window",),
                Effect.MUST_NOT: ("recorded_while_prohibited",)}.get(effect, ())
    if kind == "notify":
        return ("no_notice",) if effect is Effect.MUST else ()
    if kind == "retain":
        return ("deleted_before_minimum",)
    if kind == "delete":
        return ("kept_past_maximum",)
    if kind == "access" and effect is Effect.MUST_NOT:
        return ("viewed_while_denied", "biometric_while_prohibited") if purpose == BIOMETRIC else \
            ("viewed_while_denied",)
    if kind == "release" and effect is Effect.MUST:
        return ("not_released", "unredacted_release") if redact else ("not_released",)
    return ()


# --- formatting ---------------------------------------------------------------------------------------

def duration_text(seconds: float) -> str:
    """`12 min 30 s`, `1 h 5 min`, `45 s`."""
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{h} h" if h else "", f"{m} min" if m else "", f"{sec} s" if sec or not (h or m) else ""]
    return " ".join(p for p in parts if p)


def days_text(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _pending_text(p: Pending) -> str:
    return f"{p.then} after `{p.pending}` (not yet happened)" if p.then not in ("P0D", "") else \
        f"until `{p.pending}` (not yet happened)"


# --- the actions of one incident ----------------------------------------------------------------------

class _Actions:
    """The incident's actions up to the as-of time, in the forms the checks need."""

    def __init__(self, incident: Incident, as_of: datetime) -> None:
        self.as_of = as_of
        self.as_of_ts = as_of.timestamp()
        self.start_ts = incident.events[0].at.timestamp() if incident.events else self.as_of_ts
        self.recordings: dict[str | None, list[tuple[float, float]]] = {}
        self.notices: list[tuple[float, str | None]] = []
        self.views: list[tuple[float, str | None, str | None, datetime]] = []
        self.releases: list[tuple[datetime, str | None, Any]] = []
        self.deleted: datetime | None = None
        self.biometric: list[tuple[float, str | None, datetime]] = []
        open_at: dict[str | None, float] = {}
        for e in incident.events:
            if e.at > as_of:
                break
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

    def recorded(self, officer: str | None) -> list[tuple[float, float]]:
        """Recording intervals of `officer` (and of cameras with no officer), or of anyone."""
        if officer is None:
            spans = [iv for ivs in self.recordings.values() for iv in ivs]
        else:
            spans = [*self.recordings.get(officer, ()), *self.recordings.get(None, ())]
        return _union(spans)


def _union(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _subtract(spans: list[tuple[float, float]], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = spans
    for c0, c1 in _union(cuts):
        nxt: list[tuple[float, float]] = []
        for a, b in out:
            if c1 <= a or b <= c0:
                nxt.append((a, b))
                continue
            if a < c0:
                nxt.append((a, c0))
            if c1 < b:
                nxt.append((c1, b))
        out = nxt
    return out


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            total += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _length(spans: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in spans)


def _inside(t: float, spans: list[tuple[float, float]]) -> bool:
    return any(a <= t <= b for a, b in spans)


def _ts(m: Moment | None) -> float | None:
    return datetime.fromisoformat(m.at).timestamp() if m is not None and m.at else None


# --- auditing one incident ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _RuleInfo:
    id: str
    cite: str
    kind: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class _RefInfo:
    zone: Any
    rules: tuple[_RuleInfo, ...]


class Auditor:
    """Audits incidents under one ruleset (an id, judged by the version in force; or a pinned id@version)."""

    def __init__(self, library: Library, ruleset_id: str) -> None:
        self.library = library
        self.ruleset_id = ruleset_id
        # What an export's columns may name: any version that may judge one of its incidents. Each
        # incident is checked against the version that judges it (`Library.read`), as `bwc decide` does.
        self.vocabulary = library.vocabulary(ruleset_id)
        self._refs: dict[str, _RefInfo] = {}

    def _ref(self, ref: str) -> _RefInfo:
        info = self._refs.get(ref)
        if info is None:
            policy = self.library.select(ref)
            rules = []
            for r in policy.program.rules:
                ob = r.rule.obligation
                effect = getattr(ob, "effect", Effect.MUST)
                rules.append(_RuleInfo(r.id, r.rule.cite, r.rule.kind, checks_for(
                    r.rule.kind, effect, getattr(ob, "purpose", None), bool(getattr(ob, "redact", None)))))
            info = self._refs[ref] = _RefInfo(policy.zone, tuple(rules))
        return info

    def audit(self, incident: Mapping[str, Any] | Incident, groups: Mapping[str, str] | None = None,
              as_of: datetime | str | None = None) -> IncidentAudit:
        """Raises IncidentError when the incident does not fit the vocabulary of the version that judges it."""
        inc, policy = self.library.read(self.ruleset_id, incident)
        when = resolve_as_of(as_of, inc)
        decision = self.library.judge(self.ruleset_id, inc, policy, when, explain=False)
        return _IncidentCheck(self, inc, decision, when, dict(groups or {})).run()


class _IncidentCheck:
    def __init__(self, auditor: Auditor, inc: Incident, decision: Decision, as_of: datetime,
                 groups: dict[str, str]) -> None:
        self.auditor = auditor
        self.inc = inc
        self.decision = decision
        self.as_of = as_of
        self.groups = groups
        self.selected = f"{decision.ruleset.id}@{decision.ruleset.version}"
        self.zone = auditor._ref(self.selected).zone
        self.month = inc.events[0].at.astimezone(self.zone).strftime("%Y-%m")
        self.actions = _Actions(inc, as_of)
        self.findings: list[Finding] = []
        self.required = 0.0
        self.recorded = 0.0

    def run(self) -> IncidentAudit:
        applied: set[str] = set()
        for o in self.decision.obligations:
            applied.add(o.rule)
            checks = checks_for(o.kind, o.effect, o.purpose, bool(o.redact))
            for check in checks:
                if o.overridden_by is not None:
                    self.add(o, check, "not_applicable", "", f"set aside by `{o.overridden_by}`")
                    continue
                getattr(self, check)(o)
        refs = list(dict.fromkeys([self.selected, *(f"{lay.id}@{lay.version}" for lay in self.decision.layers)]))
        amended: dict[str, set[str]] = {}
        for lay in self.decision.layers:  # a later version's amendments, or a version's conduct rules
            if lay.role in ("amendment", "conduct") and f"{lay.id}@{lay.version}" != self.selected:
                amended.setdefault(f"{lay.id}@{lay.version}", set()).update(lay.rules or ())
        for ref in refs:
            for r in self.auditor._ref(ref).rules:
                if r.checks and r.id not in applied and (ref not in amended or r.id in amended[ref]):
                    applied.add(r.id)
                    self.findings.extend(Finding(self.inc.id, ref, r.id, r.cite, r.kind, check, "not_applicable",
                                                 "", "the rule did not apply", None, self.month, self.groups)
                                         for check in r.checks)
        return IncidentAudit(self.findings, self.month, self.required, self.recorded, refs)

    def add(self, o: Obligation, check: str, severity: Severity, expected: str, actual: str,
            missed_by: str | None = None) -> None:
        self.findings.append(Finding(self.inc.id, o.ruleset, o.rule, o.cite, o.kind, check, severity, expected,
                                     actual, missed_by, self.month, self.groups))

    # windows -------------------------------------------------------------------------------------------

    def window(self, o: Obligation, default_start: float) -> tuple[list[tuple[float, float]], str] | None:
        """The in-force parts of the obligation's window (suspended parts removed) and a description;
        None when the window has not opened yet."""
        w = o.window
        start: float = default_start
        if w is not None and w.from_ is not None:
            if w.from_.pending:
                return None
            start = _ts(w.from_) or default_start
        end = self.actions.as_of_ts
        open_end = True
        if w is not None and w.until is not None and not w.until.pending and w.until.at:
            end, open_end = _ts(w.until) or end, False
        cuts: list[tuple[float, float]] = []
        for s in o.suspended or ():
            if s.from_ is not None and s.from_.pending:
                continue
            s0 = _ts(s.from_) if s.from_ is not None else None
            s1 = _ts(s.until) if s.until is not None and not s.until.pending else None
            cuts.append((start if s0 is None else s0, self.actions.as_of_ts if s1 is None else s1))
        spans = _subtract([(start, end)] if end >= start else [], cuts)  # an instant: a view at it counts
        begin = w.from_.at if w is not None and w.from_ is not None and w.from_.at else (
            "the start of the incident" if default_start > -_INF else "any time")
        if open_end:
            waiting = w.until.event if w is not None and w.until is not None and w.until.event else None
            finish = f"the as-of time {self.as_of.isoformat()}" + (f" (`{waiting}` not yet happened)"
                                                                    if waiting else "")
        else:
            assert w is not None and w.until is not None
            finish = str(w.until.at)
        text = f"from {begin} until {finish}"
        if cuts:
            text += f", except where {', '.join(sorted({f'`{s.rule}`' for s in o.suspended or ()}))} prevails"
        return spans, text

    def _officer(self, o: Obligation) -> str | None:
        if o.trigger is None:
            return None
        officer = next((e.attributes.get("officer") for e in self.inc.events if e.index == o.trigger.index), None)
        return officer if isinstance(officer, str) else None

    # checks --------------------------------------------------------------------------------------------

    def _recording_in_window(self, o: Obligation, check: str,
                             wanted: str) -> tuple[list[tuple[float, float]], str, str, float] | None:
        """The window's spans, its description, whose camera, and the seconds recorded in it;
        None (after a compliant finding) when the window has not opened."""
        got = self.window(o, self.actions.start_ts)
        if got is None:
            self.add(o, check, "compliant", f"{wanted} once the window opens", "the window has not opened")
            return None
        spans, text = got
        officer = self._officer(o)
        who = f" (officer {officer})" if officer else ""
        return spans, text, who, _overlap(spans, self.actions.recorded(officer))

    def camera_off_in_mandatory_window(self, o: Obligation) -> None:
        check = "camera_off_in_mandatory_window"
        got = self._recording_in_window(o, check, "camera on")
        if got is None:
            return
        spans, text, who, covered = got
        required = _length(spans)
        self.required += required
        self.recorded += covered
        expected = f"camera recording{who} {text}"
        missing = required - covered
        if missing > GRACE_SECONDS:
            actual = "not recorded" if covered == 0 else \
                f"recorded {duration_text(covered)} of {duration_text(required)}"
            self.add(o, check, "violation", expected, actual, duration_text(missing))
        else:
            self.add(o, check, "compliant", expected, f"recorded {duration_text(covered)} of "
                     f"{duration_text(required)}")

    def recorded_while_prohibited(self, o: Obligation) -> None:
        check = "recorded_while_prohibited"
        got = self._recording_in_window(o, check, "camera off")
        if got is None:
            return
        _, text, who, over = got
        expected = f"camera off{who} {text}"
        if over > GRACE_SECONDS:
            self.add(o, check, "violation", expected, f"recorded {duration_text(over)} in the window",
                     duration_text(over))
        else:
            self.add(o, check, "compliant", expected, "not recorded in the window")

    def no_notice(self, o: Obligation) -> None:
        check = "no_notice"
        got = self.window(o, self.actions.start_ts)
        if got is None:
            self.add(o, check, "compliant", "notice once the window opens", "the window has not opened")
            return
        _, text = got
        w = o.window
        start = _ts(w.from_) if w is not None and w.from_ is not None else None
        lo = self.actions.start_ts if start is None else start
        closed = w is not None and w.until is not None and not w.until.pending and w.until.at is not None
        hi = (_ts(w.until) or self.actions.as_of_ts) if closed and w is not None else self.actions.as_of_ts
        officer = self._officer(o)
        given = [t for t, who in self.actions.notices
                 if lo <= t <= hi and (officer is None or who is None or who == officer)]
        expected = f"notice that people are being recorded {text}"
        if given:
            self.add(o, check, "compliant", expected, "notice given")
        elif closed:
            self.add(o, check, "violation", expected, "no notice given in the window")
        else:
            self.add(o, check, "at_risk", expected, "no notice given yet (the window is still open)")

    def _deleted_day(self) -> date | None:
        d = self.actions.deleted
        return d.astimezone(self.zone).date() if d is not None else None

    def _as_of_day(self) -> date:
        return self.as_of.astimezone(self.zone).date()

    def deleted_before_minimum(self, o: Obligation) -> None:
        check = "deleted_before_minimum"
        keep = o.retain_until
        if isinstance(keep, Pending):
            expected = ("keep while the legal hold is in force" if o.legal_hold
                        else f"keep {_pending_text(keep)}")
        elif keep == "indefinite":
            expected = "keep indefinitely"
        else:
            expected = f"keep until {keep}"
        deleted = self._deleted_day()
        if deleted is None:
            self.add(o, check, "compliant", expected, "not deleted")
        elif isinstance(keep, Pending) or keep == "indefinite":
            self.add(o, check, "violation", expected, f"deleted on {deleted}")
        elif isinstance(keep, date) and deleted < keep:
            self.add(o, check, "violation", expected, f"deleted on {deleted}", days_text((keep - deleted).days))
        else:
            self.add(o, check, "compliant", expected, f"deleted on {deleted}")

    def kept_past_maximum(self, o: Obligation) -> None:
        check = "kept_past_maximum"
        by = o.delete_by
        if not isinstance(by, date):
            text = _pending_text(by) if isinstance(by, Pending) else str(by)
            self.add(o, check, "compliant", f"delete {text}", "the deadline has not started")
            return
        expected = f"delete by {by}"
        deleted = self._deleted_day()
        if deleted is not None:
            if deleted > by:
                self.add(o, check, "violation", expected, f"deleted on {deleted}", days_text((deleted - by).days))
            else:
                self.add(o, check, "compliant", expected, f"deleted on {deleted}")
            return
        today = self._as_of_day()
        if today > by:
            self.add(o, check, "violation", expected, f"not deleted as of {today}", days_text((today - by).days))
        elif (by - today).days <= AT_RISK_DAYS:
            self.add(o, check, "at_risk", expected, f"not deleted as of {today} ({days_text((by - today).days)} "
                     "left)")
        else:
            self.add(o, check, "compliant", expected, f"not deleted as of {today}")

    def _access_spans(self, o: Obligation) -> tuple[list[tuple[float, float]], str] | None:
        default = o.trigger and datetime.fromisoformat(o.trigger.at).timestamp()
        return self.window(o, default if isinstance(default, float) else -_INF)

    def viewed_while_denied(self, o: Obligation) -> None:
        check = "viewed_while_denied"
        roles = set(o.role or ())
        who = ", ".join(sorted(roles)) + (f" for {o.purpose}" if o.purpose else "")
        got = self._access_spans(o)
        if got is None:
            self.add(o, check, "compliant", f"no viewing by {who} once the window opens",
                     "the window has not opened")
            return
        spans, text = got
        expected = f"no viewing by {who} {text}"
        for t, role, purpose, at in self.actions.views:
            if role is None or not (role in roles or ("agency" in roles and role in AGENCY_ROLES)):
                continue
            if o.purpose is not None and purpose != o.purpose:
                continue
            if _inside(t, spans):
                self.add(o, check, "violation", expected, f"viewed by {role}" + (f" for {purpose}" if purpose else "")
                         + f" at {at.isoformat()}")
                return
        self.add(o, check, "compliant", expected, "not viewed in the window")

    def biometric_while_prohibited(self, o: Obligation) -> None:
        check = "biometric_while_prohibited"
        got = self._access_spans(o)
        if got is None:
            self.add(o, check, "compliant", "no biometric identification once the window opens",
                     "the window has not opened")
            return
        spans, text = got
        expected = f"no biometric identification {text}"
        for t, purpose, at in self.actions.biometric:
            if purpose != "redaction" and _inside(t, spans):
                self.add(o, check, "violation", expected,
                         f"biometric analysis for {purpose or 'an unstated purpose'} run at {at.isoformat()}")
                return
        self.add(o, check, "compliant", expected, "no biometric analysis other than redaction")

    def _released(self, o: Obligation) -> list[tuple[datetime, str | None, Any]]:
        to = set(o.to or ())
        return [r for r in self.actions.releases if r[1] in to]

    def not_released(self, o: Obligation) -> None:
        recipients = ", ".join(o.to or ())
        released = self._released(o)
        check = "released_late" if released else "not_released"
        first = released[0][0].astimezone(self.zone).date() if released else None
        by = o.by
        if o.promptly_after is not None:
            self._released_promptly(o, check, recipients, first)
            return
        if not isinstance(by, date):
            expected = f"release to {recipients}" + (f" {_pending_text(by)}" if isinstance(by, Pending) else
                                                     " (no deadline)")
            actual = f"released on {first}" if first else "not released yet; no deadline has started"
            self.add(o, check, "compliant", expected, actual)
            return
        deadline: date | None = by
        delayed = False
        for d in o.delays or ():
            if not d.available:
                continue
            delayed = True
            if not isinstance(d.until, date):  # indefinite, or counted from an event still awaited
                deadline = None
                break
            assert deadline is not None
            deadline = max(deadline, d.until)
        expected = f"release to {recipients} by {by}" + (
            "" if not delayed else " (a permitted delay applies: " + (f"until {deadline})" if deadline
                                                                        else "no fixed end)"))
        if first is not None:
            if deadline is not None and first > deadline:
                self.add(o, check, "violation", expected, f"released on {first}", days_text((first - deadline).days))
            else:
                self.add(o, check, "compliant", expected, f"released on {first}")
            return
        today = self._as_of_day()
        if deadline is None:
            self.add(o, check, "compliant", expected, f"not released as of {today}; delayed")
        elif today > deadline:
            self.add(o, check, "violation", expected, f"not released as of {today}",
                     days_text((today - deadline).days))
        elif (deadline - today).days <= AT_RISK_DAYS:
            self.add(o, check, "at_risk", expected, f"not released as of {today} "
                     f"({days_text((deadline - today).days)} left)")
        else:
            self.add(o, check, "compliant", expected, f"not released as of {today}")

    def _released_promptly(self, o: Obligation, check: str, recipients: str, first: date | None) -> None:
        """A release due `promptly`: the rule gives no number of days, so lateness is never a violation.
        Not released yet, past any permitted delay: at risk, with the days since it fell due."""
        start = o.promptly_after
        assert start is not None
        if start.pending or not start.at:
            expected = f"release to {recipients} promptly once `{start.event}` happens"
            actual = f"released on {first}" if first else "not released yet; `" + str(start.event) + \
                "` has not happened"
            self.add(o, check, "compliant", expected, actual)
            return
        due = datetime.fromisoformat(start.at).astimezone(self.zone).date()
        delay_end: date | None = None
        open_ended = False
        for d in o.delays or ():
            if d.available:
                if isinstance(d.until, date):
                    delay_end = d.until if delay_end is None else max(delay_end, d.until)
                else:
                    open_ended = True
        expected = f"release to {recipients} promptly after `{start.event}` ({due}; no number of days is set)"
        if open_ended:
            expected += " (a permitted delay applies: no fixed end)"
        elif delay_end is not None:
            expected += f" (a permitted delay applies: until {delay_end})"
        if first is not None:
            self.add(o, check, "compliant", expected, f"released on {first}, {days_text((first - due).days)} after "
                     f"`{start.event}`; promptness is not judged in days")
            return
        today = self._as_of_day()
        if open_ended or (delay_end is not None and today <= delay_end):
            self.add(o, check, "compliant", expected, f"not released as of {today}; delayed")
            return
        since = delay_end if delay_end is not None and delay_end > due else due
        self.add(o, check, "at_risk", expected, f"not released as of {today}, {days_text((today - since).days)} "
                 f"after it fell due on {since}")

    def unredacted_release(self, o: Obligation) -> None:
        check = "unredacted_release"
        expected = "release redacted: " + "; ".join(o.redact or ())
        released = self._released(o)
        bad = [r for r in released if r[2] is False]
        if bad:
            self.add(o, check, "violation", expected, f"released unredacted to {bad[0][1]} on "
                     f"{bad[0][0].astimezone(self.zone).date()}")
        else:
            self.add(o, check, "compliant", expected, "released redacted" if released else "not released")


_AUDITORS: weakref.WeakKeyDictionary[Library, dict[str, Auditor]] = weakref.WeakKeyDictionary()


def audit_incident(library: Library, ruleset_id: str, incident: Mapping[str, Any] | Incident,
                   groups: Mapping[str, str] | None = None, as_of: datetime | str | None = None) -> list[Finding]:
    """Every finding of one incident (raises IncidentError if it does not fit the vocabulary)."""
    auditors = _AUDITORS.setdefault(library, {})
    auditor = auditors.get(ruleset_id) or auditors.setdefault(ruleset_id, Auditor(library, ruleset_id))
    return auditor.audit(incident, groups, as_of).findings


# --- tallies --------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Counts that add up across chunks (in input order, so the result does not depend on workers)."""

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (dimension, key, severity)
    groups: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (column, value, severity)
    required: float = 0.0
    recorded: float = 0.0
    coverage: dict[str, list[float]] = field(default_factory=dict)  # month -> [required, recorded]
    rows: int = 0
    incidents: int = 0
    skipped_rows: int = 0
    skipped_incidents: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    rulesets: set[str] = field(default_factory=set)

    def merge(self, other: Tally, max_errors: int = 100) -> None:
        self.counts.update(other.counts)
        self.groups.update(other.groups)
        self.required += other.required
        self.recorded += other.recorded
        for month, (req, rec) in other.coverage.items():
            cur = self.coverage.setdefault(month, [0.0, 0.0])
            cur[0] += req
            cur[1] += rec
        self.rows += other.rows
        self.incidents += other.incidents
        self.skipped_rows += other.skipped_rows
        self.skipped_incidents += other.skipped_incidents
        self.reasons.update(other.reasons)
        self.errors.extend(other.errors[:max(0, max_errors - len(self.errors))])
        self.rulesets |= other.rulesets

    def error(self, err: RowError, whole: bool = True) -> None:
        self.rows += err.rows
        self.skipped_rows += err.rows
        self.skipped_incidents += 1 if (whole and err.incident is not None) or err.reason == "invalid JSON" else 0
        self.reasons[err.reason] += 1
        if len(self.errors) < 100:
            self.errors.append(err)

    def add(self, result: IncidentAudit) -> None:
        self.incidents += 1
        self.rulesets.update(result.rulesets)
        for f in result.findings:
            sev = f.severity
            self.counts[("severity", sev, sev)] += 1
            self.counts[("rule", f.rule, sev)] += 1
            self.counts[("check", f.check, sev)] += 1
            self.counts[("month", f.month, sev)] += 1
            for col, value in f.groups.items():
                self.groups[(col, value, sev)] += 1
        self.required += result.required_seconds
        self.recorded += result.recorded_seconds
        if result.required_seconds:
            cur = self.coverage.setdefault(result.month, [0.0, 0.0])
            cur[0] += result.required_seconds
            cur[1] += result.recorded_seconds


KEPT: frozenset[str] = frozenset({"violation", "at_risk"})  # findings listed one by one; the rest only counted


@dataclass
class ChunkResult:
    tally: Tally
    findings: list[tuple[list[Any], dict[str, Any]]]  # (sort key, finding) for violations and at-risk


def _audit_units(auditor: Auditor, parser: JsonParser | TableParser, units: Sequence[Unit | RowError],
                 as_of: datetime | None) -> ChunkResult:
    tally = Tally()
    kept: list[tuple[list[Any], dict[str, Any]]] = []
    for unit in units:
        if isinstance(unit, RowError):
            tally.error(unit, whole=False)
            continue
        rec: Record | RowError | None = None
        # One record must not stop an audit of millions: whatever goes wrong while parsing or judging
        # it (any exception class) becomes a row error with its line, and the audit goes on.
        try:
            rec = parse_unit(parser, unit)
            if isinstance(rec, RowError):
                tally.error(rec)
                continue
            result = auditor.audit(rec.incident, rec.groups, as_of)
        except Exception as exc:
            tally.error(record_error(unit, rec if isinstance(rec, Record) else None, exc))
            continue
        tally.rows += rec.rows
        tally.add(result)
        for n, f in enumerate(result.findings):
            if f.severity in KEPT:
                kept.append(([f.incident_id, f.rule, f.check, rec.line, n], f.to_dict()))
    return ChunkResult(tally, kept)


def _id_of(rec: Record) -> str | None:
    iid = rec.incident.get("id")
    return iid if isinstance(iid, str) else None


def record_error(unit: Unit, rec: Record | None, exc: Exception) -> RowError:
    """The row error of one record that could not be parsed or judged: an incident that does not fit
    the vocabulary, dates past the calendar (year 9999), or anything unexpected (an internal error)."""
    if rec is not None and isinstance(exc, IncidentError):
        return _incident_error(rec, exc)
    line = rec.line if rec is not None else unit.line
    rows = rec.rows if rec is not None else len(getattr(unit, "rows", ())) or 1
    iid = _id_of(rec) if rec is not None else getattr(unit, "incident", None)
    if isinstance(exc, OverflowError) or type(exc).__name__ == "CalendarOverflow":
        return RowError(line, iid, f"its dates run past the calendar (years 1 to 9999): {exc}", "out of range", rows)
    if isinstance(exc, IncidentError):
        return RowError(line, iid, "; ".join(p.message for p in exc.problems[:3]), "invalid incident", rows)
    return RowError(line, iid, f"internal error: {type(exc).__name__}: {exc}", "internal error", rows)


def _incident_error(rec: Record, exc: IncidentError) -> RowError:
    problems = exc.problems or []
    text = "; ".join(f"{p.field}: {p.message}" for p in problems[:3]) or "an incident needs at least one event"
    if len(problems) > 3:
        text += f" (and {len(problems) - 3} more)"
    line = rec.line
    match = re.match(r"events\[(\d+)\]", problems[0].field) if problems else None
    if match and int(match.group(1)) < len(rec.event_lines):
        line = rec.event_lines[int(match.group(1))]  # the row of the offending event
    return RowError(line, _id_of(rec), text, "invalid incident", rec.rows)


# --- worker processes ------------------------------------------------------------------------------------

_State = tuple[Auditor, JsonParser | TableParser, datetime | None]


def _load_state(rulesets: list[str], ruleset_id: str, backend: str, parser: JsonParser | TableParser,
                as_of: datetime | None) -> _State:
    """A worker's state where it cannot be inherited (spawn): the rulesets loaded again."""
    library = Library.load(*rulesets, backend=backend)  # type: ignore[arg-type]
    return (Auditor(library, ruleset_id), parser, as_of)


def _work(state: _State, units: list[Unit | RowError]) -> ChunkResult:
    auditor, parser, as_of = state
    return _audit_units(auditor, parser, units, as_of)


# --- sorting findings in bounded memory ------------------------------------------------------------------

class _Sorter:
    """Findings sorted by their key; runs beyond `limit` spill to temporary files and are merged."""

    def __init__(self, folder: Path, limit: int = 200_000) -> None:
        self.folder = folder
        self.limit = limit
        self.buffer: list[tuple[list[Any], dict[str, Any]]] = []
        self.runs: list[Path] = []
        self.count = 0

    def extend(self, items: list[tuple[list[Any], dict[str, Any]]]) -> None:
        self.buffer.extend(items)
        self.count += len(items)
        if len(self.buffer) >= self.limit:
            self._spill()

    def _spill(self) -> None:
        self.buffer.sort(key=lambda kv: kv[0])
        path = self.folder / f"run-{len(self.runs):05d}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for item in self.buffer:
                fh.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.runs.append(path)
        self.buffer = []

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.buffer.sort(key=lambda kv: kv[0])
        files: list[IO[str]] = [p.open(encoding="utf-8") for p in self.runs]
        try:
            streams: list[Iterator[tuple[list[Any], dict[str, Any]]]] = [
                (tuple(json.loads(line)) for line in fh) for fh in files]
            for _, finding in heapq.merge(*streams, iter(self.buffer), key=lambda kv: kv[0]):
                yield finding
        finally:
            for fh in files:
                fh.close()


# --- running an audit -----------------------------------------------------------------------------------

@dataclass
class AuditOutcome:
    summary: dict[str, Any]
    findings: int  # violations and at-risk findings listed
    out_dir: Path | None


def run_audit(rulesets: Sequence[Path | str], ruleset_id: str, export_path: Path | str, *,
              fmt: str | None = None, as_of: datetime | None = None, out_dir: Path | str | None = None,
              workers: int | None = None, chunk_size: int = 200, backend: str = "native",
              library: Library | None = None, writer: ReportWriter | None = None,
              progress: Callable[[int, int], None] | None = None, allow_empty: bool = False) -> AuditOutcome:
    """Audit every incident of an export; write the report folder (when `out_dir` is given) atomically.

    Raises OutputError (an `out_dir` that cannot take a report: checked before anything is read),
    ExportError (unusable export; an export with no incident at all, unless `allow_empty`),
    SelectionError (unknown ruleset), RulesetError. `as_of` None audits each incident as of its own
    last event. KeyboardInterrupt stops the workers and leaves no output behind.
    """
    if out_dir is not None:
        check_report_folder(out_dir)
    lib = library or Library.load(*rulesets, backend=backend)  # type: ignore[arg-type]
    auditor = Auditor(lib, ruleset_id)
    export = open_export(export_path, auditor.vocabulary, fmt)
    n_workers = max(1, workers if workers is not None else default_workers())
    tally = Tally()
    state: _State = (auditor, export.parser, as_of)
    loader = functools.partial(_load_state, [str(p) for p in rulesets], ruleset_id, backend, export.parser, as_of)
    with tempfile.TemporaryDirectory(prefix="bwc-audit-") as scratch, \
            Executor(state, n_workers, loader, window=3 * n_workers) as pool:
        sorter = _Sorter(Path(scratch))
        for result in pool.map(_work, chunked(export.units(), chunk_size)):
            tally.merge(result.tally)
            sorter.extend(result.findings)
            if progress is not None:
                progress(export.position, export.total)
        summary = build_summary(tally, export, as_of)
        if tally.incidents == 0 and tally.skipped_rows:
            raise ExportError(f"{quoted_path(export.path)}: no incident could be read ({tally.skipped_rows} row(s) "
                              f"skipped; first problem: line {tally.errors[0].line}: "
                              f"{quoted(tally.errors[0].message, 300)})")
        if tally.rows == 0 and not allow_empty:
            raise ExportError(f"{quoted_path(export.path)}: the export holds no incident (it is empty); "
                              "nothing was audited (pass --allow-empty to accept an empty export)")
        if out_dir is not None:
            write_report_folder(Path(out_dir), summary, sorter, writer)
        return AuditOutcome(summary, sorter.count, Path(out_dir) if out_dir is not None else None)


def _nested(counter: Counter[tuple[str, str, str]], dimension: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (dim, key, sev), n in sorted(counter.items()):
        if dim == dimension:
            out.setdefault(key, {})[sev] = n
    return out


def _percent(recorded: float, required: float) -> float | None:
    return round(100.0 * recorded / required, 2) if required > 0 else None


def build_summary(tally: Tally, export: Export, as_of: datetime | None) -> dict[str, Any]:
    by_group: dict[str, dict[str, dict[str, int]]] = {}
    for (col, value, sev), n in sorted(tally.groups.items()):
        by_group.setdefault(col, {}).setdefault(value, {})[sev] = n
    return {
        "as_of": as_of.isoformat() if as_of is not None else None,
        "rulesets": sorted(tally.rulesets),
        "input": {
            "format": export.format,
            "rows": tally.rows,
            "incidents": tally.incidents,
            "skipped_rows": tally.skipped_rows,
            "skipped_incidents": tally.skipped_incidents,
            "skipped_reasons": dict(sorted(tally.reasons.items())),
            "errors": [e.to_dict() for e in tally.errors[:100]],
        },
        "counts": {
            "by_severity": {sev: tally.counts.get(("severity", sev, sev), 0) for sev in SEVERITIES},
            "by_rule": _nested(tally.counts, "rule"),
            "by_check": _nested(tally.counts, "check"),
            "by_month": _nested(tally.counts, "month"),
            "by_group": by_group,
        },
        "recording_coverage": {
            "required_seconds": round(tally.required, 3),
            "recorded_seconds": round(tally.recorded, 3),
            "percent": _percent(tally.recorded, tally.required),
            "by_month": {m: _percent(rec, req) for m, (req, rec) in sorted(tally.coverage.items())},
        },
    }


# --- writing the report ---------------------------------------------------------------------------------

ReportWriter = Callable[[Path, dict[str, Any], Iterable[dict[str, Any]]], None]


def report_writer() -> ReportWriter:
    """The writer of the report folder's files (engine.audit.report.write_reports)."""
    return write_reports


def write_report_folder(out_dir: Path, summary: dict[str, Any], findings: Iterable[dict[str, Any]],
                        writer: ReportWriter | None = None) -> None:
    """Write the report into a fresh folder beside `out_dir`, then put it in place
    (engine.io.output.replace_report_folder): readers see the old complete report or the new complete
    one, never a partial one, and a folder that is not a previous report is never replaced."""
    write = writer or write_reports
    replace_report_folder(out_dir, lambda folder: write(folder, summary, findings))


def summary_text(summary: dict[str, Any], out_dir: Path | None = None) -> str:
    """The short summary `bwc audit` prints."""
    inp = summary["input"]
    sev = summary["counts"]["by_severity"]
    cov = summary["recording_coverage"]
    lines = [f"audited {inp['incidents']} incident(s) from {inp['rows']} {inp['format']} row(s) as of "
             + (summary["as_of"] or "each incident's last event"),
             "findings: " + ", ".join(f"{sev.get(s, 0)} {s.replace('_', ' ')}" for s in SEVERITIES)]
    if cov["percent"] is not None:
        lines.append(f"recording coverage: {cov['percent']}% of the time a camera had to be on")
    if inp["skipped_rows"]:
        reasons = ", ".join(f"{n} {r}" for r, n in inp["skipped_reasons"].items())
        lines.append(f"skipped: {inp['skipped_rows']} row(s), {inp['skipped_incidents']} incident(s) ({reasons})")
        for e in inp["errors"][:5]:  # ids and messages come from the data: shown as literal text
            lines.append(f"  line {e['line']}" + (f" ({quoted(e['incident'])})" if e["incident"] else "")
                         + f": {quoted(e['message'], 300)}")
        if len(inp["errors"]) > 5:
            lines.append("  ... (see summary.json)")
    if out_dir is not None:
        lines.append(f"report: {quoted_path(out_dir)}")
    return "\n".join(lines)


__all__ = ["AGENCY_ROLES", "CHECKS", "GRACE_SECONDS", "SEVERITIES", "AuditOutcome", "Auditor", "ExportError",
           "Finding", "IncidentAudit", "audit_incident", "build_summary", "checks_for",
           "record_error", "report_writer", "run_audit", "summary_text", "write_report_folder"]
