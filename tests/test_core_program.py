"""The compiler is an ordered list of named stages, and compile_ruleset runs them all, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.core import program
from policy.loader import load_ruleset_text
from policy.model import Governs

ROOT = Path(__file__).resolve().parent.parent


def test_the_compiler_stages_by_name_in_order() -> None:
    assert [name for name, _ in program.STAGES] == ["lower-conditions", "simplify", "dependencies"]


def test_compile_ruleset_runs_every_stage_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def recorded(name: str, stage: program.Stage) -> program.Stage:
        def run(state: program.CompileState) -> None:
            ran.append(name)
            stage(state)
        return run

    monkeypatch.setattr(program, "STAGES", tuple((n, recorded(n, s)) for n, s in program.STAGES))
    monkeypatch.setattr(program, "_CACHE", {})  # compile afresh, not from the cache
    path = ROOT / "rulesets" / "colorado-24-31-902" / "2021.2.0.yaml"
    compiled = program.compile_ruleset(load_ruleset_text(path.read_text(encoding="utf-8"), str(path)))
    assert ran == ["lower-conditions", "simplify", "dependencies"]
    assert all(r.depends_on for r in compiled.rules if r.trigger is not None)  # the last stage ran


RULESET_FILES = sorted((ROOT / "rulesets").glob("*/*.yaml"))


@pytest.mark.parametrize("path", RULESET_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_what_precedence_reads_of_the_rules_is_made_at_compile_time(path: Path) -> None:
    """The tables precedence and layering read on every decision match the rules they summarise."""
    ruleset = load_ruleset_text(path.read_text(encoding="utf-8"), str(path))
    compiled = program.compile_ruleset(ruleset)
    rules = ruleset.rules
    assert compiled.overrides == {r.id: frozenset(r.overrides) for r in rules if r.overrides}
    assert compiled.same_officer == {r.id for r in rules if r.same_officer}
    assert compiled.conduct_rules == {r.id for r in rules if r.governs is Governs.CONDUCT}
    assert compiled.existing_footage_rules == {r.id for r in rules if r.applies_to_existing_footage}
