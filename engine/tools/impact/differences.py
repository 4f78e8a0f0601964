"""What differs between the decisions of one incident under A and under B, each difference with
its label, its rules and what moved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.core.decision import Conflict, DateOrPending, Decision, Moment, Obligation, Pending, Window

WORDING = "wording"
"""The suffix of labels that change no obligation (summary, cite or confidence reworded)."""


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
