"""Synthetic audit exports: realistic incidents with the actions taken on their footage, and a share
of planted violations listed in a truth file, so that an audit can be checked against it.

    from engine.api import Library
    from engine.tools.generate import generate
    stats = generate(Library.load("rulesets/"), "illinois-50-ilcs-706-10-20", "out.jsonl", incidents=1000,
                     seed=7, shares=0.1, truth="truth.jsonl")

How one incident is made (each incident has its own random generator, seeded from the seed and its
number, so the same seed gives the same bytes whatever the number of worker processes):

1. A scenario: facts, and a timeline of the events the ruleset talks about (dispatch, arrival, a
   contact, a few scene events such as a frisk, an arrest or a use of force, the end of the
   encounter, the report, and later events such as records requests or complaints), about ten
   events with the actions. Incidents are spread over `months` months from `start`, and carry
   grouping columns (district, unit).
2. Its obligations: `Library.decide` on the scenario (actions never change obligations).
3. The actions of a compliant agency: every officer's camera records the mandatory windows (with a
   margin) and stays off where recording is forbidden; notice is given in every notice window;
   views are by roles and for purposes nothing forbids at that time; biometric analysis only for
   redaction; every required release goes to each recipient on time, redacted where redaction is
   required; footage is deleted after the retention minimum and before the maximum. A scenario no
   agency could comply with (two duties that contradict each other) is drawn again.
4. Planted violations: for each check below, with probability `shares[check]` when the incident
   gives it something to break, the generator changes the actions to break it (a gap in the
   recording; no notice; a view or a biometric run inside a prohibition; a late, missing or
   unredacted release; an early deletion; no deletion past the maximum, with a later action so
   that the incident's own time has passed the maximum). The truth file lists, for every planted
   change, each obligation (incident, check, rule) the changed actions break; the planting keeps
   clear of boundaries (grace periods, the deadline day itself) so the answer is not a matter of
   rounding.

Nothing here runs the audit: the truth comes from what the generator planted.

The package, one job per module: `draw` (and `facts`) draw the scenario; `comply` plans a
compliant agency's actions (`plan`), reading the decision through `duties`; `plant` changes them,
one planter per check; `generator` makes one incident from these; `parallel` makes many with the
one executor; `write` and `table` write them; `checks` and `stats` name and count the checks.
"""

from engine.tools.generate.checks import CHECKS, parse_shares
from engine.tools.generate.errors import GenerateError
from engine.tools.generate.generator import Generator
from engine.tools.generate.parallel import iter_incidents
from engine.tools.generate.stats import Stats, to_text
from engine.tools.generate.table import csv_columns, csv_rows
from engine.tools.generate.write import Format, generate

__all__ = ["CHECKS", "Format", "GenerateError", "Generator", "Stats", "csv_columns", "csv_rows", "generate",
           "iter_incidents", "parse_shares", "to_text"]
