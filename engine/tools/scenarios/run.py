"""Running scenario tests: each scenario's incident decided under its ruleset (the version in force
on its date, or the one pinned), its decision compared with what the scenario expects, and the rules
each version's scenarios exercised."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.api import Library, SelectionError
from engine.core.decision import Decision
from engine.core.incident import IncidentError
from engine.io.output import save_traceback
from engine.tools.scenarios.model import Scenario, plain
from engine.tools.scenarios.read import load
from engine.tools.scenarios.report import Coverage, Outcome, Report
from policy.diagnostics import Diagnostic

SCENARIO_SUFFIXES = (".yaml", ".yml")
_WHERE = "a scenario file is kept in a `tests` folder beside the ruleset's versions: rulesets/<id>/tests/<name>.yaml"


def test_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The scenario files named, or found in the `tests` folders under the folders named."""
    for p in paths:
        if _is_dir(p):
            yield from sorted(f for f in p.rglob("*") if f.suffix in SCENARIO_SUFFIXES and f.parent.name == "tests")
        else:
            yield p


def _not_a_scenario_file(p: Path, anywhere: bool) -> Diagnostic | None:
    """Why the file `p`, named on its own, is not a scenario file (None: it is one). Unless the rulesets are
    named too (`anywhere`), it must be in a ruleset's `tests` folder: its rulesets are the versions beside it."""
    def no(problem: str, hint: str) -> Diagnostic:
        return Diagnostic("BWC001", f"this is not a scenario file: {problem}", str(p), None, None, hint)

    run_folder = "name a ruleset's folder to run its scenarios (bwc test rulesets/<id>), or a scenario file in it"
    try:
        if not p.exists():
            return no("there is no such file", run_folder)
        if not p.is_file():
            return no("it is not a regular file (it is a pipe, a socket or a device), so it is not read", run_folder)
        if p.suffix not in SCENARIO_SUFFIXES:
            return no("a scenario file's name ends in .yaml", f"{_WHERE}; {run_folder}")
        if anywhere:
            return None
        if (p.parent / "tests").is_dir():  # most likely a ruleset's version, beside its scenarios
            return no(f"it is not in a ruleset's `tests` folder ({_WHERE})",
                      f"to run the scenarios of the ruleset in this folder: bwc test {p.parent}")
        if p.parent.name != "tests":
            return no(f"it is not in a ruleset's `tests` folder ({_WHERE})",
                      "move it there, or name the rulesets it tests with --rulesets FOLDER")
        if not _versions(p.parent.parent):
            return no(f"the folder above its `tests` folder ({p.parent.parent}) holds no ruleset file ({_WHERE})",
                      "move it beside the ruleset it tests, or name the rulesets with --rulesets FOLDER")
    except OSError as exc:
        return no(f"it cannot be read ({exc.strerror or type(exc).__name__})", run_folder)
    return None


def _versions(family: Path) -> list[Path]:
    """The ruleset files of a ruleset's folder (`rulesets/<id>/<version>.yaml`): that folder only, never below."""
    try:
        return sorted(f for f in family.iterdir() if f.suffix in SCENARIO_SUFFIXES and f.is_file())
    except OSError:
        return []


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except OSError:  # a path that cannot even be looked at (too long, or in a folder it may not enter)
        return False


def run(paths: Iterable[Path | str], rulesets: Iterable[Path | str] | None = None) -> Report:
    """Run every scenario file found under `paths` against the rulesets under `rulesets`. Without
    `rulesets`: those under each folder named, and for a scenario file named, the versions beside its
    `tests` folder. A file named must be a scenario file (a regular .yaml file, in a `tests` folder unless
    `rulesets` are named); any other is reported as a problem, and no ruleset is looked for from it."""
    named = list(rulesets or [])
    problems: list[Diagnostic] = []
    found: list[Path] = []
    beside: list[Path] = []
    folders: list[Path] = []
    for p in map(Path, paths):
        if _is_dir(p):
            if p.name != "tests":
                folders.append(p)
            elif not named:  # a ruleset's own `tests` folder: its rulesets are beside it, not in it
                beside.extend(v for v in _versions(p.parent) if v not in beside)
        else:
            refused = _not_a_scenario_file(p, anywhere=bool(named))
            if refused is not None:
                problems.append(refused)
                continue
            if not named:
                beside.extend(v for v in _versions(p.parent.parent) if v not in beside)
        found.append(p)
    library = Library.load(*(named or [*folders, *beside]))
    outcomes: list[Outcome] = []
    for f in dict.fromkeys(test_files(found)):  # a file named twice (or inside a folder named) runs once
        loaded = load(f)
        problems.extend(loaded.problems)
        if loaded.spec is None:
            continue
        for i, scenario in enumerate(loaded.spec.scenarios):
            if loaded.unreadable.get(i):
                problems.extend(loaded.unreadable[i])  # an incident the engine cannot even read is the file's fault
                continue
            outcomes.append(_run_one(library, loaded.spec.ruleset, scenario, str(f)))
    exercised: dict[str, set[str]] = {}
    for o in outcomes:
        exercised.setdefault(o.ruleset, set()).update(o.fired)
    coverage = [Coverage(f"{rid}@{v}", [r.id for r in rs.rules], exercised.get(f"{rid}@{v}", set()))
                for rid, versions in sorted(library.rulesets.items()) for v, rs in sorted(versions.items())]
    return Report(outcomes, coverage, problems)


def _run_one(library: Library, ref: str, scenario: Scenario, file: str) -> Outcome:
    """Decide the scenario's incident under the version in force on its date (or the pinned one)."""
    rid = ref.partition("@")[0]
    pinned = f"{rid}@{scenario.version}" if scenario.version else ref
    try:
        newest = library.select(pinned)
    except SelectionError as exc:
        return Outcome(file, ref, scenario.name, scenario.cite, False, [str(exc)])
    inc = scenario.incident
    data = {"id": inc.id or scenario.name, "timezone": inc.timezone or newest.program.ruleset.timezone,
            "facts": inc.facts, "events": [plain(e) for e in inc.events]}
    try:
        decision = library.decide(pinned, data, scenario.as_of)
    except IncidentError as exc:
        if scenario.expect_error and scenario.expect_error in str(exc):
            return Outcome(file, newest.program.ref, scenario.name, scenario.cite, True)
        return Outcome(file, newest.program.ref, scenario.name, scenario.cite, False,
                       [f"the incident was refused: {exc}"])
    except (KeyboardInterrupt, SystemExit):
        raise
    except (ValueError, ArithmeticError) as exc:  # a date past year 9999 (policy.duration.CalendarOverflow)
        return Outcome(file, newest.program.ref, scenario.name, scenario.cite, False,
                       [f"the incident cannot be decided: {exc}"])
    except Exception as exc:  # a bug: this scenario fails, the others still run
        saved = save_traceback(exc, f"{file}: scenario {scenario.name}")
        return Outcome(file, newest.program.ref, scenario.name, scenario.cite, False,
                       [f"internal error ({type(exc).__name__}): a bug in bwc; the details were saved to "
                        f"{saved or '(nowhere: they could not be saved)'}; please report it with that file"])
    label = f"{decision.ruleset.id}@{decision.ruleset.version}"
    if scenario.expect_error:
        return Outcome(file, label, scenario.name, scenario.cite, False,
                       [f"expected the incident to be refused ({scenario.expect_error})"])
    known = {r.id for p in library.select(label).chain() for r in p.program.rules}
    unknown = [f"`{w.rule}` is not a rule of {label} (a misspelt id would make this expectation meaningless)"
               for w in (*scenario.expect, *scenario.expect_not) if w.rule is not None and w.rule not in known]
    passed, failures = _compare(scenario, decision)
    return Outcome(file, label, scenario.name, scenario.cite, passed and not unknown, unknown + failures,
                   fired={o.rule for o in decision.obligations if o.ruleset == label})


def _compare(scenario: Scenario, decision: Decision) -> tuple[bool, list[str]]:
    failures: list[str] = []
    if scenario.expect_in_force is not None and scenario.expect_in_force != decision.in_force:
        failures.append(f"expected the ruleset {'' if scenario.expect_in_force else 'not '}to be in force on the "
                        f"incident's first day; it was {'' if decision.in_force else 'not'}".rstrip())
    for want in scenario.expect:
        candidates = [o for o in decision.obligations if want.rule in (None, o.rule) and want.kind in (None, o.kind)]
        if any(not want.mismatches(o) for o in candidates):
            continue
        wanted = json.dumps(want.model_dump(exclude_none=True))
        if candidates:
            closest = min((want.mismatches(o) for o in candidates), key=len)
            failures.append(f"expected {wanted}; the nearest decided obligation differs: " + "; ".join(closest))
        else:
            decided = ", ".join(sorted({f"{o.kind}:{o.rule}" for o in decision.obligations})) or "none"
            failures.append(f"expected {wanted}; no such obligation was decided (decided: {decided})")
    for unwanted in scenario.expect_not:
        hits = [o for o in decision.obligations if not unwanted.mismatches(o)]
        if hits:
            same = "; ".join(unwanted.restated(hits[0]))
            failures.append(f"expected no obligation like {json.dumps(unwanted.model_dump(exclude_none=True))}, "
                            f"but {hits[0].kind}:{hits[0].rule} was decided" + (f" ({same})" if same else ""))
    return (not failures, failures)
