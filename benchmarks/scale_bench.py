"""Scale-out benchmark: the same `bwc audit` with the plain process pool and on a local Dask cluster, in one
run, on one export: wall time, peak memory of each, and whether the two report folders are byte-identical.
Writes benchmarks/scale_results.json (atomically) and prints the figures.

    .venv/bin/python benchmarks/scale_bench.py                       # 1,000,000 incidents (about 10 events each)
    .venv/bin/python benchmarks/scale_bench.py --quick               # 20,000 incidents (a smoke run)
    .venv/bin/python benchmarks/scale_bench.py --export FILE.jsonl   # an export made before (`bwc generate`)

Options: --policy ID (default illinois-50-ilcs-706-10-20), --incidents N, --workers N (default: every
core; the same number of processes for both runners), --seed S. A generated export is written to a
temporary folder and removed.

Memory is the resident set of the whole process tree (bwc and every process it started: the pool's
workers, or the cluster's worker processes; the scheduler and nannies of a local cluster run inside
bwc), sampled every 0.2 s from /proc: `peak_tree_rss_mib` is the largest sum seen, `peak_process_rss_mib`
the largest single process. The runners run one after the other, the pool first.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.io.output import write_text_atomic  # noqa: E402

FULL, QUICK = 1_000_000, 20_000
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _bwc() -> list[str]:
    exe = Path(sys.executable).with_name("bwc")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]


def _tree(root: int) -> dict[int, int]:
    """RSS in bytes of `root` and every process descending from it, read from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text().split()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(statm[1]) * PAGE
    inside, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in inside:
                inside.add(child)
                frontier.append(child)
    return {pid: rss.get(pid, 0) for pid in inside}


class _Peak:
    """Samples the RSS of a process tree until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tree = 0
        self.process = 0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            found = _tree(self.pid)
            self.tree = max(self.tree, sum(found.values()))
            self.process = max(self.process, max(found.values(), default=0))
            self.processes = max(self.processes, len(found))
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def timed_audit(export: Path, out: Path, policy: str, workers: int, cluster: str | None) -> dict[str, Any]:
    """`bwc audit` of `export` into `out`: its wall time, the peak RSS of its process tree, what it printed."""
    argv = [*_bwc(), "audit", "--rulesets", str(ROOT / "rulesets"), "--policy", policy, "--workers", str(workers),
            "--out", str(out), str(export)]
    if cluster is not None:
        argv[-1:-1] = ["--cluster", cluster]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = _Peak(proc.pid)
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - t0
    peak.stop()
    if proc.returncode != 0:
        raise SystemExit(f"bwc audit failed ({proc.returncode}): {stderr.strip()}")
    shown = ["bwc", *argv[len(_bwc()):]]
    return {"command": " ".join(shown), "seconds": round(seconds, 2),
            "peak_tree_rss_mib": round(peak.tree / 2**20, 1), "peak_process_rss_mib": round(peak.process / 2**20, 1),
            "processes": peak.processes, "output": stdout.strip().splitlines()}


def _same(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def run(policy: str, incidents: int, workers: int, seed: int, export: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bwc-scale-bench-") as tmp:
        generated: float | None = None
        if export is None:
            export = Path(tmp) / "export.jsonl"
            t0 = time.perf_counter()
            subprocess.run([*_bwc(), "generate", "--rulesets", str(ROOT / "rulesets"), "--policy", policy,
                            "--incidents", str(incidents), "--seed", str(seed), "--violations", "0.1",
                            "--jobs", str(workers), str(export)], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
            generated = round(time.perf_counter() - t0, 2)
        with export.open("rb") as fh:
            rows = sum(1 for _ in fh)
        events = 0
        with export.open("rb") as fh:  # every event of a generated export is written `{"type":...`
            for line in fh:
                events += line.count(b'{"type":')
        pool = timed_audit(export, Path(tmp) / "pool", policy, workers, None)
        dask = timed_audit(export, Path(tmp) / "dask", policy, workers, "local")
        identical = _same(Path(tmp) / "pool", Path(tmp) / "dask")
    return {
        "policy": policy, "export": str(export), "export_bytes": export.stat().st_size if export.exists() else None,
        "incidents": rows, "events": events, "workers": workers, "generate_seconds": generated,
        "pool": pool, "dask_local": dask,
        "overhead": round(dask["seconds"] / pool["seconds"] - 1, 4),
        "reports_byte_identical": identical,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK:,} incidents instead of {FULL:,}")
    ap.add_argument("--incidents", type=int, default=None)
    ap.add_argument("--export", type=Path, default=None, help="audit this JSON Lines export instead of generating one")
    ap.add_argument("--policy", default="illinois-50-ilcs-706-10-20")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "scale_results.json")
    args = ap.parse_args(argv)
    n = args.incidents or (QUICK if args.quick else FULL)
    result = run(args.policy, n, args.workers, args.seed, args.export)
    meta = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "system": platform.system(), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_text_atomic(args.output, json.dumps({"scale": result, "meta": meta}, indent=2, sort_keys=True) + "\n")
    for name in ("pool", "dask_local"):
        r = result[name]
        print(f"{name:>10}: {r['seconds']:8.2f} s, peak tree RSS {r['peak_tree_rss_mib']:,.1f} MiB "
              f"(largest process {r['peak_process_rss_mib']:,.1f} MiB)")
    print(f"{result['incidents']:,} incidents, {result['events']:,} events; local-cluster overhead "
          f"{100 * result['overhead']:+.1f}%; reports byte-identical: {result['reports_byte_identical']}")
    return 0 if result["reports_byte_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
