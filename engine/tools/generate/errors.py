"""The generator's one error: what was asked cannot be done."""

from __future__ import annotations


class GenerateError(Exception):
    """The generator cannot do what was asked (unknown ruleset, no compliant incident possible)."""
