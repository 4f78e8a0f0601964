"""Making incidents in worker processes (engine.executor), handed back in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from engine.api import Library
from engine.executor import Executor
from engine.tools.generate.generator import Generator
from engine.tools.generate.stats import Stats

CHUNK = 500
"""Incidents per chunk handed to a worker."""

Made = tuple[dict[str, Any], list[dict[str, str]], Stats]
"""One incident, its truth lines and its statistics."""


def load_generator(paths: tuple[str, ...], policy: str, seed: int, shares: dict[str, float], start: date,
                   months: int) -> Generator:
    """A worker's generator where it cannot be inherited (spawn): the rulesets loaded again."""
    return Generator(Library.load(*paths), policy, seed, shares, start, months)


def _make_chunk(gen: Generator, span: tuple[int, int]) -> list[Made]:
    return [gen.make(n) for n in range(*span)]


def iter_incidents(gen: Generator, count: int, pool: Executor[Generator], chunk: int = CHUNK) -> Iterator[Made]:
    """Incidents 0..count-1 in order, made by the pool's workers (the same results for any number)."""
    spans = ((i, min(count, i + chunk)) for i in range(0, count, chunk))
    for batch in pool.map(_make_chunk, spans):
        yield from batch
