"""The customer-base models' input, computed where the orders are (issue 22): one row per
customer with an order, from orders collapsed to (customer, day) occasions on the engine.

The engine hands the driver ``customer_id, n_days, first_day, last_day, total, first_amount``
(days since 1970-01-01 of the first and last order day; the sum of every order and of the
first day's orders); :func:`regulars.analytics.models.summary_of_totals` turns them into the
(x, t_x, T, monetary value) the fit reads, with the same formulas as a summary of the orders
themselves. So only the per-customer table crosses to the driver, on every engine; the models
fit there, on the compressed table, and their P(alive) is joined back on the engine.

Sums are of money as decimals (:func:`money_sum`): the same on every engine and run. A summary
of the orders on the driver adds floats in file order instead, so ``monetary_value`` and
``average_order_value`` may differ from it in their last bits; frequency, recency and age are
whole days and agree exactly (and with them the transaction models' fits and P(alive)).
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from regulars.analytics._inputs import as_of_datetime, ident, money_sum, not_after, timestamp

SECONDS_PER_DAY = 86_400


def model_totals(orders: ir.Table, as_of: datetime | date) -> ir.Table:
    """Per customer with an order on or before the end of ``as_of``'s day: ``customer_id``,
    ``n_days`` (days with an order), ``first_day``, ``last_day``, ``total``, ``first_amount``
    (module docstring). Orders without a customer or a time are left out; a missing amount
    counts as 0 (as the driver-side summary does)."""
    end = as_of_datetime(as_of)
    end_of_day = datetime.combine(end.date(), datetime.max.time())
    o = orders.filter(orders.customer_id.notnull() & orders.ordered_at.notnull()
                      & not_after(orders.ordered_at, end_of_day))
    # whole days since 1970-01-01: a day's start is a whole multiple of 86,400 seconds
    day = (timestamp(o.ordered_at).truncate("D").epoch_seconds() // SECONDS_PER_DAY).cast(
        "int64")
    o = o.select(customer_id=ident(o.customer_id), day=day, amount=o.amount.fill_null(0))
    days = o.group_by(["customer_id", "day"]).aggregate(amount=money_sum(o.amount))
    first = days.day.min().over(ibis.window(group_by=days.customer_id))
    days = days.mutate(is_first=days.day == first)
    return days.group_by("customer_id").aggregate(
        n_days=days.count(),
        first_day=days.day.min(),
        last_day=days.day.max(),
        total=money_sum(days.amount, digits=38),
        first_amount=money_sum(days.amount, where=days.is_first, digits=38),
    )
