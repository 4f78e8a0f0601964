"""A ruleset document, or two side by side, as one self-contained HTML page for public review.

The page needs no server, no network and no script: its styles are inline and it loads nothing (no
fonts, no images), so it can be mailed, attached to a docket or printed; a print style sheet keeps each
rule on one page and prints each source's address after its link. Every string from a ruleset is
escaped (`html.escape`, quotes included), and a link is made only from a source's `url`, which the model
holds to http and https.
"""

from __future__ import annotations

from html import escape

from engine.tools.render.document import (
    CONFIDENCE_MEANINGS,
    TOPICS,
    BaseLayer,
    ComparisonDocument,
    Layer,
    Phrase,
    RulesetDocument,
    RuleView,
    SourceView,
    names,
    phrase,
)
from policy.model import Confidence

CSS = """
:root{--ink:#1d232b;--muted:#4a5563;--rule:#d7dde4;--soft:#f4f6f8;--ok:#1e6b35;--warn:#8a5300;--bad:#a4211b}
*{box-sizing:border-box}
body{font-family:Georgia,'Times New Roman',serif;color:var(--ink);background:#fff;margin:0;line-height:1.5}
main{max-width:1060px;margin:0 auto;padding:32px 28px 64px}
main.compare{max-width:1320px}
h1{font-size:1.85em;line-height:1.2;margin:6px 0 10px}
h2{font-size:1.4em;margin:40px 0 6px;border-bottom:2px solid var(--rule);padding-bottom:4px}
h3{font-size:1.15em;margin:28px 0 6px}
h4{font-size:1em;margin:0}
code{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.86em;background:var(--soft);
padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
a{color:#1f4f8a}
.kicker{font-family:Arial,Helvetica,sans-serif;text-transform:uppercase;letter-spacing:.08em;font-size:.78em;
color:var(--muted);margin:0}
.ref{margin:0 0 14px;font-family:Arial,Helvetica,sans-serif}
.status{display:inline-block;font-family:Arial,Helvetica,sans-serif;font-size:.8em;font-weight:bold;
text-transform:uppercase;letter-spacing:.05em;padding:2px 8px;border-radius:10px;border:1px solid}
.status-adopted{color:var(--ok)}.status-draft,.status-proposed{color:var(--warn)}
.status-superseded,.status-repealed{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0;padding:14px 16px;
border:1px solid var(--rule);border-radius:6px;background:var(--soft);font-size:.95em}
dl.facts dt{font-family:Arial,Helvetica,sans-serif;font-weight:bold;color:var(--muted);font-size:.85em;
padding-top:2px}
dl.facts dd{margin:0;overflow-wrap:anywhere}
nav.toc ul{margin:4px 0;padding-left:22px}nav.toc li{margin:2px 0}
.count{font-family:Arial,Helvetica,sans-serif;font-weight:normal;font-size:.6em;color:var(--muted);
margin-left:8px}
p.covers{color:var(--muted);font-style:italic;margin:0 0 12px}
.legend{display:grid;grid-template-columns:max-content 1fr;gap:6px 12px;align-items:center}
.notes-block{border-left:4px solid var(--rule);padding:2px 14px;color:#2d3540;white-space:pre-line;margin:8px 0}
article.rule{border:1px solid var(--rule);border-left:6px solid var(--rule);border-radius:6px;margin:14px 0;
padding:12px 16px 14px;break-inside:avoid;page-break-inside:avoid}
article.rule.confidence-verified{border-left-color:var(--ok)}
article.rule.confidence-secondary{border-left-color:#c98a1a}
article.rule.confidence-unverified{border-left-color:var(--bad);border-left-style:double;border-left-width:8px;
background:#fff8f7}
.rule-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:10px;margin-bottom:6px}
.rule-head h3,.rule-head h4,.rule-head h5{margin:0;font-size:1em}
.badge{font-family:Arial,Helvetica,sans-serif;font-size:.74em;font-weight:bold;text-transform:uppercase;
letter-spacing:.05em;padding:2px 7px;border-radius:3px;border:1px solid;white-space:nowrap}
.badge.confidence-verified{color:var(--ok)}
.badge.confidence-secondary{color:var(--warn)}
.badge.confidence-unverified{color:#fff;background:var(--bad);border-color:var(--bad)}
.badge.confidence-none{color:var(--muted)}
.pair{display:grid;grid-template-columns:minmax(0,1.15fr) minmax(0,1fr);gap:18px}
.summary{font-size:1.08em;margin:0 0 8px}
.cite{margin:0 0 6px;font-size:.95em}
.label{font-family:Arial,Helvetica,sans-serif;font-size:.72em;font-weight:bold;text-transform:uppercase;
letter-spacing:.06em;color:var(--muted);margin-right:6px}
.warning{font-family:Arial,Helvetica,sans-serif;font-size:.88em;color:var(--bad);font-weight:bold;margin:0 0 8px}
.rule .notes{font-size:.92em;color:#2d3540;border-left:3px solid var(--rule);padding-left:10px;margin:8px 0 0;
white-space:pre-line}
.encoded{background:var(--soft);border-radius:4px;padding:8px 12px;font-family:Arial,Helvetica,sans-serif;
font-size:.86em}
.encoded dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 10px;margin:4px 0 0}
.encoded dt{color:var(--muted);font-weight:bold}.encoded dd{margin:0}
.encoded code{background:#fff}
.base{border-top:3px double var(--rule);margin-top:48px;padding-top:10px}.base>h2{margin-top:4px}
ol.sources li{margin:6px 0}
.pairs{display:grid;grid-template-columns:1fr 1fr;gap:0 18px}
.pairs .side-head{font-family:Arial,Helvetica,sans-serif;font-weight:bold;font-size:.85em;padding:6px 8px;
background:var(--soft);border-radius:4px;margin-top:8px}
.pairs article.rule{margin:8px 0}
.absent{align-self:start;border:1px dashed var(--rule);border-radius:6px;margin:8px 0;padding:12px 16px;
color:var(--muted);font-style:italic}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.sides h2{margin-top:8px;font-size:1.15em;border:0}
footer{margin-top:48px;color:var(--muted);font-size:.85em;border-top:1px solid var(--rule);padding-top:10px}
@media (max-width:760px){.pair,.pairs,.sides{grid-template-columns:1fr}}
@page{margin:16mm 14mm}
@media print{
body{font-size:10pt}main,main.compare{max-width:none;padding:0}
h2{break-after:avoid;page-break-after:avoid}
a{color:inherit;text-decoration:none}
.cite a[href]::after{content:" <" attr(href) ">";font-size:.85em;overflow-wrap:anywhere;color:var(--muted)}
article.rule.confidence-unverified{background:none}
}
"""

_BADGES = {Confidence.VERIFIED: "Verified", Confidence.SECONDARY: "Secondary", Confidence.UNVERIFIED: "Unverified"}


def _e(text: str) -> str:
    return escape(text, quote=True)


def _words(p: Phrase) -> str:
    return "".join(f"<code>{_e(s.text)}</code>" if s.name else _e(s.text) for s in p)


def _notes(text: str) -> str:
    """The drafter's notes, with the names they put between backticks (`left_scene`) shown as names."""
    return _words(phrase(text))


def _link(label: str, url: str | None) -> str:
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a href="{_e(url)}">{_e(label)}</a>'
    return _e(label)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _page(title: str, body: list[str], *, wide: bool = False, generator: str = "bwc render", css: str = "") -> str:
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{_e(generator)}">',
        # A page that cannot fetch or run anything, even if a string escaped somewhere it should not have.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_e(title)}</title>", f"<style>{CSS}{css}</style></head><body>",
        f'<main{" class=compare" if wide else ""}>', *body, "</main></body></html>", ""])


def _facts(layer: Layer) -> str:
    rows = [("Ruleset", f"<code>{_e(layer.ruleset)}</code>"), ("Version", f"<code>{_e(layer.version)}</code>"),
            ("Status", _e(layer.status)), ("In force", _e(layer.in_force)),
            ("Content digest", f"<code>{_e(layer.digest)}</code>"), ("Drafted by", _e(layer.drafted_by))]
    if layer.supersedes:
        rows.append(("Supersedes", f"<code>{_e(layer.supersedes)}</code>"))
    if layer.corrects:
        rows.append(("Corrects", f"<code>{_e(layer.corrects)}</code>: a better reading of the same law, in force "
                                 "on the same dates"))
    if layer.extends:
        rows.append(("Builds on", _e(layer.extends)))
    rows.append(("Time zone", f"<code>{_e(layer.timezone)}</code>"))
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _status(status: str) -> str:
    return f'<span class="status status-{_e(status)}">{_e(status)}</span>'


def _badge(rule: RuleView) -> str:
    if rule.confidence is None:
        return '<span class="badge confidence-none" title="confidence not stated">Confidence not stated</span>'
    c = rule.confidence
    return (f'<span class="badge confidence-{c.value}" title="{_e(CONFIDENCE_MEANINGS[c])}">'
            f"{'⚠ ' if c is Confidence.UNVERIFIED else ''}{_BADGES[c]}</span>")


def _cite(rule: RuleView) -> str:
    if rule.source is None:
        return _e(rule.cite)
    clause = f"<strong>{_e(rule.clause)}</strong> of " if rule.clause else ""
    return f"{clause}{_link(rule.source.title, rule.source.url)}"


def _encoded(rule: RuleView, *, compact: bool = False) -> str:
    rows = [("About", _words(rule.about)), ("Effect", _e(rule.effect)), ("Requires", _words(rule.requires)),
            ("Applies", _words(rule.applies) if rule.applies else "to every incident (no condition)")]
    if rule.sets_aside:
        rows.append(("Sets aside", _words(names(rule.sets_aside))))
    rows += [("Scope", _e(s)) for s in rule.scope]
    if not compact:
        conf = f"{rule.confidence.value}: " if rule.confidence is not None else ""
        rows.append(("Confidence", _e(conf + rule.confidence_meaning)))
    return ('<div class="encoded"><span class="label">What the file encodes</span><dl>'
            + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl></div>")


def _rule(rule: RuleView, level: int, prefix: str, *, compact: bool = False) -> str:
    conf = rule.confidence.value if rule.confidence is not None else "none"
    h = f"h{min(level, 6)}"
    words = [f'<p class="summary">{_e(rule.summary)}</p>',
             f'<p class="cite"><span class="label">Cited clause</span>{_cite(rule)}</p>']
    if rule.confidence is Confidence.UNVERIFIED:
        words.insert(0, '<p class="warning">⚠ Unverified reading: recalled or inferred; needs checking against '
                        "the source.</p>")
    if rule.notes and not compact:
        words.append(f'<div class="notes"><span class="label">Notes</span>{_notes(rule.notes)}</div>')
    body = (f'<div>{"".join(words)}{_encoded(rule, compact=True)}</div>' if compact
            else f'<div class="pair"><div class="words">{"".join(words)}</div>{_encoded(rule)}</div>')
    return (f'<article class="rule confidence-{conf}" id="{_e(prefix)}rule-{_e(rule.id)}">'
            f'<div class="rule-head"><{h}><code>{_e(rule.id)}</code></{h}>{_badge(rule)}</div>{body}</article>')


def _topic_id(prefix: str, key: str) -> str:
    return f"{prefix}topic-{key}"


def _topics(layer: Layer, level: int, prefix: str) -> list[str]:
    out = []
    for i, t in enumerate(layer.topics, 1):
        h = f"h{level}"
        out.append(f'<section class="topic" id="{_topic_id(prefix, t.topic.key)}">'
                   f'<{h}>{i}. {_e(t.topic.title)}<span class="count">{_plural(len(t.rules), "rule")}</span></{h}>'
                   f'<p class="covers">{_e(t.topic.covers)}</p>')
        if not t.rules:
            out.append("<p>This ruleset has no rules on this topic.</p>")
        out += [_rule(r, level + 1, prefix) for r in t.rules]
        out.append("</section>")
    return out


def _sources(sources: tuple[SourceView, ...]) -> str:
    items = []
    for s in sources:
        dated = f", dated {_e(s.date.isoformat())}" if s.date else ""
        cited = (f"cited by {_plural(len(s.cited_by), 'rule')}: " + ", ".join(
            f"<code>{_e(r)}</code>" for r in s.cited_by)) if s.cited_by else "cited by no rule"
        url = f'<br><span class="label">Address</span><code>{_e(s.url)}</code>' if s.url else ""
        items.append(f"<li><code>{_e(s.id)}</code>: {_link(s.title, s.url)}{dated}; {cited}{url}</li>")
    return '<ol class="sources">' + "".join(items) + "</ol>"


def _how_to_read() -> str:
    legend = "".join(f'<span class="badge confidence-{c.value}">{"⚠ " if c is Confidence.UNVERIFIED else ""}'
                     f"{_BADGES[c]}</span><span>{_e(CONFIDENCE_MEANINGS[c])}</span>" for c in Confidence)
    return ('<section id="how-to-read"><h2>How to read this document</h2>'
            "<p>Each rule is shown twice. On the left, in the drafter&#39;s own words: its summary, the clause it "
            "cites and the source that clause is in, and the drafter&#39;s notes. On the right, what the file "
            "actually encodes, in words generated from the rule itself: what it is about, whether it is a duty "
            "(must), a permission (may) or a ban (must not), the durations and deadlines it sets, and when it "
            "applies. If the two disagree, the file is wrong: say so in your comment, naming the rule&#39;s "
            "id.</p><p>How sure the drafter is of each reading:</p>"
            f'<div class="legend">{legend}</div></section>')


def _title_block(layer: Layer) -> list[str]:
    return ['<header class="title-block"><p class="kicker">Body-worn camera ruleset</p>',
            f"<h1>{_e(layer.title)}</h1>",
            f'<p class="ref"><code>{_e(layer.ref)}</code> {_status(layer.status)} '
            f"{_plural(layer.rule_count, 'rule')}</p>", _facts(layer), "</header>"]


def _base(base: BaseLayer, n: int) -> list[str]:
    b = base.layer
    prefix = f"base{n}-"
    accepted = ", ".join(f"<code>{_e(r)}</code>" for r in base.accepted)
    out = [f'<section class="base" id="base-{n}"><p class="kicker">Base layer {n}</p><h2>{_e(b.title)}</h2>',
           f'<p class="ref"><code>{_e(b.ref)}</code> {_status(b.status)} {_plural(b.rule_count, "rule")}</p>',
           f"<p>Shown: <code>{_e(b.ref)}</code>. Versions the range accepts: {accepted}. A decision applies the "
           "rules of the accepted version in force on the incident&#39;s date as well as those above; where the "
           "two contradict, the base prevails, unless a rule above sets a base rule aside by name.</p>",
           _facts(b)]
    if b.notes:
        out.append(f'<h3>Notes on this encoding</h3><div class="notes-block">{_notes(b.notes)}</div>')
    out += _topics(b, 3, prefix)
    out += [f"<h3>Sources of the base layer</h3>{_sources(b.sources)}", "</section>"]
    return out


def ruleset_html(doc: RulesetDocument) -> str:
    """One ruleset version as a page: title block, contents, rules by topic, base layers, sources."""
    layer = doc.layer
    toc = ['<li><a href="#how-to-read">How to read this document</a></li>']
    if layer.notes:
        toc.append('<li><a href="#notes">Notes on this encoding</a></li>')
    toc += [f'<li><a href="#{_topic_id("", t.topic.key)}">{i}. {_e(t.topic.title)}</a> '
            f'({_plural(len(t.rules), "rule")})</li>' for i, t in enumerate(layer.topics, 1)]
    toc += [f'<li><a href="#base-{n}">Base layer {n}: <code>{_e(b.layer.ref)}</code></a></li>'
            for n, b in enumerate(doc.bases, 1)]
    toc.append('<li><a href="#sources">Sources</a></li>')
    body = [*_title_block(layer), f'<nav class="toc"><h2>Contents</h2><ul>{"".join(toc)}</ul></nav>', _how_to_read()]
    if layer.notes:
        body.append(f'<section id="notes"><h2>Notes on this encoding</h2>'
                    f'<div class="notes-block">{_notes(layer.notes)}</div></section>')
    if doc.bases:
        body.append(f"<p><strong>This ruleset builds on another</strong> (<code>extends</code>: "
                    f"{_e(layer.extends or '')}): the rules of its base layer, shown after its own, are part of "
                    "every decision made under it.</p>")
    body += _topics(layer, 2, "")
    for n, base in enumerate(doc.bases, 1):
        body += _base(base, n)
    body.append(f'<section id="sources"><h2>Sources</h2>{_sources(layer.sources)}</section>')
    body.append(f"<footer>Rendered by <code>bwc render</code> from <code>{_e(layer.ref)}</code>, content digest "
                f"<code>{_e(layer.digest)}</code>. The summaries, cited clauses and notes are the drafter&#39;s; "
                "&ldquo;What the file encodes&rdquo; is generated from the rules.</footer>")
    return _page(f"{layer.title} ({layer.ref})", body)


def comparison_html(doc: ComparisonDocument) -> str:
    """Two rulesets side by side: their title blocks, then each topic with rules of the same id on one row."""
    left, right = doc.left, doc.right
    sides = "".join(f'<div><p class="kicker">{side}</p><h2>{_e(x.title)}</h2><p class="ref"><code>{_e(x.ref)}</code> '
                    f'{_status(x.status)} {_plural(x.rule_count, "rule")}</p>{_facts(x)}</div>'
                    for side, x in (("Left", left), ("Right", right)))
    toc = "".join(f'<li><a href="#{_topic_id("", t.key)}">{i}. {_e(t.title)}</a></li>' for i, t in enumerate(TOPICS, 1))
    body = ['<header class="title-block"><p class="kicker">Body-worn camera rulesets side by side</p>',
            f"<h1><code>{_e(left.ref)}</code> and <code>{_e(right.ref)}</code></h1></header>",
            f'<section class="sides">{sides}</section>',
            f'<nav class="toc"><h2>Contents</h2><ul>{toc}</ul></nav>',
            "<p>Rules with the same id sit on the same row; each side&#39;s other rules follow in its own order. "
            "The summaries are the drafters&#39; words; &ldquo;What the file encodes&rdquo; is generated from each "
            "rule. Notes and base layers are in each ruleset&#39;s own document "
            "(<code>bwc render ID@VERSION</code>).</p>"]
    if left.extends or right.extends:
        body.append("<p>Only each ruleset&#39;s own rules are compared here, not those of the rulesets they build "
                    "on.</p>")
    heads = (f'<div class="side-head"><code>{_e(left.ref)}</code></div>'
             f'<div class="side-head"><code>{_e(right.ref)}</code></div>')
    for i, t in enumerate(doc.topics, 1):
        n_left = sum(a is not None for a, _ in t.pairs)
        n_right = sum(b is not None for _, b in t.pairs)
        body.append(f'<section class="topic" id="{_topic_id("", t.topic.key)}"><h2>{i}. {_e(t.topic.title)}'
                    f'<span class="count">{n_left} on the left, {n_right} on the right</span></h2>'
                    f'<p class="covers">{_e(t.topic.covers)}</p>')
        if not t.pairs:
            body.append("<p>Neither ruleset has rules on this topic.</p></section>")
            continue
        cells = [heads]
        for a, b in t.pairs:
            for mine, other, side in ((a, b, "left-"), (b, a, "right-")):
                if mine is not None:
                    cells.append(_rule(mine, 3, side, compact=True))
                else:
                    assert other is not None
                    cells.append(f'<div class="absent">No rule <code>{_e(other.id)}</code> here.</div>')
        body.append(f'<div class="pairs">{"".join(cells)}</div></section>')
    body.append(f"<footer>Rendered by <code>bwc render --compare</code>: <code>{_e(left.ref)}</code> "
                f"(<code>{_e(left.digest)}</code>) and <code>{_e(right.ref)}</code> "
                f"(<code>{_e(right.digest)}</code>).</footer>")
    return _page(f"{left.ref} and {right.ref} side by side", body, wide=True)


__all__ = ["CSS", "comparison_html", "ruleset_html"]
