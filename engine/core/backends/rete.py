"""The rete backend: the compiled program run by durable-rules (the only module that imports durable).

Translation (once per program):
- each rule's trigger pattern AND condition is pushed to disjunctive normal form; every branch becomes one
  durable rule whose action, bound in a closure, records (rule position, trigger event position);
- positive event atoms, sequence steps and the trigger are aliases bound to event facts. durable never binds
  one fact to two aliases of a rule, nor lets a `$not` pattern see a fact bound in the rule, while the
  program's atoms may share events; so a branch is expanded over every way of merging its same-type aliases,
  and an alias of a negated atom's type must itself fail that atom's tests;
- fact tests are tests on one "facts" fact, which every rule matches first and which is asserted last (so
  every negation is judged on the whole incident); negated sequences of two or more steps are found by a
  first phase of rules, whose findings are asserted as facts that the main rules negate;
- values are tagged by type before durable sees them (booleans `b:true`, text `s:...`, ordered enums and
  dates as integers), so durable's loose comparisons cannot compare values of different types.

Per incident: one fixed session (sid "0"); the incident's facts (each with a unique id and the run number,
which every rule joins on, so facts of earlier incidents never take part) are asserted, and the actions run
synchronously in the caller (the Host has no background threads).

Facts are never retracted: durable 2.0.28 keeps a fact's link to every action frame it fired, after the frame is
freed, and retracting a second fact of such a frame scans past the frame's end and may write there
(`deleteMessageFromFrame`; valgrind shows it, and the CI's slow job crashed on it). Instead the whole session is
deleted once it holds `HELD_FACTS` facts: `delete_state` frees every pool without walking the frames. A new
session first fires the primer rule, because `delete_state` frees an action context that durable leaves
uninitialised until some action has run (a segfault otherwise).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import durable_rules_engine
from durable.engine import Host, MessageNotHandledException

from engine.core.evaluation import Firing, deadline
from engine.core.incident import Incident
from engine.core.program import And, Cond, Const, EventAtom, FactTest, Or, Program, SequenceAtom, Test
from policy.conditions import Operator
from policy.duration import Duration
from policy.vocabulary import Spec, ValueType

MAX_RULES = 4096  # durable: error 106 beyond this
HELD_FACTS = 1024  # facts a session holds before it is deleted and begun again
MAX_BRANCHES = 512  # durable: create_ruleset hangs when one alpha node has more children
MAX_PROPERTIES = 253  # durable: error 302 beyond this many top-level properties of a fact

GUARD: dict[str, Any] = {"$nex": {"$s": 1}}  # never match the session's state object (else actions loop)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = 2**62  # a deadline past any time (one beyond the calendar)
_ORDER_OPS = {Operator.LESS_THAN: "$lt", Operator.AT_MOST: "$lte", Operator.MORE_THAN: "$gt",
              Operator.AT_LEAST: "$gte"}
_OPPOSITE = {"$lt": "$gte", "$lte": "$gt", "$gt": "$lte", "$gte": "$lt"}


class ReteCapacityError(ValueError):
    """The program is beyond what durable-rules can hold (it would fail, crash or hang)."""


class _QuietHost(Host):  # type: ignore[misc]
    """A Host without the two background timer threads: actions run only in the caller's post/assert."""

    def _run(self) -> None:
        return None


_HOST: _QuietHost | None = None
_LOCK = threading.Lock()
_COUNTER = itertools.count(1)


def _host() -> _QuietHost:
    global _HOST
    with _LOCK:
        if _HOST is None:
            _HOST = _QuietHost()
        return _HOST


# --- values --------------------------------------------------------------------------------------

def encode(spec: Spec | None, value: Any) -> Any:
    """A value as durable sees it: typed so that loose comparisons cannot mix types."""
    if spec is not None and spec.type is ValueType.ENUM and spec.ordered and isinstance(value, str):
        return spec.values.index(value) if value in spec.values else "s:" + value
    if isinstance(value, bool):
        return "b:true" if value else "b:false"
    if isinstance(value, int | float):
        return value
    if spec is not None and spec.type is ValueType.DATE and isinstance(value, str):
        digits = value.replace("-", "")
        if len(value) == 10 and digits.isdigit():
            return int(digits)
    return "s:" + str(value)


def _us(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(microseconds=1)


# --- tests on one fact -----------------------------------------------------------------------------

Expr = dict[str, Any]
FALSE: Expr = {"$false": True}  # marker: a test no value passes (its branch is dropped)


def _field(name: str) -> str:
    return "a_" + name


def test_expr(t: Test, spec: Spec | None) -> Expr | None:
    """The durable expression for one test (None: always true; FALSE: never true)."""
    f = _field(t.name)
    if t.op is Operator.EXISTS:
        return {"$nex": {f: 1}} if t.negated else {"$ex": {f: 1}}
    if t.op is Operator.EQUALS:
        v = encode(spec, t.value)
        return {"$or": [{"$nex": {f: 1}}, {"$neq": {f: v}}]} if t.negated else {f: v}
    if t.op is Operator.IN:
        values = sorted({encode(spec, v) for v in t.value}, key=repr)
        if not values:
            return None if t.negated else FALSE
        if t.negated:
            neqs = [{"$neq": {f: v}} for v in values]
            return {"$or": [{"$nex": {f: 1}}, neqs[0] if len(neqs) == 1 else {"$and": neqs}]}
        return values_or(f, values)
    op = _ORDER_OPS[t.op]
    v = t.value if t.ordinal is not None else encode(spec, t.value)
    return {"$or": [{"$nex": {f: 1}}, {_OPPOSITE[op]: {f: v}}]} if t.negated else {op: {f: v}}


def values_or(f: str, values: list[Any]) -> Expr:
    if len(values) > MAX_BRANCHES:
        raise ReteCapacityError(f"a membership test of `{f[2:]}` has {len(values)} values; durable-rules "
                                f"holds at most {MAX_BRANCHES} alternatives on one node")
    return {f: values[0]} if len(values) == 1 else {"$or": [{f: v} for v in values]}


def negate_test(t: Test) -> Test:
    return Test(t.name, t.op, t.value, t.ordinal, negated=not t.negated)


# --- conditions to DNF -----------------------------------------------------------------------------

Literal_ = FactTest | EventAtom | SequenceAtom
Branch = tuple[Literal_, ...]


def dnf(cond: Cond, limit: int) -> list[Branch]:
    """The condition as a list of conjunctions (refused beyond `limit` branches)."""
    if isinstance(cond, Const):
        return [()] if cond.value else []
    if isinstance(cond, SequenceAtom) and len(cond.steps) == 1:
        s = cond.steps[0]
        return [(EventAtom(s.type, s.tests, negated=cond.negated),)]
    if isinstance(cond, FactTest | EventAtom | SequenceAtom):
        return [(cond,)]
    if isinstance(cond, Or):
        out: list[Branch] = []
        for c in cond.items:
            out.extend(dnf(c, limit))
            _check_rules(len(out), limit)
        return out
    if isinstance(cond, And):
        acc: list[Branch] = [()]
        for c in cond.items:
            parts = dnf(c, limit)
            _check_rules(len(acc) * len(parts), limit)
            acc = [a + p for a in acc for p in parts]
        return acc
    raise TypeError(cond)


def _check_rules(n: int, limit: int) -> None:
    if n > limit:
        raise ReteCapacityError(f"the program needs more than {MAX_RULES} durable rules after expansion to "
                                f"disjunctive normal form; durable-rules holds at most {MAX_RULES}")


# --- the translation ------------------------------------------------------------------------------

@dataclass
class _Slot:
    """One event that a branch needs: the trigger, a positive atom or a sequence step."""

    type: str
    tests: tuple[Test, ...]
    trigger: bool = False


@dataclass
class _Alias:
    name: str
    type: str
    tests: list[Test] = field(default_factory=list)
    trigger: bool = False
    after: set[str] = field(default_factory=set)  # aliases this one is strictly later than
    deadlines: list[tuple[str, int]] = field(default_factory=list)  # (first alias, within index): ts <= dl


_BELL = (1, 1, 2, 5, 15, 52, 203, 877, 4140, 21147)  # ways to partition n same-type slots


def _partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1:]]
        yield [[first], *part]


@dataclass
class _Translation:
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # durable rule name -> definition
    actions: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> ("fire", (pos, alias)) | ("seq", i)
    withins: list[Duration] = field(default_factory=list)
    negseqs: list[SequenceAtom] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=dict)  # event type -> attributes read
    fact_fields: set[str] = field(default_factory=set)


class _Translator:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.vocab = program.vocabulary
        self.out = _Translation()

    def spec(self, etype: str | None, name: str) -> Spec | None:
        if etype is None:
            return self.vocab.facts.get(name)
        return self.vocab.attributes_of(etype).get(name)

    def within(self, d: Duration) -> int:
        if d not in self.out.withins:
            self.out.withins.append(d)
        return self.out.withins.index(d)

    def negseq(self, s: SequenceAtom) -> int:
        key = SequenceAtom(s.steps, s.within, negated=False)
        if key not in self.out.negseqs:
            self.out.negseqs.append(key)
        return self.out.negseqs.index(key)

    def add(self, name: str, patterns: list[dict[str, Any]], action: tuple[str, Any]) -> None:
        _check_rules(len(self.out.rules) + 1, MAX_RULES - 2)  # two rules are kept: the sink and the primer
        self.out.rules[name] = {"all": patterns}
        self.out.actions[name] = action

    # the patterns of one event alias
    def event_pattern(self, a: _Alias, join: str) -> Expr | None:
        self.out.fields.setdefault(a.type, set())
        items: list[Expr] = [GUARD, {"k": "e"}, {"t": a.type}, {"r": {join: "r"}}]
        for other in sorted(a.after):
            items.append({"$gt": {"p": {other: "p"}}})
        for first, k in a.deadlines:
            items.append({"$lte": {"ts": {first: f"d{k}"}}})
        for t in a.tests:
            e = test_expr(t, self.spec(a.type, t.name))
            self.out.fields.setdefault(a.type, set()).add(t.name)
            if e is FALSE:
                return None
            if e is not None:
                items.append(e)
        return {"$and": items}

    def translate(self) -> _Translation:
        for r in self.program.rules:
            for n, branch in enumerate(dnf(r.condition, MAX_RULES)):
                self.branch(r.position, r.trigger, r.trigger_tests, branch, f"r{r.position}_{n}")
        for i, s in enumerate(self.out.negseqs):
            slots = [_Slot(st.type, st.tests) for st in s.steps]
            for m, aliases in enumerate(self.alias_sets(slots, [s], [])):
                pats: list[dict[str, Any]] = [{"g": {"$and": [GUARD, {"k": "g"}]}}]
                if self.positive(aliases, "g", pats):
                    self.add(f"q{i}_{m}", pats, ("seq", i))
        # A sink: every fact matches some pattern (else durable reports it unhandled), and the rule never fires.
        self.out.rules["sink"] = {"all": [{"m": {"$and": [GUARD, {"$ex": {"k": 1}}]}},
                                          {"n": {"$and": [GUARD, {"k": "never"}]}}]}
        self.out.actions["sink"] = ("none", None)
        self.out.rules["primer"] = {"all": [{"m": {"$and": [GUARD, {"k": "primer"}]}}]}
        self.out.actions["primer"] = ("none", None)
        return self.out

    def positive(self, aliases: list[_Alias], join: str, pats: list[dict[str, Any]]) -> bool:
        for a in aliases:
            p = self.event_pattern(a, join)
            if p is None:
                return False
            pats.append({a.name: p})
        return True

    def alias_sets(self, slots: list[_Slot], seqs: list[SequenceAtom],
                   negs: list[EventAtom]) -> Iterator[list[_Alias]]:
        """Each way of merging same-type slots into aliases, in an order where references point back.

        `slots` holds the trigger (if any), then positive atoms, then each sequence's steps in order.
        """
        # where each sequence's steps sit in `slots`
        seq_slots: list[list[int]] = []
        i = len(slots) - sum(len(s.steps) for s in seqs)
        for s in seqs:
            seq_slots.append(list(range(i, i + len(s.steps))))
            i += len(s.steps)
        by_type: dict[str, list[int]] = {}
        for k, slot in enumerate(slots):
            by_type.setdefault(slot.type, []).append(k)
        ways = 1
        for ix in by_type.values():
            ways *= _BELL[len(ix)] if len(ix) < len(_BELL) else MAX_RULES + 1
        if ways > MAX_RULES:
            raise ReteCapacityError(
                f"a rule names so many events of one type ({max(map(len, by_type.values()))}) that durable-rules "
                f"would need {ways:,} rules to match every way they can coincide (limit {MAX_RULES:,})")
        for choice in itertools.product(*(list(_partitions(ix)) for ix in by_type.values())):
            groups = [g for part in choice for g in part]
            owner = {k: gi for gi, g in enumerate(groups) for k in g}
            after: dict[int, set[int]] = {gi: set() for gi in range(len(groups))}
            deadlines: dict[int, list[tuple[int, int]]] = {gi: [] for gi in range(len(groups))}
            bad = False
            for s, ix in zip(seqs, seq_slots, strict=True):
                for prev, cur in itertools.pairwise(ix):
                    if owner[prev] == owner[cur]:
                        bad = True
                    after[owner[cur]].add(owner[prev])
                if s.within is not None:
                    deadlines[owner[ix[-1]]].append((owner[ix[0]], self.within(s.within)))
            order = _topological(after) if not bad else None
            if order is None:
                continue
            names = {gi: f"a{n}" for n, gi in enumerate(order)}
            aliases = []
            for gi in order:
                g = groups[gi]
                tests = [t for k in g for t in slots[k].tests]
                aliases.append(_Alias(names[gi], slots[g[0]].type, tests, any(slots[k].trigger for k in g),
                                      {names[x] for x in after[gi]},
                                      [(names[x], w) for x, w in deadlines[gi]]))
            # An alias of a negated atom's type is hidden from that `$not`: it must fail the atom itself.
            options: list[list[tuple[_Alias, Test | None]]] = []
            impossible = False
            for neg in negs:
                for a in aliases:
                    if a.type != neg.type:
                        continue
                    if not neg.tests:
                        impossible = True
                    options.append([(a, negate_test(t)) for t in neg.tests])
            if impossible:
                continue
            for pick in itertools.product(*options):
                chosen = [_Alias(a.name, a.type, list(a.tests), a.trigger, set(a.after), list(a.deadlines))
                          for a in aliases]
                by_name = {a.name: a for a in chosen}
                for a, t in pick:
                    if t is not None:
                        by_name[a.name].tests.append(t)
                yield chosen

    def branch(self, position: int, trigger: str | None, trigger_tests: tuple[Test, ...], branch: Branch,
               prefix: str) -> None:
        facts: list[Test] = []
        atoms: list[EventAtom] = []
        negs: list[EventAtom] = []
        seqs: list[SequenceAtom] = []
        negseqs: list[int] = []
        for lit in branch:
            if isinstance(lit, FactTest):
                facts.append(lit.test)
            elif isinstance(lit, EventAtom):
                (negs if lit.negated else atoms).append(lit)
            elif lit.negated:
                negseqs.append(self.negseq(lit))
            else:
                seqs.append(lit)
        fact_items: list[Expr] = [GUARD, {"k": "f"}]
        for t in facts:
            self.out.fact_fields.add(t.name)
            e = test_expr(t, self.spec(None, t.name))
            if e is FALSE:
                return
            if e is not None:
                fact_items.append(e)
        slots = ([_Slot(trigger, trigger_tests, trigger=True)] if trigger is not None else [])
        slots += [_Slot(a.type, a.tests) for a in atoms]
        slots += [_Slot(st.type, st.tests) for s in seqs for st in s.steps]
        for m, aliases in enumerate(self.alias_sets(slots, seqs, negs)):
            pats: list[dict[str, Any]] = [{"f": {"$and": fact_items}}]
            if not self.positive(aliases, "f", pats):
                continue
            for q in negseqs:
                pats.append({f"q{q}$not": {"$and": [GUARD, {"k": "q"}, {"q": q}, {"r": {"f": "r"}}]}})
            for j, neg in enumerate(negs):
                p = self.event_pattern(_Alias(f"n{j}", neg.type, list(neg.tests)), "f")
                if p is not None:  # a negated atom no event can pass holds anyway
                    pats.append({f"n{j}$not": p})
            trig = next((a.name for a in aliases if a.trigger), None)
            self.add(f"{prefix}_{m}", pats, ("fire", (position, trig)))


def _topological(after: dict[int, set[int]]) -> list[int] | None:
    order: list[int] = []
    done: set[int] = set()
    pending = sorted(after)
    while pending:
        ready = [g for g in pending if after[g] <= done]
        if not ready:
            return None  # a cycle of "strictly later than": cannot hold
        order.extend(ready)
        done.update(ready)
        pending = [g for g in pending if g not in done]
    return order


# --- capacity ------------------------------------------------------------------------------------

def _alpha_chains(expr: Any) -> list[list[str]]:
    """The chains of alpha tests one pattern makes, `$or` alternatives as branches (conservative)."""
    if isinstance(expr, dict) and len(expr) == 1:
        (op, arg), = expr.items()
        if op == "$and":
            acc: list[list[str]] = [[]]
            for item in arg:
                parts = _alpha_chains(item)
                acc = [a + p for a in acc for p in parts]
                if len(acc) > 4 * MAX_BRANCHES:
                    raise ReteCapacityError(f"a pattern expands to more than {4 * MAX_BRANCHES} alternatives")
            return acc
        if op == "$or":
            if len(arg) > MAX_BRANCHES:
                raise ReteCapacityError(f"a test has {len(arg)} alternatives; durable-rules holds at most "
                                        f"{MAX_BRANCHES} on one node")
            return [c for item in arg for c in _alpha_chains(item)]
    return [[json.dumps(expr, sort_keys=True)]]


def check_capacity(t: _Translation) -> None:
    if len(t.rules) > MAX_RULES:
        raise ReteCapacityError(f"the program needs {len(t.rules)} durable rules; durable-rules holds at most "
                                f"{MAX_RULES}")
    children: dict[tuple[str, ...], set[str]] = {}
    for rule in t.rules.values():
        for pattern in rule["all"]:
            (expr,) = pattern.values()
            for chain in _alpha_chains(expr):
                for i, test in enumerate(chain):
                    kids = children.setdefault(tuple(chain[:i]), set())
                    kids.add(test)
                    if len(kids) > MAX_BRANCHES:
                        raise ReteCapacityError(
                            f"more than {MAX_BRANCHES} different tests follow one node of the network (many "
                            f"rules or a long membership list test one value); durable-rules holds at most "
                            f"{MAX_BRANCHES} equality alternatives on one node")
    fixed = 6 + len(t.withins)  # id, sid, r, k, t, p, ts + deadlines (sid is added by durable)
    widest = max([len(f) for f in t.fields.values()] + [len(t.fact_fields)] + [0])
    if fixed + 1 + widest > MAX_PROPERTIES:
        raise ReteCapacityError(f"a fact would need {fixed + 1 + widest} top-level properties; durable-rules "
                                f"holds at most {MAX_PROPERTIES}")


# --- the backend ---------------------------------------------------------------------------------

def _runtime_refusal(exc: Exception, incident: Incident) -> ReteCapacityError:
    # durable-rules reports some limits only when data arrives: error 303 is its evaluation stack
    # (MAX_STACK_SIZE), reached by rules that join many events.
    return ReteCapacityError(
        f"durable-rules could not evaluate incident {incident.id} under this program ({exc}); its rules join more "
        "events than durable-rules can hold: use the native backend")


class ReteBackend:
    """Evaluates a program with durable-rules: one ruleset and one session, reused for every incident."""

    name = "rete"

    def __init__(self, program: Program) -> None:
        self.program = program
        self.zone = ZoneInfo(program.ruleset.timezone)
        self.translation = t = _Translator(program).translate()
        check_capacity(t)
        self._hits: set[Firing] = set()
        self._found: set[int] = set()
        self._run = 0
        self.ruleset_name = f"bwc-policy-{next(_COUNTER)}"
        definition: dict[str, dict[str, Any]] = {}
        for rname, rule in t.rules.items():
            kind, arg = t.actions[rname]
            definition[rname] = {**rule, "run": self._action(kind, arg)}
        self._host = _host()
        try:
            self._host.register_rulesets({self.ruleset_name: definition})
        except durable_rules_engine.error as exc:
            raise ReteCapacityError(f"durable-rules refused the program: {exc}") from exc
        self._ruleset = self._host.get_ruleset(self.ruleset_name)
        self._held = 0
        self._begin_session()

    def _begin_session(self) -> None:
        self._assert([{"id": "primer", "k": "primer"}])  # an action runs, so the session's context is set

    def _end_session(self) -> None:
        self._host.delete_state(self.ruleset_name, "0")
        self._held = 0
        self._begin_session()

    def _action(self, kind: str, arg: Any) -> Callable[[Any], None]:
        hits, found = self._hits, self._found
        if kind == "fire":
            position, alias = arg
            if alias is None:
                return lambda c: hits.add((position, None))
            return lambda c: hits.add((position, c._m[alias]["p"]))
        if kind == "seq":
            return lambda c: found.add(arg)
        return lambda c: None

    def close(self) -> None:
        """Remove this backend's ruleset from the Host (its memory is not all returned: a durable leak)."""
        rs = self._host._ruleset_directory.pop(self.ruleset_name, None)
        if rs is not None:
            self._host._ruleset_list.remove(rs)
            durable_rules_engine.delete_ruleset(rs._handle)

    def _facts(self, incident: Incident, run: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        t = self.translation
        attrs_of = self.program.vocabulary.attributes_of
        events = []
        for e in incident.events:
            read = t.fields.get(e.type)
            if read is None:
                continue  # no rule reads events of this type
            f: dict[str, Any] = {"id": f"e{run}.{e.position}", "r": run, "k": "e", "t": e.type,
                                 "p": e.position, "ts": _us(e.at)}
            for k, d in enumerate(t.withins):
                end = deadline(e.at, d, self.zone)  # the native backend's own deadline, same edge cases
                f[f"d{k}"] = _NEVER if end is None else _us(end)
            if read:
                spec = attrs_of(e.type)
                for name in read:
                    if name in e.attributes:
                        f[_field(name)] = encode(spec.get(name), e.attributes[name])
            events.append(f)
        facts: dict[str, Any] = {"id": f"f{run}", "r": run, "k": "f"}
        for name in t.fact_fields:
            if name in incident.facts:
                facts[_field(name)] = encode(self.program.vocabulary.facts.get(name), incident.facts[name])
        return events, facts

    def _assert(self, facts: list[dict[str, Any]]) -> None:
        if not facts:
            return
        # The actions run here, in this thread, before the call returns (no background threads).
        # Not handled cannot happen with the sink rule, and would be harmless.
        with contextlib.suppress(MessageNotHandledException):
            self._host.assert_facts(self.ruleset_name, facts)

    def firings(self, incident: Incident) -> list[Firing]:
        self._run += 1
        run = self._run
        self._hits.clear()
        self._found.clear()
        events, facts = self._facts(incident, run)
        done = False
        try:
            try:
                self._assert(events)
            except durable_rules_engine.error as exc:
                raise _runtime_refusal(exc, incident) from None
            derived: list[dict[str, Any]] = []
            if self.translation.negseqs:
                self._assert([{"id": f"g{run}", "r": run, "k": "g"}])
                derived = [{"id": f"q{run}.{q}", "r": run, "k": "q", "q": q} for q in sorted(self._found)]
                self._assert(derived)
            try:
                self._assert([facts])  # last: every rule matches it first, so negations see the whole incident
            except durable_rules_engine.error as exc:
                raise _runtime_refusal(exc, incident) from None
            done = True
            return sorted(self._hits, key=lambda f: (f[0], -1 if f[1] is None else f[1]))
        finally:
            self._held += len(events) + len(self._found) + 2
            if not done or self._held >= HELD_FACTS:
                self._end_session()  # after a refusal, no half-asserted incident is kept

    def session_facts(self) -> list[Mapping[str, Any]]:
        """The facts durable holds between incidents (at most `HELD_FACTS` and one incident's)."""
        out: list[Mapping[str, Any]] = self._ruleset.get_facts("0")
        return out
