"""Ctrl-C during `bwc audit` (issue 9, item 11): exit 130 within seconds, no worker left, no output.

Before the one executor, SIGINT hung `bwc audit` for good in 2 runs of 5 (the parent waited on
workers that waited for work); the test runs it several times for that reason.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from terminal import from_a_terminal
from test_executor import alive, children

from engine.api import Library
from engine.tools.generate import generate

ROOT = Path(__file__).resolve().parent.parent
IL = "illinois-50-ilcs-706-10-20"
BWC = Path(sys.executable).parent / "bwc"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export big enough for an audit of several seconds: 400 generated incidents, repeated with
    new ids (generating them all would take longer than the audit)."""
    folder = tmp_path_factory.mktemp("interrupt")
    seed = folder / "seed.jsonl"
    generate(Library.load(ROOT / "rulesets"), IL, seed, incidents=400, seed=5)
    lines = seed.read_text(encoding="utf-8").splitlines()
    path = folder / "export.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for k in range(60):
            for line in lines:
                data = json.loads(line)
                data["id"] = f"{data['id']}-{k}"
                fh.write(json.dumps(data) + "\n")
    return path


def start_audit(export: Path, out: Path, **popen: Any) -> tuple[subprocess.Popen[bytes], set[int]]:
    """`bwc audit --workers 2` started as from a terminal, once both its workers are running."""
    proc = subprocess.Popen([str(BWC), "audit", "--rulesets", str(ROOT / "rulesets"), "--policy", IL,
                             "--workers", "2", "--out", str(out), str(export)],
                            preexec_fn=from_a_terminal, **popen)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        workers = children(proc.pid)
    if len(workers) != 2:
        proc.kill()
        proc.wait()
        pytest.fail("the audit did not start its two workers")
    return proc, workers


@pytest.mark.parametrize("run", range(3))
def test_sigint_stops_the_audit_and_its_workers_and_leaves_nothing(export: Path, tmp_path: Path, run: int) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "report"
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc, workers = start_audit(export, out, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        time.sleep(0.5 + 0.3 * run)  # the workers are busy auditing
        assert proc.poll() is None, "the audit finished before the interrupt: make the export bigger"
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("bwc audit hung after SIGINT")
        assert time.monotonic() - sent < 5
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert code == 130, stderr
        assert "Traceback" not in stderr
        time.sleep(0.2)
        assert not [pid for pid in workers if alive(pid)], "worker processes left running"
        assert not out.exists(), "a partial report was left"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"], "a temporary report folder was left"
        assert list(scratch.iterdir()) == [], "the audit's scratch folder was left"
    finally:
        if proc.poll() is None:  # pragma: no cover - only after a failure above
            proc.kill()
            proc.wait()


def test_workers_stop_when_the_audit_is_killed(export: Path, tmp_path: Path) -> None:
    """SIGKILL (the out-of-memory killer, `kill -9`) gives the parent no chance to stop its workers:
    they must see the parent gone and stop by themselves, not wait for work for ever. Forked workers
    once held copies of the parent's ends of their pipes, so the end of the pipe never came. The
    audit's temporary folder cannot be removed by a killed process: it is kept in this test's own
    TMPDIR, so that the suite leaves nothing in the machine's /tmp."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc, workers = start_audit(export, tmp_path / "report", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "TMPDIR": str(scratch)})
    try:
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if alive(pid)]
        for pid in left:  # leave nothing behind, then fail
            os.kill(pid, signal.SIGKILL)
        assert not left, "workers kept waiting for a parent that was gone"
        assert not (tmp_path / "report").exists(), "a partial report was left"
        assert [p.name[:10] for p in scratch.iterdir()] == ["bwc-audit-"], "the audit did not use TMPDIR"
    finally:
        if proc.poll() is None:  # pragma: no cover - only after a failure above
            proc.kill()
            proc.wait()
