"""Replay: the stored incidents of a period decided under a baseline version and a candidate, and what
would change - the `bwc impact` report, read from the store instead of an export.

    report = replay(library, store, "illinois-50-ilcs-706-10-20@2026.1.0",
                    since="2025-01-01T00:00:00Z", until="2026-01-01T00:00:00Z")

Both versions are judged as `bwc impact` judges them by default: pinned, as though in force on every
incident's date, as of the same time. An incident is replayed when its earliest event falls in the
period and it was opened under the candidate's ruleset or the baseline's. The comparison runs through
impact's runner (engine.tools.impact.run), so the report is the same whatever the number of workers.

`Replays` runs replays one at a time in a background thread for the service, with progress.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.api import Library, Policy, RulesetLookupError, resolve_as_of
from engine.io.export import Record
from engine.service.store import Store, StoredIncident, utc_text
from engine.tools.impact import Comparer, ImpactReport, policy_of, run
from policy.model import Ruleset, Status
from policy.values import parse_timestamp, quoted

ENACTED = (Status.ADOPTED, Status.SUPERSEDED, Status.REPEALED)
KEPT = 100
"""Finished replays the service remembers (the oldest are forgotten first)."""


class ReplayError(ValueError):
    """A replay that cannot start: an unknown or unpinned version, a bad period. The message says why."""


def _version(library: Library, ref: str, what: str) -> Ruleset:
    rid, at, version = ref.partition("@")
    if not at or not rid or not version:
        raise ReplayError(f"the {what} `{quoted(ref)}` names no version: write ID@VERSION")
    try:
        return library.repository.get(rid, version)  # only versions the library holds: never a path
    except RulesetLookupError as exc:
        raise ReplayError(f"the {what}: {exc}") from None


def versions(library: Library, candidate: str, baseline: str | None) -> tuple[Ruleset, Ruleset]:
    """(baseline, candidate). Without a baseline: the newest enacted version of the candidate's
    ruleset other than the candidate."""
    new = _version(library, candidate, "candidate")
    if baseline is not None:
        return _version(library, baseline, "baseline"), new
    enacted = [e.ruleset for e in library.repository.entries(new.ruleset)
               if e.ruleset.status in ENACTED and e.version != new.version]
    if not enacted:
        raise ReplayError(f"`{new.ruleset}` has no enacted version besides {new.version} to compare with: "
                          "name the baseline (ID@VERSION)")
    return enacted[-1], new


def period(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """The period's ends as the store orders times (UTC text); each a time with its offset, or open."""
    ends: list[str | None] = []
    for name, value in (("since", since), ("until", until)):
        try:
            ends.append(None if value is None else utc_text(parse_timestamp(value).isoformat()))
        except ValueError as exc:
            raise ReplayError(f"`{name}`: {exc}") from None
    if ends[0] is not None and ends[1] is not None and ends[0] >= ends[1]:
        raise ReplayError(f"the period is empty: `since` ({since}) is not before `until` ({until})")
    return ends[0], ends[1]


def _records(incidents: Iterator[StoredIncident], rulesets: set[str],
             scanned: Callable[[], None]) -> Iterator[Record]:
    """The incidents opened under one of `rulesets`, numbered in the order read (a failure's "line")."""
    for line, found in enumerate(incidents, 1):
        scanned()
        if found.policy.partition("@")[0] in rulesets:
            yield Record(line, found.data(), {})


def replay(library: Library, store: Store, candidate: str, baseline: str | None = None, *,
           since: str | None = None, until: str | None = None, as_of: str | None = None, workers: int = 0,
           progress: Callable[[int, int], None] | None = None) -> ImpactReport:
    """Decide the stored incidents of [since, until) under the baseline and the candidate and report
    the changes. `progress(scanned, decided)` is told as the store is read and as chunks are decided.
    Raises ReplayError before reading anything when the versions or the period are not right."""
    old, new = versions(library, candidate, baseline)
    start_at, end_at = period(since, until)
    try:
        when = resolve_as_of(as_of)
    except ValueError as exc:  # IncidentError: a time that is not one
        raise ReplayError(f"`as_of`: {exc}") from None
    a: Policy = policy_of(library, old, dates=False)
    b: Policy = policy_of(library, new, dates=False)
    counts = [0, 0]

    def scanned() -> None:
        counts[0] += 1

    def decided(n: int) -> None:
        counts[1] += n
        if progress is not None:
            progress(counts[0], counts[1])

    begun = time.perf_counter()
    items = _records(store.incidents(start_at, end_at), {old.ruleset, new.ruleset}, scanned)
    tally = run(Comparer(a, b, when), items, workers=workers, progress=decided)
    return ImpactReport(old.ref, new.ref, when.isoformat() if when is not None else None, tally,
                        time.perf_counter() - begun, workers)


@dataclass
class Job:
    """One replay the service was asked for, and how far it has got."""

    id: str
    candidate: str
    baseline: str | None
    since: str | None
    until: str | None
    as_of: str | None
    requested_at: str
    state: str = "queued"  # queued, running, done, failed
    total: int = 0  # incidents of the period in the store (every ruleset's)
    scanned: int = 0
    decided: int = 0
    finished_at: str | None = None
    error: str | None = None
    report: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self, *, report: bool = True) -> dict[str, Any]:
        out = {"id": self.id, "state": self.state, "candidate": self.candidate, "baseline": self.baseline,
               "since": self.since, "until": self.until, "as_of": self.as_of, "requested_at": self.requested_at,
               "finished_at": self.finished_at,
               "progress": {"incidents_in_period": self.total, "scanned": self.scanned, "decided": self.decided},
               "error": self.error}
        if report:
            out["report"] = self.report
        return out


class Replays:
    """The service's replays: checked when asked for, then run one at a time in a background thread
    (each with `workers` processes), and their reports kept in memory (the newest `KEPT` finished)."""

    def __init__(self, store: Store, library: Callable[[], Library], now: Callable[[], str],
                 workers: int = 0) -> None:
        self.store, self.library, self.now, self.workers = store, library, now, workers
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: list[tuple[Job, Library]] = []
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def start(self, candidate: str, baseline: str | None, since: str | None, until: str | None,
              as_of: str | None) -> Job:
        """Queue a replay; raises ReplayError at once when it could not run."""
        library = self.library()  # the replay runs on the versions loaded now, whatever is loaded later
        versions(library, candidate, baseline)
        start_at, end_at = period(since, until)
        if as_of is not None:
            try:
                resolve_as_of(as_of)
            except ValueError as exc:
                raise ReplayError(f"`as_of`: {exc}") from None
        job = Job(uuid.uuid4().hex, candidate, baseline, since, until, as_of, self.now(),
                  total=self.store.count_incidents(start_at, end_at))
        with self._lock:
            self._jobs[job.id] = job
            self._queue.append((job, library))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="bwc-replay", daemon=True)
                self._thread.start()
            self._wake.notify()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: (j.requested_at, j.id))

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._wake.wait()
                job, library = self._queue.pop(0)
                job.state = "running"
            self._run(job, library)

    def _run(self, job: Job, library: Library) -> None:
        def progress(scanned: int, decided: int) -> None:
            job.scanned, job.decided = scanned, decided

        try:
            report = replay(library, self.store, job.candidate, job.baseline, since=job.since, until=job.until,
                            as_of=job.as_of, workers=self.workers, progress=progress)
            job.report, job.state = report.to_dict(), "done"
        except Exception as exc:  # a replay that fails is reported as failed; the service goes on
            job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
        job.finished_at = self.now()
        with self._lock:
            finished = [j for j in self._jobs.values() if j.state in ("done", "failed")]
            for old in sorted(finished, key=lambda j: (j.finished_at or "", j.id))[:-KEPT]:
                del self._jobs[old.id]
