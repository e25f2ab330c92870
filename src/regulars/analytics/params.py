"""Every threshold of the customer map (DOMAIN §3–§7), with the spec's defaults.

Analytics takes these as plain values; ``regulars.config`` lets a business override each of them
in ``regulars.toml`` or the environment ("each company must define for itself whom it counts as
a regular customer"). Field comments are the documentation ``regulars config show`` prints.
"""

from __future__ import annotations

import ast
import inspect
import itertools
from dataclasses import dataclass, fields
from typing import Literal


@dataclass(frozen=True)
class MapParams:
    """Thresholds of the ladder, statuses, signals, traits and portfolio metrics."""

    # §3 ladder
    returning_min_orders: int = 2
    """Orders that make a newcomer 'returning'."""
    regular_min_orders: int = 3
    """Orders that make a customer a regular (article 001: three or more purchases)."""
    loyal_min_evidence: int = 3
    """Pieces of attachment evidence (among those whose data exists) that make a regular 'loyal'."""
    loyal_min_tenure_days: int = 365
    """An active relationship (first to last order) this long counts as attachment evidence."""
    full_price_min_share: float = 0.5
    """Share of orders without discount above which a customer 'buys without discount'."""

    # §4 status
    lapsing_gap_factor: float = 1.5
    """Days since last order above this many typical gaps: lapsing ('sleeping')."""
    lost_gap_factor: float = 3.0
    """Days since last order above this many typical gaps: lost."""
    lost_max_days: int = 365
    """Days since last order after which a customer is lost whatever the rhythm."""
    lost_p_alive: float = 0.2
    """Model probability alive below which a customer is lost (when predictions exist)."""
    min_gaps_for_own_rhythm: int = 2
    """Gaps a customer needs before their own median gap is used instead of the base's."""
    won_back_within_days: int = 365
    """Days a comeback (an order after a gap past the lost threshold) counts as 'won back'."""
    won_back_min_gap_days: int = 90
    """A comeback is 'won back' only after a gap this long (a real loss, not a late order)."""

    # §5 signals
    shrinking_orders_window: int = 3
    """Last orders that must each be smaller than the one before."""
    shrinking_orders_ratio: float = 0.7
    """Or: the average of the last orders below this share of the earlier average."""
    widening_gap_factor: float = 1.5
    """Last gap (or time since the last order) above this many typical gaps."""
    overdue_gap_factor: float = 1.2
    """Days since the last order above this many typical gaps: an expected order is overdue."""
    slower_payments_invoices: int = 3
    """Last invoices over which the payment delay must grow."""
    addon_min_usage_share: float = 0.5
    """Share of earlier orders in which an add-on was used, for its absence to count as dropped."""
    complaints_window_days: int = 90
    """A complaint, claim or return within this many days raises the signal."""
    unresponsive_offers: int = 3
    """Last offers that must all have gone unanswered."""
    unresponsive_days: int = 14
    """Days within which an offer must be answered to count as answered."""
    detractor_max_nps: int = 6
    """Latest NPS at or below this is a detractor."""
    detractor_nps_drop: int = 3
    """Or: a drop of at least this many points between the last two answers."""
    churn_risk_p_alive: float = 0.5
    """Model probability alive below which a valuable customer is at churn risk."""
    review_min_reasons: int = 2
    """Reasons needed to suggest reviewing the relationship (article 001)."""

    # §5 portfolio signals
    concentration_alert_share: float = 0.2
    """A single customer's share of trailing revenue that raises the concentration alert."""
    concentration_window_days: int = 365
    """The trailing window for the concentration check."""
    pareto_customer_share: float = 0.2
    """Pareto check: loyal customers are typically at most this share of the base..."""
    pareto_revenue_share: float = 0.5
    """...and bring more than this share of sales."""

    # §6 traits
    golden_revenue_share: float = 0.5
    """Top customers who together make this share of revenue are 'golden'."""
    small_revenue_share: float = 0.05
    """Bottom customers who together make this share of revenue are 'small'."""
    discount_driven_min_share: float = 0.5
    """Share of orders with a discount above which a customer is discount-driven."""
    innovator_min_share: float = 0.3
    """Share of orders with a new product at or above which a customer is an innovator."""
    focused_max_categories: int = 1
    """A customer buying from at most this many categories (with ≥ 3 orders) is focused."""
    diverse_min_categories: int = 4
    """A customer buying from at least this many categories is diverse."""
    problem_rate_factor: float = 2.0
    """Complaints and returns per order above this many times the base's rate: 'problem'."""
    rfm_bins: int = 5
    """R, F and M scores run from 1 to this many (quantiles)."""
    rfm_quantiles: Literal["auto", "exact", "approximate"] = "auto"
    """RFM buckets: exact (ntile), approximate (quantile thresholds) or auto (approx. on Spark)."""

    # §4, §5, §7 predictions (issue 4)
    predictions: bool = True
    """Fit a customer-base model: p_alive, expected orders, next order, CLV, value at risk."""
    prediction_model: Literal["pareto_nbd", "mbg_nbd", "bg_nbd"] = "pareto_nbd"
    """Transaction model: pareto_nbd (one-time buyers can leave), mbg_nbd or bg_nbd."""
    prediction_horizon_days: int = 90
    """Days ahead for the expected number of orders (expected_orders_<days>d)."""
    clv_months: int = 12
    """Months of future value summed into CLV and value at risk."""
    clv_monthly_discount_rate: float = 0.01
    """Monthly discount rate of CLV (0.01 is about 12.7 % a year)."""

    # §9 whom to save first: money at stake (analytics.ranking)
    stake_horizon_days: int = 180
    """Days ahead over which money at stake (revenue a customer may not bring) is counted."""
    stake_calibration_cuts: int = 6
    """Earlier dates at which the business's history is read to learn who comes back."""
    stake_calibration_step_days: int = 30
    """Days between those earlier dates."""
    stake_min_history: int = 200
    """Customer situations the history needs before it is trusted (else the status decides)."""

    # §7 NPS bands
    promoter_min_nps: int = 9
    """NPS answers at or above this are promoters."""
    passive_min_nps: int = 7
    """NPS answers from this up to the promoter band are passives."""

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """The one-line documentation of every field, read from this module's source."""
        tree = ast.parse(inspect.getsource(cls))
        docs: dict[str, str] = {}
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = nxt.value.value
        return docs

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
