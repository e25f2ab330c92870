"""Per-customer predictions for the customer map.

Definitions (``h`` is the horizon, default 90 days; times in the summary's unit):

``p_alive``
    Probability that the customer is still active at the as-of date, from the transaction
    model (Pareto/NBD by default).
``expected_orders_<h>d``
    Expected order days in the next ``h`` days: ``P(alive) · E[X(T, T+h) | alive]``.
``next_order_in_days`` / ``next_order_expected_at``
    The median waiting time to the next order *of a customer who is still active* (Lomax
    median of the posterior purchase rate, ``(α+T)(2^(1/(r+x)) - 1)``), and the as-of date
    plus that time: "if they are still a customer, they order by then with probability 1/2".
    Read it together with ``p_alive``.
``expected_order_value``
    Gamma-Gamma conditional expectation of the value of future orders when a spend model is
    given; otherwise the customer's own average order value.
``clv``
    Discounted expected value over the next ``clv_months`` months, summed month by month
    (as lifetimes' ``customer_lifetime_value``):
    ``Σ_{i=1..H} v · (E[X(T, T+t_i)] - E[X(T, T+t_{i-1})]) / (1 + d)^i`` with ``t_i = i``
    average months (365.25/12 days), ``v`` the expected order value and ``d`` the monthly
    discount rate.
``value_at_risk``
    ``(1 - P(alive)) · CLV_if_alive``: the discounted value over the same months that the
    customer would bring if still active, times the probability that they are already gone —
    what is lost if they have left, and what a win-back could recover. Since
    ``E[X] = P(alive) · E[X | alive]``, ``clv + value_at_risk = CLV_if_alive``.

All predictions are computed once per distinct (x, t_x, T) and broadcast, so a million
customers take about a second.
"""

# T is the customer's age, as in every paper and in lifetimes' API
# ruff: noqa: N803, N806

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from regulars.analytics.models._base import (
    TIME_UNITS,
    FloatArray,
    ModelError,
    as_float_array,
    finite_or_raise,
)
from regulars.analytics.models._compress import compress
from regulars.analytics.models._transactions import TransactionModel, validate_rfm
from regulars.analytics.models.gammagamma import GammaGamma
from regulars.analytics.models.summary import CustomerSummary

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Predictions:
    """Per-customer predictions as arrays (see the module docstring for definitions)."""

    p_alive: FloatArray
    expected_orders: FloatArray
    next_order_in_days: FloatArray
    expected_order_value: FloatArray
    clv: FloatArray
    value_at_risk: FloatArray
    horizon_days: float


# over 60 lines for its signature and docstring: the body is one prediction per column
def predict(
    model: TransactionModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any = None,
    *,
    spend_model: GammaGamma | None = None,
    average_order_value: Any = None,
    horizon_days: float = 90.0,
    clv_months: int = 12,
    monthly_discount_rate: float = 0.01,
) -> Predictions:
    """All per-customer predictions from arrays in the model's time unit.

    ``monetary_value`` is the mean value of repeat orders (what Gamma-Gamma conditions on);
    without a ``spend_model`` the expected order value is ``average_order_value`` (or
    ``monetary_value`` when that is not given).
    """
    if horizon_days < 0 or clv_months < 0 or monthly_discount_rate <= -1:
        raise ModelError("Horizons must not be negative and the discount rate must exceed -1.")
    x, t_x, age = validate_rfm(frequency, recency, T)
    unit = TIME_UNITS[model.time_unit]
    n = x.shape[0]
    if spend_model is not None:
        if monetary_value is None:
            raise ModelError("A spend model needs each customer's mean repeat order value.")
        value = spend_model.expected_order_value(x, as_float_array(monetary_value, "monetary"))
    elif average_order_value is not None:
        value = as_float_array(average_order_value, "average order value")
    elif monetary_value is not None:
        value = as_float_array(monetary_value, "monetary value")
    else:
        value = np.zeros(n)
    if value.shape[0] != n:
        raise ModelError("The order values must have one value per customer.")

    (ux, ut, uT), _, inverse = compress((x, t_x, age), np.ones(n))
    p_u = model.p_alive(ux, ut, uT)
    e_u = model.expected_purchases_if_alive(horizon_days / unit, ux, ut, uT)
    next_u = model.median_time_to_next_purchase(ux, ut, uT) * unit
    disc_u = np.zeros(ux.shape[0])
    previous = np.zeros(ux.shape[0])
    for i in range(1, clv_months + 1):
        cumulative = model.expected_purchases_if_alive(i * DAYS_PER_MONTH / unit, ux, ut, uT)
        disc_u += (cumulative - previous) / (1.0 + monthly_discount_rate) ** i
        previous = cumulative
    p = p_u[inverse]
    clv_if_alive = disc_u[inverse] * value
    out = Predictions(
        p_alive=p,
        expected_orders=p * e_u[inverse],
        next_order_in_days=next_u[inverse],
        expected_order_value=value,
        clv=p * clv_if_alive,
        value_at_risk=(1.0 - p) * clv_if_alive,
        horizon_days=horizon_days,
    )
    for name in ("p_alive", "expected_orders", "next_order_in_days", "clv", "value_at_risk"):
        finite_or_raise(getattr(out, name), name, model.title)
    return out


def predict_customers(
    summary: CustomerSummary,
    model: TransactionModel,
    spend_model: GammaGamma | None = None,
    *,
    horizon_days: float = 90.0,
    clv_months: int = 12,
    monthly_discount_rate: float = 0.01,
) -> pa.Table:
    """The prediction columns for every customer of ``summary``, as an Arrow table.

    Columns: ``customer_id, p_alive, expected_orders_<h>d, next_order_in_days,
    next_order_expected_at`` (timestamp), ``expected_order_value, clv, value_at_risk`` —
    with the default horizon the second is ``expected_orders_90d``.
    """
    if summary.time_unit != model.time_unit:
        raise ModelError(
            f"The model was fitted in {model.time_unit}s but the summary is in "
            f"{summary.time_unit}s; summarise in the model's unit."
        )
    pred = predict(
        model, summary.frequency, summary.recency, summary.T, summary.monetary_value,
        spend_model=spend_model, average_order_value=summary.average_order_value,
        horizon_days=horizon_days, clv_months=clv_months,
        monthly_discount_rate=monthly_discount_rate,
    )
    as_of_day = datetime.combine(summary.as_of.date(), datetime.min.time())
    micros = np.round(pred.next_order_in_days * 86_400e6).astype(np.int64)
    base = np.datetime64(as_of_day, "us")
    next_at = base + micros.astype("timedelta64[us]")
    label = f"{horizon_days:g}".replace(".", "_")
    return pa.table({
        "customer_id": summary.customer_id,
        "p_alive": pred.p_alive,
        f"expected_orders_{label}d": pred.expected_orders,
        "next_order_in_days": pred.next_order_in_days,
        "next_order_expected_at": pa.array(next_at, type=pa.timestamp("us")),
        "expected_order_value": pred.expected_order_value,
        "clv": pred.clv,
        "value_at_risk": pred.value_at_risk,
    })


def as_of_plus(as_of: datetime, days: float) -> datetime:
    """``as_of + days`` (helper for callers that want one date)."""
    return as_of + timedelta(days=days)
