"""Customers and revenue per rung and per status, and status by rung."""

from __future__ import annotations

import math
from collections.abc import Sequence

import ibis.expr.types as ir

from regulars.analytics._inputs import money_sum
from regulars.analytics.portfolio._common import (
    BUYER_RUNGS,
    MAP_COLUMNS,
    RUNGS,
    STATUSES,
    _money,
    _ratio,
    _require,
    _rows,
)
from regulars.analytics.portfolio.results import (
    Breakdown,
    CrossTab,
    Slice,
)

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


