"""Where the revenue comes from: regulars' and loyal customers' share (the Pareto check) and
revenue concentration (DOMAIN §5).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from regulars.analytics._inputs import money_sum
from regulars.analytics.params import MapParams
from regulars.analytics.portfolio._common import (
    _PARETO_CURVE_STEPS,
    BUYER_RUNGS,
    LOYAL_RUNGS,
    MAP_COLUMNS,
    ORDER_COLUMNS,
    REGULAR_RUNGS,
    _money,
    _one,
    _ratio,
    _require,
    _rows,
)
from regulars.analytics.portfolio.results import (
    Concentration,
    CurvePoint,
    Period,
    RevenueSplit,
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


# over 60 lines, one piece: one ranked Ibis table gives the figures and the curve; the rest
# is the result's fields, one per line
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


