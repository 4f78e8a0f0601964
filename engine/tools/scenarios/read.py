"""Reading a scenario file: its YAML, its model, and every problem in plain words at its line and column."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.tools.scenarios.model import ExpectedObligation, Scenario, ScenarioFile, ScenarioIncident, plain
from policy.diagnostics import Diagnostic, RulesetError, closest
from policy.source import read_yaml_file
from policy.values import is_zone_name, parse_timestamp, quoted


@dataclass
class LoadedFile:
    """A scenario file read: its model (None when it cannot be used at all, `problems` say why), and
    per scenario (by index) the values in it that are not values (that scenario cannot be run)."""

    spec: ScenarioFile | None
    problems: list[Diagnostic] = field(default_factory=list)
    unreadable: dict[int, list[Diagnostic]] = field(default_factory=dict)


def load(path: Path) -> LoadedFile:
    """The scenario file at `path`, with every problem found in it."""
    try:
        doc = read_yaml_file(path)
        spec = ScenarioFile.model_validate(doc.data)
    except RulesetError as exc:
        return LoadedFile(None, list(exc.diagnostics))
    except ValidationError as exc:
        return LoadedFile(None, list(_scenario_problems(exc, doc, str(path))))
    return LoadedFile(spec, [], _value_problems(spec, doc, str(path)))


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
    """Per scenario (by index), its time zone, as-of time, event times and the times and dates its
    expectations give that are not values at all, read by the one definition of each (policy.values),
    at their line and column in the file."""
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
                    parse_timestamp(plain({"at": event["at"]})["at"])
                except ValueError as exc:
                    bad(i, (*here, "incident", "events", j, "at"), str(exc))
        for which in ("expect", "expect_not"):
            for j, want in enumerate(getattr(scenario, which)):
                for path, problem, hint in want.value_problems():
                    bad(i, (*here, which, j, *path), problem, hint)
    return out
