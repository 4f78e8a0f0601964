"""Diagnostics: what is wrong with a ruleset file, where, and how to fix it.

Codes are stable (tools and docs refer to them); messages may be reworded.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Stable diagnostic codes. Never renumber; retire a code instead of reusing it.
CODES: dict[str, str] = {
    # Reading the file
    "BWC001": "file cannot be read",
    "BWC002": "file too large",
    "BWC003": "not valid UTF-8 text",
    "BWC004": "YAML syntax error",
    "BWC005": "tab used for indentation",
    "BWC006": "duplicate key",
    "BWC007": "nesting too deep",
    "BWC008": "too many values after expanding aliases",
    "BWC009": "YAML tag not allowed",
    "BWC010": "merge key not supported",
    "BWC011": "key is not plain text",
    "BWC012": "document is not a mapping",
    "BWC013": "more than one YAML document",
    # Shape of the ruleset
    "BWC101": "unknown key",
    "BWC102": "required key missing",
    "BWC103": "wrong type of value",
    "BWC104": "value not allowed",
    "BWC105": "invalid duration",
    "BWC106": "invalid date",
    "BWC107": "invalid version",
    "BWC108": "invalid time zone",
    "BWC109": "rule must state exactly one obligation",
    "BWC110": "invalid condition",
    "BWC111": "invalid identifier",
    "BWC112": "invalid value",
    # Names checked against the vocabulary
    "BWC201": "unknown event type",
    "BWC202": "unknown event attribute",
    "BWC203": "unknown fact",
    "BWC204": "value of the wrong type",
    "BWC205": "value not in the allowed list",
    "BWC206": "comparison not allowed for this type",
    "BWC207": "unknown role, purpose or recipient",
    "BWC208": "cite names an unknown source",
    "BWC209": "duplicate rule id",
    "BWC210": "overrides an unknown rule",
    "BWC211": "duplicate source id",
    "BWC212": "declared name clashes with the vocabulary",
    "BWC213": "unknown vocabulary",
    "BWC214": "dates out of order",
    "BWC215": "anchor not allowed here",
    "BWC216": "governs: conduct not allowed here",
    "BWC217": "same_officer without a trigger or overrides",
    # Rulesets checked against each other (a repository of several files)
    "BWC301": "enacted versions in force on the same day",
    "BWC302": "supersedes a version that is not in the repository",
    "BWC303": "same id and version, different content",
    "BWC304": "extends a ruleset that is not in the repository",
    "BWC305": "no version satisfies the extends range",
    "BWC306": "extends goes round in a circle",
    "BWC307": "corrects a version that is not in the repository",
    "BWC308": "a correction's dates differ from the version it corrects",
    "BWC309": "supersedes a version that is not earlier",
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in one file, with its position (1-based line and column)."""

    code: str
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    rule: str | None = None
    severity: Severity = Severity.ERROR
    path: tuple[str | int, ...] = field(default=(), compare=False)

    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["path"] = list(self.path)
        data["title"] = CODES.get(self.code, "")
        return data

    def __str__(self) -> str:
        where = f" (rule {self.rule})" if self.rule else ""
        text = f"{self.location()}: {self.severity} {self.code}{where}: {self.message}"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")


class RulesetError(Exception):
    """Raised when a file cannot be turned into a valid model; carries every problem found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=sort_key)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def __reduce__(self) -> tuple[type[RulesetError], tuple[list[Diagnostic]], dict[str, Any]]:
        # Pickled (to or from a worker process) as its diagnostics, and whatever else was set on it:
        # rebuilt from its message, each character of the text would be taken for a diagnostic.
        return (type(self), (self.diagnostics,), self.__dict__)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.file, d.line or 0, d.column or 0, d.code)


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Insertions, deletions, substitutions and swaps of two neighbours needed to turn `a` into `b`.

    With `limit`, a distance beyond it is not worked out: some number above `limit` is returned as
    soon as two rows of the table both exceed it (no later cell can come back under it), so a
    message's "did you mean" costs little however many names it is compared with."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if limit is not None and min(row) > limit and min(prev) > limit:
            return limit + 1
        prev2, prev = prev, row
    return prev[-1]


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The valid name a drafter most likely meant, if one is close enough to be a typo of it.

    A guess must be a slip of the keyboard, not another word: at most one edit for every four
    characters (one for short words, none for words of one or two letters). `police` is three
    edits from `public` and `approved` five from `proposed`: guessing those would suggest a value
    that means something else (for a role, the opposite of the rule intended), so no guess is made
    and the caller lists the valid values. The name itself is never suggested as its own fix.

    Inside `hint_budget` (a file being loaded), guesses among many names are limited: see there.
    """
    pool = candidates if isinstance(candidates, (list, tuple, set, frozenset)) else list(candidates)
    budget = _BUDGET.get()
    if budget is None or len(pool) <= LIST_LIMIT:  # a few names: cheap however many times it is asked
        return _closest(name, pool)
    return budget.closest(name, pool)


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    allowed = max(1, len(name) // 4) if len(name) > 2 else 0
    lowered = name.lower()
    letters = set(lowered)
    best: tuple[int, float, str] | None = None
    # Every candidate is compared (the best one wins, ties broken by name), in any order.
    for candidate in candidates:
        if candidate == name or abs(len(candidate) - len(name)) > allowed:
            continue
        other = candidate.lower()
        # A quick bound first: one edit adds or removes at most two letters to or from the set of
        # letters used (a swap none), so letter sets differing by more than 2 * allowed are further
        # apart than allowed. It spares the edit distance for most names of a large vocabulary.
        if len(letters.symmetric_difference(other)) > 2 * allowed:
            continue
        distance = edit_distance(lowered, other, allowed)
        if distance > allowed:
            continue
        key = (distance, -difflib.SequenceMatcher(None, name, candidate).ratio(), candidate)
        if best is None or key < best:
            best = key
    return best[2] if best is not None else None


# Guesses worked out against a large vocabulary (more than LIST_LIMIT names) per file loaded. Each
# guess compares the misspelt name with every valid one, so a file with thousands of misspelt names
# among thousands of declared ones cost millions of comparisons (2,000 of each: 62 s). Past this many
# per file, a misspelt name not already guessed gets no guess: its hint lists the valid names or
# points to the document that does (`did_you_mean`), and `bwc check` still reports every error.
HINT_LIMIT = 200


class _Budget:
    """The guesses left to work out, and those worked out (by misspelt name, then vocabulary), in one file."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.answers: dict[str, list[tuple[frozenset[str], str | None]]] = {}

    def closest(self, name: str, pool: Collection[str]) -> str | None:
        known = self.answers.get(name)
        if known is None and self.left <= 0:
            return None  # over the limit: no guess (without even reading the vocabulary)
        vocabulary = frozenset(pool)
        for seen, answer in known or ():
            if seen == vocabulary:  # the same misspelling against the same names: the same answer
                return answer
        if self.left <= 0:
            return None
        self.left -= 1
        answer = _closest(name, vocabulary)
        self.answers.setdefault(name, []).append((vocabulary, answer))
        return answer


_BUDGET: ContextVar[_Budget | None] = ContextVar("hint_budget", default=None)


@contextmanager
def hint_budget(limit: int = HINT_LIMIT) -> Iterator[None]:
    """Within it (one file being loaded), at most `limit` "did you mean" guesses are worked out
    against more than LIST_LIMIT names; repeated ones are answered from memory. Outside it, every
    guess is worked out."""
    token = _BUDGET.set(_Budget(limit))
    try:
        yield
    finally:
        _BUDGET.reset(token)


LIST_LIMIT = 30  # valid names listed in a hint at most; beyond that the hint points to a document


def did_you_mean(name: str, candidates: Iterable[str], noun: str = "names",
                 see: str = "docs/vocabulary.md") -> str:
    """A fix hint: the closest valid name, or else the list of valid names (or where to find them)."""
    pool = set(candidates)
    pool.discard(name)
    best = closest(name, pool)
    if best is not None:
        return f"did you mean `{best}`?"
    if not pool:
        return f"see {see}"
    if len(pool) <= LIST_LIMIT:  # sorted only here: a long vocabulary is never listed
        return f"valid {noun}: " + ", ".join(sorted(pool))
    return f"see {see} for the valid {noun}"
