"""Scale-out on Dask (issue 15, item 1): `--cluster` gives the same report, byte for byte, as the local run.

The audit of a generated export (with broken lines, so that errors and their line numbers are
compared too) on a local Dask cluster, and on a cluster reached by its scheduler's address (the way a
multi-node cluster is used), writes the same report folder as the process pool; so does a folder of
partitions; impact and the service's replay give the same JSON. What is shipped to a worker is the compiled state, which
needs no rulesets folder; without Dask, `--cluster` is one line saying what to install; Ctrl-C
closes the local cluster and prints no traceback.

CI installs '.[dev]', which includes dask[distributed]: there a missing Dask fails these tests
instead of skipping them.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli
from terminal import from_a_terminal
from test_executor import alive, children

from engine.api import Library
from engine.audit import run_audit
from engine.audit.auditor import Auditor
from engine.executor import WorkerError
from engine.executor.cluster import ClusterError, dask_installed
from engine.tools.generate import generate
from engine.tools.impact import Side, impact, render_json

ROOT = Path(__file__).resolve().parent.parent
IL = "illinois-50-ilcs-706-10-20"
BWC = Path(sys.executable).parent / "bwc"
WORKERS = 2


def need_dask() -> None:
    if dask_installed():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("dask[distributed] is not installed, but CI installs '.[dev]', which includes it")
    pytest.skip("dask[distributed] is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(ROOT / "rulesets")


def _broken(lines: list[str]) -> list[str]:
    """Lines 7 and 300 made unreadable (not JSON; an incident in no time zone), the rest as generated."""
    out = list(lines)
    out[6] = '{"id": "BROKEN-1", "events": ['
    bad = json.loads(out[299])
    bad["timezone"] = "Not/AZone"
    out[299] = json.dumps(bad)
    return out


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory, library: Library) -> dict[str, Path]:
    """A generated export as JSON Lines with two broken lines, the same split into three files of a
    folder (with a marker file that is not read), and a generated CSV export."""
    folder = tmp_path_factory.mktemp("scale")
    clean = folder / "clean.jsonl"
    generate(library, IL, clean, incidents=900, seed=15)
    lines = _broken(clean.read_text(encoding="utf-8").splitlines())
    jsonl = folder / "export.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parts = folder / "parts"
    parts.mkdir()
    for k, start in enumerate((0, 250, 600)):
        end = {0: 250, 250: 600, 600: len(lines)}[start]
        (parts / f"part-{k:05d}.jsonl").write_text("\n".join(lines[start:end]) + "\n", encoding="utf-8")
    (parts / "_SUCCESS").write_text("", encoding="utf-8")
    csv = folder / "export.csv"
    generate(library, IL, csv, incidents=500, seed=16)
    return {"jsonl": jsonl, "parts": parts, "csv": csv}


def _report(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _audit(library: Library, export: Path, out: Path, **kw: Any) -> dict[str, bytes]:
    run_audit([ROOT / "rulesets"], IL, export, out_dir=out, library=library, **kw)
    return _report(out)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A Dask cluster started apart from bwc and reached by its scheduler's address, as a cluster of
    several machines is (`--cluster tcp://scheduler:8786`)."""
    need_dask()
    from distributed import LocalCluster

    cluster: Any = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1",
                                dashboard_address="127.0.0.1:0")
    try:
        yield str(cluster.scheduler_address)
    finally:
        cluster.close()


def test_a_local_cluster_audit_is_byte_identical_to_the_local_audit(exports: dict[str, Path], library: Library,
                                                                     tmp_path: Path) -> None:
    need_dask()
    local = _audit(library, exports["jsonl"], tmp_path / "local", workers=WORKERS)
    one = _audit(library, exports["jsonl"], tmp_path / "one", workers=1)
    on_dask = _audit(library, exports["jsonl"], tmp_path / "dask", workers=WORKERS, cluster="local")
    assert set(local) >= {"summary.json", "summary.csv", "findings.csv", "report.html"}
    assert on_dask == local == one
    summary = json.loads(local["summary.json"])
    assert summary["input"]["incidents"] == 898
    assert [e["line"] for e in summary["input"]["errors"]] == [7, 300]  # found on the workers, numbered right
    assert summary["counts"]["by_severity"]["violation"] > 0


def test_bwc_audit_cluster_local_prints_and_writes_what_the_plain_run_does(exports: dict[str, Path],
                                                                           tmp_path: Path) -> None:
    """`bwc audit --cluster local`, the command a user types, end to end in its own process."""
    need_dask()
    done = {}
    for name, extra in (("plain", []), ("dask", ["--cluster", "local"])):
        out = tmp_path / name
        proc = subprocess.run([str(BWC), "audit", "--policy", IL, "--workers", str(WORKERS), *extra, "--out", str(out),
                               str(exports["parts"])], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
        done[name] = (proc.stdout.replace(str(out), "OUT"), _report(out))
    assert done["dask"] == done["plain"]
    assert "part-00001.jsonl, line 50" in done["plain"][0]


_LOGS_AN_ERROR = """
import logging
from engine.executor.cluster import DaskBackend
with DaskBackend("local", 1) as backend:
    backend._client.run(lambda: logging.getLogger("distributed.worker").error("a logged error"))
"""


def test_a_local_clusters_own_error_logs_never_reach_the_terminal() -> None:
    # While a local cluster closes, a worker whose heartbeat finds the scheduler gone logs an ERROR with a
    # traceback (CI saw it once, 7 December): Dask's logs are silenced below CRITICAL, workers' too.
    need_dask()
    proc = subprocess.run([sys.executable, "-c", _LOGS_AN_ERROR], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "a logged error" not in proc.stderr, proc.stderr


def test_a_cluster_reached_by_address_gives_the_same_report(exports: dict[str, Path], library: Library,
                                                           scheduler: str, tmp_path: Path) -> None:
    local = _audit(library, exports["csv"], tmp_path / "local", workers=WORKERS)
    remote = _audit(library, exports["csv"], tmp_path / "remote", cluster=scheduler)
    assert remote == local
    assert json.loads(local["summary.json"])["input"]["incidents"] == 500


def test_a_partitioned_export_is_audited_alike_here_and_on_a_cluster(exports: dict[str, Path], library: Library,
                                                                     scheduler: str, tmp_path: Path) -> None:
    parts = _audit(library, exports["parts"], tmp_path / "parts", workers=WORKERS)
    assert _audit(library, exports["parts"], tmp_path / "parts-dask", cluster=scheduler) == parts
    pattern = str(exports["parts"] / "part-*.jsonl")
    globbed = _audit(library, Path(pattern), tmp_path / "glob", workers=WORKERS)
    whole = json.loads(_audit(library, exports["jsonl"], tmp_path / "whole", workers=WORKERS)["summary.json"])
    summary = json.loads(parts["summary.json"])
    # The same incidents, the same counts; each error named by its file and its line in that file.
    assert summary["counts"] == whole["counts"]
    assert summary["recording_coverage"]["by_month"] == whole["recording_coverage"]["by_month"]
    assert summary["input"]["incidents"] == whole["input"]["incidents"]
    assert [(e["file"], e["line"]) for e in summary["input"]["errors"]] == [("part-00000.jsonl", 7),
                                                                           ("part-00001.jsonl", 50)]
    assert [e["file"] for e in json.loads(globbed["summary.json"])["input"]["errors"]] == [
        (exports["parts"] / "part-00000.jsonl").as_posix(), (exports["parts"] / "part-00001.jsonl").as_posix()]


def test_a_report_written_inside_its_folder_of_partitions_is_not_read_as_one(
        exports: dict[str, Path], library: Library, tmp_path: Path) -> None:
    """`bwc audit parts/ --out parts/report`: the report's CSV files are in the folder the next audit
    reads, and in the glob `parts/**/*.csv`; a folder holding a bwc report's marker is never a partition,
    so the second audit reads what the first did and writes the same report."""
    parts = tmp_path / "parts"
    shutil.copytree(exports["parts"], parts)
    first = _audit(library, parts, parts / "report", workers=1)
    assert (parts / "report" / "findings.csv").exists()
    assert _audit(library, parts, parts / "report", workers=1) == first
    code, _, err = run_cli(["audit", "--policy", IL, "--out", str(tmp_path / "csv-report"),
                            str(parts / "**" / "*.csv")], cwd=ROOT)
    assert code == 1 and "no file matches the pattern" in err, err


def test_a_partitioned_export_that_cannot_be_read_as_one_is_refused_before_auditing(
        exports: dict[str, Path], tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    header, *rows = exports["csv"].read_text(encoding="utf-8").splitlines()
    (mixed / "a.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    columns = header.split(",")
    (mixed / "b.csv").write_text(",".join([*columns[1:], columns[0]]) + "\n", encoding="utf-8")
    (tmp_path / "both").mkdir()
    shutil.copy(exports["jsonl"], tmp_path / "both" / "a.jsonl")
    shutil.copy(exports["csv"], tmp_path / "both" / "b.csv")
    (tmp_path / "none").mkdir()
    for source, said in ((mixed, "`b.csv`: its columns differ from those of `a.csv`"),
                         (tmp_path / "both", "its files are of different formats (csv, jsonl)"),
                         (tmp_path / "none", "the folder holds no export file"),
                         (tmp_path / "nothing-*.jsonl", "no file matches the pattern")):
        code, _, err = run_cli(["audit", "--policy", IL, "--out", str(tmp_path / "r"), str(source)], cwd=ROOT)
        assert code == 1, err
        assert said in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "r").exists()


def test_impact_on_a_cluster_gives_the_same_report(exports: dict[str, Path], library: Library,
                                                   scheduler: str) -> None:
    a = Side.of([ROOT / "rulesets"], f"{IL}@2021.1.0")
    b = Side.of([ROOT / "rulesets"], IL)
    local = impact(a, b, exports["jsonl"], workers=WORKERS, library=library)
    on_dask = impact(a, b, exports["jsonl"], library=library, cluster=scheduler)
    assert local.tally.incidents > 700
    assert render_json(on_dask) == render_json(local)


def test_replay_on_a_cluster_gives_the_same_report(exports: dict[str, Path], scheduler: str, tmp_path: Path) -> None:
    """The service's replay runs impact's runner: `bwc replay --cluster` gives the same JSON."""
    store = f"sqlite:///{tmp_path / 'bwc.db'}"
    code, _, err = run_cli(["import", "--store", store, "--policy", IL, str(exports["csv"])], cwd=ROOT)
    assert code == 0, err
    replay = ["replay", "--store", store, f"{IL}@2021.2.0", "--baseline", f"{IL}@2021.1.0", "--format", "json"]
    code, plain, err = run_cli([*replay, "--workers", str(WORKERS)], cwd=ROOT)
    assert code == 0, err
    code, on_dask, err = run_cli([*replay, "--cluster", scheduler], cwd=ROOT)
    assert code == 0, err
    assert json.loads(plain)["incidents"] > 400
    assert on_dask == plain


def test_what_is_shipped_needs_no_rulesets_folder(tmp_path: Path) -> None:
    """The auditor crosses to a worker with its compiled rulesets (pickled, as Dask ships it): it audits
    in another process after the folder it was loaded from is gone, under either backend."""
    folder = tmp_path / "rulesets"
    shutil.copytree(ROOT / "rulesets", folder)
    incident = (ROOT / "examples" / f"{IL}.json").read_text(encoding="utf-8")
    shipped, expected = {}, {}
    for backend in ("native", "rete"):
        auditor = Auditor(Library.load(folder, backend=backend), IL)
        expected[backend] = [f.to_dict() for f in auditor.audit(json.loads(incident)).checked]
        shipped[backend] = tmp_path / f"{backend}.pickle"
        shipped[backend].write_bytes(pickle.dumps(auditor))
    shutil.rmtree(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import json, pickle, sys\n"
            "auditor = pickle.loads(open(sys.argv[1], 'rb').read())\n"
            "print(json.dumps([f.to_dict() for f in auditor.audit(json.loads(sys.argv[2])).checked]))\n")
    for backend, path in shipped.items():
        done = subprocess.run([sys.executable, "-c", code, str(path), incident], cwd=elsewhere, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == json.loads(json.dumps(expected[backend])), backend
        assert expected[backend]


def test_cluster_without_dask_is_one_line_saying_what_to_install(exports: dict[str, Path], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails, as without the extra
    for argv in (["audit", "--policy", IL, "--cluster", "local", "--out", str(tmp_path / "r"), str(exports["jsonl"])],
                 ["impact", f"{IL}@2021.1.0", IL, str(exports["jsonl"]), "--cluster", "tcp://127.0.0.1:8786"]):
        code, out, err = run_cli(argv, cwd=ROOT)  # the bundled rulesets, by default
        assert code == 1, (out, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert "pip install 'bwc-policy[dask]'" in lines[0]
        assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_scheduler_that_cannot_be_reached_is_a_clear_error(exports: dict[str, Path], library: Library,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_dask()
    from engine.executor import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2)
    with pytest.raises(ClusterError, match=r"cannot use the Dask cluster at `tcp://127\.0\.0\.1:9`") as caught:
        run_audit([ROOT / "rulesets"], IL, exports["jsonl"], out_dir=tmp_path / "r", library=library,
                  cluster="tcp://127.0.0.1:9")
    assert isinstance(caught.value, WorkerError)  # the CLI's boundary says it in one line, exit 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("address", ["garbage", "http://127.0.0.1:8786", "tcp://[::1", "inproc://x"])
def test_an_address_dask_cannot_use_is_said_and_the_command_ends(exports: dict[str, Path], tmp_path: Path,
                                                                 address: str) -> None:
    """Dask's client, failing while it was made, was closed by its finalizer at exit, which waited twice the
    connection timeout (a minute) for a reply that never came: the error was said, then the command hung.
    Run as the user runs it, in a process of its own, given less than that minute."""
    need_dask()
    argv = [sys.executable, "-m", "engine.cli", "audit", "--rulesets", str(ROOT / "rulesets"), "--policy", IL,
            "--cluster", address, "--out", str(tmp_path / "r"), str(exports["jsonl"])]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=45, cwd=tmp_path, check=False)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot use the Dask cluster at `{address}`"), lines
    assert not (tmp_path / "r").exists()


_LOSES_ITS_SCHEDULER = """
import time
from distributed import LocalCluster
from engine.executor.cluster import ClusterError, DaskBackend

def work(state, item):
    time.sleep(0.2)
    return item

# silence_logs=False: a cluster that sets Dask's log levels sets them back when it closes, over bwc's own
# setting; a scheduler on another machine touches nothing here.
cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address="127.0.0.1:0", silence_logs=False)
with DaskBackend(str(cluster.scheduler_address), 0) as backend:
    results = backend.map(work, None, range(40))
    assert next(results) == 0
    cluster.close()  # its scheduler with it, while chunks are in flight
    try:
        list(results)
    except ClusterError as exc:
        print("said:", exc)
"""


def test_a_scheduler_lost_while_working_is_said_in_plain_words() -> None:
    """The scheduler stopped mid-run: the client's reconnect logged an ERROR with a traceback, and the run
    ended on Dask's own words (`in <TCP (closed) ConnectionPool.gather local=… remote=…>: Stream is closed`)."""
    need_dask()
    proc = subprocess.run([sys.executable, "-c", _LOSES_ITS_SCHEDULER], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stdout.splitlines() if line.startswith("said: ")]
    assert said and "lost the Dask cluster at `tcp://127.0.0.1:" in said[0], proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr


def test_a_cluster_without_workers_is_a_clear_error(exports: dict[str, Path], library: Library, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler with no worker would take the chunks and never answer: bwc says so instead."""
    need_dask()
    from distributed import LocalCluster

    from engine.executor import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    empty: Any = LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0")
    try:
        with pytest.raises(ClusterError, match="has no worker"):
            run_audit([ROOT / "rulesets"], IL, exports["jsonl"], out_dir=tmp_path / "r", library=library,
                      cluster=str(empty.scheduler_address))
    finally:
        empty.close()
    assert not (tmp_path / "r").exists()


def test_every_worker_runs_this_bwc(scheduler: str) -> None:
    """Before any work, the digest of bwc's files on each worker is compared with this process's."""
    from distributed import Client

    from engine.executor.cluster import code_digest

    with Client(scheduler, set_as_default=False) as client:
        theirs = client.run(code_digest)
    assert len(theirs) == WORKERS
    assert set(theirs.values()) == {code_digest()}


def test_ctrl_c_closes_the_local_cluster_without_a_traceback(exports: dict[str, Path], tmp_path: Path) -> None:
    """Ctrl-C at a terminal reaches the whole process group, the cluster's workers included: bwc exits
    130, prints no traceback (nor does any worker), leaves no worker running and no report."""
    need_dask()
    lines = exports["jsonl"].read_text(encoding="utf-8").splitlines()
    big = tmp_path / "big.jsonl"
    with big.open("w", encoding="utf-8") as fh:
        for _ in range(40):  # the same incidents again: an audit long enough to interrupt
            fh.write("\n".join(lines) + "\n")
    out = tmp_path / "report"
    proc = subprocess.Popen([str(BWC), "audit", "--rulesets", str(ROOT / "rulesets"), "--policy", IL, "--workers",
                             str(WORKERS), "--cluster", "local", "--out", str(out), str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=from_a_terminal)
    try:
        deadline = time.monotonic() + 90
        workers: set[int] = set()
        while len(workers) < WORKERS and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            workers = children(proc.pid)
        assert len(workers) >= WORKERS, "the local cluster did not start its workers"
        time.sleep(3.0)  # the workers are auditing
        assert proc.poll() is None, "the audit finished before the interrupt: make the export bigger"
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal sends it: to every process of the group
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("bwc audit --cluster local hung after Ctrl-C")
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert code == 130, stderr
        assert "Traceback" not in stderr, stderr
        deadline = time.monotonic() + 10
        while [pid for pid in workers if alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "cluster workers left running"
        assert not out.exists(), "a partial report was left"
    finally:
        if proc.poll() is None:  # pragma: no cover - only after a failure above
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
