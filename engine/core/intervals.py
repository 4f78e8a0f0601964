"""Sets of time as lists of spans: (start, end) in seconds since the epoch, half-open in spirit but
compared closed at the edges where a caller asks (`contains`).

The one piece the audit and the generator share: each keeps its own idea of what a violation is
(so that auditing a planted corpus tests one against the other), but both measure time the same way.
Every function takes spans in any order, overlapping or empty, and returns them sorted and disjoint.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
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


class Coverage:
    """The seconds of a window that `union([*own, *shared])` covers, without merging the two lists: for an
    incident with many recordings, where the audit asks once per obligation.

    `overlap` walks and merges every span at each call, and merging an officer's own spans with the spans of
    cameras with no officer would keep a copy of the latter per officer. Here `shared` (an index built once,
    for every officer) is searched with bisect and prefix sums; of each own span only the part `shared` does
    not cover is counted (worked out once), so a window costs O(log n) whatever it spans.

    The answer is the same float `overlap(window, union([*own, *shared]))` gives. Prefix sums add the pieces
    in another order than that walk does, so both are made exact: every time must be a whole multiple of one
    power of two `1 / scale` and the times must lie within 2**50 such steps of each other. Then each
    difference and sum of them is a float without rounding, in whatever order it is taken (timestamps of
    2004-2038 are multiples of 2**-22 s, of any fraction of a second: an audit always qualifies). A window or
    span outside that falls back to `overlap` itself.
    """

    __slots__ = ("_ends", "_extra", "_hi", "_lo", "_scale", "_starts", "_sums", "shared", "spans")

    _scale: float
    _lo: float
    _hi: float

    def __init__(self, own: Iterable[Span], shared: Coverage | None = None) -> None:
        self.shared = shared
        self.spans = spans = union(own)
        self._starts = [a for a, _ in spans]
        self._ends = [b for _, b in spans]
        sums, extra, total, rest = [0.0], [0.0], 0.0, 0.0
        for a, b in spans:
            total += b - a
            sums.append(total)
            # The part of this span `shared` does not cover: what it adds to the union.
            rest += (b - a) - (shared._covered(a, b) if shared is not None else 0.0)
            extra.append(rest)
        self._sums, self._extra = sums, extra
        scale, lo, hi = _scale(spans)
        if shared is not None and shared.spans:
            scale = min(scale, shared._scale) and max(scale, shared._scale)  # 0.0 (never exact) wins
            lo, hi = min(lo, shared._lo), max(hi, shared._hi)
        self._scale, self._lo, self._hi = scale, lo, hi

    def _covered(self, a: float, b: float) -> float:
        """Seconds of `(a, b)` (a < b) in these merged spans alone."""
        i = bisect_right(self._ends, a)  # the first span ending after `a`
        j = bisect_left(self._starts, b, i)  # the first span starting at or after `b`
        if i >= j:
            return 0.0
        total = self._sums[j] - self._sums[i]
        if self._starts[i] < a:
            total -= a - self._starts[i]
        if self._ends[j - 1] > b:
            total -= self._ends[j - 1] - b
        return total

    def _added(self, a: float, b: float) -> float:
        """Seconds of `(a, b)` (a < b) in these spans and not in `shared`."""
        shared = self.shared
        if shared is None:
            return self._covered(a, b)
        i = bisect_right(self._ends, a)
        j = bisect_left(self._starts, b, i)
        if i >= j:
            return 0.0
        total = self._extra[j] - self._extra[i]
        for k in {i, j - 1}:  # the spans at the window's edges count only their part inside it
            s, e = self._starts[k], self._ends[k]
            if s < a or e > b:
                s, e = max(s, a), min(e, b)
                total -= (self._extra[k + 1] - self._extra[k]) - ((e - s) - shared._covered(s, e))
        return total

    def overlap(self, window: Iterable[Span]) -> float:
        """`overlap(window, union([*own, *shared]))`."""
        spans = union(window)
        if not spans:
            return 0.0
        shared, scale = self.shared, self._scale
        if not scale or not (max(spans[-1][1], self._hi) - min(spans[0][0], self._lo)) * scale < _EXACT or \
                not all((a * scale).is_integer() and (b * scale).is_integer() for a, b in spans):
            return overlap(spans, union([*self.spans, *(shared.spans if shared is not None else ())]))
        total = 0.0
        for a, b in spans:
            total += self._added(a, b) + (shared._covered(a, b) if shared is not None else 0.0)
        return total


_EXACT = 2.0 ** 50  # steps of `1 / scale` that sums of times may span and stay exact (a float holds 2**53)


def _scale(spans: list[Span]) -> tuple[float, float, float]:
    """The least power of two `scale` such that every time times it is a whole number (0.0 when there is none
    a float can hold, for an infinite or very small time), and the least and greatest times."""
    if not spans:
        return 1.0, math.inf, -math.inf
    den = 1
    for a, b in spans:
        if not (math.isfinite(a) and math.isfinite(b)):
            return 0.0, spans[0][0], spans[-1][1]
        den = max(den, a.as_integer_ratio()[1], b.as_integer_ratio()[1])
    return (float(den) if den <= 2 ** 60 else 0.0), spans[0][0], spans[-1][1]
