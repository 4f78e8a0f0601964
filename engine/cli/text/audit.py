"""The text `bwc audit` prints: a short summary of the audit, and where its report is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.audit.findings import SEVERITIES
from engine.io.sorting import places_text
from policy.values import quoted, quoted_path

# The report's plain words for a rule that gave nothing to check (docs/audit.md, "The checks").
_SAID = {"not_applicable": "with nothing to check (rule not triggered or set aside)"}


def summary_text(summary: dict[str, Any], out_dir: Path | None = None) -> str:
    """The summary's headline numbers, the first skipped rows, and the report folder."""
    inp = summary["input"]
    sev = summary["counts"]["by_severity"]
    cov = summary["recording_coverage"]
    lines = [f"audited {inp['incidents']} incident(s) from {inp['rows']} {inp['format']} row(s) as of "
             + (summary["as_of"] or "each incident's last event"),
             "findings: " + ", ".join(f"{sev.get(s, 0)} {_SAID.get(s, s.replace('_', ' '))}" for s in SEVERITIES)]
    by_incident = summary["counts"].get("incidents", {}).get("by_severity", {})
    if by_incident:  # one incident may break several rules: findings alone overstate how many went wrong
        lines.append(f"incidents: {by_incident.get('violation', 0)} with a violation, "
                     f"{by_incident.get('at_risk', 0)} at risk, of {inp['incidents']}")
    if cov["percent"] is not None:
        lines.append(f"recording coverage: {cov['percent']}% of the time a camera had to be on")
    if inp["skipped_rows"]:
        reasons = ", ".join(f"{n} {r}" for r, n in inp["skipped_reasons"].items())
        lines.append(f"skipped: {inp['skipped_rows']} row(s), {inp['skipped_incidents']} incident(s) ({reasons})")
        for e in inp["errors"][:5]:  # ids and messages come from the data: shown as literal text
            where = f"{quoted(e['file'])}, line" if e.get("file") else "line"  # a partitioned export's file
            lines.append(f"  {where} {e['line']}" + (f" ({quoted(e['incident'])})" if e["incident"] else "")
                         + f": {quoted(e['message'], 300)}")
        if len(inp["errors"]) > 5:
            lines.append("  ... (see summary.json)")
    repeated = inp.get("repeated_ids") or {}
    if repeated.get("ids"):
        first = repeated["examples"][0]
        places = places_text(first["places"], quoted)
        lines.append(f"repeated ids: {repeated['ids']} incident id(s) given more than once, {repeated['incidents']} "
                     f"incident(s) in all, each audited and counted (first: `{quoted(first['incident'])}` at "
                     f"{places}; see summary.json)")
    if out_dir is not None:
        lines.append(f"report: {quoted_path(out_dir)}")
    return "\n".join(lines)
