"""Sorting what a whole export yields in bounded memory: the findings an audit lists, and the incident
ids read, from which those given more than once are found.

    ids = Sorter(folder)                    # a folder of its own, for the run files
    ids.extend([id_read(iid, 0, line, 1), ...])
    repeated_ids(ids, names)                # {"ids": .., "incidents": .., "examples": [...]}

Items are tuples of text, integers, None, and lists and objects of them (what JSON holds), sorted by
`key` (by default the tuples themselves, compared as Python compares tuples). At most `limit` items
are held; each fuller buffer is spilled sorted to a run file, and the runs are merged, so memory stays
flat however long the export.
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

IdRead = tuple[str, int, int, int]
"""An incident id read: (id, the file's place in a folder of partitions or 0, line, column)."""


class Sorter:
    """Items sorted by `key` in bounded memory: `limit` items at most are held (a finding is about a
    kilobyte as Python objects), each fuller buffer is spilled sorted to a run file, and once `fan_in`
    runs exist they are merged into one, so few files are ever open whatever the export's size. Items
    come back equal to those added, as tuples (their lists and objects read back as lists and dicts)."""

    def __init__(self, folder: Path, key: Callable[[Any], Any] | None = None, limit: int = 25_000,
                 fan_in: int = 64) -> None:
        self.folder = folder
        self.key = key
        self.limit = limit
        self.fan_in = fan_in
        self.buffer: list[tuple[Any, ...]] = []
        self.runs: list[Path] = []
        self.count = 0
        self._made = 0  # run files made, for unique names

    def extend(self, items: Sequence[tuple[Any, ...]]) -> None:
        self.buffer.extend(items)
        self.count += len(items)
        if len(self.buffer) >= self.limit:
            self._spill()

    def _new_run(self) -> Path:
        self._made += 1
        return self.folder / f"run-{self._made:06d}.jsonl"

    def _spill(self) -> None:
        self.buffer.sort(key=self.key)
        path = self._new_run()
        with path.open("wb") as fh:  # orjson: text, integers and None are read back equal
            fh.writelines(orjson.dumps(item) + b"\n" for item in self.buffer)
        self.runs.append(path)
        self.buffer = []
        if len(self.runs) >= self.fan_in:
            self._merge_runs()

    @staticmethod
    def _read(fh: IO[bytes]) -> Iterator[tuple[Any, ...]]:
        return map(tuple, map(orjson.loads, fh))

    def _line_key(self, line: bytes) -> Any:
        item = tuple(orjson.loads(line))
        return item if self.key is None else self.key(item)

    def _merge_runs(self) -> None:
        path = self._new_run()
        files = [p.open("rb") for p in self.runs]
        try:
            # Lines are copied as they are, merged by the key of the item each holds.
            streams = [((self._line_key(line), line) for line in fh) for fh in files]
            with path.open("wb") as out:
                out.writelines(line for _, line in heapq.merge(*streams, key=lambda kl: kl[0]))
        finally:
            for fh in files:
                fh.close()
        for p in self.runs:
            p.unlink()
        self.runs = [path]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """Every item added, in the order of their keys."""
        self.buffer.sort(key=self.key)
        files: list[IO[bytes]] = [p.open("rb") for p in self.runs]
        try:
            yield from heapq.merge(*(self._read(fh) for fh in files), self.buffer, key=self.key)
        finally:
            for fh in files:
                fh.close()


def id_read(iid: str, part: int, line: int, column: int) -> IdRead:
    """An incident id read at `line` (and `column`, past 1 for an element of a JSON document, whose
    elements may share a line) of the file at place `part`: sorted as it is, by id, then place."""
    return iid, part, line, column


def repeated_ids(ids: Iterable[IdRead], names: dict[int, str]) -> dict[str, Any]:
    """The incident ids read more than once, from `ids` (`id_read` each) sorted: how many, how many
    incidents carry them, and the first REPEATS_SHOWN with where they were read (the file's name from
    `names`, for a folder of partitions)."""
    repeated = incidents = 0
    examples: list[dict[str, Any]] = []
    for iid, group in itertools.groupby(ids, key=lambda read: read[0]):
        places: list[IdRead] = []
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
                 **({"file": names[part]} if part in names else {})} for _, part, line, column in places]})
    return {"ids": repeated, "incidents": incidents, "examples": examples}


def places_text(places: Iterable[dict[str, Any]], show: Callable[[str], str]) -> str:
    """Where a repeated id was read, as words: `a.jsonl line 3, line 1 column 40` (a file's name, data,
    shown with `show`)."""
    return ", ".join((f"{show(p['file'])} " if p.get("file") else "") + f"line {p['line']}"
                     + (f" column {p['column']}" if p.get("column") else "") for p in places)
