"""Finding ruleset files: the files named, and the ruleset files under the folders named."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

RULESET_SUFFIXES = (".yaml", ".yml")


def ruleset_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """The ruleset files named, or found under the folders named (skipping scenario `tests/` folders)."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.suffix in RULESET_SUFFIXES and f.is_file() and not any(
                    part == "tests" or part.startswith(".") for part in rel[:-1]
                ):
                    yield f
        else:
            yield p
