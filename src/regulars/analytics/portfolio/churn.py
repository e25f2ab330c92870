"""Customer retention rate and churn over a period (DOMAIN §7), and what "active" means for it."""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from regulars.analytics.params import MapParams
from regulars.analytics.portfolio._common import (
    _SECONDS_PER_DAY,
    LOST,
    MAP_COLUMNS,
    ORDER_COLUMNS,
    ActiveAt,
    _orders_until,
    _ratio,
    _require,
)
from regulars.analytics.portfolio.results import (
    Period,
    Retention,
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


