"""Text from a ruleset or an incident written into Markdown as literal text: the one escaping that every
Markdown output shares (`bwc render`, `bwc diff`, `bwc score`, `bwc impact`).

Every string from data is data, and Markdown reads punctuation as markup: text from the data is written
with each character that could start markup escaped (`*`, `_`, `[`, `]`, `<`, `>`, `|`, `&`, ...), its
line breaks folded into spaces, and a line-opening `#`, `-`, `+`, `=` or `1.` escaped, so that a summary
holding `[x](javascript:...)`, `<script>` or a table's `|` shows as the characters it holds, and a table
row stays one line. Names are code spans (inert in every Markdown reader), and links are made only to
http and https addresses.

The sentences of policy.describe write names and values between backticks; `phrase` reads them back as
prose and names, so that `words` shows the names as code and escapes the prose around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~#$!{}])")
_LINE_START = re.compile(r"^(\d{1,9})([.)])")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a generated sentence: prose, or a name as written in the file (`arrived`, `supervisor`)."""

    text: str
    name: bool = False


Phrase = tuple[Segment, ...]


def phrase(text: str) -> Phrase:
    """A sentence of policy.describe, which writes names and values between backticks, as segments.

    A value holding a backtick itself leaves the backticks unpaired: the sentence is then kept whole as
    prose, so that a stray backtick from the data can never turn the rest of the line into a name."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return (Segment(text),)
    return tuple(Segment(p, name=i % 2 == 1) for i, p in enumerate(parts) if p)


def inline(text: str) -> str:
    """Text from data, inert inside a Markdown line (a table cell too): spaces folded, markup characters
    escaped."""
    return _SPECIAL.sub(r"\\\1", _SPACES.sub(" ", text))


def opening(line: str) -> str:
    """A line whose start would read as a list item, a numbered item or a heading underline, escaped."""
    if line[:1] in ("-", "+", "="):
        return "\\" + line
    return _LINE_START.sub(r"\1\\\2", line)


def block(text: str) -> str:
    """Text from data that may open a line: also a list marker, heading or numbered item escaped."""
    return opening(inline(text.strip()))


def code(text: str, *, table: bool = False) -> str:
    """A name as a code span, fenced by more backticks than it holds (so it cannot close early)."""
    flat = _SPACES.sub(" ", text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat[:1] in ("`", " ") or flat[-1:] in ("`", " ") else ""
    if table:  # GFM splits a row at every unescaped `|`, inside code spans too
        flat = flat.replace("|", "\\|")
    return f"{fence}{pad}{flat}{pad}{fence}"


def words(p: Phrase | str, *, table: bool = False) -> str:
    """A generated sentence (or its segments): names as code spans, the prose around them escaped."""
    segments = phrase(p) if isinstance(p, str) else p
    return "".join(code(s.text, table=table) if s.name else inline(s.text) for s in segments)


def link_target(url: str) -> str | None:
    """A link target for `<...>`, or None for anything but http(s) (the model allows nothing else)."""
    if not url.lower().startswith(("http://", "https://")):
        return None
    return quote(url, safe="!#$%&'()*+,-./:;=?@[]_~")


def link(label: str, url: str | None) -> str:
    """`label` linked to `url` when that is an http(s) address, else the label alone; both inert."""
    target = link_target(url) if url else None
    return f"[{inline(label)}](<{target}>)" if target else inline(label)


__all__ = ["Phrase", "Segment", "block", "code", "inline", "link", "link_target", "opening", "phrase", "words"]
