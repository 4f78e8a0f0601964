"""Instructions per incident, counted by valgrind's callgrind: a figure that does not move with the
host's load, for comparing two commits on a shared machine (where wall-clock times move by tens of
percent from one run to the next, more than most changes are worth).

    .venv/bin/python benchmarks/instructions.py                        # this checkout, every stage
    .venv/bin/python benchmarks/instructions.py --tree ../other-clone  # another checkout, same export
    .venv/bin/python benchmarks/instructions.py --stage audit --incidents 300

Needs valgrind. Generates a seeded export of the chosen ruleset (`bwc generate`, written to a temporary
folder and removed), then runs this file's `--inner` mode under callgrind twice, once with one pass over
the incidents and once with three: the difference, divided by two passes and the number of incidents, is
what one incident costs, with start-up, loading the rulesets and the first pass's warm-up cancelled out.
String hashing is seeded alike in every run (PYTHONHASHSEED=0), so that sets are walked in the same order.

Stages: `read` (IncidentReader.read of each decoded incident), `decide` (Policy.decide of each read
incident), `audit` (the audit's per-chunk loop as a worker runs it: the line decoded and read, decided,
checked and tallied).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("read", "decide", "audit")


def _inner(tree: Path, policy: str, export: Path, stage: str, passes: int) -> None:
    """The timed work, run under callgrind: `passes` passes of `stage` over the export's incidents."""
    sys.path.insert(0, str(tree))
    from engine.api import Library
    from engine.audit.runner import _audit_units, _auditor, _chunks, _open

    library = Library.load(str(tree / "rulesets"))
    chosen = library.select(policy)
    if stage == "audit":
        auditor = _auditor(library, policy, None)
        export = _open(export, auditor.vocabulary, None)
        chunks = list(_chunks(export, 200, {}))
        for _ in range(passes):
            for chunk in chunks:
                _audit_units(auditor, export.parser, chunk.units, None)
        return
    data = []
    for line in export.read_text(encoding="utf-8").splitlines():
        incident = json.loads(line)
        incident.pop("groups", None)  # an export's grouping columns, not part of an incident
        data.append(incident)
    read = [chosen.read(d) for d in data]
    for _ in range(passes):
        if stage == "read":
            for d in data:
                chosen.read(d)
        else:
            for incident in read:
                chosen.decide(incident)


def _count(tree: Path, policy: str, export: Path, stage: str, passes: int) -> int:
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                           __file__, "--inner", "--tree", str(tree), "--policy", policy, "--stage", stage,
                           "--passes", str(passes), str(export)], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})  # the same set and dict orders each run
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    ap.add_argument("--policy", default="illinois-50-ilcs-706-10-20")
    ap.add_argument("--stage", choices=[*STAGES, "all"], default="all")
    ap.add_argument("--incidents", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--passes", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("export", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    tree = args.tree.resolve()
    if args.inner:
        _inner(tree, args.policy, args.export, args.stage, args.passes)
        return 0
    with tempfile.TemporaryDirectory(prefix="bwc-instructions-") as tmp:
        export = Path(tmp) / "export.jsonl"
        bwc = Path(sys.executable).with_name("bwc")
        subprocess.run([str(bwc) if bwc.exists() else sys.executable, *([] if bwc.exists() else ["-m", "engine.cli"]),
                        "generate", "--rulesets", str(ROOT / "rulesets"), "--policy", args.policy,
                        "--incidents", str(args.incidents), "--seed", str(args.seed), "--violations", "0.1",
                        "--format", "jsonl", str(export)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for stage in STAGES if args.stage == "all" else (args.stage,):
            one = _count(tree, args.policy, export, stage, 1)
            three = _count(tree, args.policy, export, stage, 3)
            print(f"{stage}: {(three - one) / (2 * args.incidents):,.0f} instructions per incident "
                  f"({args.incidents} incidents of {args.policy}, seed {args.seed}; tree {tree})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
