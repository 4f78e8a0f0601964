"""The text `bwc impact` prints: its report as terminal text or as Markdown (the JSON form is the
tool's own, engine.tools.impact.render_json), and its progress while it decides.

Everything from the data (incident ids, reasons, details, rule ids) is literal: quoted for the
terminal, and escaped for Markdown so that it can neither format nor inject HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.io.sorting import places_text
from engine.tools.impact.report import SIDES, ImpactReport, render_json
from policy.markdown import inline, opening
from policy.values import quoted

IDS_IN_TEXT = 100
"""Incident ids shown per kind of change in the text and Markdown reports (JSON has all)."""
def _ids(ids: list[str], show: Callable[[str], str]) -> str:
    shown = ", ".join(show(i) for i in ids[:IDS_IN_TEXT])
    return shown + (f", … and {len(ids) - IDS_IN_TEXT:,} more" if len(ids) > IDS_IN_TEXT else "")


def _text(value: str, limit: int = 300) -> str:
    """Data (an incident id, a reason, a detail) as literal terminal text."""
    return quoted(value, limit)


def _md(value: str, limit: int = 300) -> str:
    """Data as literal Markdown text, inert inside a line or a table cell (policy.markdown, as every
    Markdown output writes it)."""
    return inline(quoted(value, limit))


def _head(report: ImpactReport) -> list[str]:
    t = report.tally
    as_of = f" as of {report.as_of}" if report.as_of else " (each as of its last event)"
    refused = [f"{t.refused_incidents[side]:,} refused under {side}" for side in SIDES if t.refused_incidents[side]]
    return [f"{report.a} → {report.b}: {t.incidents:,} incidents decided under both{as_of}",
            f"{t.changed:,} decisions change, {t.incidents - t.changed:,} do not"
            + "".join(f"; {r}" for r in refused) + (f"; {t.errors:,} bad line(s)" if t.errors else "")]


def _repeated(report: ImpactReport, show: Callable[[str], str]) -> tuple[str, list[str]]:
    """The ids given more than once: a title, and each shown one with its count and lines (none: "")."""
    repeated = report.tally.repeated_ids
    if not repeated["ids"]:
        return "", []
    title = (f"Incident ids given more than once ({repeated['ids']:,} ids, {repeated['incidents']:,} incidents in all; "
             "each copy counted as given)")
    rows = [f"{show(e['incident'])} ({e['count']:,}): " + places_text(e["places"], show)
            + (", …" if e["count"] > len(e["places"]) else "") for e in repeated["examples"]]
    if repeated["ids"] > len(rows):
        rows.append(f"… and {repeated['ids'] - len(rows):,} more (the JSON report counts them)")
    return title, rows


def _refused_title(side: str, n: int) -> str:
    other = "B" if side.startswith("A") else "A"
    return (f"Refused under {side} ({n:,}): read and decided under {other} only, so not counted as changes")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_text(report: ImpactReport) -> str:
    """The report for a terminal: the counts, each kind of change with its rules, examples and ids."""
    lines = [_text(x, 500) for x in _head(report)]
    kinds = report.kinds()
    if kinds:
        lines += ["", "Changes (incidents whose decision shows each):"]
        width = max(len(label) for label, _ in kinds)
        for label, ids in kinds:
            lines.append(f"  {label.ljust(width)}  {len(ids):>9,}")
        for label, ids in kinds:
            lines += ["", f"{label} ({len(ids):,}):"]
            rules = report.rules_of(label)
            if rules:
                lines.append("  rules: " + ", ".join(f"{_text(r)} ({n:,})" for r, n in rules))
            for iid, detail in report.tally.examples.get(label, []):
                lines.append(f"  e.g. {_text(iid)}: {_text(detail)}")
            lines.append("  " + _ids(ids, _text))
    for side in SIDES:
        reasons = report.refusals(side)
        if reasons:
            lines += ["", _refused_title(side, report.tally.refused_incidents[side]) + ":"]
            for reason, ids in reasons:
                lines.append(f"  {_text(reason)} ({len(ids):,}): {_ids(ids, _text)}")
    if report.tally.bad:
        lines += ["", "Bad lines:"] + [f"  line {b.line}: {_text(b.message, 500)}" for b in report.tally.bad]
        if report.tally.errors > len(report.tally.bad):
            lines.append(f"  … and {report.tally.errors - len(report.tally.bad):,} more")
    title, rows = _repeated(report, _text)
    if rows:
        lines += ["", title + ":"] + [f"  {r}" for r in rows]
    return "\n".join(lines) + "\n"


def render_markdown(report: ImpactReport) -> str:
    """The report as Markdown (for a pull request): a table of changes, details folded."""
    head = _head(report)
    lines = [f"## Impact: {_md(report.a)} → {_md(report.b)}", "",
             opening(_md(_sentence(head[0].split(": ", 1)[1]), 500)) + ".", opening(_md(head[1], 500)) + ".", ""]
    kinds = report.kinds()
    if kinds:
        lines += ["| change | incidents |", "|---|--:|"]
        lines += [f"| {_md(label)} | {len(ids):,} |" for label, ids in kinds]
        lines.append("")
        for label, ids in kinds:
            lines += [f"<details><summary>{_md(label)} ({len(ids):,})</summary>", ""]
            rules = report.rules_of(label)
            if rules:
                lines += ["Rules: " + ", ".join(f"{_md(r)} ({n:,})" for r, n in rules), ""]
            lines += [f"- e.g. {_md(iid)}: {_md(detail)}" for iid, detail in report.tally.examples.get(label, [])]
            lines += ["", opening(_ids(ids, _md)), "", "</details>", ""]
    for side in SIDES:
        reasons = report.refusals(side)
        if reasons:
            lines += [f"### {_md(_refused_title(side, report.tally.refused_incidents[side]))}", "",
                      "| reason | incidents |", "|---|--:|"]
            lines += [f"| {_md(reason)} | {len(ids):,} |" for reason, ids in reasons]
            lines.append("")
    if report.tally.bad:
        lines += ["### Bad lines", ""] + [f"- line {b.line}: {_md(b.message, 500)}" for b in report.tally.bad]
        lines.append("")
    title, rows = _repeated(report, _md)
    if rows:
        lines += [f"### {title}", ""] + [f"- {r}" for r in rows] + [""]
    return "\n".join(lines)


RENDER: dict[str, Callable[[ImpactReport], str]] = {"text": render_text, "json": render_json,
                                                    "markdown": render_markdown}


@contextmanager
def progress_bar(show: bool) -> Iterator[Callable[[int], None] | None]:
    """While `show`, the number of incidents decided so far on standard error, counted by the callable
    this yields (told of each chunk's size); gone from the terminal when done. Else it yields None."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("deciding"), TextColumn("{task.fields[done]:,} incidents"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("impact", total=None, done=0)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            bar.update(task, done=done)

        yield tick
