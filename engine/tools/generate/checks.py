"""The checks the generator can plant, and the share of eligible incidents that get each."""

from __future__ import annotations

from collections.abc import Mapping

from engine.tools.generate.errors import GenerateError
from policy.values import quoted

# The checks the generator can plant, in the order it plants them.
CHECKS: tuple[str, ...] = (
    "camera_off_in_mandatory_window",
    "no_notice",
    "viewed_while_denied",
    "biometric_while_prohibited",
    "released_late",
    "not_released",
    "unredacted_release",
    "deleted_before_minimum",
    "kept_past_maximum",
)


def shares_of(shares: Mapping[str, float] | float) -> dict[str, float]:
    """A share for every check: one number for all, or some checks' shares (the others 0)."""
    if isinstance(shares, int | float):
        shares = dict.fromkeys(CHECKS, float(shares))
    unknown = set(shares) - set(CHECKS)
    if unknown:
        raise GenerateError(f"unknown check(s) {sorted(unknown)}: use {', '.join(CHECKS)}")
    return {k: float(shares.get(k, 0.0)) for k in CHECKS}


def parse_shares(text: str) -> dict[str, float]:
    """`0.1` (every check) or `0.1,no_notice=0.3,kept_past_maximum=0` (a default, then per check). A
    default after a check's own share, or a check named twice, is refused: one of the two would be
    dropped without a word."""
    shares: dict[str, float] = dict.fromkeys(CHECKS, 0.0)
    named: set[str] = set()
    default = False
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        name = name.strip()
        try:
            share = float(value if eq else name)
        except ValueError:
            raise GenerateError(f"`{quoted(part)}` is not a share (a number from 0 to 1)") from None
        if not 0 <= share <= 1:
            raise GenerateError(f"`{quoted(part)}`: a share is from 0 to 1")
        if not eq:
            if default or named:
                raise GenerateError(f"`{quoted(part)}`: the share for every check comes once, first "
                                    "(e.g. `0.1,no_notice=0.3`)")
            default = True
            shares = dict.fromkeys(CHECKS, share)
        elif name not in CHECKS:
            raise GenerateError(f"unknown check `{quoted(name)}`: use {', '.join(CHECKS)}")
        elif name in named:
            raise GenerateError(f"`{name}` is given a share twice: give each check once")
        else:
            named.add(name)
            shares[name] = share
    return shares
