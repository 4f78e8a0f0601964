"""A ruleset document, or two side by side, as Markdown: for a pull request, a wiki or a comment-period page.

Every string from a ruleset is data, and Markdown reads punctuation as markup: text from the ruleset is
written through policy.markdown (the escaping `bwc diff` and `bwc score` share), with each character that
could start markup escaped (`*`, `_`, `[`, `]`, `<`, `>`, `|`, `&`, ...), its line breaks folded into
spaces, and a line-opening `#`, `-`, `+`, `=` or `1.` escaped, so that a summary holding
`[x](javascript:...)`, `<script>` or a table's `|` shows as the characters it holds. Names are code spans
(inert in every Markdown reader), and links are made only from a source's `url`, which the model holds to
http and https.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.tools.render.document import (
    TOPICS,
    BaseLayer,
    ComparisonDocument,
    Layer,
    RulesetDocument,
    RuleView,
    SourceView,
    names,
)
from policy.markdown import block, code, inline, link, opening, phrase, words


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _paragraphs(text: str) -> list[str]:
    """The drafter's notes, paragraph by paragraph, with the names they put between backticks as names."""
    return [opening(words(phrase(p.strip()))) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _quote(text: str) -> list[str]:
    """Notes as a block quote, one quoted paragraph per paragraph of the notes."""
    out: list[str] = []
    for p in _paragraphs(text):
        out += [">", f"> {p}"] if out else [f"> {p}"]
    return out


def _facts(layer: Layer) -> list[str]:
    rows = [("Ruleset", code(layer.ruleset, table=True)), ("Version", code(layer.version, table=True)),
            ("Status", inline(layer.status)), ("In force", inline(layer.in_force)),
            ("Content digest", code(layer.digest, table=True)), ("Drafted by", inline(layer.drafted_by))]
    if layer.supersedes:
        rows.append(("Supersedes", code(layer.supersedes, table=True)))
    if layer.corrects:
        rows.append(("Corrects", code(layer.corrects, table=True) + " (a better reading of the same law, same dates)"))
    if layer.extends:
        rows.append(("Builds on", inline(layer.extends)))
    rows.append(("Time zone", code(layer.timezone, table=True)))
    return ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


def _confidence(rule: RuleView) -> str:
    if rule.confidence is None:
        return rule.confidence_meaning
    text = f"{rule.confidence.value} ({rule.confidence_meaning})"
    return f"**⚠ {text}**" if rule.confidence.value == "unverified" else text


def _cite(rule: RuleView) -> str:
    if rule.source is None:
        return inline(rule.cite)
    clause = f"{inline(rule.clause)} of " if rule.clause else ""
    return f"{clause}{link(rule.source.title, rule.source.url)} (source {code(rule.source.id)})"


def _rule(rule: RuleView, level: int) -> list[str]:
    lines = [f"{'#' * level} {code(rule.id)}", "", block(rule.summary), "",
             f"- **Cited clause:** {_cite(rule)}",
             f"- **Confidence:** {_confidence(rule)}",
             f"- **What the file encodes:** {words(rule.about)}, {inline(rule.effect)}. {words(rule.requires)}.",
             f"- **Applies:** {words(rule.applies) if rule.applies else 'to every incident (no condition)'}"]
    if rule.sets_aside:
        lines.append(f"- **Sets aside:** {words(names(rule.sets_aside))}")
    lines += [f"- **Scope:** {inline(s)}" for s in rule.scope]
    if rule.notes:
        lines.append(f"- **Notes:** {' '.join(_paragraphs(rule.notes))}")
    return [*lines, ""]


def _topics(layer: Layer, level: int) -> list[str]:
    lines: list[str] = []
    for i, t in enumerate(layer.topics, 1):
        lines += [f"{'#' * level} {i}. {t.topic.title}", "", f"*{t.topic.covers}*", ""]
        if not t.rules:
            lines += ["This ruleset has no rules on this topic.", ""]
        for r in t.rules:
            lines += _rule(r, level + 1)
    return lines


def _source(s: SourceView) -> str:
    dated = f", dated {s.date.isoformat()}" if s.date else ""
    cited = f"cited by {_plural(len(s.cited_by), 'rule')}" if s.cited_by else "cited by no rule"
    return f"- {code(s.id)}: {link(s.title, s.url)}{dated}; {cited}"


def _how_to_read() -> list[str]:
    return ["## How to read this document", "",
            "Each rule is shown twice. First in the drafter's own words: its summary, the clause it cites "
            "and the source that clause is in, how sure the drafter is of the reading, and the drafter's "
            "notes. Then what the file actually encodes, in words generated from the rule itself: what it is "
            "about, whether it is a duty (must), a permission (may) or a ban (must not), the durations and "
            "deadlines it sets, and when it applies. If the two disagree, the file is wrong: say so in your "
            "comment, naming the rule's id.", "",
            "Confidence: **verified** means checked against the official text; **secondary**, taken from a "
            "summary, news report or other secondary source; **⚠ unverified**, recalled or inferred, and "
            "needs checking.", ""]


def _contents(entries: Iterable[tuple[str, str]]) -> list[str]:
    return ["## Contents", "", *(f"- [{label}](#{anchor})" for label, anchor in entries), ""]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading written here (fixed words and digits only, never ruleset text)."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def _base(base: BaseLayer, n: int) -> list[str]:
    b = base.layer
    accepted = ", ".join(code(ref) for ref in base.accepted)
    lines = [f"### Base layer {n}: {inline(b.title)}", "",
             f"Shown: {code(b.ref)}. Versions the range accepts: {accepted}. A decision applies the rules of "
             "the accepted version in force on the incident's date as well as those above; where the two "
             "contradict, the base prevails, unless a rule above sets a base rule aside by name.", "",
             *_facts(b), ""]
    if b.notes:
        lines += ["**Notes on this encoding:**", "", *_quote(b.notes), ""]
    lines += _topics(b, 4)
    lines += ["**Sources of the base layer:**", "", *(_source(s) for s in b.sources), ""]
    return lines


def ruleset_markdown(doc: RulesetDocument) -> str:
    """One ruleset version as a Markdown document."""
    layer = doc.layer
    topic_headings = [f"{i}. {t.topic.title}" for i, t in enumerate(layer.topics, 1)]
    toc = [("How to read this document", "how-to-read-this-document")]
    if layer.notes:
        toc.append(("Notes on this encoding", "notes-on-this-encoding"))
    toc += [(f"{h} ({_plural(len(t.rules), 'rule')})", _anchor(h)) for h, t in zip(topic_headings, layer.topics,
                                                                                   strict=True)]
    if doc.bases:
        toc.append(("The base layer", "the-base-layer"))
    toc.append(("Sources", "sources"))
    lines = [f"# {block(layer.title)}", "", f"{code(layer.ref)}: {inline(layer.status)}, in force "
             f"{inline(layer.in_force)}; {_plural(layer.rule_count, 'rule')}.", "", *_facts(layer), "",
             *_contents(toc), *_how_to_read()]
    if layer.notes:
        lines += ["## Notes on this encoding", "", *_quote(layer.notes), ""]
    lines += _topics(layer, 2)
    if doc.bases:
        lines += ["## The base layer", "",
                  f"This ruleset builds on another (`extends`: {inline(layer.extends or '')}). Its rules are "
                  "part of every decision made under this one; they follow.", ""]
        for n, base in enumerate(doc.bases, 1):
            lines += _base(base, n)
    lines += ["## Sources", "", *(_source(s) for s in layer.sources), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _cell(rule: RuleView | None, other: RuleView | None) -> str:
    if rule is None:
        return f"*no rule {code(other.id, table=True)}*" if other is not None else ""
    cite = inline(rule.cite)
    conf = rule.confidence.value if rule.confidence is not None else "confidence not stated"
    if conf == "unverified":
        conf = "**⚠ unverified**"
    return (f"**{code(rule.id, table=True)}** {inline(rule.summary.strip())} ({cite}; {conf}). "
            f"*Encodes:* {words(rule.requires, table=True)}.")


def comparison_markdown(doc: ComparisonDocument) -> str:
    """Two rulesets side by side, topic by topic, as Markdown tables."""
    left, right = doc.left, doc.right
    head = f"| | {code(left.ref, table=True)} | {code(right.ref, table=True)} |"
    facts = [head, "|---|---|---|",
             f"| Title | {inline(left.title)} | {inline(right.title)} |",
             f"| Status | {inline(left.status)} | {inline(right.status)} |",
             f"| In force | {inline(left.in_force)} | {inline(right.in_force)} |",
             f"| Content digest | {code(left.digest, table=True)} | {code(right.digest, table=True)} |",
             f"| Drafted by | {inline(left.drafted_by)} | {inline(right.drafted_by)} |",
             f"| Rules | {left.rule_count} | {right.rule_count} |"]
    if left.extends or right.extends:
        facts.append(f"| Builds on | {inline(left.extends or '(nothing)')} | {inline(right.extends or '(nothing)')} |")
    headings = [f"{i}. {t.title}" for i, t in enumerate(TOPICS, 1)]
    lines = [f"# Side by side: {code(left.ref)} and {code(right.ref)}", "", *facts, "",
             *_contents((h, _anchor(h)) for h in headings),
             "Rules with the same id sit on the same row; each side's other rules follow in its own order. "
             "The summaries are the drafters' words; *Encodes* is generated from each rule. Notes and base "
             "layers are in each ruleset's own document (`bwc render ID@VERSION`).", ""]
    if left.extends or right.extends:
        lines += ["Only each ruleset's own rules are compared here, not those of the rulesets they build on.", ""]
    for heading, t in zip(headings, doc.topics, strict=True):
        lines += [f"## {heading}", "", f"*{t.topic.covers}*", ""]
        if not t.pairs:
            lines += ["Neither ruleset has rules on this topic.", ""]
            continue
        lines += [f"| {code(left.ref, table=True)} | {code(right.ref, table=True)} |", "|---|---|"]
        lines += [f"| {_cell(a, b)} | {_cell(b, a)} |" for a, b in t.pairs]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


__all__ = ["comparison_markdown", "ruleset_markdown"]
