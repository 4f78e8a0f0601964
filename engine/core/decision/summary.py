"""Summarising a decision: the retention it requires and the earliest release deadline per recipient."""

from __future__ import annotations

from datetime import date

from engine.core.decision.model import Obligation, Pending, ReleaseDeadline, RetentionSummary, Summary
from engine.core.incident import Incident
from policy.base import Effect


def summarise(obligations: list[Obligation], incident: Incident) -> Summary:
    ret = RetentionSummary()
    release: dict[str, ReleaseDeadline] = {}
    for o in obligations:
        if o.overridden_by is not None:
            continue
        kind = o.kind
        if kind == "retain":
            keep = o.retain_until
            if isinstance(keep, Pending):
                if o.legal_hold:
                    ret.legal_hold = True
                else:
                    ret.pending.append(keep)
                continue
            if keep == ret.minimum:
                ret.minimum_rules.append(o.rule)
            elif ret.minimum is None or keep == "indefinite" or (
                    ret.minimum != "indefinite" and isinstance(keep, date) and isinstance(ret.minimum, date)
                    and keep > ret.minimum):
                ret.minimum, ret.minimum_rules = keep, [o.rule]
        elif kind == "delete" and isinstance(o.delete_by, date):
            if o.delete_by == ret.maximum:
                ret.maximum_rules.append(o.rule)
            elif ret.maximum is None or o.delete_by < ret.maximum:
                ret.maximum, ret.maximum_rules = o.delete_by, [o.rule]
        elif kind == "release" and o.effect is Effect.MUST and isinstance(o.by, date):
            for to in o.to or ():
                cur = release.get(to)
                if cur is None or o.by < cur.by:
                    release[to] = ReleaseDeadline(by=o.by, rules=[o.rule])
                elif o.by == cur.by and o.rule not in cur.rules:
                    cur.rules.append(o.rule)
    return Summary(retention=ret, release=dict(sorted(release.items())))
