"""The audit's reading of an incident's actions: by event type, cut at the as-of time, ties in input order."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from engine.audit.checks.actions import Actions
from engine.audit.checks.context import CheckContext
from engine.core.decision.model import EventRef
from engine.core.incident import Event, Incident

Z = timezone(timedelta(hours=-5))
T0 = datetime(2021, 11, 7, 0, 30, tzinfo=Z)


def _incident(*events: tuple[str, int, dict[str, Any]]) -> Incident:
    """Events as (type, minutes after T0, attributes), in input order."""
    return Incident.of("I-1", "America/Chicago", {},
                       [Event(t, T0 + timedelta(minutes=m), attrs, i) for i, (t, m, attrs) in enumerate(events)])


def _ts(minutes: float) -> float:
    return (T0 + timedelta(minutes=minutes)).timestamp()


def test_recordings_pair_starts_and_stops_in_time_order_ties_in_input_order() -> None:
    inc = _incident(("recording_started", 10, {"officer": "A"}), ("recording_stopped", 0, {"officer": "A"}),
                    ("recording_stopped", 10, {"officer": "A"}), ("recording_started", 20, {"officer": "B"}),
                    ("recording_started", 5, {}), ("recording_stopped", 30, {}))
    acts = Actions(inc, T0 + timedelta(minutes=40))
    # A's stop at minute 0 comes before any start; the start and stop at minute 10 pair (input order).
    assert acts.recordings == {"A": [(_ts(10), _ts(10))], None: [(_ts(5), _ts(30))], "B": [(_ts(20), _ts(40))]}
    assert list(acts.recorded("A")) == [(_ts(5), _ts(30))]  # the empty span dropped, cameras with no officer kept
    assert list(acts.recorded("B")) == [(_ts(5), _ts(40))]
    assert list(acts.recorded(None)) == [(_ts(5), _ts(40))]
    assert acts.recorded("B") is acts.recorded("B")  # worked out once


def test_actions_stop_at_the_as_of_time() -> None:
    inc = _incident(("recording_started", 0, {"officer": "A"}), ("notice_given", 5, {"officer": "A"}),
                    ("footage_viewed", 10, {"role": "supervisor"}), ("footage_deleted", 15, {}),
                    ("recording_stopped", 20, {"officer": "A"}), ("footage_deleted", 25, {}))
    early = Actions(inc, T0 + timedelta(minutes=10))
    assert early.recordings == {"A": [(_ts(0), _ts(10))]}  # still recording at the as-of time
    assert early.notices == [(_ts(5), "A")]
    assert [v[:3] for v in early.views] == [(_ts(10), "supervisor", None)]  # an event at the as-of time counts
    assert early.deleted is None
    later = Actions(inc, T0 + timedelta(minutes=30))
    assert later.deleted == T0 + timedelta(minutes=15)  # the first deletion
    assert later.recordings == {"A": [(_ts(0), _ts(20))]}


def test_no_events_of_a_type() -> None:
    acts = Actions(_incident(("dispatched", 0, {})), T0)
    assert (acts.recordings, acts.notices, acts.views, acts.releases, acts.biometric, acts.deleted) == \
        ({}, [], [], [], [], None)
    assert list(acts.recorded(None)) == [] and list(acts.recorded("A")) == []


def test_the_officer_of_a_trigger_whatever_the_input_order() -> None:
    inc = _incident(("arrived", 30, {"officer": "C"}), ("dispatched", 0, {"officer": "A"}),
                    ("contact_initiated", 0, {"officer": "B"}), ("frisk", 40, {"officer": 7}))
    c = CheckContext(inc, T0 + timedelta(hours=1), {}, Z)

    def officer(index: int | None) -> str | None:
        trigger = None if index is None else EventRef(type="x", at="", index=index)
        return c.officer(SimpleNamespace(trigger=trigger))  # type: ignore[arg-type]

    assert [officer(i) for i in (0, 1, 2, 3, 4, None)] == ["C", "A", "B", None, None, None]
