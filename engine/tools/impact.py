"""The impact of an amendment: decide every incident under two ruleset versions and say what changes.

    from engine.tools.impact import Side, impact
    report = impact(Side.of(["rulesets"], "illinois-50-ilcs-706-10-20@2016.1.0"),
                    Side.of(["rulesets"], "illinois-50-ilcs-706-10-20@2021.1.0"),
                    Path("incidents.jsonl"))
    print(render_json(report))      # as text or Markdown: engine.cli.text.impact

Both versions are pinned: each incident is decided under A and under B exactly as `bwc decide
--policy ID@VERSION` would (no selection by date, no amendment layers), as of the same time. The
two decisions are compared obligation by obligation, matched by (layer, rule, trigger event), and
summary by summary. Every difference gets a label (`changes`); the report counts, for each label,
the incidents whose decision shows it, and keeps their ids.

The input is read by the one incident reader (engine.io.export.read_export: JSON Lines, `.json`,
CSV, Parquet, `-`), streamed in chunks, so memory stays bounded by the chunk size and the ids kept.
With more than one worker, chunks are decided in worker processes (engine.executor) and merged in
input order, so the report is the same whatever the number of workers. Each difference says which
rules it concerns and what moved (`Difference`). An incident only one version can read is not a
change: it is counted under `refused` (A only / B only) with the reasons. A line that is not an
incident, an incident both versions refuse, or any other failure of one record is reported with its
line number, and the rest goes on.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from engine.api import Library, Policy, resolve_as_of
from engine.core.decision import Conflict, DateOrPending, Decision, Moment, Obligation, Pending, Window
from engine.core.incident import IncidentError
from engine.core.program import compile_ruleset
from engine.executor import Executor, chunked, default_workers
from engine.io.export import ExportError, Record, RowError, read_export
from policy.duration import CalendarOverflow
from policy.model import Effective, Ruleset
from policy.values import quoted
from policy.vocabulary import Vocabulary

CHUNK = 400
"""Incidents per chunk handed to a worker."""

WORDING = "wording"
"""The suffix of labels that change no obligation (summary, cite or confidence reworded)."""

MAX_ERRORS = 1000
"""Bad lines whose message the report keeps (all are counted)."""

EXAMPLES = 3
"""Incidents per kind of change whose details (what moved, and for which rule) the report shows."""


# --- the two sides ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """One side of the comparison: `ID@VERSION` (or `ID`, the newest) in the repository, or a ruleset file.

    With `dates` False (the default of `bwc impact`), the version and the rulesets it extends are
    judged as though in force on every incident's date: the question is what the rules change, and
    two versions are rarely in force on the same day. With `dates` True each keeps its `effective`
    range, as `bwc decide --policy ID@VERSION` does, and an incident outside it is decided under
    nothing (`in_force: false`).
    """

    rulesets: tuple[str, ...]
    ref: str
    dates: bool = False

    @classmethod
    def of(cls, rulesets: Iterable[str | Path], ref: str, *, dates: bool = False) -> Side:
        return cls(tuple(str(r) for r in rulesets), ref, dates)

    def policy(self, library: Library) -> Policy:
        return policy_of(library, library.repository.resolve(self.ref), dates=self.dates)


ALWAYS = Effective.model_validate({"from": date(1, 1, 1)})


def policy_of(library: Library, ruleset: Ruleset, *, dates: bool = True) -> Policy:
    """The compiled policy of `ruleset` with its base layers, even for a file outside the repository
    (whose id and version may equal a repository version's with different content). With `dates`
    False, every layer's `effective` range is widened to every day."""
    repo = library.repository
    try:
        same: Ruleset | None = repo.get(ruleset.ruleset, ruleset.version)
    except LookupError:
        same = None
    if dates and same is not None and repo.digest(same) == repo.digest(ruleset):
        return library.policy(same)
    base = repo.base_of(ruleset)
    if not dates:
        ruleset = ruleset.model_copy(update={"effective": ALWAYS})
    return Policy(compile_ruleset(ruleset), library.backend,
                  base=policy_of(library, base, dates=dates) if base is not None else None)


# --- comparing two decisions -----------------------------------------------------------------------

def _day_order(d: DateOrPending | None) -> tuple[int, date | None] | None:
    """Dates in order, `indefinite` after every date; None for a pending date (not comparable)."""
    if isinstance(d, date):
        return (0, d)
    if d == "indefinite":
        return (1, None)
    return None


def _day_key(d: DateOrPending | None) -> Any:
    if isinstance(d, Pending):
        return ("pending", d.pending, d.then)
    return d


def compare_days(a: DateOrPending | None, b: DateOrPending | None,
                 later: str = "later", earlier: str = "earlier") -> str | None:
    """How a date moved from A to B: `later`, `earlier`, `added`, `removed`, `changed`; None if equal."""
    if _day_key(a) == _day_key(b):
        return None
    if a is None:
        return "added"
    if b is None:
        return "removed"
    oa, ob = _day_order(a), _day_order(b)
    if oa is None or ob is None or oa == ob:
        return "changed"
    if oa[0] != ob[0]:
        return later if ob[0] > oa[0] else earlier
    assert oa[1] is not None and ob[1] is not None
    return later if ob[1] > oa[1] else earlier


def _moment_key(m: Moment | None) -> Any:
    return None if m is None else (m.event, m.at, m.pending)


def _window_key(w: Window | None) -> Any:
    return None if w is None else (_moment_key(w.from_), _moment_key(w.until))


def _suspended_key(o: Obligation) -> Any:
    return tuple((_moment_key(s.from_), _moment_key(s.until), s.rule) for s in o.suspended or ())


def _delays_key(o: Obligation) -> Any:
    return tuple((_day_key(d.until), d.available, tuple(d.requires), d.reassess_every) for d in o.delays or ())


def _obligations(decision: Decision) -> dict[tuple[str, str, int | None, int], Obligation]:
    """Obligations keyed by (layer, rule, trigger event, occurrence): the selected ruleset's layer is
    `""`, so that two versions (or two rulesets) match rule by rule."""
    selected = f"{decision.ruleset.id}@{decision.ruleset.version}"
    out: dict[tuple[str, str, int | None, int], Obligation] = {}
    for o in decision.obligations:
        layer = "" if o.ruleset == selected else o.ruleset.partition("@")[0]
        trigger = o.trigger.index if o.trigger is not None else None
        n = 0
        while (layer, o.rule, trigger, n) in out:
            n += 1
        out[(layer, o.rule, trigger, n)] = o
    return out


@dataclass(frozen=True)
class Difference:
    """One difference between the decisions under A and B: its kind (`label`, what the report counts),
    the rules concerned, and what moved, in plain words (`detail`)."""

    label: str
    rules: tuple[str, ...]
    detail: str


def _day_text(d: DateOrPending | None) -> str:
    if d is None:
        return "none"
    if isinstance(d, Pending):
        return f"when `{d.pending}` happens" if d.then in ("", "P0D") else f"{d.then} after `{d.pending}`"
    return str(d)


def _moment_text(m: Moment | None, side: str) -> str:
    if m is None:
        return f"open {side}"
    name = f"`{m.event}`" if m.event else "the incident"
    return f"{name} ({'not yet' if m.pending else m.at})"


def _window_text(w: Window | None) -> str:
    if w is None:
        return "no window"
    return f"from {_moment_text(w.from_, 'start')} until {_moment_text(w.until, 'end')}"


def _subject_text(o: Obligation) -> str:
    parts = [f"role {', '.join(o.role)}" if o.role else "", f"purpose {o.purpose}" if o.purpose else "",
             f"to {', '.join(o.to)}" if o.to else ""]
    return "; ".join(p for p in parts if p) or "anyone"


def _rule_name(layer: str, o: Obligation) -> str:
    return o.rule if not layer else f"{o.rule} (of {layer})"


def obligation_differences(a: Obligation, b: Obligation, name: str | None = None) -> list[Difference]:
    """What changed in one obligation (same rule, same trigger) from A to B."""
    kind = b.kind
    rule = name or b.rule
    rules = (b.rule,)
    out: list[Difference] = []

    def add(label: str, detail: str) -> None:
        out.append(Difference(label, rules, detail))

    if a.kind != b.kind:
        return [Difference(f"{a.kind} → {b.kind}: kind changed", rules, f"rule {rule}: {a.kind} → {b.kind}")]
    if a.effect != b.effect:
        add(f"{kind}: effect changed", f"rule {rule}: {a.effect.value} → {b.effect.value}")
    if _window_key(a.window) != _window_key(b.window):
        add(f"{kind}: window changed", f"window of rule {rule}: {_window_text(a.window)} → {_window_text(b.window)}")
    moved = compare_days(a.retain_until, b.retain_until)
    if moved:
        add(f"{kind}: retain until {moved}", f"retention of rule {rule}: at least until "
            f"{_day_text(a.retain_until)} → {_day_text(b.retain_until)}")
    if bool(a.legal_hold) != bool(b.legal_hold):
        add(f"{kind}: legal hold changed", f"legal hold of rule {rule}: {'yes' if a.legal_hold else 'no'} → "
            f"{'yes' if b.legal_hold else 'no'}")
    moved = compare_days(a.delete_by, b.delete_by)
    if moved:
        add(f"{kind}: delete by {moved}", f"deletion of rule {rule}: by {_day_text(a.delete_by)} → "
            f"{_day_text(b.delete_by)}")
    moved = compare_days(a.by, b.by)
    if moved:
        add(f"{kind}: deadline {moved}", f"deadline of rule {rule}: by {_day_text(a.by)} → {_day_text(b.by)}")
    if (a.role, a.purpose, a.to) != (b.role, b.purpose, b.to):
        add(f"{kind}: subject changed", f"rule {rule}: {_subject_text(a)} → {_subject_text(b)}")
    if (_delays_key(a), a.redact, a.unedited) != (_delays_key(b), b.redact, b.unedited):
        what = [w for w, changed in (("permitted delays", _delays_key(a) != _delays_key(b)),
                                     ("redaction", a.redact != b.redact), ("unedited copy", a.unedited != b.unedited))
                if changed]
        add(f"{kind}: terms changed", f"rule {rule}: {' and '.join(what)} changed")
    if a.overridden_by != b.overridden_by:
        if a.overridden_by is None:
            add(f"{kind}: now overridden", f"rule {rule}: now set aside by {b.overridden_by}")
        elif b.overridden_by is None:
            add(f"{kind}: no longer overridden", f"rule {rule}: no longer set aside by {a.overridden_by}")
        else:
            add(f"{kind}: overridden by another rule", f"rule {rule}: set aside by {a.overridden_by} → "
                f"{b.overridden_by}")
    if _suspended_key(a) != _suspended_key(b):
        def susp(o: Obligation) -> str:
            return ", ".join(sorted({s.rule for s in o.suspended or ()})) or "none"

        add(f"{kind}: suspension changed", f"suspension of rule {rule}: by {susp(a)} → {susp(b)}")
    if (a.summary, a.cite, a.confidence) != (b.summary, b.cite, b.confidence):
        what = [w for w, changed in (("summary", a.summary != b.summary), ("cite", a.cite != b.cite),
                                     ("confidence", a.confidence != b.confidence)) if changed]
        add(f"{kind}: {WORDING}", f"rule {rule}: {' and '.join(what)} reworded")
    return out


def _conflicts(decision: Decision) -> dict[tuple[str, tuple[str, ...]], Conflict]:
    return {(c.kind, tuple(sorted(c.rules))): c for c in decision.conflicts}


def differences(a: Decision, b: Decision) -> list[Difference]:
    """Every difference between the decision under A and under B, each with the rules it concerns
    and what moved."""
    found: list[Difference] = []
    if a.in_force != b.in_force:
        yes_no = {True: "in force", False: "not in force"}
        found.append(Difference("in force changed", (), f"the ruleset: {yes_no[a.in_force]} → {yes_no[b.in_force]} "
                                                         "on the incident's date"))
    oa, ob = _obligations(a), _obligations(b)
    for key, o in ob.items():
        if key not in oa:
            found.append(Difference(f"obligation added: {o.kind}", (o.rule,),
                                    f"rule {_rule_name(key[0], o)}: applies under B only ({o.effect.value} {o.kind})"))
    for key, o in oa.items():
        if key not in ob:
            found.append(Difference(f"obligation removed: {o.kind}", (o.rule,),
                                    f"rule {_rule_name(key[0], o)}: applies under A only ({o.effect.value} {o.kind})"))
        else:
            found.extend(obligation_differences(o, ob[key], _rule_name(key[0], o)))
    ra, rb = a.summary.retention, b.summary.retention
    moved = compare_days(ra.minimum, rb.minimum)
    if moved:
        found.append(Difference(f"retention minimum {moved}", tuple(sorted({*ra.minimum_rules, *rb.minimum_rules})),
                                f"keep at least until {_day_text(ra.minimum)} → {_day_text(rb.minimum)}"))
    if sorted(map(_day_key, ra.pending)) != sorted(map(_day_key, rb.pending)):
        found.append(Difference("retention pending changed", (), "retention awaiting "
                                + (", ".join(_day_text(p) for p in ra.pending) or "nothing") + " → "
                                + (", ".join(_day_text(p) for p in rb.pending) or "nothing")))
    moved = compare_days(ra.maximum, rb.maximum)
    if moved:
        found.append(Difference(f"retention maximum {moved}", tuple(sorted({*ra.maximum_rules, *rb.maximum_rules})),
                                f"delete by {_day_text(ra.maximum)} → {_day_text(rb.maximum)}"))
    if ra.legal_hold != rb.legal_hold:
        found.append(Difference("legal hold " + ("placed" if rb.legal_hold else "lifted"), (),
                                "legal hold " + ("placed" if rb.legal_hold else "lifted")))
    for to in sorted(set(a.summary.release) | set(b.summary.release)):
        da, db = a.summary.release.get(to), b.summary.release.get(to)
        moved = compare_days(da.by if da else None, db.by if db else None)
        if moved:
            rules = tuple(sorted({*(da.rules if da else ()), *(db.rules if db else ())}))
            found.append(Difference(f"release deadline {moved}", rules, f"release to {to}: by "
                                    f"{_day_text(da.by if da else None)} → {_day_text(db.by if db else None)}"))
    ca, cb = _conflicts(a), _conflicts(b)
    for ck in sorted(set(cb) - set(ca)):
        found.append(Difference("conflict added", ck[1], f"{ck[0]} conflict between {' and '.join(ck[1])}: "
                                                         "under B only"))
    for ck in sorted(set(ca) - set(cb)):
        found.append(Difference("conflict removed", ck[1], f"{ck[0]} conflict between {' and '.join(ck[1])}: "
                                                           "under A only"))
    for ck in sorted(set(ca) & set(cb)):
        x, y = ca[ck], cb[ck]
        if (x.resolution, x.winner) != (y.resolution, y.winner):
            key_rules, key_kind = ck[1], ck[0]
            found.append(Difference("conflict resolution changed", key_rules,
                                    f"{key_kind} conflict between {' and '.join(key_rules)}: {x.resolution} "
                                    f"({x.winner or 'no winner'}) → {y.resolution} ({y.winner or 'no winner'})"))
    return found


def substantive(labels: list[str]) -> bool:
    """Whether the labels change what the decision requires (not only its wording)."""
    return any(not label.endswith(WORDING) for label in labels)


# --- the report ------------------------------------------------------------------------------------

@dataclass
class BadLine:
    """A line (or row) that gave no comparison: unreadable, refused by both versions, or an internal error."""

    line: int
    message: str
    incident: str | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "message": self.message}
        if self.incident is not None:
            out["incident"] = self.incident
        if self.column is not None:
            out["column"] = self.column
        return out


SIDES = ("A only", "B only")


@dataclass
class ImpactTally:
    """Counts for part of the input (a chunk) or all of it; parts merge in input order."""

    incidents: int = 0
    changed: int = 0
    by_kind: dict[str, list[str]] = field(default_factory=dict)
    rules: dict[str, Counter[str]] = field(default_factory=dict)  # label -> rule -> incidents
    examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # label -> (incident, what moved)
    refused: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # "A only"/"B only" -> reason -> ids
    refused_incidents: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    bad: list[BadLine] = field(default_factory=list)

    def add(self, incident_id: str, found: list[Difference]) -> None:
        """An incident decided under both versions, with the differences between its two decisions."""
        self.incidents += 1
        if substantive([d.label for d in found]):
            self.changed += 1
        by_label: dict[str, list[Difference]] = {}
        for d in found:
            by_label.setdefault(d.label, []).append(d)
        for label, ds in by_label.items():
            self.by_kind.setdefault(label, []).append(incident_id)
            self.rules.setdefault(label, Counter()).update({r for d in ds for r in d.rules})
            examples = self.examples.setdefault(label, [])
            if len(examples) < EXAMPLES:
                examples.append((incident_id, "; ".join(dict.fromkeys(d.detail for d in ds))))

    def refuse(self, side: str, incident_id: str, reasons: list[str]) -> None:
        """An incident one version could read and decide and the other could not: not a change."""
        self.refused_incidents[side] += 1
        by_reason = self.refused.setdefault(side, {})
        for reason in dict.fromkeys(reasons):
            by_reason.setdefault(reason, []).append(incident_id)

    def fail(self, line: int, message: str, incident: str | None = None, column: int | None = None) -> None:
        self.errors += 1
        if len(self.bad) < MAX_ERRORS:
            self.bad.append(BadLine(line, message, incident, column))

    def merge(self, other: ImpactTally) -> None:
        self.incidents += other.incidents
        self.changed += other.changed
        for label, ids in other.by_kind.items():
            self.by_kind.setdefault(label, []).extend(ids)
        for label, rules in other.rules.items():
            self.rules.setdefault(label, Counter()).update(rules)
        for label, examples in other.examples.items():
            mine = self.examples.setdefault(label, [])
            mine.extend(examples[:max(0, EXAMPLES - len(mine))])
        for side, reasons in other.refused.items():
            mine_r = self.refused.setdefault(side, {})
            for reason, ids in reasons.items():
                mine_r.setdefault(reason, []).extend(ids)
        self.refused_incidents.update(other.refused_incidents)
        self.errors += other.errors
        self.bad.extend(other.bad[:max(0, MAX_ERRORS - len(self.bad))])

    @property
    def empty(self) -> bool:
        return not (self.incidents or self.errors or self.refused_incidents)


@dataclass
class ImpactReport:
    a: str
    b: str
    as_of: str | None
    tally: ImpactTally
    seconds: float = 0.0
    workers: int = 1

    @property
    def throughput(self) -> float:
        return self.tally.incidents / self.seconds if self.seconds > 0 else 0.0

    def kinds(self) -> list[tuple[str, list[str]]]:
        """(label, incident ids) by number of incidents, most first, then by label."""
        return sorted(self.tally.by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def rules_of(self, label: str) -> list[tuple[str, int]]:
        """The rules a kind of change concerns, with the incidents each, most first."""
        return sorted(self.tally.rules.get(label, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))

    def refusals(self, side: str) -> list[tuple[str, list[str]]]:
        """(reason, incident ids) for the incidents refused under one version only, most first."""
        return sorted(self.tally.refused.get(side, {}).items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def to_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "a": self.a, "b": self.b, "as_of": self.as_of,
            "incidents": t.incidents, "changed": t.changed, "unchanged": t.incidents - t.changed,
            "changes": {label: {"incidents": len(ids), "ids": ids,
                                "rules": dict(self.rules_of(label)),
                                "examples": [{"incident": i, "detail": d} for i, d in t.examples.get(label, [])]}
                        for label, ids in self.kinds()},
            "refused": {side: {"incidents": t.refused_incidents[side],
                               "reasons": {reason: {"incidents": len(ids), "ids": ids}
                                           for reason, ids in self.refusals(side)}}
                        for side in SIDES},
            "errors": t.errors, "bad_lines": [b.to_dict() for b in t.bad],
        }


# --- deciding ----------------------------------------------------------------------------------------

def _reasons(exc: Exception) -> list[str]:
    """Why one version could not decide an incident, in plain words (one per problem)."""
    if isinstance(exc, IncidentError):
        return [p.message for p in exc.problems] or ["an incident needs at least one event"]
    if isinstance(exc, CalendarOverflow | OverflowError):
        return [f"its dates run past the calendar (years 1 to 9999): {exc}"]
    return [f"internal error: {type(exc).__name__}: {exc}"]


class Comparer:
    """Decides incidents under A and B and tallies the differences."""

    def __init__(self, a: Policy, b: Policy, as_of: datetime | None = None) -> None:
        self.a, self.b, self.as_of = a, b, as_of

    def one(self, data: Any, tally: ImpactTally, line: int) -> None:
        iid = data.get("id") if isinstance(data, dict) else None
        label = iid if isinstance(iid, str) and iid else f"line {line}"
        decided: dict[str, Decision] = {}
        failed: dict[str, tuple[Exception, list[str]]] = {}
        for name, policy in (("A", self.a), ("B", self.b)):
            try:
                decided[name] = policy.decide(data, self.as_of)
            except Exception as exc:  # any failure of one version on one incident is reported, and the run goes on
                failed[name] = (exc, _reasons(exc))
        if len(decided) == 2:
            tally.add(label, differences(decided["A"], decided["B"]))
        elif len(decided) == 1:
            side = "B" if "B" in failed else "A"
            tally.refuse(f"{side} only", label, failed[side][1])
        else:
            ea, eb = failed["A"][0], failed["B"][0]
            ta, tb = _failure_text(ea), _failure_text(eb)
            tally.fail(line, ta if ta == tb else f"under A: {ta} / under B: {tb}",
                       iid if isinstance(iid, str) else None)

    def records(self, items: Iterable[Record | RowError]) -> ImpactTally:
        tally = ImpactTally()
        for item in items:
            if isinstance(item, RowError):
                tally.fail(item.line, item.message, item.incident, getattr(item, "column", None))
                continue
            try:
                self.one(item.incident, tally, item.line)
            except Exception as exc:  # pragma: no cover - one() isolates each version; this is the last guard
                tally.fail(item.line, f"internal error: {type(exc).__name__}: {exc}")
        return tally


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, IncidentError):
        return "; ".join(str(p) for p in exc.problems)
    return "; ".join(_reasons(exc))




def _load_comparer(a: Side, b: Side, as_of: datetime | None) -> Comparer:
    """A worker's comparer where it cannot be inherited (spawn): the rulesets loaded again."""
    lib_a = Library.load(*a.rulesets)
    lib_b = lib_a if b.rulesets == a.rulesets else Library.load(*b.rulesets)
    return Comparer(a.policy(lib_a), b.policy(lib_b), as_of)


def _work(comparer: Comparer, items: list[Record | RowError]) -> ImpactTally:
    return comparer.records(items)


def run(comparer: Comparer, a: Side, b: Side, items: Iterable[Record | RowError], *, workers: int = 0,
        progress: Callable[[int], None] | None = None) -> ImpactTally:
    """Compare every incident read. `progress(n)` is told of each chunk's size. With `workers` > 1 (0:
    one per CPU), chunks are decided by worker processes (engine.executor) and merged in input order."""
    workers = workers or default_workers()
    total = ImpactTally()
    with Executor(comparer, workers, functools.partial(_load_comparer, a, b, comparer.as_of)) as pool:
        for part in pool.map(_work, chunked(items, CHUNK)):
            total.merge(part)
            if progress:
                progress(part.incidents + part.errors + sum(part.refused_incidents.values()))
    return total


def _vocabulary(a: Policy, b: Policy) -> Vocabulary:
    """What the export's columns may name: what either version declares (each incident is then
    checked by each version against its own)."""
    vb, va = b.program.vocabulary, a.program.vocabulary
    return vb.extended({k: v for k, v in va.facts.items() if k not in vb.facts},
                       {k: v for k, v in va.events.items() if k not in vb.events}, {})


def impact(a: Side, b: Side, incidents: Path | str, *, as_of: datetime | str | None = None, workers: int = 0,
           library: Library | None = None, progress: Callable[[int], None] | None = None, fmt: str | None = None,
           allow_empty: bool = False) -> ImpactReport:
    """Decide every incident of an export (engine.io.export.read_export: JSON Lines, `.json`, CSV,
    Parquet, or `-` for standard input) under A and under B, and report the changes. `progress(n)`
    is told of each chunk's size as it is done.

    Raises ExportError when the input cannot be read at all, or holds no incident (unless
    `allow_empty`); IncidentError for an `as_of` text that is not a time.
    """
    if library is None:
        library = Library.load(*a.rulesets)
    lib_b = library if b.rulesets == a.rulesets else Library.load(*b.rulesets)
    when = resolve_as_of(as_of)
    pa, pb = a.policy(library), b.policy(lib_b)
    comparer = Comparer(pa, pb, when)
    workers = workers or default_workers()
    start = time.perf_counter()
    records = read_export(incidents, _vocabulary(pa, pb), fmt)
    tally = run(comparer, a, b, records, workers=workers, progress=progress)
    if tally.empty and not allow_empty:
        raise ExportError(f"{quoted(str(incidents), 200)}: the input holds no incident (it is empty); nothing was "
                          "compared (pass --allow-empty to accept an empty input)")
    return ImpactReport(a.ref, b.ref, when.isoformat() if when is not None else None, tally,
                        time.perf_counter() - start, workers)


# --- the JSON form ----------------------------------------------------------------------------------

def render_json(report: ImpactReport) -> str:
    """The report as JSON (its text and Markdown forms are presentation: engine.cli.text.impact)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
