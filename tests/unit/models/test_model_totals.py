"""The models' per-customer input computed on the engine (issue 22): the engine collapses the
orders to one row a customer, the driver turns it into (x, t_x, T, monetary value) with the
formulas of a summary of the orders themselves."""

from __future__ import annotations

from datetime import datetime

import ibis
import numpy as np
import pyarrow as pa
import pytest

from regulars.analytics.model_inputs import model_totals
from regulars.analytics.models import ModelError, summarize, summary_of_totals

AS_OF = datetime(2024, 1, 21, 9, 0)  # day 20 after 2024-01-01


def orders() -> pa.Table:
    rows = [
        ("C1", datetime(2024, 1, 2, 9), 10.0), ("C1", datetime(2024, 1, 2, 18), 5.0),
        ("C1", datetime(2024, 1, 5, 12), 20.0), ("C1", datetime(2024, 1, 11, 8), 30.0),
        ("C2", datetime(2024, 1, 4, 10), 7.0),
        ("C3", datetime(2024, 1, 21, 23, 0), None),  # the as-of day, later hour: counts
        ("C3", datetime(2024, 1, 22, 0, 0), 99.0),  # the day after: left out
        (None, datetime(2024, 1, 3), 50.0),  # no customer: left out
    ]
    return pa.table({"customer_id": [r[0] for r in rows],
                     "ordered_at": pa.array([r[1] for r in rows], pa.timestamp("us")),
                     "amount": pa.array([r[2] for r in rows], pa.float64())})


def totals() -> pa.Table:
    return model_totals(ibis.memtable(orders()), AS_OF).to_pyarrow()


def test_the_engine_hands_over_one_row_a_customer_with_days_and_sums():
    t = totals().sort_by("customer_id").to_pylist()
    day = (datetime(2024, 1, 2) - datetime(1970, 1, 1)).days
    assert t == [
        {"customer_id": "C1", "n_days": 3, "first_day": day, "last_day": day + 9,
         "total": 65.0, "first_amount": 15.0},
        {"customer_id": "C2", "n_days": 1, "first_day": day + 2, "last_day": day + 2,
         "total": 7.0, "first_amount": 7.0},
        {"customer_id": "C3", "n_days": 1, "first_day": day + 19, "last_day": day + 19,
         "total": 0.0, "first_amount": 0.0},
    ]


def test_the_summary_of_the_totals_is_x_tx_t_and_the_repeat_mean():
    """C1: days 2, 5, 11 of January, as of the 21st: x = 2, t_x = 9, T = 19, the repeat days
    (20 and 30) average 25, all three days (15, 20, 30) 21.67."""
    s = summary_of_totals(totals(), as_of=AS_OF)
    assert s.customer_id.to_pylist() == ["C1", "C2", "C3"]
    assert s.frequency.tolist() == [2.0, 0.0, 0.0]
    assert s.recency.tolist() == [9.0, 0.0, 0.0]
    assert s.T.tolist() == [19.0, 17.0, 0.0]
    assert s.monetary_value.tolist() == [25.0, 0.0, 0.0]
    assert s.average_order_value.tolist() == pytest.approx([65 / 3, 7.0, 0.0])
    weeks = summary_of_totals(totals(), as_of=AS_OF, time_unit="week")
    assert weeks.T.tolist() == pytest.approx([19 / 7, 17 / 7, 0.0])


def test_it_agrees_with_the_summary_of_the_orders_on_the_driver():
    o = orders().filter(pa.compute.is_valid(orders()["customer_id"]))
    a = summarize(o["customer_id"], o["ordered_at"], o["amount"], as_of=AS_OF)
    b = summary_of_totals(totals(), as_of=AS_OF)
    at = np.argsort(a.customer_id.to_pylist())
    for name in ("frequency", "recency", "T", "monetary_value", "average_order_value",
                 "first_order_day"):
        assert getattr(a, name)[at].tolist() == pytest.approx(getattr(b, name).tolist()), name


def test_no_order_by_the_date_is_a_model_error():
    with pytest.raises(ModelError, match="no order on or before 2023-12-01"):
        summary_of_totals(model_totals(ibis.memtable(orders()), datetime(2023, 12, 1))
                          .to_pyarrow(), as_of=datetime(2023, 12, 1))
