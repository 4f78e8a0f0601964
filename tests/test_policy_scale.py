"""Ruleset commands stay linear in their input: many files, many versions, many holidays, long lists.

No timings: each test counts the operations that used to grow quadratically (a path resolved, a
version sorted, two items compared, an edit distance worked out) at two sizes, and requires the
count to grow with the size, not with its square.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import policy.diagnostics as diagnostics
import policy.diff as diff_
import policy.duration as duration
import policy.repository as repository
from engine.tools.lint.fast import with_warnings
from policy.diagnostics import HINT_LIMIT, RulesetError, closest, did_you_mean, hint_budget
from policy.diff import diff, history
from policy.duration import Duration
from policy.loader import load_ruleset
from policy.repository import Repository, check_paths

HEAD = ("title: t\nstatus: {status}\neffective: {effective}\ntimezone: America/Chicago\ndrafted_by: x\n"
        "sources:\n  - id: s\n    title: s\n")
RULE = "  - {id: r, summary: r, cite: s, on: arrest, record: {effect: must, until: encounter_ended}}\n"


def _count(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Patch `owner.name` to count its calls; the count is the list's only item."""
    calls = [0]
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def _measure(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str,
             run: Callable[[], object]) -> int:
    with monkeypatch.context() as m:
        calls = _count(m, owner, name)
        run()
        return calls[0]


# --- business days ------------------------------------------------------------------------------------

class _Holidays(list[date]):
    """A holiday list that counts how many of its days are read."""

    read = 0

    def __iter__(self) -> Iterator[date]:
        for d in super().__iter__():
            type(self).read += 1
            yield d


def _naive(start: date, n: int, holidays: set[date]) -> date:
    day = start
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            n -= 1
    return day


def test_business_days_match_counting_day_by_day() -> None:
    rnd = random.Random(7)
    for _ in range(3000):
        base = date(2020, 1, 1) + timedelta(days=rnd.randrange(200))
        k = rnd.choice([0, 1, 5, 40, 300])
        if rnd.random() < 0.4:  # a run of consecutive days
            days = [base + timedelta(days=i) for i in range(k)]
        else:
            days = [base + timedelta(days=rnd.randrange(-30, 400)) for _ in range(k)]
        start = date(2020, 1, 1) + timedelta(days=rnd.randrange(300))
        n = rnd.choice([1, 2, 5, 10, 60])
        want = _naive(start, n, set(days))
        assert Duration(business_days=n).add_to_day(start, days) == want
        at = datetime(start.year, start.month, start.day, 9, 30)
        assert Duration(business_days=n).add_to(at, days) == at + (want - start)


def test_holidays_are_read_once_per_collection_not_per_deadline() -> None:
    def reads(size: int, deadlines: int) -> int:
        holidays = _Holidays(date(1990, 1, 1) + timedelta(days=i) for i in range(size))
        _Holidays.read = 0
        start = date(2022, 3, 1)
        for i in range(deadlines):
            Duration(business_days=10).add_to_day(start + timedelta(days=i), holidays)
        return _Holidays.read

    # Each holiday read once, however many deadlines are counted with the list (was: once per deadline).
    assert reads(2000, 50) == 2000
    assert reads(2000, 200) == 2000


def test_a_long_run_of_holidays_is_bisected_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    def lookups(size: int) -> int:
        # Every day a holiday from 1990 for `size` days: counting on by the holidays found walked the
        # whole run, 10 at a time (64,000 holidays: 3,700 rounds per deadline).
        holidays = [date(2019, 1, 1) + timedelta(days=i) for i in range(size)]
        return _measure(monkeypatch, duration, "bisect_right",
                        lambda: Duration(business_days=10).add_to_day(date(2020, 1, 1), holidays))

    small, large = lookups(1000), lookups(8000)
    # A few rounds, then a bisection: O(log holidays) (was some 45 and 570 rounds of 2 lookups).
    assert large <= small + 10 and large <= 40


# --- many files, many versions ------------------------------------------------------------------------

def _many_files(root: Path, count: int) -> Path:
    for i in range(count):
        folder = root / f"dept{i}"
        folder.mkdir(parents=True)
        (folder / "1.0.0.yaml").write_text(
            f"ruleset: dept{i}\nversion: 1.0.0\n" + HEAD.format(status="adopted", effective="{from: 2000-01-01}")
            + "rules:\n" + RULE)
    return root


def _many_versions(root: Path, count: int, corrections: bool = False) -> Path:
    folder = root / "fam"
    folder.mkdir(parents=True)
    start = date(2000, 1, 1)
    for i in range(count):
        first = start + timedelta(days=3 * i)
        effective = f"{{from: {first}, until: {first + timedelta(days=2)}}}" if i < count - 1 else f"{{from: {first}}}"
        supersedes = f"supersedes: 1.{i - 1}.0\n" if i > 0 else ""
        status = "superseded" if i < count - 1 else "adopted"
        (folder / f"1.{i}.0.yaml").write_text(
            f"ruleset: fam\nversion: 1.{i}.0\n{supersedes}" + HEAD.format(status=status, effective=effective)
            + "rules:\n" + RULE)
    return root


def _check(root: Path) -> None:
    results = with_warnings(check_paths([root]))  # what `bwc check` runs
    assert all(r.ok for r in results)


@pytest.mark.parametrize("make", [_many_files, _many_versions])
def test_check_resolves_each_path_a_bounded_number_of_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            make: Callable[[Path, int], Path]) -> None:
    # Finding each file's ruleset compared it with every entry's file, both resolved: O(files²).
    small = _measure(monkeypatch, Path, "resolve", lambda: _check(make(tmp_path / "a", 15)))
    large = _measure(monkeypatch, Path, "resolve", lambda: _check(make(tmp_path / "b", 60)))
    assert large <= 4 * small + 20
    assert large <= 6 * 60


@pytest.mark.parametrize("make", [_many_files, _many_versions])
def test_check_sorts_versions_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   make: Callable[[Path, int], Path]) -> None:
    # Every rule's place in its file looked its version up in a fresh semantic-version sort of all
    # versions of its ruleset: O(versions² log versions) for one ruleset of many versions.
    small = _measure(monkeypatch, repository, "_version_key", lambda: _check(make(tmp_path / "a", 15)))
    large = _measure(monkeypatch, repository, "_version_key", lambda: _check(make(tmp_path / "b", 60)))
    assert large <= 4 * small + 20
    assert large <= 10 * 60


def test_overlap_check_compares_neighbours_not_all_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = _measure(monkeypatch, repository, "_overlaps", lambda: Repository.load(_many_versions(tmp_path / "a", 20)))
    large = _measure(monkeypatch, repository, "_overlaps", lambda: Repository.load(_many_versions(tmp_path / "b", 80)))
    assert small <= 2 * 20 and large <= 2 * 80  # was every pair: 190 and 3,160


def test_overlapping_versions_are_all_still_reported(tmp_path: Path) -> None:
    folder = tmp_path / "fam"
    folder.mkdir()
    for i, effective in enumerate(["{from: 2000-01-01}", "{from: 2001-01-01, until: 2001-06-01}",
                                   "{from: 2001-03-01}", "{from: 2003-01-01}"]):
        (folder / f"1.{i}.0.yaml").write_text(f"ruleset: fam\nversion: 1.{i}.0\n"
                                              + HEAD.format(status="adopted", effective=effective) + "rules:\n" + RULE)
    found = [(Path(d.file).name, d.message.split(" overlaps ")[1].split(" ")[0])
             for r in check_paths([tmp_path]) for d in r.diagnostics if d.code == "BWC301"]
    assert sorted(found) == sorted([
        ("1.1.0.yaml", "`fam@1.0.0`"), ("1.2.0.yaml", "`fam@1.0.0`"), ("1.3.0.yaml", "`fam@1.0.0`"),
        ("1.2.0.yaml", "`fam@1.1.0`"), ("1.3.0.yaml", "`fam@1.2.0`")])


def test_resolve_by_path_finds_each_file(tmp_path: Path) -> None:
    root = _many_files(tmp_path / "rs", 5)
    repo = Repository.load(root)
    for i in range(5):
        file = root / f"dept{i}" / "1.0.0.yaml"
        assert repo.resolve(file).ruleset == f"dept{i}"
        assert repo.resolve(root / f"dept{i}" / ".." / f"dept{i}" / "1.0.0.yaml").ruleset == f"dept{i}"
        assert repo.entry(f"dept{i}", "1.0.0") is not None
    assert repo.entry("dept0", "9.9.9") is None


def test_log_sorts_versions_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def keys(count: int) -> int:
        repo = Repository.load(_many_versions(tmp_path / f"v{count}", count))
        return _measure(monkeypatch, repository, "_version_key", lambda: history(repo, "fam"))

    assert keys(80) <= 80  # was a sort of every version for each version: 80 * 80 keys


# --- diff of long lists ---------------------------------------------------------------------------------

class _Text(str):
    """Text that counts how often it is compared."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        type(self).compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_list_changes_compare_each_item_a_bounded_number_of_times() -> None:
    def comparisons(size: int) -> int:
        old = [_Text(f"2000-01-{i:05d}") for i in range(size)]
        new = [_Text(f"2000-01-{i:05d}") for i in range(1, size + 1)]
        _Text.compared = 0
        change = diff_._list_change("holidays", "holidays", old, new, list(old), list(new))
        assert change.added == [f"2000-01-{size:05d}"] and change.removed == ["2000-01-00000"]
        return _Text.compared

    assert comparisons(2000) <= 2 * 2000  # was a list scanned per item: millions


class _Data(dict[str, Any]):
    """A condition's data that counts how often it is compared as a whole."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        type(self).compared += 1
        return dict.__eq__(self, other)

    __hash__ = None


def _conditions(tmp_path: Path, count: int) -> tuple[Any, Any]:
    files = []
    for version, low in (("1.0.0", 0), ("1.1.0", 1)):
        items = ", ".join(f"{{not: {{facts: {{district: x{i}}}}}}}" for i in range(low, low + count))
        file = tmp_path / f"c{count}-{version}.yaml"
        file.write_text(f"ruleset: cond\nversion: {version}\n"
                        + HEAD.format(status="draft", effective="{from: 2020-01-01}")
                        + "rules:\n  - {id: r, summary: r, cite: s, on: arrest, when: {all: [" + items + "]}, "
                        "record: {effect: must, until: encounter_ended}}\n")
        files.append(load_ruleset(file))
    return files[0], files[1]


def test_condition_lists_compare_each_condition_a_bounded_number_of_times(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dump = diff_._dump
    monkeypatch.setattr(diff_, "_dump", lambda model: _Data(dump(model)))
    a, b = _conditions(tmp_path, 400)
    _Data.compared = 0
    result = diff(a, b)
    assert _Data.compared <= 2 * 400  # was each condition compared with every other: 160,000
    effect = result.changed[0].changes[0].effect
    assert effect == ("now applies only if also not (`district` is `x400`); "
                      "no longer requires that not (`district` is `x0`)")


def test_frozen_data_are_equal_exactly_when_the_data_are() -> None:
    values: list[Any] = [{"a": True}, {"a": 1}, {"a": 1.0}, {"a": "1"}, {"a": [1, 2]}, {"a": [2, 1]},
                         {"a": {"b": None}}, {"b": {"a": None}}, [1, {"x": 2}], [1, {"x": 2.0}], "t", None]
    for x in values:
        for y in values:
            assert (diff_._frozen(x) == diff_._frozen(y)) == (x == y)


# --- "did you mean" ------------------------------------------------------------------------------------

def _typos(root: Path, count: int) -> Path:
    folder = root / "typo"
    folder.mkdir(parents=True)
    declared = "".join(f"    e{i:06d}: {{description: d}}\n" for i in range(count))
    rules = "".join(f"  - {{id: r{i}, summary: r, cite: s, on: f{i:06d}, "
                    "record: {effect: must, until: encounter_ended}}\n" for i in range(count))
    (folder / "1.0.0.yaml").write_text("ruleset: typo\nversion: 1.0.0\n"
                                       + HEAD.format(status="adopted", effective="{from: 2000-01-01}")
                                       + f"declare:\n  events:\n{declared}rules:\n{rules}")
    return root


def test_hints_are_bounded_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def distances(count: int) -> tuple[int, list[str]]:
        root = _typos(tmp_path / f"n{count}", count)
        with monkeypatch.context() as m:
            calls = _count(m, diagnostics, "edit_distance")
            results = check_paths([root])
        hints = [d.hint or "" for r in results for d in r.diagnostics]
        return calls[0], hints

    small, _ = distances(300)
    large, more = distances(600)
    assert large <= 2 * small + 50 and large <= 10 * HINT_LIMIT  # was each misspelling against every name
    assert len(more) == 600
    # The first HINT_LIMIT errors of a file get a guess; the rest point to the list of valid names.
    assert more[:HINT_LIMIT] == [f"did you mean `e{i:06d}`?" for i in range(HINT_LIMIT)]
    assert set(more[HINT_LIMIT:]) == {"see docs/vocabulary.md for the valid event types"}


def test_hints_are_bounded_for_a_file_loaded_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `bwc render FILE` outside a repository, and the Python API's `load_ruleset`, load one file with no
    # repository around it: its guesses are bounded as a repository's files are.
    def distances(count: int) -> tuple[int, list[str]]:
        file = _typos(tmp_path / f"alone{count}", count) / "typo" / "1.0.0.yaml"
        with monkeypatch.context() as m:
            calls = _count(m, diagnostics, "edit_distance")
            with pytest.raises(RulesetError) as raised:
                load_ruleset(file)
        return calls[0], [d.hint or "" for d in raised.value.diagnostics]

    small, _ = distances(300)
    large, hints = distances(600)
    assert large <= 2 * small + 50 and large <= 10 * HINT_LIMIT
    assert hints[:HINT_LIMIT] == [f"did you mean `e{i:06d}`?" for i in range(HINT_LIMIT)]
    assert set(hints[HINT_LIMIT:]) == {"see docs/vocabulary.md for the valid event types"}


def test_a_repeated_misspelling_is_guessed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"event_{i:04d}" for i in range(500)]
    with hint_budget(), monkeypatch.context() as m:
        calls = _count(m, diagnostics, "edit_distance")
        hints = [did_you_mean("event_0O12", names) for _ in range(HINT_LIMIT + 50)]
    assert calls[0] <= len(names)  # one comparison with the names at most, not one per error
    assert set(hints) == {"did you mean `event_0012`?"}


def test_guesses_outside_a_budget_are_unchanged() -> None:
    names = [f"event_{i:04d}" for i in range(500)]
    for _ in range(HINT_LIMIT + 5):
        assert closest("event_0O12", names) == "event_0012"
    assert closest("police", ["public", "police_officer"]) is None
    assert closest("arest", ["arrest", "rest", "arrested"]) == "arrest"
    assert did_you_mean("sopken", ["spoken", "broken"], "values") == "did you mean `spoken`?"
