"""Orders to (frequency, recency, T, monetary value), and the calibration/holdout split."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from regulars.analytics.models import ModelError, calibration_holdout, occasions, summarize

from .conftest import CALIBRATION_END, OBSERVATION_END


def test_cdnow_sample_summarises_to_the_published_calibration_table(cdnow_orders, cdnow_summary):
    s = summarize(cdnow_orders.customer_id, cdnow_orders.ordered_at, cdnow_orders.amount,
                  as_of=CALIBRATION_END, time_unit="week")
    ids = np.asarray(s.customer_id.to_pylist())
    order = np.argsort(ids)
    assert len(s) == 2357
    np.testing.assert_array_equal(s.frequency[order], cdnow_summary.frequency)
    # the published table rounds weeks to 2 decimals
    np.testing.assert_allclose(s.recency[order], cdnow_summary.recency, atol=0.005)
    np.testing.assert_allclose(s.T[order], cdnow_summary["T"], atol=0.005)


def test_orders_on_one_day_are_one_purchase_and_amounts_are_summed():
    ids = ["a", "a", "a", "a", "b"]
    at = [datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 17), datetime(2024, 1, 11),
          datetime(2024, 1, 21), datetime(2024, 1, 5)]
    s = summarize(ids, at, [10.0, 5.0, 20.0, 40.0, 7.0], as_of=date(2024, 1, 31))
    t = s.to_arrow().to_pydict()
    assert t["customer_id"] == ["a", "b"]
    assert t["frequency"] == [2.0, 0.0]
    assert t["recency"] == [20.0, 0.0]
    assert t["T"] == [30.0, 26.0]
    assert t["monetary_value"] == [30.0, 0.0]  # mean of the repeat days 20 and 40
    assert t["average_order_value"] == [25.0, 7.0]


def test_orders_after_the_as_of_day_are_ignored_and_weeks_are_days_over_seven():
    s = summarize(["a", "a", "a"], [date(2024, 1, 1), date(2024, 1, 8), date(2024, 3, 1)],
                  as_of=datetime(2024, 1, 15, 12), time_unit="week")
    assert s.frequency.tolist() == [1.0]
    assert s.recency.tolist() == [1.0]
    assert s.T.tolist() == [2.0]


@pytest.mark.parametrize("kind", ["numpy", "pandas", "arrow", "list"])
def test_accepts_numpy_pandas_arrow_and_lists(kind):
    ids = [1, 1, 2]
    at = [datetime(2024, 1, 1), datetime(2024, 1, 3), datetime(2024, 1, 2)]
    cols = {
        "numpy": (np.array(ids), np.array(at, dtype="datetime64[us]")),
        "pandas": (pd.Series(ids), pd.Series(pd.to_datetime(at))),
        "arrow": (pa.array(ids), pa.array(at)),
        "list": (ids, at),
    }[kind]
    s = summarize(*cols, as_of=date(2024, 1, 10))
    assert s.frequency.tolist() == [1.0, 0.0]
    assert s.T.tolist() == [9.0, 8.0]


def test_missing_ids_or_times_are_refused_with_a_sentence():
    with pytest.raises(ModelError, match="missing"):
        summarize(["a", None], [date(2024, 1, 1), date(2024, 1, 2)], as_of=date(2024, 2, 1))
    with pytest.raises(ModelError, match="no order on or before"):
        summarize(["a"], [date(2024, 1, 1)], as_of=date(2023, 1, 1))
    with pytest.raises(ModelError, match="dates or timestamps"):
        summarize(["a"], ["2024-01-01"], as_of=date(2024, 2, 1))


def test_holdout_counts_order_days_after_the_calibration_end(cdnow_orders):
    split = calibration_holdout(cdnow_orders.customer_id, cdnow_orders.ordered_at,
                                calibration_end=CALIBRATION_END,
                                observation_end=OBSERVATION_END, time_unit="week")
    assert len(split.calibration) == 2357
    assert split.duration == 39.0
    # FHL 2005: 1,882 repeat transactions in weeks 40-78
    assert split.holdout_frequency.sum() == 1882
    assert split.holdout_offsets.shape == (1882,)
    assert split.holdout_offsets.min() > 0
    assert split.holdout_offsets.max() <= 39.0


def test_holdout_leaves_out_customers_first_seen_in_the_holdout():
    split = calibration_holdout(
        ["a", "a", "b"], [date(2024, 1, 1), date(2024, 2, 5), date(2024, 2, 6)],
        [1.0, 3.0, 9.0], calibration_end=date(2024, 1, 31), observation_end=date(2024, 2, 29))
    assert split.calibration.customer_id.to_pylist() == ["a"]
    assert split.holdout_frequency.tolist() == [1.0]
    assert split.holdout_monetary_value.tolist() == [3.0]
    assert split.holdout_offsets.tolist() == [5.0]
    assert split.duration == 29.0


def _by_customer(s) -> pa.Table:
    return s.to_arrow().sort_by("customer_id")


@pytest.mark.parametrize("at", [
    datetime(1997, 6, 30, 23, 59, 59), datetime(1997, 9, 30, 12, 0), date(1998, 6, 30),
])
def test_occasions_summarised_at_a_date_are_the_summary_of_the_orders_up_to_then(cdnow_orders,
                                                                                 at):
    # the analysis collapses the orders once and summarises them now and a year earlier
    occ = occasions(cdnow_orders.customer_id, cdnow_orders.ordered_at, cdnow_orders.amount)
    day = at.date() if isinstance(at, datetime) else at
    cut = cdnow_orders[cdnow_orders.ordered_at.dt.date <= day]
    for unit in ("day", "week"):
        direct = summarize(cut.customer_id, cut.ordered_at, cut.amount, as_of=at, time_unit=unit)
        assert _by_customer(occ.summarize(at, unit)).equals(_by_customer(direct))
    assert len(occ) == len(occasions(cut.customer_id, cut.ordered_at, cut.amount)) + (
        cdnow_orders[cdnow_orders.ordered_at.dt.date > day]
        .assign(d=lambda f: f.ordered_at.dt.date)[["customer_id", "d"]].drop_duplicates().shape[0])


def test_occasions_before_the_first_order_are_refused_with_a_sentence(cdnow_orders):
    occ = occasions(cdnow_orders.customer_id, cdnow_orders.ordered_at, cdnow_orders.amount)
    with pytest.raises(ModelError, match="no order on or before 1990-01-01"):
        occ.summarize(date(1990, 1, 1))
