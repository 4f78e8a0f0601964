"""The identity of a decision: the same programs, incident and as-of give the same `decision_id`."""

from __future__ import annotations

import hashlib
from datetime import datetime

from engine.core.incident import Incident
from policy.canonical import dumps_canonical

Identity = tuple[tuple[str, ...], Incident, datetime]
"""What a decision's id hashes: the digests of the programs that decided it, the incident, the as-of time."""


def decision_id(digests: tuple[str, ...], incident: Incident, as_of: datetime) -> str:
    payload = dumps_canonical([list(digests), incident.to_json(), as_of.isoformat()])
    return "dec-" + hashlib.sha256(payload.encode()).hexdigest()[:32]
