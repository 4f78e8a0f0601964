"""The options several commands share, and the rulesets they name, loaded as a `Library`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.api import IncidentError, Library, resolve_as_of

F = TypeVar("F", bound=Callable[..., Any])


def _as_of_option(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """`--as-of`, read by the one resolver every command uses; a bad value is a usage error."""
    try:
        return resolve_as_of(value)
    except IncidentError as exc:
        raise click.BadParameter("; ".join(p.message for p in exc.problems), ctx, param) from None


def as_of_option(help: str) -> Callable[[F], F]:
    """`--as-of`, with the help of the command that takes it."""
    return click.option("--as-of", "as_of", default=None, callback=_as_of_option, help=help)


RULESETS = click.option("--rulesets", "rulesets", multiple=True, type=click.Path(exists=True, path_type=Path),
                        default=[Path("rulesets")], show_default=True, help="Folder(s) of rulesets.")
POLICY = click.option("--policy", "ref", required=True, help="Ruleset id, optionally @version.")
AS_OF = as_of_option("Decide as of this time (ISO 8601 with offset, or `now`); default: the last event.")
BACKEND = click.option("--backend", type=click.Choice(["native", "rete"]), default="native", show_default=True)
ALLOW_EMPTY = click.option("--allow-empty", is_flag=True,
                           help="Succeed on an input holding no incident (by default that is an error).")
OVERWRITE = click.option("--overwrite", is_flag=True, default=False,
                         help="Replace an output file that already exists (refused otherwise).")


def input_format_option(formats: tuple[str, ...], *, also_format: bool = False) -> Callable[[F], F]:
    """`--input-format`: the format of the incidents read, when the file's extension does not tell it
    (every command that reads incidents takes it; `audit` and `import`, whose `--format` was always
    the input's, take that name too)."""
    names = ("--input-format", "--format") if also_format else ("--input-format",)
    return click.option(*names, "input_format", type=click.Choice(formats), default=None,
                        help="The input's format (default: by extension: .jsonl or .ndjson, .json, .csv, "
                             ".parquet or .pq).")


CLUSTER = click.option("--cluster", "cluster", default=None, metavar="ADDRESS",
                       help="Run on a Dask cluster: `local` (a cluster of --workers processes on this machine, "
                            "for this run) or a scheduler's address (tcp://host:8786); the report is the same. "
                            "Needs the dask extra: pip install 'bwc-policy[dask]'. See docs/scale.md.")


def load_library(rulesets: tuple[Path, ...], backend: str = "native") -> Library:
    """Every ruleset under the folders of `--rulesets`."""
    return Library.load(*rulesets, backend=backend)  # type: ignore[arg-type]


def load_library_for(rulesets: tuple[Path, ...], ref: str, backend: str = "native") -> Library:
    """The rulesets, after checking that `ref` names one of them (SelectionError if not)."""
    loaded = load_library(rulesets, backend)
    loaded.select(ref)
    return loaded


__all__ = ["ALLOW_EMPTY", "AS_OF", "BACKEND", "CLUSTER", "OVERWRITE", "POLICY", "RULESETS", "as_of_option",
           "input_format_option", "load_library", "load_library_for"]
