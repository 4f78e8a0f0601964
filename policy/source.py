"""Reading YAML safely, keeping the position of every key and value.

PyYAML composes a node graph (no objects are ever constructed from tags), and this module turns
the graph into plain data itself, so that it can refuse what a ruleset never needs: custom tags,
duplicate keys, merge keys, deep nesting and alias bombs. Scalars follow the YAML 1.2 core schema
(`yes`, `no`, `on`, `off` stay text; dates stay text and are parsed by the model with a position).
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from policy.diagnostics import Diagnostic, RulesetError
from policy.values import quoted

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
# Keys and values after repeating aliases: room for a ruleset of about 3,000 rules (the benchmarks
# compile one of 1,000, about 35,000 values; the largest bundled file has about 1,500). The cap is
# checked while the file is read, so a file of nothing but `[a, a, …]` is refused when it passes the
# cap, not at its end: PyYAML's pure-Python parser takes about 0.1 ms a value, so the cap bounds the
# time too (seconds, not the minute a 4 MiB list once took).
MAX_VALUES = 100_000
# Characters of text (keys and values) after repeating aliases: no more than the largest file
# allowed could hold written out, so only aliases can reach it (a 10,000-character text repeated
# 200,000 times would otherwise be 2 GB).
MAX_CHARS = MAX_BYTES
# Whole numbers a ruleset may hold: those every consumer (JSON readers, the rete backend's doubles)
# represents exactly.
MAX_INTEGER = 2**53 - 1

Path_ = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema: a subset of what PyYAML's dumper quotes, so dumps load back."""


_CoreResolver.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_CoreResolver.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_CoreResolver.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+0123456789"),
)
_CoreResolver.add_implicit_resolver(_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_CoreResolver.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])


class _TooDeep(Exception):
    def __init__(self, node_mark: yaml.Mark) -> None:
        self.mark = node_mark


class _SelfAlias(Exception):
    def __init__(self, anchor: str, node_mark: Any) -> None:
        self.anchor = anchor
        self.mark = node_mark


class _TooBig(Exception):
    """The file expands (counting what aliases repeat) past MAX_VALUES values or MAX_CHARS characters."""

    def __init__(self, what: str, node_mark: yaml.Mark, alias: str | None) -> None:
        self.what = what
        self.mark = node_mark
        self.alias = alias


class _Limits(Composer, _CoreResolver):
    """Composes the node graph from a parser's events, refusing deep nesting and alias bombs as it goes."""

    peek_event: Callable[[], Any]  # the parser's, Python or C

    def __init__(self) -> None:
        Composer.__init__(self)
        _CoreResolver.__init__(self)
        self._depth = 0
        self._open_anchors: set[str] = set()
        # What the document expands to so far (values, characters), counting each alias as the value
        # it repeats, and what each anchor's value expands to: checked as each node is read, so an
        # alias bomb or a huge flat list is refused before it is built.
        self._values = 0
        self._chars = 0
        self._expands: dict[str, tuple[int, int]] = {}

    def _grow(self, values: int, chars: int, mark: Any, alias: str | None = None) -> None:
        self._values += values
        self._chars += chars
        if self._values > MAX_VALUES:
            raise _TooBig(f"{MAX_VALUES:,} keys and values", mark, alias)
        if self._chars > MAX_CHARS:
            raise _TooBig(f"{MAX_CHARS:,} characters of text", mark, alias)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # Composing is recursive: refuse deep input before Python's own recursion limit does.
        self._depth += 1
        try:
            event = self.peek_event()
            if self._depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark)
            anchor = getattr(event, "anchor", None)
            if isinstance(event, yaml.AliasEvent):
                if anchor in self._open_anchors:  # `&a [*a]`: a value that contains itself never ends
                    raise _SelfAlias(str(anchor), event.start_mark)
                values, chars = self._expands.get(str(anchor), (0, 0))  # (an unknown alias: Composer says so)
                self._grow(values, chars, event.start_mark, str(anchor))
                return Composer.compose_node(self, parent, index)
            before = (self._values, self._chars)
            self._grow(1, len(event.value) if isinstance(event, yaml.ScalarEvent) else 0, event.start_mark)
            if anchor is None:
                return Composer.compose_node(self, parent, index)
            if isinstance(event, yaml.CollectionStartEvent):
                self._open_anchors.add(anchor)
            try:
                return Composer.compose_node(self, parent, index)
            finally:
                self._open_anchors.discard(anchor)
                self._expands[anchor] = (self._values - before[0], self._chars - before[1])
        finally:
            self._depth -= 1


class _Loader(Reader, Scanner, Parser, _Limits):
    """PyYAML's pure-Python reader, scanner and parser: the one that gives every error this module reports."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Limits.__init__(self)

    def scan_flow_scalar_non_spaces(self, double: bool, start_mark: yaml.Mark) -> list[str]:
        # PyYAML turns `"\U10001000"` into chr(0x10001000), which raises a bare ValueError: report it
        # as the syntax error it is, at the escape.
        mark = self.get_mark()
        try:
            chunks: list[str] = Scanner.scan_flow_scalar_non_spaces(self, double, start_mark)
        except (ValueError, OverflowError):  # OverflowError: past what a C int holds (`\UFFFFFFFF`)
            raise yaml.scanner.ScannerError(
                "while scanning a double-quoted scalar", start_mark,
                "found an escape for a character past U+10FFFF", self._escape_mark(mark)) from None
        return self._join_surrogates(chunks, start_mark, mark) if double else chunks

    def _join_surrogates(self, chunks: list[str], start_mark: yaml.Mark, mark: yaml.Mark) -> list[str]:
        """PyYAML keeps each `\\uD800`-`\\uDFFF` escape as half a character (a surrogate), which no
        later step can encode. Join a high and a low escape written together into the character they
        spell, as JSON does (`json.dumps` writes `\\uD83D\\uDE00` for 😀); refuse a lone half, at it.
        Each escape is a chunk of its own, and the file's text holds no raw surrogate (the Reader
        refuses it), so a one-character surrogate chunk is always an escape."""
        if not any(len(c) == 1 and "\ud800" <= c <= "\udfff" for c in chunks):
            return chunks
        joined: list[str] = []
        seen = 0  # surrogate escapes of this run passed so far
        i = 0
        while i < len(chunks):
            c = chunks[i]
            if len(c) == 1 and "\ud800" <= c <= "\udbff" and i + 1 < len(chunks) \
                    and len(chunks[i + 1]) == 1 and "\udc00" <= chunks[i + 1] <= "\udfff":
                joined.append(chr(0x10000 + ((ord(c) - 0xD800) << 10) + ord(chunks[i + 1]) - 0xDC00))
                i += 2
                seen += 2
                continue
            if len(c) == 1 and "\ud800" <= c <= "\udfff":
                raise yaml.scanner.ScannerError(
                    "while scanning a double-quoted scalar", start_mark,
                    f"found a lone surrogate escape U+{ord(c):04X}", self._surrogate_mark(mark, seen))
            joined.append(c)
            i += 1
        return joined

    def _surrogate_mark(self, chunk: yaml.Mark, nth: int) -> yaml.Mark:
        # The nth escape naming a surrogate in the run read from `chunk` on; escapes are matched left
        # to right so that `\\ud800` (an escaped backslash, then text) is not taken for one.
        found = [m.start() for m in _ESCAPE.finditer(self.buffer, chunk.index, self.pointer)
                 if 0xD800 <= int(m.group(1) or m.group(2) or "0", 16) <= 0xDFFF]
        return self._mark_at(chunk, found[nth]) if nth < len(found) else chunk

    def _escape_mark(self, chunk: yaml.Mark) -> yaml.Mark:
        # The escape that failed is the last `\U` before the scanner's position, in the run of text
        # that starts at `chunk`.
        at = self.buffer.rfind("\\U", chunk.index, self.pointer)
        return chunk if at < 0 else self._mark_at(chunk, at)

    def _mark_at(self, start: yaml.Mark, at: int) -> yaml.Mark:
        """The mark of buffer index `at`, counting lines from `start` as PyYAML's Reader does (an
        escaped line break can come between)."""
        line, column = start.line, start.column
        for i in range(start.index, at):
            ch = self.buffer[i]
            if ch in "\n\x85\u2028\u2029" or (ch == "\r" and self.buffer[i + 1] != "\n"):
                line, column = line + 1, 0
            elif ch != "\ufeff":
                column += 1
        return yaml.Mark(self.name, at, line, column, self.buffer, at)


class _Unplaced(Exception):
    """libyaml would read a value otherwise than the Python parser does."""


_FLOW_STOPS = re.compile(r"[?,\[\]{}]")
_N = TypeVar("_N", bound=Node)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastLoader(_Limits, CParser):
        """libyaml's parser (C, several times faster), its events composed by the same `_Limits`."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _Limits.__init__(self)
            self._flow = 0  # how many `[...]` or `{...}` are open around the node being composed

        def compose_scalar_node(self, anchor: Any) -> ScalarNode:
            node: ScalarNode = Composer.compose_scalar_node(self, anchor)
            if node.style not in ("'", '"') and (not node.value or (self._flow and _FLOW_STOPS.search(node.value))):
                # Two places where libyaml reads otherwise than the Python parser: an empty value (`key:`
                # with nothing after it) is placed where the next token starts by libyaml, at the end of its
                # `:` by the other; and inside brackets, unquoted text that holds `?`, `,` or a bracket is
                # one value to libyaml, an error to the other. Leave the whole text to the Python parser.
                raise _Unplaced
            return node

        def compose_sequence_node(self, anchor: Any) -> SequenceNode:
            return self._collection(Composer.compose_sequence_node, anchor)

        def compose_mapping_node(self, anchor: Any) -> MappingNode:
            return self._collection(Composer.compose_mapping_node, anchor)

        def _collection(self, compose: Callable[[Any, Any], _N], anchor: Any) -> _N:
            flow = bool(self.peek_event().flow_style)
            self._flow += flow
            try:
                return compose(self, anchor)
            finally:
                self._flow -= flow


# An escape in a double-quoted scalar; group 1 or 2 holds the hex digits of a `\u` or `\U` escape.
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|.)", re.DOTALL)


@dataclass
class SourceDocument:
    """Plain data read from one YAML file, with the 1-based position of every value and key."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # Problems found while reading that did not stop it (a tab, a duplicate key, a number too large):
    # kept, when asked for, so that the rest of the file is still checked (see read_yaml_text).
    problems: list[Diagnostic] = field(default_factory=list)

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int] | None:
        """The position of `path`, or of its nearest ancestor that has one."""
        table = self.key_positions if key else self.positions
        if key and path in table:
            return table[path]
        p = path
        while True:
            if p in self.positions:
                return self.positions[p]
            if not p:
                return None
            p = p[:-1]

    def known_prefix(self, loc: tuple[Any, ...]) -> Path_:
        """Map a validator's error location onto the longest path that exists in the file.

        Elements that are not in the data (union tags, validator names) are skipped. A union tag
        can also be a key of the data (`event` in `{event: arrived, were: ...}`): it is skipped when
        the element after it exists only without it.
        """
        path: Path_ = ()
        for j, element in enumerate(loc):
            candidate = (*path, element)
            if candidate not in self.positions:
                continue
            if j + 1 < len(loc) and (*candidate, loc[j + 1]) not in self.positions \
                    and (*path, loc[j + 1]) in self.positions:
                continue
            path = candidate
        return path


def _mark(m: yaml.Mark) -> tuple[int, int]:
    return (m.line + 1, m.column + 1)


def _error(file: str, code: str, message: str, mark: yaml.Mark | None, hint: str | None = None) -> RulesetError:
    line, col = _mark(mark) if mark is not None else (None, None)
    return RulesetError([Diagnostic(code, message, file, line, col, hint)])


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.doc = SourceDocument(file, None)
        self.problems: list[Diagnostic] = []

    def build(self, node: Node, path: Path_) -> Any:
        # (How much the file expands to was checked while it was composed: see _Loader._grow.)
        if len(path) > MAX_DEPTH:  # aliases can stack nesting deeper than the text shows
            raise _error(self.file, "BWC007", f"values are nested more than {MAX_DEPTH} levels deep "
                         "(counting the values that aliases `*name` stand for)", node.start_mark,
                         "a ruleset never needs this; write the values out instead of using anchors and aliases")
        self.doc.positions.setdefault(path, _mark(node.start_mark))
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise self._tag_error(node)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                raise self._tag_error(node)
            result: dict[str, Any] = {}
            first_seen: dict[str, yaml.Mark] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    self._problem("BWC010", "merge keys (`<<`) are not supported", key_node.start_mark,
                                  "write the keys out in full")
                    continue
                if not isinstance(key_node, ScalarNode) or key_node.tag not in (_STR, _INT, _BOOL):
                    self._problem("BWC011", "a key must be plain text", key_node.start_mark,
                                  "use a word such as `cite:` as the key")
                    continue
                key = key_node.value if key_node.tag == _INT else str(self._scalar(key_node))
                if key in first_seen:
                    line, col = _mark(first_seen[key])
                    self._problem("BWC006", f"`{quoted(key)}` appears twice in the same mapping (first at line {line}, "
                                  f"column {col})", key_node.start_mark,
                                  "keep one of the two; YAML would otherwise silently use the last one")
                    continue
                first_seen[key] = key_node.start_mark
                self.doc.key_positions[(*path, key)] = _mark(key_node.start_mark)
                result[key] = self.build(value_node, (*path, key))
            return result
        raise self._tag_error(node)  # pragma: no cover - PyYAML has no other node kinds

    def _problem(self, code: str, message: str, mark: yaml.Mark, hint: str) -> None:
        line, col = _mark(mark)
        self.problems.append(Diagnostic(code, message, self.file, line, col, hint))

    def _tag_error(self, node: Node) -> RulesetError:
        return _error(self.file, "BWC009", f"the YAML tag `{node.tag}` is not allowed in a ruleset",
                      node.start_mark, "remove the tag; rulesets hold plain values only")

    def _scalar(self, node: ScalarNode) -> Any:
        text: str = node.value
        if node.tag == _STR:
            return text
        if node.tag == _NULL:
            return None
        if node.tag == _BOOL:
            return text.lower() == "true"
        if node.tag == _INT:
            # Count the digits before converting: Python refuses to convert more than 4,300 of them.
            digits = text.lstrip("+-").lstrip("0")
            if len(digits) > len(str(MAX_INTEGER)) or int(text) > MAX_INTEGER or int(text) < -MAX_INTEGER:
                return self._bad_number(node, f"the number {_clip(text)} is too large")
            return int(text)
        if node.tag == _FLOAT:
            number = float(text)
            if not math.isfinite(number):
                return self._bad_number(node, f"the number {_clip(text)} is too large")
            return number
        raise self._tag_error(node)

    def _bad_number(self, node: ScalarNode, message: str) -> None:
        self._problem("BWC112", f"{message}: a ruleset number is at most {MAX_INTEGER:,} (and at least "
                      f"-{MAX_INTEGER:,})", node.start_mark,
                      "check the number; if it is an identifier or a code rather than an amount, put it in "
                      "quotes to make it text")
        return None


def _clip(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…{text[-4:]} ({len(text):,} characters)"


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        # the column counts characters, as an editor does, not bytes
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
        raise RulesetError([Diagnostic(
            "BWC003", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8 text", file, line, column,
            "save the file as UTF-8 (most editors have this under 'Save with encoding')",
        )]) from None


_BRACKETS = {"while parsing a flow sequence": ("[", "]"), "while parsing a flow mapping": ("{", "}")}


def _syntax_error(exc: yaml.MarkedYAMLError, file: str) -> RulesetError:
    """A YAML syntax error in plain words, placed where the drafter has to look."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "the YAML could not be read"
    context = exc.context or ""
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "the end of the file"
    if "'\\t'" in problem or "\t" in problem:
        return _error(file, "BWC005", "a tab character is used for indentation", mark,
                      "YAML needs spaces for indentation: replace the tab with spaces")
    if context in _BRACKETS and exc.context_mark is not None:
        opening, closing = _BRACKETS[context]
        return _error(file, "BWC004", f"the `{opening}` here is not closed by a matching `{closing}` "
                      f"(reading stopped at {where})", exc.context_mark,
                      f"add the missing `{closing}`; text containing `,` `[` `]` `{{` or `}}` must be put in quotes")
    if "quoted scalar" in context and "end of stream" in problem and exc.context_mark is not None:
        return _error(file, "BWC004", "the quote that starts here is never closed", exc.context_mark,
                      "add the closing quote at the end of the text")
    if "past U+10FFFF" in problem:
        return _error(file, "BWC004", "this `\\U` escape names no character: Unicode ends at U+10FFFF", mark,
                      "write eight hex digits up to 0010FFFF after `\\U` (e.g. \\U0001F600), or use single quotes "
                      "if the backslash is meant literally")
    if "lone surrogate escape" in problem:
        return _error(file, "BWC004", f"this escape names half of a character ({problem.split()[-1]}, a surrogate), "
                      "which is not a character on its own", mark,
                      "write the character itself, or one escape of eight hex digits, e.g. `\\U0001F600`; "
                      "a pair written together, e.g. `\\uD83D\\uDE00`, is read as the one character it spells")
    if "unknown escape character" in problem:
        return _error(file, "BWC004", "a backslash `\\` inside double quotes must start a known escape such as "
                      "`\\n`", mark, "use single quotes around text that contains a backslash")
    if "could not find expected ':'" in problem:
        return _error(file, "BWC004", "this line has no `:` after its key", exc.context_mark or mark,
                      "a key needs `:` after it, e.g. `cite: crs (1)`; a line that continues the text "
                      "above must be indented further")
    if "mapping values are not allowed" in problem:
        return _error(file, "BWC004", "YAML does not expect a `:` here", mark,
                      "text containing `: ` must be put in quotes, e.g. summary: \"Rule: ...\"; "
                      "otherwise check that this line is indented like the keys next to it")
    stray = next((c for c in "]}" if problem.endswith(f"found '{c}'")), None)
    if stray is not None:
        opening = "[" if stray == "]" else "{"
        return _error(file, "BWC004", f"this `{stray}` closes nothing: there is no `{opening}` open before it", mark,
                      f"remove the extra `{stray}`, or put the text in quotes if the `{stray}` belongs to it")
    if "expected <block end>" in problem or "did not find expected key" in problem \
            or "did not find expected '-'" in problem:
        return _error(file, "BWC004", "this line is not indented like the lines around it", mark,
                      "keys of one mapping, and the `- ` items of one list, must start in the same column")
    if "sequence entries are not allowed here" in problem:
        return _error(file, "BWC004", "a list item `- ` cannot start here", mark,
                      "start the list on a new line, indented under its key")
    if "found undefined alias" in problem:
        return _error(file, "BWC004", "an alias `*name` is used, but no anchor `&name` comes before it", mark,
                      "an alias `*name` needs an anchor `&name` earlier in the file; or write the value out")
    if "found character" in problem and "that cannot start any token" in problem:
        return _error(file, "BWC004", f"a value cannot start with the character {problem.split()[2]}", mark,
                      "put the value in quotes")
    return _error(file, "BWC004", f"the YAML cannot be read here ({problem})", mark,
                  "check the indentation and the `:` after each key on this line and the line before")


def _position(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def read_yaml_text(text: str, file: str, *, partial: bool = False) -> SourceDocument:
    """Parse YAML text into plain data with positions; raises RulesetError on any problem.

    With `partial`, problems that leave the rest of the file readable (tabs used for indentation,
    duplicate keys, numbers too large) are kept in `problems` instead, so that a checker can report
    them together with everything else.
    """
    try:
        return _read(text, file, partial=partial)
    except RulesetError as exc:
        if not partial or [d.code for d in exc.diagnostics][:1] != ["BWC005"]:
            raise
        tabs = exc
    # A tab used for indentation: report every such line, and read the rest with each tab indentation
    # replaced by the spaces it most likely stands for (see _untab). If the guess does not read either,
    # the tabs are all that can be reported.
    repaired, shifts, where = _untab(text, file)
    try:
        doc = _read(repaired, file, partial=True)
    except RulesetError:
        raise RulesetError(where or tabs.diagnostics) from None
    _shift_columns(doc, shifts)
    doc.problems[:0] = where
    return doc


def _read(text: str, file: str, *, partial: bool) -> SourceDocument:
    root = _compose(text, file)
    builder = _Builder(file)
    if root is None:
        raise RulesetError([Diagnostic("BWC012", "the file is empty", file, 1, 1,
                                       "start with `ruleset: <id>`; see docs/language.md")])
    builder.doc.data = builder.build(root, ())
    # A merge key or a key that is not text drops what it holds, so the checks after reading would
    # report it missing: only the reading problems are reported then.
    if builder.problems and (not partial or any(d.code in ("BWC010", "BWC011") for d in builder.problems)):
        raise RulesetError(builder.problems)
    builder.doc.problems = builder.problems
    return builder.doc


def _compose_fast(text: str) -> Node | None:
    loader = _FastLoader(text)  # (encodes the text as UTF-8: this can fail too)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _compose(text: str, file: str) -> Node | None:
    """The node graph of the text's one document (None when it has none); RulesetError if it cannot be read.

    libyaml reads a ruleset several times faster than PyYAML's Python parser (which took most of the time
    `bwc` needs to start). Its graph is used only for text it reads without any error, with none of the
    values it reads otherwise (see `_FastLoader`), and with no tab or byte-order mark (libyaml takes some
    of those where the Python parser refuses them; a tab is reported as BWC005). Anything else is read
    again by the Python parser, whose errors, in the words below, are the ones reported.
    tests/test_source_parsers.py holds the two alike."""
    if yaml.__with_libyaml__ and "\t" not in text and "\ufeff" not in text:
        try:
            return _compose_fast(text)
        except Exception:  # whatever libyaml refuses (a raw surrogate too), the Python parser below says why
            pass
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        except _TooDeep as deep:
            raise _error(file, "BWC007", f"values are nested more than {MAX_DEPTH} levels deep",
                         deep.mark, "a ruleset never needs this; check for runaway brackets") from None
        except _TooBig as big:
            repeated = f" (here the alias `*{big.alias}` repeats a value once too often)" if big.alias else ""
            raise _error(file, "BWC008", f"the file expands to more than {big.what}, counting each alias "
                         f"`*name` as the value it repeats{repeated}", big.mark,
                         "write the values out; a ruleset never needs this much") from None
        except _SelfAlias as loop:
            raise _error(file, "BWC008", f"the alias `*{loop.anchor}` is used inside the value that "
                         f"`&{loop.anchor}` names, so that value would never end", loop.mark,
                         "write the values out; an alias may only repeat a value that is complete") from None
        except yaml.composer.ComposerError as exc:
            if "expected a single document" in str(exc.context):
                raise _error(file, "BWC013", "the file holds more than one YAML document (`---`)",
                             exc.problem_mark, "put each ruleset in its own file") from None
            raise _syntax_error(exc, file) from None
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, file) from None
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise RulesetError([Diagnostic(
            "BWC003", f"the file contains an invisible control character (code {code:#04x}) that YAML "
            "does not allow", file, line, column,
            "delete the character (it often comes from copying text out of a PDF or a word processor)",
        )]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return root


_TAB_INDENT = re.compile(r"^([ \t]*\t[ \t]*)(?=\S)", re.MULTILINE)
_ITEM_MARKS = re.compile(r"^ *(?:- +)*")


def _untab(text: str, file: str) -> tuple[str, dict[int, int], list[Diagnostic]]:
    """`text` with every indentation that holds a tab replaced by spaces; the column shift of each such
    line (1-based line number → spaces added less characters removed); and a BWC005 for each.

    A tab is taken to line its line up with the keys of the line above (one level deeper after a
    line ending in `:`); the same run of tabs and spaces is given the same width everywhere."""
    lines = text.split("\n")
    widths: dict[str, int] = {}
    shifts: dict[int, int] = {}
    problems: list[Diagnostic] = []
    previous = ""
    for i, line in enumerate(lines):
        m = _TAB_INDENT.match(line)
        if m is not None:
            indent = m.group(1)
            if indent not in widths:
                body = previous.split("#", 1)[0].rstrip()
                widths[indent] = len(_ITEM_MARKS.match(previous).group(0)) + (2 if body.endswith(":") else 0)  # type: ignore[union-attr]
            line = " " * widths[indent] + line[len(indent):]
            lines[i] = line
            shifts[i + 1] = widths[indent] - len(indent)
            problems.append(Diagnostic(
                "BWC005", "a tab character is used for indentation", file, i + 1, indent.index("\t") + 1,
                "YAML needs spaces for indentation: replace the tab with spaces (the rest of the file was "
                f"checked as if the line were indented {widths[indent]} spaces)"))
        if line.strip() and not line.lstrip().startswith("#"):
            previous = line
    return "\n".join(lines), shifts, problems


def _shift_columns(doc: SourceDocument, shifts: dict[int, int]) -> None:
    """Put positions on lines whose indentation was replaced back where they are in the original text."""
    def back(pos: tuple[int, int]) -> tuple[int, int]:
        line, column = pos
        shift = shifts.get(line)
        return pos if shift is None else (line, max(1, column - shift))
    for table in (doc.positions, doc.key_positions):
        for path, pos in table.items():
            table[path] = back(pos)
    doc.problems = [d if d.line is None or d.column is None else
                    replace(d, column=back((d.line, d.column))[1]) for d in doc.problems]


def read_yaml_file(path: Path | str, *, max_bytes: int = MAX_BYTES, partial: bool = False) -> SourceDocument:
    """Read a YAML file with size, encoding and structure limits; raises RulesetError.

    Only a regular file is read (a FIFO or a device could block for ever or never end), and never
    more than `max_bytes` + 1 bytes of it, whatever its size said. `partial` is as for read_yaml_text.
    """
    file = str(path)
    try:
        raw = _read_capped(file, max_bytes)
    except OSError as exc:
        raise RulesetError([Diagnostic(
            "BWC001", f"cannot read the file: {exc.strerror or exc}", file, None, None,
            "check the file name and folder, and that you are allowed to read it",
        )]) from None
    if len(raw) > max_bytes:
        raise RulesetError([Diagnostic("BWC002", f"the file is over the {max_bytes:,}-byte limit", file, None, None,
                                       "split the ruleset, or check that this is the file you meant")])
    return read_yaml_text(_decode(raw, file), file, partial=partial)


def _read_capped(file: str, max_bytes: int) -> bytes:
    """At most `max_bytes` + 1 bytes of a regular file; raises RulesetError for anything else."""
    _refuse_unless_regular(file, os.stat(file))
    # Opened without blocking, and checked again once open: the path may have been swapped for a FIFO.
    fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        _refuse_unless_regular(file, info)
        if info.st_size > max_bytes:
            raise RulesetError([Diagnostic(
                "BWC002", f"the file is {info.st_size:,} bytes; the limit is {max_bytes:,}", file, None, None,
                "split the ruleset, or check that this is the file you meant",
            )])
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _refuse_unless_regular(file: str, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise RulesetError([Diagnostic("BWC001", "this is a folder, not a file", file, None, None,
                                       "name a ruleset file ending in .yaml")])
    if not stat.S_ISREG(info.st_mode):
        raise RulesetError([Diagnostic(
            "BWC001", "this is not a regular file (it is a pipe, a socket or a device), so it is not read",
            file, None, None, "name a ruleset file ending in .yaml, saved on disk")])
