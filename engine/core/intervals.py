"""Sets of time as lists of spans: (start, end) in seconds since the epoch, half-open in spirit but
compared closed at the edges where a caller asks (`contains`).

The one piece the audit and the generator share: each keeps its own idea of what a violation is
(so that auditing a planted corpus tests one against the other), but both measure time the same way.
Every function takes spans in any order, overlapping or empty, and returns them sorted and disjoint.
"""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[float, float]


def union(spans: Iterable[Span]) -> list[Span]:
    """The spans merged: sorted, disjoint, touching spans joined, empty ones dropped."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def subtract(spans: Iterable[Span], cuts: Iterable[Span]) -> list[Span]:
    """The time in `spans` and not in `cuts`."""
    out = union(spans)
    for c0, c1 in union(cuts):
        kept: list[Span] = []
        for a, b in out:
            if c1 <= a or b <= c0:
                kept.append((a, b))
                continue
            if a < c0:
                kept.append((a, c0))
            if c1 < b:
                kept.append((c1, b))
        out = kept
    return out


def intersect(a: Iterable[Span], b: Iterable[Span]) -> list[Span]:
    """The time in both."""
    a = union(a)
    return subtract(a, subtract(a, b))


def length(spans: Iterable[Span]) -> float:
    """How many seconds the spans cover (time covered twice counted once)."""
    return sum(b - a for a, b in union(spans))


def overlap(a: Iterable[Span], b: Iterable[Span]) -> float:
    """How many seconds are in both."""
    x, y = union(a), union(b)
    total, i, j = 0.0, 0, 0
    while i < len(x) and j < len(y):
        lo, hi = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if hi > lo:
            total += hi - lo
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return total


def contains(spans: Iterable[Span], t: float) -> bool:
    """Whether `t` is in a span or on its edge."""
    return any(a <= t <= b for a, b in spans)


def near_edge(spans: Iterable[Span], t: float, margin: float) -> bool:
    """Whether `t` is less than `margin` seconds from a span's start or end."""
    return any(abs(t - a) < margin or abs(t - b) < margin for a, b in spans)
