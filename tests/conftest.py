"""Test configuration: a fixed Hypothesis profile, so that every run of the suite is reproducible.

Profiles (choose with `--hypothesis-profile NAME`; pyproject.toml fixes the seed with
`--hypothesis-seed`, and the header of every run prints both):

- `ci` (the default): the examples each property asks for, no example database (a failure found
  earlier on this machine must not change what the next run tries), no deadline.
- `fuzz`: the same properties with five times as many examples (`budget.examples`), for the
  separate, slower job README's test command runs after the main one.

A failure prints the seed and a reproduction blob; pin the example with `@example(...)`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

settings.register_profile("ci", database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", parent=settings.get_profile("ci"), max_examples=500)
settings.load_profile("ci")


def _profile_line(config: pytest.Config) -> str:
    seed = config.getoption("--hypothesis-seed", default=None)
    return (f"hypothesis: profile {settings.get_current_profile_name()!r}, "
            f"seed {seed if seed is not None else 'random (not reproducible: pass --hypothesis-seed)'}")


def pytest_report_header(config: pytest.Config) -> str:
    return _profile_line(config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    # Printed even under -q (which hides the header), so every log says how to reproduce the run.
    terminalreporter.write_line(_profile_line(config))


@pytest.fixture
def root() -> Path:
    return ROOT
