"""Recording checks: the camera off while recording was required, or on while it was prohibited."""

from __future__ import annotations

from engine.audit.checks.context import CheckContext
from engine.audit.findings import duration_text
from engine.core.decision import Obligation
from engine.core.intervals import Span, length

GRACE_SECONDS = 30.0  # recording may start or stop this late without a finding


def _recording_in_window(c: CheckContext, o: Obligation, check: str,
                         wanted: str) -> tuple[list[Span], str, str, float] | None:
    """The window's spans, its description, whose camera, and the seconds recorded in it;
    None (after a compliant finding) when the window has not opened."""
    got = c.window(o, c.actions.start_ts)
    if got is None:
        c.add(o, check, "compliant", f"{wanted} once the window opens", "the window has not opened")
        return None
    spans, text = got
    officer = c.officer(o)
    who = f" (officer {officer})" if officer else ""
    return spans, text, who, c.actions.recorded_in(officer, spans)


def camera_off_in_mandatory_window(c: CheckContext, o: Obligation) -> None:
    check = "camera_off_in_mandatory_window"
    got = _recording_in_window(c, o, check, "camera on")
    if got is None:
        return
    spans, text, who, covered = got
    required = length(spans)
    c.required += required
    c.recorded += covered
    expected = f"camera recording{who} {text}"
    missing = required - covered
    if missing > GRACE_SECONDS:
        actual = "not recorded" if covered == 0 else \
            f"recorded {duration_text(covered)} of {duration_text(required)}"
        c.add(o, check, "violation", expected, actual, duration_text(missing))
    else:
        c.add(o, check, "compliant", expected, f"recorded {duration_text(covered)} of "
              f"{duration_text(required)}")


def recorded_while_prohibited(c: CheckContext, o: Obligation) -> None:
    check = "recorded_while_prohibited"
    got = _recording_in_window(c, o, check, "camera off")
    if got is None:
        return
    _, text, who, over = got
    expected = f"camera off{who} {text}"
    if over > GRACE_SECONDS:
        c.add(o, check, "violation", expected, f"recorded {duration_text(over)} in the window",
              duration_text(over))
    else:
        c.add(o, check, "compliant", expected, "not recorded in the window")
