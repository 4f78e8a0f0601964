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


def test_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The scenario files named, or found in the `tests` folders under the folders named."""
    for p in paths:
        if p.is_file():
            yield p
        else:
            yield from sorted(f for f in p.rglob("*.yaml") if f.parent.name == "tests")


def run(paths: Iterable[Path | str], rulesets: Iterable[Path | str] | None = None) -> Report:
    """Run every scenario file found under `paths` against the rulesets under `rulesets` (default: `paths`)."""
    found = [Path(p) for p in paths]
    library = Library.load(*(rulesets or [p if p.is_dir() else p.parent.parent for p in found]))
    outcomes: list[Outcome] = []
    problems: list[Diagnostic] = []
    for f in test_files(found):
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
            failures.append(f"expected no obligation like {json.dumps(unwanted.model_dump(exclude_none=True))}, "
                            f"but {hits[0].kind}:{hits[0].rule} was decided")
    return (not failures, failures)
