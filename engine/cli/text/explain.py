"""Explanations as text: for every rule, whether it applies and why, with each condition as written."""

from __future__ import annotations

from engine.core.explain import Check, Explanation, LayerExplanation, RuleExplanation
from engine.io.output import one_line

_NOT_IN_FORCE = "its conditions hold, but the ruleset was not in effect"


def render_text(explanation: Explanation) -> str:
    """The heading (incident, version, as-of time; whether the version was in effect), every rule of the
    selected version, then every rule of each other version the decision weighs, under its own heading."""
    ex = explanation
    lines = [f"Incident {ex.incident_id} under {ex.ruleset} as of {ex.as_of}"]
    if not ex.in_force:
        lines.append("This ruleset was not in effect on the incident's first day: nothing is decided under it, "
                     "whatever its rules' conditions found.")
    lines.append("")
    _rules(lines, ex.rules, ex.in_force)
    for layer in ex.layers:
        lines.append(_heading(layer, ex.ruleset))
        lines.append("")
        _rules(lines, layer.rules, layer.in_force)
    return "\n".join(lines)


def _heading(layer: LayerExplanation, selected: str) -> str:
    if layer.role == "base":
        return f"Rules of {layer.ruleset}, which {selected} extends" + (
            "" if layer.in_force else " (not in effect on the incident's first day: nothing is decided under it)")
    if layer.role == "amendment":
        return (f"Rules of {layer.ruleset} that apply to footage already kept (each replaces this version's rule "
                "of the same id)")
    return f"Conduct rules of {layer.ruleset}: they bound the actions taken while it was in force"


def _rules(lines: list[str], rules: list[RuleExplanation], in_force: bool) -> None:
    for r in rules:
        mark = ("APPLIES" if in_force else _NOT_IN_FORCE) if r.fired else "does not apply"
        lines.append(f"{'✓' if r.fired else '·'} {r.rule}: {mark}  [{one_line(r.cite)}]")
        lines.append(f"    {one_line(r.summary)}")
        if not r.fired:
            lines.append(f"    why not: {r.reason}")
        for t in r.triggers:
            lines.append(f"    triggered by {t}")
        for c in r.checks:
            lines.extend(_render_check(c, 2))
        lines.append("")


def _render_check(c: Check, depth: int) -> list[str]:
    pad = "    " * (depth - 1)
    line = f"{pad}{'✓' if c.ok else '✗'} {c.text}" + (f" — {c.detail}" if c.detail else "")
    out = [line]
    for child in c.children:
        out.extend(_render_check(child, depth + 1))
    return out
