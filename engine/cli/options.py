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


DEFAULT_RULESETS = Path("rulesets")


class NoRulesets:
    """Set when `--rulesets` was not given and there is no `rulesets` folder where bwc runs: then none is
    loaded, so that a ruleset file named on its own (`bwc render FILE`, `diff`, `score`) is still read,
    and an id that cannot be found says why (the boundary adds `HINT` to the message)."""

    here = False
    HINT = "no --rulesets was given, and there is no `rulesets` folder here to read rulesets from"


def _rulesets_option(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]) -> tuple[Path, ...]:
    if ctx.get_parameter_source("rulesets") is click.core.ParameterSource.DEFAULT:
        if not DEFAULT_RULESETS.exists():
            NoRulesets.here = True
            return ()
        return value
    for path in value:  # as click's `exists=True` says it, for the folders given
        if not path.exists():
            raise click.BadParameter(f"Path '{path}' does not exist.", ctx, param)
    return value


RULESETS = click.option("--rulesets", "rulesets", multiple=True, type=click.Path(path_type=Path),
                        default=[DEFAULT_RULESETS], show_default=True, callback=_rulesets_option,
                        help="Folder(s) of rulesets.")
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


__all__ = ["ALLOW_EMPTY", "AS_OF", "BACKEND", "CLUSTER", "DEFAULT_RULESETS", "OVERWRITE", "POLICY", "RULESETS",
           "NoRulesets", "as_of_option", "input_format_option", "load_library", "load_library_for"]
