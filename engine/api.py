"""The Python API: load rulesets, pick one, decide incidents (whole or streamed), explain.

    from engine.api import Library
    lib = Library.load("rulesets/")
    policy = lib.select("colorado-24-31-902")            # newest version, or "id@2021.1.0"
    decision = policy.decide(incident_dict)               # as of the incident's last event
    print(decision.to_json())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from engine.decision import Decision, Obligation, build_decision
from engine.explain import Explainer, RuleExplanation
from engine.incident import Event, Incident, IncidentError, IncidentReader, Problem, parse_time
from engine.native import Context, Firing, NativeBackend
from engine.program import Program, compile_ruleset
from policy import versions
from policy.diagnostics import RulesetError, did_you_mean
from policy.loader import check_paths
from policy.model import Ruleset

BackendName = Literal["native", "rete"]


class Backend(Protocol):
    name: str

    def firings(self, incident: Incident) -> list[Firing]: ...


def make_backend(program: Program, name: BackendName = "native") -> Backend:
    if name == "native":
        return NativeBackend(program)
    if name == "rete":
        from engine.rete import ReteBackend  # durable-rules is loaded only when asked for

        return ReteBackend(program)
    raise ValueError(f"unknown backend `{name}`: use native or rete")


class SelectionError(LookupError):
    pass


@dataclass
class Library:
    """Every valid ruleset found under some folders, by id and version."""

    rulesets: dict[str, dict[str, Ruleset]] = field(default_factory=dict)

    @classmethod
    def load(cls, *paths: Path | str) -> Library:
        """Load every ruleset under `paths`; raises RulesetError if any file has errors."""
        lib = cls()
        problems = []
        for result in check_paths(paths):
            if result.ruleset is None:
                problems.extend(result.diagnostics)
                continue
            lib.rulesets.setdefault(result.ruleset.ruleset, {})[result.ruleset.version] = result.ruleset
        if problems:
            raise RulesetError(problems)
        return lib

    def select(self, ref: str, version: str | None = None, *, backend: BackendName = "native") -> Policy:
        """`ref` is `id` or `id@version`; without a version the newest is chosen."""
        rid, _, pinned = ref.partition("@")
        version = version or pinned or None
        found = self.rulesets.get(rid)
        if not found:
            raise SelectionError(f"no ruleset `{rid}` ({did_you_mean(rid, self.rulesets, 'rulesets')})")
        if version is None:
            version = max(found, key=versions.parse)
        elif version not in found:
            raise SelectionError(f"`{rid}` has no version {version} (versions: {', '.join(sorted(found))})")
        return Policy(compile_ruleset(found[version]), backend)


class Policy:
    """One compiled ruleset version, ready to decide incidents."""

    def __init__(self, program: Program, backend: BackendName = "native") -> None:
        self.program = program
        self.backend = make_backend(program, backend)
        self.reader = IncidentReader(program.vocabulary)

    @classmethod
    def from_ruleset(cls, ruleset: Ruleset, backend: BackendName = "native") -> Policy:
        return cls(compile_ruleset(ruleset), backend)

    def read(self, data: Mapping[str, Any] | Incident) -> Incident:
        return data if isinstance(data, Incident) else self.reader.read(data)

    def decide(self, incident: Mapping[str, Any] | Incident, as_of: datetime | str | None = None) -> Decision:
        """The obligations of `incident` as of `as_of` (default: its last event; never the clock)."""
        inc = self.read(incident)
        when = _as_of(as_of, inc)
        known = inc.until(when)
        ctx = Context(known.facts, known.by_type, self.backend_zone)
        return build_decision(self.program, inc, known, ctx, self.backend.firings(known), when)

    def explain(self, incident: Mapping[str, Any] | Incident,
                as_of: datetime | str | None = None) -> list[RuleExplanation]:
        """For every rule: whether it applies to the incident, and why (or why not)."""
        inc = self.read(incident)
        known = inc.until(_as_of(as_of, inc))
        ctx = Context(known.facts, known.by_type, self.backend_zone)
        fired = {pos for pos, _ in self.backend.firings(known)}
        return Explainer(self.program).explain(known, ctx, fired)

    @property
    def backend_zone(self) -> Any:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.program.ruleset.timezone)

    def session(self, incident_id: str, timezone: str, facts: Mapping[str, Any] | None = None) -> IncidentSession:
        return IncidentSession(self, incident_id, timezone, dict(facts or {}))


def _as_of(as_of: datetime | str | None, incident: Incident) -> datetime:
    if as_of is None:
        if incident.start is None:
            raise IncidentError([Problem(incident.id, "events", "an incident needs at least one event")])
        return incident.events[-1].at
    if isinstance(as_of, str):
        if as_of == "now":
            from datetime import UTC

            return datetime.now(UTC)  # the only place the engine reads the clock, and only when asked
        return parse_time(as_of, "as_of", incident.id)
    if as_of.tzinfo is None:
        raise IncidentError([Problem(incident.id, "as_of", "as_of needs a time zone offset")])
    return as_of


@dataclass(frozen=True)
class Change:
    """What one new event changed in the obligations."""

    added: list[Obligation]
    removed: list[Obligation]
    changed: list[tuple[Obligation, Obligation]]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _key(o: Obligation) -> tuple[str, int | None]:
    return (o.rule, o.trigger.index if o.trigger else None)


class IncidentSession:
    """Events arrive one at a time; each call returns what changed. The final decision equals the
    batch decision for the same events."""

    def __init__(self, policy: Policy, incident_id: str, timezone: str, facts: dict[str, Any]) -> None:
        self.policy = policy
        self.id = incident_id
        self.timezone = timezone
        self.facts = facts
        self.raw_events: list[dict[str, Any]] = []
        self._last: dict[tuple[str, int | None], Obligation] = {}
        self._decision: Decision | None = None

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "timezone": self.timezone, "facts": self.facts, "events": self.raw_events}

    def add(self, event: Mapping[str, Any]) -> Change:
        """Add one event (checked against the vocabulary; a bad event is refused and not kept)."""
        candidate = [*self.raw_events, dict(event)]
        incident = self.policy.read({**self.data(), "events": candidate})
        self.raw_events = candidate
        decision = self.policy.decide(incident)
        now = {_key(o): o for o in decision.obligations}
        change = Change(
            added=[o for k, o in now.items() if k not in self._last],
            removed=[o for k, o in self._last.items() if k not in now],
            changed=[(self._last[k], o) for k, o in now.items() if k in self._last and self._last[k] != o],
        )
        self._last, self._decision = now, decision
        return change

    def decision(self, as_of: datetime | str | None = None) -> Decision:
        if as_of is None and self._decision is not None:
            return self._decision
        return self.policy.decide(self.data(), as_of)


def decide_all(policy: Policy, incidents: Iterable[Mapping[str, Any]]) -> list[Decision]:
    return [policy.decide(i) for i in incidents]


__all__ = ["Change", "Decision", "Event", "Incident", "IncidentError", "IncidentSession", "Library", "Policy",
           "SelectionError"]
