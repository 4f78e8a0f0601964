"""Start a command as a terminal would, so that Ctrl-C (SIGINT) reaches it.

A shell without job control starts a background command (`cmd &`, a CI script run in the
background) with SIGINT ignored, and an ignored signal stays ignored across `exec`: Python then
installs no KeyboardInterrupt handler, and a test sending SIGINT would wait for nothing. A terminal
gives its foreground command the default disposition; `preexec_fn=from_a_terminal` restores it."""

from __future__ import annotations

import signal


def from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
