"""The fast subset `bwc check` runs: the static checks (no search), their findings added as warnings.

Run only when every file checked is valid (the files are then loaded together, so that `extends` is
followed); a warning never makes `bwc check` fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.api import ERRORS, Library
from engine.tools.lint import lint
from engine.tools.lint.report import as_diagnostic
from policy.loader import CheckResult


def with_warnings(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The results, each valid file's with the fast checks' findings appended as warnings."""
    if not results or not all(r.ok for r in results):
        return list(results)
    try:
        library = Library.load(*(Path(r.file) for r in results))
    except ERRORS:
        return list(results)  # the files do not load together: `bwc check` has said why, file by file
    out = []
    for r in results:
        if r.ruleset is None:
            out.append(r)
            continue
        ruleset = library.repository.resolve(Path(r.file))
        found = [as_diagnostic(f) for f in lint(library, ruleset, fast_only=True).findings]
        out.append(CheckResult(r.file, r.ruleset, [*r.diagnostics, *found]))
    return out
