"""The identity of a decision: the same programs, incident and as-of give the same `decision_id`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime

from engine.core.incident import Incident
from engine.core.program import Program


def decision_id(programs: Iterable[Program], incident: Incident, as_of: datetime) -> str:
    payload = json.dumps([[p.digest for p in programs], incident.to_json(), as_of.isoformat()], sort_keys=True,
                         separators=(",", ":"), ensure_ascii=False)
    return "dec-" + hashlib.sha256(payload.encode()).hexdigest()[:32]
