"""Rulesets as documents for public review (`bwc render`): each rule in the drafter's words beside what the
file encodes, grouped by topic, with the title block a reader cites; one ruleset, or two side by side.

    from engine.tools import render
    text = render.render_ruleset(repo, repo.resolve("boston-bpcat-draft@2016.1.0"), "html")
    text = render.render_comparison(repo, repo.resolve("boston-bpcat-draft@2016.1.0"),
                                    repo.resolve("boston-rule-405@2019.1.0"), "markdown")

The package: `document` (the document model, built from a repository: a ruleset and the rulesets it
builds on), `markdown` and `html` (the two forms, each escaping every string of the ruleset). The same
ruleset gives the same bytes: nothing depends on the clock or the machine. There is no PDF form: print the
HTML page (its print style sheet is part of it) or see docs/render.md.
"""

from __future__ import annotations

from typing import Literal

from engine.tools.render.document import comparison, document, layer
from engine.tools.render.html import comparison_html, ruleset_html
from engine.tools.render.markdown import comparison_markdown, ruleset_markdown
from policy.model import Ruleset
from policy.repository import Repository

Format = Literal["html", "markdown"]
FORMATS: tuple[Format, ...] = ("html", "markdown")


def render_ruleset(repo: Repository, ruleset: Ruleset, fmt: Format) -> str:
    """`ruleset` (with the rulesets it builds on, from `repo`) as an HTML page or a Markdown document."""
    doc = document(repo, ruleset)
    return ruleset_html(doc) if fmt == "html" else ruleset_markdown(doc)


def render_comparison(repo: Repository, left: Ruleset, right: Ruleset, fmt: Format) -> str:
    """Two rulesets side by side, topic by topic, as an HTML page or a Markdown document."""
    doc = comparison(layer(left, repo.digest(left)), layer(right, repo.digest(right)))
    return comparison_html(doc) if fmt == "html" else comparison_markdown(doc)


__all__ = ["FORMATS", "Format", "render_comparison", "render_ruleset"]
