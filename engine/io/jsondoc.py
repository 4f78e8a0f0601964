"""Strict JSON: the one decoder for every JSON text the engine reads from a user.

JSON Lines exports, `.json` incident files and standard input all go through `decode_json`, so
they accept and refuse exactly the same documents. Python's `json` module is permissive where
a silent guess would change a decision, and it can fail with exceptions that are not
`JSONDecodeError`. Strict here means:

- a key twice in one object is refused (Python keeps the last silently; the ruleset loader
  refuses duplicate YAML keys too);
- `NaN`, `Infinity` and `-Infinity` are refused (they are not JSON), and so is a number that
  would be infinite (`1e400`);
- a number literal longer than `MAX_NUMBER_CHARS` is refused (Python's int conversion fails
  past 4,300 digits, and no count or measure needs a hundred);
- nesting deeper than `MAX_DEPTH` is refused, found by a scan that does not recurse (the
  decoder itself would raise RecursionError near 1,000 levels);
- a lone UTF-16 surrogate, escaped (`"\\ud800"`) or raw, is refused: it is not a character,
  and writing it later (to a report, a terminal) would fail.

orjson decodes several times faster than the standard library's hooks allow, but it keeps the last
of duplicate keys silently (as msgspec does) and reads some numbers otherwise. So its value is taken
only when orjson writes it back as the very same bytes: then no key was dropped (the text would be
longer) and every number was read as written. Compact lines (what most exporters and `bwc generate`
write) take that path; anything else, and every refusal, goes through the strict decoder, so what is
accepted and every error message and position are the strict decoder's.

Every refusal is a `JsonError` (a ValueError) carrying a plain message, a line and a column.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

import orjson

from policy.values import quoted

MAX_DEPTH = 64  # an incident is 4 levels deep (incident, events, event, value); 64 leaves room
MAX_NUMBER_CHARS = 100  # characters of one number literal, sign and exponent included

_WHITESPACE = " \t\r\n"
# A JSON string token, or (when unterminated) the rest of the text: it can never fail to match,
# so scanning with it is linear however the quotes fall.
_STRING = r'"(?:[^"\\]+|\\.)*"?'
_STRING_RE = re.compile(_STRING, re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_TOKEN = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE_HINT = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_TOKEN = re.compile(_STRING + r"|-?Infinity|NaN|-?[0-9][0-9.eE+-]*|\s+|.", re.DOTALL)


class JsonError(ValueError):
    """A JSON text that is refused: `message` in plain words, at `line` and `column` (1-based;
    the column counts characters, or bytes for a text that is not UTF-8)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column

    def __reduce__(self) -> tuple[type[JsonError], tuple[str, int, int], dict[str, Any]]:
        # Pickled (to or from a worker process) as the arguments it was made with: rebuilt from its
        # message alone, it could not be made again.
        return (type(self), (self.message, self.line, self.column), self.__dict__)


class _Refused(Exception):
    """Raised by a decoding hook; `_locate` then finds where in the text the offence is."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused("duplicate", key)
            seen.add(key)
    return result


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused("number", text)
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused("number", text)
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("number", text)
    return value


def _constant(text: str) -> Any:
    raise _Refused("constant", text)


def _anything(text: str) -> int:
    return 0


_STRICT = json.JSONDecoder(object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant)
# Finds where each element of a top-level array ends, refusing only what breaks the syntax, so
# that one element with (say) a duplicate key is refused on its own and the next ones are read.
_FRAMER = json.JSONDecoder(parse_int=_anything, parse_float=_anything, parse_constant=_anything)


def decode_json(text: str | bytes) -> Any:
    """The value of a JSON text (bytes must be UTF-8; a leading byte-order mark is allowed).

    Raises JsonError, and nothing else for any input."""
    if isinstance(text, bytes | bytearray):
        text = decode_utf8(bytes(text))
    _check_characters(text)
    _check_depth(text)
    return _decode(text)


def decode_utf8(data: bytes) -> str:
    """`data` as UTF-8 text, without a leading byte-order mark; JsonError at the first invalid byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise JsonError(f"not UTF-8 at byte {column} of the line ({exc.reason}): save the file as UTF-8",
                        line, column) from None


def check_text(text: str) -> None:
    """The checks made on the text before decoding: lone surrogates and nesting depth."""
    _check_characters(text)
    _check_escapes(text)
    _check_depth(text)


def _check_characters(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")  # fails exactly on a raw surrogate; much faster than a regular expression
        except UnicodeEncodeError as exc:
            raise _error_at(text, exc.start, "a lone surrogate character (not valid Unicode)") from None


def _check_escapes(text: str) -> None:
    if "\\u" in text and _SURROGATE_ESCAPE_HINT.search(text):
        _check_surrogate_escapes(text)


def _check_depth(text: str) -> None:
    # Depth cannot exceed the number of opening brackets: most texts need no further look.
    if text.count("[") + text.count("{") > MAX_DEPTH:
        brackets = _NOT_BRACKET.sub("", _STRING_RE.sub("", text))
        if brackets and max(accumulate(map(_STEP.__getitem__, brackets))) > MAX_DEPTH:
            raise _error_at(text, _too_deep_at(text), f"nested more than {MAX_DEPTH} levels deep "
                            "(an incident needs 4): is this the right file?")


def _check_surrogate_escapes(text: str) -> None:
    """Refuse a `\\uD800`-`\\uDFFF` escape that is not a high surrogate followed at once by a low one."""
    high: re.Match[str] | None = None
    for m in _ESCAPE.finditer(text):
        code = m.group(1)
        value = int(code, 16) if code is not None else -1
        if high is not None:
            if 0xDC00 <= value <= 0xDFFF and m.start() == high.end():
                high = None
                continue
            break
        if 0xD800 <= value <= 0xDBFF:
            high = m
        elif 0xDC00 <= value <= 0xDFFF:
            high = m
            break
    if high is not None:
        raise _error_at(text, high.start(), f"`{high.group()}` is a lone surrogate escape (half of a "
                        "character, not valid Unicode)")


def _too_deep_at(text: str) -> int:
    depth = 0
    for m in _DEPTH_TOKEN.finditer(text):
        step = _STEP.get(m.group())
        if step is not None:
            depth += step
            if depth > MAX_DEPTH:
                return m.start()
    return 0


def _decode(text: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if orjson.dumps(value) == text.encode():
            return value
    # Only here are escapes looked at: orjson refuses a lone surrogate escape, so a text it read (and
    # wrote back as it is) has none, and the search for `\u` cost a microsecond a line of an export.
    _check_escapes(text)
    return _strict(text)


def _strict(text: str) -> Any:
    try:
        return _STRICT.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonError(exc.msg, exc.lineno, exc.colno) from None
    except _Refused as exc:
        raise _locate(text, 0, exc) from None


def split_document(text: str) -> Iterator[tuple[int, int, str] | JsonError]:
    """The incidents of a `.json` document, as (line, column, text) where each starts: the whole
    document, or each element of a top-level array. Each text is then decoded with `decode_json`
    on its own, so an element with a refused value does not stop the others. A JsonError (bad
    syntax, too deep) ends the document: nothing after it can be framed reliably."""
    try:
        check_text(text)
    except JsonError as exc:
        yield exc
        return
    pos = _skip(text, 0)
    if pos == len(text):
        return
    if text[pos] != "[":
        yield 1, 1, text
        return
    pos = _skip(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        yield from _nothing_after(text, pos + 1)
        return
    while True:
        try:
            _, end = _FRAMER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield JsonError(exc.msg, exc.lineno, exc.colno)
            return
        except Exception as exc:  # the framer has no hooks that refuse; anything else is unexpected
            yield _error_at(text, pos, f"cannot be read ({type(exc).__name__})")
            return
        line, column = position(text, pos)
        yield line, column, text[pos:end]
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            yield from _nothing_after(text, pos + 1)
            return
        yield _error_at(text, pos, "expected `,` or `]` after an element of the array")
        return


def _nothing_after(text: str, pos: int) -> Iterator[JsonError]:
    pos = _skip(text, pos)
    if pos < len(text):
        yield _error_at(text, pos, "extra text after the array (a .json file holds one document)")


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of `offset` in `text`."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _error_at(text: str, offset: int, message: str) -> JsonError:
    return JsonError(message, *position(text, offset))


def _locate(text: str, start: int, refused: _Refused) -> JsonError:
    """The JsonError for a value a hook refused, at the token that holds it (found by a scan that
    tracks the keys of each open object; run only when something was refused)."""
    message = _refusal_message(refused)
    stack: list[set[Any] | None] = []
    previous = ""
    for m in _TOKEN.finditer(text, start):
        token = m.group()
        first = token[0]
        if first in _WHITESPACE:
            continue
        if first == "{":
            stack.append(set())
        elif first == "[":
            stack.append(None)
        elif first in "}]":
            if stack:
                stack.pop()
        elif first == '"':
            keys = stack[-1] if stack else None
            if keys is not None and previous in ("{", ","):
                try:
                    key = json.loads(token)
                except ValueError:
                    key = None
                if refused.kind == "duplicate" and key == refused.detail and key in keys:
                    return _error_at(text, m.start(), message)
                keys.add(key)
        elif ((refused.kind == "constant" and token in ("NaN", "Infinity", "-Infinity"))
              or (refused.kind == "number" and token == refused.detail)):
            return _error_at(text, m.start(), message)
        previous = first
    return _error_at(text, start, message)


def _refusal_message(refused: _Refused) -> str:
    if refused.kind == "duplicate":
        return (f"the key `{quoted(refused.detail)}` appears twice in one object: keep one (JSON readers "
                "differ on which one counts)")
    if refused.kind == "constant":
        return f"`{refused.detail}` is not a number JSON allows: give a finite number, or leave the value out"
    if len(refused.detail) > MAX_NUMBER_CHARS:
        return (f"the number `{quoted(refused.detail, 20)}` is longer than {MAX_NUMBER_CHARS} characters: "
                "no count or measure needs that many")
    return f"the number `{quoted(refused.detail, 20)}` is too large to count with"


__all__ = ["MAX_DEPTH", "MAX_NUMBER_CHARS", "JsonError", "check_text", "decode_json", "decode_utf8", "position",
           "split_document"]
