"""Planting violations in an incident's compliant actions: one planter per check, tried in the
order of CHECKS, each with its share of the incidents that allow it.

At most one release check and one retention check is planted per incident: a second would change
actions the first one's truth lines describe.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.tools.generate.checks import CHECKS
from engine.tools.generate.plant import access, camera, notice, release, retention
from engine.tools.generate.plant.case import Case, Planter
from engine.tools.generate.stats import Stats

PLANTERS: dict[str, Planter] = {
    "camera_off_in_mandatory_window": camera.camera_off,
    "no_notice": notice.no_notice,
    "viewed_while_denied": access.viewed_while_denied,
    "biometric_while_prohibited": access.biometric_while_prohibited,
    "released_late": release.released_late,
    "not_released": release.not_released,
    "unredacted_release": release.unredacted_release,
    "deleted_before_minimum": retention.deleted_before_minimum,
    "kept_past_maximum": retention.kept_past_maximum,
}
_RELEASE = ("released_late", "not_released", "unredacted_release")
_RETENTION = ("deleted_before_minimum", "kept_past_maximum")


def plant(case: Case, shares: Mapping[str, float], stats: Stats) -> None:
    """Plant each check in `case.plan` with probability `shares[check]` when the case allows it,
    counting in `stats` the checks it allowed (`eligible`) and those planted."""
    done_release = done_retention = False
    for check in CHECKS:
        roll = case.r.random()
        if check in _RELEASE and done_release:
            continue
        if check in _RETENTION and done_retention:
            continue
        planter = PLANTERS[check]
        if not planter(case, False):
            continue
        stats.eligible[check] += 1
        if roll < shares[check] and planter(case, True):
            stats.planted[check] += 1
            done_release |= check in _RELEASE
            done_retention |= check in _RETENTION


__all__ = ["PLANTERS", "Case", "Planter", "plant"]
