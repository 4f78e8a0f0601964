"""Reading YAML safely, keeping the position of every key and value.

PyYAML composes a node graph (no objects are ever constructed from tags), and this module turns
the graph into plain data itself, so that it can refuse what a ruleset never needs: custom tags,
duplicate keys, merge keys, deep nesting and alias bombs. Scalars follow the YAML 1.2 core schema
(`yes`, `no`, `on`, `off` stay text; dates stay text and are parsed by the model with a position).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from policy.diagnostics import Diagnostic, RulesetError

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 250_000

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


class _Loader(Reader, Scanner, Parser, Composer, _CoreResolver):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _CoreResolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # Composing is recursive: refuse deep input before Python's own recursion limit does.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


@dataclass
class SourceDocument:
    """Plain data read from one YAML file, with the 1-based position of every value and key."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

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

        Elements that are not in the data (union tags, validator names) are skipped.
        """
        path: Path_ = ()
        for element in loc:
            candidate = (*path, element)
            if candidate in self.positions:
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
        self.count = 0
        self.doc = SourceDocument(file, None)
        self.problems: list[Diagnostic] = []

    def build(self, node: Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _error(
                self.file, "BWC008",
                f"the file expands to more than {MAX_VALUES:,} values (anchors and aliases, `&` and `*`, "
                "repeated many times)",
                node.start_mark, "write the values out; a ruleset never needs this many",
            )
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
                key = str(self._scalar(key_node))
                if key in first_seen:
                    line, col = _mark(first_seen[key])
                    self._problem("BWC006", f"`{key}` appears twice in the same mapping (first at line {line}, "
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
            return int(text)
        if node.tag == _FLOAT:
            return float(text)
        raise self._tag_error(node)


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise RulesetError([Diagnostic(
            "BWC003", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8 text", file, line, column,
            "save the file as UTF-8 (most editors have this under 'Save with encoding')",
        )]) from None


def _syntax_error(exc: yaml.MarkedYAMLError, file: str) -> RulesetError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "the YAML could not be read"
    if "'\\t'" in problem or "\t" in problem:
        return _error(file, "BWC005", "a tab character is used for indentation", mark,
                      "YAML needs spaces for indentation: replace the tab with spaces")
    hint = "check the indentation and the `:` after each key on this line and the line before"
    if "could not find expected ':'" in problem:
        hint = "a key needs `:` after it; text with `: ` inside must be in quotes"
    elif "mapping values are not allowed" in problem:
        hint = "text containing `: ` must be put in quotes, e.g. summary: \"Rule: ...\""
    elif "found undefined alias" in problem:
        hint = "an alias `*name` needs an anchor `&name` earlier in the file"
    elif "found character" in problem and "that cannot start any token" in problem:
        hint = "put the value in quotes"
    return _error(file, "BWC004", f"YAML syntax: {problem}", mark, hint)


def read_yaml_text(text: str, file: str) -> SourceDocument:
    """Parse YAML text into plain data with positions; raises RulesetError on any problem."""
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except _TooDeep as deep:
            raise _error(file, "BWC007", f"values are nested more than {MAX_DEPTH} levels deep",
                         deep.mark, "a ruleset never needs this; check for runaway brackets") from None
        except yaml.composer.ComposerError as exc:
            if "expected a single document" in str(exc.context):
                raise _error(file, "BWC013", "the file holds more than one YAML document (`---`)",
                             exc.problem_mark, "put each ruleset in its own file") from None
            raise _syntax_error(exc, file) from None
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, file) from None
        except yaml.reader.ReaderError as exc:
            raise RulesetError([Diagnostic(
                "BWC003", f"the file contains a character that YAML does not allow (code {exc.character!r})",
                file, None, None, "remove control characters from the file",
            )]) from None
    finally:
        loader.dispose()
    builder = _Builder(file)
    if root is None:
        raise RulesetError([Diagnostic("BWC012", "the file is empty", file, 1, 1,
                                       "start with `ruleset: <id>`; see docs/language.md")])
    builder.doc.data = builder.build(root, ())
    if builder.problems:
        raise RulesetError(builder.problems)
    return builder.doc


def read_yaml_file(path: Path | str, *, max_bytes: int = MAX_BYTES) -> SourceDocument:
    """Read a YAML file with size, encoding and structure limits; raises RulesetError."""
    file = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise RulesetError([Diagnostic("BWC001", "this is a folder, not a file", file)])
        if size > max_bytes:
            raise RulesetError([Diagnostic(
                "BWC002", f"the file is {size:,} bytes; the limit is {max_bytes:,}", file, None, None,
                "split the ruleset, or check that this is the file you meant",
            )])
        with p.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise RulesetError([Diagnostic("BWC001", f"cannot read the file: {exc.strerror or exc}", file)]) from None
    if len(raw) > max_bytes:  # the file grew after stat
        raise RulesetError([Diagnostic("BWC002", f"the file is over the {max_bytes:,}-byte limit", file)])
    return read_yaml_text(_decode(raw, file), file)
