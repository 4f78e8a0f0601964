"""Hostile values through the public API (engine.api): whatever an embedding system passes, a call
refuses it with the error docs/api.md documents for it (one of `ERRORS`), saying where and why; a
value of the wrong Python type where one of the API's own objects is expected is a `TypeError` naming
the argument (docs/api.md, "Errors"). Never an internal error leaking from inside, never a session
left holding an event it refused.

Also: the errors that may cross worker processes survive pickling, and a lookup error's message stays
short whatever the reference it quotes.

Every test below failed before the fixes it came with, except those marked CONTROL (behaviour that
was already right and is kept so)."""

from __future__ import annotations

import io
import math
import os
import pickle
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.api import (
    ERRORS,
    ExportError,
    IncidentError,
    JsonError,
    Library,
    Policy,
    Problem,
    RulesetError,
    SelectionError,
    UnknownRuleset,
    UnknownVersion,
    choose_version,
    load_ruleset,
    make_backend,
    read_export,
    resolve_as_of,
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
NOT_TEXT: list[Any] = [1, None, b"illinois-50-ilcs-706-10-20", [IL], 2.5]
NOT_A_TIME: list[Any] = [5, 1.5, True, b"now", [], {}, date(2020, 3, 2), math.nan]


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


@pytest.fixture(scope="module")
def policy(library: Library) -> Policy:
    return library.select(IL)


def _incident(**extra: Any) -> dict[str, Any]:
    return {"id": "a", "timezone": "America/Chicago", "facts": {"in_uniform": True},
            "events": [{"type": "dispatched", "at": "2020-03-02T10:00:00-06:00"},
                       {"type": "encounter_ended", "at": "2020-03-02T10:20:00-06:00"}], **extra}


# --- ruleset references and versions ---------------------------------------------------------------

@pytest.mark.parametrize("ref", NOT_TEXT, ids=repr)
@pytest.mark.parametrize("call", ["select", "versions_of", "vocabulary", "decide", "explain", "read"])
def test_a_ruleset_reference_that_is_not_text_is_a_selection_error(library: Library, call: str, ref: Any) -> None:
    args = (ref, _incident()) if call in ("decide", "explain", "read") else (ref,)
    with pytest.raises(SelectionError, match="reference is text"):
        getattr(library, call)(*args)


@pytest.mark.parametrize("version", [1, "", "  ", ["2021.1.0"]], ids=repr)
def test_a_version_that_is_not_text_is_a_selection_error(library: Library, version: Any) -> None:
    # An empty version pins nothing (as `id@` does not): it is refused, not read as "the newest".
    with pytest.raises(SelectionError, match="version: a version is text"):
        library.select(IL, version)


def test_an_unknown_backend_is_a_selection_error(library: Library) -> None:
    with pytest.raises(SelectionError, match="no backend `prolog`; backends: native, rete"):
        Library.load(ROOT / "rulesets", backend="prolog")  # type: ignore[arg-type]
    with pytest.raises(SelectionError, match="no backend"):
        library.select(IL, backend="prolog")  # type: ignore[arg-type]
    with pytest.raises(SelectionError, match="no backend"):
        library.versions_of(IL, backend=5)  # type: ignore[arg-type]
    ruleset = load_ruleset(ROOT / "rulesets" / "colorado-24-31-902" / "2021.2.0.yaml")
    with pytest.raises(SelectionError, match="no backend"):
        Policy.from_ruleset(ruleset, backend="prolog")  # type: ignore[arg-type]


# --- Library.load's paths --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [1, None, b"rulesets", ["rulesets"], {}], ids=repr)
def test_load_refuses_a_path_that_is_not_text_or_a_path(path: Any) -> None:
    with pytest.raises(RulesetError) as caught:
        Library.load(path)
    [d] = caught.value.diagnostics
    assert d.code == "BWC001" and d.file == "(path 1)" and "a ruleset path is text or a path" in d.message
    if isinstance(path, list):
        assert d.hint is not None and "Library.load(*paths)" in d.hint


def test_load_refuses_an_empty_path_rather_than_reading_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: read as `.`, "" loaded an empty library
    with pytest.raises(RulesetError, match="an empty path names no file or folder"):
        Library.load("")


def test_load_refuses_a_file_name_holding_a_nul() -> None:
    with pytest.raises(RulesetError, match="NUL") as caught:
        Library.load("rulesets\0.yaml")
    assert caught.value.diagnostics[0].file == "rulesets\\x00.yaml"  # escaped, not raw


def test_load_reports_every_bad_path_at_once() -> None:
    with pytest.raises(RulesetError) as caught:
        Library.load(1, "")  # type: ignore[arg-type]
    assert [d.file for d in caught.value.diagnostics] == ["(path 1)", "(path 2)"]


# --- as-of -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_of", NOT_A_TIME, ids=repr)
def test_an_as_of_of_the_wrong_type_is_an_incident_error(library: Library, policy: Policy, as_of: Any) -> None:
    calls = [lambda: policy.decide(_incident(), as_of), lambda: library.decide(IL, _incident(), as_of),
             lambda: policy.explain(_incident(), as_of), lambda: library.explain(IL, _incident(), as_of),
             lambda: resolve_as_of(as_of, policy.read(_incident()))]
    for call in calls:
        with pytest.raises(IncidentError) as caught:
            call()
        [problem] = caught.value.problems
        assert (problem.incident, problem.field) == ("a", "as_of")
        assert "an aware datetime, not" in problem.message
    with pytest.raises(IncidentError) as caught:
        resolve_as_of(as_of)  # resolved once for a run: no incident to name
    assert caught.value.problems[0].incident == "(as of)"


@pytest.mark.parametrize("as_of", [None, "not a time", datetime(2020, 3, 2)], ids=repr)
def test_resolve_as_of_given_a_dict_for_the_incident_is_an_incident_error(as_of: Any) -> None:
    with pytest.raises(IncidentError) as caught:
        resolve_as_of(as_of, _incident())  # type: ignore[call-overload]
    assert caught.value.problems[0].incident == "?"


def test_control_a_naive_as_of_is_refused_and_an_aware_one_kept(policy: Policy) -> None:
    # CONTROL: already as documented.
    with pytest.raises(IncidentError, match="as_of needs a time zone offset"):
        policy.decide(_incident(), datetime(2020, 3, 2))
    with pytest.raises(IncidentError, match="has no time zone offset"):
        policy.decide(_incident(), "2020-03-02T10:00:00")
    assert policy.decide(_incident(), "2020-03-02T10:05:00-06:00").as_of == "2020-03-02T10:05:00-06:00"


# --- sessions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("event", [None, 5, "ab", b"x", [1], [("type", "dispatched"),
                                                             ("at", "2020-03-02T10:00:00-06:00")]], ids=repr)
def test_a_session_refuses_an_event_that_is_not_a_mapping_and_keeps_nothing(policy: Policy, event: Any) -> None:
    session = policy.session("a", "America/Chicago", {"in_uniform": True})
    with pytest.raises(IncidentError) as caught:
        session.add(event)
    assert [p.field for p in caught.value.problems] == ["events[0]"]
    assert session.raw_events == []
    session.add({"type": "dispatched", "at": "2020-03-02T10:00:00-06:00"})  # and goes on
    assert len(session.raw_events) == 1


@pytest.mark.parametrize("facts", [[1], "xy", 5, ["in_uniform"]], ids=repr)
def test_a_session_with_facts_that_are_not_a_mapping_refuses_its_events(policy: Policy, facts: Any) -> None:
    session = policy.session("a", "America/Chicago", facts)
    with pytest.raises(IncidentError) as caught:
        session.add({"type": "dispatched", "at": "2020-03-02T10:00:00-06:00"})
    assert [p.field for p in caught.value.problems] == ["facts"]
    assert session.raw_events == []


def test_a_session_does_not_keep_an_event_whose_decision_is_refused(policy: Policy) -> None:
    session = policy.session("a", "America/Chicago", {"in_uniform": True})
    late = {"type": "dispatched", "at": "9999-12-30T10:00:00-06:00"}  # its deadlines run past the calendar
    with pytest.raises(IncidentError, match="falls out"):
        session.add(late)
    assert session.raw_events == []  # it was kept, and every later decision of the session refused
    session.add({"type": "dispatched", "at": "2020-03-02T10:00:00-06:00"})
    assert len(session.raw_events) == 1
    assert session.decision().to_json() == policy.decide(session.data()).to_json()


@pytest.mark.parametrize("as_of", NOT_A_TIME[:3], ids=repr)
def test_a_session_decision_as_of_the_wrong_type_is_an_incident_error(policy: Policy, as_of: Any) -> None:
    session = policy.session("a", "America/Chicago", {"in_uniform": True})
    session.add({"type": "dispatched", "at": "2020-03-02T10:00:00-06:00"})
    with pytest.raises(IncidentError, match="as_of"):
        session.decision(as_of)


# --- choosing a version ----------------------------------------------------------------------------

def test_choose_version_refuses_an_empty_family_and_an_incident_not_read(library: Library, policy: Policy) -> None:
    incident = policy.read(_incident())
    with pytest.raises(SelectionError, match="no version to choose from"):
        choose_version([], incident)
    for data in (_incident(), None, "x"):
        with pytest.raises(IncidentError, match="choose_version needs an Incident"):
            choose_version(library.versions_of(IL), data)  # type: ignore[arg-type]
    assert choose_version(list(library.versions_of(IL)), incident) is library.read(IL, incident)[1]  # CONTROL


# --- the API's own objects, of the wrong type: TypeError naming the argument -----------------------

def test_an_api_object_of_the_wrong_type_is_a_type_error_naming_the_argument(
        library: Library, policy: Policy) -> None:
    incident = policy.read(_incident())
    cases: list[tuple[str, Any]] = [
        ("Policy.from_ruleset: ruleset is a Ruleset", lambda: Policy.from_ruleset(None)),  # type: ignore[arg-type]
        ("Policy.from_ruleset: ruleset is a Ruleset", lambda: Policy.from_ruleset({})),  # type: ignore[arg-type]
        ("Library.policy: ruleset is a Ruleset", lambda: library.policy(None)),  # type: ignore[arg-type]
        ("Policy: program is a compiled Program", lambda: Policy("x")),  # type: ignore[arg-type]
        ("family is a sequence of Policy", lambda: policy.decide(incident, family=5)),  # type: ignore[arg-type]
        ("family is a sequence of Policy", lambda: policy.decide(incident, family=["x"])),  # type: ignore[list-item]
        ("family is a sequence of Policy", lambda: choose_version(None, incident)),  # type: ignore[arg-type]
        ("amendment is a Policy", lambda: policy.decide(incident, amendment="x")),  # type: ignore[arg-type]
        ("amendment is a Policy", lambda: policy.explain(incident, amendment=5)),  # type: ignore[arg-type]
    ]
    for message, call in cases:
        with pytest.raises(TypeError, match=message):
            call()


# --- errors cross process boundaries whole ---------------------------------------------------------

def test_an_incident_error_pickles_with_its_message_and_problems(policy: Policy) -> None:
    with pytest.raises(IncidentError) as caught:
        policy.decide(_incident(events=[{"type": "nope", "at": "x"}]))
    error = caught.value
    for original in (error, IncidentError([Problem("a", "events[0].at", "bad", "a hint")])):
        copy = pickle.loads(pickle.dumps(original))
        assert type(copy) is IncidentError and str(copy) == str(original)
        assert copy.problems == original.problems and copy.args == original.args


# --- CONTROLS: hostile values already refused as documented ----------------------------------------

@pytest.mark.parametrize("data", [None, [], "{}", b"{}", 3, {"id": "a"},
                                  _incident(events="x"), _incident(events=[1]), _incident(facts=[1]),
                                  _incident(events=[{"type": "dispatched", "at": 5}]),
                                  _incident(events=[{"type": "dispatched", "at": "2020-03-02T10:00:00"}]),
                                  _incident(timezone="../../etc/passwd"), _incident(facts={"in_uniform": math.nan})])
def test_control_a_bad_incident_is_an_incident_error(policy: Policy, data: Any) -> None:
    with pytest.raises(IncidentError):
        policy.decide(data)


def test_control_selection_errors_and_reproducible_pickled_decisions(library: Library, policy: Policy) -> None:
    for ref in ("", "@", "x@", IL + "@", "x" * 100_000, "a\x1b[2J"):
        with pytest.raises(ERRORS):
            library.select(ref)
    again = pickle.loads(pickle.dumps(policy))
    assert again.decide(_incident()).to_json() == policy.decide(_incident()).to_json()


# --- exports, backends, pickled errors, lookups ---------------------------------------------------------

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


@pytest.mark.parametrize("vocabulary", [None, "bwc-core-1", {"events": {}}], ids=repr)
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_read_export_refuses_a_vocabulary_that_is_not_one(tmp_path: Path, vocabulary: Any, suffix: str) -> None:
    """A CSV export read against something else than a Vocabulary ended in an AttributeError."""
    path = tmp_path / f"export{suffix}"
    path.write_text("id,type,at\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"read_export: vocabulary is the Vocabulary"):
        list(read_export(path, vocabulary))


def test_a_value_that_is_no_ruleset_id_is_not_in_the_repository(library: Library) -> None:
    """`[IL] in repository` raised Python's "unhashable type" instead of answering."""
    assert IL in library.repository
    assert [IL] not in library.repository and {IL: 1} not in library.repository and 5 not in library.repository


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
