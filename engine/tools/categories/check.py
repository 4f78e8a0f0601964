"""Checking a department's configured category table against a ruleset's category table.

Every row is held to each ruleset category it covers, and to every blanket category (a rule with no
condition: it governs every recording, whatever categories a video is given), unless precedence
exempts the categories it covers from that blanket. A row fails a minimum when the system would
delete earlier than the ruleset allows on some start day, and a maximum when it would keep a video
past the ruleset's limit; every ruleset category no row covers is missing. Each problem names the row
and the column to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.tools.categories.compile import INDEFINITELY, LEGAL_HOLD
from engine.tools.categories.model import RECORDING, Category, CategoryTable, Exemption, Limit, Severity
from engine.tools.categories.spans import day_range, longest, never_shorter, shortest
from engine.tools.categories.table import Place, Problem, ReadTable, Row
from policy.diagnostics import did_you_mean
from policy.duration import Duration


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What the check found: problems in table order (unreadable rows among them), then what is missing."""

    table: CategoryTable
    rows: int  # rows read
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def passed(self) -> bool:
        return self.errors == 0


def _keeps(c: Category) -> str:
    """How long the ruleset keeps (or at most keeps) footage of a category, in words."""
    if c.duration is None:
        return {INDEFINITELY: "indefinitely", LEGAL_HOLD: "while a legal hold is in place"}.get(
            c.keeps_until or "", f"until a `{c.keeps_until}` event")
    text = f"{c.duration} ({c.duration.describe()}"
    span = day_range(c.duration, c.holidays)
    if span.exact is None and not c.duration.business_days:
        text += f", {int(span.low)} to {int(span.high)} days by the start day"
    text += ")"
    return text + ("" if c.counts_from == RECORDING else f" from `{c.counts_from}`")


def _row_keeps(row: Row) -> str:
    if row.duration is None:
        return "until manually deleted"
    return f"{row.duration} ({row.duration.describe()})" + (
        "" if row.counts_from == RECORDING else f" from `{row.counts_from}`")


def _why(c: Category, blanket: bool) -> str:
    source = f"{c.cite}" if c.id == c.rule else f"{c.rule}, {c.cite}"
    if blanket:
        return f"`{c.id}` ({source}; no condition: it governs every recording)"
    return f"`{c.id}` ({source})"


def _against(row: Row, c: Category, *, blanket: bool, disputed: Exemption | None = None) -> Problem | None:
    """The problem of `row` against one category, or None when it respects it."""
    severity = Severity.WARNING if disputed is not None else Severity.ERROR
    tail = f"; but {disputed.reason}" if disputed is not None else ""

    def problem(column: str, message: str) -> Problem:
        return Problem(row.at(column), severity, message + tail, c.id)

    who = _why(c, blanket)
    if c.limit is Limit.MINIMUM:
        if row.indefinite:
            return None
        assert row.duration is not None
        if c.duration is None:
            return problem("indefinite", "deletes earlier than the minimum: the system deletes after "
                           f"{_row_keeps(row)}, but {who} keeps the footage {_keeps(c)}, which no fixed duration "
                           "covers; set indefinite (until manually deleted)")
        if c.counts_from != RECORDING and row.counts_from != c.counts_from:
            return problem("counts_from", f"deletes earlier than the minimum: the system counts {row.duration} from "
                           f"the {'recording date' if row.counts_from == RECORDING else f'`{row.counts_from}`'}, but "
                           f"{who} keeps {c.duration} from `{c.counts_from}`, which can come later; count from that "
                           "event, or keep the category until manually deleted")
        if not never_shorter(row.duration, c.duration, c.holidays):
            return problem("duration", f"deletes earlier than the minimum: {_row_keeps(row)} is shorter, on some "
                           f"start day, than the {_keeps(c)} {who} requires")
        return None
    assert c.duration is not None
    if row.indefinite:
        return problem("indefinite", f"keeps past the maximum: the system keeps videos until manually deleted, but "
                       f"{who} requires deletion within {_keeps(c)}")
    assert row.duration is not None
    if row.counts_from not in (RECORDING, c.counts_from):
        return problem("counts_from", f"can keep past the maximum: the system counts from `{row.counts_from}`, which "
                       f"can come later than what {who} counts from ({c.counts_from})")
    if not never_shorter(c.duration, row.duration, c.holidays):
        return problem("duration", f"keeps past the maximum: {_row_keeps(row)} is longer, on some start day, than "
                       f"the {_keeps(c)} within which {who} requires deletion")
    return None


def check_table(table: CategoryTable, read: ReadTable) -> CheckReport:
    """`read` (a department's table) checked against `table` (the ruleset's categories)."""
    problems: list[Problem] = list(read.problems)
    covered: set[str] = set()
    for row in read.rows:
        named: list[Category] = []
        for key in row.covers:
            c = table.category(key)
            if c is not None:
                named.append(c)
                covered.add(c.id)
                continue
            aside = table.set_aside_category(key)
            if aside is not None:
                problems.append(Problem(row.at("covers"), Severity.WARNING,
                                        f"`{key}` never takes effect ({aside.reason}); it is not checked", key))
                continue
            hint = (did_you_mean(key, [c.id for c in table.categories], "categories", "the exported table")
                    if table.categories else "it has no retention category")
            problems.append(Problem(row.at("covers"), Severity.ERROR,
                                    f"`{key}` is not a category of {table.ruleset}; {hint}", key))
        for c in named:
            found = _against(row, c, blanket=False)
            if found is not None:
                problems.append(found)
        for b in table.blankets:
            if b in named:
                continue
            exemptions = [e for c in named if (e := table.exemption(c.id, b.id)) is not None]
            if any(not e.disputed for e in exemptions):
                continue
            disputed = exemptions[0] if exemptions else next((e for e in table.exemptions.get(b.id, ()) if e.disputed
                                                              and table.category(e.blanket) in table.blankets), None)
            found = _against(row, b, blanket=True, disputed=disputed)
            if found is not None:
                problems.append(found)
    for c in table.categories:
        if c.id not in covered:
            problems.append(Problem(Place(column="covers"), Severity.ERROR,
                                    f"missing: no row covers `{c.id}` ({c.limit.value} {_keeps(c)}; "
                                    f"{c.cite if c.id == c.rule else f'{c.rule}, {c.cite}'}): add it to the `covers` "
                                    "of the row meant for it", c.id))
    order = {id(p): k for k, p in enumerate(problems)}
    problems.sort(key=lambda p: (p.place.row is None, p.place.row or 0, order[id(p)]))
    return CheckReport(table, len(read.rows), tuple(problems))


def derived_duration(table: CategoryTable, c: Category) -> tuple[Duration | None, str]:
    """What a row for `c` alone must keep so that it passes: `c`'s own duration, raised to every blanket
    minimum (or lowered to every blanket maximum) it is not exempt from, since a video given only this
    category still falls under those. Returns the duration (None: until manually deleted) and what it
    counts from."""
    duration, counts_from = c.duration, c.counts_from
    for b in table.blankets:
        if b is c or table.exemption(c.id, b.id) is not None or duration is None or b.limit is not c.limit:
            continue
        if b.duration is None:  # a blanket minimum with no fixed duration
            return None, RECORDING
        if c.limit is Limit.MAXIMUM:
            # Counted from different events, both limits are kept by counting from the recording, which
            # comes first: the earlier start deletes no later.
            duration = shortest(duration, b.duration, c.holidays + b.holidays)
            counts_from = counts_from if b.counts_from == counts_from else RECORDING
            continue
        if b.counts_from != RECORDING and b.counts_from != counts_from:
            if counts_from != RECORDING:
                return None, RECORDING  # two different events to count from: no one count covers both
            counts_from = b.counts_from
        duration = longest(duration, b.duration, c.holidays + b.holidays)
    return duration, counts_from if duration is not None else RECORDING


__all__ = ["CheckReport", "check_table", "derived_duration"]
