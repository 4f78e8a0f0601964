"""Sorting what a whole export yields in bounded memory: the findings an audit lists, and the incident
ids read, from which those given more than once are found.

    sorter = Sorter(folder)                 # a folder of its own, for the run files
    sorter.extend([id_read(iid, 0, line, 1), ...])
    repeated_ids(sorter.pairs(), names)     # {"ids": .., "incidents": .., "examples": [...]}

Items are (key, item) pairs; keys are JSON arrays of text and integers, compared as Python lists. At
most `limit` pairs are held, each fuller buffer is spilled sorted to a run file, and the runs are
merged, so memory stays flat however long the export.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

REPEATS_SHOWN = 20  # repeated ids given with their places; beyond them only counted
PLACES_SHOWN = 5  # places given for each of them


class Sorter:
    """(key, item) pairs sorted by key in bounded memory: `limit` pairs at most are held (a finding is about
    a kilobyte as Python objects), each fuller buffer is spilled sorted to a run file, and once `fan_in` runs
    exist they are merged into one, so few files are ever open whatever the export's size."""

    def __init__(self, folder: Path, limit: int = 25_000, fan_in: int = 64) -> None:
        self.folder = folder
        self.limit = limit
        self.fan_in = fan_in
        self.buffer: list[tuple[list[Any], Any]] = []
        self.runs: list[Path] = []
        self.count = 0
        self._made = 0  # run files made, for unique names

    def extend(self, items: Sequence[tuple[list[Any], Any]]) -> None:
        self.buffer.extend(items)
        self.count += len(items)
        if len(self.buffer) >= self.limit:
            self._spill()

    def _new_run(self) -> Path:
        self._made += 1
        return self.folder / f"run-{self._made:06d}.jsonl"

    def _spill(self) -> None:
        self.buffer.sort(key=lambda kv: kv[0])
        path = self._new_run()
        with path.open("wb") as fh:  # orjson: keys and items hold text, integers and None, read back equal
            fh.writelines(orjson.dumps(item) + b"\n" for item in self.buffer)
        self.runs.append(path)
        self.buffer = []
        if len(self.runs) >= self.fan_in:
            self._merge_runs()

    def _merge_runs(self) -> None:
        path = self._new_run()
        files = [p.open("rb") for p in self.runs]
        try:
            streams = [((orjson.loads(line)[0], line) for line in fh) for fh in files]
            with path.open("wb") as out:  # lines copied as they are, merged by key
                out.writelines(line for _, line in heapq.merge(*streams, key=lambda kl: kl[0]))
        finally:
            for fh in files:
                fh.close()
        for p in self.runs:
            p.unlink()
        self.runs = [path]

    def __iter__(self) -> Iterator[Any]:
        for _, item in self.pairs():
            yield item

    def pairs(self) -> Iterator[tuple[list[Any], Any]]:
        """Every (key, item) added, in the order of their keys."""
        self.buffer.sort(key=lambda kv: kv[0])
        files: list[IO[bytes]] = [p.open("rb") for p in self.runs]
        try:
            streams: list[Iterator[tuple[list[Any], Any]]] = [
                (tuple(orjson.loads(line)) for line in fh) for fh in files]
            yield from heapq.merge(*streams, iter(self.buffer), key=lambda kv: kv[0])
        finally:
            for fh in files:
                fh.close()


def id_read(iid: str, part: int, line: int, column: int) -> tuple[list[Any], None]:
    """The key under which an incident id read is sorted: at `line` (and `column`, past 1 for an
    element of a JSON document, whose elements may share a line) of the file at place `part`."""
    return [iid, part, line, column], None


def repeated_ids(ids: Iterable[tuple[list[Any], Any]], names: dict[int, str]) -> dict[str, Any]:
    """The incident ids read more than once, from `ids` (`id_read` each) sorted: how many, how many
    incidents carry them, and the first REPEATS_SHOWN with where they were read (the file's name from
    `names`, for a folder of partitions)."""
    repeated = incidents = 0
    examples: list[dict[str, Any]] = []
    for iid, group in itertools.groupby(ids, key=lambda kv: kv[0][0]):
        places: list[tuple[list[Any], Any]] = []
        count = 0
        for place in group:
            count += 1
            if count <= PLACES_SHOWN:
                places.append(place)
        if count < 2:
            continue
        repeated += 1
        incidents += count
        if len(examples) < REPEATS_SHOWN:
            examples.append({"incident": iid, "count": count, "places": [
                {"line": line, **({"column": column} if column > 1 else {}),
                 **({"file": names[part]} if part in names else {})} for (_, part, line, column), _ in places]})
    return {"ids": repeated, "incidents": incidents, "examples": examples}


def places_text(places: Iterable[dict[str, Any]], show: Callable[[str], str]) -> str:
    """Where a repeated id was read, as words: `a.jsonl line 3, line 1 column 40` (a file's name, data,
    shown with `show`)."""
    return ", ".join((f"{show(p['file'])} " if p.get("file") else "") + f"line {p['line']}"
                     + (f" column {p['column']}" if p.get("column") else "") for p in places)
