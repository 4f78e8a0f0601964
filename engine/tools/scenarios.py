"""Scenario tests for rulesets: incidents with the obligations a drafter expects, written by hand.

A test file (`rulesets/<id>/tests/*.yaml`) names the ruleset and lists scenarios; each gives an
incident and the obligations that must be decided (`expect`) and must not be (`expect_not`).
An expected obligation matches a decided one when every key it gives is equal; keys it leaves out
are not checked. `bwc test` runs them and reports rule coverage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.api import Library, Policy, SelectionError
from engine.core.decision import Decision, Moment, Obligation, Pending
from engine.core.incident import IncidentError
from engine.io.output import save_traceback
from policy.diagnostics import Diagnostic, RulesetError, closest
from policy.source import read_yaml_file
from policy.values import is_zone_name, parse_timestamp, quoted


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Names = Annotated[list[str], Field(min_length=1)]


class ExpectedDelay(_Strict):
    until: str | None = None
    available: bool | None = None

    @field_validator("until", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, date) else v


class ExpectedObligation(_Strict):
    """What a decided obligation must show; every key is optional and only given keys are checked."""

    kind: str | None = None
    effect: str | None = None
    rule: str | None = None
    cite: str | None = None
    to: str | list[str] | None = Field(default=None, description="Recipient(s), e.g. public.")
    role: str | list[str] | None = None
    purpose: str | None = None
    by: str | None = Field(default=None, description="Release deadline: a date, or `pending:<event>`.")
    promptly_after: str | None = Field(default=None, description="A release due promptly: the time it is due "
                                       "promptly after, or `pending:<event>`.")
    retain_until: str | None = Field(default=None, description="A date, `indefinite` or `pending:<event>`.")
    delete_by: str | None = None
    legal_hold: bool | None = None
    window_from: str | None = Field(default=None, description="A time, or `pending:<event>`.")
    window_until: str | None = Field(default=None, description="A time, `open` or `pending:<event>`.")
    trigger: str | None = Field(default=None, description="The trigger event's time.")
    overridden_by: str | None = None
    overridden: bool | None = Field(default=None, description="false: in force (no rule took precedence over it).")
    suspended_by: str | None = Field(default=None, description="A rule that suspends part of the window.")
    delays: list[ExpectedDelay] | None = Field(default=None, description="Every permitted delay, in order.")
    delay_until: str | None = Field(default=None, description="The first permitted delay's last day.")
    delay_available: bool | None = None

    @field_validator("by", "retain_until", "delete_by", "delay_until", "window_from", "window_until", "trigger",
                     "promptly_after", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, date | datetime) else v

    def mismatches(self, o: Obligation) -> list[str]:
        """The keys on which `o` differs from this expectation (empty: it matches)."""
        actual = _observed(o)
        out = []
        for key, want in self.model_dump(exclude_none=True).items():
            got: Any = actual.get(key)
            if key in ("to", "role"):
                want = [want] if isinstance(want, str) else want
                ok = sorted(want) == sorted(got or [])
            elif key == "suspended_by":
                ok = want in got
            elif key == "delays":
                want = [{k: v for k, v in w.items() if v is not None} for w in want]
                ok = len(want) == len(got) and all(
                    all(g.get(k) == v for k, v in w.items()) for w, g in zip(want, got, strict=True))
            else:
                ok = got == want
            if not ok:
                out.append(f"{key}: expected {want!r}, decided {got!r}")
        return out


def _day(v: Any) -> Any:
    if isinstance(v, Pending):
        return f"pending:{v.pending}" + (f"+{v.then}" if v.then != "P0D" else "")
    return v.isoformat() if isinstance(v, date) else v


def _moment(m: Moment | None, open_word: str = "open") -> str | None:
    if m is None:
        return open_word
    return f"pending:{m.event}" if m.pending else m.at


def _observed(o: Obligation) -> dict[str, Any]:
    return {
        "kind": o.kind, "effect": o.effect.value, "rule": o.rule, "cite": o.cite, "to": o.to, "role": o.role,
        "purpose": o.purpose, "by": _day(o.by), "retain_until": _day(o.retain_until),
        "promptly_after": _moment(o.promptly_after, "") if o.promptly_after is not None else None,
        "delete_by": _day(o.delete_by), "legal_hold": bool(o.legal_hold),
        "window_from": _moment(o.window.from_, "open") if o.window else None,
        "window_until": _moment(o.window.until) if o.window else None,
        "trigger": o.trigger.at if o.trigger else None, "overridden_by": o.overridden_by,
        "overridden": o.overridden_by is not None,
        "suspended_by": [p.rule for p in o.suspended or []],
        "delays": [{"until": _day(d.until), "available": d.available} for d in o.delays or []],
        "delay_until": _day(o.delays[0].until) if o.delays else None,
        "delay_available": o.delays[0].available if o.delays else None,
    }


class ScenarioIncident(_Strict):
    id: str | None = None
    timezone: str | None = Field(default=None, description="Default: the ruleset's time zone.")
    facts: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]]


class Scenario(_Strict):
    name: str = Field(min_length=1)
    cite: str = Field(min_length=1, description="The clause this scenario checks.")
    notes: str | None = None
    version: str | None = Field(default=None, description="Pin a version of the ruleset.")
    as_of: str | None = None
    incident: ScenarioIncident
    expect: list[ExpectedObligation] = Field(default_factory=list)
    expect_not: list[ExpectedObligation] = Field(default_factory=list)
    expect_error: str | None = Field(default=None, description="The incident must be refused with this text.")
    expect_in_force: bool | None = Field(default=None, description="Whether the ruleset governs the incident "
                                         "(false before its effective date: then nothing is decided).")

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime) else v


class ScenarioFile(_Strict):
    """A file of scenarios for one ruleset (its JSON Schema: `bwc schema --scenarios`)."""

    ruleset: str = Field(description="The ruleset id, optionally @version.")
    scenarios: Annotated[list[Scenario], Field(min_length=1)]


@dataclass
class Outcome:
    file: str
    ruleset: str
    scenario: str
    cite: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)


@dataclass
class Coverage:
    ruleset: str
    rules: list[str]
    exercised: set[str]

    @property
    def missing(self) -> list[str]:
        return [r for r in self.rules if r not in self.exercised]

    @property
    def percent(self) -> float:
        return 100.0 * (len(self.rules) - len(self.missing)) / len(self.rules) if self.rules else 100.0


@dataclass
class Report:
    outcomes: list[Outcome]
    coverage: list[Coverage]
    problems: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.passed for o in self.outcomes)


def test_files(paths: Iterable[Path]) -> Iterator[Path]:
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
        try:
            doc = read_yaml_file(f)
            spec = ScenarioFile.model_validate(doc.data)
        except RulesetError as exc:
            problems.extend(exc.diagnostics)
            continue
        except ValidationError as exc:
            problems.extend(_scenario_problems(exc, doc, str(f)))
            continue
        bad = _value_problems(spec, doc, str(f))
        for i, scenario in enumerate(spec.scenarios):
            if bad.get(i):
                problems.extend(bad[i])  # an incident the engine cannot even read is the file's fault
                continue
            outcomes.append(_run_one(library, spec.ruleset, scenario, str(f)))
    exercised: dict[str, set[str]] = {}
    for o in outcomes:
        exercised.setdefault(o.ruleset, set()).update(o.fired)
    coverage = [Coverage(f"{rid}@{v}", [r.id for r in rs.rules], exercised.get(f"{rid}@{v}", set()))
                for rid, versions in sorted(library.rulesets.items()) for v, rs in sorted(versions.items())]
    return Report(outcomes, coverage, problems)


def _scenario_problems(exc: ValidationError, doc: Any, file: str) -> Iterator[Diagnostic]:
    """Plain words for a malformed scenario file, at the line and column of the problem."""
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = doc.known_prefix(loc)
        at_key = err["type"] == "extra_forbidden"
        line, col = doc.position(where, key=at_key) or (None, None)
        place = "".join(f"[{x + 1}]" if isinstance(x, int) else f".{x}" for x in loc).lstrip(".")
        hint = None
        if at_key:
            keys = [*ExpectedObligation.model_fields, *Scenario.model_fields, *ScenarioIncident.model_fields]
            message = f"`{loc[-1]}` is not a key a scenario file knows ({place})"
            best = closest(str(loc[-1]), keys)
            hint = f"did you mean `{best}`?" if best else "the keys are listed in docs/drafting.md, section 5"
        elif err["type"] == "missing":
            message = f"`{loc[-1]}` is required ({place})"
        else:
            message = f"{place}: {err['msg']}"
        yield Diagnostic("BWC112", message, file, line, col, hint)


def _value_problems(spec: ScenarioFile, doc: Any, file: str) -> dict[int, list[Diagnostic]]:
    """Per scenario (by index), its time zone, as-of time and event times that are not values at all,
    read by the one definition of each (policy.values), at their line and column in the file."""
    out: dict[int, list[Diagnostic]] = {}

    def bad(i: int, path: tuple[Any, ...], problem: str, hint: str | None = None) -> None:
        line, col = doc.position(doc.known_prefix(path)) or (None, None)
        place = "".join(f"[{x + 1}]" if isinstance(x, int) else f".{x}" for x in path).lstrip(".")
        out.setdefault(i, []).append(Diagnostic("BWC112", f"{place}: {problem}", file, line, col, hint))

    for i, scenario in enumerate(spec.scenarios):
        here: tuple[Any, ...] = ("scenarios", i)
        zone = scenario.incident.timezone
        if zone is not None and not is_zone_name(zone):
            bad(i, (*here, "incident", "timezone"), f"`{quoted(zone)}` is not a time zone",
                "give an IANA zone name such as America/Chicago (not a region folder such as `America`, "
                "not `localtime`), or leave it out to use the ruleset's")
        if scenario.as_of is not None:
            try:
                parse_timestamp(scenario.as_of)
            except ValueError as exc:
                bad(i, (*here, "as_of"), str(exc))
        for j, event in enumerate(scenario.incident.events):
            if "at" in event:
                try:
                    parse_timestamp(_plain({"at": event["at"]})["at"])
                except ValueError as exc:
                    bad(i, (*here, "incident", "events", j, "at"), str(exc))
    return out


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
            "facts": inc.facts, "events": [_plain(e) for e in inc.events]}
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


def _plain(event: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in event.items()}


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


def to_junit(report: Report) -> str:
    from xml.sax.saxutils import escape, quoteattr

    cases = []
    for o in report.outcomes:
        detail = escape("\n".join(o.failures))
        body = "" if o.passed else f"<failure message={quoteattr(o.failures[0])}>{detail}</failure>"
        cases.append(f'  <testcase classname={quoteattr(o.ruleset)} name={quoteattr(o.scenario)} '
                     f'file={quoteattr(o.file)}>{body}</testcase>')
    for d in report.problems:
        cases.append(f'  <testcase classname="bwc" name={quoteattr(d.location())}>'
                     f'<error message={quoteattr(d.message)}/></testcase>')
    failed = sum(not o.passed for o in report.outcomes)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="bwc test" tests="{len(cases)}" '
            f'failures="{failed}" errors="{len(report.problems)}">\n' + "\n".join(cases) + "\n</testsuite>\n")


def to_json(report: Report) -> str:
    return json.dumps({
        "ok": report.ok,
        "scenarios": [{"file": o.file, "ruleset": o.ruleset, "name": o.scenario, "cite": o.cite,
                       "passed": o.passed, "failures": o.failures} for o in report.outcomes],
        "coverage": [{"ruleset": c.ruleset, "percent": round(c.percent, 1), "not_exercised": c.missing}
                     for c in report.coverage],
        "problems": [d.to_dict() for d in report.problems],
    }, indent=2, ensure_ascii=False)


__all__ = ["Coverage", "Outcome", "Policy", "Report", "ScenarioFile", "run", "to_json", "to_junit"]
