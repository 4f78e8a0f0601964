"""Explanations as text: for every rule, whether it applies and why, with each condition as written."""

from __future__ import annotations

from engine.core.explain import Check, RuleExplanation


def render_text(explanations: list[RuleExplanation]) -> str:
    lines: list[str] = []
    for ex in explanations:
        mark = "APPLIES" if ex.fired else "does not apply"
        lines.append(f"{'✓' if ex.fired else '·'} {ex.rule}: {mark}  [{ex.cite}]")
        lines.append(f"    {ex.summary}")
        if not ex.fired:
            lines.append(f"    why not: {ex.reason}")
        for t in ex.triggers:
            lines.append(f"    triggered by {t}")
        for c in ex.checks:
            lines.extend(_render_check(c, 2))
        lines.append("")
    return "\n".join(lines)


def _render_check(c: Check, depth: int) -> list[str]:
    pad = "    " * (depth - 1)
    line = f"{pad}{'✓' if c.ok else '✗'} {c.text}" + (f" — {c.detail}" if c.detail else "")
    out = [line]
    for child in c.children:
        out.extend(_render_check(child, depth + 1))
    return out
