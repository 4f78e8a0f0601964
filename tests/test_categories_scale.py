"""`bwc categories` on rulesets of thousands of blanket rules (rules with no condition, each of which every
row must respect): the work grows with the rules, not with their pairs, and the shortcuts that make it so
change no answer.

The work is counted in comparisons, never timed: a return of the pairwise comparison (each blanket with
every category, each row with every blanket, each row's derivation through every blanket) makes twice the
rules cost four times the comparisons, where it should cost about twice.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.tools.categories.check as check_module
import engine.tools.categories.compile as compile_module
import engine.tools.categories.spans as spans_module
from engine.tools.categories import (
    RECORDING,
    Category,
    CategoryTable,
    Limit,
    check_table,
    derived_duration,
    read_table,
    render,
    table_of,
)
from engine.tools.categories.check import Derivation
from engine.tools.categories.compile import Opposites
from engine.tools.categories.spans import longest, never_shorter, shortest
from policy.duration import Duration
from policy.loader import load_ruleset_text
from policy.model import Ruleset

HEAD = """ruleset: {id}
version: 1.0.0
title: Many rules with no condition (a test)
status: draft
effective: {{from: 2024-01-01}}
timezone: America/Chicago
drafted_by: tests
sources:
  - {{id: pc, title: p}}
"""


def _generated(n: int, shape: str) -> str:
    """The tester's ruleset: `retain` rules alternating with `delete` rules, none with a condition. No
    minimum exceeds a maximum (a contradiction is a pair the table must list: its size is the pairs)."""
    lines = [HEAD.format(id="many-blankets"), "rules:"]
    for i in range(1, n + 1):
        k = {"days": i, "descending": n + 1 - i, "months": i}[shape]
        unit = "M" if shape == "months" else "D"
        limit = f"retain: {{at_least: P{k}{unit}" if i % 2 else f"delete: {{within: P{k + 2 * n}{unit}"
        lines.append(f"  - {{id: r{i}, summary: s, cite: pc {i}, {limit}, after: incident}}}}")
    return "\n".join(lines) + "\n"


def _comparisons(n: int, shape: str, tmp_path: Path) -> int:
    """How many comparisons exporting the generated ruleset and checking the export make: the calls of
    never_shorter (every duration comparison goes through it), of the precedence and row tests, and of
    the derivation's steps."""
    calls: Counter[str] = Counter()

    def counted(module: Any, name: str) -> None:
        real: Callable[..., Any] = getattr(module, name)

        def count(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        mp.setattr(module, name, count)

    with pytest.MonkeyPatch.context() as mp:
        for module in (spans_module, compile_module, check_module):
            counted(module, "never_shorter")
        counted(compile_module, "_contradict")
        counted(check_module, "_against")
        counted(check_module, "_step")
        table = table_of([load_ruleset_text(_generated(n, shape), "many.yaml")])
        path = tmp_path / f"{shape}-{n}.csv"
        path.write_text(render(table, "csv"), encoding="utf-8")
        report = check_table(table, read_table(path))
    assert report.passed and len(table.categories) == n and len(table.blankets) == n
    return sum(calls.values())


@pytest.mark.parametrize("shape", ["days", "descending", "months"])
def test_export_and_check_compare_each_rule_a_few_times_not_with_each_other(tmp_path: Path, shape: str) -> None:
    """Before, 2,000 such rules took 4 s to export and 9 s to check, 6,000 took 41 s and 136 s."""
    small, large = _comparisons(80, shape, tmp_path), _comparisons(160, shape, tmp_path)
    assert large <= 2.5 * small, (small, large)  # pairs: 4 times as many
    assert large <= 20 * 160, large  # pairs: about 160 * 160


# --- the shortcuts change no answer ----------------------------------------------------------------------

DURATIONS = ["P1D", "P7D", "P1W", "P28D", "P30D", "P31D", "P1M", "P1M1D", "P1M2D", "P6M", "P181D", "P184D", "P365D",
             "P366D", "P1Y", "P12M", "P13M", "P1Y30D", "P2Y", "PT24H", "PT36H", "P1DT1H", "P1MT12H", "P14D", "P2W",
             "5 business days", "10 business days", "P90D"]
ANCHORS = ["incident", "incident", "incident", "flagged", "complaint_filed"]


@st.composite
def _rule(draw: st.DrawFn, rid: str, others: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rid, "summary": "s", "cite": f"pc {rid}"}
    if draw(st.integers(0, 4)) == 0:
        rule["on"] = "complaint_filed"  # not a blanket
    if others and draw(st.integers(0, 5)) == 0:
        rule["overrides"] = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
    form = draw(st.integers(0, 11))
    if form < 5:
        rule["delete"] = {"within": draw(st.sampled_from(DURATIONS)), "after": draw(st.sampled_from(ANCHORS))}
    elif form < 9:
        rule["retain"] = {"at_least": draw(st.sampled_from(DURATIONS)), "after": draw(st.sampled_from(ANCHORS))}
    else:
        rule["retain"] = [{"indefinitely": True}, {"legal_hold": True}, {"until": "case_closed"}][form - 9]
    return rule


@st.composite
def _layers(draw: st.DrawFn) -> list[Ruleset]:
    """One or two layers of up to 30 rules, mostly blankets, whose durations often tie or overlap."""
    layers = []
    for name in draw(st.sampled_from([["top"], ["top", "base"]])):
        ids = [f"{name[0]}{k}" for k in range(draw(st.integers(1, 30)))] + draw(st.lists(st.just("shared"), max_size=1))
        data: dict[str, Any] = {
            "ruleset": name, "version": "1.0.0", "title": "t", "status": "adopted", "effective": {"from": "2020-01-01"},
            "timezone": "UTC", "drafted_by": "tests", "sources": [{"id": "pc", "title": "p"}],
            "rules": [draw(_rule(i, [o for o in ids if o != i])) for i in ids],
        }
        holidays = draw(st.sampled_from([[], ["2024-12-25"], ["2024-12-25", "2024-01-01", "2024-07-04"]]))
        if holidays:
            data["holidays"] = holidays
        layers.append(Ruleset.model_validate(data))
    return layers


def _derived_one_blanket_at_a_time(table: CategoryTable, c: Category) -> tuple[Duration | None, str]:
    """derived_duration as it was written first: every blanket of the table in order, one after another."""
    duration, counts_from = c.duration, c.counts_from
    for b in table.blankets:
        if b is c or table.exemption(c.id, b.id) is not None or duration is None or b.limit is not c.limit:
            continue
        if b.duration is None:
            return None, RECORDING
        if c.limit is Limit.MAXIMUM:
            duration = shortest(duration, b.duration, c.holidays + b.holidays)
            counts_from = counts_from if b.counts_from == counts_from else RECORDING
            continue
        if b.counts_from != RECORDING and b.counts_from != counts_from:
            if counts_from != RECORDING:
                return None, RECORDING
            counts_from = b.counts_from
        duration = longest(duration, b.duration, c.holidays + b.holidays)
    return duration, counts_from if duration is not None else RECORDING


def _precedence_pair_by_pair(categories: list[Category]) -> tuple[Any, ...]:
    """Precedence as it was written first: every blanket against every category (the same code, with the
    index that picks which categories to compare bypassed)."""
    with mock.patch.object(compile_module._Rivals, "of", lambda self, b: list(categories)):
        return compile_module._precedence(categories)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=_layers())
def test_derived_rows_and_precedence_are_those_of_comparing_every_pair(layers: list[Ruleset]) -> None:
    table = table_of(layers)
    derivation = Derivation(table)  # shared, as the export shares it: one category's work must not leak
    for c in reversed(table.categories):
        assert derivation.of(c) == _derived_one_blanket_at_a_time(table, c), c.id
        assert derived_duration(table, c) == derivation.of(c)
    rules = [(k, r, rule) for k, r in enumerate(layers) for rule in r.rules if rule.kind in ("retain", "delete")]
    clashing = {rid for rid, n in Counter(rule.id for _, _, rule in rules).items() if n > 1}
    categories = [compile_module._category(k, r, rule, rule.id in clashing) for k, r, rule in rules]
    assert compile_module._precedence(categories) == _precedence_pair_by_pair(categories)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=_layers(), query=st.sampled_from(DURATIONS), counts_from=st.sampled_from([RECORDING, "flagged"]),
       holidays=st.sampled_from([None, (), ("2024-12-25", "2024-01-01")]))
def test_opposites_find_what_comparing_with_each_finds(layers: list[Ruleset], query: str, counts_from: str,
                                                       holidays: tuple[str, ...] | None) -> None:
    categories = table_of(layers).categories
    d = Duration.parse(query)
    beyond = {k for k, m in enumerate(categories) if m.limit is Limit.MINIMUM and (
        m.duration is None or m.counts_from not in (RECORDING, counts_from)
        or not never_shorter(d, m.duration, m.holidays))}
    assert sorted(Opposites(categories, Limit.MINIMUM).minima_beyond(d, counts_from)) == sorted(beyond)
    within = {k for k, x in enumerate(categories) if x.limit is Limit.MAXIMUM and x.duration is not None and (
        counts_from not in (RECORDING, x.counts_from)
        or not never_shorter(x.duration, d, x.holidays if holidays is None else holidays))}
    assert sorted(Opposites(categories, Limit.MAXIMUM).maxima_within(d, counts_from, holidays)) == sorted(within)


@pytest.mark.parametrize("months", [1, 6, 13, 49, 1201])
def test_month_ranges_are_those_of_a_scan_of_every_start_day(months: int) -> None:
    """The fewest and most days of a month count, worked out per start month, against every start day."""
    step, start = Duration(months=months), date(2000, 1, 1)
    lengths = [(step.add_to_day(day) - day).days for day in (start + timedelta(days=n) for n in range(146_097))]
    assert spans_module._months_range(months) == (min(lengths), max(lengths))
    assert spans_module._calendar_range(months, 10) == (min(lengths) + 10, max(lengths) + 10)


def test_a_large_mixed_table_is_checked_as_the_rows_are_one_by_one(tmp_path: Path) -> None:
    """A table of many rows of assorted durations against many blankets: every problem the check reports is
    one a row-by-row comparison with every blanket finds, in the same order."""
    rnd = random.Random(7)
    lines = [HEAD.format(id="mixed"), "rules:"]
    for i in range(120):
        kind = "retain: {at_least" if i % 3 else "delete: {within"
        lines.append(f"  - {{id: r{i}, summary: s, cite: pc {i}, {kind}: {rnd.choice(DURATIONS)}, "
                     f"after: {rnd.choice(ANCHORS)}}}}}")
    table = table_of([load_ruleset_text("\n".join(lines) + "\n", "mixed.yaml")])
    rows = ["name,duration,indefinite,covers,counts_from"]
    ids = [c.id for c in table.categories]
    for k in range(60):
        indefinite = k % 9 == 0
        rows.append(f"row{k},{'' if indefinite else rnd.choice(DURATIONS)},{str(indefinite).lower()},"
                    f"{';'.join(rnd.sample(ids, 2))},{rnd.choice(['', 'flagged'])}")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = check_table(table, read_table(path))
    expected = []
    for row in read_table(path).rows:
        named = [c for key in row.covers if (c := table.category(key)) is not None]
        expected += [p for c in named if (p := check_module._against(row, c, blanket=False)) is not None]
        for b in table.blankets:
            held = [e for c in named if (e := table.exemption(c.id, b.id)) is not None]
            if b in named or any(not e.disputed for e in held):
                continue
            disputed = held[0] if held else next((e for e in table.exemptions.get(b.id, ()) if e.disputed
                                                  and table.category(e.blanket) in table.blankets), None)
            if (p := check_module._against(row, b, blanket=True, disputed=disputed)) is not None:
                expected.append(p)
    assert [p for p in report.problems if p.place.row is not None] == expected
