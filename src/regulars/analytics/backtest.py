"""The backtest: the map and the ranking as of a date, against what customers did next.

Given the customer map as of a date ``D`` (the rows :func:`regulars.services.analysis.analyze`
gives as of the end of that day) and the orders, this module compares them with what every
customer **with an order on or before D** did in the ``H`` days after it. Days are calendar
days of ``ordered_at``: *before* is the H days up to and including D (D − H + 1 … D), *after*
the H days following it (D + 1 … D + H). Revenue is the sum of the orders' ``amount`` in a
window (returns are not subtracted, as in the map's ``revenue``).

1. **Statuses against what happened.** The outcome is *gone*: no order in the H days after D.
   For ``lapsing``, ``lost`` and ``lapsing or lost``: precision (of the customers with the
   status, the share gone), recall (of the customers gone, the share with the status) and
   their supports; and for every status, the share of its customers who ordered again.
2. **Retention by rung.** For ``loyal`` (with ``advocate``), ``regular``, ``returning`` and
   ``newcomer`` customers at D: the share who ordered in the H days after, and the revenue
   kept = revenue after ÷ revenue before, summed over the group.
3. **Catching the revenue later lost.** A customer's *lost revenue* is
   ``max(0, revenue before − revenue after)``: it counts customers who left and customers who
   shrank; a customer with no order in the H days before D counts nothing. Every customer with
   an order by D is ranked by each method; for the top 1 %, 5 % and 10 % of that list
   (``ceil(N × p)`` customers, at least 1) the capture is the share of the total lost revenue
   those customers account for. Methods (ties always broken by ``customer_id``, byte order):

   - ``ours``: ``money_at_stake`` descending;
   - ``silent_90d``: customers with no order in the 90 days up to D (D − 89 … D) first, by
     revenue to D descending, then every other customer by revenue descending;
   - ``revenue_x_p_gone``: revenue to D × (1 − ``p_alive``) descending (only when the map has
     ``p_alive``: the prediction model could be fitted);
   - ``rfm_at_risk``: customers whose ``rfm_segment`` is ``cant_lose_them`` or ``at_risk``
     first, by revenue descending, then every other customer by revenue descending;
   - ``best_possible`` (a reference, not a method): lost revenue itself descending, the most
     any list of that length could catch.

   Ours *beats* the baselines at a cut when its capture is strictly greater than every
   available baseline's.
4. **What the worklists would have reached.** Given the customers the managers' worklists
   would have listed in the horizon within their daily capacity (``reached``, chosen by
   :mod:`regulars.services.backtest`), the share of the total lost revenue those of them with
   an order by D account for, beside the most that as many customers could account for (the
   first of ``best_possible``'s list).

Pure: Arrow tables in, numbers out (numpy and pyarrow only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TOP_PERCENTS = (1, 5, 10)
"""The cuts of the ranked list, in percent of the customers with an order by D."""
SILENT_DAYS = 90
"""The ``silent_90d`` baseline: no order in this many days up to and including D."""
RISK_SEGMENTS = ("cant_lose_them", "at_risk")
"""The RFM segments (:data:`regulars.analytics.traits.RFM_SEGMENTS`) the RFM baseline puts
first."""
STATUS_SETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lapsing", ("lapsing",)),
    ("lost", ("lost",)),
    ("lapsing_or_lost", ("lapsing", "lost")),
)
STATUSES = ("active", "lapsing", "lost", "won_back")
RUNG_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loyal", ("loyal", "advocate")),
    ("regular", ("regular",)),
    ("returning", ("returning",)),
    ("newcomer", ("newcomer",)),
)
METHODS = ("ours", "silent_90d", "revenue_x_p_gone", "rfm_at_risk")
BASELINES = METHODS[1:]
BEST = "best_possible"

_EPOCH = date(1970, 1, 1)


def _ratio(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


@dataclass(frozen=True)
class StatusCheck:
    """A status (or two) as a prediction that the customer places no order in the horizon."""

    status: str
    flagged: int
    """Customers with the status at D (the support of precision)."""
    flagged_gone: int
    """Of them, placed no order in the horizon."""
    gone: int
    """Customers who placed no order in the horizon (the support of recall)."""
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class StatusOutcome:
    """How many customers of a status at D ordered again in the horizon."""

    status: str
    customers: int
    ordered_again: int
    share: float | None


@dataclass(frozen=True)
class RungRetention:
    """The customers of a rung at D: who ordered in the horizon, and the revenue kept."""

    rung: str
    customers: int
    ordered: int
    share_ordered: float | None
    revenue_before: float
    revenue_after: float
    revenue_kept: float | None
    """``revenue_after / revenue_before`` (None when nothing was bought before)."""


@dataclass(frozen=True)
class Capture:
    """The share of the lost revenue the top of one method's list accounts for."""

    method: str
    shares: tuple[float | None, ...] = ()
    """One per cut (:attr:`Comparison.percents`; None when no revenue was lost)."""
    available: bool = True
    reason: str | None = None
    """Why the method is not available."""
    top_ids: tuple[str, ...] = ()
    """The first customers of its list (up to the 1 % cut, at most 10)."""


@dataclass(frozen=True)
class Reach:
    """The lost revenue the customers a set of lists reached account for (module docstring,
    4)."""

    customers: int
    """Customers with an order by D among those reached."""
    lost_revenue: float
    """Their lost revenue."""
    share: float | None
    """Of the total lost revenue (None when none was lost)."""
    best_possible: float | None
    """The share the same number of customers could account for at most."""

    def to_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "lost_revenue": round(self.lost_revenue, 2),
                "share": self.share, "best_possible": self.best_possible}


@dataclass(frozen=True)
class Comparison:
    """Everything the backtest measured (module docstring)."""

    customers: int
    """Customers with an order on or before D."""
    gone: int
    """Of them, placed no order in the horizon."""
    revenue_before: float
    revenue_after: float
    lost_revenue: float
    """Σ max(0, revenue before − revenue after)."""
    statuses: tuple[StatusCheck, ...]
    status_outcomes: tuple[StatusOutcome, ...]
    rungs: tuple[RungRetention, ...]
    percents: tuple[int, ...]
    """The cuts, in percent (:data:`TOP_PERCENTS`)."""
    top: tuple[int, ...]
    """Customers in each cut (:func:`top_counts`)."""
    capture: tuple[Capture, ...]
    beats_baselines: tuple[bool | None, ...] = field(default=())
    """Per cut: ours strictly above every available baseline (None without any)."""
    reach: Reach | None = None
    """What the worklists reached, when they were given (:func:`compare`'s ``reached``)."""

    def capture_of(self, method: str) -> Capture:
        return next(c for c in self.capture if c.method == method)

    def to_dict(self) -> dict[str, Any]:
        cuts = [f"top_{p}pct" for p in self.percents]
        return {
            "customers": self.customers,
            "gone": self.gone,
            "revenue_before": round(self.revenue_before, 2),
            "revenue_after": round(self.revenue_after, 2),
            "lost_revenue": round(self.lost_revenue, 2),
            "statuses": [vars(s) for s in self.statuses],
            "status_outcomes": [vars(s) for s in self.status_outcomes],
            "rungs": [{**vars(r), "revenue_before": round(r.revenue_before, 2),
                       "revenue_after": round(r.revenue_after, 2)} for r in self.rungs],
            "top": dict(zip(cuts, self.top, strict=True)),
            "capture": [
                {"method": c.method, "available": c.available, "reason": c.reason,
                 "shares": dict(zip(cuts, c.shares, strict=True)) if c.available else None,
                 "top_ids": list(c.top_ids)}
                for c in self.capture
            ],
            "beats_baselines": dict(zip(cuts, self.beats_baselines, strict=True)),
        }


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - _EPOCH).days


def outcomes(orders: pa.Table, *, as_of: date, horizon_days: int) -> pa.Table:
    """Per customer with an order on or before ``as_of``: ``customer_id, revenue_before,
    orders_after, revenue_after, silent_90d`` (module docstring: the windows).

    ``orders``: ``customer_id, ordered_at, amount`` (a null amount counts 0). Orders after
    ``as_of + horizon_days`` are not read.
    """
    d = day_number(as_of)
    h = int(horizon_days)
    days = pc.cast(orders.column("ordered_at"), pa.date32())
    day = np.asarray(pc.cast(days, pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)
    amount = np.asarray(pc.fill_null(pc.cast(orders.column("amount"), pa.float64()), 0.0)
                        .to_numpy(zero_copy_only=False), dtype=np.float64)
    ids = orders.column("customer_id").combine_chunks()
    upto = day <= d
    known = pc.unique(ids.filter(pa.array(upto)))
    known = known.take(pc.sort_indices(known))
    code = np.asarray(pc.index_in(ids, value_set=known).fill_null(-1).to_numpy(
        zero_copy_only=False), dtype=np.int64)
    n = len(known)
    mine = code >= 0

    def per(mask: BoolArray, weights: FloatArray | None = None) -> FloatArray:
        sel = mine & mask
        out: FloatArray = np.bincount(code[sel], weights=None if weights is None
                                      else weights[sel], minlength=n).astype(np.float64)
        return out

    before = (day > d - h) & upto
    after = (day > d) & (day <= d + h)
    recent = (day > d - SILENT_DAYS) & upto
    return pa.table({
        "customer_id": known,
        "revenue_before": per(before, amount),
        "orders_after": per(after).astype(np.int64),
        "revenue_after": per(after, amount),
        "silent_90d": per(recent) == 0,
    })


def _ranked(keys: Sequence[FloatArray], id_rank: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Positions sorted by ``keys`` (each ascending, the first most significant), then by id."""
    order: npt.NDArray[np.int64] = np.lexsort((id_rank, *reversed(keys)))
    return order


def _desc(score: FloatArray) -> FloatArray:
    """A key that sorts a score descending, missing scores last."""
    return np.where(np.isnan(score), np.inf, -score)


def top_counts(n: int, percents: Sequence[int] = TOP_PERCENTS) -> tuple[int, ...]:
    """How many customers the top ``p`` % of ``n`` is: ``ceil(n × p / 100)``, at least 1
    (0 when there is no one), in integers so that 5 % of 100 is 5."""
    return tuple(max(1, -(-n * p // 100)) if n else 0 for p in percents)


# over 60 lines, one piece: every figure of the comparison (statuses, rungs, the capture of
# each ranking) reads the same arrays, taken once from the map joined to the outcomes
def compare(customers: pa.Table, outcome: pa.Table, *,
            p_alive_missing: str | None = None,
            percents: Sequence[int] = TOP_PERCENTS,
            reached: Sequence[str] | None = None) -> Comparison:
    """Compare the map as of D (``customers``: ``customer_id, orders, rung, status, revenue,
    rfm_segment, money_at_stake`` and, when the model was fitted, ``p_alive``) with
    :func:`outcomes` of the same D and horizon.

    ``p_alive_missing``: why the map has no ``p_alive`` (the reason the ``revenue_x_p_gone``
    baseline gives when it is not available). ``reached``: the ids of the customers the
    worklists reached (:class:`Reach`).
    """
    orders = pc.fill_null(customers.column("orders"), 0)
    rows = customers.filter(pc.greater(orders, 0))
    ids = rows.column("customer_id").combine_chunks()
    at = pc.index_in(ids, value_set=outcome.column("customer_id"))

    def out(name: str, default: Any) -> npt.NDArray[Any]:
        col = pc.fill_null(pc.take(outcome.column(name), at), default)
        return np.asarray(col.to_numpy(zero_copy_only=False))

    before = out("revenue_before", 0.0).astype(np.float64)
    after = out("revenue_after", 0.0).astype(np.float64)
    ordered = out("orders_after", 0).astype(np.int64) > 0
    silent = out("silent_90d", True).astype(bool)
    gone = ~ordered
    lost = np.maximum(0.0, before - after)

    def text(name: str) -> npt.NDArray[Any]:
        return np.asarray(pc.fill_null(rows.column(name), "").to_numpy(zero_copy_only=False))

    def num(name: str) -> FloatArray:
        col = pc.cast(rows.column(name), pa.float64())
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)

    status, rung, segment = text("status"), text("rung"), text("rfm_segment")
    revenue = np.nan_to_num(num("revenue"))
    n = rows.num_rows

    statuses = []
    for name, members in STATUS_SETS:
        flagged = np.isin(status, members)
        hit = int((flagged & gone).sum())
        statuses.append(StatusCheck(name, int(flagged.sum()), hit, int(gone.sum()),
                                    _ratio(hit, int(flagged.sum())),
                                    _ratio(hit, int(gone.sum()))))
    status_outcomes = []
    for name in STATUSES:
        of = status == name
        again = int((of & ordered).sum())
        status_outcomes.append(StatusOutcome(name, int(of.sum()), again,
                                             _ratio(again, int(of.sum()))))
    rungs = []
    for name, members in (*RUNG_GROUPS, ("all", ())):
        of = np.isin(rung, members) if members else np.ones(n, dtype=bool)
        rb, ra = float(before[of].sum()), float(after[of].sum())
        rungs.append(RungRetention(name, int(of.sum()), int((of & ordered).sum()),
                                   _ratio(int((of & ordered).sum()), int(of.sum())),
                                   rb, ra, _ratio(ra, rb)))

    top = top_counts(n, percents)
    total_lost = float(lost.sum())
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[np.asarray(pc.sort_indices(ids).to_numpy(zero_copy_only=False))] = np.arange(n)

    def capture(method: str, order: npt.NDArray[np.int64]) -> Capture:
        shares = tuple(_ratio(float(lost[order[:k]].sum()), total_lost) for k in top)
        first = ids.take(pa.array(order[:min(top[0], 10)])).to_pylist() if n else []
        return Capture(method, shares, top_ids=tuple(first))

    captures = [capture("ours", _ranked([_desc(num("money_at_stake"))], id_rank))]
    captures.append(capture("silent_90d", _ranked(
        [np.where(silent, 0.0, 1.0), _desc(revenue)], id_rank)))
    if "p_alive" in rows.column_names and pc.count(rows.column("p_alive")).as_py() > 0:
        score = revenue * (1.0 - num("p_alive"))
        captures.append(capture("revenue_x_p_gone", _ranked([_desc(score)], id_rank)))
    else:
        captures.append(Capture("revenue_x_p_gone", (None,) * len(top),
                                available=False,
                                reason=p_alive_missing or "the map has no p_alive"))
    risky = np.isin(segment, RISK_SEGMENTS)
    captures.append(capture("rfm_at_risk", _ranked(
        [np.where(risky, 0.0, 1.0), _desc(revenue)], id_rank)))
    captures.append(capture(BEST, _ranked([_desc(lost)], id_rank)))

    ours = captures[0].shares
    baselines = [c for c in captures if c.method in BASELINES and c.available]
    beats: list[bool | None] = []
    for i in range(len(top)):
        values = [c.shares[i] for c in baselines]
        if not baselines or ours[i] is None:
            beats.append(None)
        else:
            beats.append(all(ours[i] > (v or 0.0) for v in values))  # type: ignore[operator]
    reach = None
    if reached is not None:
        listed = np.asarray(pc.is_in(ids, value_set=pa.array(list(reached), ids.type))
                            .to_numpy(zero_copy_only=False), bool)
        k = int(listed.sum())
        caught = float(np.sum(lost[listed]))
        best = float(np.sum(np.sort(lost)[::-1][:k]))
        reach = Reach(k, caught, _ratio(caught, total_lost), _ratio(best, total_lost))
    return Comparison(n, int(gone.sum()), float(before.sum()), float(after.sum()), total_lost,
                      tuple(statuses), tuple(status_outcomes), tuple(rungs), tuple(percents), top,
                      tuple(captures), tuple(beats), reach)

