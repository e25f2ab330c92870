"""Portfolio metrics: how the customer base as a whole is doing (DOMAIN §5 portfolio signals, §7).

Every function takes tables in (the per-customer map, the raw orders, the feedback), an explicit
as-of date or period and the thresholds of :class:`~regulars.analytics.params.MapParams`, and
returns a small frozen dataclass whose ``to_dict()`` is JSON-serialisable. The heavy lifting is
written once as Ibis expressions, so it runs on whichever backend the input tables live on; only
the few resulting numbers are reshaped in Python.

Input contracts
---------------
customers map
    one row per customer: ``customer_id, orders, first_order_at, last_order_at, revenue,
    avg_order_value, typical_gap_days, days_since_last_order, rung, status, signals, traits,
    rfm_r, rfm_f, rfm_m, rfm_segment, evidence``. ``rung`` is one of :data:`RUNGS`; ``status``
    one of :data:`STATUSES`, null for prospects.
orders
    ``customer_id, ordered_at, amount`` (more columns are ignored).
feedback
    ``customer_id, at, nps`` (rows without an NPS answer are ignored).

Conventions
-----------
* Shares are fractions from 0 to 1. The two §7 figures whose formula multiplies by 100 —
  :attr:`Nps.score` and :attr:`Retention.crr` — are percentages, as the formulas define them.
* A state "at" an instant ``t`` counts the orders with ``ordered_at <= t``. A :class:`Period`
  covers the events after ``start`` up to and including ``end``, so that the state at ``end``
  is the state at ``start`` plus the period's events, and consecutive periods never count an
  event twice.
* "Active at ``t``" (for retention and churn) is, by default, the simple rule: has ordered at
  or before ``t`` and the last order is at most ``MapParams.lost_max_days`` days before ``t``.
  When customer maps computed at the period's start and end are at hand, pass their statuses
  instead (:func:`retention_from_maps`), or any rule as a callable (``active_at``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from regulars.analytics._inputs import as_of_epoch, epoch, f64, money_sum
from regulars.analytics.params import MapParams

__all__ = [
    "ABSENT",
    "BUYER_RUNGS",
    "FLOW_STATES",
    "LOST",
    "LOYAL_RUNGS",
    "MOVEMENTS",
    "REGULAR_RUNGS",
    "RUNGS",
    "STATUSES",
    "ActiveAt",
    "BaseMetrics",
    "Breakdown",
    "Cohort",
    "CohortRetention",
    "Concentration",
    "CrossTab",
    "CurvePoint",
    "LadderFlow",
    "Nps",
    "Period",
    "Portfolio",
    "Retention",
    "RevenueSplit",
    "Slice",
    "active_customers",
    "active_in_map",
    "base_metrics",
    "cohort_retention",
    "concentration",
    "ladder_breakdown",
    "ladder_flow",
    "movement",
    "nps",
    "portfolio",
    "retention",
    "retention_from_maps",
    "revenue_split",
    "status_breakdown",
    "status_by_rung",
]

RUNGS: tuple[str, ...] = ("prospect", "newcomer", "returning", "regular", "loyal", "advocate")
"""The loyalty ladder from the bottom up (DOMAIN §3)."""
BUYER_RUNGS: tuple[str, ...] = RUNGS[1:]
"""Rungs of customers with at least one order."""
REGULAR_RUNGS: tuple[str, ...] = ("regular", "loyal", "advocate")
"""Rungs that count as regulars (≥ ``regular_min_orders`` orders)."""
LOYAL_RUNGS: tuple[str, ...] = ("loyal", "advocate")
"""Rungs that count as loyal."""
STATUSES: tuple[str, ...] = ("active", "lapsing", "lost", "won_back")
"""Activity statuses (DOMAIN §4); prospects have none."""
LOST = "lost"
ABSENT = "absent"
"""Ladder-flow state of a customer missing from one of the two maps."""
FLOW_STATES: tuple[str, ...] = (ABSENT, *RUNGS, LOST)
"""States of the ladder flow: not in the map, a rung, or off the ladder (lost)."""

MAP_COLUMNS = ("customer_id", "orders", "first_order_at", "revenue", "rung", "status")
ORDER_COLUMNS = ("customer_id", "ordered_at", "amount")
FEEDBACK_COLUMNS = ("customer_id", "at", "nps")

_SECONDS_PER_DAY = 86_400
_PARETO_CURVE_STEPS = 100  # at most 100 steps plus the origin: ≤ 101 points

ActiveAt = Callable[[datetime], ir.Table]
"""A rule for "active at an instant": returns a table with a ``customer_id`` column."""


# --------------------------------------------------------------------------------------------
# result types


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _Serialisable:
    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-serialisable values (datetimes as ISO 8601 strings)."""
        result: dict[str, Any] = _jsonable(self)
        return result


@dataclass(frozen=True)
class Period(_Serialisable):
    """The events after ``start`` up to and including ``end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def trailing(cls, end: datetime, days: int) -> Period:
        """The ``days`` days up to and including ``end``."""
        return cls(end - timedelta(days=days), end)


@dataclass(frozen=True)
class Slice(_Serialisable):
    """One group of customers: how many, their share, their revenue and its share."""

    label: str
    customers: int
    share: float | None
    revenue: float
    revenue_share: float | None


@dataclass(frozen=True)
class Breakdown(_Serialisable):
    """Customers split by one label (rung or status), every known label listed, in order."""

    total: int
    total_revenue: float
    items: tuple[Slice, ...]

    def __getitem__(self, label: str) -> Slice:
        for item in self.items:
            if item.label == label:
                return item
        raise KeyError(label)


@dataclass(frozen=True)
class CrossTab(_Serialisable):
    """Counts of customers by a row label and a column label."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def count(self, row: str, column: str) -> int:
        return self.counts[self.rows.index(row)][self.columns.index(column)]

    def row_total(self, row: str) -> int:
        return sum(self.counts[self.rows.index(row)])

    @property
    def total(self) -> int:
        return sum(sum(r) for r in self.counts)


@dataclass(frozen=True)
class RevenueSplit(_Serialisable):
    """Regulars' and loyal customers' share of buyers and of revenue, and the Pareto check.

    The base is the buyers (customers with at least one order) and their revenue as recorded in
    the customer map. ``pareto_passed`` is true when loyal customers are at most
    ``pareto_customer_share`` of the buyers and bring more than ``pareto_revenue_share`` of the
    revenue (article 001: "≤ 20 % of the base, > 50 % of sales").
    """

    buyers: int
    total_revenue: float
    regulars: int
    regulars_customer_share: float | None
    regulars_revenue: float
    regulars_revenue_share: float | None
    loyal: int
    loyal_customer_share: float | None
    loyal_revenue: float
    loyal_revenue_share: float | None
    pareto_customer_share: float
    pareto_revenue_share: float
    pareto_passed: bool


@dataclass(frozen=True)
class CurvePoint(_Serialisable):
    """A point of the Pareto curve: the top ``customer_share`` bring ``revenue_share``."""

    customer_share: float
    revenue_share: float


@dataclass(frozen=True)
class Concentration(_Serialisable):
    """Dependence on single customers over a trailing window (DOMAIN §5).

    ``hhi`` is the Herfindahl–Hirschman index, the sum of squared revenue shares (0–1);
    ``hhi_points`` the same on the usual 0–10,000 scale. ``curve`` runs from (0, 0) to (1, 1)
    through customers ranked by revenue, largest first, downsampled to at most 101 points.
    """

    window: Period
    customers: int
    total_revenue: float
    largest_customer_id: str | None
    largest_share: float | None
    alert_share: float
    alert: bool
    top10_share: float | None
    hhi: float | None
    hhi_points: float | None
    curve: tuple[CurvePoint, ...]


@dataclass(frozen=True)
class Nps(_Serialisable):
    """Net promoter score of the responses in a period (each response counts once).

    ``score`` = % promoters − % detractors, from −100 to 100; None without responses.
    """

    period: Period | None
    responses: int
    promoters: int
    passives: int
    detractors: int
    promoter_share: float | None
    passive_share: float | None
    detractor_share: float | None
    score: float | None


@dataclass(frozen=True)
class Retention(_Serialisable):
    """Customer retention and churn over a period (DOMAIN §7).

    ``crr`` = (E − N) / S × 100, where S = ``active_at_start``, E = ``active_at_end`` and
    N = ``new_customers`` (first order within the period). ``churned`` are customers active at
    the start and not at the end; ``churn_rate`` = churned / S (a fraction). Both are None when
    nobody was active at the start.
    """

    period: Period
    active_at_start: int
    active_at_end: int
    new_customers: int
    churned: int
    crr: float | None
    churn_rate: float | None


@dataclass(frozen=True)
class BaseMetrics(_Serialisable):
    """Lifetime figures of the base as of the map's date (DOMAIN §7).

    ``repeat_purchase_rate`` = buyers with ≥ 2 orders / buyers; ``average_order_value`` =
    revenue / orders; ``purchase_frequency`` = orders / buyers; ``regulars_share`` = regulars /
    buyers; ``regulars_average_tenure_days`` = mean days from a regular's first order to as-of
    (their "stage").
    """

    customers: int
    buyers: int
    repeat_buyers: int
    repeat_purchase_rate: float | None
    orders: int
    revenue: float
    average_order_value: float | None
    purchase_frequency: float | None
    regulars: int
    regulars_share: float | None
    regulars_average_tenure_days: float | None


@dataclass(frozen=True)
class LadderFlow(_Serialisable):
    """How customers moved between two maps (DOMAIN §7: the "rotation" of regulars).

    Each customer's state is their rung, or ``lost`` when their status is lost (off the ladder),
    or ``absent`` when missing from that map. ``matrix`` counts customers by state in the first
    map (rows) and in the second (columns), over :data:`FLOW_STATES`.

    * ``new_entrants``: absent or a prospect before, a buyer (any rung or lost) after;
    * ``became_lost``: a buyer on the ladder before, lost after;
    * ``won_back``: lost before, back on a buyer rung after;
    * ``still_lost``: lost in both;
    * ``moved_up`` / ``moved_down`` / ``stayed``: on a buyer rung in both, compared by rung;
    * ``left_map``: in the first map, absent from the second.
    """

    matrix: CrossTab
    moved_up: int
    moved_down: int
    stayed: int
    became_lost: int
    won_back: int
    still_lost: int
    new_entrants: int
    left_map: int


@dataclass(frozen=True)
class Cohort(_Serialisable):
    """One cohort: customers whose first order fell in ``month`` (``YYYY-MM``).

    ``retention[k]`` is the share of the cohort ordering in month +k (``retention[0]`` is 1.0),
    None where month +k lies after the as-of date.
    """

    month: str
    size: int
    retention: tuple[float | None, ...]


@dataclass(frozen=True)
class CohortRetention(_Serialisable):
    """Cohort retention by month of first order, oldest cohort first."""

    months: int
    cohorts: tuple[Cohort, ...]


@dataclass(frozen=True)
class Portfolio(_Serialisable):
    """Everything the portfolio dashboard shows, as of one date."""

    as_of: datetime
    period: Period
    ladder: Breakdown
    statuses: Breakdown
    status_by_rung: CrossTab
    revenue: RevenueSplit
    concentration: Concentration
    metrics: BaseMetrics
    cohorts: CohortRetention
    retention: Retention
    nps: Nps | None = None
    flow: LadderFlow | None = None
    params: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# helpers


def _require(table: ir.Table, columns: Iterable[str], name: str) -> None:
    """Fail early, naming the table and the missing columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name} table lacks column(s) {', '.join(missing)}")


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows


def _one(expr: ir.Table) -> dict[str, Any]:
    return _rows(expr)[0]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _money(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _orders_until(orders: ir.Table, at: datetime) -> ir.Table:
    return orders.filter(orders.ordered_at <= ibis.literal(at))


def _month_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --------------------------------------------------------------------------------------------
# ladder and status


def _breakdown(customers_map: ir.Table, column: str, labels: Sequence[str]) -> Breakdown:
    m = customers_map
    revenue = m.revenue.cast("float64").fill_null(0)
    grouped = m.group_by(m[column].name(column)).agg(
        customers=m.count(), revenue=money_sum(revenue, digits=38)
    )
    found = {r[column]: r for r in _rows(grouped) if r[column] is not None}
    unknown = sorted(set(found) - set(labels))
    if unknown:
        raise ValueError(f"customer map has unknown {column} value(s): {', '.join(unknown)}")
    total = sum(int(r["customers"]) for r in found.values())
    # fsum: exact, so the total does not depend on the order the engine returned the groups in
    total_revenue = math.fsum(_money(r["revenue"]) for r in found.values())
    items = []
    for label in labels:
        row = found.get(label, {"customers": 0, "revenue": 0.0})
        items.append(
            Slice(
                label=label,
                customers=int(row["customers"]),
                share=_ratio(int(row["customers"]), total),
                revenue=_money(row["revenue"]),
                revenue_share=_ratio(_money(row["revenue"]), total_revenue),
            )
        )
    return Breakdown(total=total, total_revenue=total_revenue, items=tuple(items))


def ladder_breakdown(customers_map: ir.Table) -> Breakdown:
    """Customers and revenue per rung, prospect to advocate; shares of all mapped customers."""
    _require(customers_map, MAP_COLUMNS, "customers map")
    return _breakdown(customers_map, "rung", RUNGS)


def status_breakdown(customers_map: ir.Table) -> Breakdown:
    """Customers and revenue per status; shares of the customers that have a status (buyers)."""
    _require(customers_map, MAP_COLUMNS, "customers map")
    return _breakdown(customers_map, "status", STATUSES)


def status_by_rung(customers_map: ir.Table) -> CrossTab:
    """Buyers counted by rung (rows, newcomer to advocate) and status (columns)."""
    _require(customers_map, MAP_COLUMNS, "customers map")
    m = customers_map.filter(customers_map.status.notnull())
    grouped = m.group_by(["rung", "status"]).agg(customers=m.count())
    counts = {(r["rung"], r["status"]): int(r["customers"]) for r in _rows(grouped)}
    return CrossTab(
        rows=BUYER_RUNGS,
        columns=STATUSES,
        counts=tuple(tuple(counts.get((r, s), 0) for s in STATUSES) for r in BUYER_RUNGS),
    )


# --------------------------------------------------------------------------------------------
# revenue split and the Pareto check


def revenue_split(customers_map: ir.Table, *, params: MapParams) -> RevenueSplit:
    """Share of buyers and of revenue from regulars and from loyal customers; the Pareto check.

    Regulars are the rungs regular, loyal and advocate; loyal are loyal and advocate. The base is
    the buyers (rung other than prospect) and the ``revenue`` column of the map.
    """
    _require(customers_map, MAP_COLUMNS, "customers map")
    m = customers_map.filter(customers_map.rung.isin(BUYER_RUNGS))
    revenue = m.revenue.cast("float64").fill_null(0)
    is_regular = m.rung.isin(REGULAR_RUNGS)
    is_loyal = m.rung.isin(LOYAL_RUNGS)
    row = _one(
        m.aggregate(
            buyers=m.count(),
            total_revenue=money_sum(revenue, digits=38),
            regulars=m.count(where=is_regular),
            regulars_revenue=money_sum(revenue, where=is_regular, digits=38),
            loyal=m.count(where=is_loyal),
            loyal_revenue=money_sum(revenue, where=is_loyal, digits=38),
        )
    )
    buyers = int(row["buyers"])
    total_revenue = _money(row["total_revenue"])
    loyal_customer_share = _ratio(int(row["loyal"]), buyers)
    loyal_revenue_share = _ratio(_money(row["loyal_revenue"]), total_revenue)
    passed = (
        loyal_customer_share is not None
        and loyal_revenue_share is not None
        and loyal_customer_share <= params.pareto_customer_share
        and loyal_revenue_share > params.pareto_revenue_share
    )
    return RevenueSplit(
        buyers=buyers,
        total_revenue=total_revenue,
        regulars=int(row["regulars"]),
        regulars_customer_share=_ratio(int(row["regulars"]), buyers),
        regulars_revenue=_money(row["regulars_revenue"]),
        regulars_revenue_share=_ratio(_money(row["regulars_revenue"]), total_revenue),
        loyal=int(row["loyal"]),
        loyal_customer_share=loyal_customer_share,
        loyal_revenue=_money(row["loyal_revenue"]),
        loyal_revenue_share=loyal_revenue_share,
        pareto_customer_share=params.pareto_customer_share,
        pareto_revenue_share=params.pareto_revenue_share,
        pareto_passed=passed,
    )


# --------------------------------------------------------------------------------------------
# concentration


def concentration(orders: ir.Table, *, as_of: datetime, params: MapParams) -> Concentration:
    """Revenue concentration over the ``concentration_window_days`` up to ``as_of`` (§5).

    The alert is raised when the largest customer brings at least
    ``concentration_alert_share`` of the window's revenue ("don't put all eggs in one basket").
    Customers are ranked by revenue, largest first, ties broken by ``customer_id``.
    """
    _require(orders, ORDER_COLUMNS, "orders")
    window = Period.trailing(as_of, params.concentration_window_days)
    o = orders.filter(
        (orders.ordered_at > ibis.literal(window.start))
        & (orders.ordered_at <= ibis.literal(window.end))
    )
    per_customer = o.group_by("customer_id").agg(
        revenue=money_sum(o.amount.cast("float64").fill_null(0))
    )
    ranking = ibis.window(order_by=[ibis.desc(per_customer.revenue), per_customer.customer_id])
    ranked = per_customer.mutate(
        rank=ibis.row_number().over(ranking) + 1,  # Ibis' row_number is 0-based
        cumulative=per_customer.revenue.sum().over(
            ibis.window(
                order_by=[ibis.desc(per_customer.revenue), per_customer.customer_id],
                rows=(None, 0),
            )
        ),
        n=per_customer.count().over(),
    )
    summary = _one(
        ranked.aggregate(
            customers=ranked.count(),
            total=money_sum(ranked.revenue, digits=38),
            squares=money_sum(ranked.revenue * ranked.revenue, digits=38),
            largest=ranked.revenue.max(),
            top10=money_sum(ranked.revenue, where=ranked["rank"] <= 10, digits=38),
        )
    )
    customers = int(summary["customers"])
    total = _money(summary["total"])
    largest_id: str | None = None
    if customers:
        largest_id = str(
            _one(ranked.filter(ranked["rank"] == 1).select("customer_id"))["customer_id"]
        )
    # keep the last customer of each percentile step: ≤ 100 points, plus the origin
    step = (ranked["rank"] * _PARETO_CURVE_STEPS) // ranked["n"]
    previous_step = ((ranked["rank"] - 1) * _PARETO_CURVE_STEPS) // ranked["n"]
    points = _rows(
        ranked.filter(step > previous_step).select("rank", "cumulative", "n").order_by("rank")
    )
    curve = [CurvePoint(0.0, 0.0)]
    for p in points:
        curve.append(
            CurvePoint(
                customer_share=int(p["rank"]) / int(p["n"]),
                revenue_share=_money(p["cumulative"]) / total if total else 0.0,
            )
        )
    largest_share = _ratio(_money(summary["largest"]), total)
    hhi = _ratio(_money(summary["squares"]), total * total)
    return Concentration(
        window=window,
        customers=customers,
        total_revenue=total,
        largest_customer_id=largest_id,
        largest_share=largest_share,
        alert_share=params.concentration_alert_share,
        alert=largest_share is not None and largest_share >= params.concentration_alert_share,
        top10_share=_ratio(_money(summary["top10"]), total),
        hhi=hhi,
        hhi_points=hhi * 10_000 if hhi is not None else None,
        curve=tuple(curve),
    )


# --------------------------------------------------------------------------------------------
# NPS


def nps(feedback: ir.Table, *, params: MapParams, period: Period | None = None) -> Nps:
    """Net promoter score of the NPS responses in ``period`` (all responses when None).

    Promoters answer at least ``promoter_min_nps``, detractors at most ``detractor_max_nps``,
    passives from ``passive_min_nps`` up to the promoter band. Every response counts, so a
    customer answering twice counts twice (DOMAIN §7: "of responses in the period").
    """
    _require(feedback, FEEDBACK_COLUMNS, "feedback")
    f = feedback.filter(feedback.nps.notnull())
    if period is not None:
        at = f["at"]
        f = f.filter((at > ibis.literal(period.start)) & (at <= ibis.literal(period.end)))
    score = f.nps.cast("int64")
    row = _one(
        f.aggregate(
            responses=f.count(),
            promoters=f.count(where=score >= params.promoter_min_nps),
            passives=f.count(
                where=(score >= params.passive_min_nps) & (score < params.promoter_min_nps)
            ),
            detractors=f.count(where=score <= params.detractor_max_nps),
        )
    )
    responses, promoters = int(row["responses"]), int(row["promoters"])
    passives, detractors = int(row["passives"]), int(row["detractors"])
    return Nps(
        period=period,
        responses=responses,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        promoter_share=_ratio(promoters, responses),
        passive_share=_ratio(passives, responses),
        detractor_share=_ratio(detractors, responses),
        score=100 * (promoters - detractors) / responses if responses else None,
    )


# --------------------------------------------------------------------------------------------
# retention and churn


def active_customers(orders: ir.Table, at: datetime, *, params: MapParams) -> ir.Table:
    """Customers active at ``at`` by the simple rule (a table of ``customer_id``).

    Active means: has ordered at or before ``at``, and the last such order is at most
    ``lost_max_days`` days before ``at`` — i.e. not lost by the "more than a year without an
    order" rule of DOMAIN §4. The rhythm-based rule needs the customer map
    (:func:`active_in_map`).
    """
    _require(orders, ORDER_COLUMNS, "orders")
    o = _orders_until(orders, at)
    last = o.group_by("customer_id").agg(last_order_at=o.ordered_at.max())
    seconds_since = ibis.literal(at).epoch_seconds() - last.last_order_at.epoch_seconds()
    return last.filter(seconds_since <= params.lost_max_days * _SECONDS_PER_DAY).select(
        "customer_id"
    )


def active_in_map(customers_map: ir.Table) -> ir.Table:
    """Customers a map calls active, lapsing or won back (a buyer, not lost)."""
    _require(customers_map, MAP_COLUMNS, "customers map")
    m = customers_map
    return m.filter(m.status.notnull() & (m.status != LOST)).select("customer_id")


def _retention(
    active_start: ir.Table, active_end: ir.Table, orders: ir.Table, period: Period
) -> Retention:
    s = active_start.select("customer_id").distinct()
    e = active_end.select("customer_id").distinct()
    first = orders.group_by("customer_id").agg(first_order_at=orders.ordered_at.min())
    new = first.filter(
        (first.first_order_at > ibis.literal(period.start))
        & (first.first_order_at <= ibis.literal(period.end))
    )
    churned_table = s.anti_join(e, "customer_id")
    at_start = int(s.count().to_pyarrow().as_py())
    at_end = int(e.count().to_pyarrow().as_py())
    new_customers = int(new.count().to_pyarrow().as_py())
    churned = int(churned_table.count().to_pyarrow().as_py())
    return Retention(
        period=period,
        active_at_start=at_start,
        active_at_end=at_end,
        new_customers=new_customers,
        churned=churned,
        crr=100 * (at_end - new_customers) / at_start if at_start else None,
        churn_rate=_ratio(churned, at_start),
    )


def retention(
    orders: ir.Table,
    *,
    period: Period,
    params: MapParams,
    active_at: ActiveAt | None = None,
) -> Retention:
    """Customer retention rate and churn over ``period`` (DOMAIN §7).

    CRR = (E − N) / S × 100 with S customers active at ``period.start``, E active at
    ``period.end`` and N customers whose first order falls within the period. "Active at" is
    :func:`active_customers` (the ``lost_max_days`` rule) unless ``active_at`` gives another
    rule (a callable from an instant to a table with ``customer_id``).
    """
    _require(orders, ORDER_COLUMNS, "orders")
    rule: ActiveAt = active_at or (lambda at: active_customers(orders, at, params=params))
    return _retention(rule(period.start), rule(period.end), orders, period)


def retention_from_maps(
    map_at_start: ir.Table, map_at_end: ir.Table, orders: ir.Table, *, period: Period
) -> Retention:
    """:func:`retention` with "active" read from maps computed at the period's start and end."""
    _require(orders, ORDER_COLUMNS, "orders")
    return _retention(active_in_map(map_at_start), active_in_map(map_at_end), orders, period)


# --------------------------------------------------------------------------------------------
# base metrics


def base_metrics(customers_map: ir.Table, *, as_of: datetime) -> BaseMetrics:
    """Repeat-purchase rate, average order value, purchase frequency and regulars' tenure."""
    _require(customers_map, MAP_COLUMNS, "customers map")
    m = customers_map
    orders = m.orders.cast("int64").fill_null(0)
    revenue = m.revenue.cast("float64").fill_null(0)
    is_regular = m.rung.isin(REGULAR_RUNGS)
    # to the nearest second (floor of + 0.5: the same on every engine), summed as integers: a
    # float mean varies in its last bits from run to run
    tenure_seconds = (f64(as_of_epoch(as_of) + 0.5) - epoch(m.first_order_at)).floor()
    row = _one(
        m.aggregate(
            customers=m.count(),
            buyers=m.count(where=orders >= 1),
            repeat_buyers=m.count(where=orders >= 2),
            orders=orders.sum(),
            revenue=money_sum(revenue, digits=38),
            regulars=m.count(where=is_regular),
            regulars_tenure_seconds=tenure_seconds.sum(where=is_regular),
        )
    )
    buyers, n_orders = int(row["buyers"]), int(row["orders"] or 0)
    revenue_total = _money(row["revenue"])
    regulars = int(row["regulars"])
    tenure = (None if not regulars or row["regulars_tenure_seconds"] is None
              else int(row["regulars_tenure_seconds"]) / regulars / _SECONDS_PER_DAY)
    return BaseMetrics(
        customers=int(row["customers"]),
        buyers=buyers,
        repeat_buyers=int(row["repeat_buyers"]),
        repeat_purchase_rate=_ratio(int(row["repeat_buyers"]), buyers),
        orders=n_orders,
        revenue=revenue_total,
        average_order_value=_ratio(revenue_total, n_orders),
        purchase_frequency=_ratio(n_orders, buyers),
        regulars=regulars,
        regulars_share=_ratio(regulars, buyers),
        regulars_average_tenure_days=tenure,
    )


# --------------------------------------------------------------------------------------------
# ladder flow


def _flow_states(customers_map: ir.Table, name: str) -> ir.Table:
    m = customers_map
    state = ibis.cases((m.status == LOST, ibis.literal(LOST)), else_=m.rung)
    return m.select("customer_id", **{name: state})


MOVEMENTS: tuple[str, ...] = (
    "up",
    "down",
    "stayed",
    "became_lost",
    "won_back",
    "still_lost",
    "new",
    "left",
    "none",
)
"""Kinds of ladder movement, see :func:`movement`."""


def movement(from_state: str, to_state: str) -> str:
    """The kind of move between two :data:`FLOW_STATES` (one of :data:`MOVEMENTS`).

    ``none`` covers the pairs that are no move on the ladder (a prospect staying a prospect).
    """
    a, b = from_state, to_state
    if b == ABSENT:
        return "left" if a != ABSENT else "none"
    if a in (ABSENT, "prospect"):
        return "new" if b != "prospect" else "none"
    if a == LOST:
        return "still_lost" if b == LOST else "won_back"
    if b == LOST:
        return "became_lost"
    if b == "prospect":
        return "none"
    step = RUNGS.index(b) - RUNGS.index(a)
    return "up" if step > 0 else "down" if step < 0 else "stayed"


def ladder_flow(map_before: ir.Table, map_after: ir.Table) -> LadderFlow:
    """How customers moved between the map at an earlier date and the map at a later one."""
    _require(map_before, MAP_COLUMNS, "earlier customers map")
    _require(map_after, MAP_COLUMNS, "later customers map")
    before = _flow_states(map_before, "from_state")
    after = _flow_states(map_after, "to_state")
    joined = before.outer_join(after, "customer_id")
    pairs = joined.select(
        from_state=joined.from_state.fill_null(ABSENT), to_state=joined.to_state.fill_null(ABSENT)
    )
    grouped = pairs.group_by(["from_state", "to_state"]).agg(customers=pairs.count())
    counts: dict[tuple[str, str], int] = {}
    for r in _rows(grouped):
        if r["from_state"] not in FLOW_STATES or r["to_state"] not in FLOW_STATES:
            raise ValueError(f"customer map has an unknown rung: {r['from_state']}/{r['to_state']}")
        counts[(r["from_state"], r["to_state"])] = int(r["customers"])

    tally = dict.fromkeys(MOVEMENTS, 0)
    for (a, b), n in counts.items():
        tally[movement(a, b)] += n
    matrix = CrossTab(
        rows=FLOW_STATES,
        columns=FLOW_STATES,
        counts=tuple(tuple(counts.get((a, b), 0) for b in FLOW_STATES) for a in FLOW_STATES),
    )
    return LadderFlow(
        matrix=matrix,
        moved_up=tally["up"],
        moved_down=tally["down"],
        stayed=tally["stayed"],
        became_lost=tally["became_lost"],
        won_back=tally["won_back"],
        still_lost=tally["still_lost"],
        new_entrants=tally["new"],
        left_map=tally["left"],
    )


# --------------------------------------------------------------------------------------------
# cohort retention


def cohort_retention(
    orders: ir.Table, *, as_of: datetime, months: int = 12, max_cohorts: int | None = None
) -> CohortRetention:
    """Share of each first-order-month cohort ordering again in months +0 … +``months``.

    Months are calendar months of ``ordered_at``; a cell after ``as_of``'s month is None (not
    yet observable), the as-of month itself counts although it may be partial. ``max_cohorts``
    keeps only the most recent cohorts.
    """
    _require(orders, ORDER_COLUMNS, "orders")
    o = _orders_until(orders, as_of)
    o = o.select("customer_id", month=_month_index(o.ordered_at))
    first = o.group_by("customer_id").agg(cohort=o.month.min())
    sizes = _rows(first.group_by("cohort").agg(size=first.count()))
    joined = o.join(first, "customer_id")
    joined = joined.mutate(offset=joined.month - joined.cohort)
    joined = joined.filter(joined.offset <= months)
    cells = joined.group_by(["cohort", "offset"]).agg(customers=joined.customer_id.nunique())
    active = {(int(r["cohort"]), int(r["offset"])): int(r["customers"]) for r in _rows(cells)}
    last_month = as_of.year * 12 + as_of.month - 1
    cohorts = []
    for row in sorted(sizes, key=lambda r: int(r["cohort"])):
        cohort, size = int(row["cohort"]), int(row["size"])
        shares = tuple(
            active.get((cohort, k), 0) / size if cohort + k <= last_month else None
            for k in range(months + 1)
        )
        cohorts.append(Cohort(month=_month_label(cohort), size=size, retention=shares))
    if max_cohorts is not None:
        cohorts = cohorts[-max_cohorts:] if max_cohorts > 0 else []
    return CohortRetention(months=months, cohorts=tuple(cohorts))


# --------------------------------------------------------------------------------------------
# everything together


def portfolio(
    customers_map: ir.Table,
    orders: ir.Table,
    *,
    as_of: datetime,
    params: MapParams,
    feedback: ir.Table | None = None,
    period: Period | None = None,
    previous_map: ir.Table | None = None,
    active_at: ActiveAt | None = None,
    cohort_months: int = 12,
    max_cohorts: int | None = 24,
) -> Portfolio:
    """The portfolio dashboard as of ``as_of``.

    ``period`` (default: the 365 days up to ``as_of``) is the period of retention, churn and
    NPS. ``previous_map`` — the customer map at an earlier date, e.g. ``period.start`` — adds
    the ladder flow. ``active_at`` replaces the simple "active" rule of retention.
    """
    period = period or Period.trailing(as_of, 365)
    return Portfolio(
        as_of=as_of,
        period=period,
        ladder=ladder_breakdown(customers_map),
        statuses=status_breakdown(customers_map),
        status_by_rung=status_by_rung(customers_map),
        revenue=revenue_split(customers_map, params=params),
        concentration=concentration(orders, as_of=as_of, params=params),
        metrics=base_metrics(customers_map, as_of=as_of),
        cohorts=cohort_retention(
            orders, as_of=as_of, months=cohort_months, max_cohorts=max_cohorts
        ),
        retention=retention(orders, period=period, params=params, active_at=active_at),
        # feedback whose NPS column is empty (only CSAT answers) has it dropped as unknown
        nps=nps(feedback, params=params, period=period)
        if feedback is not None and "nps" in feedback.columns else None,
        flow=ladder_flow(previous_map, customers_map) if previous_map is not None else None,
        params=dataclasses.asdict(params),
    )
