"""What changed between two rulesets, rule by rule, in plain words.

    d = diff(old, new)
    print(render_text(d))        # for a terminal
    print(render_markdown(d))    # for a pull request or a public comment period
    print(render_json(d))        # for programs

Rules are matched by id. Every difference in the canonical form of the two rulesets shows up in the
diff (`diff(a, b)` is empty exactly when `canonical_json(a) == canonical_json(b)`), each with its old
and new value (as in the canonical JSON) and one line in plain words saying what it means.

`history(repo, id)` lists the versions of one ruleset with a one-line summary of each change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from policy.canonical import canonical_data
from policy.describe import (
    anchor,
    describe_condition,
    describe_delay,
    describe_obligation,
    describe_rule,
    describe_trigger,
    join,
    name,
    recipients,
    subject,
)
from policy.duration import Duration
from policy.in_force import ENACTED
from policy.model import Rule, Ruleset
from policy.obligations import DelayAllowance, Earliest

if TYPE_CHECKING:
    from policy.repository import Repository

ARROW = "→"


@dataclass(frozen=True)
class Change:
    """One part of a header or rule that changed: old and new value (canonical JSON, None when
    absent) and what it means in plain words."""

    part: str
    old: Any
    new: Any
    effect: str


@dataclass(frozen=True)
class RuleEntry:
    """A rule that was added or removed."""

    id: str
    kind: str
    summary: str
    cite: str
    description: str
    effect: str


@dataclass(frozen=True)
class RuleChange:
    """A rule present in both rulesets (same id) whose content changed."""

    id: str
    summary: str
    changes: list[Change]


@dataclass(frozen=True)
class RulesetDiff:
    old: str
    new: str
    header: list[Change] = field(default_factory=list)
    added: list[RuleEntry] = field(default_factory=list)
    removed: list[RuleEntry] = field(default_factory=list)
    changed: list[RuleChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.header or self.added or self.removed or self.changed)

    def __bool__(self) -> bool:
        return not self.empty

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed),
                "header": len(self.header)}

    def summary(self) -> str:
        """`2 rules added, 1 removed, 3 changed; 4 header changes`, or `no changes`."""
        if self.empty:
            return "no changes"
        rules = [f"{n} {word}" for n, word in ((len(self.added), "added"), (len(self.removed), "removed"),
                                               (len(self.changed), "changed")) if n]
        out = []
        if rules:
            total = len(self.added) + len(self.removed) + len(self.changed)
            out.append(f"{_plural(total, 'rule')}: " + ", ".join(rules))
        if self.header:
            out.append(_plural(len(self.header), "header change"))
        return "; ".join(out)

    def effects(self) -> list[str]:
        """Every change as one line in plain words."""
        lines = [c.effect for c in self.header]
        lines += [e.effect for e in self.added]
        lines += [e.effect for e in self.removed]
        lines += [f"{c.id}: {ch.effect}" for c in self.changed for ch in c.changes]
        return lines

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = self.counts()
        data["summary"] = self.summary()
        return data


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- comparing ---------------------------------------------------------------------------------------

def diff(a: Ruleset, b: Ruleset) -> RulesetDiff:
    """The differences from `a` (old) to `b` (new)."""
    da, db = canonical_data(a), canonical_data(b)
    header = _header(da, db)
    rules_a = {r.id: r for r in a.rules}
    rules_b = {r.id: r for r in b.rules}
    added = [_entry(r, "new rule") for r in b.rules if r.id not in rules_a]
    removed = [_entry(r, "rule removed") for r in a.rules if r.id not in rules_b]
    changed = []
    for r in b.rules:
        old = rules_a.get(r.id)
        if old is not None:
            changes = _rule_changes(old, r)
            if changes:
                changed.append(RuleChange(r.id, r.summary, changes))
    common_a = [r.id for r in a.rules if r.id in rules_b]
    common_b = [r.id for r in b.rules if r.id in rules_a]
    if common_a != common_b:
        header.append(Change("rule order", common_a, common_b, "rules are listed in a different order"))
    if da != db and not (header or added or removed or changed):  # pragma: no cover - a safety net
        header.append(Change("other", da, db, "the rulesets differ"))
    return RulesetDiff(a.ref, b.ref, header, added, removed, changed)


def _entry(rule: Rule, verb: str) -> RuleEntry:
    text = describe_rule(rule)
    return RuleEntry(rule.id, rule.kind, rule.summary, rule.cite, text,
                     f"{verb}: {rule.summary.rstrip('.')} ({rule.id})")


def _range(effective: dict[str, Any]) -> str:
    until = effective.get("until")
    return f"{effective['from']} to {until}" if until else f"from {effective['from']} (no end)"


def _header(da: dict[str, Any], db: dict[str, Any]) -> list[Change]:
    out: list[Change] = []
    keys = [k for k in da.keys() | db.keys() if k not in ("rules", "sources", "declare")]
    order = ["ruleset", "version", "corrects", "status", "effective", "title", "drafted_by", "supersedes", "extends",
             "timezone", "vocabulary", "holidays", "notes"]
    for key in sorted(keys, key=lambda k: (order.index(k) if k in order else len(order), k)):
        old: Any = da.get(key)
        new: Any = db.get(key)
        if old == new:
            continue
        if key == "effective":
            effect = f"in force: {_range(old)} {ARROW} {_range(new)}"
        elif key == "supersedes":
            effect = (f"now supersedes {new}" if old is None else f"no longer supersedes {old}" if new is None
                      else f"supersedes: {old} {ARROW} {new}")
        elif key == "corrects":
            effect = (f"corrects {new}: a new reading of the same law, in force on the same dates, that takes "
                      f"{new}'s place (`@{new}` still pins the old reading)" if new is not None
                      else f"no longer corrects {old}")
        elif key == "extends":
            effect = ("now extends " + _extends(new) if old is None else "no longer extends " + _extends(old)
                      if new is None else f"extends: {_extends(old)} {ARROW} {_extends(new)}")
        elif key == "holidays":
            effect = _set_change("holidays", old or [], new or [])
        elif key == "notes":
            effect = "notes added" if old is None else "notes removed" if new is None else "notes reworded"
        else:
            effect = f"{key.replace('_', ' ')}: {_in_change_line(old)} {ARROW} {_in_change_line(new)}"
        out.append(Change(key, old, new, effect))
    out += _sources(da.get("sources", []), db.get("sources", []))
    out += _declarations(da.get("declare", {}), db.get("declare", {}))
    return out


def _extends(e: dict[str, Any]) -> str:
    return f"{e['ruleset']} {e['version']}"


def _in_change_line(v: Any) -> str:
    """A field's value as a change line shows it: text as is, none as `(none)`, anything else as JSON."""
    if v is None:
        return "(none)"
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _set_change(what: str, old: list[Any], new: list[Any]) -> str:
    plus = [str(x) for x in new if x not in old]
    minus = [str(x) for x in old if x not in new]
    parts = ([f"adds {join(plus)}"] if plus else []) + ([f"removes {join(minus)}"] if minus else [])
    return f"{what}: " + ("; ".join(parts) if parts else "reordered")


def _sources(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    out = []
    by_a = {s["id"]: s for s in old}
    by_b = {s["id"]: s for s in new}
    for s in new:
        if s["id"] not in by_a:
            out.append(Change(f"source {s['id']}", None, s, f"source added: {s['id']} ({s['title']})"))
    for s in old:
        if s["id"] not in by_b:
            out.append(Change(f"source {s['id']}", s, None, f"source removed: {s['id']} ({s['title']})"))
    for s in new:
        was = by_a.get(s["id"])
        if was is not None and was != s:
            keys = sorted(k for k in was.keys() | s.keys() if was.get(k) != s.get(k))
            out.append(Change(f"source {s['id']}", was, s, f"source {s['id']}: {join(keys)} changed"))
    if [s["id"] for s in old if s["id"] in by_b] != [s["id"] for s in new if s["id"] in by_a]:
        out.append(Change("source order", [s["id"] for s in old], [s["id"] for s in new],
                          "sources are listed in a different order"))
    return out


def _declarations(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out = []
    for group, noun in (("facts", "fact"), ("events", "event type"), ("attributes", "attributes of")):
        a, b = old.get(group, {}), new.get(group, {})
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) == b.get(key):
                continue
            if key not in a:
                verb = "declares"
            elif key not in b:
                verb = "no longer declares"
            else:
                verb = "changes the declaration of"
            out.append(Change(f"declare {group}.{key}", a.get(key), b.get(key), f"{verb} {noun} {name(key)}"))
    if list(old) != list(new) and not out:
        out.append(Change("declare", old, new, "declarations reordered"))
    return out


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return data


_OBLIGATION_PARTS = {
    # key of an obligation -> the part of the rule it belongs to
    "effect": "effect", "from": "window", "until": "window", "before": "window",
    "at_least": "duration", "within": "duration", "after": "anchor",
    "indefinitely": "duration", "legal_hold": "duration",
    "to": "recipients", "role": "roles", "purpose": "purpose",
    "may_delay": "delays", "redact": "redactions", "unedited": "unedited",
}


def _rule_changes(a: Rule, b: Rule) -> list[Change]:
    ra, rb = _dump(a), _dump(b)
    out: list[Change] = []
    if ra.get("summary") != rb.get("summary"):
        out.append(Change("summary", a.summary, b.summary, f"summary reworded: \u201c{b.summary}\u201d"))
    if a.cite != b.cite:
        out.append(Change("cite", a.cite, b.cite, f"cite: {a.cite} {ARROW} {b.cite}"))
    if a.confidence != b.confidence:
        ca, cb = ra.get("confidence"), rb.get("confidence")
        out.append(Change("confidence", ca, cb, f"confidence: {ca or '(not stated)'} {ARROW} {cb or '(not stated)'}"))
    if (ra.get("on"), ra.get("where")) != (rb.get("on"), rb.get("where")):
        ta, tb = describe_trigger(a), describe_trigger(b)
        old = {"on": ra.get("on"), "where": ra.get("where")}
        new = {"on": rb.get("on"), "where": rb.get("where")}
        if tb is None:
            effect = f"no longer needs a trigger (was: when {ta})"
        elif ta is None:
            effect = f"now applies only when {tb}"
        else:
            effect = f"now applies when {tb} (was: when {ta})"
        out.append(Change("trigger", old, new, effect))
    if ra.get("when") != rb.get("when"):
        if b.when is None:
            effect = f"no longer requires that {describe_condition(a.when)}"
        elif a.when is None:
            effect = f"now applies only when {describe_condition(b.when)}"
        else:
            effect = f"now applies only when {describe_condition(b.when)} (was: {describe_condition(a.when)})"
        out.append(Change("condition", ra.get("when"), rb.get("when"), effect))
    if ra.get("unless") != rb.get("unless"):
        if b.unless is None:
            effect = f"now applies even when {describe_condition(a.unless)}"
        elif a.unless is None:
            effect = f"no longer applies when {describe_condition(b.unless)}"
        else:
            effect = (f"now does not apply when {describe_condition(b.unless)} "
                      f"(was: when {describe_condition(a.unless)})")
        out.append(Change("exception", ra.get("unless"), rb.get("unless"), effect))
    if a.overrides != b.overrides:
        plus = [name(x) for x in b.overrides if x not in a.overrides]
        minus = [name(x) for x in a.overrides if x not in b.overrides]
        parts = ([f"now sets aside {join(plus)}"] if plus else []) + (
            [f"no longer sets aside {join(minus)}"] if minus else [])
        out.append(Change("overrides", ra.get("overrides"), rb.get("overrides"),
                          "; ".join(parts) or "overrides reordered"))
    if a.same_officer != b.same_officer:
        effect = ("now sets aside only the obligations of the officer its trigger names" if b.same_officer else
                  "now sets aside the obligations it overrides whichever officer they concern")
        out.append(Change("same_officer", a.same_officer, b.same_officer, effect))
    if a.governs != b.governs:
        effect = ("now governs conduct: binds actions taken while the version is in force, on footage of any date"
                  if b.governs == "conduct" else "now governs footage: judged by the version in force on the "
                  "incident's date (was: actions taken while the version is in force)")
        out.append(Change("governs", a.governs.value, b.governs.value, effect))
    if ra.get("notes") != rb.get("notes"):
        effect = "notes added" if a.notes is None else "notes removed" if b.notes is None else "notes reworded"
        out.append(Change("notes", a.notes, b.notes, effect))
    out += _obligation_changes(a, b, ra, rb)
    return out


def _obligation_changes(a: Rule, b: Rule, ra: dict[str, Any], rb: dict[str, Any]) -> list[Change]:
    oa, ob = ra.get(a.kind), rb.get(b.kind)
    if a.kind != b.kind:
        return [Change("obligation", {a.kind: oa}, {b.kind: ob},
                       f"{describe_obligation(a.obligation, a.kind)} {ARROW} "
                       f"{describe_obligation(b.obligation, b.kind)}")]
    if oa == ob:
        return []
    assert isinstance(oa, dict) and isinstance(ob, dict)
    what = subject(b) if subject(a) == subject(b) else f"{subject(a)} {ARROW} {subject(b)}"
    parts: dict[str, list[str]] = {}
    for key in sorted(oa.keys() | ob.keys()):
        if oa.get(key) != ob.get(key):
            # `after` anchors a duration, except in access, where it opens the window (`before` closes it).
            part = "window" if key == "after" and b.kind == "access" else _OBLIGATION_PARTS.get(key, key)
            parts.setdefault(part, []).append(key)
    # A duration and its anchor are read together: "2 years after `flagged`".
    if "duration" in parts and "anchor" in parts:
        parts["duration"] += parts.pop("anchor")
    out = []
    for part, keys in parts.items():
        old = {k: oa.get(k) for k in keys}
        new = {k: ob.get(k) for k in keys}
        out.append(Change(_part_name(part, b.kind), old, new, _obligation_effect(part, what, a, b)))
    return out


def _part_name(part: str, kind: str) -> str:
    if kind == "release" and part == "duration":
        return "deadline"
    return part


def _span(duration: Duration | str | None, after: str | Earliest | None, *, word: str = "after") -> str:
    if duration is None:
        return "no deadline"
    if isinstance(duration, str):  # `promptly`: no number of days
        return duration + (f" after {anchor(after)}" if after else "")
    return duration.describe() + (f" {word} {anchor(after)}" if after else "")


def _obligation_effect(part: str, what: str, a: Rule, b: Rule) -> str:
    oa: Any = a.obligation
    ob: Any = b.obligation
    if part == "effect":
        words = {"must": "must", "may": "may", "must_not": "must not"}
        return f"{what}: {words[oa.effect.value]} {ARROW} {words[ob.effect.value]}"
    if part == "window":
        return f"{what}: {_window(oa)} {ARROW} {_window(ob)}"
    if part in ("duration", "anchor"):
        if a.kind == "retain" and (oa.at_least is None or ob.at_least is None):
            return f"{what}: {_retention(oa)} {ARROW} {_retention(ob)}"
        label = f"{what} deadline" if a.kind == "release" else what
        within_a, within_b = (oa.at_least, ob.at_least) if a.kind == "retain" else (oa.within, ob.within)
        if oa.after == ob.after and isinstance(within_a, Duration) and isinstance(within_b, Duration):
            return f"{label}: {within_a.describe()} {ARROW} {_span(within_b, ob.after)}"
        return f"{label}: {_span(within_a, oa.after)} {ARROW} {_span(within_b, ob.after)}"
    if part == "recipients":
        return f"release: to {recipients(oa.to)} {ARROW} to {recipients(ob.to)}"
    if part == "roles":
        before, after = (join([name(r) for r in o.role], "or") for o in (oa, ob))
        return f"viewing: by {before} {ARROW} by {after}"
    if part == "purpose":
        pa = name(oa.purpose) if oa.purpose else "any purpose"
        pb = name(ob.purpose) if ob.purpose else "any purpose"
        return f"{what}: for {pa} {ARROW} for {pb}"
    if part == "delays":
        return f"{what} may be delayed: {_delays(oa.may_delay, oa.after)} {ARROW} {_delays(ob.may_delay, ob.after)}"
    if part == "redactions":
        return _set_change(f"{what} redactions", list(oa.redact), list(ob.redact))
    if part == "unedited":
        before, after = ("unedited" if o.unedited else "may be edited" for o in (oa, ob))
        return f"{what}: {before} {ARROW} {after}"
    return f"{what}: {part} changed"


def _window(o: Any) -> str:
    if hasattr(o, "role"):  # access
        parts = ([f"after {anchor(o.after)}"] if o.after else []) + ([f"before {anchor(o.before)}"] if o.before else [])
        return " ".join(parts) or "at any time"
    parts = [f"from {anchor(o.from_)}"] if o.from_ else []
    parts.append(f"until {anchor(o.until)}" if o.until else "with no set end")
    return " ".join(parts)


def _retention(o: Any) -> str:
    if o.at_least is not None:
        return f"at least {_span(o.at_least, o.after)}"
    if o.indefinitely:
        return "indefinitely"
    if o.until is not None:
        return f"until {anchor(o.until)}"
    return "while a legal hold is in place"


def _delays(delays: list[DelayAllowance], after: str | Earliest | None) -> str:
    return "; or ".join(describe_delay(d, after) for d in delays) or "not at all"


# --- rendering ---------------------------------------------------------------------------------------

def render_text(d: RulesetDiff) -> str:
    lines = [f"{d.old} {ARROW} {d.new}", d.summary()]
    if d.header:
        lines += ["", "Header:"]
        lines += [f"  ~ {c.effect}" for c in d.header]
    if d.added:
        lines += ["", f"Rules added ({len(d.added)}):"]
        for e in d.added:
            lines += [f"  + {e.id} ({e.cite})", f"      {e.description}"]
    if d.removed:
        lines += ["", f"Rules removed ({len(d.removed)}):"]
        for e in d.removed:
            lines += [f"  - {e.id} ({e.cite})", f"      {e.description}"]
    if d.changed:
        lines += ["", f"Rules changed ({len(d.changed)}):"]
        for c in d.changed:
            lines.append(f"  ~ {c.id}")
            lines += [f"      {ch.part}: {ch.effect}" for ch in c.changes]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_markdown(d: RulesetDiff) -> str:
    """Headings, a summary count line and tables: for a pull request or a public comment period."""
    lines = [f"# Changes from `{d.old}` to `{d.new}`", "", f"**{d.summary()}**"]
    if d.header:
        lines += ["", "## The ruleset", "", "| What changed | In plain words |", "|---|---|"]
        lines += [f"| {_cell(c.part)} | {_cell(c.effect)} |" for c in d.header]
    if d.added:
        lines += ["", f"## Rules added ({len(d.added)})", "", "| Rule | Cite | What it says |", "|---|---|---|"]
        lines += [f"| `{e.id}` | {_cell(e.cite)} | {_cell(e.description)} |" for e in d.added]
    if d.removed:
        lines += ["", f"## Rules removed ({len(d.removed)})", "", "| Rule | Cite | What it said |", "|---|---|---|"]
        lines += [f"| `{e.id}` | {_cell(e.cite)} | {_cell(e.description)} |" for e in d.removed]
    if d.changed:
        lines += ["", f"## Rules changed ({len(d.changed)})", "", "| Rule | What changed | In plain words |",
                  "|---|---|---|"]
        for c in d.changed:
            for i, ch in enumerate(c.changes):
                rule = f"`{c.id}`" if i == 0 else ""
                lines.append(f"| {rule} | {_cell(ch.part)} | {_cell(ch.effect)} |")
    return "\n".join(lines) + "\n"


def render_json(d: RulesetDiff) -> str:
    return json.dumps(d.to_dict(), indent=2, ensure_ascii=False) + "\n"


# --- history -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    """One version of a ruleset, and what changed from the version before it."""

    version: str
    status: str
    effective_from: date
    effective_until: date | None
    drafted_by: str
    file: str
    digest: str
    previous: str | None
    summary: str
    corrects: str | None = None
    corrected_by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["effective_from"] = self.effective_from.isoformat()
        data["effective_until"] = self.effective_until.isoformat() if self.effective_until else None
        return data


def change_line(d: RulesetDiff, limit: int = 3) -> str:
    """`+2 rules, 1 changed: added x, y; changed z`: one line for a log."""
    counts = ([f"+{_plural(len(d.added), 'rule')}"] if d.added else []) + (
        [f"-{_plural(len(d.removed), 'rule')}"] if d.removed else []) + (
        [f"{len(d.changed)} changed"] if d.changed else [])
    if not counts:
        if not d.header:
            return "no changes"
        return "no rule changes; " + ", ".join(c.part for c in d.header[:limit]) + (
            ", …" if len(d.header) > limit else "")

    def ids(items: list[str]) -> str:
        return ", ".join(items[:limit]) + (", …" if len(items) > limit else "")

    details = ([f"added {ids([e.id for e in d.added])}"] if d.added else []) + (
        [f"removed {ids([e.id for e in d.removed])}"] if d.removed else []) + (
        [f"changed {ids([c.id for c in d.changed])}"] if d.changed else [])
    return ", ".join(counts) + ": " + "; ".join(details)


def history(repo: Repository, ruleset_id: str) -> list[HistoryEntry]:
    """Every version of a ruleset, oldest first, each with a one-line summary of what changed from
    the version it corrects or supersedes (or else the version before it in semantic-version order)."""
    out = []
    entries = repo.entries(ruleset_id)
    for i, e in enumerate(entries):
        r = e.ruleset
        prev = None
        if r.corrects is not None and r.corrects in repo.versions(ruleset_id):
            prev = repo.get(ruleset_id, r.corrects)
        elif r.supersedes is not None and r.supersedes in repo.versions(ruleset_id):
            prev = repo.get(ruleset_id, r.supersedes)
        elif i > 0:
            prev = entries[i - 1].ruleset
        summary = change_line(diff(prev, r)) if prev is not None else f"first version ({_plural(len(r.rules), 'rule')})"
        out.append(HistoryEntry(
            version=r.version, status=r.status.value, effective_from=r.effective.from_,
            effective_until=r.effective.until, drafted_by=r.drafted_by, file=str(e.file), digest=e.digest,
            previous=prev.version if prev is not None else None, summary=summary, corrects=r.corrects,
            corrected_by=[c.version for c in entries
                          if c.ruleset.corrects == r.version and c.ruleset.status in ENACTED]))
    return out
