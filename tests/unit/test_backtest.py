"""The backtest's comparison on hand-made tables, every figure computed by hand
(definitions: regulars.analytics.backtest and docs/backtest.md)."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from regulars.analytics.backtest import compare, outcomes, top_counts
from regulars.domain.errors import InputError
from regulars.services.backtest import horizon_end

# id, rung, status, revenue to D, rfm segment, money at stake, p_alive,
# revenue before, revenue after, orders after, silent 90 days
ROWS = [
    ("a", "loyal", "active", 1000.0, "champions", 50.0, 0.9, 400.0, 500.0, 3, False),
    ("b", "advocate", "lapsing", 800.0, "cant_lose_them", 300.0, 0.5, 300.0, 0.0, 0, False),
    ("c", "regular", "lost", 600.0, "at_risk", 100.0, 0.2, 0.0, 0.0, 0, True),
    ("d", "regular", "active", 500.0, "loyal", 200.0, 0.75, 250.0, 50.0, 2, False),
    ("e", "returning", "lapsing", 300.0, "need_attention", 20.0, 0.6, 100.0, 100.0, 1, False),
    ("f", "returning", "lost", 200.0, "hibernating", 20.0, 0.1, 0.0, 50.0, 1, True),
    ("g", "newcomer", "active", 100.0, "new", 80.0, 0.7, 100.0, 0.0, 0, False),
    ("h", "newcomer", "lost", 900.0, "lost", 10.0, 0.05, 0.0, 0.0, 0, True),
    ("i", "loyal", "won_back", 400.0, "at_risk", 150.0, 0.4, 200.0, 0.0, 0, False),
    ("j", "regular", "lapsing", 700.0, "cant_lose_them", 0.0, 0.3, 50.0, 150.0, 2, False),
]
# lost revenue = max(0, before - after): b 300, d 200, g 100, i 200; total 800
# gone (no order after): b, c, g, h, i


def customers(rows=ROWS, *, p_alive: bool = True) -> pa.Table:
    data = {
        "customer_id": [r[0] for r in rows] + ["p"],  # p: a prospect, no order
        "orders": [3] * len(rows) + [0],
        "rung": [r[1] for r in rows] + ["prospect"],
        "status": [r[2] for r in rows] + [None],
        "revenue": [r[3] for r in rows] + [0.0],
        "rfm_segment": [r[4] for r in rows] + [None],
        "money_at_stake": [r[5] for r in rows] + [None],
    }
    if p_alive:
        data["p_alive"] = [r[6] for r in rows] + [None]
    return pa.table(data)


def outcome(rows=ROWS) -> pa.Table:
    return pa.table({
        "customer_id": [r[0] for r in rows],
        "revenue_before": [r[7] for r in rows],
        "revenue_after": [r[8] for r in rows],
        "orders_after": pa.array([r[9] for r in rows], pa.int64()),
        "silent_90d": [r[10] for r in rows],
    })


def test_statuses_are_scored_against_placing_no_order_in_the_horizon():
    c = compare(customers(), outcome())
    assert (c.customers, c.gone) == (10, 5)  # the prospect is not counted
    got = {s.status: (s.flagged, s.flagged_gone, s.gone, s.precision, s.recall)
           for s in c.statuses}
    assert got["lapsing"] == (3, 1, 5, pytest.approx(1 / 3), pytest.approx(1 / 5))
    assert got["lost"] == (3, 2, 5, pytest.approx(2 / 3), pytest.approx(2 / 5))
    assert got["lapsing_or_lost"] == (6, 3, 5, pytest.approx(1 / 2), pytest.approx(3 / 5))
    again = {o.status: (o.customers, o.ordered_again) for o in c.status_outcomes}
    assert again == {"active": (3, 2), "lapsing": (3, 2), "lost": (3, 1), "won_back": (1, 0)}
    assert c.status_outcomes[0].share == pytest.approx(2 / 3)


def test_retention_by_rung_counts_advocates_as_loyal_and_revenue_kept_is_a_ratio_of_sums():
    c = compare(customers(), outcome())
    got = {r.rung: (r.customers, r.ordered, r.revenue_before, r.revenue_after)
           for r in c.rungs}
    assert got == {"loyal": (3, 1, 900.0, 500.0), "regular": (3, 2, 300.0, 200.0),
                   "returning": (2, 2, 100.0, 150.0), "newcomer": (2, 0, 100.0, 0.0),
                   "all": (10, 5, 1400.0, 850.0)}
    kept = {r.rung: r.revenue_kept for r in c.rungs}
    assert kept["loyal"] == pytest.approx(5 / 9)
    assert kept["regular"] == pytest.approx(2 / 3)
    assert kept["returning"] == pytest.approx(1.5)
    assert kept["newcomer"] == 0.0
    assert c.rungs[0].share_ordered == pytest.approx(1 / 3)


def test_capture_at_the_top_of_each_method_s_list():
    c = compare(customers(), outcome(), percents=(10, 20, 50))
    assert c.lost_revenue == 800.0
    assert c.top == (1, 2, 5)
    shares = {x.method: x.shares for x in c.capture}
    # ours: b 300, d 200, i 150, c 100, g 80 … -> b | b d | b d i c g
    assert shares["ours"] == (300 / 800, 500 / 800, 800 / 800)
    # silent first by revenue (h, c, f), then the rest by revenue (a, b, j, …)
    assert shares["silent_90d"] == (0.0, 0.0, 300 / 800)
    # revenue × (1 − p_alive): h 855, j 490, c 480, b 400, i 240, …
    assert shares["revenue_x_p_gone"] == (0.0, 0.0, 500 / 800)
    # can't lose them / at risk by revenue (b, j, c, i), then the rest (a, h, …)
    assert shares["rfm_at_risk"] == (300 / 800, 300 / 800, 500 / 800)
    # the lost revenue itself: b 300, d 200, i 200, g 100
    assert shares["best_possible"] == (300 / 800, 500 / 800, 1.0)
    assert c.capture_of("silent_90d").top_ids == ("h",)
    # ours ties the RFM list at the top 10 %: not a win
    assert c.beats_baselines == (False, True, True)


def test_ties_are_broken_by_customer_id_whatever_the_row_order():
    rows = [
        ("z", "regular", "active", 100.0, "at_risk", 5.0, 0.5, 10.0, 0.0, 0, False),
        ("x", "regular", "active", 100.0, "at_risk", 5.0, 0.5, 10.0, 0.0, 0, False),
        ("y", "regular", "active", 100.0, "at_risk", 5.0, 0.5, 10.0, 0.0, 0, False),
        ("w", "regular", "active", 100.0, "at_risk", 9.0, 0.5, 0.0, 0.0, 0, True),
    ]
    c = compare(customers(rows), outcome(rows), percents=(100,))
    assert c.capture_of("ours").top_ids == ("w", "x", "y", "z")
    assert c.capture_of("rfm_at_risk").top_ids == ("w", "x", "y", "z")
    assert c.capture_of("silent_90d").top_ids == ("w", "x", "y", "z")
    assert c.capture_of("best_possible").top_ids == ("x", "y", "z", "w")
    shuffled = compare(customers(rows[::-1]), outcome(rows), percents=(100,))
    assert shuffled.to_dict() == c.to_dict()


def test_without_p_alive_its_baseline_is_not_available_and_says_why():
    c = compare(customers(p_alive=False), outcome(), p_alive_missing="too few repeat buyers",
                percents=(10, 20, 50))
    x = c.capture_of("revenue_x_p_gone")
    assert (x.available, x.reason) == (False, "too few repeat buyers")
    assert c.beats_baselines == (False, True, True)  # over the other two baselines
    assert c.to_dict()["capture"][2]["shares"] is None


def test_the_top_cuts_are_rounded_up_and_never_empty():
    assert top_counts(10) == (1, 1, 1)
    assert top_counts(100) == (1, 5, 10)
    assert top_counts(101) == (2, 6, 11)
    assert top_counts(0) == (0, 0, 0)


def test_outcome_windows_are_the_horizon_s_days_before_and_after():
    d = date(2024, 6, 30)
    orders = pa.table({
        "customer_id": ["a", "a", "a", "b", "c", "e", "f", "n", "a"],
        "ordered_at": [datetime(2024, 6, 21, 9), datetime(2024, 7, 10, 23, 59),
                       datetime(2024, 7, 11, 0, 1), datetime(2024, 6, 20, 12),
                       datetime(2024, 3, 1), datetime(2024, 4, 2), datetime(2024, 4, 1),
                       datetime(2024, 7, 5), datetime(2024, 6, 30, 23, 59, 59)],
        "amount": [100.0, 30.0, 999.0, 50.0, 70.0, 5.0, 6.0, 40.0, None],
    })
    got = outcomes(orders, as_of=d, horizon_days=10).to_pylist()
    by_id = {r.pop("customer_id"): r for r in got}
    # n ordered only after D: not a customer at D
    assert sorted(by_id) == ["a", "b", "c", "e", "f"]
    # before: 2024-06-21 … 06-30 (a's null amount counts 0); after: 07-01 … 07-10
    assert by_id["a"] == {"revenue_before": 100.0, "orders_after": 1, "revenue_after": 30.0,
                          "silent_90d": False}
    assert by_id["b"]["revenue_before"] == 0.0  # 06-20 is 10 days before: outside
    # silent: no order from 04-02 (D − 89) to D
    assert by_id["e"]["silent_90d"] is False
    assert by_id["f"]["silent_90d"] is True
    assert by_id["c"]["silent_90d"] is True


@pytest.mark.parametrize(("horizon", "until", "end"), [
    ("180d", None, date(1998, 3, 29)),
    ("26w", None, date(1998, 3, 31)),
    ("6m", None, date(1998, 3, 30)),
    (None, None, date(1998, 3, 29)),
    (30, None, date(1997, 10, 30)),
    (None, date(1998, 6, 30), date(1998, 6, 30)),
])
def test_horizon_lengths_and_end_dates(horizon, until, end):
    assert horizon_end(date(1997, 9, 30), horizon, until) == end


def test_a_month_horizon_ends_on_the_month_s_last_day_when_it_is_shorter():
    assert horizon_end(date(2024, 8, 31), "6m") == date(2025, 2, 28)


@pytest.mark.parametrize("bad", ["180", "6y", "0d", "-3d"])
def test_a_horizon_that_cannot_be_read_is_refused(bad):
    with pytest.raises(InputError):
        horizon_end(date(2024, 1, 1), bad)
