"""Measure `bwc impact` on a generated corpus of Illinois incidents, in one command.

    .venv/bin/python benchmarks/impact_bench.py                  # 100,000 incidents, both Illinois versions
    .venv/bin/python benchmarks/impact_bench.py --n 2000 --keep /tmp/corpus.jsonl

Writes a seeded corpus of incidents valid under both versions of the Illinois Act (every fact and
event the older version knows, with values of the right type; none of the facts only the newer one
declares), then runs `bwc impact illinois-50-ilcs-706-10-20@2016.1.0 illinois-50-ilcs-706-10-20@2021.1.0
CORPUS --format json` as a subprocess and prints the wall time, the throughput and the counts by kind of
change. The corpus is written to a temporary folder unless `--keep` names a file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import _value  # noqa: E402
from policy.repository import Repository  # noqa: E402
from policy.vocabulary import vocabulary_for  # noqa: E402

IL = "illinois-50-ilcs-706-10-20"
A, B = f"{IL}@2016.1.0", f"{IL}@2021.1.0"
ZONE = "America/Chicago"
SEED = 20240601

# The shape of an encounter: openers, what can happen during it, and what comes after.
OPENERS = ["dispatched", "contact_initiated"]
DURING = ["entered_patrol_car", "exited_patrol_car", "request_to_stop_recording", "informant_contact",
          "continue_recording_grounds", "entered_residence", "use_of_force", "firearm_discharged", "arrest",
          "detention", "death_or_great_bodily_harm", "activation_prevented", "activation_practicable"]
AFTER = ["report_completed", "complaint_filed", "flagged", "records_request", "retention_request",
         "internal_investigation_opened", "evidentiary_value_determined", "used_in_proceeding", "case_closed",
         "written_permission_given"]


def corpus(n: int, seed: int = SEED) -> Any:
    """`n` seeded incidents (dicts) valid under both Illinois versions, dated 2016 to 2025."""
    repo = Repository.load(ROOT / "rulesets")
    vocab = vocabulary_for(repo.get(IL, "2016.1.0"))
    facts = {name: vocab.facts[name] for name in ("in_uniform", "location_type", "privacy_victim_or_witness",
                                                  "minor_involved", "assignment")}
    r = random.Random(seed)
    start = datetime(2016, 1, 1, 0, 0)
    for k in range(n):
        t = start + timedelta(days=r.randint(0, 3650), minutes=r.randint(0, 1439))
        fs = {name: _value(r, spec) for name, spec in facts.items() if r.random() < 0.7}
        if r.random() < 0.8:
            fs["in_uniform"] = True
        types = [r.choice(OPENERS)]
        types += r.sample(DURING, r.randint(0, 4))
        types.append("encounter_ended")
        types += r.sample(AFTER, r.randint(0, 3))
        events = []
        for i, etype in enumerate(types):
            if i:
                t += timedelta(minutes=r.randint(1, 60) if etype in DURING or etype == "encounter_ended"
                               else r.randint(60, 60 * 24 * 200))
            ev: dict[str, Any] = {"type": etype, "at": t.strftime("%Y-%m-%dT%H:%M:%S") + _offset(t)}
            for name, spec in vocab.attributes_of(etype).items():
                if name != "officer" and r.random() < 0.8:
                    ev[name] = _value(r, spec)
            events.append(ev)
        yield {"id": f"il-{seed}-{k}", "timezone": ZONE, "facts": fs, "events": events}


def _offset(t: datetime) -> str:
    from zoneinfo import ZoneInfo

    off = t.replace(tzinfo=ZoneInfo(ZONE)).utcoffset()
    assert off is not None
    hours = int(off.total_seconds() // 3600)
    return f"{hours:+03d}:00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="incidents in the corpus")
    parser.add_argument("--keep", type=Path, help="write the corpus here (and keep it)")
    parser.add_argument("--workers", type=int, default=0, help="passed to bwc impact (0: one per CPU)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "corpus.jsonl"
        t0 = time.perf_counter()
        with path.open("w", encoding="utf-8") as fh:
            for inc in corpus(args.n):
                fh.write(json.dumps(inc, separators=(",", ":")) + "\n")
        wrote = time.perf_counter() - t0
        cmd = [str(Path(sys.executable).parent / "bwc"), "impact", A, B, str(path), "--format", "json",
               "--workers", str(args.workers), "--rulesets", str(ROOT / "rulesets")]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        wall = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        sys.exit(f"bwc impact failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    print(f"corpus: {args.n:,} incidents ({path.stat().st_size / 1e6 if args.keep else 0:.1f} MB kept) "
          f"written in {wrote:.1f} s")
    print("command: bwc impact " + " ".join(cmd[2:]))
    print(f"wall time: {wall:.1f} s; throughput: {report['incidents'] / wall:,.0f} incidents/s "
          f"(each judged under both versions); cpus: {len(os.sched_getaffinity(0))}")
    print(f"changed: {report['changed']:,} of {report['incidents']:,}; bad lines: {report['errors']}")
    for label, item in report["changes"].items():
        print(f"  {label}: {item['incidents']:,}")
    print(done.stderr.strip())


if __name__ == "__main__":
    main()
