"""Replay benchmark: generate incidents (engine/tools/generate/), import them into a fresh store with
`bwc import`, and time `bwc replay` of a candidate version over all of them - the same replay the
service runs for POST /v1/replays. Writes benchmarks/replay_results.json (atomically) and prints the figures.

    .venv/bin/python benchmarks/replay_bench.py            # 100,000 stored incidents
    .venv/bin/python benchmarks/replay_bench.py --quick    # 2,000 (a smoke run)

The candidate is the newest Illinois version made a draft that keeps every recording 120 days instead
of 90, so every decision's retention moves. Options: --incidents N, --workers N (default: every core),
--seed S, --store URL (default: a SQLite file in a temporary folder, removed afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.io.output import write_text_atomic  # noqa: E402

FULL, QUICK = 100_000, 2_000
IL = "illinois-50-ilcs-706-10-20"
CANDIDATE = "2026.1.0"


def _bwc() -> list[str]:
    exe = Path(sys.executable).with_name("bwc")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]


def candidate_text() -> str:
    """Illinois 2021.2.0 as a draft keeping every recording 120 days (instead of 90)."""
    text = (ROOT / "rulesets" / IL / "2021.2.0.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 2021.2.0", f"version: {CANDIDATE}", 1).replace("status: adopted", "status: draft", 1)
    text = text.replace("corrects: 2021.1.0\n", "", 1)
    old = "retain: {at_least: P90D, after: incident}"
    if old not in text:
        raise SystemExit("the Illinois ruleset no longer has the 90-day rule this benchmark changes")
    return text.replace(old, "retain: {at_least: P120D, after: incident}")


def _timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, check=True, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - t0, done


def run(incidents: int, workers: int, seed: int, store: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bwc-replay-bench-") as tmp:
        export = Path(tmp) / "export.jsonl"
        drafts = Path(tmp) / "drafts" / IL
        drafts.mkdir(parents=True)
        (drafts / f"{CANDIDATE}.yaml").write_text(candidate_text(), encoding="utf-8")
        url = store or f"sqlite:///{Path(tmp) / 'bwc.db'}"
        rulesets = ["--rulesets", str(ROOT / "rulesets"), "--rulesets", str(drafts.parent)]
        generated, _ = _timed([*_bwc(), "generate", "--rulesets", str(ROOT / "rulesets"), "--policy", IL,
                               "--incidents", str(incidents), "--seed", str(seed), "--jobs", str(workers),
                               str(export)])
        size = export.stat().st_size
        imported, _ = _timed([*_bwc(), "import", *rulesets, "--store", url, "--policy", IL, str(export)])
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        replayed, done = _timed([*_bwc(), "replay", *rulesets, "--store", url, "--workers", str(workers),
                                 "--format", "json", f"{IL}@{CANDIDATE}"])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        report = json.loads(done.stdout)
    return {
        "policy": IL, "candidate": f"{IL}@{CANDIDATE}", "baseline": report["a"], "incidents": incidents,
        "export_bytes": size, "workers": workers, "store": "sqlite (temporary)" if store is None else "given",
        "generate_seconds": round(generated, 2), "import_seconds": round(imported, 2),
        "import_incidents_per_second": round(incidents / imported, 1),
        "replay_seconds": round(replayed, 2), "replay_incidents_per_second": round(incidents / replayed, 1),
        "replayed": report["incidents"], "changed": report["changed"],
        # the largest child so far: the replay's parent process when it is the largest, as it is here
        "peak_rss_mib": round(max(before, peak) / 1024, 1),
        "replay_stderr": done.stderr.strip().splitlines()[-1:],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK:,} incidents instead of {FULL:,}")
    ap.add_argument("--incidents", type=int, default=None)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", default=None, help="a store URL (default: a temporary SQLite file)")
    ap.add_argument("--output", type=Path, default=None,
                    help="where to write the JSON results (default: benchmarks/replay_results.json, "
                         "or replay_results.quick.json with --quick)")
    args = ap.parse_args(argv)
    n = args.incidents or (QUICK if args.quick else FULL)
    output = args.output or ROOT / "benchmarks" / ("replay_results.quick.json" if args.quick else "replay_results.json")
    result = run(n, args.workers, args.seed, args.store)
    doc = {"meta": {"python": platform.python_version(), "machine": platform.machine(),
                    "system": platform.system(), "cpus": os.cpu_count(), "quick": args.quick,
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
           "replay": result}
    write_text_atomic(output, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(f"{n:,} incidents ({result['export_bytes'] / 1e6:,.1f} MB) generated in {result['generate_seconds']:.1f} s, "
          f"imported in {result['import_seconds']:.1f} s; replayed under {result['candidate']} against "
          f"{result['baseline']} in {result['replay_seconds']:.1f} s with {args.workers} worker(s) "
          f"({result['replay_incidents_per_second']:,.0f} incidents/s): {result['changed']:,} of "
          f"{result['replayed']:,} decisions change")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
