"""The text `bwc score` prints: each criterion's grade with the rules behind it, as terminal text or Markdown,
for one ruleset or two side by side (the JSON form is the tool's own, engine.tools.score.render_json).

In Markdown every string from a ruleset is escaped with policy.markdown (the escaping `bwc render` and
`bwc diff` use), so that a title or summary holding `<img ...>` or `[x](javascript:...)` shows as written."""

from __future__ import annotations

from collections.abc import Sequence

from engine.cli.text.console import Styled, say
from engine.io.output import one_line
from engine.tools.score import GRADE_WORDS, CriterionScore, Grade, RuleEvidence, Scorecard, ScoreReport
from engine.tools.score.report import SourceEvidence, Threshold
from policy.markdown import code, inline, link_target, words

_COLOUR = {Grade.FULL: "green", Grade.PARTIAL: "yellow", Grade.NONE: "red", Grade.CANNOT_TELL: "cyan"}


def _threshold(t: Threshold) -> str:
    text = f'"{t.text}"' if t.quote else t.text
    state = "verified" if t.verified else "unverified"
    return f"{t.mark}: {text} [{t.tag}, {state}; {', '.join(t.sources) or 'no source named'}]"


def _rule_line(e: RuleEvidence) -> str:
    return one_line(f"{e.rule} ({e.ruleset}; {e.cite}; confidence {e.confidence or 'not given'}): {e.why}")


def _say_criterion(c: CriterionScore) -> None:
    say(Styled(f"{c.name}: ", bold=True), Styled(c.grade_words, fg=_COLOUR[c.grade], bold=True))
    say(f"  evaluates: \"{c.evaluates}\"")
    say(f"  why: {c.reason}")
    if c.earned_by:
        say("  earned by:" if c.grade is not Grade.CANNOT_TELL else "  undecided:")
        for e in c.earned_by:
            say(f"    + {_rule_line(e)}")
            say(f"        {one_line(e.summary)}")
        if c.weakest_confidence is not None:
            say(f"  weakest confidence of these rules: {c.weakest_confidence}")
    if c.related:
        say("  bears on it:")
        for e in c.related:
            say(f"    ~ {_rule_line(e)}")
    for s in c.sources:
        say(f"  source named: {s.id} ({s.url or 'no web address'})")
    if c.missing:
        say(f"  next: {c.missing}")
    for t in c.thresholds:
        say(f"  scorecard {_threshold(t)}")


def _say_one(r: ScoreReport) -> None:
    say(Styled(r.ruleset, bold=True), f"  {one_line(r.title)} ({r.status})")
    if len(r.layers) > 1:
        say(f"layers graded, base first: {', '.join(r.layers)}")
    for c in r.criteria:
        say("")
        _say_criterion(c)


def say_score(card: Scorecard, reports: Sequence[ScoreReport]) -> None:
    """The grades (side by side when there are two rulesets), then each ruleset's grades in detail."""
    say(f"Scored against {card.title} ({card.publisher}); criteria and sources: docs/score.md")
    if len(reports) > 1:
        width = max(len(c.name) for c in reports[0].criteria) + 2
        cols = [max(len(r.ruleset), *(len(c.grade_words) for c in r.criteria)) + 2 for r in reports]
        say("")
        say(Styled("criterion".ljust(width) + "".join(r.ruleset.ljust(w) for r, w in zip(reports, cols, strict=True)),
                   bold=True))
        for i, c in enumerate(reports[0].criteria):
            say(c.name.ljust(width), *(Styled(r.criteria[i].grade_words.ljust(w), fg=_COLOUR[r.criteria[i].grade])
                                       for r, w in zip(reports, cols, strict=True)))
    for r in reports:
        say("")
        _say_one(r)
    say("")
    say(f"Note: {reports[0].caveat}")


def _md_rule(e: RuleEvidence) -> str:
    return f"{code(e.rule)} ({inline(e.cite)}; confidence {inline(e.confidence or 'not given')}): {words(e.why)}"


def _md_source(s: SourceEvidence) -> str:
    target = link_target(s.url) if s.url else None
    where = f" <{target}>" if target else f" ({inline(s.url)})" if s.url else " (no web address)"
    return f"- {code(s.id)}: {inline(s.title)}{where}"


def _markdown_criterion(c: CriterionScore) -> list[str]:
    lines = [f"### {c.name}: {c.grade_words}", "", f"Evaluates: \"{c.evaluates}\". {c.reason}."
             if not c.reason.endswith(".") else f"Evaluates: \"{c.evaluates}\". {c.reason}"]
    if c.earned_by:
        head = "Earned by" if c.grade is not Grade.CANNOT_TELL else "Undecided"
        lines += ["", f"| {head} | Ruleset | Cite | Confidence | Why it counts | Summary |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {code(e.rule, table=True)} | {code(e.ruleset, table=True)} | {inline(e.cite)} "
                  f"| {inline(e.confidence or 'not given')} | {words(e.why, table=True)} | {inline(e.summary)} |"
                  for e in c.earned_by]
    if c.related:
        lines += ["", "Bears on it:", ""]
        lines += [f"- {_md_rule(e)}" for e in c.related]
    if c.sources:
        lines += ["", "Sources the ruleset names:", ""]
        lines += [_md_source(s) for s in c.sources]
    if c.missing:
        lines += ["", f"Next: {c.missing}"]
    if c.thresholds:
        lines += ["", *[f"- Scorecard {_threshold(t)}" for t in c.thresholds]]
    return [*lines, ""]


def render_markdown(card: Scorecard, reports: Sequence[ScoreReport]) -> str:
    """Headings and tables: for an oversight board's packet or a public comment. Every string from a ruleset
    (ids, titles, cites, summaries, sources) is escaped (policy.markdown), so that none of it can become
    markup, HTML or a link, and a table row stays one line; the scorecard's own words are the tool's."""
    names = " and ".join(code(r.ruleset) for r in reports)
    lines = [f"# {names} against the body-worn camera policy scorecard", "",
             f"Scored against *{card.title}* ({card.publisher}). {reports[0].caveat}", "",
             "| Criterion | " + " | ".join(code(r.ruleset, table=True) for r in reports) + " |",
             "|---|" + "---|" * len(reports)]
    for i, c in enumerate(reports[0].criteria):
        lines.append(f"| {c.name} | " + " | ".join(r.criteria[i].grade_words for r in reports) + " |")
    for r in reports:
        lines += ["", f"## {code(r.ruleset)}: {inline(r.title)} ({inline(r.status)})", ""]
        if len(r.layers) > 1:
            lines += [f"Layers graded, base first: {', '.join(code(x) for x in r.layers)}.", ""]
        for c in r.criteria:
            lines += _markdown_criterion(c)
    return "\n".join(lines).rstrip("\n") + "\n"


__all__ = ["GRADE_WORDS", "render_markdown", "say_score"]
