"""Grading one criterion from the rules: which rules earn which mark, which bear on it, and what is missing.

Each criterion's `test.method` in scorecard.yaml names one grader here; the grader reads only the
rules' structure (kinds, effects, roles, purposes, recipients, anchors, durations, the conditions'
event and fact names), never their prose. Names a ruleset declares itself (`declare:`) mean nothing
to a grader: a rule that would count if its declared trigger meant what its name suggests is shown,
and when nothing else decides the grade, the grade is "cannot tell", never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from engine.tools.score.criteria import (
    BiometricTest,
    ComplainantTest,
    Criterion,
    MisuseTest,
    PrivacyTest,
    PublishedSourceTest,
    RecordingDutiesTest,
    RetentionTest,
    ReviewTest,
    Tag,
)
from engine.tools.score.report import CriterionScore, Grade, RuleEvidence, SourceEvidence, Threshold
from policy.base import Effect
from policy.conditions import (
    AllCondition,
    AnyCondition,
    Comparison,
    EventCondition,
    FactsCondition,
    Operator,
    SequenceCondition,
)
from policy.describe import describe_applies, describe_rule, join
from policy.duration import Duration
from policy.model import Confidence, Rule, Ruleset
from policy.obligations import (
    AccessObligation,
    DeleteObligation,
    ReleaseObligation,
    RetainObligation,
    WindowObligation,
    anchor_names,
)
from policy.vocabulary import core

# A benchmark holds when a period never ends later than it, from any start day: calendar months and
# years vary in length, so both are counted from every day of four years (every leap-year position).
_START_DAYS = tuple(date(2024, 1, 1) + timedelta(days=n) for n in range(4 * 366))
_CONFIDENCE_ORDER = {None: 0, Confidence.UNVERIFIED: 1, Confidence.SECONDARY: 2, Confidence.VERIFIED: 3}


@dataclass(frozen=True)
class LayeredRule:
    """A rule and the ruleset version (a layer) it comes from."""

    ruleset: Ruleset
    rule: Rule

    @property
    def declared(self) -> frozenset[str]:
        """The event types its ruleset declares itself (their meaning is not the vocabulary's)."""
        return frozenset(self.ruleset.declare.events)

    def evidence(self, why: str) -> RuleEvidence:
        r = self.rule
        return RuleEvidence(ruleset=self.ruleset.ref, rule=r.id, cite=r.cite, summary=r.summary,
                            confidence=r.confidence.value if r.confidence else None, reading=describe_rule(r),
                            why=why)


@dataclass
class _Found:
    """What a grader found: the rules earning each mark, the rules bearing on it, the undecidable ones."""

    full: list[tuple[LayeredRule, str]] = field(default_factory=list)
    partial: list[tuple[LayeredRule, str]] = field(default_factory=list)
    related: list[tuple[LayeredRule, str]] = field(default_factory=list)
    undecided: list[tuple[LayeredRule, str]] = field(default_factory=list)


# --- reading rules ------------------------------------------------------------------------------------

def passing(test: Comparison | None, candidates: Sequence[str]) -> list[str]:
    """The candidate values that pass a test on an unordered name (all of them when there is no test)."""
    if test is None:
        return list(candidates)
    value = test.value
    checks: dict[Operator, Callable[[str], bool]] = {
        Operator.EQUALS: lambda c: c == value, Operator.NOT_EQUALS: lambda c: c != value,
        Operator.IN: lambda c: isinstance(value, list) and c in value,
        Operator.NOT_IN: lambda c: isinstance(value, list) and c not in value,
        Operator.EXISTS: lambda c: value is True,
    }
    check = checks.get(test.op)
    return [c for c in candidates if check is not None and check(c)]


@dataclass(frozen=True)
class Mention:
    """An event or fact a rule requires (in `on`/`where` or a positive part of `when`), with its tests."""

    kind: str  # "event" or "fact"
    name: str
    tests: tuple[tuple[str, Comparison], ...] = ()

    def test(self, attribute: str) -> Comparison | None:
        return next((t for a, t in self.tests if a == attribute), None)


def _mentions(cond: Any) -> Iterator[Mention]:
    # Only what the rule requires to hold: `not` (and `unless`, never passed here) say the opposite.
    if isinstance(cond, AllCondition | AnyCondition):
        for c in cond.all if isinstance(cond, AllCondition) else cond.any:
            yield from _mentions(c)
    elif isinstance(cond, FactsCondition):
        for name, test in cond.facts.items():
            yield Mention("fact", name, (("value", test),))
    elif isinstance(cond, EventCondition):
        yield Mention("event", cond.event, tuple(cond.where.items()))
    elif isinstance(cond, SequenceCondition):
        for step in cond.sequence:
            yield Mention("event", step.event, tuple(step.where.items()))


def mentions(rule: Rule) -> list[Mention]:
    """Every event and fact the rule requires: its trigger with `where`, and the positive parts of `when`."""
    found = [Mention("event", rule.on, tuple(rule.where.items()))] if rule.on else []
    return found + (list(_mentions(rule.when)) if rule.when is not None else [])


def unconditional(rule: Rule) -> bool:
    """Whether the rule applies to every incident: no trigger, no `when`, no `unless`."""
    return rule.on is None and rule.when is None and rule.unless is None


def _scope(rule: Rule) -> str:
    applies = describe_applies(rule)
    return f"; {applies}" if applies else "; for every incident"


def _overriders(rules: Sequence[LayeredRule], earned: Sequence[tuple[LayeredRule, str]],
                shown: Sequence[tuple[LayeredRule, str]]) -> list[tuple[LayeredRule, str]]:
    """The rules that set aside a rule that earned the grade (the exceptions a reader must weigh),
    leaving out those already shown for another reason."""
    ids = {(lr.ruleset.ref, lr.rule.id) for lr, _ in earned}
    seen = {(lr.ruleset.ref, lr.rule.id) for lr, _ in (*earned, *shown)}
    out = []
    for lr in rules:
        hit = [o for o in lr.rule.overrides if (lr.ruleset.ref, o) in ids]
        if hit and (lr.ruleset.ref, lr.rule.id) not in seen:
            what = join([f"`{h}`" for h in hit]) if len(hit) <= 3 else f"{len(hit)} of the rules behind this grade"
            out.append((lr, f"sets aside {what} when it applies{_scope(lr.rule)}"))
    return out


def never_longer(period: Duration, benchmark: Duration) -> bool:
    """Whether `period` ends no later than `benchmark` counted from the same day, whatever the day."""
    def end(d: Duration, day: date) -> date:
        if d.whole_days:
            return d.add_to_day(day)
        # hours, minutes or seconds: elapsed time from midnight, rounded up to the day it reaches
        whole = Duration(years=d.years, months=d.months, weeks=d.weeks, days=d.days, business_days=d.business_days)
        seconds = d.hours * 3600 + d.minutes * 60 + d.seconds
        return whole.add_to_day(day) + timedelta(days=-(-seconds // 86400))
    return all(end(period, day) <= end(benchmark, day) for day in _START_DAYS)


def _rules(rules: Sequence[LayeredRule], kind: str) -> Iterator[tuple[LayeredRule, Any]]:
    for lr in rules:
        if lr.rule.kind == kind:
            yield lr, lr.rule.obligation


# --- the graders ------------------------------------------------------------------------------------

def _recording_duties(t: RecordingDutiesTest, rules: Sequence[LayeredRule]) -> _Found:
    found = _Found()
    duties = {(lr.ruleset.ref, lr.rule.id) for lr, o in _rules(rules, "record") if o.effect is Effect.MUST}
    for lr, o in _rules(rules, "record"):
        assert isinstance(o, WindowObligation)
        if o.effect is Effect.MUST:
            found.partial.append((lr, "officers must record" + _scope(lr.rule)))
        elif any((lr.ruleset.ref, x) in duties for x in lr.rule.overrides):
            verb = "may stop recording" if o.effect is Effect.MAY else "must stop recording"
            found.related.append((lr, f"an exception: officers {verb}{_scope(lr.rule)}"))
    return found


def _privacy(t: PrivacyTest, rules: Sequence[LayeredRule]) -> _Found:
    found = _Found()
    core_events = core().events
    for lr, o in _rules(rules, "record"):
        assert isinstance(o, WindowObligation)
        rule = lr.rule
        stops = o.effect is Effect.MUST_NOT or (o.effect is Effect.MAY and bool(rule.overrides))
        if not stops:
            continue
        if rule.on == "request_to_stop_recording":
            who = passing(rule.where.get("by"), t.consent_requesters)
            if o.effect is Effect.MUST_NOT and who:
                found.full.append((lr, f"recording must stop when {join(who, 'or')} asks"))
            else:
                found.partial.append((lr, "officers may stop recording when a person asks"
                                      if o.effect is Effect.MAY else "recording must stop when a person asks"))
            continue
        why = _privacy_setting(t, mentions(rule))
        if why:
            verb = "must not record" if o.effect is Effect.MUST_NOT else "may stop recording"
            found.partial.append((lr, f"officers {verb} {why}"))
        elif rule.on is not None and rule.on not in core_events:
            found.undecided.append((lr, f"officers {'must not record' if o.effect is Effect.MUST_NOT else 'may stop'}"
                                    f" on `{rule.on}`, an event the ruleset declares itself: whether it protects "
                                    "privacy cannot be told from the vocabulary"))
    for lr, o in _rules(rules, "notify"):
        assert isinstance(o, WindowObligation)
        if o.effect is Effect.MUST and any(m.kind == "event" and m.name == "entered_residence"
                                           for m in mentions(lr.rule)):
            found.partial.append((lr, "officers must tell people on entering a residence"))
    for lr, o in _rules(rules, "release"):
        assert isinstance(o, ReleaseObligation)
        if o.redact and o.effect is not Effect.MUST_NOT:
            found.partial.append((lr, "released footage is redacted: " + join(list(o.redact))))
        elif o.effect is Effect.MUST_NOT:
            found.partial.append((lr, "footage is withheld" + _scope(lr.rule)))
    return found


def _privacy_setting(t: PrivacyTest, found: list[Mention]) -> str | None:
    """`in a residence`, `with a minor involved`, ...: the private setting a rule requires, if any."""
    for m in found:
        if m.kind == "fact" and m.name == "location_type":
            places = passing(m.test("value"), t.places)
            if places:
                return "in " + join([f"`{p}`" for p in places], "or")
        if m.kind == "fact" and m.name in t.facts:  # a yes/no fact: it counts only when required to be true
            test = m.test("value")
            if test is not None and test.op is Operator.EQUALS and test.value is True:
                return f"when `{m.name}`"
        if m.kind == "event" and m.name in t.events:
            return f"on `{m.name}`"
    return None


def _review(t: ReviewTest, rules: Sequence[LayeredRule]) -> _Found:
    found = _Found()
    core_events = core().events
    for lr, o in _rules(rules, "access"):
        assert isinstance(o, AccessObligation)
        roles = [r for r in o.role if r in t.roles]
        if not roles:
            continue
        before_report = o.before in t.before or o.purpose in t.purposes
        if o.effect is Effect.MUST_NOT and before_report:
            if unconditional(lr.rule):
                found.full.append((lr, "no viewing before the report or statement, in every incident"))
            else:
                found.partial.append((lr, "no viewing before the report or statement" + _scope(lr.rule)))
        elif o.effect is Effect.MUST_NOT and o.before is not None and o.before not in core_events:
            found.undecided.append((lr, f"no viewing before `{o.before}`, an event the ruleset declares itself: "
                                    "whether it is a report or statement cannot be told from the vocabulary"))
        elif o.effect is not Effect.MUST_NOT and before_report:
            found.related.append((lr, "permits viewing for the report or statement" + _scope(lr.rule)))
    return found


def _retention(t: RetentionTest, rules: Sequence[LayeredRule]) -> _Found:
    found = _Found()
    for lr, o in _rules(rules, "delete"):
        assert isinstance(o, DeleteObligation)
        rule = lr.rule
        anchors = anchor_names(o.after)
        short = never_longer(o.within, t.benchmark)
        general = rule.on is None and rule.when is None
        counted = all(a in t.anchors for a in anchors)
        why = f"footage is deleted within {o.within.describe()} of {join([f'`{a}`' for a in anchors], 'or')}"
        if short and general and counted:
            found.full.append((lr, why + (f", unless {describe_applies(rule).removeprefix('unless ')}"
                                          if rule.unless is not None else "")))
        else:
            limits = ([] if short else [f"longer than the {t.benchmark.describe()} benchmark"]) \
                + ([] if general else [describe_applies(rule)]) \
                + ([] if counted else ["counted from a later event than the incident"])
            found.partial.append((lr, f"{why}: {'; '.join(limits)}"))
    for lr, o in _rules(rules, "retain"):
        assert isinstance(o, RetainObligation)
        if lr.rule.on is None and lr.rule.when is None and o.at_least is not None:
            found.related.append((lr, f"keeps all footage at least {o.at_least.describe()}: a minimum, not a limit"))
    return found


def _misuse(t: MisuseTest, rules: Sequence[LayeredRule]) -> _Found:
    found = _Found()
    for lr, o in _rules(rules, "access"):
        assert isinstance(o, AccessObligation)
        if o.effect is Effect.MUST_NOT:
            found.related.append((lr, "a bar on viewing" + _scope(lr.rule)))
    return found


def _complainant(t: ComplainantTest, rules: Sequence[LayeredRule]) -> _Found:
    found = _Found()
    for lr, o in _rules(rules, "access"):
        assert isinstance(o, AccessObligation)
        if o.effect is Effect.MUST_NOT:
            continue
        rule = lr.rule
        verb = "may" if o.effect is Effect.MAY else "must be let"
        if any(r in t.complainant_roles for r in o.role):
            broad = rule.when is None and rule.unless is None and not rule.where \
                and (rule.on is None or rule.on in t.complaint_events)
            (found.full if broad else found.partial).append(
                (lr, f"the complainant {verb} view footage" + ("" if broad else _scope(rule))))
        elif any(r in t.person_roles for r in o.role):
            found.partial.append((lr, f"the person recorded {verb} view footage" + _scope(rule)))
    for lr, o in _rules(rules, "release"):
        assert isinstance(o, ReleaseObligation)
        to_person = [r for r in o.to if r in t.person_recipients]
        on_complaint = any(m.kind == "event" and m.name in t.complaint_events for m in mentions(lr.rule))
        if o.effect is Effect.MUST and to_person:
            found.partial.append((lr, "footage must be released to the person recorded" + _scope(lr.rule)))
        elif o.effect is Effect.MUST and on_complaint:
            found.partial.append((lr, f"footage must be released to {join([f'`{r}`' for r in o.to])} about an "
                                  "incident with a complaint" + _scope(lr.rule)))
        elif o.effect is Effect.MAY and (to_person or on_complaint):
            found.related.append((lr, "the agency may release footage (its choice, not a way for the "
                                  "complainant to see it)" + _scope(lr.rule)))
    return found


def _biometric(t: BiometricTest, rules: Sequence[LayeredRule]) -> _Found:
    found = _Found()
    for lr, o in _rules(rules, "access"):
        assert isinstance(o, AccessObligation)
        if o.purpose not in t.purposes:
            continue
        rule = lr.rule
        if o.effect is not Effect.MUST_NOT:
            found.related.append((lr, "permits biometric identification" + _scope(rule)))
            continue
        everyone = any(r in t.roles for r in o.role)
        all_footage = rule.on is None and rule.when is None
        if everyone and all_footage:
            exception = f", except {describe_applies(rule).removeprefix('unless ')}" if rule.unless else ""
            found.full.append((lr, f"no biometric identification on any footage{exception}"))
        else:
            who = "" if everyone else f" by {join([f'`{r}`' for r in o.role], 'or')} only"
            found.partial.append((lr, f"no biometric identification{who}" + _scope(rule)))
    return found


# --- from what was found to a grade -----------------------------------------------------------------

def _thresholds(c: Criterion) -> list[Threshold]:
    return [Threshold.of(mark, s) for mark, s in (("full", c.full), ("partial", c.partial)) if s is not None]


def _weakest(earned: Sequence[tuple[LayeredRule, str]]) -> str | None:
    if not earned:
        return None
    weakest = min((lr.rule.confidence for lr, _ in earned), key=lambda x: _CONFIDENCE_ORDER[x])
    return weakest.value if weakest is not None else "not given"


def _score(c: Criterion, grade: Grade, reason: str, missing: str | None, found: _Found, *,
           rules: Sequence[LayeredRule] = (), at_least: bool = False, extra_verified: bool = True,
           sources: Sequence[SourceEvidence] = ()) -> CriterionScore:
    # The rules behind the grade given; those that count toward a lower mark only, or that might count,
    # are shown as bearing on it.
    earned = {Grade.FULL: found.full, Grade.PARTIAL: found.partial, Grade.CANNOT_TELL: found.undecided}.get(grade, [])
    lower = [(lr, f"also counts toward partial marks: {why}") for lr, why in found.partial] \
        if grade is Grade.FULL else []
    # Rules that might count (their trigger is declared) matter only where they could raise the grade.
    shown = [*lower, *found.related, *(found.undecided if grade is Grade.PARTIAL else [])]
    related = [*shown, *_overriders(rules, earned, shown)]
    thresholds = _thresholds(c)
    return CriterionScore(
        criterion=c.id, name=c.name, evaluates=c.evaluates.text, grade=grade, at_least=at_least, reason=reason,
        missing=missing, earned_by=[lr.evidence(why) for lr, why in earned],
        related=[lr.evidence(why) for lr, why in related],
        sources=list(sources), thresholds=thresholds,
        thresholds_verified=bool(thresholds) and all(t.verified for t in thresholds) and extra_verified,
        weakest_confidence=_weakest(earned if grade is not Grade.CANNOT_TELL else []))


def _graded(c: Criterion, found: _Found, rules: Sequence[LayeredRule], full: str, partial: str,
            extra_verified: bool = True) -> CriterionScore:
    """The usual ladder: full when a rule earns it, else partial, else cannot tell (only undecidable
    rules), else none; each with what the next mark needs."""
    if found.full:
        return _score(c, Grade.FULL, f"{len(found.full)} rule(s) earn full marks", None, found, rules=rules,
                      extra_verified=extra_verified)
    if found.partial:
        return _score(c, Grade.PARTIAL, f"{len(found.partial)} rule(s) earn partial marks", f"for full marks: {full}",
                      found, rules=rules, extra_verified=extra_verified)
    if found.undecided:
        return _score(c, Grade.CANNOT_TELL, "no rule earns a mark by the vocabulary's names, but these rules might, "
                      "depending on what the events their ruleset declares mean", f"for partial marks: {partial}",
                      found, rules=rules, extra_verified=extra_verified)
    return _score(c, Grade.NONE, "no rule earns a mark", f"for partial marks: {partial}; for full marks: {full}",
                  found, rules=rules, extra_verified=extra_verified)


def grade(c: Criterion, rules: Sequence[LayeredRule], layers: Sequence[Ruleset]) -> CriterionScore:
    """One criterion, graded from the rules of every layer (base layers first)."""
    t = c.test
    if isinstance(t, PublishedSourceTest):
        named = [SourceEvidence(id=s.id, title=s.title, url=str(s.url) if s.url else None)
                 for r in layers for s in r.sources]
        with_url = sum(s.url is not None for s in named)
        return _score(c, Grade.CANNOT_TELL, f"{t.limit} The ruleset names {with_url} of {len(named)} source(s) "
                      "with a web address.", None, _Found(), sources=named)
    if isinstance(t, MisuseTest):
        return _score(c, Grade.CANNOT_TELL, t.limit, None, _misuse(t, rules), rules=rules)
    if isinstance(t, RecordingDutiesTest):
        found = _recording_duties(t, rules)
        if not found.partial:
            return _score(c, Grade.NONE, "no rule says when officers must record", f"for partial marks: {t.partial}",
                          found, rules=rules)
        return _score(c, Grade.PARTIAL, f"{len(found.partial)} rule(s) say when officers must record",
                      f"for full marks: {t.full_limit}", found, rules=rules, at_least=True)
    if isinstance(t, PrivacyTest):
        return _graded(c, _privacy(t, rules), rules, t.full, t.partial)
    if isinstance(t, ReviewTest):
        return _graded(c, _review(t, rules), rules, t.full, t.partial)
    if isinstance(t, RetentionTest):
        return _graded(c, _retention(t, rules), rules, t.full, t.partial,
                       extra_verified=t.benchmark_tag is Tag.VERIFIED)
    if isinstance(t, ComplainantTest):
        return _graded(c, _complainant(t, rules), rules, t.full, t.partial)
    assert isinstance(t, BiometricTest)
    return _graded(c, _biometric(t, rules), rules, t.full, t.partial)


__all__ = ["LayeredRule", "Mention", "grade", "mentions", "never_longer", "passing", "unconditional"]
