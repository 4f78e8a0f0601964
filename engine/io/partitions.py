"""Partitioned exports: a folder or a glob of export files, read as one export, file after file by path.

An export too big for one file comes as many: `export/part-00000.jsonl`, `export/part-00001.jsonl`,
... or a partitioned Parquet dataset (`export/district=north/part-0.parquet`, ...). `bwc audit`
reads such an input given as a folder (every export file under it, at any depth) or as a glob
(`'exports/2024-*.csv'`, quoted so that the shell leaves it alone), whether it runs on this machine
or on a Dask cluster:

- The files are taken in the order of their paths (relative to the folder, compared as text), so
  the same files give the same report on any host. Hidden files and folders (a name starting with
  `.` or `_`, such as Spark's `_SUCCESS`) are not read, nor a bwc report folder (one holding
  engine.io.output.MARKER): an audit's `--out` inside its folder of partitions leaves CSV files there
  that the next audit of that folder must not take for partitions.
- Every file has the same format (JSON Lines, CSV or Parquet), and the tables (CSV, Parquet) the same
  columns in the same order: each file's rows are read by the one parser of the first file.
  Columns that a Parquet dataset keeps in folder names (`district=north`) are not read: write them
  into the files as `group.<name>` columns.
- An incident lies within one file. A line or row that cannot be read is reported with its file
  (`RowError.file`, relative to the folder) and its line or row in that file, and the rest goes on.

`PartitionedExport` has the interface of `engine.io.export.Export` (format, parser, position, total,
units), and `parts()` gives each file's units apart, so a runner can keep every chunk of work within
one file and name the file of every error.
"""

from __future__ import annotations

import dataclasses
import glob
from collections.abc import Iterator
from pathlib import Path

from engine.io.export import Export, ExportError, Format, RowError, TableParser, Unit, detect_format, open_export
from engine.io.output import MARKER
from policy.values import quoted, quoted_path
from policy.vocabulary import Vocabulary

EXPORT_SUFFIXES = frozenset({".jsonl", ".ndjson", ".csv", ".parquet", ".pq"})
"""The files of a folder that are read as partitions; a `.json` document is not (it is read whole)."""
GLOB_CHARACTERS = frozenset("*?[")


def is_partitioned(source: Path | str) -> bool:
    """Whether `source` names many files: a folder, or a glob that is not the name of an existing file."""
    text = str(source)
    path = Path(text)
    if path.is_dir():
        return True
    return not path.exists() and any(c in GLOB_CHARACTERS for c in text)


def _hidden(relative: Path) -> bool:
    return any(part.startswith((".", "_")) for part in relative.parts)


def partition_files(source: Path | str) -> list[tuple[Path, str]]:
    """(path, name shown in errors) of every file of a folder or glob, in the order they are read."""
    text = str(source)
    root = Path(text)
    found: list[tuple[Path, str]] = []
    reports: dict[Path, bool] = {}  # folder: whether it is a bwc report (asked once a folder)

    def in_a_report(path: Path) -> bool:
        folder = path.parent  # a report writes its files directly in its folder
        if folder not in reports:
            reports[folder] = (folder / MARKER).is_file()
        return reports[folder]

    if root.is_dir():
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if path.suffix.lower() in EXPORT_SUFFIXES and path.is_file() and not _hidden(relative) \
                    and not in_a_report(path):
                found.append((path, relative.as_posix()))
    else:
        for name in glob.glob(text, recursive=True):
            path = Path(name)
            if path.is_file() and not _hidden(Path(path.name)) and not in_a_report(path):
                found.append((path, path.as_posix()))
    found.sort(key=lambda pn: pn[1])
    if not found and root.is_dir():
        raise ExportError(f"`{quoted_path(source)}`: the folder holds no export file (.jsonl, .csv or .parquet)")
    if not found:
        raise ExportError(f"`{quoted_path(source)}`: no file matches the pattern (and no file has that name)")
    return found


class PartitionedExport:
    """Many export files read as one (see the module's docstring)."""

    def __init__(self, source: Path | str, vocabulary: Vocabulary, fmt: str | None = None) -> None:
        self.path = Path(source)
        self.vocabulary = vocabulary
        self.files = partition_files(source)
        formats = {detect_format(path, fmt) for path, _ in self.files}
        if len(formats) > 1:
            raise ExportError(f"`{quoted_path(source)}`: its files are of different formats "
                              f"({', '.join(sorted(formats))}): a partitioned export is all of one format")
        self.format: Format = formats.pop()
        if self.format == "json":
            raise ExportError(f"`{quoted_path(source)}`: a .json document cannot be a partition: write the "
                              "partitions as JSON Lines (.jsonl)")
        self._opened: list[Export] = [open_export(path, vocabulary, self.format) for path, _ in self.files]
        self.parser = self._opened[0].parser
        for export, (_, name) in zip(self._opened[1:], self.files[1:], strict=True):
            self._check_columns(export, name)
        self.total = sum(export.total for export in self._opened)
        self._done = 0  # bytes or rows of the files read to their end

    def _check_columns(self, export: Export, name: str) -> None:
        first, theirs = self.parser, export.parser
        if isinstance(first, TableParser) and isinstance(theirs, TableParser) and first.columns != theirs.columns:
            raise ExportError(f"`{quoted(name)}`: its columns differ from those of `{quoted(self.files[0][1])}` "
                              f"(every file of a partitioned export has the same columns in the same order)")

    @property
    def position(self) -> int:
        current = next((e.position for e in self._opened if 0 < e.position < e.total), 0)
        return self._done + current

    def parts(self) -> Iterator[tuple[str, Iterator[Unit | RowError]]]:
        """(the file's name, its units) of each file in turn; a RowError names its file."""
        for export, (_, name) in zip(self._opened, self.files, strict=True):
            yield name, _named(export.units(), name)
            self._done += export.total

    def units(self) -> Iterator[Unit | RowError]:
        for _, units in self.parts():
            yield from units


def _named(units: Iterator[Unit | RowError], name: str) -> Iterator[Unit | RowError]:
    for unit in units:
        yield dataclasses.replace(unit, file=name) if isinstance(unit, RowError) else unit


__all__ = ["EXPORT_SUFFIXES", "PartitionedExport", "is_partitioned", "partition_files"]
