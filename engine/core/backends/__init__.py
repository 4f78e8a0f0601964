"""The backends: each runs a compiled program over an incident and reports which rules fired.

Every backend has the one interface `Backend` and is chosen by name with `make_backend` (one module
per backend, as Cerbos files its audit backends and zen its loaders):

- `native` (`backends/native.py`): the program as Python closures, rules found by hash dispatch;
- `rete` (`backends/rete.py`): the program run by durable-rules, loaded only when asked for.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal, Protocol

from engine.core.backends.native import NativeBackend
from engine.core.evaluation import Firing
from engine.core.incident import Incident
from engine.core.program import Program

BackendName = Literal["native", "rete"]


class Backend(Protocol):
    """What every backend does: the firings of an incident, in (rule position, trigger position) order."""

    name: str

    def firings(self, incident: Incident) -> list[Firing]: ...


def make_backend(program: Program, name: BackendName = "native", only: Collection[int] | None = None) -> Backend:
    """The backend called `name`, ready to evaluate `program`; with `only`, the rules at those positions
    alone (the native backend only: durable-rules' network is built for the whole program).

    Raises TypeError naming the argument for a `program` that is not a compiled Program, or an `only`
    that is not a set, frozenset, list or tuple of rule positions (ints); ValueError for an unknown name."""
    if not isinstance(program, Program):
        raise TypeError(f"make_backend: program is a compiled Program, not a value of type {type(program).__name__}")
    if only is not None:
        _check_positions(only)
    if name == "native":
        return NativeBackend(program, only)
    if only is not None:
        raise ValueError(f"the {name} backend evaluates a whole program: use native to evaluate some rules")
    if name == "rete":
        from engine.core.backends.rete import ReteBackend  # durable-rules is loaded only when asked for

        return ReteBackend(program)
    raise ValueError(f"unknown backend `{name}`: use native or rete")


def _check_positions(only: object) -> None:
    """`only` as make_backend takes it, or TypeError naming it: a bool is no position, nor is text."""
    expected = "make_backend: only is a set, frozenset, list or tuple of rule positions (ints)"
    if not isinstance(only, set | frozenset | list | tuple):
        raise TypeError(f"{expected}, not a value of type {type(only).__name__}")
    for position in only:
        if type(position) is not int:
            raise TypeError(f"{expected}; it holds a value of type {type(position).__name__}")


__all__ = ["Backend", "BackendName", "make_backend"]
