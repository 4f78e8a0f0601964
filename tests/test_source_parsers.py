"""The ruleset reader parses with libyaml where it can and with PyYAML's Python parser otherwise
(`policy/source.py`, `_compose`): whatever the text, both must give the same values, positions,
problems and errors, so which parser ran never shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from budget import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from policy import source
from policy.diagnostics import RulesetError

ROOT = Path(__file__).resolve().parent.parent
YAML_FILES = sorted(p for pattern in ("**/*.yaml", "**/*.yml") for p in ROOT.glob(pattern)
                    if ".venv" not in p.parts and ".git" not in p.parts)


def _outcome(text: str, *, partial: bool) -> tuple[Any, ...]:
    try:
        doc = source.read_yaml_text(text, "f.yaml", partial=partial)
    except RulesetError as exc:
        return ("refused", exc.diagnostics)
    return ("read", repr(doc.data), doc.positions, doc.key_positions, doc.problems)


def _both(text: str, *, partial: bool = True) -> None:
    fast = _outcome(text, partial=partial)
    with mock.patch.object(source.yaml, "__with_libyaml__", False):
        python = _outcome(text, partial=partial)
    assert fast == python


def test_libyaml_is_used_where_installed() -> None:
    # Without it every check below compares the Python parser with itself.
    assert yaml.__with_libyaml__


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_of_the_project_reads_alike(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    _both(text)
    _both(text, partial=False)


_words = st.sampled_from(["yes", "no", "on", "08", "1e5", "1.0e5", "0x1F", "-", "~", "null", "", " ", ": ", "a: b",
                          "#", "- x", "'", '"', "\\", "é", "\u2028", "\x85", "\ufeff", "😀", "[", "]", "{", "}", ",",
                          "&a", "*a", "!tag", "<<", "?", "|", ">", "%", "@", "`", "\r\n", "\n", "  ", "9" * 20])
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _words | st.text(max_size=12)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(_words | st.text(max_size=6), inner, max_size=4), max_leaves=16)


def _dumped(value: Any, flow: bool | None, unicode: bool, width: int) -> str:
    return yaml.safe_dump(value, default_flow_style=flow, allow_unicode=unicode, width=width, sort_keys=False)


_texts = st.builds(_dumped, _values, st.sampled_from([None, True, False]), st.booleans(), st.sampled_from([20, 80]))


def _spliced(text: str, at: int, piece: str, cut: int) -> str:
    at %= len(text) + 1
    return text[:at] + piece + text[at + cut:]


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts | st.builds(_spliced, _texts, st.integers(0, 400), _words, st.integers(0, 3))
       | st.text(max_size=80))
@example("a: &x [1, *x]\n")
@example("a: 1\na: 2\n")
@example("a: \"\\ud83d\\ude00\"\n")
@example("a: \"\\ud800\"\n")
@example("a: \"\\U10001000\"\n")
@example("a:\n\t- b\n")
@example("a: b\n---\nc: d\n")
@example("<<: {a: 1}\n")
@example("? [a]\n: b\n")
@example("a: !!python/object:os.system x\n")
@example("\ufeffa: b\n")
@example("[]\n\ufeff")
@example("[0?]")
@example("\ud800: x\n")  # a raw surrogate: libyaml cannot even be given it
@example("a: 'x\u2028y'\nb: \"\\N\"\n")
@example("a: 99999999999999999999\nb: 1e400\n")
def test_any_text_reads_alike_with_either_parser(text: str) -> None:
    _both(text)
