"""engine/executor.py: the one process pool (ordered results, bounded work, clean stops)."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.executor import STOP_SECONDS, Executor, WorkerError, max_workers


def children(pid: int | None = None) -> set[int]:
    """The live (not zombie) processes whose parent is `pid` (default: this process), read from /proc;
    without multiprocessing's resource tracker (a helper `spawn` starts once and keeps)."""
    parent = os.getpid() if pid is None else pid
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in command:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def _slow_square(state: int, item: int) -> tuple[int, int, int]:
    # Later items are often faster, so results arrive out of order and must be put back in order.
    time.sleep(random.Random(item).random() * 0.02)
    return item, item * item + state, os.getpid()


def test_results_come_in_input_order_whatever_the_workers() -> None:
    expected = [(i, i * i + 7) for i in range(60)]
    pids: set[int] = set()
    for workers in (1, 2, 3):
        with Executor(7, workers) as pool:
            got = list(pool.map(_slow_square, range(60)))
        assert [(i, r) for i, r, _ in got] == expected
        pids |= {pid for _, _, pid in got if pid != os.getpid()}
    assert pids, "with more than one worker the work ran in other processes"
    assert not children()


def test_workers_start_as_work_arrives_and_never_more_than_four_per_core() -> None:
    # `--workers 10000` once started ten thousand processes for a 2,000-incident export (issue 9).
    pool = Executor(0, 10_000)
    assert pool.workers == max_workers()
    with pool:
        got = list(pool.map(_slow_square, range(3)))
        started = len(pool._pool)
    assert [i for i, _, _ in got] == [0, 1, 2]
    assert started <= 3, "one worker per chunk of work at most, not one per worker asked for"
    assert len({pid for _, _, pid in got}) <= 3
    assert not children()


def test_work_in_flight_is_bounded() -> None:
    pulled = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for i in range(40):
            pulled += 1
            yield i

    with Executor(0, 2, window=3) as pool:
        for k, (i, _, _) in enumerate(pool.map(_slow_square, items())):
            assert i == k
            assert pulled <= k + 1 + 3, "read far ahead of the workers"


class _Unpicklable:
    def __init__(self) -> None:
        self.hook = lambda x: x + 1  # a lambda cannot be pickled: only an inherited state can hold it
        self.pid = os.getpid()


def _use_inherited(state: _Unpicklable, item: int) -> tuple[int, int]:
    return state.hook(item), state.pid


def _no_reload() -> _Unpicklable:
    raise AssertionError("with fork the state is inherited, never rebuilt")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_with_fork_the_loaded_state_is_inherited() -> None:
    with Executor(_Unpicklable(), 2, _no_reload) as pool:
        assert pool.method == "fork"
        got = list(pool.map(_use_inherited, range(10)))
    assert [x for x, _ in got] == list(range(1, 11))
    assert {pid for _, pid in got} == {os.getpid()}  # built here, once


def _build_state() -> int:
    return 100


def test_with_spawn_each_worker_runs_the_initializer() -> None:
    with Executor(0, 2, _build_state) as pool:
        pool.method = "spawn"  # what other systems use
        got = list(pool.map(_slow_square, range(6)))
    assert [r for _, r, _ in got] == [i * i + 100 for i in range(6)]


def _fail_on_three(state: int, item: int) -> int:
    if item == 3:
        raise ValueError("item three is bad")
    return item


def test_an_exception_in_the_work_reaches_the_caller_and_stops_the_workers() -> None:
    with pytest.raises(ValueError, match="item three is bad"), Executor(0, 2) as pool:
        list(pool.map(_fail_on_three, range(10)))
    assert not children()


def _die(state: int, item: int) -> int:
    if item == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
    time.sleep(0.01)
    return item


def test_a_dead_worker_is_a_clear_error_not_a_hang() -> None:
    start = time.monotonic()
    with pytest.raises(WorkerError, match="killed by signal 9"), Executor(0, 2) as pool:
        list(pool.map(_die, range(20)))
    assert time.monotonic() - start < 10
    assert not children()


def _sleepy(state: int, item: int) -> int:
    time.sleep(0.2)
    return item


def test_workers_ignore_sigint_the_parent_decides() -> None:
    with Executor(0, 2) as pool:
        results = []
        for r in pool.map(_sleepy, range(8)):
            if r == 0:
                for pid in children():
                    os.kill(pid, signal.SIGINT)
            results.append(r)
    assert results == list(range(8))


def _forever(state: int, item: int) -> int:
    while True:  # a worker deep in its work when the interrupt comes
        time.sleep(0.01)


def test_keyboard_interrupt_terminates_the_workers_at_once() -> None:
    def interrupt(signum: int, frame: Any) -> None:
        interrupted.append(time.monotonic())
        raise KeyboardInterrupt  # as Ctrl-C does, while the parent waits for results

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        for _ in range(3):  # the hang this guards against was intermittent
            interrupted: list[float] = []
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            with pytest.raises(KeyboardInterrupt), Executor(0, 2) as pool:
                for _ in pool.map(_forever, range(100)):
                    pass  # pragma: no cover - never reached
            assert time.monotonic() - interrupted[0] < STOP_SECONDS
            assert not children()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
