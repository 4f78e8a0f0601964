"""The Dask backend of the executor: the same ordered, bounded map, over the workers of a Dask cluster.

    with Executor(state, workers=4, cluster="local") as pool:          # a local cluster, started and closed here
    with Executor(state, workers=0, cluster="tcp://scheduler:8786") as pool:   # a running cluster's scheduler
        for result in pool.map(work, chunks):

What it keeps of the process pool's promises (engine.executor):

- Results come back in the order of the input (futures are handed back oldest first), so a report
  is byte-identical to a run on one process or on the pool, whatever the number of workers.
- Work in flight is bounded: at most `window` chunks are submitted and not yet handed back.
- `state` is shipped, not rebuilt from paths: it is pickled once (a `Policy` pickles as its compiled
  program, `engine.api.Policy.__reduce__`), scattered to every worker, and unpickled there once.
  A worker needs bwc-policy installed (the same version), never the rulesets folder nor the export.
- Ctrl-C (or SIGTERM) in this process cancels the chunks in flight and closes what this process
  opened: the client, and a local cluster with its worker processes; the KeyboardInterrupt goes on
  up. The worker processes of a local cluster are started ignoring SIGINT, so a Ctrl-C at the
  terminal, which reaches the whole process group, is decided here and not printed by each worker.
- A worker that dies is a `WorkerError` (Dask retries a chunk on other workers first).

Dask is an optional extra (`pip install 'bwc-policy[dask]'`): without it, asking for a cluster is a
`ClusterError` that says so, and nothing else of bwc imports Dask.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import logging
import multiprocessing.resource_tracker
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from engine.executor import WorkerError

LOCAL = "local"
"""The `--cluster` value that starts a cluster on this machine for the run, and closes it after."""
CONNECT_SECONDS = 30
"""How long to try to reach a remote scheduler before saying it cannot be reached."""
INSTALL_HINT = "install it with: pip install 'bwc-policy[dask]'"


class ClusterError(WorkerError):
    """A Dask cluster cannot be used: Dask is not installed, or the scheduler cannot be reached."""


def dask_installed() -> bool:
    """Whether the optional extra is there (dask.distributed importable)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def code_digest() -> str:
    """A digest of bwc's own files (engine/ and policy/, code and data): two processes with the same
    digest judge alike. Run on every worker of a remote cluster before any work is sent."""
    digest = hashlib.sha256()
    for package in ("engine", "policy"):
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def require_dask() -> None:
    """ClusterError, in one line, when the optional extra is not installed: said before any work."""
    if not dask_installed():
        raise ClusterError(f"--cluster needs Dask, which is not installed: {INSTALL_HINT}")


class Shipped:
    """The state every chunk is worked with, wrapped so that Dask scatters it as one object (it would
    scatter a tuple or a list element by element)."""

    def __init__(self, state: Any) -> None:
        self.state = state


def _run(work: Callable[[Any, Any], Any], shipped: Shipped, item: Any) -> Any:
    """One chunk on a worker: `work(state, chunk)`, as the process pool's workers call it."""
    return work(shipped.state, item)


@contextlib.contextmanager
def _ignoring_interrupts(hold: bool) -> Iterator[None]:
    """SIGINT ignored in this process for the time of the block.

    While a local cluster starts (`hold`), its worker processes inherit that (an ignored signal stays
    ignored across exec, and Python then installs no KeyboardInterrupt of its own): a Ctrl-C at the
    terminal, which reaches the whole process group, is decided here alone and no worker prints a
    traceback. SIGINT is also blocked meanwhile in this thread, and a blocked signal is kept pending
    even while ignored: a Ctrl-C during the start arrives as KeyboardInterrupt at the block's end.
    While the cluster closes (not `hold`), a second Ctrl-C is dropped: it would cut the closing short
    and leave workers behind."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals belong to the main thread: an embedding program's own
        return
    masked = hold and hasattr(signal, "pthread_sigmask")
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masked else None
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C held meanwhile is raised now


def _connect(client_class: Any, address: str) -> Any:
    """A client of the scheduler at `address`. One that fails while it is made (an address with no port,
    a scheme Dask does not know, TLS with no certificates set) is closed by its finalizer, which waits for
    a reply that never comes, twice the connection timeout: the command would hang a minute after
    saying the address is wrong. It is kept here instead, and marked closed."""
    client = client_class.__new__(client_class)
    try:
        client.__init__(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except BaseException:
        client.status = "closed"  # what Client.close checks first: nothing to wait for
        with contextlib.suppress(Exception):
            client._loop_runner.stop()  # its event loop's thread, started before the failure
        raise
    return client


class DaskBackend:
    """A client of a Dask cluster (started here when the address is `local`); use as a context manager."""

    def __init__(self, address: str, workers: int, window: int | None = None) -> None:
        self.address = address
        self.workers = max(1, workers)
        self.window = window
        self._client: Any = None
        self._cluster: Any = None
        self._quiet = contextlib.ExitStack()

    def __enter__(self) -> DaskBackend:
        try:
            import distributed
        except ImportError:
            raise ClusterError(f"--cluster needs Dask, which is not installed: {INSTALL_HINT}") from None
        dist: Any = distributed  # untyped: its calls are checked by the tests, not by mypy
        # Dask's own log lines, tracebacks included, are kept off the terminal while bwc uses the cluster
        # (a client that loses its scheduler logs an ERROR with a traceback, and so does a local cluster's
        # worker whose heartbeat finds the scheduler gone): every failure that matters reaches this process
        # as an exception, and is said in plain words. Only Dask's own handlers are changed, until `close`.
        self._quiet.enter_context(dist.utils.silence_logging_cmgr(logging.CRITICAL))
        try:
            if self.address == LOCAL:
                # multiprocessing's resource tracker, started on first use, unblocks SIGINT in the thread
                # that starts it: started now, before the block, it cannot drop a Ctrl-C held in there.
                multiprocessing.resource_tracker.ensure_running()
                with _ignoring_interrupts(hold=True):
                    # One thread per worker process: the work is pure Python, held by the GIL. Its workers'
                    # logs are silenced below CRITICAL too (see above; seen in CI while the cluster closed).
                    self._cluster = dist.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                                      host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                                      silence_logs=logging.CRITICAL)
                    self._client = dist.Client(self._cluster, set_as_default=False)
            else:
                self._client = _connect(dist.Client, self.address)
        except BaseException as exc:
            self.close()
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise ClusterError(f"cannot use the Dask cluster at `{self.address}`: "
                               f"{type(exc).__name__}: {exc}") from None
        if self.address != LOCAL:
            try:
                self._check_workers()
            except BaseException:
                self.close()
                raise
            # A remote cluster's size is its own: as many chunks at once as it has worker threads.
            self.workers = sum(self._client.nthreads().values()) or 1
        if self.window is None:
            # Deeper than the process pool's: a task's round trip through the scheduler takes longer.
            self.window = 3 * self.workers
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_workers(self) -> None:
        """ClusterError unless the cluster has a worker, and every worker runs this very bwc: the same
        code gives the same report, and another version could judge differently without a word."""
        try:
            self._client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except TimeoutError:
            raise ClusterError(f"the Dask cluster at `{self.address}` has no worker (none joined within "
                               f"{CONNECT_SECONDS} s): start workers with `dask worker {self.address}`") from None
        try:
            theirs: dict[str, str] = self._client.run(code_digest)
        except ImportError as exc:
            raise ClusterError(f"a worker of the Dask cluster at `{self.address}` cannot run bwc ({exc}): install "
                               "bwc-policy, the same version as here, on every worker") from None
        ours = code_digest()
        other = sorted(worker for worker, digest in theirs.items() if digest != ours)
        if other:
            raise ClusterError(f"{len(other)} worker(s) of the Dask cluster at `{self.address}` run another "
                               f"version of bwc than this one (first: {other[0]}): install the same on every "
                               "machine")

    def close(self) -> None:
        """Close the client, then the local cluster (its worker processes stop); a second Ctrl-C
        meanwhile is ignored until this is done."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        with _ignoring_interrupts(hold=False):
            for part in (client, cluster):
                if part is not None:
                    with contextlib.suppress(Exception):
                        part.close()
            self._quiet.close()

    def map(self, work: Callable[[Any, Any], Any], state: Any, items: Iterable[Any]) -> Iterator[Any]:
        """`work(state, item)` for every item on the cluster's workers, results in input order."""
        from concurrent.futures import CancelledError

        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker

        client = self._client
        if client is None:
            raise RuntimeError("use the backend as a context manager")
        window = self.window or 1
        shipped = client.scatter(Shipped(state), broadcast=True, hash=False)
        pending: deque[Any] = deque()
        try:
            for item in items:
                pending.append(client.submit(_run, work, shipped, item, pure=False))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except KilledWorker as exc:
            raise WorkerError(f"a Dask worker died while working (out of memory?): {exc}; the run was stopped: "
                              "run again, or with more memory per worker") from None
        except (CommClosedError, CancelledError):  # the scheduler stopped, or this machine lost it
            raise ClusterError(f"lost the Dask cluster at `{self.address}` while working (its scheduler stopped or "
                               "cannot be reached): the run was stopped; check the scheduler, then run again") from None
        except ImportError as exc:  # the work's own failures are per record; this one is the worker's setup
            raise ClusterError(f"a Dask worker cannot run bwc ({exc}): install bwc-policy, the same version as "
                               "here, on every worker") from None
        finally:
            if pending:
                with contextlib.suppress(Exception):
                    client.cancel(list(pending))
            with contextlib.suppress(Exception):
                client.cancel([shipped])


__all__ = ["CONNECT_SECONDS", "INSTALL_HINT", "LOCAL", "ClusterError", "DaskBackend", "code_digest",
           "dask_installed", "require_dask"]
