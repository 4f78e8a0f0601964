"""The peers' footage policy as a bwc ruleset, decided by our engine and by the peers in one run.

The peers (zen-engine, cedarpy, regopy, durable-rules, and a plain-Python baseline) live in
../shared/bench/peers_bench.py (beside the repository), imported by path; their policy is encoded here in
`peer_policy_base.yaml` and, for the scaled variant (95 category rules), generated from it.
Each peer incident (a flat dict) is turned into a bwc incident (facts + one event); the answer is
read back as the peers' tuple (retention days, release days, redact, officer may review), with
-1 for indefinite retention or no release deadline.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.api import Policy
from policy.loader import load_ruleset_text

HERE = Path(__file__).parent
# The shared peers benchmark lies beside the repository (../shared), wherever it is checked out.
PEERS_BENCH = HERE.parent.parent / "shared" / "bench" / "peers_bench.py"
START = "2024-03-01T12:00:00-07:00"  # when every peer incident began (America/Denver)
START_DAY = date(2024, 3, 1)
EVENT_OF = {"call_for_service": "dispatched", "traffic_stop": "contact_initiated",
            "pedestrian_stop": "contact_initiated", "protest": "crowd_control", "welfare_check": "arrived"}
Outcome = tuple[int, int, bool, bool]


def load_peers() -> ModuleType | None:
    """The peers' benchmark module, or None when it is not on this machine."""
    if not PEERS_BENCH.exists():
        return None
    spec = importlib.util.spec_from_file_location("peers_bench", PEERS_BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["peers_bench"] = module
    try:
        spec.loader.exec_module(module)
    except ImportError:  # orjson missing: the peers cannot run
        return None
    return module


def base_yaml() -> str:
    return (HERE / "peer_policy_base.yaml").read_text()


def scaled_yaml(categories: list[str], retention: dict[str, int]) -> str:
    """The base policy plus one retention rule per footage category (the peers' scaled variant)."""
    text = base_yaml().replace("version: 1.0.0", "version: 1.1.0", 1)
    rules = "".join(
        f"\n  - id: ret-{c.replace('_', '-')}\n"
        f"    summary: Footage in category {c} is kept {retention[c]} days.\n"
        f"    cite: peers ret_{c}\n"
        f"    when: {{facts: {{category: {c}}}}}\n"
        f"    retain: {{at_least: P{retention[c]}D, after: incident}}\n"
        for c in categories)
    return text + rules


def to_bwc(i: dict[str, Any]) -> dict[str, Any]:
    """A peer incident as a bwc incident: its fields as facts, its type as the one event."""
    return {"id": "peer", "timezone": "America/Denver", "facts": {
        "force_injury": i["force_injury"], "firearm_at_person": i["firearm_at_person"],
        "arrest_class": i["arrest_class"], "complaint": i["complaint"],
        "flagged_by_officer": i["flagged_by_officer"], "minor_involved": i["minor_involved"],
        "location_type": i["location"], "days_since_incident": i["days_since_incident"],
        "category": i["category"]}, "events": [{"type": EVENT_OF[i["type"]], "at": START}]}


def decide_full(policy: Policy, *, to_json: bool = False) -> Callable[[dict[str, Any]], Outcome]:
    """Through `Policy.decide`, reading the answer from summary and obligations; with `to_json`, the
    decision's canonical JSON is made too, as a service answering with it would."""
    def decide(i: dict[str, Any]) -> Outcome:
        d = policy.decide(to_bwc(i))
        if to_json:
            d.to_json()
        keep = d.summary.retention.minimum
        ret = -1 if keep == "indefinite" else (keep - START_DAY).days  # type: ignore[operator]
        public = d.summary.release.get("public")
        rel = -1 if public is None else (public.by - START_DAY).days
        live = [o for o in d.obligations if o.overridden_by is None]
        redact = any(o.kind == "release" and o.redact for o in live)
        review = not any(o.kind == "access" and o.effect.value == "must_not" and "involved_officer" in (o.role or ())
                         and o.purpose in (None, "statement") for o in live)
        return ret, rel, redact, review

    return decide


def policies(peers: ModuleType) -> dict[str, Policy]:
    return {"base": Policy.from_ruleset(load_ruleset_text(base_yaml(), "peer_policy_base.yaml")),
            "scaled": Policy.from_ruleset(load_ruleset_text(scaled_yaml(peers.CATS, peers.CAT_RET),
                                                            "peer_policy_scaled.yaml"))}
