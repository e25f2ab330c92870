"""The business's goals on its portfolio (issue 21, DOMAIN §7 and §10): what levels 3-4 of
article 001's maturity table ask a business to set and track."""

from __future__ import annotations

# The metrics a goal can be set on; the store's `goals.metric` holds one of these keys.
METRICS: tuple[str, ...] = (
    "share_of_regulars",          # regulars / active customers
    "revenue_share_of_regulars",  # share of sales from regulars
    "order_frequency",            # orders per customer per year
    "average_order",              # average order value
    "regulars_tenure",            # average tenure ("stage") of regulars, in days
    "loyalty_efficiency",         # the loyalty programme's efficiency
    "rotation",                   # ladder flow: regulars gained minus lost in the period
)
