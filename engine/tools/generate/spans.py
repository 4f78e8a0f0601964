"""Interval arithmetic of the generator (to be replaced by engine.core.intervals)."""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[float, float]


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _minus(spans: Iterable[Span], cut: Iterable[Span]) -> list[Span]:
    out = _merge(spans)
    for cs, ce in _merge(cut):
        nxt: list[Span] = []
        for s, e in out:
            if ce <= s or cs >= e:
                nxt.append((s, e))
                continue
            if s < cs:
                nxt.append((s, cs))
            if ce < e:
                nxt.append((ce, e))
        out = nxt
    return out


def _measure(spans: Iterable[Span]) -> float:
    return sum(e - s for s, e in _merge(spans))


def _intersect(a: Iterable[Span], b: Iterable[Span]) -> list[Span]:
    a_m = _merge(a)
    return _minus(a_m, _minus(a_m, b))


def _near_edge(t: float, spans: Iterable[Span], margin: float) -> bool:
    return any(abs(t - s) < margin or abs(t - e) < margin for s, e in spans)


def _inside(t: float, spans: Iterable[Span]) -> bool:
    return any(s <= t <= e for s, e in spans)
