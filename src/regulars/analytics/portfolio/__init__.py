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
from datetime import datetime

import ibis.expr.types as ir

from regulars.analytics.params import MapParams
from regulars.analytics.portfolio._common import (
    ABSENT,
    BUYER_RUNGS,
    FLOW_STATES,
    LOST,
    LOYAL_RUNGS,
    REGULAR_RUNGS,
    RUNGS,
    STATUSES,
    ActiveAt,
)
from regulars.analytics.portfolio._common import FEEDBACK_COLUMNS as FEEDBACK_COLUMNS
from regulars.analytics.portfolio._common import MAP_COLUMNS as MAP_COLUMNS
from regulars.analytics.portfolio._common import ORDER_COLUMNS as ORDER_COLUMNS
from regulars.analytics.portfolio.breakdowns import (
    ladder_breakdown,
    status_breakdown,
    status_by_rung,
)
from regulars.analytics.portfolio.churn import (
    active_customers,
    active_in_map,
    retention,
    retention_from_maps,
)
from regulars.analytics.portfolio.cohorts import cohort_retention
from regulars.analytics.portfolio.feedback import nps
from regulars.analytics.portfolio.flow import MOVEMENTS, ladder_flow, movement
from regulars.analytics.portfolio.metrics import base_metrics
from regulars.analytics.portfolio.results import (
    BaseMetrics,
    Breakdown,
    Cohort,
    CohortRetention,
    Concentration,
    CrossTab,
    CurvePoint,
    LadderFlow,
    Nps,
    Period,
    Portfolio,
    Retention,
    RevenueSplit,
    Slice,
)
from regulars.analytics.portfolio.revenue import concentration, revenue_split

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
