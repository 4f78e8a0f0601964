"""What changed between two ruleset versions, as one self-contained HTML page for a public comment period
(`bwc diff --format html`).

The page has the order of `policy.diff`'s text: the duties first, in each rule's own summary (the drafter's
words), then when the changed rules apply and for how long, then citations and notes, and the ruleset's
header last. It is the page of `bwc render` (its styles, its escaping, its Content-Security-Policy that lets
it fetch and run nothing): no script, nothing loaded, every string from the rulesets escaped.
"""

from __future__ import annotations

from engine.tools.render.document import phrase
from engine.tools.render.html import _e, _page, _plural, _words
from policy.diff import METADATA, OBLIGATION, TERMS, Change, RuleChange, RulesetDiff, same_changes

_CSS = """
ul.changes{list-style:none;padding-left:0;margin:6px 0}
ul.changes>li{margin:4px 0}
ul.items{list-style:none;margin:2px 0 6px;padding-left:18px}
.mark{display:inline-block;min-width:5.6em;margin-right:6px;font-family:Arial,Helvetica,sans-serif;font-size:.74em;font-weight:bold;
text-transform:uppercase;letter-spacing:.05em}
.mark.added{color:var(--ok)}.mark.removed{color:var(--bad)}.mark.changed{color:var(--warn)}
p.was{color:var(--muted);margin:0 0 6px}
p.applies{font-family:Arial,Helvetica,sans-serif;font-size:.9em;margin:0 0 6px}
table.header{border-collapse:collapse;width:100%;font-size:.95em}
table.header td{border-top:1px solid var(--rule);padding:4px 8px;vertical-align:top}
table.header td:first-child{font-family:Arial,Helvetica,sans-serif;color:var(--muted);white-space:nowrap}
"""

_MARKS = {"added": "Added", "removed": "Removed", "changed": "Changed"}


def _mark(kind: str) -> str:
    return f'<span class="mark {kind}">{_MARKS[kind]}</span>'


def _text(text: str) -> str:
    """A generated line: names between backticks shown as names, everything escaped."""
    return _words(phrase(text))


def _changes(changes: list[Change]) -> str:
    items = []
    for ch in changes:
        if ch.items:
            inner = "".join(f"<li>{_mark('added')}{_text(x)}</li>" for x in ch.added)
            inner += "".join(f"<li>{_mark('removed')}{_text(x)}</li>" for x in ch.removed)
            items.append(f'<li>{_text(ch.heading)}:<ul class="items">{inner}</ul></li>')
        else:
            items.append(f"<li>{_mark('changed')}{_text(ch.effect)}</li>")
    return f'<ul class="changes">{"".join(items)}</ul>'


def _head(rule_id: str, prefix: str) -> str:
    return (f'<div class="rule-head"><h3 id="{_e(prefix)}-{_e(rule_id)}"><code>{_e(rule_id)}</code></h3></div>')


def _section(key: str, title: str, count: str, intro: str, body: list[str]) -> list[str]:
    return [f'<section id="{key}"><h2>{_e(title)}<span class="count">{_e(count)}</span></h2>',
            f'<p class="covers">{_e(intro)}</p>', *body, "</section>"]


def _duty(c: RuleChange) -> str:
    was = f'<p class="was"><span class="label">Before</span>{_e(c.old_summary)}</p>' if c.reworded else (
        '<p class="was">Its summary is unchanged.</p>')
    others = [ch for ch in c.part(OBLIGATION) if ch.part != "summary"]
    return (f'<article class="rule">{_head(c.id, "duty")}<p class="summary"><span class="label">Now</span>'
            f"{_e(c.summary)}</p>{was}{_changes(others) if others else ''}</article>")


def amendment_html(d: RulesetDiff) -> str:
    """The diff as a page: a summary, then the sections of `policy.diff.render_text`, in its order."""
    toc: list[str] = []
    body: list[str] = []
    if d.added:
        toc.append(f'<li><a href="#added">Rules added</a> ({len(d.added)})</li>')
        body += _section("added", "Rules added", _plural(len(d.added), "rule"),
                         "Each new rule in its drafter's words, then when it applies (generated from the file).",
                         [f'<article class="rule">{_head(e.id, "added")}<p class="summary">{_e(e.summary)}</p>'
                          f'<p class="applies"><span class="label">Applies</span>{_text(e.applies)}</p>'
                          f'<p class="cite"><span class="label">Cited clause</span>{_e(e.cite)}</p></article>'
                          for e in d.added])
    if d.removed:
        toc.append(f'<li><a href="#removed">Rules removed</a> ({len(d.removed)})</li>')
        body += _section("removed", "Rules removed", _plural(len(d.removed), "rule"),
                         "Each rule that is gone, in its drafter's words.",
                         [f'<article class="rule">{_head(e.id, "removed")}<p class="summary">{_e(e.summary)}</p>'
                          f'<p class="cite"><span class="label">Cited clause</span>{_e(e.cite)}</p></article>'
                          for e in d.removed])
    duty = d.in_section(OBLIGATION)
    if duty:
        toc.append(f'<li><a href="#duty">Rules whose summary or duty changed</a> ({len(duty)})</li>')
        body += _section("duty", "Rules whose summary or duty changed", _plural(len(duty), "rule"),
                         "What each rule now says, in its drafter's words, and what it said before.",
                         [_duty(c) for c in duty])
    terms = d.in_section(TERMS)
    if terms:
        toc.append(f'<li><a href="#terms">When the changed rules apply, and for how long</a> ({len(terms)})</li>')
        groups = []
        for group, changes in same_changes(terms):
            names = "".join(f"<li><code>{_e(c.id)}</code>" + ("" if c in duty else f": {_e(c.summary)}") + "</li>"
                            for c in group)
            groups.append(f'<article class="rule"><p class="label">{_plural(len(group), "rule")}</p>'
                          f'<ul>{names}</ul>{_changes(changes)}</article>')
        body += _section("terms", "When the changed rules apply, and for how long", _plural(len(terms), "rule"),
                         "Triggers, conditions, exceptions, windows, durations and deadlines, generated from the "
                         "files. Rules with the very same changes are shown together.", groups)
    meta = d.in_section(METADATA)
    if meta:
        toc.append(f'<li><a href="#sources-notes">Citations and notes</a> ({len(meta)})</li>')
        body += _section("sources-notes", "Citations and notes", _plural(len(meta), "rule"),
                         "Where each rule comes from, and how sure the drafter is of the reading.",
                         [f'<article class="rule">{_head(c.id, "meta")}{_changes(c.part(METADATA))}</article>'
                          for c in meta])
    if d.header:
        toc.append(f'<li><a href="#header">The ruleset itself</a> ({len(d.header)})</li>')
        rows = "".join(f"<tr><td>{_e(ch.part)}</td><td>{_changes([ch])}</td></tr>" for ch in d.header)
        body += _section("header", "The ruleset itself", _plural(len(d.header), "change"),
                         "Its name, version, status, dates, sources and declarations.",
                         [f'<table class="header">{rows}</table>'])
    head = ['<header class="title-block"><p class="kicker">Body-worn camera ruleset: what changed</p>',
            f"<h1>Changes from <code>{_e(d.old)}</code> to <code>{_e(d.new)}</code></h1>",
            f'<p class="ref"><strong>{_e(d.summary())}</strong></p></header>']
    if d.empty:
        body = ["<p>The two rulesets say the same thing: there is nothing to comment on.</p>"]
    else:
        head.append(f'<nav class="toc"><h2>Contents</h2><ul>{"".join(toc)}</ul></nav>')
        head.append('<section id="how-to-read"><h2>How to read this page</h2><p>Rule summaries and cited clauses '
                    "are the drafters&#39; own words. The other lines are generated from what the two files encode; "
                    "where a summary and a generated line disagree, the file is wrong: say so in your comment, "
                    "naming the rule&#39;s id. A change to one item of a list (one exception among several, one "
                    "rule set aside) is shown as that item, marked Added or Removed.</p></section>")
    footer = (f"<footer>Written by <code>bwc diff --format html</code> from <code>{_e(d.old)}</code> and "
              f"<code>{_e(d.new)}</code>.</footer>")
    return _page(f"Changes from {d.old} to {d.new}", [*head, *body, footer], generator="bwc diff", css=_CSS)


__all__ = ["amendment_html"]
