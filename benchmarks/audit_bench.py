"""Audit benchmark: generate a synthetic export (engine/tools/generate/) and time `bwc audit` on it with
every core, with the peak resident memory of its process tree (sampled from /proc as scale_bench.py does).
Writes benchmarks/audit_results.json (atomically) and prints the figures.

    .venv/bin/python benchmarks/audit_bench.py            # 1,000,000 incidents (about 10 events each)
    .venv/bin/python benchmarks/audit_bench.py --quick    # 20,000 incidents (a smoke run)

Options: --policy ID (default illinois-50-ilcs-706-10-20), --incidents N, --format jsonl|csv,
--workers N (default: every core), --seed S. The export is written to a temporary folder and removed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.scale_bench import timed_audit  # noqa: E402
from engine.io.output import write_text_atomic  # noqa: E402

FULL, QUICK = 1_000_000, 20_000


def _bwc() -> list[str]:
    exe = Path(sys.executable).with_name("bwc")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]


def run(policy: str, incidents: int, fmt: str, workers: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bwc-audit-bench-") as tmp:
        export = Path(tmp) / f"export.{fmt}"
        truth = Path(tmp) / "truth.jsonl"
        t0 = time.perf_counter()
        subprocess.run([*_bwc(), "generate", "--rulesets", str(ROOT / "rulesets"), "--policy", policy,
                        "--incidents", str(incidents), "--seed", str(seed), "--violations", "0.1",
                        "--format", fmt, "--jobs", str(workers), "--truth", str(truth), str(export)],
                       check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
        generated = time.perf_counter() - t0
        size = export.stat().st_size
        with export.open("rb") as fh:
            rows = sum(1 for _ in fh) - (1 if fmt == "csv" else 0)
        planted = sum(1 for _ in truth.open())
        audit = timed_audit(export, Path(tmp) / "report", policy, workers, None)
        summary = json.loads((Path(tmp) / "report" / "summary.json").read_text())
    by_sev = summary.get("counts", {}).get("by_severity", {})
    events = rows if fmt == "csv" else None
    return {
        "policy": policy, "format": fmt, "incidents": incidents, "rows": rows, "events": events,
        "export_bytes": size, "workers": workers, "generate_seconds": round(generated, 2),
        "audit_seconds": audit["seconds"], "incidents_per_second": round(incidents / audit["seconds"], 1),
        "peak_tree_rss_mib": audit["peak_tree_rss_mib"], "peak_process_rss_mib": audit["peak_process_rss_mib"],
        "planted_violations": planted, "violations_found": by_sev.get("violation"),
        "audit_output": audit["output"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK:,} incidents instead of {FULL:,}")
    ap.add_argument("--incidents", type=int, default=None)
    ap.add_argument("--policy", default="illinois-50-ilcs-706-10-20")
    ap.add_argument("--format", dest="fmt", choices=["jsonl", "csv"], default="jsonl")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "audit_results.json")
    args = ap.parse_args(argv)
    n = args.incidents or (QUICK if args.quick else FULL)
    result = run(args.policy, n, args.fmt, args.workers, args.seed)
    doc = {"meta": {"python": platform.python_version(), "machine": platform.machine(),
                    "system": platform.system(), "cpus": os.cpu_count(), "quick": args.quick,
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
           "audit": result}
    write_text_atomic(args.output, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(f"{n:,} incidents ({result['rows']:,} lines, {result['export_bytes'] / 1e6:,.1f} MB {args.fmt}) "
          f"generated in {result['generate_seconds']:.1f} s; audited in {result['audit_seconds']:.1f} s "
          f"with {args.workers} worker(s): {result['incidents_per_second']:,.0f} incidents/s, peak RSS "
          f"{result['peak_tree_rss_mib']:,.1f} MiB (process tree), {result['peak_process_rss_mib']:,.1f} MiB "
          f"(largest process); "
          f"{result['planted_violations']:,} violations planted, {result['violations_found']:,} found")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
