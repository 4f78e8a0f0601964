"""Writing a synthetic export: incidents made (in parallel if asked), written as JSON Lines or CSV
as they are made, with the truth file beside it."""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Literal

from engine.api import Library
from engine.executor import Executor
from engine.io.output import open_atomic
from engine.tools.generate.errors import GenerateError
from engine.tools.generate.generator import Generator
from engine.tools.generate.parallel import iter_incidents, load_generator
from engine.tools.generate.stats import Stats
from engine.tools.generate.table import csv_columns, csv_rows
from policy.values import quoted

Format = Literal["jsonl", "csv"]

PARALLEL_FROM = 1000
"""Fewer incidents are made faster in this process than by starting worker processes."""


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or (both existing) one file
    through a hard or symbolic link."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def generate(library: Library, policy: str, out: Path | str, *, incidents: int, seed: int = 0,
             shares: Mapping[str, float] | float = 0.1, fmt: Format | None = None, truth: Path | str | None = None,
             start: date | None = None, months: int = 12, jobs: int = 1,
             rulesets: Sequence[Path | str] = ("rulesets",),
             progress: Callable[[int], None] | None = None, overwrite: bool = True) -> Stats:
    """Write `incidents` incidents to `out` (JSONL or CSV, from `fmt` or the file suffix) and, if asked,
    the truth file (JSONL); both appear whole or not at all (engine.io.output.open_atomic), also on
    Ctrl-C. Memory stays bounded: incidents are written as they are made. `rulesets` are the folders
    worker processes load where they cannot inherit the library (jobs > 1, not on Linux). Without
    `overwrite`, a file found at `out` or `truth` when it is done (one written meanwhile) is kept, and
    OutputError is raised."""
    out = Path(out)
    fmt = fmt or ("csv" if out.suffix.lower() == ".csv" else "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise GenerateError(f"unknown format `{quoted(str(fmt))}`: use jsonl or csv")
    if truth is not None and _same_file(out, Path(truth)):
        raise GenerateError(f"the truth file {quoted(str(truth), 200)} is the export {quoted(str(out), 200)}: "
                            "give the truth file another name (the export would be overwritten)")
    gen = Generator(library, policy, seed, shares, start, months)
    stats = Stats()
    columns = csv_columns(gen.vocab)
    loader = functools.partial(load_generator, tuple(str(p) for p in rulesets), gen.ref, gen.seed, gen.shares,
                               gen.start, gen.months)
    workers = jobs if incidents >= PARALLEL_FROM else 1
    with Executor(gen, workers, loader) as pool, open_atomic(out, replace=overwrite) as fh, \
            (open_atomic(truth, replace=overwrite) if truth is not None else contextlib.nullcontext()) as tfh:
        table = csv.writer(fh, lineterminator="\n") if fmt == "csv" else None
        if table is not None:
            table.writerow(columns)
        done = 0
        for incident, lines, st in iter_incidents(gen, incidents, pool):
            if table is not None:
                table.writerows(csv_rows(incident, columns))
            else:
                fh.write(json.dumps(incident, ensure_ascii=False, separators=(",", ":")) + "\n")
            if tfh is not None:
                for line in lines:
                    tfh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            stats.add(st)
            done += 1
            if progress is not None and done % 100 == 0:
                progress(100)
        if progress is not None and done % 100:
            progress(done % 100)
    return stats
