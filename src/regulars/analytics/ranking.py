"""Whom to save first: money at stake, calibrated on the business's own history (DOMAIN §9).

A customer's **money at stake** over the coming ``stake_horizon_days`` (H) is

    expected revenue if the relationship continued  ×  probability that it does not

- *expected revenue if it continued*: the orders their own history supports in H, at their order
  value and its trend. Orders in H are ``(n - 1) × H / max(span, H)`` for a customer with ``n``
  order days over ``span`` days (first to last): their own rhythm, never more orders than a
  short history has shown, and never more revenue than their revenue so far per H days of
  tenure (first order to as-of, at least H). A one-order customer has no rhythm: they get the
  mean number of orders in H of the one-order customers who came back, in this business's
  history. The order value is the
  customer's mean per order day, times the trend of their last three (their mean against the
  earlier ones, bounded to ``[1 / STAKE_TREND_BOUND, STAKE_TREND_BOUND]``).
- *probability it does not continue* (``p_gone``): of the customers who were **in the same
  situation before**, the share who did not order again within H. A situation is the number of
  order days (1, 2, 3-5, 6-11, 12+), the time since the last order measured in the customer's
  own typical gaps (the rule of DOMAIN §4: own median gap from ``min_gaps_for_own_rhythm`` gaps,
  else the base's) and whether the last orders shrink (each of the last three smaller than the
  one before, or their mean below ``shrinking_orders_ratio`` of the earlier mean). The history is
  the situations of every customer at ``stake_calibration_cuts`` earlier dates, ``H`` and more
  before as-of, ``stake_calibration_step_days`` apart, and what each customer did in the H days
  after. Sparse situations borrow from broader ones (the same without the shrinking flag, then
  the same number of orders, then everyone) with a weight of :data:`PRIOR_WEIGHT` customers.

When the history holds fewer than ``stake_min_history`` situations (a business younger than H,
say), ``p_gone`` comes from the status instead (:data:`RULE_P_GONE`) and the basis says so
(``basis`` is ``history`` or ``rules``). The fitted customer-base model is not used: its holdout
is often miscalibrated exactly where this matters (frequent buyers drifting away keep P(alive)
near 1), and a ranking a manager acts on must say where its numbers come from.

Everything is numpy over the orders collapsed to (customer, day) occasions
(:class:`regulars.analytics.models.Occasions`), so the same numbers come from every engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from regulars.analytics.models import Occasions
from regulars.analytics.params import MapParams

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

ORDER_EDGES = (2, 3, 6, 12)
"""Order-day counts that open the next situation bucket: 1 | 2 | 3-5 | 6-11 | 12+."""
RATIO_EDGES = (1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Time since the last order, in typical gaps, that opens the next bucket."""
PRIOR_WEIGHT = 5.0
"""A sparse situation is pulled towards its broader one as if this many customers of it had
been seen."""
STAKE_TREND_BOUND = 2.0
"""The trend of the order value counts at most this factor up or down."""
RULE_P_GONE = {"active": 0.1, "won_back": 0.2, "lapsing": 0.5, "lost": 0.9}
"""``p_gone`` by status when there is too little history to learn it from."""
MAX_CALIBRATION_CUSTOMERS = 300_000
"""Above this many customers the history is learned from an evenly spread subset of them."""

COLUMNS = ("money_at_stake", "p_gone", "expected_revenue")
"""The ranking's columns added to the customer map (and ``stake`` evidence)."""


@dataclass(frozen=True)
class Calibration:
    """What the business's history says about each situation."""

    basis: str
    """``history`` or ``rules``."""
    horizon_days: int
    cut_days: tuple[int, ...]
    """The earlier dates (days since 1970-01-01) the situations were taken at."""
    situations: int
    """Customer situations observed in all (customers × dates)."""
    total: FloatArray
    returned: FloatArray
    p_return: FloatArray
    shortfall: FloatArray
    """Per situation: the mean share of the revenue their rhythm promised that customers in it
    did not bring in the H days after (0 to 1; smoothed like ``p_return``)."""
    newcomer_orders: float
    """Mean order days in H of the one-order customers who came back (1.0 without data)."""
    base_gap_days: float | None = None
    """The base's median gap at as-of, once :func:`money_at_stake` has ranked the whole base:
    a later ranking of a few customers (the live map) measures their silence with it."""

    def to_dict(self) -> dict[str, Any]:
        """Everything, as plain data (JSON), to rank a few customers later as the whole base
        was ranked (:meth:`from_dict`)."""
        return {
            "basis": self.basis, "horizon_days": self.horizon_days,
            "cut_days": list(self.cut_days), "situations": self.situations,
            "total": self.total.tolist(), "returned": self.returned.tolist(),
            "p_return": self.p_return.tolist(), "shortfall": self.shortfall.tolist(),
            "newcomer_orders": self.newcomer_orders, "base_gap_days": self.base_gap_days,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        def arr(name: str) -> FloatArray:
            return np.asarray(data[name], dtype=np.float64)

        return cls(str(data["basis"]), int(data["horizon_days"]),
                   tuple(int(d) for d in data["cut_days"]), int(data["situations"]),
                   arr("total"), arr("returned"), arr("p_return"), arr("shortfall"),
                   float(data["newcomer_orders"]),
                   None if data.get("base_gap_days") is None else float(data["base_gap_days"]))

    def describe(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "horizon_days": self.horizon_days,
            "dates": [(date(1970, 1, 1) + timedelta(days=d)).isoformat() for d in self.cut_days],
            "situations": self.situations,
            "came_back": int(self.returned.sum()),
            "newcomer_orders": round(self.newcomer_orders, 4),
        }


@dataclass(frozen=True)
class _Situation:
    code: IntArray  # customer codes with an order on or before the cut
    n: IntArray
    first: IntArray
    last: IntArray
    revenue: FloatArray
    recent_mean: FloatArray  # the last three order days' mean (nan below 4 order days)
    earlier_mean: FloatArray
    shrinking: npt.NDArray[np.bool_]
    cell: IntArray
    base_gap: float  # the base's median gap (nan when nobody ordered twice)


_N_ORDER = len(ORDER_EDGES) + 1
_N_RATIO = len(RATIO_EDGES) + 1
N_CELLS = _N_ORDER * _N_RATIO * 2


# over 60 lines, one piece: one numpy pass over the occasions sorted by customer; the counts,
# revenue, gaps, their medians and the last orders against the earlier share its arrays
def _situations(occ: Occasions, cut: int, params: MapParams,
                only: npt.NDArray[np.bool_] | None = None,
                base_gap: float | None = None) -> _Situation:
    """Every customer's situation at the end of day ``cut`` (customers with an order by then;
    ``only`` restricts to customers whose code is set in it; ``base_gap`` replaces the base's
    median gap of these customers, when they are a few of a larger base)."""
    d = occ.days
    keep = d.day <= cut
    if only is not None:
        keep &= only[d.cust]
    cust, day, amount = d.cust[keep], d.day[keep], d.amount[keep]
    n_ids = len(occ.ids)
    counts = np.bincount(cust, minlength=n_ids)
    code = np.flatnonzero(counts)
    n = counts[code]
    ends = np.cumsum(n)
    starts = ends - n
    first, last = day[starts], day[ends - 1]
    revenue = np.add.reduceat(amount, starts) if starts.size else np.zeros(0)

    # gaps between consecutive order days of one customer, and each customer's exact median
    same = cust[1:] == cust[:-1]
    gaps = (day[1:] - day[:-1])[same].astype(np.float64)
    gcust = cust[1:][same]
    order = np.lexsort((gaps, gcust))
    gaps = gaps[order]
    ng = n - 1
    gends = np.cumsum(ng)
    gstarts = gends - ng
    has_gap = ng >= 1
    median = np.full(code.shape[0], np.nan)
    lo = gstarts[has_gap] + (ng[has_gap] - 1) // 2
    hi = gstarts[has_gap] + ng[has_gap] // 2
    median[has_gap] = gaps[lo] * 0.5 + gaps[hi] * 0.5
    base = float(np.median(gaps)) if gaps.size else np.nan
    if base_gap is not None:
        base = base_gap
    own = (ng >= params.min_gaps_for_own_rhythm) & (np.nan_to_num(median) > 0)
    typical = np.where(own, median, base)
    recency = (cut - last).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.nan_to_num(typical) > 0, recency / np.maximum(typical, 1.0), 0.0)

    # the last three order days against the ones before
    recent_mean = np.full(code.shape[0], np.nan)
    earlier_mean = np.full(code.shape[0], np.nan)
    shrinking = np.zeros(code.shape[0], dtype=bool)
    four = n >= 4
    if np.any(four):
        e = ends[four]
        a1, a2, a3, a4 = amount[e - 1], amount[e - 2], amount[e - 3], amount[e - 4]
        recent = (a1 + a2 + a3) / 3.0
        earlier = (revenue[four] - a1 - a2 - a3) / (n[four] - 3)
        recent_mean[four], earlier_mean[four] = recent, earlier
        shrinking[four] = ((a1 < a2) & (a2 < a3) & (a3 < a4)) | (
            recent < params.shrinking_orders_ratio * earlier)
    nb = np.searchsorted(np.asarray(ORDER_EDGES), n, side="right")
    rb = np.searchsorted(np.asarray(RATIO_EDGES), ratio, side="left")
    cell = (nb * _N_RATIO + rb) * 2 + shrinking.astype(np.int64)
    return _Situation(code, n, first, last, revenue, recent_mean, earlier_mean, shrinking, cell,
                      base)


def _after(occ: Occasions, code: IntArray, cut: int, horizon: int
           ) -> tuple[IntArray, FloatArray]:
    """On how many days each customer ordered in the ``horizon`` days after day ``cut``, and
    for how much."""
    d = occ.days
    window = (d.day > cut) & (d.day <= cut + horizon)
    n_ids = len(occ.ids)
    counts = np.bincount(d.cust[window], minlength=n_ids)[code].astype(np.int64)
    revenue = np.bincount(d.cust[window], weights=d.amount[window], minlength=n_ids)[code]
    return counts, revenue.astype(np.float64)


def _continued(s: _Situation, cut: int, horizon: float, newcomer_orders: float
               ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Expected order days in H if the relationship continued, the order value at its trend,
    and the trend (module docstring). Never more revenue than the customer's history
    supports: their revenue so far per H days of tenure (first order to ``cut``, at least H)."""
    span = (s.last - s.first).astype(np.float64)
    orders = np.where(s.n >= 2, (s.n - 1) * horizon / np.maximum(span, horizon),
                      newcomer_orders)
    mean = s.revenue / s.n
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = np.where(np.isnan(s.recent_mean) | ~(mean > 0), 1.0, s.recent_mean / mean)
    trend = np.clip(trend, 1.0 / STAKE_TREND_BOUND, STAKE_TREND_BOUND)
    supported = s.revenue * horizon / np.maximum((cut - s.first).astype(np.float64), horizon)
    value = mean * trend
    with np.errstate(invalid="ignore", divide="ignore"):
        orders = np.where(orders * value > supported,
                          np.where(value > 0, supported / value, 0.0), orders)
    return orders, value, trend


def calibrate(occ: Occasions, *, as_of: datetime | date, params: MapParams) -> Calibration:
    """Learn from the business's own history how often customers in each situation did not
    come back within the horizon, and how much of what their rhythm promised they did not
    bring (see the module docstring)."""
    horizon = params.stake_horizon_days
    as_of_day = _day(as_of)
    first_day = int(occ.days.day.min()) if len(occ) else as_of_day
    cuts = tuple(
        c for k in range(params.stake_calibration_cuts)
        if (c := as_of_day - horizon - k * params.stake_calibration_step_days) > first_day
    )
    only = None
    n_ids = len(occ.ids)
    if n_ids > MAX_CALIBRATION_CUSTOMERS:
        step = -(-n_ids // MAX_CALIBRATION_CUSTOMERS)
        only = np.zeros(n_ids, dtype=bool)
        only[::step] = True
    seen: list[tuple[_Situation, IntArray, FloatArray]] = []
    for cut in cuts:
        s = _situations(occ, cut, params, only)
        seen.append((s, *_after(occ, s.code, cut, horizon)))
    # the one-order customers who came back: how many order days they had in H
    back_new = [(orders[(s.n == 1) & (orders > 0)]) for s, orders, _ in seen]
    new_orders = np.concatenate(back_new) if back_new else np.zeros(0)
    newcomer_orders = float(new_orders.mean()) if new_orders.size else 1.0
    total = np.zeros(N_CELLS)
    returned = np.zeros(N_CELLS)
    short = np.zeros(N_CELLS)
    for s, orders, revenue in seen:
        n_orders, value, _ = _continued(s, cut, float(horizon), newcomer_orders)
        expected = n_orders * value
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = np.where(expected > 0, 1.0 - revenue / expected, 0.0)
        total += np.bincount(s.cell, minlength=N_CELLS)
        returned += np.bincount(s.cell, weights=(orders > 0).astype(np.float64),
                                minlength=N_CELLS)
        short += np.bincount(s.cell, weights=np.clip(fraction, 0.0, 1.0), minlength=N_CELLS)
    situations = int(total.sum())
    basis = "history" if situations >= params.stake_min_history else "rules"
    return Calibration(basis, horizon, cuts, situations, total, returned,
                       _smoothed(total, returned), _smoothed(total, short), newcomer_orders)


def _smoothed(total: FloatArray, hits: FloatArray) -> FloatArray:
    """The mean of a 0..1 outcome per cell, each cell pulled towards its broader situation
    (module docstring)."""
    shape = (_N_ORDER, _N_RATIO, 2)
    t, r = total.reshape(shape), hits.reshape(shape)
    everyone = (r.sum() + 0.5) / (t.sum() + 1.0)
    by_orders = (r.sum(axis=(1, 2)) + PRIOR_WEIGHT * everyone) / (t.sum(axis=(1, 2)) + PRIOR_WEIGHT)
    ratio_t, ratio_r = t.sum(axis=2), r.sum(axis=2)
    by_ratio = (ratio_r + PRIOR_WEIGHT * by_orders[:, None]) / (ratio_t + PRIOR_WEIGHT)
    p: FloatArray = (r + PRIOR_WEIGHT * by_ratio[:, :, None]) / (t + PRIOR_WEIGHT)
    return p.reshape(-1)


def money_at_stake(occ: Occasions, *, as_of: datetime | date, params: MapParams,
                   calibration: Calibration | None = None,
                   status: pa.Table | None = None) -> tuple[pa.Table, Calibration]:
    """Money at stake of every customer with an order on or before ``as_of``.

    Returns a table ``customer_id, money_at_stake, p_gone, expected_revenue, stake`` (``stake``:
    the evidence, a JSON object text with ``about: "stake"``) and the calibration used.
    ``status`` (``customer_id, status``: the map's) is needed only when the history is too short
    and the status decides ``p_gone``. With a ``calibration`` of an earlier ranking of the whole
    base (the live map's few customers), its ``base_gap_days`` measures their silence; the
    calibration returned carries the base gap this ranking used.
    """
    cal = calibration or calibrate(occ, as_of=as_of, params=params)
    now = _day(as_of)
    s = _situations(occ, now, params, base_gap=cal.base_gap_days)
    orders, value, trend = _continued(s, now, float(cal.horizon_days), cal.newcomer_orders)
    expected = orders * value
    ids = occ.ids.take(pa.array(s.code))
    if cal.basis == "history":
        p_gone = 1.0 - cal.p_return[s.cell]
        shortfall = cal.shortfall[s.cell]
    else:
        p_gone = shortfall = _by_status(ids, status)
    table = pa.table({
        "customer_id": ids,
        "money_at_stake": np.round(expected * shortfall, 2),
        "p_gone": np.round(p_gone, 4),
        "expected_revenue": np.round(expected, 2),
    })
    evidence = _evidence(cal, table, orders, value, trend, shortfall, cal.total[s.cell],
                         cal.returned[s.cell])
    base_gap = None if np.isnan(s.base_gap) else s.base_gap
    return table.append_column("stake", evidence), replace(cal, base_gap_days=base_gap)


def _by_status(ids: pa.Array, status: pa.Table | None) -> FloatArray:
    if status is None:
        return np.full(len(ids), np.nan)
    lookup = pc.index_in(ids, status.column("customer_id"))
    st = pc.take(status.column("status"), lookup)  # a customer not in it: null
    at = pc.index_in(st, pa.array(list(RULE_P_GONE)))
    p = pc.take(pa.array(list(RULE_P_GONE.values()), pa.float64()), at)
    return np.asarray(pc.fill_null(p, np.nan).to_numpy(zero_copy_only=False),
                      dtype=np.float64)


def _num(values: FloatArray, places: int) -> pa.Array:
    arr = pa.array(np.round(values, places), pa.float64(), from_pandas=True)
    text = pc.cast(arr, pa.string())
    return pc.fill_null(text, "null")


def _int(values: FloatArray) -> pa.Array:
    return pc.cast(pa.array(np.rint(values).astype(np.int64)), pa.string())


def _evidence(cal: Calibration, table: pa.Table, orders: FloatArray, value: FloatArray,
              trend: FloatArray, shortfall: FloatArray, similar: FloatArray,
              came_back: FloatArray) -> pa.Array:
    """The ``stake`` evidence object of each row, as JSON text (built column-wise)."""
    parts: list[Any] = ['{"about":"stake","code":"money_at_stake","basis":"' + cal.basis
                        + '","horizon_days":' + str(cal.horizon_days) + ',"money_at_stake":',
                        _num(table.column("money_at_stake").to_numpy(), 2),
                        ',"expected_revenue":', _num(table.column("expected_revenue").to_numpy(),
                                                     2),
                        ',"expected_orders":', _num(orders, 2),
                        ',"order_value":', _num(value, 2),
                        ',"trend":', _num(trend, 4),
                        ',"p_gone":', _num(table.column("p_gone").to_numpy(), 4),
                        ',"shortfall":', _num(shortfall, 4)]
    if cal.basis == "history":
        parts += [',"similar":', _int(similar), ',"came_back":', _int(came_back)]
    parts.append("}")
    # the constant parts broadcast as scalars
    cols = [pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*cols, "")


def _day(value: datetime | date) -> int:
    d = value.date() if isinstance(value, datetime) else value
    return (d - date(1970, 1, 1)).days
