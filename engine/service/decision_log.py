"""Appending to the decision log from the service: every decision is recorded before it is returned,
and the decisions of the requests waiting at one moment are recorded in one transaction (one commit,
one sync to disk: a "group commit"), by a thread of its own.

Why: a commit waits for the disk (SQLite `synchronous=FULL`; PostgreSQL `synchronous_commit=on`). Made
in the request's own path, that wait held the event loop, or a thread-pool hop per request, and one
checkpoint pause held every request behind it. Here a request hands its entry over and awaits its
commit; the event loop goes on reading and deciding the next requests meanwhile, and they are committed
together at the next turn. Entries are chained in the order they were handed over; an answer is still
sent only once its entry is committed, and when a commit fails every request of it gets the error
(a 503: nothing of it was recorded).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future

from engine.service.store import LogEntry, Store

BATCH = 256
"""Most entries in one transaction (a burst is committed in several)."""


class DecisionLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        # SimpleQueue: handing an entry over is one call in C (a Condition's notify cost ~4% of a decide)
        self._waiting: queue.SimpleQueue[tuple[Mapping[str, str], Future[LogEntry]]] = queue.SimpleQueue()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, fields: Mapping[str, str]) -> Future[LogEntry]:
        """Hand an entry over (fields: every column but seq, prev and hash); the future is its entry as
        committed, or the StoreError that stopped it."""
        done: Future[LogEntry] = Future()
        if self._thread is None:
            with self._started:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._write, name="bwc-log", daemon=True)
                    self._thread.start()
        self._waiting.put((fields, done))
        return done

    async def append(self, fields: Mapping[str, str]) -> LogEntry:
        """Record an entry, from the event loop: returns once it is committed."""
        return await asyncio.wrap_future(self.submit(fields))

    def append_now(self, fields: Mapping[str, str]) -> LogEntry:
        """Record an entry, from a thread of the pool: returns once it is committed."""
        return self.submit(fields).result()

    def _write(self) -> None:
        while True:
            batch = [self._waiting.get()]  # waits for the first; then takes what came meanwhile
            while len(batch) < BATCH:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                entries = self.store.record_many([fields for fields, _ in batch])
            except Exception as exc:  # every request of this commit learns it failed; the thread goes on
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for (_, done), entry in zip(batch, entries, strict=True):
                done.set_result(entry)
