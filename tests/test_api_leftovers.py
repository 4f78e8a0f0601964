"""The public API's last hostile values (docs/api.md, "Errors"): a value of an unexpected type is
refused with the documented error naming the argument, never an error leaking from inside; the
errors that may cross worker processes survive pickling; a lookup error's message stays short
whatever the reference it quotes.

Every test below failed before the fixes it came with."""

from __future__ import annotations

import io
import os
import pickle
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.api import (
    ExportError,
    JsonError,
    Library,
    RulesetError,
    SelectionError,
    UnknownRuleset,
    UnknownVersion,
    make_backend,
    read_export,
)
from engine.core.program import Program
from engine.io.columnmap import ColumnMapError
from engine.io.export import open_export
from engine.io.jsondoc import decode_json
from policy.diagnostics import Diagnostic
from policy.loader import load_ruleset_text
from policy.repository import Repository
from policy.vocabulary import Vocabulary

ROOT = Path(__file__).resolve().parent.parent
IL = "illinois-50-ilcs-706-10-20"


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


@pytest.fixture(scope="module")
def vocabulary(library: Library) -> Vocabulary:
    return library.vocabulary(IL)


@pytest.fixture(scope="module")
def program(library: Library) -> Program:
    return library.select(IL).program


class _BytesPath:
    """An os.PathLike whose path is bytes: it names no file pathlib can open."""

    def __fspath__(self) -> bytes:
        return b"export.jsonl"


NOT_A_SOURCE: list[Any] = [5, None, b"export.jsonl", [Path("export.jsonl")], io.StringIO('{"id": "a"}\n'),
                           _BytesPath()]


# --- 1. read_export / open_export: a source or format of another type -------------------------------

@pytest.mark.parametrize("source", NOT_A_SOURCE, ids=lambda v: type(v).__name__)
def test_read_export_refuses_a_source_that_is_not_a_path(vocabulary: Vocabulary, source: Any) -> None:
    assert isinstance(_BytesPath(), os.PathLike)
    with pytest.raises(ExportError, match=r"read_export: source is the export's path") as caught:
        read_export(source, vocabulary)
    assert type(source).__name__ in str(caught.value)


@pytest.mark.parametrize("source", NOT_A_SOURCE, ids=lambda v: type(v).__name__)
def test_open_export_refuses_a_path_that_is_not_a_path(vocabulary: Vocabulary, source: Any) -> None:
    with pytest.raises(ExportError, match=r"open_export: path is the export's path"):
        open_export(source, vocabulary)


@pytest.mark.parametrize("fmt", [5, True, b"jsonl", ["jsonl"]], ids=repr)
def test_read_export_refuses_a_format_that_is_not_text(vocabulary: Vocabulary, tmp_path: Path, fmt: Any) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ExportError, match=r"read_export: fmt is an export format .* not a value of type"):
        read_export(path, vocabulary, fmt)
    with pytest.raises(ExportError, match=r"open_export: fmt is an export format"):
        open_export(str(path), vocabulary, fmt)


# --- 2. make_backend: a program or `only` of another type --------------------------------------------

@pytest.mark.parametrize("value", [None, "illinois-50-ilcs-706-10-20", 5], ids=repr)
@pytest.mark.parametrize("name", ["native", "rete"])
def test_make_backend_refuses_what_is_not_a_program(value: Any, name: Any) -> None:
    with pytest.raises(TypeError, match=r"make_backend: program is a compiled Program, not a value of type"):
        make_backend(value, name)


@pytest.mark.parametrize("only", ["0", 5, {0: 1}, {True}, [1.0], (0, None), frozenset({"0"})], ids=repr)
def test_make_backend_refuses_an_only_that_is_not_rule_positions(program: Program, only: Any) -> None:
    with pytest.raises(TypeError, match=r"make_backend: only is a set, frozenset, list or tuple of rule positions"):
        make_backend(program, "native", only=only)
    with pytest.raises(TypeError, match=r"make_backend: only is"):
        make_backend(program, "rete", only=only)  # the type first: refused before any backend is considered


# --- 3. errors that cross worker processes survive pickling ------------------------------------------

def _round_trip(error: BaseException) -> Any:
    return pickle.loads(pickle.dumps(error))


def test_a_ruleset_error_pickles_with_its_diagnostics() -> None:
    with pytest.raises(RulesetError) as caught:
        load_ruleset_text("ruleset: [unclosed\n", "bad.yaml")
    original = caught.value
    copy = _round_trip(original)
    assert type(copy) is RulesetError
    assert copy.diagnostics == original.diagnostics and copy.diagnostics
    assert str(copy) == str(original)


def test_a_scorecard_data_error_a_ruleset_error_of_its_own_class_pickles() -> None:
    from engine.tools.score.criteria import ScorecardDataError

    original = ScorecardDataError([Diagnostic("BWC001", "bad criteria", "criteria.yaml", 3, 1, "a hint")])
    copy = _round_trip(original)
    assert type(copy) is ScorecardDataError
    assert copy.diagnostics == original.diagnostics and str(copy) == str(original)


def test_a_json_error_pickles_with_its_message_line_and_column() -> None:
    with pytest.raises(JsonError) as caught:
        decode_json('{"id":\n  tru}')
    original = caught.value
    copy = _round_trip(original)
    assert type(copy) is JsonError
    assert (copy.message, copy.line, copy.column) == (original.message, original.line, original.column)
    assert str(copy) == str(original)


def test_a_column_map_error_pickles_with_its_problems() -> None:
    original = ColumnMapError([Diagnostic("BWC001", "no such column", "map.yaml", 7, 3, "name one")])
    original.add_note("while reading the export")
    copy = _round_trip(original)
    assert type(copy) is ColumnMapError and isinstance(copy, ExportError)
    assert copy.problems == original.problems and str(copy) == str(original)
    assert copy.__notes__ == ["while reading the export"]


# --- 4. Repository lookups: an id that is not text; a message quoting a long reference ----------------

@pytest.mark.parametrize("value", [5, None, [IL], b"illinois-50-ilcs-706-10-20"], ids=repr)
@pytest.mark.parametrize("call", ["get", "versions", "entries", "entry", "in_effect"])
def test_a_repository_lookup_of_an_id_that_is_not_text_is_unknown_ruleset(
        library: Library, call: str, value: Any) -> None:
    repository: Repository = library.repository
    extra: tuple[Any, ...] = {"entry": ("2021.1.0",), "in_effect": (date(2021, 1, 1),)}.get(call, ())
    with pytest.raises(UnknownRuleset, match=r"^a ruleset id is text, not a value of type \w+$"):
        getattr(repository, call)(value, *extra)


@pytest.mark.parametrize("version", [5, 2021.1, ["2021.1.0"]], ids=repr)
def test_a_repository_version_that_is_not_text_is_unknown_version(library: Library, version: Any) -> None:
    with pytest.raises(UnknownVersion, match=r"^a version is text such as 2021.1.0, not a value of type \w+$"):
        library.repository.get(IL, version)


BIG = "x" * 1_000_000


@pytest.mark.parametrize("ref", [BIG, f"{IL}@{BIG}", f"{BIG}@2021.1.0", f"{IL}{BIG}"],
                         ids=["id", "version", "id with version", "id past a real one"])
def test_a_selection_error_quotes_a_long_reference_briefly(library: Library, ref: str) -> None:
    for call in ("select", "versions_of"):  # versions_of takes an id alone: `ID@VERSION` is an unknown id there
        with pytest.raises(SelectionError) as caught:
            getattr(library, call)(ref)
        said = str(caught.value)
        assert len(said) < 2_000 and "x" * 150 in said and "…" in said


def test_an_unknown_ruleset_or_version_quotes_the_reference_briefly_and_escaped(library: Library) -> None:
    repository = library.repository
    for call, args, error in [(repository.get, (BIG,), UnknownRuleset), (repository.versions, (BIG,), UnknownRuleset),
                              (repository.get, (IL, BIG), UnknownVersion)]:
        with pytest.raises(error) as caught:
            call(*args)
        assert len(str(caught.value)) < 2_000
    with pytest.raises(UnknownRuleset) as escaped:
        repository.get("\x1b[2Jcity")
    assert "\x1b" not in str(escaped.value) and "\\x1b[2Jcity" in str(escaped.value)
