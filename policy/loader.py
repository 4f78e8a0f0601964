"""Loading rulesets: a YAML document → a validated `Ruleset`, or every problem with its position.

Structure is checked by the pydantic model (its errors put in plain words by `policy.model_errors`);
names and types by `policy.validate`. When the structure is broken, each rule is still checked on its
own, so one run reports every problem.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined

from policy import validate
from policy.base import Name
from policy.conditions import Comparison, Condition
from policy.diagnostics import Diagnostic, RulesetError, did_you_mean, hint_budget
from policy.model import Declarations, Rule, Ruleset, Source
from policy.model_errors import described, from_pydantic, rule_id_at
from policy.model_paths import unwrap
from policy.obligations import OBLIGATION_KEYS
from policy.source import SourceDocument, read_yaml_file, read_yaml_text
from policy.vocabulary import known_vocabularies


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one file."""

    file: str
    ruleset: Ruleset | None
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.ruleset is not None and not any(d.severity == "error" for d in self.diagnostics)


def load_ruleset(path: Path | str) -> Ruleset:
    """Load and validate one ruleset file; raises RulesetError with every problem found."""
    return load_document(read_yaml_file(path, partial=True))


def load_ruleset_text(text: str, file: str = "<text>") -> Ruleset:
    return load_document(read_yaml_text(text, file, partial=True))


def check_file(path: Path | str) -> CheckResult:
    try:
        return CheckResult(str(path), load_ruleset(path), [])
    except RulesetError as exc:
        return CheckResult(str(path), None, exc.diagnostics)


def load_document(doc: SourceDocument) -> Ruleset:
    """Validate a document read with `partial=True` (or without): its reading problems are reported
    together with every problem of the ruleset itself. "Did you mean" guesses are bounded per
    document (`HINT_LIMIT`), however the file is loaded: alone, or among a repository's."""
    with hint_budget():
        return _validated(doc)


def _validated(doc: SourceDocument) -> Ruleset:
    data = doc.data
    if not isinstance(data, dict):
        line, col = doc.position(()) or (1, 1)
        raise RulesetError([*doc.problems, Diagnostic(
            "BWC012",
            f"a ruleset file is a mapping of keys (`ruleset:`, `version:`, …, `rules:`), not {described(data)}",
            doc.file, line, col,
            "write `key: value` lines starting at the left margin; see docs/language.md for an example")])
    diagnostics: list[Diagnostic] = []
    ruleset: Ruleset | None = None
    try:
        ruleset = Ruleset.model_validate(data)
    except ValidationError as exc:
        # (Text here never holds a lone surrogate, which pydantic could not quote: the reader refuses it.)
        diagnostics.extend(from_pydantic(exc.errors(), doc))

    problems: list[validate.RulesetProblem] = []
    if ruleset is not None:
        declare, sources = ruleset.declare, ruleset.sources
        rules = [(i, validate.RuleParts.of(r)) for i, r in enumerate(ruleset.rules)]
        vocab_ref: Any = ruleset.vocabulary
    else:
        declare = _part(Declarations, data.get("declare", {})) or Declarations()
        sources = _part(list[Source], data.get("sources"))
        raw_rules = data.get("rules")
        rules = [(i, _rule_parts(raw)) for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else [])]
        vocab_ref = data.get("vocabulary", "bwc-core@1")

    vocabularies = known_vocabularies()
    base = vocabularies.get(vocab_ref) if isinstance(vocab_ref, str) else None
    if base is None:
        problems.append(validate.RulesetProblem(("vocabulary",), "BWC213", f"unknown vocabulary `{vocab_ref}`",
                                         did_you_mean(str(vocab_ref), vocabularies, "vocabularies")))
    else:
        problems += validate.declarations(declare, base)
        vocab = base.extended(declare.facts, declare.events, declare.attributes)
        problems += validate.rules(rules, vocab, None if sources is None else [s.id for s in sources])
        anchor = data.get("version_date")
        if isinstance(anchor, str) and anchor != "incident" and anchor not in vocab.events:
            problems.append(validate.RulesetProblem(("version_date",), "BWC201", f"unknown event type `{anchor}`",
                                             did_you_mean(anchor, [*vocab.events, "incident"], "event types")))
    if sources is not None:
        problems += validate.sources(sources)
    problems += validate.rule_ids(data.get("rules"), layered=isinstance(data.get("extends"), dict))
    diagnostics.extend(_diagnostic(f, doc) for f in problems)
    if diagnostics or doc.problems or ruleset is None:
        # A value refused while reading (a number too large, a duplicate key) is not reported again
        # by the checks that then find it missing or of the wrong type.
        refused = {(d.line, d.column) for d in doc.problems}
        raise RulesetError(_dedupe([*doc.problems, *(d for d in diagnostics if (d.line, d.column) not in refused)]))
    return ruleset


def _part(kind: Any, raw: Any) -> Any:
    try:
        return TypeAdapter(kind).validate_python(raw)
    except ValidationError:
        return None


def _rule_parts(raw: Any) -> validate.RuleParts:
    """Whatever parts of a broken rule are valid on their own, so that they are still checked."""
    rule = _part(Rule, raw)
    if rule is not None:
        return validate.RuleParts.of(rule)
    if not isinstance(raw, dict):
        return validate.RuleParts()
    kinds = [k for k in OBLIGATION_KEYS if raw.get(k) is not None]
    kind = kinds[0] if len(kinds) == 1 else None
    return validate.RuleParts(
        cite=_part(str, raw.get("cite")),
        on=_part(Name, raw.get("on")),
        where=_part(dict[Name, Comparison], raw.get("where", {})),
        when=_part(Condition, raw.get("when")),
        unless=_part(Condition, raw.get("unless")),
        kind=kind,
        obligation=_fields_that_validate(Rule.model_fields[kind].annotation, raw[kind]) if kind else None,
    )


def _fields_that_validate(kind: Any, raw: Any) -> Any:
    """An obligation with each field that is valid on its own, the others left out (None), so that a
    bad `effect` does not stop its roles, recipients and anchors from being checked too."""
    whole = _part(kind, raw)
    if whole is not None or not isinstance(raw, dict):
        return whole
    model = unwrap(kind, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        annotation = info.annotation if not info.metadata else typing.Annotated[info.annotation, *info.metadata]
        if key in raw:
            values[name] = _part(annotation, raw[key])
        else:
            default = info.get_default(call_default_factory=True)
            values[name] = None if default is PydanticUndefined else default
    return model.model_construct(**values)


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for d in diagnostics:
        key = (d.line, d.column, d.code)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _diagnostic(f: validate.RulesetProblem, doc: SourceDocument) -> Diagnostic:
    line, col = doc.position(f.path, key=f.at_key) or (None, None)
    return Diagnostic(f.code, f.message, doc.file, line, col, f.hint, rule_id_at(doc, f.path), path=f.path)
