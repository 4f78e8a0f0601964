"""The public API (engine.api) is the one module integrators import: every name it publishes imports
from it, every public class and error defined or used there is published, and every error a call can
raise is caught through it (by name, or all at once with `ERRORS`)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import engine.api
from engine.api import (
    DECISION_SCHEMA,
    ERRORS,
    Decision,
    Explanation,
    IncidentError,
    Library,
    Obligation,
    RuleExplanation,
    RulesetError,
    RulesetLookupError,
    SelectionError,
    UnknownRuleset,
)
from engine.io.export import open_export

ROOT = Path(__file__).resolve().parent.parent
IL = "illinois-50-ilcs-706-10-20"


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


def _incident(iid: str = "a", **extra: Any) -> dict[str, Any]:
    return {"id": iid, "timezone": "America/Chicago", "facts": {"in_uniform": True},
            "events": [{"type": "dispatched", "at": "2020-03-02T10:00:00-06:00"},
                       {"type": "encounter_ended", "at": "2020-03-02T10:20:00-06:00"}], **extra}


# --- what is published ---------------------------------------------------------------------------

def test_every_published_name_imports_from_engine_api() -> None:
    assert len(set(engine.api.__all__)) == len(engine.api.__all__)
    for name in engine.api.__all__:
        assert getattr(engine.api, name, None) is not None, name
    namespace: dict[str, Any] = {}
    exec("from engine.api import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(engine.api.__all__)


def test_every_public_name_defined_in_engine_api_is_published() -> None:
    defined = {name for name, obj in vars(engine.api).items()
               if not name.startswith("_") and getattr(obj, "__module__", None) == "engine.api"
               and (inspect.isclass(obj) or inspect.isfunction(obj))}
    assert defined <= set(engine.api.__all__), defined - set(engine.api.__all__)


def test_the_models_a_caller_meets_are_published() -> None:
    # What decide, explain and read return, and what their results hold.
    for name in ("Decision", "Obligation", "Window", "Summary", "Conflict", "LayerRef", "RulesetRef",
                 "Explanation", "LayerExplanation",
                 "RuleExplanation", "Check", "Incident", "Event", "Problem", "Change", "IncidentSession",
                 "Library", "Policy", "Diagnostic", "Ruleset", "Vocabulary"):
        assert name in engine.api.__all__, name


# --- the errors ----------------------------------------------------------------------------------

def test_every_error_in_the_namespace_is_published_and_covered_by_errors() -> None:
    errors = {name: obj for name, obj in vars(engine.api).items()
              if inspect.isclass(obj) and issubclass(obj, Exception)}
    assert set(errors) <= set(engine.api.__all__), set(errors) - set(engine.api.__all__)
    for name, cls in errors.items():
        assert issubclass(cls, ERRORS), name
    assert {e.__name__ for e in ERRORS} <= set(errors)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_each_error_is_caught_through_engine_api(error: type[Exception]) -> None:
    # The class where it is defined (and raised) is the one engine.api publishes.
    origin = inspect.getmodule(error)
    assert origin is not None and getattr(origin, error.__name__) is getattr(engine.api, error.__name__)
    with pytest.raises(getattr(engine.api, error.__name__)):
        raise error.__new__(error)  # as raised anywhere below: no constructor arguments needed to catch it
    try:
        raise error.__new__(error)
    except ERRORS:
        pass


def test_errors_raised_by_calls_are_caught_by_their_published_names(library: Library, tmp_path: Path) -> None:
    with pytest.raises(SelectionError, match="no ruleset"):
        library.select("no-such-ruleset")
    # An `@` pins a version: with none after it (or no id before it) the reference names nothing, and is
    # never read as the bare id (which would judge by the incident's date, a question nobody asked).
    incident = json.loads((ROOT / "examples" / "colorado-complaint.json").read_text())
    for ref, words in (("colorado-24-31-902@", "no version after `@`"), ("colorado-24-31-902@ ", "no version after"),
                       ("@2021.2.0", "no ruleset id before `@`")):
        with pytest.raises(SelectionError, match=words):
            library.select(ref)
        with pytest.raises(SelectionError, match=words):
            library.decide(ref, incident)
        with pytest.raises(SelectionError, match=words):
            library.vocabulary(ref)
        with pytest.raises(RulesetLookupError, match=words):
            library.repository.resolve(ref)
    with pytest.raises(RulesetLookupError):
        library.repository.get("no-such-ruleset")
    with pytest.raises(UnknownRuleset):
        library.repository.get("no-such-ruleset")
    with pytest.raises(IncidentError) as bad:
        library.decide(IL, _incident(colour="red"))
    assert bad.value.problems[0].field == "colour"
    with pytest.raises(IncidentError):
        library.decide(IL, _incident(), as_of="yesterday")
    broken = tmp_path / "broken.yaml"
    broken.write_text("ruleset: x\nversion: 1\n", encoding="utf-8")
    with pytest.raises(RulesetError) as refused:
        Library.load(broken)
    assert refused.value.diagnostics
    with pytest.raises(engine.api.ExportError):
        open_export(tmp_path / "missing.jsonl", library.vocabulary(IL))


def test_decide_and_explain_return_the_published_models(library: Library) -> None:
    decision = library.decide(IL, _incident())
    assert isinstance(decision, Decision)
    assert all(isinstance(o, Obligation) for o in decision.obligations)
    explanation = library.explain(IL, _incident())
    assert isinstance(explanation, Explanation) and explanation.incident_id == _incident()["id"]
    assert explanation.rules and all(isinstance(r, RuleExplanation) for r in explanation.rules)


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.json")))
def test_every_decision_is_valid_under_the_published_schema(library: Library, example: str) -> None:
    # The types a decision is made of and the schema made from them describe the same JSON: every
    # bundled example's decision validates, and reads back to the same JSON, field for field.
    data = json.loads((ROOT / "examples" / example).read_text(encoding="utf-8"))
    family = {"colorado-complaint.json": "colorado-24-31-902"}.get(example, example.removesuffix(".json"))
    decision = library.decide(family, data)
    text = decision.to_json()
    document = DECISION_SCHEMA.validate_json(text)
    assert document.decision_id == decision.decision_id
    assert json.loads(DECISION_SCHEMA.dump_json(document, by_alias=True, exclude_none=True)) == json.loads(text)
    assert decision.to_dict() == json.loads(text)


def test_docs_api_names_every_published_name() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [name for name in engine.api.__all__ if f"`{name}`" not in text and f"`{name}(" not in text
               and f"`{name}," not in text]
    assert not missing, f"docs/api.md does not mention {missing}"


def test_a_policy_is_compiled_once_per_content(library: Library) -> None:
    ruleset = library.repository.get(IL)
    assert library.policy(ruleset) is library.select(IL)
    assert library.policy(ruleset.model_copy(deep=True)) is library.select(IL)  # same content, same policy
    other = ruleset.model_copy(update={"title": ruleset.title + " (a local copy)"})
    assert library.policy(other) is not library.select(IL)
    assert library.policy(other).program.ruleset.title.endswith("(a local copy)")
