"""`bwc lint` at scale: the work grows about linearly with the rules, and leaving out pairs of rules that
can never apply together never hides a finding.

No test here times anything: each counts the work done (incidents decided by the engine, rules of
extended layers read) at two sizes, by wrapping the function that does it. The pair checks (BWL101-103)
used to run one search per candidate pair, so a generated ruleset of N rules (N/10 districts, each rule
in one) decided incidents in proportion to N², and a ruleset of unconditional `retain` and `delete` rules
decided the same few incidents once per pair; a chain of `extends` layers read every layer under each
one again.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from budget import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.api import Library
from engine.core.evaluation import Context, compile_condition
from engine.core.incident import Event
from engine.core.program import compile_ruleset
from engine.tools.lint import context as lint_context
from engine.tools.lint import lint
from engine.tools.lint.solve import Exclusions
from policy.loader import load_ruleset_text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.append(str(ROOT))

from benchmarks import generate  # noqa: E402

HEAD = {"version": "1.0.0", "title": "t", "status": "draft", "effective": {"from": "2020-01-01"},
        "timezone": "America/Chicago", "drafted_by": "t", "sources": [{"id": "s", "title": "t"}]}


@contextmanager
def counting(owner: Any, name: str) -> Iterator[list[int]]:
    """Count the calls of `owner.name` (a method or a module's function) while the block runs."""
    calls = [0]
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(owner, name, counted)
    try:
        yield calls
    finally:
        setattr(owner, name, original)


def _lint_text(text: str, limit: int) -> int:
    """The incidents the engine decided to lint one ruleset given as YAML text."""
    with tempfile.TemporaryDirectory(prefix="bwc-lint-scale-") as tmp:
        path = Path(tmp) / "1.0.0.yaml"
        path.write_text(text, encoding="utf-8")
        library = Library.load(path)
        with counting(lint_context.LintContext, "decide") as decided:
            lint(library, library.repository.resolve(path), limit=limit)
    return decided[0]


def _retain_and_delete(n: int) -> str:
    """`n` rules with no condition, `retain` and `delete` alternating, no minimum beyond a deletion."""
    rules = [{"id": f"r{i}", "summary": "t", "cite": "s",
              **({"retain": {"at_least": f"P{i + 1}D", "after": "incident"}} if i % 2 == 0 else
                 {"delete": {"within": f"P{1000 + i}D", "after": "incident"}})} for i in range(n)]
    return yaml.safe_dump({"ruleset": f"retain-delete-{n}", **HEAD, "rules": rules}, sort_keys=False)


def test_generated_rulesets_decide_incidents_in_proportion_to_their_rules() -> None:
    # benchmarks/generate.py: N/10 districts, every rule requires `district: dK`. Rules of two districts
    # never apply together, so only pairs within a district need a search.
    small = _lint_text(generate.ruleset_yaml(40, 20240601), limit=16)
    large = _lint_text(generate.ruleset_yaml(80, 20240601), limit=16)
    assert large <= 2.5 * small, (small, large)  # was 4,083 -> 18,904 (x4.6)


def test_pairs_of_rules_with_no_condition_share_their_decisions() -> None:
    # Every retain rule against every delete rule: each pair searches the same incidents, decided once.
    small = _lint_text(_retain_and_delete(20), limit=16)
    large = _lint_text(_retain_and_delete(40), limit=16)
    assert large <= 2.5 * small, (small, large)  # was 480 -> 1,760 (x3.7)


def _chain(folder: Path, layers: int) -> list[Path]:
    """A chain of `extends`: layer k extends layer k-1, each with two rules."""
    files = []
    for k in range(layers):
        rules = [{"id": f"keep-{k}", "summary": "t", "cite": "s", "when": {"facts": {"district": f"d{k % 3}"}},
                  "retain": {"at_least": f"P{k + 1}D", "after": "incident"}},
                 {"id": f"record-{k}", "summary": "t", "cite": "s", "on": "arrest",
                  "record": {"effect": "must", "until": "encounter_ended"}}]
        data: dict[str, Any] = {"ruleset": f"layer{k:03d}", **HEAD, "rules": rules}
        if k:
            data["extends"] = {"ruleset": f"layer{k - 1:03d}", "version": ">=1.0.0"}
        path = folder / f"layer{k:03d}" / "1.0.0.yaml"
        path.parent.mkdir()
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        files.append(path)
    return files


def _rules_read_for_chain(layers: int) -> int:
    """How many rules the lint of every layer of a chain looks up (file and line) in all."""
    with tempfile.TemporaryDirectory(prefix="bwc-lint-chain-") as tmp:
        files = _chain(Path(tmp), layers)
        library = Library.load(*files)
        with counting(lint_context, "place_of") as placed:
            for path in files:
                lint(library, library.repository.resolve(path), limit=2)
    return placed[0]


def test_a_chain_of_layers_reads_each_layer_once() -> None:
    small, large = _rules_read_for_chain(8), _rules_read_for_chain(16)
    assert large <= 2.5 * small, (small, large)  # was 72 -> 272 (x3.8): each layer read again for each above


# --- pruning never hides a finding ---------------------------------------------------------------

# Conditions on facts (and one on an event), as `when` or `unless`: values shared, disjoint, negated,
# missing, in `any` branches, so that some pairs can apply together and some cannot.
CONDITIONS: list[dict[str, Any]] = [
    {"facts": {"district": "d1"}},
    {"facts": {"district": "d2"}},
    {"facts": {"district": {"in": ["d1", "d3"]}}},
    {"facts": {"district": {"not_equals": "d1"}}},
    {"facts": {"district": {"not_in": ["d1", "d2"]}}},
    {"facts": {"district": {"exists": False}}},
    {"facts": {"district": {"exists": True}}},
    {"any": [{"facts": {"district": "d2"}}, {"event": "complaint_filed"}]},
    {"any": [{"facts": {"district": "d2"}}, {"facts": {"district": "d3"}}]},
    {"all": [{"facts": {"district": "d1"}}, {"facts": {"in_uniform": True}}]},
    {"not": {"facts": {"district": {"in": ["d2", "d3"]}}}},
    {"facts": {"assignment": "undercover"}},
    {"facts": {"assignment": {"in": ["patrol", "undercover"]}}},
    {"facts": {"in_uniform": False}},
    {"event": "complaint_filed"},
]

# Obligations that make BWL101 (record), BWL102 (access) and BWL103 (retain against delete) candidates.
OBLIGATIONS: list[dict[str, Any]] = [
    {"retain": {"at_least": "P3Y", "after": "incident"}},
    {"delete": {"within": "P1Y", "after": "incident"}},
    {"on": "arrest", "record": {"effect": "must", "until": "encounter_ended"}},
    {"on": "arrest", "record": {"effect": "must_not", "until": "encounter_ended"}},
    {"access": {"effect": "may", "role": "supervisor"}},
    {"access": {"effect": "must_not", "role": "supervisor"}},
]


def _ruleset(rules: list[tuple[int, int | None, int | None]]) -> dict[str, Any]:
    """A ruleset of (obligation, `when`, `unless`) picks from the lists above."""
    out = []
    for k, (ob, when, unless) in enumerate(rules):
        rule: dict[str, Any] = {"id": f"r{k}", "summary": "t", "cite": "s"}
        if when is not None:
            rule["when"] = CONDITIONS[when]
        if unless is not None:
            rule["unless"] = CONDITIONS[unless]
        out.append({**rule, **OBLIGATIONS[ob]})
    return {"ruleset": "pruned", **HEAD, "rules": out}


def _both_ways(data: dict[str, Any]) -> tuple[Any, Any, int]:
    """The reports with pairs left out and with every pair searched, and how many pairs were left out."""
    with tempfile.TemporaryDirectory(prefix="bwc-lint-prune-") as tmp:
        path = Path(tmp) / "1.0.0.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        library = Library.load(path)
        ruleset = library.repository.resolve(path)
        left_out = [0]
        original = Exclusions.exclusive

        def exclusive(self: Exclusions, a: Any, b: Any) -> bool:
            found = original(self, a, b)
            left_out[0] += found
            return found

        Exclusions.exclusive = exclusive  # type: ignore[method-assign]
        try:
            pruned = lint(library, ruleset, limit=8)
        finally:
            Exclusions.exclusive = original  # type: ignore[method-assign]
        full = lint(library, ruleset, limit=8, _prune=False)
    return pruned, full, left_out[0]


_picks = st.tuples(st.integers(0, len(OBLIGATIONS) - 1), st.none() | st.integers(0, len(CONDITIONS) - 1),
                   st.none() | st.integers(0, len(CONDITIONS) - 1))


@settings(max_examples=examples(20), suppress_health_check=[HealthCheck.too_slow])
@example(rules=[(0, 0, None), (1, 1, None), (1, 2, None), (2, 3, 5), (3, 0, None)])
@example(rules=[(4, 8, None), (5, 10, None), (5, 2, 12), (0, 9, None), (1, 4, None)])
@given(rules=st.lists(_picks, min_size=2, max_size=5))
def test_leaving_out_pairs_that_cannot_apply_together_hides_no_finding(
        rules: list[tuple[int, int | None, int | None]]) -> None:
    pruned, full, _ = _both_ways(_ruleset(rules))
    assert pruned.findings == full.findings  # codes, messages, examples, and each finding's search
    assert pruned.searched <= full.searched  # a pair left out decides nothing


def test_pairs_left_out_are_those_of_different_districts() -> None:
    # r0 and r1 (d1) conflict; r2 (d2) can never apply with either, and is not searched against them.
    data = _ruleset([(0, 0, None), (1, 0, None), (1, 1, None)])
    pruned, full, left_out = _both_ways(data)
    assert left_out == 1
    assert [(f.code, [p.rule for p in f.rules]) for f in pruned.findings] == [("BWL103", ["r0", "r1"])]
    assert pruned.findings == full.findings and pruned.searched < full.searched


def _contexts() -> list[Context]:
    """Every mix of the fact values the conditions name (and others, and none), with and without the
    event they name."""
    zone = ZoneInfo("America/Chicago")
    event = Event("complaint_filed", datetime(2024, 1, 1, tzinfo=UTC), {}, 0, 0)
    out = []
    for district in ("d1", "d2", "d3", "d4", None):
        for assignment in ("patrol", "undercover", "detective", None):
            for uniform in (True, False, None):
                facts = {k: v for k, v in (("district", district), ("assignment", assignment),
                                           ("in_uniform", uniform)) if v is not None}
                out += [Context(facts, {}, zone), Context(facts, {"complaint_filed": (event,)}, zone)]
    return out


@pytest.mark.parametrize("negate", [False, True], ids=["when", "unless"])
def test_rules_called_exclusive_never_hold_together(negate: bool) -> None:
    """Against the engine's own evaluator: whenever two conditions are called exclusive, no incident of the
    values they name (nor others) meets both."""
    key = "unless" if negate else "when"
    rules = [{"id": f"c{k}", "summary": "t", "cite": "s", key: c, "retain": {"indefinitely": True}}
             for k, c in enumerate(CONDITIONS)]
    program = compile_ruleset(load_ruleset_text(yaml.safe_dump({"ruleset": "c", **HEAD, "rules": rules})))
    holds: list[Callable[[Context], bool]] = [compile_condition(r.condition) for r in program.rules]
    contexts = _contexts()
    exclusions = Exclusions()
    called = 0
    for i, a in enumerate(program.rules):
        for j, b in enumerate(program.rules):
            if exclusions.exclusive(a, b):
                called += 1
                assert not any(holds[i](c) and holds[j](c) for c in contexts), (CONDITIONS[i], CONDITIONS[j])
    assert called >= (10 if not negate else 2)  # not vacuous: d1 against d2, `in` against `not_in`, ...
