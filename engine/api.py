"""The public API, the one module integrators import: load rulesets, pick one, decide incidents, explain.

    from engine.api import Library
    lib = Library.load("rulesets/")
    policy = lib.select("colorado-24-31-902")            # newest version, or "id@2021.1.0"
    decision = policy.decide(incident_dict)               # as of the incident's last event
    print(decision.to_json())

Every class a caller meets (decisions, obligations, explanations, incidents) and every error a call
here can raise is importable from this module (`__all__`; `ERRORS` holds the errors). The errors of
the commands built on it live beside them: `engine.tools.generate.GenerateError`, and
`engine.core.backends.rete.ReteCapacityError` (the `rete` backend; importing it loads durable-rules).
docs/api.md describes it all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args, overload
from zoneinfo import ZoneInfo

from engine.core.backends import BackendName, make_backend
from engine.core.decision import (
    DECISION_SCHEMA,
    Conflict,
    DateOrPending,
    Decision,
    Delay,
    EventRef,
    Kind,
    Layer,
    LayerRef,
    LayerRole,
    Matched,
    Moment,
    Obligation,
    Pending,
    ReleaseDeadline,
    Resolution,
    RetentionSummary,
    RulesetRef,
    Summary,
    Suspension,
    Window,
    assemble,
    bound_to_version,
    in_force,
    judging_date,
    obligations_for,
)
from engine.core.evaluation import Context
from engine.core.explain import Check, Explainer, Explanation, LayerExplanation, RuleExplanation
from engine.core.incident import Event, Incident, IncidentError, Problem
from engine.core.program import Program, compile_ruleset
from engine.executor import WorkerError
from engine.io.export import ExportError, Record, RowError, read_export
from engine.io.incident import IncidentReader, shown
from engine.io.jsondoc import JsonError
from engine.io.output import OutputError
from policy.diagnostics import Diagnostic, RulesetError
from policy.duration import CalendarOverflow
from policy.in_force import DaySpan, in_force_during, judging, judging_version, version_in_force
from policy.loader import load_ruleset
from policy.model import Ruleset
from policy.repository import Repository, RulesetLookupError, UnknownFile, UnknownRuleset, UnknownVersion, split_ref
from policy.values import parse_timestamp, quoted
from policy.vocabulary import Vocabulary


class SelectionError(LookupError):
    """`Library.select` (and the calls taking a ruleset reference) named a ruleset or version the
    library does not hold, or a backend that does not exist. The message says which, with the closest name."""


_BACKENDS: tuple[str, ...] = get_args(BackendName)


def _backend(name: object, argument: str = "backend") -> BackendName:
    """A backend's name, or SelectionError naming the argument (a name `make_backend` would refuse)."""
    if isinstance(name, str) and name in _BACKENDS:
        return name  # type: ignore[return-value]
    raise SelectionError(f"{argument}: no backend {shown(name)}; backends: {', '.join(_BACKENDS)}")


def _ref(ref: object, argument: str = "ref") -> str:
    """A ruleset reference given as text, or SelectionError naming the argument."""
    if isinstance(ref, str):
        return ref
    raise SelectionError(f"{argument}: a ruleset reference is text, ID or ID@VERSION, not {shown(ref)}")


def _ruleset_paths(paths: tuple[object, ...]) -> list[str | Path]:
    """The paths `Library.load` was given, each text or a path naming a file or folder; RulesetError
    (BWC001, the file cannot be read) for any other value, an empty name, or one holding a NUL."""
    problems: list[Diagnostic] = []
    for k, p in enumerate(paths, 1):
        name = os.fspath(p) if isinstance(p, os.PathLike) else p
        if not isinstance(name, str):
            plural = isinstance(p, list | tuple | set | frozenset)
            problems.append(Diagnostic(
                "BWC001", f"a ruleset path is text or a path, not {shown(p)}", f"(path {k})",
                hint="pass each path as its own argument: Library.load(*paths)" if plural else None))
        elif not name:
            problems.append(Diagnostic("BWC001", "an empty path names no file or folder", f"(path {k})",
                                       hint="name a ruleset file or a folder of them; `.` for this folder"))
        elif "\0" in name:
            problems.append(Diagnostic("BWC001", "a file name cannot hold a NUL character", quoted(name, 500)))
    if problems:
        raise RulesetError(problems)
    return list(paths)  # type: ignore[arg-type]


class Library:
    """Every valid ruleset found under some folders (a `Repository`), ready to compile and decide."""

    def __init__(self, repository: Repository, backend: BackendName = "native") -> None:
        self.repository = repository
        self.backend: BackendName = _backend(backend)
        self._policies: dict[tuple[str, str], Policy] = {}  # by content digest and backend
        self._families: dict[tuple[str, str], Family] = {}
        self._alike: dict[tuple[Policy, Policy], bool] = {}

    @classmethod
    def load(cls, *paths: Path | str, backend: BackendName = "native") -> Library:
        """Load every ruleset under `paths`; raises RulesetError if any file, or the set of them, has errors
        (or a path is not text or a path), SelectionError for a backend that does not exist."""
        _backend(backend)
        return cls(Repository.load(*_ruleset_paths(paths)), backend)

    @property
    def rulesets(self) -> dict[str, dict[str, Ruleset]]:
        return {rid: {v: self.repository.get(rid, v) for v in self.repository.versions(rid)}
                for rid in self.repository.ids()}

    def policy(self, ruleset: Ruleset, backend: BackendName | None = None) -> Policy:
        """The compiled policy of one version, with the rulesets it extends as its base layers. Compiled
        once per content: a ruleset read from a file outside the repository, with the id and version of
        one inside it but other rules, is a policy of its own."""
        if not isinstance(ruleset, Ruleset):
            raise TypeError(f"Library.policy: ruleset is a Ruleset (load_ruleset), not {shown(ruleset)}")
        if backend is not None:
            _backend(backend)
        key = (self.repository.digest(ruleset), backend or self.backend)
        if key not in self._policies:
            # Every version the range accepts: each incident is judged by the one in force on its date.
            bases = [self.policy(base, backend) for base in self.repository.bases(ruleset)]
            self._policies[key] = Policy(compile_ruleset(ruleset), backend or self.backend, bases=bases)
        return self._policies[key]

    def select(self, ref: str, version: str | None = None, *, backend: BackendName | None = None) -> Policy:
        """`ref` is `id` or `id@version`; without a version the newest is chosen."""
        if version is not None and not (isinstance(version, str) and version.strip()):
            raise SelectionError(f"version: a version is text such as 2021.1.0, not {shown(version)}")
        if backend is not None:
            _backend(backend)
        try:
            rid, pinned = split_ref(_ref(ref))
            return self.policy(self.repository.get(rid, version or pinned), backend)
        except RulesetLookupError as exc:
            raise SelectionError(str(exc)) from None

    def versions_of(self, ruleset_id: str, backend: BackendName | None = None) -> Family:
        """Every version of a ruleset, oldest first, compiled."""
        _ref(ruleset_id, "ruleset_id")
        if backend is not None:
            _backend(backend)
        key = (ruleset_id, backend or self.backend)
        family = self._families.get(key)
        if family is None:
            try:
                family = Family([self.policy(self.repository.get(ruleset_id, v), backend)
                                 for v in self.repository.versions(ruleset_id)])
            except RulesetLookupError as exc:
                raise SelectionError(str(exc)) from None
            self._families[key] = family
        return family

    def vocabulary(self, ref: str) -> Vocabulary:
        """Every event, fact and attribute a version that may judge an incident under `ref` declares
        (the newest version's spec wins a clash): what an export's columns may name. Whether one
        incident fits is checked by `read`, against the version that judges it."""
        rid, at, _ = _ref(ref).partition("@")
        family = [self.select(ref)] if at else self.versions_of(rid)  # `select` refuses `id@`
        vocab = family[-1].program.vocabulary
        for p in reversed(family[:-1]):
            v = p.program.vocabulary
            vocab = vocab.extended({k: s for k, s in v.facts.items() if k not in vocab.facts},
                                   {k: s for k, s in v.events.items() if k not in vocab.events}, {})
        return vocab

    def read(self, ref: str, data: Mapping[str, Any] | Incident, *,
             backend: BackendName | None = None) -> tuple[Incident, Policy]:
        """The incident, checked against the vocabulary of the version that judges it, and that version.

        Where decide, explain and audit learn which version judges an incident: a pinned
        `id@version` judges everything; otherwise the version in effect on the incident's date
        (`Family.judging`, which asks policy.in_force). To know the date, the incident is first read
        with the newest version's vocabulary (or else an older one's); if another version judges it,
        it is read again with that version's, which raises IncidentError if that version does not
        declare what it uses.
        """
        rid, at, _ = _ref(ref).partition("@")
        if at:  # pinned (`select` refuses `id@`, which pins nothing)
            policy = self.select(ref, backend=backend)
            return policy.read(data), policy
        family = self.versions_of(rid, backend)
        if isinstance(data, Incident):
            return data, family.judging(data)
        reader, inc = _read_with_any(family, data)
        chosen = family.judging(inc)
        if chosen is not reader and not self._reads_alike(chosen, reader):
            inc = chosen.read(data)
        return inc, chosen

    def _reads_alike(self, a: Policy, b: Policy) -> bool:
        """Whether two versions declare the same vocabulary, so an incident one read is the other's too
        (most versions of a ruleset change rules, not words: reading again would double the cost)."""
        key = (a, b)
        same = self._alike.get(key)
        if same is None:
            same = self._alike[key] = a.program.vocabulary == b.program.vocabulary
        return same

    def judge(self, ref: str, incident: Incident, policy: Policy, as_of: datetime | str | None = None, *,
              explain: bool = True) -> Decision:
        """Decide an incident `read` returned under the version it returned (with the amendment
        layer of a later version in force at `as_of`, unless `ref` pins a version)."""
        when = resolve_as_of(as_of, incident)
        if "@" in _ref(ref):
            return policy.decide(incident, when, explain=explain)
        family = self.versions_of(ref, policy.backend.name)  # type: ignore[arg-type]
        return policy.decide(incident, when, amendment=family.amendment(policy, when), explain=explain,
                             family=family)

    def decide(self, ref: str, incident: Mapping[str, Any] | Incident, as_of: datetime | str | None = None,
               *, backend: BackendName | None = None, explain: bool = True) -> Decision:
        """Decide under the version in effect on the incident's date (or the pinned `id@version`).

        Rules of the version in effect at `as_of` marked `applies_to_existing_footage` also apply.
        """
        inc, chosen = self.read(ref, incident, backend=backend)
        return self.judge(ref, inc, chosen, as_of, explain=explain)

    def explain(self, ref: str, incident: Mapping[str, Any] | Incident, as_of: datetime | str | None = None,
                ) -> Explanation:
        """`Policy.explain` of the decision `decide` would make: the same version, layers and refusals."""
        inc, chosen = self.read(ref, incident)
        when = resolve_as_of(as_of, inc)
        if "@" in ref:
            return chosen.explain(inc, when)
        family = self.versions_of(ref, chosen.backend.name)  # type: ignore[arg-type]
        return chosen.explain(inc, when, amendment=family.amendment(chosen, when), family=family)


def _read_with_any(family: Family, incident: Mapping[str, Any]) -> tuple[Policy, Incident]:
    """Read with the newest version's vocabulary, or else an older one's (names a version declared)."""
    try:
        return family[-1], family[-1].read(incident)
    except IncidentError as newest:
        for p in reversed(family[:-1]):
            try:
                return p, p.read(incident)
            except IncidentError:
                continue
        raise newest from None


def choose_version(family: Sequence[Policy], incident: Incident) -> Policy:
    """The version of `family` (every version of one ruleset, oldest first) that judges the incident."""
    if not isinstance(incident, Incident):
        raise IncidentError([Problem("?", "(incident)", "choose_version needs an Incident (read with "
                                     f"policy.read), not {shown(incident)}")])
    members = Family.of(family)
    if not members:
        raise SelectionError("family: no version to choose from (the family is empty)")
    return members.judging(incident)


def _policies(members: object, argument: str) -> tuple[Policy, ...]:
    """`members` as a tuple of policies, or TypeError naming the argument (a programming error)."""
    try:
        found: tuple[Any, ...] = tuple(members)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{argument} is a sequence of Policy, not {shown(members)}") from None
    for member in found:
        if not isinstance(member, Policy):
            raise TypeError(f"{argument} is a sequence of Policy; it holds {shown(member)}")
    return found


class Family(Sequence["Policy"]):
    """Every version of one ruleset, oldest first (`Library.versions_of`, or the versions a policy
    extends), with what choosing among them needs made once, not once per incident: which versions
    judge by date (`policy.in_force.judging`), and which have conduct or existing-footage rules."""

    __slots__ = ("_amended_after", "_by_ruleset", "_judges", "_members", "_rulesets", "conduct")

    def __init__(self, members: Iterable[Policy]) -> None:
        self._members = _policies(members, "family")
        self._rulesets = [p.program.ruleset for p in self._members]
        self._judges = judging(self._rulesets)
        self._by_ruleset = {id(p.program.ruleset): p for p in self._members}
        self.conduct = any(p.conduct_rules for p in self._members)  # whether `conduct_versions` can find any
        # For each version, whether a newer one has rules that apply to existing footage (most families:
        # none, and `amendment` has nothing to look for).
        self._amended_after = {id(p): any(q.program.existing_footage_rules for q in self._members[k + 1:])
                               for k, p in enumerate(self._members)}

    @classmethod
    def of(cls, members: Sequence[Policy]) -> Family:
        return members if isinstance(members, Family) else cls(members)

    def __reduce__(self) -> tuple[type[Family], tuple[tuple[Policy, ...]]]:
        return (Family, (self._members,))

    @overload
    def __getitem__(self, index: int) -> Policy: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Policy, ...]: ...
    def __getitem__(self, index: int | slice) -> Policy | tuple[Policy, ...]:
        return self._members[index]

    def __len__(self) -> int:
        return len(self._members)

    def _member(self, ruleset: Ruleset) -> Policy:
        return self._by_ruleset[id(ruleset)]

    def judging(self, incident: Incident) -> Policy:
        """The version that judges the incident (`policy.in_force.judging_version`), each version asked
        about its own day (`version_date`, in its time zone)."""
        by_ruleset = self._by_ruleset
        return by_ruleset[id(judging_version(self._rulesets, lambda r: judging_date(
            (p := by_ruleset[id(r)]).program, incident, p.zone), self._judges))]

    def conduct_versions(self, incident: Incident, as_of: datetime) -> list[Policy]:
        """The versions whose `governs: conduct` rules bound actions on this incident's footage: those
        that judge by date and have such rules, that had come into force by `as_of` (an action not yet
        taken breaks nothing), and that were still in force on or after the incident's first day (no
        action on the footage can be taken before it exists)."""
        if not self.conduct or not incident.events:
            return []

        def span(r: Ruleset) -> DaySpan | None:
            p = self._member(r)
            if not p.conduct_rules:
                return None
            try:
                return incident.events[0].at.astimezone(p.zone).date(), as_of.astimezone(p.zone).date()
            except (OverflowError, ValueError):
                return None  # a day outside the calendar: no version's dates can reach it

        return [self._member(r) for r in in_force_during(self._rulesets, span)]

    def amendment(self, chosen: Policy, as_of: datetime) -> Policy | None:
        """A version later than `chosen` in force at `as_of`, if it has rules that apply to existing footage."""
        if not self._amended_after.get(id(chosen)):
            return None
        later = {id(p.program.ruleset) for p in self._members[self._members.index(chosen) + 1:]}
        found = version_in_force(self._rulesets, lambda r: as_of.astimezone(ZoneInfo(r.timezone)).date()
                                 if id(r) in later else None)
        if found is None:
            return None
        amending = self._member(found)
        return amending if amending.program.existing_footage_rules else None


class Policy:
    """One compiled ruleset version (with the rulesets it extends), ready to decide incidents."""

    def __init__(self, program: Program, backend: BackendName = "native", bases: Sequence[Policy] = ()) -> None:
        if not isinstance(program, Program):
            raise TypeError(f"Policy: program is a compiled Program, not {shown(program)}")
        self.program = program
        self.backend = make_backend(program, _backend(backend))
        self.reader = IncidentReader(program.vocabulary)
        self.zone = ZoneInfo(program.ruleset.timezone)
        self.bases = Family(bases)  # the versions of the ruleset it extends
        # Rules judged by the version in force when an action is taken (`governs: conduct`): decided in a
        # layer of their own, never with the rules judged by the incident's date.
        self.conduct_rules = program.conduct_rules
        self._footage_rules = frozenset(r.id for r in program.rules) - self.conduct_rules \
            if self.conduct_rules else None
        self._amending_rules = program.existing_footage_rules - self.conduct_rules
        self._alone = Family((self,))  # the family of a version decided on its own (`decide` without one)

    def __reduce__(self) -> tuple[type[Policy], tuple[Program, str, Family]]:
        # A policy crosses to another process or host (a Dask worker) as its compiled program, the
        # backend's name and its base layers: the backend (Python closures, or durable-rules' rete) is
        # built again there from the program, so no ruleset file or folder is read on the other side.
        return (Policy, (self.program, self.backend.name, self.bases))

    @classmethod
    def from_ruleset(cls, ruleset: Ruleset, backend: BackendName = "native") -> Policy:
        if not isinstance(ruleset, Ruleset):
            raise TypeError(f"Policy.from_ruleset: ruleset is a Ruleset (load_ruleset), not {shown(ruleset)}")
        return cls(compile_ruleset(ruleset), _backend(backend))

    def read(self, data: Mapping[str, Any] | Incident) -> Incident:
        return data if isinstance(data, Incident) else self.reader.read(data)

    def chain(self, incident: Incident | None = None) -> list[Policy]:
        """This policy, then the version of the one it extends in force on the incident's date (the
        newest, without an incident), and so on down to the most fundamental."""
        out: list[Policy] = [self]
        while out[-1].bases:
            bases = out[-1].bases
            out.append(bases.judging(incident) if incident is not None else bases[-1])
        return out

    def _scope(self, role: LayerRole, judged: Incident) -> tuple[frozenset[str] | None, bool]:
        """The rules this version decides in a layer of `role` (None: all), and whether it is in force."""
        if role == "amendment":
            return self._amending_rules, True
        if role == "conduct":
            return self.conduct_rules, True
        return self._footage_rules, in_force(self.program, judged, self.zone)

    def _layer(self, known: Incident, role: LayerRole, rank: int, judged: Incident, explain: bool) -> Layer:
        ctx = Context(known.facts, known.by_type, self.zone)
        only, force = self._scope(role, judged)
        obligations = obligations_for(self.program, known, ctx, self.backend.firings(known), only,
                                      explain=explain) if force else []
        if role == "conduct":
            obligations = bound_to_version(obligations, self.program, self.zone)
        return Layer(self.program, role, force, obligations, rank)

    def _plan(self, inc: Incident, when: datetime, amendment: Policy | None,
              family: Sequence[Policy] | None) -> list[tuple[Policy, LayerRole, int]]:
        """The versions a decision weighs, each with its role and rank: this one, the ones it extends,
        the amendment, the conduct layers (the one list `decide` and `explain` both follow)."""
        chain = self.chain(inc)
        plan: list[tuple[Policy, LayerRole, int]] = [
            (p, "selected" if k == 0 else "base", len(chain) - 1 - k) for k, p in enumerate(chain)]
        if amendment is not None:
            if not isinstance(amendment, Policy):
                raise TypeError(f"amendment is a Policy (Family.amendment), not {shown(amendment)}")
            plan.append((amendment, "amendment", len(chain) - 1))
        families = [(Family.of(family) if family is not None else self._alone, len(chain) - 1)] + [
            (chain[k - 1].bases, len(chain) - 1 - k) for k in range(1, len(chain))]
        for members, rank in families:
            plan += [(p, "conduct", rank) for p in members.conduct_versions(inc, when)]
        return plan

    def decide(self, incident: Mapping[str, Any] | Incident, as_of: datetime | str | None = None,
               *, amendment: Policy | None = None, explain: bool = True,
               family: Sequence[Policy] | None = None) -> Decision:
        """The obligations of `incident` as of `as_of` (default: its last event; never the clock).

        `explain=False` leaves out which facts and events matched each rule (`matched`), for callers
        such as audits that only need the obligations. `family`: every version of this ruleset, whose
        `governs: conduct` rules bound the actions taken while each was in force (default: this version
        alone, as when a version is pinned).
        """
        inc = self.read(incident)
        when = resolve_as_of(as_of, inc)
        known = inc.until(when)
        return assemble(inc, known, when, [p._layer(known, role, rank, inc, explain)
                                           for p, role, rank in self._plan(inc, when, amendment, family)])

    def explain(self, incident: Mapping[str, Any] | Incident, as_of: datetime | str | None = None,
                *, amendment: Policy | None = None, family: Sequence[Policy] | None = None) -> Explanation:
        """For every rule of every version `decide` weighs (this one, the ones it extends, the amendment,
        the conduct layers): whether it applies to the incident, and why (or why not). An incident
        `decide` refuses (a date past the calendar) is refused here too."""
        inc = self.read(incident)
        when = resolve_as_of(as_of, inc)
        decision = self.decide(inc, when, amendment=amendment, explain=False, family=family)
        known = inc.until(when)
        parts: list[LayerExplanation] = []
        for p, role, _ in self._plan(inc, when, amendment, family):
            only, force = p._scope(role, inc)
            ctx = Context(known.facts, known.by_type, p.zone)
            fired = {pos for pos, _ in p.backend.firings(known)}
            rules = [r for r in Explainer(p.program).explain(known, ctx, fired) if only is None or r.rule in only]
            parts.append(LayerExplanation(p.program.ref, p.program.digest, role, force, rules))
        selected = parts[0]
        return Explanation(decision.incident_id, decision.as_of, selected.ruleset, selected.digest,
                           selected.in_force, selected.rules, parts[1:])

    def session(self, incident_id: str, timezone: str, facts: Mapping[str, Any] | None = None) -> IncidentSession:
        # Facts that are not a mapping are kept as given, for the reader to refuse with the first event.
        return IncidentSession(self, incident_id, timezone,
                               {} if facts is None else dict(facts) if isinstance(facts, Mapping) else facts)


@overload
def resolve_as_of(as_of: datetime | str | None, incident: Incident) -> datetime: ...
@overload
def resolve_as_of(as_of: datetime | str | None, incident: None = None) -> datetime | None: ...
def resolve_as_of(as_of: datetime | str | None, incident: Incident | None = None) -> datetime | None:
    """The moment an incident is judged at: the one as-of resolver (decide, explain, audit, impact, `--as-of`).

    None: the incident's last event (without an incident, None: each is judged as of its own last
    event); `now`: the host clock, read here and only for `now`; text: a time in ISO 8601 with its
    offset; an aware datetime as given. Raises IncidentError with a plain message, naming the
    incident's `as_of`, or `--as-of` when the time is resolved once for every incident.
    """
    if as_of is None:
        if incident is None:
            return None
        try:
            events = incident.events
        except AttributeError:  # not an Incident: found here, at no cost to the calls that pass one
            raise IncidentError([Problem("?", "(incident)", "resolve_as_of needs an Incident (read with "
                                         f"policy.read), not {shown(incident)}")]) from None
        if not events:
            raise IncidentError([Problem(incident.id, "events", "an incident needs at least one event")])
        return events[-1].at
    if isinstance(as_of, str):
        if as_of == "now":
            return datetime.now(UTC).replace(microsecond=0)
        try:
            return parse_timestamp(as_of)
        except ValueError as exc:
            raise IncidentError([Problem("(as of)", "--as-of", f"{exc}; or `now`") if incident is None
                                 else Problem(_incident_id(incident), "as_of", str(exc))]) from None
    if not isinstance(as_of, datetime):
        raise IncidentError([Problem("(as of)" if incident is None else _incident_id(incident), "as_of",
                                     "as_of is a time in ISO 8601 with its offset, `now`, or an aware "
                                     f"datetime, not {shown(as_of)}")])
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise IncidentError([Problem("(as of)" if incident is None else _incident_id(incident), "as_of",
                                     "as_of needs a time zone offset")])
    return as_of


def _incident_id(incident: object) -> str:
    """The id an as-of problem names: the incident's, or `?` for a value that is not an Incident."""
    return incident.id if isinstance(incident, Incident) else "?"


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

    def __init__(self, policy: Policy, incident_id: str, timezone: str, facts: Any) -> None:
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
        """Add one event (checked against the vocabulary; a bad event is refused and not kept, also one
        whose decision is refused, such as a date past the calendar)."""
        # An event that is not a mapping is kept as given, for the reader to refuse naming `events[N]`.
        candidate = [*self.raw_events, dict(event) if isinstance(event, Mapping) else event]
        incident = self.policy.read({**self.data(), "events": candidate})
        decision = self.policy.decide(incident)
        self.raw_events = candidate
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


ERRORS: tuple[type[Exception], ...] = (
    CalendarOverflow, ExportError, IncidentError, JsonError, OutputError, RulesetError, RulesetLookupError,
    SelectionError, WorkerError)
"""Every error a call of this API raises for its input or its environment (`except ERRORS:`); anything
else is a bug. Each is also importable by name."""

__all__ = [
    "DECISION_SCHEMA",
    "ERRORS",
    "BackendName",
    "CalendarOverflow",
    "Change",
    "Check",
    "Conflict",
    "DateOrPending",
    "Decision",
    "Delay",
    "Diagnostic",
    "Event",
    "EventRef",
    "Explanation",
    "ExportError",
    "Family",
    "Incident",
    "IncidentError",
    "IncidentSession",
    "JsonError",
    "Kind",
    "LayerExplanation",
    "LayerRef",
    "Library",
    "Matched",
    "Moment",
    "Obligation",
    "OutputError",
    "Pending",
    "Policy",
    "Problem",
    "Record",
    "ReleaseDeadline",
    "Resolution",
    "RetentionSummary",
    "RowError",
    "RuleExplanation",
    "Ruleset",
    "RulesetError",
    "RulesetLookupError",
    "RulesetRef",
    "SelectionError",
    "Summary",
    "Suspension",
    "UnknownFile",
    "UnknownRuleset",
    "UnknownVersion",
    "Vocabulary",
    "Window",
    "WorkerError",
    "choose_version",
    "load_ruleset",
    "make_backend",
    "read_export",
    "resolve_as_of",
]
