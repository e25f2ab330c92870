"""Small vectorised helpers, the calendar and what carries over between chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from regulars.demo.archetypes import (
    _MIN_ORDERS,
    _MONTH_ORDERS,
    _N_PERSON_ARCHETYPES,
    _OCCASIONAL_THIRD,
    _SHARES,
    _WEIGHT,
    OCCASIONAL,
)
from regulars.demo.spec import _S, _TS

Arr = npt.NDArray[Any]


# --------------------------------------------------------------------------------------------
# small vectorised helpers


def _starts(counts: Arr) -> Arr:
    out = np.zeros(counts.size, dtype=np.int64)
    if counts.size > 1:
        np.cumsum(counts[:-1], out=out[1:])
    return out


def _seg_cumsum(values: Arr, counts: Arr) -> Arr:
    """Inclusive cumulative sum restarting at every segment."""
    if values.size == 0:
        return values.astype(np.float64)
    cs = np.cumsum(values)
    starts = _starts(counts)
    base = np.zeros(counts.size)
    has = counts > 0
    base[has] = cs[starts[has]] - values[starts[has]]
    return cs - np.repeat(base, counts)


def _seg_order(values: Arr, seg: Arr) -> Arr:
    """Indices sorting by segment, then by value (one float sort instead of a lexsort)."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    scaled = values / (2.0 * top) + 0.5 if top > 0 else np.zeros(values.size)
    return np.argsort(seg + np.minimum(scaled, 0.999999), kind="stable")


def _seg_median(values: Arr, seg: Arr, nseg: int) -> Arr:
    out = np.full(nseg, np.nan)
    if values.size == 0:
        return out
    counts = np.bincount(seg, minlength=nseg)
    v = values[_seg_order(values, seg)]
    starts = _starts(counts)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = 0.5 * (v[lo] + v[hi])
    return out


def _seg_argmin(values: Arr, seg: Arr, nseg: int) -> Arr:
    """Index of each segment's smallest value (-1 for empty segments)."""
    out = np.full(nseg, -1, dtype=np.int64)
    if values.size == 0:
        return out
    order = _seg_order(values, seg)
    counts = np.bincount(seg, minlength=nseg)
    has = counts > 0
    out[has] = order[_starts(counts)[has]]
    return out


def _any_per(seg: Arr, mask: Arr, nseg: int) -> Arr:
    return np.bincount(seg[mask], minlength=nseg) > 0


def _share_per(seg: Arr, mask: Arr, counts: Arr) -> Arr:
    hits = np.bincount(seg[mask], minlength=counts.size)
    return np.divide(hits, counts, out=np.zeros(counts.size), where=counts > 0)


def _strings(values: Sequence[str], idx: Arr, null: Arr | None = None) -> pa.Array:
    return pa.array(values, _S).take(pa.array(idx, pa.int32(), mask=null))


def _null_where(arr: pa.Array, null: Arr) -> pa.Array:
    return pc.if_else(pa.array(null, pa.bool_()), pa.scalar(None, arr.type), arr)


def _digits(numbers: Arr, width: int) -> pa.Array:
    text = pc.cast(pa.array(numbers, pa.int64()), _S)
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def _ids(prefix: str, numbers: Arr, width: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, _digits(numbers, width), "")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


class _Calendar:
    """Days since the start (floats) to timestamps, and the seasonal clock."""

    def __init__(self, start: date, end: date) -> None:
        self.days = (end - start).days + 1
        self.epoch_us = (start - date(1970, 1, 1)).days * 86_400 * 1_000_000
        day = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        self.month = day.astype("datetime64[M]").astype(np.int64) % 12
        self.grid = np.arange(self.days + 1, dtype=np.float64)
        self.cum = np.concatenate([[0.0], np.cumsum(_MONTH_ORDERS[self.month])])
        self.start = start
        self.end = end

    def seasonal(self, t: Arr) -> Arr:
        """Calendar days to 'seasonal days' (December counts 1.6, August 0.75)."""
        return np.asarray(np.interp(t, self.grid, self.cum))

    def calendar(self, u: Arr) -> Arr:
        return np.interp(u, self.cum, self.grid)

    def month_of(self, t: Arr) -> Arr:
        return self.month[np.clip(t.astype(np.int64), 0, self.days - 1)]

    def day_of(self, d: date) -> int:
        return (d - self.start).days

    @staticmethod
    def business_hours(t: Arr) -> Arr:
        """Squeeze each day into 08:00-21:00; monotone, so order is preserved."""
        day = np.floor(t)
        return day + (8.0 + 13.0 * (t - day)) / 24.0

    def timestamps(self, t: Arr, null: Arr | None = None) -> pa.Array:
        sec = np.rint(np.nan_to_num(t) * 86_400.0).astype(np.int64)
        return pa.array(self.epoch_us + sec * 1_000_000, _TS, mask=null)


@dataclass
class _State:
    """What carries over from one chunk to the next."""

    orders: int = 0
    returns: int = 0
    invoices: int = 0
    interactions: int = 0
    feedback: int = 0
    referrals: int = 0
    duplicates: int = 0
    trailing_revenue: float = 0.0


@dataclass(frozen=True)
class _Widths:
    customer: int
    order: int
    other: int


def _order_scale(orders_per_customer: float) -> float:
    """Extra-order multiplier so that the expected orders per person hit the target."""
    p = _SHARES
    base = float((p * _MIN_ORDERS[:_N_PERSON_ARCHETYPES]).sum())
    base += float(p[OCCASIONAL]) * _OCCASIONAL_THIRD
    weight = float((p * _WEIGHT[:_N_PERSON_ARCHETYPES]).sum())
    return max(0.0, (orders_per_customer - base) / weight)


