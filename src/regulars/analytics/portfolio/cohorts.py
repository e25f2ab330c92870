"""Cohort retention: each first-order-month cohort ordering again month by month."""

from __future__ import annotations

from datetime import datetime

import ibis.expr.types as ir

from regulars.analytics.portfolio._common import (
    ORDER_COLUMNS,
    _month_index,
    _month_label,
    _orders_until,
    _require,
    _rows,
)
from regulars.analytics.portfolio.results import (
    Cohort,
    CohortRetention,
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


