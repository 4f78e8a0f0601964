"""Decisions as text a person can read in a terminal.

Everything in a decision that came from data (incident id, cites, rule ids, recipients, redaction
lists) is literal text: rich is given no markup to interpret (a cite such as `src 1 [/i]` is shown
as written, never parsed) and control characters are escaped before rich sees them.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from engine.core.decision import Decision, Moment, Obligation, Pending, Window
from engine.io.output import terminal_text


def _moment(m: Moment | None) -> str:
    if m is None:
        return "open"
    if m.pending:
        return f"when {m.event} happens"
    return f"{m.event} {m.at}" if m.event else str(m.at)


def _window(w: Window | None) -> str:
    if w is None:
        return ""
    return f"from {_moment(w.from_)} until {_moment(w.until)}"


def _day(d: object) -> str:
    if isinstance(d, Pending):
        return f"{d.then} after {d.pending} (not yet happened)"
    return str(d)


def _what(o: Obligation) -> str:
    if o.kind in ("record", "notify"):
        return _window(o.window)
    if o.kind == "retain":
        return ("legal hold: keep until released; " if o.legal_hold else "") + f"keep until {_day(o.retain_until)}"
    if o.kind == "delete":
        return f"delete by {_day(o.delete_by)}"
    if o.kind == "access":
        who = ", ".join(o.role or [])
        return f"{who} view" + (f" for {o.purpose}" if o.purpose else "") + f" {_window(o.window)}".rstrip()
    parts = [f"to {', '.join(o.to or [])}"]
    if o.by is not None:
        parts.append(f"by {_day(o.by)}")
    if o.promptly_after is not None:
        parts.append(f"promptly after {_moment(o.promptly_after)} (no number of days set)")
    for d in o.delays or []:
        ends = ""
        if d.ends_on is not None:
            ends = f", ends when {d.ends_on.event} happens" if d.ends_on.pending else f", ended by {d.ends_on.event}"
        parts.append(f"may delay until {_day(d.until)}{ends}" + ("" if d.available else " (conditions not met)"))
    if o.redact:
        parts.append("redact: " + "; ".join(o.redact))
    if o.unedited:
        parts.append("unedited")
    return ", ".join(parts)


def render_decision(decision: Decision, width: int = 120) -> str:
    """A decision as a heading, a table of its obligations, and its retention, releases and conflicts."""
    # markup, emoji codes and highlighting off: the strings below are data, never instructions to rich.
    console = Console(width=width, record=True, force_terminal=False, color_system=None, file=io.StringIO(),
                      markup=False, emoji=False, highlight=False)
    rs = decision.ruleset
    console.print(terminal_text(f"Incident {decision.incident_id} under {rs.id}@{rs.version} as of "
                                f"{decision.as_of}"))
    if not decision.in_force:
        console.print("This ruleset was not in effect on the incident's first day: nothing is decided under it.")
    table = Table(show_lines=False, expand=False)
    for col in ("kind", "effect", "obligation", "rule", "cite"):
        table.add_column(col, overflow="fold")
    for o in decision.obligations:
        effect = o.effect.value + (f" (overridden by {o.overridden_by})" if o.overridden_by else "")
        for part in o.suspended or []:
            effect += f" (except {_window(Window(from_=part.from_, until=part.until))}: {part.rule})"
        rule = o.rule if o.confidence in (None, "verified") else f"{o.rule} ({o.confidence})"
        table.add_row(*(terminal_text(cell) for cell in (o.kind, effect, _what(o), rule, o.cite)))
    console.print(table if decision.obligations else "No obligations apply.")
    ret = decision.summary.retention
    lines = []
    if ret.minimum is not None:
        lines.append(f"keep at least until {_day(ret.minimum)} ({', '.join(ret.minimum_rules)})")
    for p in ret.pending:
        lines.append(f"keep at least {_day(p)}")
    if ret.maximum is not None:
        lines.append(f"delete no later than {ret.maximum} ({', '.join(ret.maximum_rules)})")
    if ret.legal_hold:
        lines.append("under legal hold: do not delete")
    for to, dl in decision.summary.release.items():
        lines.append(f"release to {to} by {dl.by} ({', '.join(dl.rules)})")
    for c in decision.conflicts:
        how = f"settled: {c.winner} prevails ({c.resolution})" if c.winner else "NOT settled by any rule"
        lines.append(f"conflict: {c.detail}; {how}")
    if lines:
        console.print(terminal_text("\n".join(lines)))
    return console.export_text().rstrip() + "\n"
