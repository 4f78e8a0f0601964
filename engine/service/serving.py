"""Running the service: one listening socket, served by one process or by several worker processes
(`bwc serve --workers N`), each a uvicorn server with its own app and its own connection to the store.

Workers are forked from the process that loaded and compiled the rulesets, so they share that memory
(the compiled rulesets are frozen out of the garbage collector first, and are only read). Everything
the workers share besides is in the store: the decision log (its appends serialized in the database),
incidents (an append locks its incident), ruleset versions loaded through any of them, and replays.

The process that forked them supervises: SIGTERM or SIGINT stops every worker (each finishes the
requests it has begun), and a worker that dies is replaced, unless workers keep dying (`RESTARTS` in
`RESTART_WINDOW` seconds), which stops the service with exit code 1.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType

RESTARTS = 5
RESTART_WINDOW = 60.0


def listening(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (IPv6 when the host is an IPv6 address), for every worker."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def run_worker(make_app: Callable[[], object], sock: socket.socket) -> None:
    """Serve on `sock` in this process until SIGTERM or SIGINT (uvicorn's graceful shutdown)."""
    import uvicorn  # the web stack is loaded only by the command that serves

    from engine.service.protocol import TimedHeadProtocol

    config = uvicorn.Config(make_app(), log_level="warning", access_log=False,  # type: ignore[arg-type]
                            timeout_graceful_shutdown=30, http=TimedHeadProtocol)
    uvicorn.Server(config).run(sockets=[sock])


def serve(make_app: Callable[[], object], sock: socket.socket, workers: int, *,
          say: Callable[[str], None]) -> int:
    """Serve on `sock` with `workers` processes (1: in this one). Returns the exit code (with several
    workers: 0, 130 or 143 when stopped by a signal, 1 when workers kept dying)."""
    if workers <= 1:
        run_worker(make_app, sock)
        return 0
    return _Supervisor(make_app, sock, workers, say).run()


class _Supervisor:
    def __init__(self, make_app: Callable[[], object], sock: socket.socket, workers: int,
                 say: Callable[[str], None]) -> None:
        self.make_app, self.sock, self.workers, self.say = make_app, sock, workers, say
        self.children: set[int] = set()
        self.stopping = False
        self.signal: int | None = None  # the signal that stopped the service, if one did
        self.deaths: list[float] = []

    def _fork(self) -> None:
        # Signals held until the worker has dropped the supervisor's handlers: a SIGTERM meant for the
        # supervisor must not make a new worker act as one.
        held = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
        pid = os.fork()
        if pid == 0:  # the worker: serves, then leaves without running the parent's exit handlers
            code = 0
            try:
                for sig in held:
                    signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own while it serves
                signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
                run_worker(self.make_app, self.sock)
            except BaseException as exc:  # the worker must never return into the supervisor's code
                print(f"bwc serve: worker {os.getpid()} stopped: {_why(exc)}", file=sys.stderr)
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        self.children.add(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum
        self._halt()

    def _halt(self) -> None:
        """Stop every worker (each finishes the requests it has begun)."""
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                self.children.discard(pid)

    def run(self) -> int:
        before = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            for _ in range(self.workers):
                self._fork()
            while self.children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                except InterruptedError:
                    continue
                if pid not in self.children:
                    continue  # not a worker (a replay's process pool is the workers' own)
                self.children.discard(pid)
                if self.stopping:
                    continue
                self.say(f"bwc serve: worker {pid} ended ({_how(status)}); starting another")
                now = time.monotonic()
                self.deaths = [t for t in self.deaths if now - t < RESTART_WINDOW] + [now]
                if len(self.deaths) >= RESTARTS:
                    self.say(f"bwc serve: {len(self.deaths)} workers ended within {RESTART_WINDOW:.0f} s: "
                             "stopping the service (the messages above say why)")
                    code = 1
                    self._halt()
                    continue
                self._fork()
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)
        # stopped by a signal: the exit code a shell reports for it (130 for Ctrl-C, 143 for SIGTERM),
        # as `bwc` gives when it serves in one process
        return 128 + self.signal if self.signal is not None and code == 0 else code


def _why(exc: BaseException) -> str:
    """A worker's end, in one line: the store's own words, or where a bug's traceback was saved."""
    from engine.io.output import save_traceback
    from engine.service.store import StoreError

    if isinstance(exc, StoreError | OSError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    saved = save_traceback(exc, "bwc serve worker")
    return f"internal error ({type(exc).__name__})" + (f", traceback in {saved}" if saved else "")


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
