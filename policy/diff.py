"""What changed between two rulesets, rule by rule, in plain words.

    d = diff(old, new)
    print(render_text(d))        # for a terminal
    print(render_markdown(d))    # for a pull request or a public comment period
    print(render_json(d))        # for programs

Rules are matched by id. Every difference in the canonical form of the two rulesets shows up in the
diff (`diff(a, b)` is empty exactly when `canonical_json(a) == canonical_json(b)`), each with its old
and new value (as in the canonical JSON) and one line in plain words saying what it means.

The renderings lead with what the obligations are, in each rule's own `summary` (the drafter's words,
never generated wording that could contradict them): rules added, removed, and those whose summary or
duty changed. Then when the changed rules apply and for how long (conditions, windows, durations), then
citations and notes, and the ruleset's header last. A change to one item of a list (one exception of
several, one rule set aside) is shown as that item added or removed, not as the whole list twice.

`history(repo, id)` lists the versions of one ruleset with a one-line summary of each change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from policy.canonical import canonical_data
from policy.conditions import AllCondition, AnyCondition
from policy.describe import (
    a as article,
)
from policy.describe import (
    anchor,
    describe_applies,
    describe_condition,
    describe_delay,
    describe_obligation,
    describe_rule,
    describe_test,
    describe_trigger,
    join,
    name,
    recipients,
    subject,
)
from policy.duration import Duration
from policy.in_force import ENACTED
from policy.markdown import code, inline, words
from policy.model import Rule, Ruleset
from policy.obligations import DelayAllowance, Earliest

if TYPE_CHECKING:
    from policy.repository import Repository

ARROW = "→"


# What part of a rule a change is to, in the order a reader asks: the duty itself (in the rule's own
# summary), then when and for how long it applies, then where it comes from (cite, confidence, notes).
OBLIGATION, TERMS, METADATA, HEADER = "obligation", "terms", "metadata", "header"
_SECTIONS = {"summary": OBLIGATION, "obligation": OBLIGATION, "effect": OBLIGATION,
             "cite": METADATA, "confidence": METADATA, "notes": METADATA}


@dataclass(frozen=True)
class Change:
    """One part of a header or rule that changed: old and new value (canonical JSON, None when
    absent) and what it means in plain words. A change to a list (exceptions, rules set aside,
    holidays, redactions) also names the items added and removed, under `heading` (what the list is)."""

    part: str
    old: Any
    new: Any
    effect: str
    heading: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def items(self) -> bool:
        return bool(self.added or self.removed)


def section(part: str) -> str:
    """`obligation`, `terms` or `metadata`: where a change to this part of a rule is shown."""
    return _SECTIONS.get(part, TERMS)


@dataclass(frozen=True)
class RuleEntry:
    """A rule that was added or removed. `summary` is the drafter's words; `description` and `applies`
    are generated from what the file encodes."""

    id: str
    kind: str
    summary: str
    cite: str
    description: str
    effect: str
    applies: str = ""


@dataclass(frozen=True)
class RuleChange:
    """A rule present in both rulesets (same id) whose content changed. `summary` is its new summary,
    `old_summary` the one it had (the same when only other parts changed)."""

    id: str
    summary: str
    changes: list[Change]
    old_summary: str = ""

    def part(self, section_name: str) -> list[Change]:
        """Its changes shown in one section (`obligation`, `terms` or `metadata`)."""
        return [c for c in self.changes if section(c.part) == section_name]

    @property
    def reworded(self) -> bool:
        return any(c.part == "summary" for c in self.changes)


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

    def in_section(self, section_name: str) -> list[RuleChange]:
        """The changed rules with a change shown in one section, in the new ruleset's order."""
        return [c for c in self.changed if c.part(section_name)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for rule in data["changed"]:
            for change in rule["changes"]:
                change["section"] = section(change["part"])
        for change in data["header"]:
            change["section"] = HEADER
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
                changed.append(RuleChange(r.id, r.summary, changes, old.summary))
    common_a = [r.id for r in a.rules if r.id in rules_b]
    common_b = [r.id for r in b.rules if r.id in rules_a]
    if common_a != common_b:
        header.append(Change("rule order", common_a, common_b, "rules are listed in a different order"))
    if da != db and not (header or added or removed or changed):  # pragma: no cover - a safety net
        header.append(Change("other", da, db, "the rulesets differ"))
    return RulesetDiff(a.ref, b.ref, header, added, removed, changed)


def _entry(rule: Rule, verb: str) -> RuleEntry:
    text = describe_rule(rule)
    applies = describe_applies(rule)
    if rule.overrides:
        sets_aside = f"sets aside {join([name(r) for r in rule.overrides])}"
        applies = f"{applies}; {sets_aside}" if applies else sets_aside
    return RuleEntry(rule.id, rule.kind, rule.summary, rule.cite, text,
                     f"{verb}: {rule.summary.rstrip('.')} ({rule.id})", applies or "applies to every incident")


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
            out.append(_list_change("holidays", "holidays", old, new, [str(x) for x in old or []],
                                    [str(x) for x in new or []]))
            continue
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


def _list_change(part: str, what: str, old: Any, new: Any, old_items: list[str], new_items: list[str]) -> Change:
    """A change to a list of names (holidays, redactions): the items added and removed, not both lists."""
    # Membership in sets, not lists: a list in a list is O(n²) (32,000 holidays took 11 s).
    olds, news = set(old_items), set(new_items)
    plus = [x for x in new_items if x not in olds]
    minus = [x for x in old_items if x not in news]
    parts = ([f"adds {join(plus)}"] if plus else []) + ([f"removes {join(minus)}"] if minus else [])
    return Change(part, old, new, f"{what}: " + ("; ".join(parts) if parts else "reordered"), what, plus, minus)


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


def _frozen(data: Any) -> Any:
    """JSON data as a hashable value equal to another's exactly when the data are equal (`==`): a mapping
    as the set of its items, a list as a tuple. (Not JSON text: `true == 1` in Python, but not as text.)"""
    if isinstance(data, dict):
        return frozenset((k, _frozen(v)) for k, v in data.items())
    if isinstance(data, list):
        return tuple(_frozen(v) for v in data)
    return data


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
_KIND_PARTS = {
    # where a key belongs to another part in one kind of obligation: `after` anchors a duration, except in
    # access, where it opens the window (`before` closes it); `until` closes a window, except in retain,
    # where it ends the keeping (the retention's term)
    ("access", "after"): "window",
    ("retain", "until"): "duration",
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
        out.append(_trigger_change(a, b, ra, rb))
    if ra.get("when") != rb.get("when"):
        out.append(_condition_change("condition", a.when, b.when, ra.get("when"), rb.get("when")))
    if ra.get("unless") != rb.get("unless"):
        out.append(_condition_change("exception", a.unless, b.unless, ra.get("unless"), rb.get("unless")))
    if a.overrides != b.overrides:
        set_a, set_b = set(a.overrides), set(b.overrides)
        plus = [name(x) for x in b.overrides if x not in set_a]
        minus = [name(x) for x in a.overrides if x not in set_b]
        parts = ([f"now sets aside {join(plus)}"] if plus else []) + (
            [f"no longer sets aside {join(minus)}"] if minus else [])
        out.append(Change("overrides", ra.get("overrides"), rb.get("overrides"),
                          "; ".join(parts) or "overrides reordered", "rules it sets aside", plus, minus))
    if a.same_officer != b.same_officer:
        effect = ("now sets aside only the obligations of the officer its trigger names" if b.same_officer else
                  "now sets aside the obligations it overrides whichever officer they concern")
        out.append(Change("same_officer", a.same_officer, b.same_officer, effect))
    if a.governs != b.governs:
        effect = ("now governs conduct: binds actions taken while the version is in force, on footage of any date"
                  if b.governs == "conduct" else "now governs footage: judged by the version in force on the "
                  "incident's date (was: actions taken while the version is in force)")
        out.append(Change("governs", a.governs.value, b.governs.value, effect))
    if a.applies_to_existing_footage != b.applies_to_existing_footage:
        effect = ("now also governs footage of incidents judged under earlier versions"
                  if b.applies_to_existing_footage else
                  "no longer governs footage of incidents judged under earlier versions")
        out.append(Change("existing footage", a.applies_to_existing_footage, b.applies_to_existing_footage, effect))
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
            part = _KIND_PARTS.get((b.kind, key)) or _OBLIGATION_PARTS.get(key, key)
            parts.setdefault(part, []).append(key)
    # A duration and its anchor are read together: "2 years after `flagged`".
    if "duration" in parts and "anchor" in parts:
        parts["duration"] += parts.pop("anchor")
    out = []
    for part, keys in parts.items():
        old = {k: oa.get(k) for k in keys}
        new = {k: ob.get(k) for k in keys}
        o_a: Any = a.obligation
        o_b: Any = b.obligation
        if part == "redactions":
            out.append(_list_change(part, f"{what} redactions", old, new, list(o_a.redact), list(o_b.redact)))
        elif part == "delays" and (items := _list_change(part, f"{what} may be delayed", old, new,
                                                         [describe_delay(x, o_a.after) for x in o_a.may_delay],
                                                         [describe_delay(x, o_b.after) for x in o_b.may_delay])).items:
            out.append(items)  # (the same words in another order, or another anchor: the whole lists below)
        else:
            out.append(Change(_part_name(part, b.kind), old, new, _obligation_effect(part, what, a, b)))
    return out


def _trigger_change(a: Rule, b: Rule, ra: dict[str, Any], rb: dict[str, Any]) -> Change:
    ta, tb = describe_trigger(a), describe_trigger(b)
    old = {"on": ra.get("on"), "where": ra.get("where")}
    new = {"on": rb.get("on"), "where": rb.get("where")}
    if a.on is not None and a.on == b.on:
        # The same event, other tests on it: name the tests added and removed, not both lists.
        wa, wb = ra.get("where") or {}, rb.get("where") or {}
        plus = [describe_test(k, b.where[k]) for k in b.where if wa.get(k) != wb.get(k)]
        minus = [describe_test(k, a.where[k]) for k in a.where if wa.get(k) != wb.get(k)]
        parts = ([f"now only where {join(plus)}"] if plus else []) + (
            [f"no longer only where {join(minus)}"] if minus else [])
        return Change("trigger", old, new, f"{article(b.on)} event counts " + "; ".join(parts),
                      f"trigger (the rule applies when {article(b.on)} event happens where)", plus, minus)
    if tb is None:
        effect = f"no longer needs a trigger (was: when {ta})"
    elif ta is None:
        effect = f"now applies only when {tb}"
    else:
        effect = f"now applies when {tb} (was: when {ta})"
    return Change("trigger", old, new, effect)


# For `when` (only if) and `unless` (exception), a list of conditions of one kind: the heading that says
# what the list is, and what adding or removing one item means.
_CONDITION_LISTS: dict[tuple[str, type], tuple[str, str, str]] = {
    ("exception", AnyCondition): ("exceptions (the rule does not apply when any of these holds)",
                                  "no longer applies when {}", "now applies even when {}"),
    ("exception", AllCondition): ("exception (the rule does not apply when all of these hold)",
                                  "the exception now also needs {}", "the exception no longer needs {}"),
    ("condition", AllCondition): ("conditions (the rule applies only if all of these hold)",
                                  "now applies only if also {}", "no longer requires that {}"),
    ("condition", AnyCondition): ("conditions (the rule applies only if one of these holds)",
                                  "now also applies if {}", "no longer applies just because {}"),
}


def _items(cond: Any, kind: type) -> list[Any] | None:
    """The conditions of a list of `kind` (one condition alone is a list of one), or None for a list of
    the other kind."""
    if cond is None:
        return []
    if isinstance(cond, AnyCondition):
        return list(cond.any) if kind is AnyCondition else None
    if isinstance(cond, AllCondition):
        return list(cond.all) if kind is AllCondition else None
    return [cond]


def _condition_change(part: str, ca: Any, cb: Any, old: Any, new: Any) -> Change:
    kinds = (AnyCondition, AllCondition) if part == "exception" else (AllCondition, AnyCondition)
    for kind in kinds:
        ia, ib = _items(ca, kind), _items(cb, kind)
        if ia is None or ib is None or not (isinstance(ca, kind) or isinstance(cb, kind)):
            continue
        # Each condition's data frozen (hashable, equal exactly when the data are) and looked up in a
        # set: comparing every item with every other took O(K²) for K conditions (8,000: 12 s).
        da, db = [_frozen(_dump(c)) for c in ia], [_frozen(_dump(c)) for c in ib]
        set_a, set_b = set(da), set(db)
        plus = [describe_condition(c) for c, d in zip(ib, db, strict=True) if d not in set_a]
        minus = [describe_condition(c) for c, d in zip(ia, da, strict=True) if d not in set_b]
        heading, adds, removes = _CONDITION_LISTS[(part, kind)]
        effect = "; ".join([adds.format(x) for x in plus] + [removes.format(x) for x in minus])
        return Change(part, old, new, effect or f"{part}s reordered", heading, plus, minus)
    if part == "exception":
        if cb is None:
            effect = f"now applies even when {describe_condition(ca)}"
        elif ca is None:
            effect = f"no longer applies when {describe_condition(cb)}"
        else:
            effect = f"now does not apply when {describe_condition(cb)} (was: when {describe_condition(ca)})"
    elif cb is None:
        effect = f"no longer requires that {describe_condition(ca)}"
    elif ca is None:
        effect = f"now applies only when {describe_condition(cb)}"
    else:
        effect = f"now applies only when {describe_condition(cb)} (was: {describe_condition(ca)})"
    return Change(part, old, new, effect)


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
    """For a terminal: the duties in the rules' own words first, the header last (see the module's doc)."""
    lines = [f"{d.old} {ARROW} {d.new}", d.summary()]
    if d.added:
        lines += ["", f"Rules added ({len(d.added)}), in their own words:"]
        for e in d.added:
            lines += [f"  + {e.id}: {e.summary}", f"      applies {e.applies}"]
    if d.removed:
        lines += ["", f"Rules removed ({len(d.removed)}), in their own words:"]
        lines += [f"  - {e.id}: {e.summary}" for e in d.removed]
    duty = d.in_section(OBLIGATION)
    if duty:
        lines += ["", f"Rules whose summary or duty changed ({len(duty)}), as they now read:"]
        for c in duty:
            lines.append(f"  ~ {c.id}: {c.summary}")
            if c.reworded:
                lines.append(f"      was: {c.old_summary}")
            lines += _text_changes([ch for ch in c.part(OBLIGATION) if ch.part != "summary"])
    terms = d.in_section(TERMS)
    if terms:
        lines += ["", f"When the changed rules apply, and for how long ({_plural(len(terms), 'rule')}):"]
        for group, changes in same_changes(terms):
            # A rule whose new wording is shown above is named by id; the others with their summary.
            ids = [c.id for c in group if c in duty]
            if ids:
                lines.append("  ~ " + ", ".join(ids) + (f" ({len(ids)} rules)" if len(ids) > 1 else ""))
            lines += [f"  ~ {c.id}: {c.summary}" for c in group if c not in duty]
            lines += _text_changes(changes)
    meta = d.in_section(METADATA)
    if meta:
        lines += ["", f"Citations and notes ({_plural(len(meta), 'rule')}):"]
        lines += [f"  ~ {c.id}: " + "; ".join(ch.effect for ch in c.part(METADATA)) for c in meta]
    if d.header:
        lines += ["", f"The ruleset itself ({_plural(len(d.header), 'change')}):"]
        lines += _text_changes(d.header, indent="  ", mark="~ ")
    return "\n".join(lines) + "\n"


def same_changes(rules: list[RuleChange]) -> list[tuple[list[RuleChange], list[Change]]]:
    """The rules' changes of conditions and durations, rules with the very same changes together (in the
    order of the first of them), so that one change made to eleven rules is read once."""
    groups: dict[str, tuple[list[RuleChange], list[Change]]] = {}
    for c in rules:
        changes = c.part(TERMS)
        key = json.dumps([[ch.part, ch.old, ch.new, ch.effect] for ch in changes], sort_keys=True, default=str)
        groups.setdefault(key, ([], changes))[0].append(c)
    return list(groups.values())


def _text_changes(changes: list[Change], indent: str = "      ", mark: str = "") -> list[str]:
    out = []
    for ch in changes:
        if ch.items:
            out.append(f"{indent}{mark}{ch.heading}:")
            out += [f"{indent}  + {x}" for x in ch.added] + [f"{indent}  - {x}" for x in ch.removed]
        else:
            out.append(f"{indent}{mark}{ch.effect}")
    return out


def _md_effect(ch: Change) -> str:
    """A change's plain words as inert Markdown: a field's old and new values as the change line writes them
    (a title, a cite, a drafter) escaped whole, the names policy.describe writes between backticks as code,
    and every other word escaped (a source's title, a range of versions)."""
    values = f"{_in_change_line(ch.old)} {ARROW} {_in_change_line(ch.new)}"
    if ch.effect.endswith(values):
        head = ch.effect[: len(ch.effect) - len(values)]
        return f"{words(head, table=True)}{inline(_in_change_line(ch.old))} {ARROW} {inline(_in_change_line(ch.new))}"
    if ch.part.startswith("source "):  # a source's id and title: no names, all of it from the rulesets
        return inline(ch.effect)
    return words(ch.effect, table=True)


def _md_changes(changes: list[Change]) -> list[tuple[str, str]]:
    """(what changed, in plain words) rows, as Markdown table cells: a list change gives one row per item
    added or removed."""
    rows = []
    for ch in changes:
        if ch.items:
            items = [f"added: {words(x, table=True)}" for x in ch.added] + [
                f"removed: {words(x, table=True)}" for x in ch.removed]
            heading = words(ch.heading, table=True)
            rows += [(heading if i == 0 else "", item) for i, item in enumerate(items)]  # the heading once
        else:
            rows.append((inline(ch.part), _md_effect(ch)))
    return rows


def render_markdown(d: RulesetDiff) -> str:
    """Headings, a summary count line and tables: for a pull request or a public comment period. Every
    string from the rulesets (ids, summaries, cites, titles, values) is escaped (policy.markdown), so that
    none of it can become markup, HTML or a link, and a table row stays one line."""
    lines = [f"# Changes from {code(d.old)} to {code(d.new)}", "", f"**{d.summary()}**"]
    if d.added:
        lines += ["", f"## Rules added ({len(d.added)})", "", "| Rule | In its own words | Applies | Cite |",
                  "|---|---|---|---|"]
        lines += [f"| {code(e.id, table=True)} | {inline(e.summary)} | {words(e.applies, table=True)} "
                  f"| {inline(e.cite)} |" for e in d.added]
    if d.removed:
        lines += ["", f"## Rules removed ({len(d.removed)})", "", "| Rule | In its own words | Cite |", "|---|---|---|"]
        lines += [f"| {code(e.id, table=True)} | {inline(e.summary)} | {inline(e.cite)} |" for e in d.removed]
    duty = d.in_section(OBLIGATION)
    if duty:
        lines += ["", f"## Rules whose summary or duty changed ({len(duty)})", "",
                  "| Rule | Now reads | What changed |", "|---|---|---|"]
        for c in duty:
            was = ([f"was: {inline(c.old_summary)}"] if c.reworded else []) + [
                f"{w}: {e}" if w not in ("obligation", "effect") else e
                for w, e in _md_changes([ch for ch in c.part(OBLIGATION) if ch.part != "summary"])]
            lines.append(f"| {code(c.id, table=True)} | {inline(c.summary)} | {'; '.join(was)} |")
    terms = d.in_section(TERMS)
    if terms:
        lines += ["", f"## When the changed rules apply, and for how long ({_plural(len(terms), 'rule')})", "",
                  "| Rule | What changed | In plain words |", "|---|---|---|"]
        for group, changes in same_changes(terms):
            ids = ", ".join(code(c.id, table=True) for c in group)
            for i, (what, effect) in enumerate(_md_changes(changes)):
                lines.append(f"| {ids if i == 0 else ''} | {what} | {effect} |")
    meta = d.in_section(METADATA)
    if meta:
        lines += ["", f"## Citations and notes ({_plural(len(meta), 'rule')})", "", "| Rule | What changed |",
                  "|---|---|"]
        lines += [f"| {code(c.id, table=True)} | {'; '.join(_md_effect(ch) for ch in c.part(METADATA))} |"
                  for c in meta]
    if d.header:
        lines += ["", f"## The ruleset itself ({_plural(len(d.header), 'change')})", "",
                  "| What changed | In plain words |", "|---|---|"]
        lines += [f"| {what} | {effect} |" for what, effect in _md_changes(d.header)]
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
    # Looked up, not searched, once per version: a search per version took O(versions²) (1,000: 29 s).
    versions = {e.version: e.ruleset for e in entries}
    corrected_by: dict[str, list[str]] = {}  # version -> the enacted versions correcting it, oldest first
    for c in entries:
        if c.ruleset.corrects is not None and c.ruleset.status in ENACTED:
            corrected_by.setdefault(c.ruleset.corrects, []).append(c.version)
    for i, e in enumerate(entries):
        r = e.ruleset
        prev = None
        if r.corrects is not None and r.corrects in versions:
            prev = versions[r.corrects]
        elif r.supersedes is not None and r.supersedes in versions:
            prev = versions[r.supersedes]
        elif i > 0:
            prev = entries[i - 1].ruleset
        summary = change_line(diff(prev, r)) if prev is not None else f"first version ({_plural(len(r.rules), 'rule')})"
        out.append(HistoryEntry(
            version=r.version, status=r.status.value, effective_from=r.effective.from_,
            effective_until=r.effective.until, drafted_by=r.drafted_by, file=str(e.file), digest=e.digest,
            previous=prev.version if prev is not None else None, summary=summary, corrects=r.corrects,
            corrected_by=list(corrected_by.get(r.version, ()))))
    return out
