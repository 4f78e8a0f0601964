"""The drafter documentation stays true: its examples load, and generated files are up to date.

Conventions for fenced code blocks in docs/language.md (the info string is the text after ```):

- ```yaml                        a COMPLETE ruleset file; it must load without any diagnostic.
- ```yaml fragment               one or more RULES without the file header: either one rule
                                 mapping (starting `id:`), or a list of rules (lines starting `- `).
                                 The test indents it under `rules:` of a minimal header
                                 (FRAGMENT_HEADER below) and loads that; it must be valid. Fragments
                                 may therefore only cite the source `policy` and use core vocabulary
                                 names (a fragment needing `declare:` must be a complete ruleset).
- ```yaml invalid CODE           a complete ruleset that must FAIL with diagnostic CODE, and
- ```yaml fragment invalid CODE  a fragment that must FAIL with diagnostic CODE (examples of mistakes).

Any other info string (```sh, ```json, ```text) is not checked. Every ```yaml block must follow one
of the forms above.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from policy import conditions, model, obligations
from policy.diagnostics import CODES, RulesetError
from policy.files import ruleset_files
from policy.loader import load_ruleset_text
from policy.schema import ruleset_schema, ruleset_schema_json
from policy.source import read_yaml_file, read_yaml_text
from policy.vocabulary import core, to_markdown

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LANGUAGE = DOCS / "language.md"
SCHEMA_FILE = ROOT / "schemas" / "ruleset.schema.json"

FRAGMENT_HEADER = """\
ruleset: docs-fragment
version: 1.0.0
title: A fragment from docs/language.md
status: draft
effective: {from: 2024-01-01}
timezone: America/Chicago
drafted_by: tests/test_docs.py
sources:
  - id: policy
    title: An example policy
rules:
"""

_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Example:
    line: int
    fragment: bool
    invalid: str | None  # the diagnostic code the example must produce, if it shows a mistake
    body: str

    @property
    def text(self) -> str:
        """The example as a complete ruleset file."""
        if not self.fragment:
            return self.body
        lines = self.body.rstrip("\n").split("\n")
        first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
        if first.startswith("- "):  # a list of rules
            return FRAGMENT_HEADER + "".join(f"  {ln}\n" for ln in lines)
        return FRAGMENT_HEADER + "  -\n" + "".join(f"    {ln}\n" for ln in lines)  # one rule mapping

    def __str__(self) -> str:
        kind = "fragment" if self.fragment else "ruleset"
        return f"{kind}@line{self.line}" + (f"-invalid-{self.invalid}" if self.invalid else "")


def _examples(path: Path) -> Iterator[Example]:
    text = path.read_text(encoding="utf-8")
    for m in _FENCE.finditer(text):
        words = m["info"].split()
        if not words or words[0] != "yaml":
            continue
        line = text.count("\n", 0, m.start()) + 1
        rest = words[1:]
        fragment = rest[:1] == ["fragment"]
        rest = rest[1:] if fragment else rest
        invalid = None
        if rest[:1] == ["invalid"] and len(rest) == 2:
            invalid, rest = rest[1], []
        assert not rest, f"{path.name}:{line}: unknown info string `{m['info']}` (see tests/test_docs.py)"
        yield Example(line, fragment, invalid, m["body"])


EXAMPLES = list(_examples(LANGUAGE))
VALID = [e for e in EXAMPLES if e.invalid is None]
INVALID = [e for e in EXAMPLES if e.invalid is not None]


def test_language_has_examples() -> None:
    assert len([e for e in VALID if not e.fragment]) >= 3
    assert len([e for e in VALID if e.fragment]) >= 10
    assert INVALID


@pytest.mark.parametrize("example", VALID, ids=str)
def test_example_is_valid(example: Example) -> None:
    try:
        load_ruleset_text(example.text, f"docs/language.md:{example.line}")
    except RulesetError as exc:
        pytest.fail(f"the example at docs/language.md line {example.line} is not valid:\n{exc}")


@pytest.mark.parametrize("example", INVALID, ids=str)
def test_mistake_example_fails_with_its_code(example: Example) -> None:
    assert example.invalid in CODES, f"unknown code {example.invalid}"
    with pytest.raises(RulesetError) as caught:
        load_ruleset_text(example.text, f"docs/language.md:{example.line}")
    codes = {d.code for d in caught.value.diagnostics}
    assert example.invalid in codes, f"expected {example.invalid}, got {sorted(codes)}:\n{caught.value}"


def _keys(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield str(key)
            yield from _keys(value)
    elif isinstance(data, list):
        for item in data:
            yield from _keys(item)


def _values(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _values(value)
    elif isinstance(data, list):
        for item in data:
            yield from _values(item)
    else:
        yield data


def _model_keys(module: Any) -> set[str]:
    keys: set[str] = set()
    for obj in vars(module).values():
        if obj is conditions.Comparison:  # written `{operator: value}`; `op`/`value` are internal
            continue
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__:
            keys |= {info.alias or name for name, info in obj.model_fields.items()}
    return keys


def test_examples_use_every_construct() -> None:
    """Every key of the language, every operator and every enumerated word appears in a valid example."""
    data = [read_yaml_text(e.text, "example").data for e in VALID]
    used_keys = {k for d in data for k in _keys(d)}
    used_values = {v for d in data for v in _values(d) if isinstance(v, str)}
    needed = _model_keys(model) | _model_keys(conditions) | _model_keys(obligations)
    needed |= {op.value for op in conditions.Operator}
    assert needed - used_keys == set(), "docs/language.md has no example of these keys"
    words = {e.value for e in obligations.Effect} | {obligations.INCIDENT, "indefinitely"}
    assert words - used_values == set(), "docs/language.md has no example of these values"
    text = LANGUAGE.read_text(encoding="utf-8")
    listed = {s.value for s in model.Status} | {c.value for c in model.Confidence}
    assert {w for w in listed if f"`{w}`" not in text} == set(), "docs/language.md does not explain these"
    # Complete rulesets also show the header keys and `declare:` of every kind.
    header = {k for e in VALID if not e.fragment for k in read_yaml_text(e.text, "x").data}
    assert set(model.Ruleset.model_fields) - header == set()


# --- generated files -------------------------------------------------------------------------------

def test_vocabulary_doc_is_up_to_date() -> None:
    committed = (DOCS / "vocabulary.md").read_text(encoding="utf-8")
    assert committed == to_markdown(core()), "regenerate: bwc vocabulary --format markdown > docs/vocabulary.md"


def test_schema_file_is_up_to_date() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == ruleset_schema_json(), "regenerate: bwc schema -o schemas/ruleset.schema.json"


# --- the schema accepts what the loader accepts -------------------------------------------------------

def _schema_errors(data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        json.loads(SCHEMA_FILE.read_text(encoding="utf-8")),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    errors = []
    for err in validator.iter_errors(data):
        causes = [f"{c.json_path}: {c.message}" for c in err.context] or [err.message]
        errors.append(f"{err.json_path}: " + "; ".join(causes))
    return errors


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(ruleset_schema())


BUNDLED = sorted(ruleset_files([ROOT / "rulesets"]))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_ruleset_matches_schema(path: Path) -> None:
    assert _schema_errors(read_yaml_file(path).data) == []


@pytest.mark.parametrize("example", VALID, ids=str)
def test_example_matches_schema(example: Example) -> None:
    assert _schema_errors(read_yaml_text(example.text, "example").data) == []


# --- the diagnostics reference ----------------------------------------------------------------------

def test_diagnostics_doc_lists_every_code() -> None:
    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(BWC\d{3})` \|", text, re.M))
    assert set(CODES) - listed == set(), "add these codes to docs/diagnostics.md"
    assert listed - set(CODES) == set(), "docs/diagnostics.md lists codes that policy/diagnostics.py does not have"



def test_diagnostics_doc_lists_every_exit_code() -> None:
    """The "Exit codes" section (the last of docs/diagnostics.md) lists exactly the codes the CLI uses."""
    from engine import cli

    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    assert "\n## Exit codes\n" in text, "docs/diagnostics.md needs an `## Exit codes` section"
    section = text.split("\n## Exit codes\n", 1)[1]
    assert "\n## " not in section, "the Exit codes section is the last one"
    listed = {int(c) for c in re.findall(r"^\| `(\d+)` \|", section, re.M)}
    used = {getattr(cli, name) for name in dir(cli) if name.startswith("EXIT_")}
    assert listed == used

def test_docs_link_to_files_that_exist() -> None:
    for doc in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
