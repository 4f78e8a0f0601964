"""The audit's findings sorter: every finding once, in key order, whatever spills and merges it made."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.audit.runner import _Sorter

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
        sorter = _Sorter(Path(tmp), limit=limit, fan_in=fan_in)
        every: list[tuple[list[Any], dict[str, Any]]] = []
        for batch in batches:
            items = _items(batch, len(every))
            every += items
            sorter.extend(items)
            assert len(sorter.buffer) < limit and len(sorter.runs) < fan_in  # memory and open files bounded
        assert list(sorter) == [f for _, f in sorted(every, key=lambda kv: kv[0])]
        assert sorter.count == len(every)
        assert len(list(Path(tmp).iterdir())) == len(sorter.runs)  # merged runs are removed
