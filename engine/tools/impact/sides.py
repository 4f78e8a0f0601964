"""The two sides of an impact comparison: which version each is, compiled with its base layers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from engine.api import Library, Policy
from engine.core.program import compile_ruleset
from policy.model import Effective, Ruleset


@dataclass(frozen=True)
class Side:
    """One side of the comparison: `ID@VERSION` (or `ID`, the newest) in the repository, or a ruleset file.

    With `dates` False (the default of `bwc impact`), the version and the rulesets it extends are
    judged as though in force on every incident's date: the question is what the rules change, and
    two versions are rarely in force on the same day. With `dates` True each keeps its `effective`
    range, as `bwc decide --policy ID@VERSION` does, and an incident outside it is decided under
    nothing (`in_force: false`).
    """

    rulesets: tuple[str, ...]
    ref: str
    dates: bool = False

    @classmethod
    def of(cls, rulesets: Iterable[str | Path], ref: str, *, dates: bool = False) -> Side:
        return cls(tuple(str(r) for r in rulesets), ref, dates)

    def policy(self, library: Library) -> Policy:
        return policy_of(library, library.repository.resolve(self.ref), dates=self.dates)

    def shown(self, library: Library) -> str:
        """The side as a report names it: as given, but an `ID` alone as the version it stands for
        (`ID@VERSION`, the newest), so that the report says what was compared."""
        ruleset = library.repository.resolve(self.ref)
        return ruleset.ref if self.ref == ruleset.ruleset else self.ref


ALWAYS = Effective.model_validate({"from": date(1, 1, 1)})


def policy_of(library: Library, ruleset: Ruleset, *, dates: bool = True) -> Policy:
    """The compiled policy of `ruleset` with its base layers, even for a file outside the repository.
    With `dates` (as `bwc decide` judges), the library's own: every base version its range accepts,
    each judging the dates it is in force. Without, every layer is widened to every day, so only
    one version of the extended ruleset can be its base: the newest its range accepts."""
    if dates:
        return library.policy(ruleset)
    base = library.repository.base_of(ruleset)
    return Policy(compile_ruleset(ruleset.model_copy(update={"effective": ALWAYS})), library.backend,
                  bases=[policy_of(library, base, dates=False)] if base is not None else [])
