"""The one executor of the engine: audit, impact and generate spread their work with it, over worker
processes on this machine or (audit and impact, `--cluster`) over a Dask cluster.

    with Executor(state, workers=4, initializer=functools.partial(load_state, paths)) as pool:
        for result in pool.map(work, chunks):      # work(state, chunk) -> result, in input order
            ...

    with Executor(state, workers=4, cluster="local") as pool:    # or cluster="tcp://scheduler:8786"
        for result in pool.map(work, chunks):      # the same results, in the same order

With `cluster` the work runs on a Dask cluster (engine.executor.cluster, an optional extra): the
same promises of order, bounded work and clean interrupts, and `state` is pickled and shipped to the
workers instead of inherited or rebuilt. Without it, the process pool below.

What it promises, whatever the number of workers:

- Results come back in the order of the input, so a report never depends on the number of workers.
  With one worker (or none) the work runs in this process, through the same code.
- Work in flight is bounded (`window` chunks sent and not yet handed back), so a huge input is
  never read far ahead of the workers.
- Workers are started as work arrives, never more than there are chunks to do, and never more
  than `MAX_PER_CORE` per core whatever was asked: `--workers 10000` on a small export starts a
  few processes, not ten thousand.
- Workers are started with `fork` on Linux (they inherit the caller's `state`, already loaded: no
  ruleset is read from YAML again) and with `spawn` elsewhere (each worker calls `initializer()`,
  which must be picklable, to build its state).
- Workers ignore SIGINT: the parent decides. On KeyboardInterrupt (Ctrl-C) or SIGTERM in the
  parent, and on any other exception, the workers are terminated (gone within 2 seconds: SIGTERM,
  then SIGKILL) and the exception goes on up (SIGTERM arrives as KeyboardInterrupt), so the caller's
  clean-up runs and nothing waits for a worker that waits for work.
- A worker that dies (killed, out of memory) is a clear `WorkerError`, never a hang.

Each worker has its own pipe and holds at most one chunk at a time, so the parent always knows
which worker holds which chunk and can wait on the workers' pipes and process sentinels together.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from types import FrameType, TracebackType
from typing import Any, Generic, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

STOP_SECONDS = 2.0
"""Workers are gone within this time of an interrupt: half for SIGTERM, the rest after SIGKILL."""
MAX_PER_CORE = 4
"""More workers than this per core only add processes that wait for a core."""


class WorkerError(RuntimeError):
    """A worker process could not start or stopped unexpectedly."""


def start_method() -> str:
    """`fork` on Linux (fast, and the caller's loaded state is inherited); `spawn` elsewhere."""
    return "fork" if sys.platform == "linux" else "spawn"


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def max_workers() -> int:
    """The most workers an executor starts: `MAX_PER_CORE` per core."""
    return MAX_PER_CORE * default_workers()


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter): the unit of work `Executor.map` hands
    to a worker, so that a worker's round trip is paid once per chunk, not once per record."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Failure:
    """An exception raised by the work in a worker, carried back to the parent."""

    def __init__(self, exc: BaseException) -> None:
        self.text = "".join(traceback.format_exception(exc))
        try:
            import pickle

            pickle.dumps(exc)
            self.exc: BaseException = exc
        except Exception:  # an exception that cannot cross processes: keep its class name and message
            self.exc = RuntimeError(f"{type(exc).__name__}: {exc}")


def _worker_main(conn: Connection, work: Callable[[Any, Any], Any], state: Any,
                 initializer: Callable[[], Any] | None, inherited: list[Connection]) -> None:
    """A worker: build (or inherit) the state, then do one chunk at a time until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's SIGTERM handler must not run here
    # A forked worker holds copies of the parent's ends of the pipes (its own and earlier workers'):
    # while it does, its own `recv` never sees the end of the pipe when the parent is killed, and it
    # would wait for work for ever. Closing them makes a dead parent an EOF, and the worker stops.
    for end in inherited:
        end.close()
    _unblock()
    try:
        if state is None and initializer is not None:
            state = initializer()
    except BaseException as exc:  # cannot start: say why, then stop
        conn.send((-1, _Failure(exc)))
        return
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        seq, item = message
        try:
            result: Any = work(state, item)
        except BaseException as exc:
            result = _Failure(exc)
        conn.send((seq, result))


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _block() -> None:
    # While a worker starts, signals are held back: one arriving between fork and the worker's own
    # handlers would otherwise print a traceback from the worker.
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)


def _unblock() -> None:
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt("terminated (SIGTERM)")


class _Worker:
    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.seq: int | None = None  # the chunk it holds


class Executor(Generic[S]):
    """A pool of `workers` processes sharing one `state` (see the module's docstring).

    Use it as a context manager: leaving the block stops the workers (terminates them if the block
    ends with an exception, KeyboardInterrupt included).
    """

    def __init__(self, state: S, workers: int, initializer: Callable[[], S] | None = None,
                 window: int | None = None, cluster: str | None = None) -> None:
        self.state = state
        self.cluster = cluster  # a Dask scheduler's address, or "local": the work runs there instead
        self._dask: Any = None
        self.workers = max(1, min(workers, max_workers()))
        self.initializer = initializer
        self.window = max(1, window if window is not None else 2 * self.workers)
        self.method = start_method()
        self._pool: list[_Worker] = []
        self._old_sigterm: Any = None
        self._handling = False

    # -- lifetime -------------------------------------------------------------------------------------

    def __enter__(self) -> Executor[S]:
        # SIGTERM becomes KeyboardInterrupt (with one worker too): the caller's clean-up then runs and
        # no temporary file or folder is left behind. A handler the program installed (the CLI's) stays.
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._old_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
            self._handling = True
        if self.cluster is not None:
            from engine.executor.cluster import DaskBackend

            try:
                self._dask = DaskBackend(self.cluster, self.workers).__enter__()
            except BaseException:
                self._restore_sigterm()
                raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._dask is not None:
                dask, self._dask = self._dask, None
                dask.close()
            elif kind is None:
                try:
                    self._stop()
                except BaseException:  # interrupted while the workers were stopping: stop them now
                    self.terminate()
                    raise
            else:
                self.terminate()
        finally:
            self._restore_sigterm()

    def _restore_sigterm(self) -> None:
        if self._handling:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if self._old_sigterm is None else self._old_sigterm)
            self._handling = False

    def _spawn(self, work: Callable[[S, Any], Any]) -> _Worker:
        ctx: Any = multiprocessing.get_context(self.method)
        inherit = self.method == "fork"
        parent, child = ctx.Pipe(duplex=True)
        # With fork nothing is pickled: the worker inherits `state` as it is in this process.
        process = ctx.Process(target=_worker_main, daemon=True,
                              args=(child, work, self.state if inherit else None,
                                    None if inherit else self.initializer,
                                    # spawn passes only what it is given: nothing to close there
                                    [parent, *(w.conn for w in self._pool)] if inherit else []))
        _block()
        try:
            process.start()
        finally:
            _unblock()
        child.close()
        worker = _Worker(process, parent)
        self._pool.append(worker)
        return worker

    def _stop(self) -> None:
        """Normal end: tell each worker to stop and wait for it (briefly; then terminate)."""
        for w in self._pool:
            with contextlib.suppress(OSError):  # already gone: terminate() below makes sure
                w.conn.send(None)
        deadline = time.monotonic() + STOP_SECONDS
        for w in self._pool:
            w.process.join(max(0.0, deadline - time.monotonic()))
        self.terminate()

    def terminate(self) -> None:
        """Stop every worker now: SIGTERM, then SIGKILL for any still there; gone within STOP_SECONDS.
        A second Ctrl-C meanwhile waits until this is done (it would otherwise leave workers behind)."""
        pool, self._pool = self._pool, []
        _block()
        try:
            self._terminate(pool)
        finally:
            _unblock()

    @staticmethod
    def _terminate(pool: list[_Worker]) -> None:
        for w in pool:
            if w.process.is_alive():
                w.process.terminate()
        deadline = time.monotonic() + STOP_SECONDS / 2
        for w in pool:
            w.process.join(max(0.0, deadline - time.monotonic()))
        for w in pool:
            if w.process.is_alive():
                w.process.kill()
        for w in pool:
            w.process.join(STOP_SECONDS / 2)
            w.conn.close()
            with contextlib.suppress(ValueError):  # still running after SIGKILL: leave it to the OS
                w.process.close()

    # -- work -----------------------------------------------------------------------------------------

    def map(self, work: Callable[[S, T], R], items: Iterable[T]) -> Iterator[R]:
        """`work(state, item)` for every item, results in input order. `work` must be a module-level
        function (spawn and Dask pickle it by name)."""
        if self._dask is not None:
            yield from self._dask.map(work, self.state, items)
            return
        if self.workers <= 1:
            for item in items:
                yield work(self.state, item)
            return
        if self._pool:
            raise RuntimeError("one map at a time per executor")
        try:
            yield from self._ordered(work, items)
        except BaseException:
            self.terminate()
            raise

    def _ordered(self, work: Callable[[S, Any], Any], items: Iterable[T]) -> Iterator[Any]:
        source = iter(items)
        exhausted = False
        sent = handed = 0
        done: dict[int, Any] = {}
        idle: list[_Worker] = []
        busy: dict[Connection, _Worker] = {}
        while True:
            while (idle or len(self._pool) < self.workers) and not exhausted and sent - handed < self.window:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                w = idle.pop() if idle else self._spawn(work)
                try:
                    w.conn.send((sent, item))
                except OSError:
                    raise WorkerError(self._death(w)) from None
                w.seq = sent
                busy[w.conn] = w
                sent += 1
            while handed in done:
                result = done.pop(handed)
                handed += 1
                yield result
            if exhausted and handed == sent:
                return
            if not busy:
                continue  # a result was handed back while the window was full: dispatch again
            sentinels = {w.process.sentinel: w for w in busy.values()}
            for ready in wait([*busy, *sentinels]):
                found = busy.get(ready) if isinstance(ready, Connection) else sentinels.get(ready)
                if found is None or found.conn not in busy:
                    continue
                w = found
                if not w.conn.poll():
                    raise WorkerError(self._death(w))
                try:
                    seq, result = w.conn.recv()
                except (EOFError, OSError):
                    raise WorkerError(self._death(w)) from None
                if isinstance(result, _Failure):
                    if seq < 0:
                        raise WorkerError(f"a worker process could not start: {result.exc}") from result.exc
                    raise result.exc
                done[seq] = result
                w.seq = None
                del busy[w.conn]
                idle.append(w)

    def _death(self, w: _Worker) -> str:
        if w.conn.poll():
            try:
                _, result = w.conn.recv()
            except (EOFError, OSError):
                pass
            else:
                if isinstance(result, _Failure):
                    return f"a worker process could not start: {result.exc}"
        w.process.join(0.5)
        code = w.process.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return (f"a worker process {how} while working (out of memory?); the run was stopped: run again, "
                "or with fewer workers")


__all__ = ["MAX_PER_CORE", "STOP_SECONDS", "Executor", "WorkerError", "chunked", "default_workers", "max_workers",
           "start_method"]
