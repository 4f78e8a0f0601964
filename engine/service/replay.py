"""Replay: the stored incidents of a period decided under a baseline version and a candidate, and what
would change - the `bwc impact` report, read from the store instead of an export.

    report = replay(library, store, "illinois-50-ilcs-706-10-20@2026.1.0",
                    since="2025-01-01T00:00:00Z", until="2026-01-01T00:00:00Z")

Both versions are judged as `bwc impact` judges them by default: pinned, as though in force on every
incident's date, as of the same time. An incident is replayed when its earliest event falls in the
period and it was opened under the candidate's ruleset or the baseline's. The comparison runs through
impact's runner (engine.tools.impact.run), so the report is the same whatever the number of workers.

`Replays` keeps the service's replays in the store and runs them one at a time, in a background thread
of whichever worker process claims one, with progress.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson

from engine.api import Library, Policy, RulesetLookupError, resolve_as_of
from engine.io.export import Record, RowError
from engine.service.store import (
    Store,
    StoredIncident,
    StoredReplay,
    StoreError,
    UnreadableIncident,
    period,
    utc_text,
)
from engine.tools.impact import Comparer, ImpactReport, policy_of, run, workers_used
from policy.model import Ruleset, Status
from policy.values import quoted

ENACTED = (Status.ADOPTED, Status.SUPERSEDED, Status.REPEALED)
KEPT = 100
"""Finished replays the store keeps (the oldest are forgotten first)."""


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


def _period(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """The period's ends as the store orders incidents' first events (utc_text)."""
    try:
        return period(since, until, utc_text)
    except ValueError as exc:
        raise ReplayError(str(exc)) from None


def _records(incidents: Iterator[StoredIncident | UnreadableIncident], rulesets: set[str],
             scanned: Callable[[], None]) -> Iterator[Record | RowError]:
    """The incidents opened under one of `rulesets`, numbered in the order read (a failure's "line").
    One the store cannot give back is reported as the audit reports a line it cannot read (with its id
    and why), and the others go on; it is passed by only when its policy, read, is of another ruleset."""
    for line, found in enumerate(incidents, 1):
        scanned()
        if isinstance(found, UnreadableIncident):
            if found.policy is None or found.policy.partition("@")[0] in rulesets:
                yield RowError(line, found.incident_id, found.problem, "unreadable incident")
        elif found.policy.partition("@")[0] in rulesets:
            yield Record(line, found.data(), {})


def replay(library: Library, store: Store, candidate: str, baseline: str | None = None, *,
           since: str | None = None, until: str | None = None, as_of: str | None = None, workers: int = 0,
           progress: Callable[[int, int], None] | None = None, cluster: str | None = None) -> ImpactReport:
    """Decide the stored incidents of [since, until) under the baseline and the candidate and report
    the changes. `progress(scanned, decided)` is told as the store is read and as chunks are decided.
    Raises ReplayError before reading anything when the versions or the period are not right. With
    `cluster` the incidents are decided on a Dask cluster through impact's runner (docs/scale.md)."""
    old, new = versions(library, candidate, baseline)
    start_at, end_at = _period(since, until)
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
    workers = workers_used(workers, None, cluster)
    tally = run(Comparer(a, b, when), items, workers=workers, progress=decided, cluster=cluster)
    return ImpactReport(old.ref, new.ref, when.isoformat() if when is not None else None, tally,
                        time.perf_counter() - begun, workers)


LEASE = 60.0
"""Seconds without a heartbeat after which a running replay is taken for interrupted (its server gone)."""
BEAT = 5.0
"""Seconds between heartbeats of a running replay (progress counts as one)."""
POLL = 1.0
"""Seconds between looks for a queued replay, by each idle process."""


def job_dict(job: StoredReplay, *, report: bool = True) -> dict[str, Any]:
    """A replay as `GET /v1/replays/{id}` answers it (the report decoded when asked for and done)."""
    out: dict[str, Any] = {
        "id": job.id, "state": job.state, "candidate": job.candidate, "baseline": job.baseline,
        "since": job.since, "until": job.until, "as_of": job.as_of, "requested_at": job.requested_at,
        "started_at": job.started_at, "finished_at": job.finished_at,
        "progress": {"incidents_in_period": job.total, "scanned": job.scanned, "decided": job.decided},
        "error": job.error}
    if report:
        out["report"] = orjson.loads(job.report) if job.report is not None else None
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def this_machine() -> str:
    """This machine, as far as its process numbers go: the host name, and on Linux the process-number
    namespace (two containers of one host name do not see each other's processes)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # e.g. pid:[4026531836]
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()} {namespace}"


def _utc(now: str) -> datetime:
    return datetime.fromisoformat(now.replace("Z", "+00:00"))


class Replays:
    """The service's replays, kept in the store: checked when asked for and queued there, then run one
    at a time by whichever worker process (of this server, or of another on the same database) finds
    one queued and none running, each replay with `workers` processes. Any process answers for any
    replay. A replay whose process died (a crash, a kill, a restart) is reported failed, as interrupted,
    by the next process that looks: at once when that process ran on this machine, after `LEASE`
    seconds without a heartbeat otherwise. The newest `KEPT` finished replays are kept."""

    def __init__(self, store: Store, library: Callable[[], Library], now: Callable[[], str],
                 workers: int = 0, refresh: Callable[[], object] | None = None) -> None:
        self.store, self.library, self.now, self.workers = store, library, now, workers
        self.refresh = refresh  # brings the library up to the versions stored (loaded by another process)
        self.runner = uuid.uuid4().hex  # this process, as the store names who runs a replay
        self.host = this_machine()
        self.pid = os.getpid()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: str | None = None  # the id of the replay this process runs
        self._beat = 0.0

    def begin(self) -> None:
        """Start looking for queued replays (and running them) in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="bwc-replay", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop looking; a replay this process is running is reported failed as interrupted (the thread
        running it dies with the process: its result, should it come, is not written)."""
        self._stopping.set()
        self._wake.set()
        running = self._running
        if running is not None:
            self.store.finish_replay(running, self.runner, "failed", self.now(),
                                     error="interrupted: the service was stopped while this replay ran; "
                                           "start it again with POST /v1/replays")

    def start(self, candidate: str, baseline: str | None, since: str | None, until: str | None,
              as_of: str | None) -> StoredReplay:
        """Queue a replay; raises ReplayError at once when it could not run."""
        library = self.library()
        old, _ = versions(library, candidate, baseline)  # the default baseline fixed now, not when it runs
        start_at, end_at = _period(since, until)
        if as_of is not None:
            try:
                resolve_as_of(as_of)
            except ValueError as exc:
                raise ReplayError(f"`as_of`: {exc}") from None
        job = StoredReplay(uuid.uuid4().hex, candidate, baseline, old.ref, since, until, as_of, self.now(), "queued",
                           self.store.count_incidents(start_at, end_at), 0, 0, None, None, None, None, None, None,
                           None, None)
        self.store.add_replay(job)
        self._wake.set()
        return job

    def get(self, job_id: str) -> StoredReplay | None:
        found = self.store.replay(job_id)
        if found is not None and found.state == "running" and self._reap([found]):
            found = self.store.replay(job_id)
        return found

    def all(self) -> list[StoredReplay]:
        found = self.store.replays()
        if self._reap([j for j in found if j.state == "running"]):
            found = self.store.replays()
        return found

    def heartbeat(self) -> None:
        """Renew the heartbeat of the replay this process runs (called every second or so)."""
        running = self._running
        if running is not None and time.monotonic() - self._beat >= BEAT:
            self._beat = time.monotonic()
            self.store.heartbeat(running, self.runner, self.now())

    def _dead(self, job: StoredReplay, now: str) -> str | None:
        """Why `job`, running, is no longer running: its process is gone. None when it may be running."""
        if job.runner == self.runner:
            return None
        if job.pid is not None and job.host == self.host and (job.pid == self.pid or not _alive(job.pid)):
            return "the process running it stopped (a crash or a restart) before it finished"
        if job.heartbeat_at is not None and (_utc(now) - _utc(job.heartbeat_at)).total_seconds() > LEASE:
            return f"the server running it ({job.host}) has not reported for over {LEASE:.0f} s"
        return None

    def _reap(self, running: list[StoredReplay]) -> bool:
        """Report the running replays whose process is gone as failed; True if there was one."""
        now, ended = self.now(), False
        for job in running:
            why = self._dead(job, now)
            if why is not None:
                ended |= self.store.finish_replay(
                    job.id, None, "failed", now, seen=job.heartbeat_at,
                    error=f"interrupted: {why}; start it again with POST /v1/replays")
        return ended

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(POLL)
            self._wake.clear()
            try:
                active = self.store.replays(active=True)
                self._reap([j for j in active if j.state == "running"])
                if not any(j.state == "queued" for j in active):
                    continue
                job = self.store.claim_replay(self.runner, self.host, self.pid, self.now())
            except StoreError:
                continue  # the store is away: looked at again at the next poll
            if job is not None and not self._stopping.is_set():
                self._run(job)
                self._wake.set()  # another may be queued behind it

    def _run(self, job: StoredReplay) -> None:
        self._running, self._beat = job.id, time.monotonic()
        told = [0.0]
        counts = [0, 0]

        def progress(scanned: int, decided: int) -> None:
            counts[:] = [scanned, decided]
            if time.monotonic() - told[0] >= POLL:  # the store is told at most once a second
                told[0] = self._beat = time.monotonic()
                self.store.replay_progress(job.id, self.runner, scanned, decided, self.now())

        report: str | None = None
        error: str | None = None
        try:
            if self.refresh is not None:  # the candidate may have been loaded by another process just now
                self.refresh()
            done = replay(self.library(), self.store, job.candidate, job.baseline_ref, since=job.since,
                          until=job.until, as_of=job.as_of, workers=self.workers, progress=progress)
            report = orjson.dumps(done.to_dict()).decode()
        except Exception as exc:  # a replay that fails is reported as failed; the service goes on
            error = f"{type(exc).__name__}: {exc}"
        try:
            self.store.finish_replay(job.id, self.runner, "failed" if report is None else "done", self.now(),
                                     report=report, error=error, scanned=counts[0], decided=counts[1], kept=KEPT)
        except StoreError as exc:
            print(f"bwc serve: the replay {job.id} ended but could not be recorded: {exc}", file=sys.stderr)
        finally:
            self._running = None
