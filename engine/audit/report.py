"""The audit report folder: summary.json, summary.csv, findings.csv and report.html, put in place whole.

    write_report_folder(out_dir, summary, findings)   # the folder replaced atomically
    write_reports(out_dir, summary, findings)         # the four files written into a folder

`summary` is the audit summary of docs/audit.md (as_of, rulesets, input, counts, recording_coverage);
`findings` are finding dicts (incident_id, ruleset, rule, cite, kind, check, severity, expected,
actual, missed_by, month, groups). Only violations and at-risk findings are written to
findings.csv, in the order given; the others are only counted (in the summary). Every file is
written whole or not at all, and the same input gives the same bytes. The HTML page needs no
server, no network and no JavaScript: its styles and charts (SVG) are inline.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from engine.audit.findings import SEVERITIES
from engine.io.output import open_atomic, replace_report_folder, write_text_atomic
from engine.io.sorting import places_text

SEVERITY_LABELS = {
    "violation": "Violations",
    "at_risk": "At risk",
    "compliant": "Compliant",
    "not_applicable": "Nothing to check (rule not triggered or set aside)",
}
CHECK_LABELS = {
    "camera_off_in_mandatory_window": "Camera off when recording was required",
    "recorded_while_prohibited": "Camera on when recording was not allowed",
    "no_notice": "People not told they were being recorded",
    "deleted_before_minimum": "Footage deleted before the end of its keeping period",
    "kept_past_maximum": "Footage kept after it had to be deleted",
    "viewed_while_denied": "Footage viewed by someone not allowed to view it",
    "released_late": "Footage released after the deadline",
    "not_released": "Footage not released by the deadline",
    "unredacted_release": "Footage released without the required blurring",
    "biometric_while_prohibited": "Facial recognition used where it is banned",
}
FINDING_COLUMNS = ("incident_id", "ruleset", "rule", "cite", "kind", "check", "severity", "expected", "actual",
                   "missed_by", "month")


ReportWriter = Callable[[Path, dict[str, Any], Iterable[dict[str, Any]]], None]


def write_report_folder(out_dir: Path, summary: dict[str, Any], findings: Iterable[dict[str, Any]],
                        writer: ReportWriter | None = None) -> None:
    """Write the report into a fresh folder beside `out_dir`, then put it in place
    (engine.io.output.replace_report_folder): readers see the old complete report or the new complete
    one, never a partial one, and a folder that is not a previous report is never replaced."""
    write = writer or write_reports
    replace_report_folder(out_dir, lambda folder: write(folder, summary, findings))


def write_reports(out_dir: Path | str, summary: dict[str, Any], findings: Iterable[dict[str, Any]]) -> None:
    """Write the four report files into `out_dir` (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_findings(out / "findings.csv", summary, findings)
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text_atomic(out / "summary.csv", summary_csv(summary))
    write_text_atomic(out / "report.html", render_html(summary))


# --- CSV -------------------------------------------------------------------------------------------

def _counts(summary: Mapping[str, Any]) -> Mapping[str, Any]:
    counts = summary.get("counts")
    return counts if isinstance(counts, Mapping) else {}


def _group_columns(summary: Mapping[str, Any]) -> list[str]:
    by_group = _counts(summary).get("by_group") or {}
    return sorted(by_group)


MAX_GROUP_COLUMNS = 64
"""Grouping columns findings.csv gives one column each. A JSON Lines export may give each incident groups
of its own names: with a column per name, the file would grow as rows x names (8,000 incidents, each with
a group of its own, wrote 66 MB from 2.4 MB). Past this many names, one `groups` column holds each
finding's groups as a JSON object instead."""


def _write_findings(path: Path, summary: Mapping[str, Any], findings: Iterable[dict[str, Any]]) -> None:
    """Streamed (findings can be many) into a temporary file renamed over the target when complete."""
    groups = _group_columns(summary)
    as_one = len(groups) > MAX_GROUP_COLUMNS
    with open_atomic(path) as fh:
        fh.write(csv_row((*FINDING_COLUMNS, *(("groups",) if as_one else (f"group.{g}" for g in groups)))))
        for f in findings:
            if f.get("severity") not in ("violation", "at_risk"):
                continue
            fgroups = f.get("groups") or {}
            if as_one:
                fh.write(csv_row([*map(f.get, FINDING_COLUMNS),
                                  json.dumps(fgroups, sort_keys=True, ensure_ascii=False, separators=(",", ":"))]))
            else:
                fh.write(csv_row([*map(f.get, FINDING_COLUMNS), *map(fgroups.get, groups)]))


# A cell a spreadsheet would read as a formula (`=HYPERLINK(...)`, `+1+1`, `-2+3`, `@SUM(...)`, or one
# of those after a tab or carriage return) is written with a single quote in front, as spreadsheet-safe
# CSV writers do (OWASP, "CSV injection"); a cell that already starts with a quote gets one more, so a
# reader recovers every original value the same way: drop one leading `'`. See docs/audit.md.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
# A cell is quoted when it holds a comma, a quote or a line break: one regular-expression search in C
# (findings.csv has a row per violation, and a generator over the four characters cost 0.4 µs a cell).
_NEEDS_QUOTES = re.compile('[,"\r\n]').search


def _cell(v: Any) -> str:
    """One CSV cell: numbers as numbers; text from data made inert for spreadsheets, and quoted when
    it holds a comma, a quote or a line break. (The csv module leaves a lone carriage return
    unquoted when lines end in `\n`, which splits the row for every reader: hence this writer.)"""
    if type(v) is str:  # most cells: no conversion
        text = v
    elif isinstance(v, int) and not isinstance(v, bool):
        return str(v)  # counts: never a formula, and a negative count would be a bug, not data
    else:
        text = "" if v is None else str(v)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    if _NEEDS_QUOTES(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_row(cells: Iterable[Any]) -> str:
    """One line of the report's CSV files (RFC 4180 quoting, `\n` line ends), every cell through `_cell`."""
    return ",".join(map(_cell, cells)) + "\n"


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def summary_csv(summary: Mapping[str, Any]) -> str:
    """The counts as rows: dimension, key, severity, count (groups as dimension `group.<column>`)."""
    rows = [csv_row(("dimension", "key", "severity", "count"))]
    counts = _counts(summary)
    for sev, n in _ordered(counts.get("by_severity") or {}):
        rows.append(csv_row(("severity", sev, sev, n)))
    for dim, name in (("rule", "by_rule"), ("check", "by_check"), ("month", "by_month")):
        table = counts.get(name) or {}
        for key in sorted(table):
            for sev, n in _ordered(table[key]):
                rows.append(csv_row((dim, key, sev, n)))
    by_group = counts.get("by_group") or {}
    for column in sorted(by_group):
        for value in sorted(by_group[column]):
            for sev, n in _ordered(by_group[column][value]):
                rows.append(csv_row((f"group.{column}", value, sev, n)))
    # Incidents (not findings) with at least one violation or at-risk finding; `checked` is a group's incidents.
    incidents = counts.get("incidents") or {}
    for sev, n in _ordered(incidents.get("by_severity") or {}):
        rows.append(csv_row(("incidents", sev, sev, n)))
    for dim in ("check", "rule"):
        table = incidents.get(f"by_{dim}") or {}
        for key in sorted(table):
            for sev, n in _ordered(table[key]):
                rows.append(csv_row((f"incidents.{dim}", key, sev, n)))
    inc_group = incidents.get("by_group") or {}
    for column in sorted(inc_group):
        for value in sorted(inc_group[column]):
            for sev, n in _ordered(inc_group[column][value]):
                rows.append(csv_row((f"incidents.group.{column}", value, sev, n)))
    for why, n in sorted((counts.get("not_applicable") or {}).items()):
        rows.append(csv_row(("not_applicable", why, "not_applicable", n)))
    return "".join(rows)


def _ordered(sevs: Mapping[str, int]) -> list[tuple[str, int]]:
    known = [(s, int(sevs[s])) for s in SEVERITIES if s in sevs]
    return known + [(s, int(sevs[s])) for s in sorted(sevs) if s not in SEVERITIES]


# --- HTML ------------------------------------------------------------------------------------------

CSS = """
body{font-family:Georgia,'Times New Roman',serif;color:#1d232b;background:#fff;margin:0;line-height:1.45}
main{max-width:980px;margin:0 auto;padding:28px 24px 60px}
h1{font-size:1.9em;margin:0 0 4px}h2{font-size:1.35em;margin:36px 0 8px;border-bottom:2px solid #d7dde4;
padding-bottom:4px}p.lead{color:#4a5563;margin:0 0 18px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
.card{flex:1 1 180px;border:1px solid #d7dde4;border-radius:6px;padding:12px 14px}
.card .n{font-size:2em;font-weight:bold}.card .l{color:#4a5563}
.card.violation .n{color:#b3261e}.card.at_risk .n{color:#9a5b00}.card.compliant .n{color:#1e6b35}
table{border-collapse:collapse;width:100%;margin:8px 0 4px;font-size:.95em}
th,td{border-bottom:1px solid #e3e7ec;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
svg{display:block;max-width:100%;height:auto;margin:8px 0}
svg text{font-family:Arial,Helvetica,sans-serif;font-size:12px;fill:#1d232b}
.bar.violation{fill:#b3261e}.bar.coverage{fill:#2b6cb0}.axis{stroke:#8a94a0;stroke-width:1}
.grid{stroke:#e3e7ec;stroke-width:1}.note{color:#4a5563;font-size:.92em}
dl.terms dt{font-weight:bold;margin-top:8px}dl.terms dd{margin:2px 0 0 0}
.rule-text{font-size:.92em}.cite{font-size:.85em;color:#4a5563}svg text.value{font-size:11px}
"""


def render_html(summary: Mapping[str, Any]) -> str:
    """The report page for an oversight board: headline numbers, three charts, tables of counts."""
    counts = _counts(summary)
    sev = counts.get("by_severity") or {}
    inp = summary.get("input") or {}
    rulesets = summary.get("rulesets") or []
    coverage = summary.get("recording_coverage") or {}
    by_month = counts.get("by_month") or {}
    by_rule = counts.get("by_rule") or {}
    by_check = counts.get("by_check") or {}
    by_group = counts.get("by_group") or {}
    incidents: Mapping[str, Any] = counts.get("incidents") or {}
    texts: Mapping[str, Any] = summary.get("rules") or {}
    as_of = str(summary.get("as_of") or "the last recorded event of each incident")
    n_incidents = inp.get("incidents")
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Body-worn camera compliance audit</title>",
        f"<style>{CSS}</style></head><body><main>",
        "<h1>Body-worn camera compliance audit</h1>",
        f'<p class="lead">How the agency&#39;s handling of body-worn camera footage compares with '
        f'{escape(_join(rulesets) or "the rules")}, judged as of {escape(as_of)}. '
        f'{_int(n_incidents)} incidents were checked.</p>',
        '<section class="cards">',
    ]
    inc_sev = incidents.get("by_severity") or {}
    for s in SEVERITIES:
        sub = ""
        if s in inc_sev:
            sub = f'<div class="l">in {_int(inc_sev[s])} of {_int(n_incidents)} incidents</div>'
        parts.append(f'<div class="card {s}"><div class="n">{_int(sev.get(s, 0))}</div>'
                     f'<div class="l">{escape(_severity_text(s))}</div>{sub}</div>')
    parts.append("</section>")
    parts.append('<p class="note">The large numbers count <em>findings</em>: one rule checked one way against one '
                 "incident. One act can break several rules (footage deleted early breaks every retention rule "
                 "that applied to it), so the number of <em>incidents</em> with at least one violation is given "
                 "beside it, and the rates below are per incident.</p>")
    pct = coverage.get("percent")
    if pct is not None:
        parts.append(f'<p>When the camera had to be on, it was on for <strong>{_pct(pct)}</strong> of the time '
                     f'({_hours(coverage.get("recorded_seconds"))} of {_hours(coverage.get("required_seconds"))}).</p>')

    months = sorted(by_month)
    parts.append("<h2>Violations by month</h2>")
    parts.append('<p class="note">Each bar is the number of violations found in incidents that began that month.</p>')
    parts.append(_columns_svg("violations-by-month", [(m, float((by_month[m] or {}).get("violation", 0)))
                                                      for m in months], "violation", lambda v: _int(v)))
    rules = sorted(by_rule, key=lambda r: (-int((by_rule[r] or {}).get("violation", 0)), r))
    rules = [r for r in rules if int((by_rule[r] or {}).get("violation", 0)) > 0] or rules[:0]
    parts.append("<h2>Violations by rule</h2>")
    parts.append('<p class="note">Which rules were broken, and how often (what each rule says is in the table '
                 "of results by rule).</p>")
    parts.append(_rows_svg("violations-by-rule", [(r, float(by_rule[r].get("violation", 0))) for r in rules[:25]],
                           {r: _text((texts.get(r) or {}).get("summary")) for r in rules[:25]}))
    if len(rules) > 25:
        parts.append(f'<p class="note">{len(rules) - 25} more rules with violations are in the table below.</p>')
    cov_months = coverage.get("by_month") or {}
    cov = [(m, float(cov_months[m])) for m in sorted(cov_months) if cov_months[m] is not None]
    bottom = _coverage_floor([v for _, v in cov])
    parts.append("<h2>Recording coverage by month</h2>")
    note = "Share of the time the camera was on when it had to be (100% is full compliance); each bar is labelled."
    if bottom > 0:
        note += (f" The scale runs from {_pct(bottom)} to 100%, not from 0, so that the differences between months "
                 "show: a bar half as tall is not half the coverage.")
    parts.append(f'<p class="note">{escape(note)}</p>')
    parts.append(_columns_svg("coverage-by-month", cov, "coverage", _pct_down, top=100.0, bottom=bottom,
                              labels=True))

    parts.append("<h2>Results by outcome</h2>")
    parts.append(_table(["Outcome", "Findings", "Incidents with at least one"],
                        [[_severity_text(s), _int(sev.get(s, 0)), _maybe(inc_sev, s)] for s in SEVERITIES],
                        numeric={1, 2}))
    parts.append("<h2>Results by kind of problem</h2>")
    inc_check = incidents.get("by_check") or {}
    parts.append(_sev_table("What was checked", [(escape(CHECK_LABELS.get(c, c)), by_check[c], inc_check.get(c))
                                                 for c in sorted(by_check, key=lambda c: (
                                                     -int((by_check[c] or {}).get("violation", 0)), c))], incidents))
    parts.append("<h2>Results by rule</h2>")
    inc_rule = incidents.get("by_rule") or {}
    parts.append(_sev_table("Rule", [(_rule_cell(r, texts.get(r)), by_rule[r], inc_rule.get(r)) for r in sorted(
        by_rule, key=lambda r: (-int((by_rule[r] or {}).get("violation", 0)), r))], incidents))
    inc_group = incidents.get("by_group") or {}
    for column in sorted(by_group):
        values = by_group[column] or {}
        parts.append(f"<h2>Results by {escape(column)}</h2>")
        if column in inc_group:
            parts.append('<p class="note">The rate is the share of this group&#39;s incidents with at least one '
                         "violation (not violations per finding).</p>")
        parts.append(_group_table(column, values, inc_group.get(column)))
    parts.append("<h2>The data checked</h2>")
    rows = [["Format", str(inp.get("format", ""))], ["Rows read", _int(inp.get("rows"))],
            ["Incidents checked", _int(inp.get("incidents"))], ["Rows skipped", _int(inp.get("skipped_rows"))],
            ["Incidents skipped", _int(inp.get("skipped_incidents"))]]
    repeated = inp.get("repeated_ids") or {}
    if repeated.get("ids"):
        rows.append(["Incident ids given more than once", _int(repeated.get("ids"))])
    parts.append(_table(["", ""], rows, numeric=set()))
    if repeated.get("ids"):
        parts.append(f'<p class="note">{_int(repeated.get("incidents"))} incidents share an id with another: '
                     "each was checked and counted, as the export gives it. The first of them:</p>")
        parts.append(_table(["Incident", "Times", "Where"], [
            [_text(r.get("incident")), _int(r.get("count")),
             _text(places_text(r.get("places") or [], str))] for r in repeated.get("examples") or []],
            numeric={1}))
    reasons = inp.get("skipped_reasons") or {}
    if reasons:
        parts.append(_table(["Why rows were skipped", "Count"],
                            [[k, _int(reasons[k])] for k in sorted(reasons)], numeric={1}))
    errors = inp.get("errors") or []
    if errors:
        parts.append('<p class="note">The first problems found in the input:</p>')
        parts.append(_table(["Line", "Incident", "Problem"],
                            [[_text(e.get("line")), _text(e.get("incident")), _text(e.get("message"))]
                             for e in errors[:100]], numeric={0}))
    why = counts.get("not_applicable") or {}
    why_text = ""
    if why:
        why_text = (f" Of these findings, {_int(why.get('did_not_apply'))} are rules that did not apply and "
                    f"{_int(why.get('set_aside'))} are rules set aside by another.")
    parts.append("<h2>What the words mean</h2>")
    parts.append('<dl class="terms">'
                 "<dt>Finding</dt><dd>One rule checked one way against one incident.</dd>"
                 "<dt>Violation</dt><dd>What was done broke a rule: for example the camera was off when it had "
                 "to be on, or footage was released after the deadline.</dd>"
                 "<dt>At risk</dt><dd>Nothing is broken yet, but a deadline is near (within 7 days) or a "
                 "duty is still open.</dd>"
                 "<dt>Compliant</dt><dd>What was done met the rule.</dd>"
                 f"<dt>{escape(SEVERITY_LABELS['not_applicable'])}</dt><dd>The rule asked nothing of the incident: "
                 "what triggers it did not happen, one of its conditions was not met or one of its exceptions held; "
                 f"or another rule set it aside for the incident (for example a permission to stop recording)."
                 f"{escape(why_text)}</dd></dl>")
    parts.append('<p class="note">Every violation and at-risk finding, one per line, is in findings.csv '
                 "beside this page; all counts are in summary.csv and summary.json.</p>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _maybe(table: Mapping[str, Any] | None, key: str) -> str:
    """A count of incidents, or a dash where the summary has none (a summary written before they were counted,
    or a severity incidents are not counted for)."""
    if not table or key not in table:
        return "-"
    return _int(table[key])


def _rule_cell(rule_id: str, text: Mapping[str, Any] | None) -> str:
    """A rule's id with its summary and cite, as HTML."""
    cell = f"<code>{escape(rule_id)}</code>"
    if text:
        cell += (f'<div class="rule-text">{escape(_text(text.get("summary")))}</div>'
                 f'<div class="cite">{escape(_text(text.get("cite")))}</div>')
    return cell


def _coverage_floor(values: list[float]) -> float:
    """Where the coverage axis starts: 0, unless every month is high, when the axis starts close below the
    lowest month (at a round number) so that a month at 97% and one at 99.5% do not look the same."""
    if not values:
        return 0.0
    span = (100.0 - min(values)) / 0.6  # the lowest bar fills at most 60% of the axis
    for step in (1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0):
        if span <= step:
            return 100.0 - step
    return 0.0


def _severity_text(s: str) -> str:
    return SEVERITY_LABELS.get(s, s)


def _join(items: Iterable[Any]) -> str:
    return ", ".join(str(i) for i in items)


def _int(v: Any) -> str:
    try:
        return f"{int(v or 0):,}"
    except (TypeError, ValueError):
        return escape(str(v))


def _pct(v: Any) -> str:
    try:
        return f"{float(v):.1f}%"
    except (TypeError, ValueError):
        return "-"


def _pct_down(v: Any) -> str:
    """A share rounded down to one decimal: 99.99% reads 99.9%, never 100.0% (full compliance)."""
    try:
        return f"{math.floor(float(v) * 10) / 10:.1f}%"
    except (TypeError, ValueError, OverflowError):
        return "-"


def _hours(v: Any) -> str:
    try:
        return f"{float(v or 0) / 3600:,.1f} hours"
    except (TypeError, ValueError):
        return "-"


def _table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    return _html_table(head, [[escape(c) for c in row] for row in rows], numeric)


def _html_table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    """A table whose cells are HTML already (every string from data escaped by the caller)."""
    out = ["<table><thead><tr>"]
    out += [f'<th{" class=num" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{c}</td>'
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _sev_table(label: str, rows: list[tuple[str, Mapping[str, Any], Mapping[str, Any] | None]],
               incidents: Mapping[str, Any]) -> str:
    """Findings per severity, and (when the summary counts them) incidents with a violation or at risk. The
    first cell of each row is HTML."""
    if not rows:
        return '<p class="note">Nothing to show.</p>'
    if not incidents:
        return _html_table([label, *(_severity_text(s) for s in SEVERITIES)],
                           [[name, *(_int((sevs or {}).get(s, 0)) for s in SEVERITIES)] for name, sevs, _ in rows],
                           numeric={1, 2, 3, 4})
    head = [label, "Incidents with a violation", "Violations", "Incidents at risk", "At risk", "Compliant",
            _severity_text("not_applicable")]
    return _html_table(head, [[name, _int((inc or {}).get("violation", 0)), _int((sevs or {}).get("violation", 0)),
                               _int((inc or {}).get("at_risk", 0)), _int((sevs or {}).get("at_risk", 0)),
                               _int((sevs or {}).get("compliant", 0)), _int((sevs or {}).get("not_applicable", 0))]
                              for name, sevs, inc in rows], numeric={1, 2, 3, 4, 5, 6})


def _group_table(column: str, values: Mapping[str, Any], incidents: Mapping[str, Any] | None) -> str:
    """One grouping column (district, unit): per value, its incidents and the share of them with a violation
    beside the findings."""
    if not values:
        return '<p class="note">Nothing to show.</p>'
    if incidents is None:
        return _sev_table(escape(column.capitalize()), [(escape(v), values[v], None) for v in sorted(values)], {})
    head = [column.capitalize(), "Incidents", "With a violation", "Rate (per incident)", "Violations", "At risk",
            "Compliant", _severity_text("not_applicable")]
    rows = []
    for v in sorted(values):
        sevs, inc = values[v] or {}, incidents.get(v) or {}
        checked, bad = int(inc.get("checked", 0)), int(inc.get("violation", 0))
        rate = _pct(100.0 * bad / checked) if checked else "-"
        rows.append([escape(v), _int(checked), _int(bad), rate, *(_int(sevs.get(s, 0)) for s in SEVERITIES)])
    return _html_table(head, rows, numeric={1, 2, 3, 4, 5, 6, 7})


def _hover(titles: Mapping[str, str] | None, key: str) -> str:
    text = (titles or {}).get(key)
    return f" ({text})" if text else ""


def _nice_top(v: float) -> float:
    if v <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if v <= step * 5:
            return float(step * 5)
    mag = 10 ** (len(str(int(v))) - 1)
    return float(((int(v) // mag) + 1) * mag)


def _columns_svg(ident: str, data: list[tuple[str, float]], cls: str, fmt: Any, top: float | None = None,
                 bottom: float = 0.0, labels: bool = False) -> str:
    """A vertical bar chart (one bar per month), its scale from `bottom` to `top`; with `labels`, each bar's
    value written above it."""
    if not data:
        return '<p class="note">No data for this chart.</p>'
    top = top or _nice_top(max(v for _, v in data))
    left, right, head, foot, height = 56, 12, 18, 54, 220
    slot = max(18, min(60, 880 // len(data)))
    width = left + right + slot * len(data)
    out = [f'<svg id="{ident}" class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{head + height + foot}" viewBox="0 0 {width} {head + height + foot}">']
    span = top - bottom
    for k in range(6):
        y = head + height - height * k / 5
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(bottom + span * k / 5))}'
                   "</text>")
    for i, (label, v) in enumerate(data):
        h = height * (min(v, top) - bottom) / span if span > 0 and v > bottom else 0
        x = left + i * slot + slot * 0.15
        cx = left + i * slot + slot / 2
        out.append(f'<rect class="bar {cls}" x="{x:.1f}" y="{head + height - h:.1f}" width="{slot * 0.7:.1f}" '
                   f'height="{h:.1f}"><title>{escape(label)}: {escape(fmt(v))}</title></rect>')
        if labels:
            out.append(f'<text class="value" x="{cx:.1f}" y="{head + height - h - 4:.1f}" text-anchor="middle">'
                       f"{escape(fmt(v))}</text>")
        out.append(f'<text x="{cx:.1f}" y="{head + height + 14}" text-anchor="end" '
                   f'transform="rotate(-45 {cx:.1f} {head + height + 14})">{escape(label)}</text>')
    out.append(f'<line class="axis" x1="{left}" y1="{head + height}" x2="{width - right}" y2="{head + height}"/>')
    out.append("</svg>")
    return "".join(out)


def _rows_svg(ident: str, data: list[tuple[str, float]], titles: Mapping[str, str] | None = None) -> str:
    """A horizontal bar chart (one bar per rule; `titles`: a rule's summary, shown on hover)."""
    if not data:
        return '<p class="note">No violations were found.</p>'
    top = _nice_top(max(v for _, v in data))
    label_w, bar_w, row, pad = 330, 520, 24, 24
    width = label_w + bar_w + 70
    height = pad + row * len(data) + 10
    out = [f'<svg id="{ident}" class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for i, (label, v) in enumerate(data):
        y = pad + i * row
        w = bar_w * v / top if top else 0
        short = label if len(label) <= 48 else label[:46] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(short)}</text>')
        out.append(f'<rect class="bar violation" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}">'
                   f"<title>{escape(label)}: {_int(v)}{escape(_hover(titles, label))}</title></rect>")
        out.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{_int(v)}</text>')
    out.append(f'<line class="axis" x1="{label_w}" y1="{pad - 4}" x2="{label_w}" y2="{height - 6}"/>')
    out.append("</svg>")
    return "".join(out)
