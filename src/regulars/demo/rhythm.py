"""Keeping customers with one or two orders clear of the status thresholds (lapsing, lost),
which their chunk and the whole business see slightly differently."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from regulars.demo.archetypes import _BASE_MARGIN, _P
from regulars.demo.arrays import Arr

if TYPE_CHECKING:
    from regulars.demo.chunk import _Chunk


def clear_of_the_base_rhythm(c: _Chunk, t: Arr) -> Arr:
    """Keep customers with one or two orders clear of the status thresholds.

    Their typical gap is the base's median gap, which the truth computes over this chunk's
    gaps and the map over the whole business; the two differ by a few per cent when a
    business comes in several chunks. A person whose time since the last order (or whose one
    gap, ended within the won-back window) lies within ``_BASE_MARGIN`` of a threshold
    (lapsing, lost) moves back, whole or the first order alone, past it.
    """
    pid, k, n, d = c.pid, c.k, c.n, c.d
    later = np.flatnonzero(k >= 1)
    if later.size == 0:
        return t
    base = float(np.median(t[later] - t[later - 1]))
    few = c.has & (n <= 2)
    last = np.zeros(c.p)
    last[c.has] = t[c.last[c.has]]
    shift = np.zeros(c.p)
    for factor in (_P.lapsing_gap_factor, _P.lost_gap_factor):
        edge = factor * base
        near = few & (np.abs(d - last - shift - edge) < _BASE_MARGIN * edge)
        shift = np.where(near, (1.0 + 2.0 * _BASE_MARGIN) * edge - (d - last), shift)
    t = t - shift[pid]
    # a two-order person's one gap, when it ends within the won-back window
    first = np.zeros(c.p)
    first[c.has] = t[c.ostart[c.has]]
    last = last - shift
    edge = min(_P.lost_gap_factor * base, float(_P.lost_max_days))
    gap = last - first
    near = (
        c.has
        & (n == 2)
        & (last > d - _P.won_back_within_days)
        & (np.abs(gap - edge) < _BASE_MARGIN * edge)
    )
    widen = np.where(near, (1.0 + 2.0 * _BASE_MARGIN) * edge - gap, 0.0)
    return np.where(k == 0, t - widen[pid], t)
