"""The impact of an amendment: decide every incident under two ruleset versions and say what changes.

    from engine.tools.impact import Side, impact
    report = impact(Side.of(["rulesets"], "illinois-50-ilcs-706-10-20@2016.1.0"),
                    Side.of(["rulesets"], "illinois-50-ilcs-706-10-20@2021.1.0"),
                    Path("incidents.jsonl"))
    print(render_json(report))      # as text or Markdown: engine.cli.text.impact

Both versions are pinned: each incident is decided under A and under B exactly as `bwc decide
--policy ID@VERSION` would (no selection by date, no amendment layers), as of the same time. The
two decisions are compared obligation by obligation, matched by (layer, rule, trigger event), and
summary by summary. Every difference gets a label (`changes`); the report counts, for each label,
the incidents whose decision shows it, and keeps their ids.

The input is read by the one incident reader (engine.io.export.read_export: JSON Lines, `.json`,
CSV, Parquet, `-`), streamed in chunks, so memory stays bounded by the chunk size and the ids kept.
With more than one worker, chunks are decided in worker processes (engine.executor) and merged in
input order, so the report is the same whatever the number of workers. Each difference says which
rules it concerns and what moved (`Difference`). An incident only one version can read is not a
change: it is counted under `refused` (A only / B only) with the reasons. A line that is not an
incident, an incident both versions refuse, or any other failure of one record is reported with its
line number, and the rest goes on. An id given more than once is compared and counted each time,
as the input gives it, and then reported (`repeated_ids`), from the ids read sorted in bounded
memory (engine.io.sorting).

The package: `sides` (the two versions compared), `differences` (what differs between two
decisions), `compare` (deciding an export under both, in parallel), `report` (the counts, and their
JSON form; the text and Markdown forms are the command line's: engine.cli.text.impact).
"""

from engine.tools.impact.compare import Comparer, impact, run, workers_used
from engine.tools.impact.differences import Difference, compare_days, differences, obligation_differences
from engine.tools.impact.report import SIDES, BadLine, ImpactReport, ImpactTally, render_json
from engine.tools.impact.sides import Side, policy_of

__all__ = ["SIDES", "BadLine", "Comparer", "Difference", "ImpactReport", "ImpactTally", "Side", "compare_days",
           "differences", "impact", "obligation_differences", "policy_of", "render_json", "run", "workers_used"]
