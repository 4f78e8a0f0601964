"""The impact of an amendment: decide every incident under two ruleset versions and say what changes.

    from engine.impact import Side, impact
    report = impact(Side.of(["rulesets"], "illinois-50-ilcs-706-10-20@2016.1.0"),
                    Side.of(["rulesets"], "illinois-50-ilcs-706-10-20@2021.1.0"),
                    Path("incidents.jsonl"))
    print(render_text(report))

Both versions are pinned: each incident is decided under A and under B exactly as `bwc decide
--policy ID@VERSION` would (no selection by date, no amendment layers), as of the same time. The
two decisions are compared obligation by obligation, matched by (layer, rule, trigger event), and
summary by summary. Every difference gets a label (`changes`); the report counts, for each label,
the incidents whose decision shows it, and keeps their ids.

The input is streamed (one JSON incident per line, read in chunks), so memory stays bounded by the
chunk size and the ids kept. With more than one worker, chunks are decided in worker processes and
merged in input order, so the report is the same whatever the number of workers. A line that is not
valid JSON, or an incident both versions refuse, is reported with its line number and the rest goes
on; an incident only one version accepts (it uses a fact only the other declares, say) is counted as
a change (`refused under A` / `refused under B`).
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any, Literal

from engine.api import Library, Policy
from engine.decision import Conflict, DateOrPending, Decision, Moment, Obligation, Pending, Window
from engine.incident import IncidentError
from engine.program import compile_ruleset
from policy.model import Effective, Ruleset

CHUNK = 400
"""Incidents per chunk handed to a worker."""

WORDING = "wording"
"""The suffix of labels that change no obligation (summary, cite or confidence reworded)."""

IDS_IN_TEXT = 100
"""Incident ids shown per kind of change in the text and Markdown reports (JSON has all)."""

MAX_ERRORS = 1000
"""Bad lines whose message the report keeps (all are counted)."""


# --- the two sides ---------------------------------------------------------------------------------

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


ALWAYS = Effective.model_validate({"from": date(1, 1, 1)})


def policy_of(library: Library, ruleset: Ruleset, *, dates: bool = True) -> Policy:
    """The compiled policy of `ruleset` with its base layers, even for a file outside the repository
    (whose id and version may equal a repository version's with different content). With `dates`
    False, every layer's `effective` range is widened to every day."""
    repo = library.repository
    try:
        same: Ruleset | None = repo.get(ruleset.ruleset, ruleset.version)
    except LookupError:
        same = None
    if dates and same is not None and repo.digest(same) == repo.digest(ruleset):
        return library.policy(same)
    base = repo.base_of(ruleset)
    if not dates:
        ruleset = ruleset.model_copy(update={"effective": ALWAYS})
    return Policy(compile_ruleset(ruleset), library.backend,
                  base=policy_of(library, base, dates=dates) if base is not None else None)


# --- comparing two decisions -----------------------------------------------------------------------

def _day_order(d: DateOrPending | None) -> tuple[int, date | None] | None:
    """Dates in order, `indefinite` after every date; None for a pending date (not comparable)."""
    if isinstance(d, date):
        return (0, d)
    if d == "indefinite":
        return (1, None)
    return None


def _day_key(d: DateOrPending | None) -> Any:
    if isinstance(d, Pending):
        return ("pending", d.pending, d.then)
    return d


def compare_days(a: DateOrPending | None, b: DateOrPending | None,
                 later: str = "later", earlier: str = "earlier") -> str | None:
    """How a date moved from A to B: `later`, `earlier`, `added`, `removed`, `changed`; None if equal."""
    if _day_key(a) == _day_key(b):
        return None
    if a is None:
        return "added"
    if b is None:
        return "removed"
    oa, ob = _day_order(a), _day_order(b)
    if oa is None or ob is None or oa == ob:
        return "changed"
    if oa[0] != ob[0]:
        return later if ob[0] > oa[0] else earlier
    assert oa[1] is not None and ob[1] is not None
    return later if ob[1] > oa[1] else earlier


def _moment_key(m: Moment | None) -> Any:
    return None if m is None else (m.event, m.at, m.pending)


def _window_key(w: Window | None) -> Any:
    return None if w is None else (_moment_key(w.from_), _moment_key(w.until))


def _suspended_key(o: Obligation) -> Any:
    return tuple((_moment_key(s.from_), _moment_key(s.until), s.rule) for s in o.suspended or ())


def _delays_key(o: Obligation) -> Any:
    return tuple((_day_key(d.until), d.available, tuple(d.requires), d.reassess_every) for d in o.delays or ())


def _obligations(decision: Decision) -> dict[tuple[str, str, int | None, int], Obligation]:
    """Obligations keyed by (layer, rule, trigger event, occurrence): the selected ruleset's layer is
    `""`, so that two versions (or two rulesets) match rule by rule."""
    selected = f"{decision.ruleset.id}@{decision.ruleset.version}"
    out: dict[tuple[str, str, int | None, int], Obligation] = {}
    for o in decision.obligations:
        layer = "" if o.ruleset == selected else o.ruleset.partition("@")[0]
        trigger = o.trigger.index if o.trigger is not None else None
        n = 0
        while (layer, o.rule, trigger, n) in out:
            n += 1
        out[(layer, o.rule, trigger, n)] = o
    return out


def obligation_changes(a: Obligation, b: Obligation) -> list[str]:
    """Labels for what changed in one obligation (same rule, same trigger) from A to B."""
    kind = b.kind
    out: list[str] = []
    if a.kind != b.kind:
        return [f"{a.kind} → {b.kind}: kind changed"]
    if a.effect != b.effect:
        out.append(f"{kind}: effect changed")
    if _window_key(a.window) != _window_key(b.window):
        out.append(f"{kind}: window changed")
    moved = compare_days(a.retain_until, b.retain_until)
    if moved:
        out.append(f"{kind}: retain until {moved}")
    if bool(a.legal_hold) != bool(b.legal_hold):
        out.append(f"{kind}: legal hold changed")
    moved = compare_days(a.delete_by, b.delete_by)
    if moved:
        out.append(f"{kind}: delete by {moved}")
    moved = compare_days(a.by, b.by)
    if moved:
        out.append(f"{kind}: deadline {moved}")
    if (a.role, a.purpose, a.to) != (b.role, b.purpose, b.to):
        out.append(f"{kind}: subject changed")
    if (_delays_key(a), a.redact, a.unedited) != (_delays_key(b), b.redact, b.unedited):
        out.append(f"{kind}: terms changed")
    if a.overridden_by != b.overridden_by:
        if a.overridden_by is None:
            out.append(f"{kind}: now overridden")
        elif b.overridden_by is None:
            out.append(f"{kind}: no longer overridden")
        else:
            out.append(f"{kind}: overridden by another rule")
    if _suspended_key(a) != _suspended_key(b):
        out.append(f"{kind}: suspension changed")
    if (a.summary, a.cite, a.confidence) != (b.summary, b.cite, b.confidence):
        out.append(f"{kind}: {WORDING}")
    return out


def _conflicts(decision: Decision) -> dict[tuple[str, tuple[str, ...]], Conflict]:
    return {(c.kind, tuple(sorted(c.rules))): c for c in decision.conflicts}


def changes(a: Decision, b: Decision) -> list[str]:
    """Every kind of difference between the decision under A and under B (sorted, each once)."""
    found: set[str] = set()
    if a.in_force != b.in_force:
        found.add("in force changed")
    oa, ob = _obligations(a), _obligations(b)
    for key, o in ob.items():
        if key not in oa:
            found.add(f"obligation added: {o.kind}")
    for key, o in oa.items():
        if key not in ob:
            found.add(f"obligation removed: {o.kind}")
        else:
            found.update(obligation_changes(o, ob[key]))
    ra, rb = a.summary.retention, b.summary.retention
    moved = compare_days(ra.minimum, rb.minimum)
    if moved:
        found.add(f"retention minimum {moved}")
    if sorted(map(_day_key, ra.pending)) != sorted(map(_day_key, rb.pending)):
        found.add("retention pending changed")
    moved = compare_days(ra.maximum, rb.maximum)
    if moved:
        found.add(f"retention maximum {moved}")
    if ra.legal_hold != rb.legal_hold:
        found.add("legal hold " + ("placed" if rb.legal_hold else "lifted"))
    for to in sorted(set(a.summary.release) | set(b.summary.release)):
        da, db = a.summary.release.get(to), b.summary.release.get(to)
        moved = compare_days(da.by if da else None, db.by if db else None)
        if moved:
            found.add(f"release deadline {moved}")
    ca, cb = _conflicts(a), _conflicts(b)
    if set(cb) - set(ca):
        found.add("conflict added")
    if set(ca) - set(cb):
        found.add("conflict removed")
    if any((ca[k].resolution, ca[k].winner) != (cb[k].resolution, cb[k].winner) for k in set(ca) & set(cb)):
        found.add("conflict resolution changed")
    return sorted(found)


def substantive(labels: list[str]) -> bool:
    """Whether the labels change what the decision requires (not only its wording)."""
    return any(not label.endswith(WORDING) for label in labels)


# --- the report ------------------------------------------------------------------------------------

@dataclass
class BadLine:
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass
class Tally:
    """Counts for part of the input (a chunk) or all of it; parts merge in input order."""

    incidents: int = 0
    changed: int = 0
    by_kind: dict[str, list[str]] = field(default_factory=dict)
    errors: int = 0
    bad: list[BadLine] = field(default_factory=list)

    def add(self, incident_id: str, labels: list[str]) -> None:
        self.incidents += 1
        if substantive(labels):
            self.changed += 1
        for label in labels:
            self.by_kind.setdefault(label, []).append(incident_id)

    def fail(self, line: int, message: str) -> None:
        self.errors += 1
        if len(self.bad) < MAX_ERRORS:
            self.bad.append(BadLine(line, message))

    def merge(self, other: Tally) -> None:
        self.incidents += other.incidents
        self.changed += other.changed
        for label, ids in other.by_kind.items():
            self.by_kind.setdefault(label, []).extend(ids)
        self.errors += other.errors
        self.bad.extend(other.bad[:max(0, MAX_ERRORS - len(self.bad))])


@dataclass
class ImpactReport:
    a: str
    b: str
    as_of: str | None
    tally: Tally
    seconds: float = 0.0
    workers: int = 1

    @property
    def throughput(self) -> float:
        return self.tally.incidents / self.seconds if self.seconds > 0 else 0.0

    def kinds(self) -> list[tuple[str, list[str]]]:
        """(label, incident ids) by number of incidents, most first, then by label."""
        return sorted(self.tally.by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def to_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "a": self.a, "b": self.b, "as_of": self.as_of,
            "incidents": t.incidents, "changed": t.changed, "unchanged": t.incidents - t.changed,
            "changes": {label: {"incidents": len(ids), "ids": ids} for label, ids in self.kinds()},
            "errors": t.errors, "bad_lines": [b.to_dict() for b in t.bad],
        }


# --- deciding ----------------------------------------------------------------------------------------

class Comparer:
    """Decides incidents under A and B and tallies the differences."""

    def __init__(self, a: Policy, b: Policy, as_of: str | None = None) -> None:
        self.a, self.b, self.as_of = a, b, as_of

    def one(self, data: Any, tally: Tally, line: int) -> None:
        iid = data.get("id") if isinstance(data, dict) else None
        label = iid if isinstance(iid, str) and iid else f"line {line}"
        da = db = None
        errors: list[str] = []
        for name, policy in (("A", self.a), ("B", self.b)):
            try:
                decision = policy.decide(data, self.as_of)
            except IncidentError as exc:
                errors.append(f"under {name}: " + "; ".join(str(p) for p in exc.problems))
                continue
            if name == "A":
                da = decision
            else:
                db = decision
        if da is not None and db is not None:
            tally.add(label, changes(da, db))
        elif da is not None or db is not None:
            tally.add(label, ["refused under B" if da is not None else "refused under A"])
        else:
            same = errors[0].removeprefix("under A: ") == errors[1].removeprefix("under B: ")
            tally.fail(line, errors[0].removeprefix("under A: ") if same else " / ".join(errors))

    def chunk(self, lines: list[tuple[int, str]]) -> Tally:
        tally = Tally()
        for n, text in lines:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                tally.fail(n, f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(data, dict):
                tally.fail(n, "an incident is a JSON object")
                continue
            self.one(data, tally, n)
        return tally


def read_chunks(stream: IO[str], size: int = CHUNK) -> Iterator[list[tuple[int, str]]]:
    """(line number, text) of the non-blank lines, `size` at a time."""
    chunk: list[tuple[int, str]] = []
    for n, line in enumerate(stream, 1):
        if line.strip():
            chunk.append((n, line))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


_WORKER: Comparer | None = None


def _init_worker(a: Side, b: Side, as_of: str | None) -> None:
    global _WORKER
    if _WORKER is None:  # with `fork`, the parent's comparer is already here
        lib_a = Library.load(*a.rulesets)
        lib_b = lib_a if b.rulesets == a.rulesets else Library.load(*b.rulesets)
        _WORKER = Comparer(a.policy(lib_a), b.policy(lib_b), as_of)


def _work(lines: list[tuple[int, str]]) -> Tally:
    assert _WORKER is not None
    return _WORKER.chunk(lines)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run(comparer: Comparer, a: Side, b: Side, stream: IO[str], *, workers: int = 0,
        progress: Callable[[int], None] | None = None) -> Tally:
    """Compare every incident of `stream` (JSON lines). `progress(n)` is told of each chunk's line count.

    With `workers` > 1 (0: one per CPU) and more than one chunk of input, chunks go to worker
    processes, at most two per worker in flight, and are merged in input order.
    """
    global _WORKER
    workers = workers or default_workers()
    chunks = read_chunks(stream)
    first = next(chunks, None)
    total = Tally()
    if first is None:
        return total
    second = next(chunks, None)
    if workers <= 1 or second is None:
        for part in (first, second, *chunks):
            if part is None:
                continue
            total.merge(comparer.chunk(part))
            if progress:
                progress(len(part))
        return total

    import multiprocessing as mp

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    _WORKER = comparer if method == "fork" else None
    try:
        with ctx.Pool(workers, initializer=_init_worker, initargs=(a, b, comparer.as_of)) as pool:
            pending: deque[tuple[int, Any]] = deque()
            for part in (first, second, *chunks):
                pending.append((len(part), pool.apply_async(_work, (part,))))
                while len(pending) >= 2 * workers:
                    n, res = pending.popleft()
                    total.merge(res.get())
                    if progress:
                        progress(n)
            while pending:
                n, res = pending.popleft()
                total.merge(res.get())
                if progress:
                    progress(n)
    finally:
        _WORKER = None
    return total


def impact(a: Side, b: Side, incidents: Path | IO[str], *, as_of: str | None = None, workers: int = 0,
           library: Library | None = None, show_progress: bool = False) -> ImpactReport:
    """Decide every incident of a JSON-lines file (or stream) under A and under B, and report the changes."""
    if library is None:
        library = Library.load(*a.rulesets)
    lib_b = library if b.rulesets == a.rulesets else Library.load(*b.rulesets)
    comparer = Comparer(a.policy(library), b.policy(lib_b), as_of)
    workers = workers or default_workers()
    start = time.perf_counter()
    if isinstance(incidents, Path):
        with incidents.open(encoding="utf-8") as fh:
            tally = _run_with_progress(comparer, a, b, fh, workers, show_progress, incidents.stat().st_size)
    else:
        tally = _run_with_progress(comparer, a, b, incidents, workers, show_progress, None)
    return ImpactReport(a.ref, b.ref, as_of, tally, time.perf_counter() - start, workers)


def _run_with_progress(comparer: Comparer, a: Side, b: Side, stream: IO[str], workers: int, show: bool,
                       size: int | None) -> Tally:
    if not show:
        return run(comparer, a, b, stream, workers=workers)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    counted = _Counting(stream)  # a text file's tell() is not allowed while iterating it: count bytes
    with Progress(TextColumn("deciding"), BarColumn(), TaskProgressColumn(),
                  TextColumn("{task.fields[done]:,} incidents"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("impact", total=size, done=0)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            bar.update(task, completed=counted.read_bytes, done=done)

        return run(comparer, a, b, counted, workers=workers, progress=tick)  # type: ignore[arg-type]


class _Counting:
    """Iterates the lines of a text stream, counting the bytes read (for the progress bar)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.read_bytes = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.stream:
            self.read_bytes += len(line.encode("utf-8"))
            yield line


# --- rendering ---------------------------------------------------------------------------------------

Format = Literal["text", "json", "markdown"]


def render_json(report: ImpactReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:IDS_IN_TEXT])
    return shown + (f", … and {len(ids) - IDS_IN_TEXT:,} more" if len(ids) > IDS_IN_TEXT else "")


def _head(report: ImpactReport) -> list[str]:
    t = report.tally
    as_of = f" as of {report.as_of}" if report.as_of else " (each as of its last event)"
    return [f"{report.a} → {report.b}: {t.incidents:,} incidents decided under both{as_of}",
            f"{t.changed:,} decisions change, {t.incidents - t.changed:,} do not"
            + (f"; {t.errors:,} bad line(s)" if t.errors else "")]


def render_text(report: ImpactReport) -> str:
    lines = _head(report)
    kinds = report.kinds()
    if kinds:
        lines += ["", "Changes (incidents whose decision shows each):"]
        width = max(len(label) for label, _ in kinds)
        for label, ids in kinds:
            lines.append(f"  {label.ljust(width)}  {len(ids):>9,}")
        for label, ids in kinds:
            lines += ["", f"{label} ({len(ids):,}):", "  " + _ids(ids)]
    if report.tally.bad:
        lines += ["", "Bad lines:"] + [f"  line {b.line}: {b.message}" for b in report.tally.bad]
        if report.tally.errors > len(report.tally.bad):
            lines.append(f"  … and {report.tally.errors - len(report.tally.bad):,} more")
    return "\n".join(lines) + "\n"


def render_markdown(report: ImpactReport) -> str:
    head = _head(report)
    lines = [f"## Impact: `{report.a}` → `{report.b}`", "", _sentence(head[0].split(": ", 1)[1]) + ".",
             head[1] + ".", ""]
    kinds = report.kinds()
    if kinds:
        lines += ["| change | incidents |", "|---|--:|"]
        lines += [f"| {label} | {len(ids):,} |" for label, ids in kinds]
        lines.append("")
        for label, ids in kinds:
            lines += [f"<details><summary>{label} ({len(ids):,})</summary>", "", _ids(ids), "", "</details>", ""]
    if report.tally.bad:
        lines += ["### Bad lines", ""] + [f"- line {b.line}: {b.message}" for b in report.tally.bad]
        lines.append("")
    return "\n".join(lines)


RENDER: dict[str, Callable[[ImpactReport], str]] = {"text": render_text, "json": render_json,
                                                    "markdown": render_markdown}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
