"""The sorter (engine.io.sorting): every finding (and every id read) once, in key order, whatever spills
and merges it made; and the repeated ids found from the sorted ids."""

from __future__ import annotations

from collections import Counter
from operator import itemgetter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.io.sorting import PLACES_SHOWN, REPEATS_SHOWN, Sorter, id_read, places_text, repeated_ids

keys = st.tuples(st.text(max_size=3), st.sampled_from(["r1", "r2", "é"]), st.integers(0, 50))
batches = st.lists(st.lists(keys, max_size=12), max_size=25)


def _items(batch: list[tuple[str, str, int]], start: int) -> list[tuple[list[Any], dict[str, Any]]]:
    # The last element of a key is unique, as the finding's line and place are in an audit.
    return [([iid, rule, n, start + i], {"incident": iid, "rule": rule, "n": n, "text": "<b>=1+1</b>\n"})
            for i, (iid, rule, n) in enumerate(batch)]


@given(batches, st.integers(1, 6), st.integers(2, 4))
def test_findings_come_out_sorted_and_whole(batches: list[list[tuple[str, str, int]]], limit: int,
                                            fan_in: int) -> None:
    with TemporaryDirectory() as tmp:
        sorter = Sorter(Path(tmp), key=itemgetter(0), limit=limit, fan_in=fan_in)
        every: list[tuple[list[Any], dict[str, Any]]] = []
        for batch in batches:
            items = _items(batch, len(every))
            every += items
            sorter.extend(items)
            assert len(sorter.buffer) < limit and len(sorter.runs) < fan_in  # memory and open files bounded
        assert [f for _, f in sorter] == [f for _, f in sorted(every, key=lambda kv: kv[0])]
        assert sorter.count == len(every)
        assert len(list(Path(tmp).iterdir())) == len(sorter.runs)  # merged runs are removed


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "B", "é", "a\u0000", " a"]), st.integers(0, 2),
                          st.integers(1, 3)), max_size=60),
       st.integers(1, 6), st.integers(2, 4), st.randoms(use_true_random=False))
def test_repeated_ids_are_every_id_read_more_than_once(read: list[tuple[str, int, int]], limit: int, fan_in: int,
                                                     rng: Any) -> None:
    """Ids compared character for character, counted across files (parts), with their first places in
    file, line and column order (two ids a line, as elements of a JSON document can share one), whatever
    order the chunks came back in and whatever the sorter spilled."""
    placed = [(iid, part, k // 2 + 1, column) for k, (iid, part, column) in enumerate(read)]
    items = [id_read(*p) for p in placed]
    chunks = [items[k:k + 7] for k in range(0, len(items), 7)]
    rng.shuffle(chunks)
    with TemporaryDirectory() as tmp:
        sorter = Sorter(Path(tmp), limit=limit, fan_in=fan_in)
        for chunk in chunks:
            sorter.extend(chunk)
        found = repeated_ids(sorter, {1: "one.jsonl", 2: "two.jsonl"})
    times = Counter(iid for iid, _, _ in read)
    twice = sorted(iid for iid, n in times.items() if n > 1)
    assert found["ids"] == len(twice) and found["incidents"] == sum(times[i] for i in twice)
    assert [e["incident"] for e in found["examples"]] == twice[:REPEATS_SHOWN]
    for example in found["examples"]:
        where = sorted((part, line, column) for iid, part, line, column in placed if iid == example["incident"])
        assert example["count"] == len(where)
        assert example["places"] == [{"line": line, **({"column": column} if column > 1 else {}),
                                      **({"file": ["", "one.jsonl", "two.jsonl"][part]} if part else {})}
                                     for part, line, column in where[:PLACES_SHOWN]]


def test_places_are_said_in_words() -> None:
    places = [{"line": 3, "file": "a.jsonl"}, {"line": 1, "column": 40}, {"line": 2}]
    assert places_text(places, lambda name: f"`{name}`") == "`a.jsonl` line 3, line 1 column 40, line 2"
