"""The progress bars of `bwc audit` and `bwc generate`, on standard error and only when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def audit_progress() -> Iterator[Callable[[int, int], None]]:
    """A bar of incidents audited, moved by the callable this yields (done, total); gone when done."""
    from rich.console import Console  # rich's progress is loaded only by the commands that show it
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                  disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("auditing", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def generate_progress(count: int) -> Iterator[Callable[[int], None]]:
    """A bar of the `count` incidents to generate, moved on by the callable this yields."""
    with click.progressbar(length=count, label="generating", file=sys.stderr,
                           hidden=not sys.stderr.isatty()) as bar:
        yield bar.update


__all__ = ["audit_progress", "generate_progress"]
