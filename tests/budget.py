"""How many examples a property tries: its own number under the `ci` profile, five times as many
under `fuzz` (see conftest.py). Decorators read it when the test module is imported, after the
profile is chosen."""

from __future__ import annotations

from hypothesis import settings

FUZZ_FACTOR = 5


def examples(n: int) -> int:
    return n * FUZZ_FACTOR if settings.get_current_profile_name() == "fuzz" else n
