"""Column-map benchmark: one officer's CAD printout and video list, read through the shipped
`axon-cad-auto-tagging` map, and `bwc audit --map ... --recordings ...` timed on them, with the peak
resident memory of the command. Recording matching is the part whose cost depends on how the calls lie.

    .venv/bin/python benchmarks/columnmap_bench.py --calls 20000 --layout apart
    .venv/bin/python benchmarks/columnmap_bench.py --calls 4000 --layout overlapping

`apart`: a 30-minute call every hour, each with one video. `overlapping`: a 7-hour call every minute
(about 420 open at once), each with one video; most videos then fall in more windows than a map may match.
The files are written to a temporary folder and removed.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2024, 3, 1, tzinfo=UTC)


def _z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def write_files(folder: Path, calls: int, layout: str) -> tuple[Path, Path]:
    every, length = (timedelta(minutes=1), timedelta(hours=7)) if layout == "overlapping" \
        else (timedelta(hours=1), timedelta(minutes=30))
    cad, videos = folder / "cad.csv", folder / "videos.csv"
    with cad.open("w", encoding="utf-8") as c, videos.open("w", encoding="utf-8") as v:
        c.write("Event ID,Officer Badge ID,Officer Dispatched DateTime,Officer Cleared DateTime,Call type\n")
        v.write("Officer Badge ID,Recorded Start,Recorded End\n")
        for i in range(calls):
            dispatched = START + i * every
            c.write(f"E{i},B1,{_z(dispatched)},{_z(dispatched + length)},traffic\n")
            started = dispatched + timedelta(minutes=1)
            v.write(f"B1,{_z(started)},{_z(started + timedelta(minutes=10))}\n")
    return cad, videos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--layout", choices=["apart", "overlapping"], default="apart")
    parser.add_argument("--policy", default="boston-bpcat-draft")
    args = parser.parse_args(argv)
    exe = Path(sys.executable).with_name("bwc")
    bwc = [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]
    with tempfile.TemporaryDirectory(prefix="bwc-map-bench-") as tmp:
        cad, videos = write_files(Path(tmp), args.calls, args.layout)
        t0 = time.perf_counter()
        done = subprocess.run([*bwc, "audit", "--rulesets", str(ROOT / "rulesets"), "--policy", args.policy,
                               "--workers", "1", "--map", "axon-cad-auto-tagging", "--recordings", str(videos),
                               "--out", str(Path(tmp) / "report"), str(cad)],
                              capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    said = [line for line in done.stdout.splitlines() if line.startswith("recordings:")]
    print(f"{args.calls:,} calls, {args.layout}: {seconds:.2f} s, peak RSS {peak_mib:.0f} MiB, exit {done.returncode}")
    print("\n".join(said) or done.stderr.strip())
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
