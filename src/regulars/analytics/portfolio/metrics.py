"""Base metrics of the customer map: repeat-purchase rate, order value, frequency, tenure."""

from __future__ import annotations

from datetime import datetime

import ibis.expr.types as ir

from regulars.analytics._inputs import as_of_epoch, epoch, f64, money_sum
from regulars.analytics.portfolio._common import (
    _SECONDS_PER_DAY,
    MAP_COLUMNS,
    REGULAR_RUNGS,
    _money,
    _one,
    _ratio,
    _require,
)
from regulars.analytics.portfolio.results import (
    BaseMetrics,
)

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


