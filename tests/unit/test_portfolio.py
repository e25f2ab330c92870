"""Portfolio metrics (DOMAIN §5 portfolio signals, §7) against hand-computed expectations."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from regulars.analytics.params import MapParams
from regulars.analytics.portfolio import (
    ABSENT,
    FLOW_STATES,
    LOST,
    Period,
    active_customers,
    active_in_map,
    base_metrics,
    cohort_retention,
    concentration,
    ladder_breakdown,
    ladder_flow,
    nps,
    portfolio,
    retention,
    retention_from_maps,
    revenue_split,
    status_breakdown,
    status_by_rung,
)

PARAMS = MapParams()
AS_OF = datetime(2024, 12, 31)

MAP_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("orders", pa.int64()),
        ("first_order_at", pa.timestamp("us")),
        ("last_order_at", pa.timestamp("us")),
        ("revenue", pa.float64()),
        ("avg_order_value", pa.float64()),
        ("typical_gap_days", pa.float64()),
        ("days_since_last_order", pa.float64()),
        ("rung", pa.string()),
        ("status", pa.string()),
        ("signals", pa.list_(pa.string())),
        ("traits", pa.list_(pa.string())),
        ("rfm_r", pa.int64()),
        ("rfm_f", pa.int64()),
        ("rfm_m", pa.int64()),
        ("rfm_segment", pa.string()),
        ("evidence", pa.string()),
    ]
)
ORDER_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("ordered_at", pa.timestamp("us")), ("amount", pa.float64())]
)
FEEDBACK_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("at", pa.timestamp("us")), ("nps", pa.int64())]
)

DEFAULT_ORDERS = {"prospect": 0, "newcomer": 1, "returning": 2}


def customer(
    customer_id: str,
    rung: str,
    status: str | None = "active",
    *,
    revenue: float = 100.0,
    orders: int | None = None,
    first_order_at: datetime | None = datetime(2024, 1, 1),
) -> dict[str, Any]:
    """One row of the customer map contract; prospects have no orders and no status."""
    n = orders if orders is not None else DEFAULT_ORDERS.get(rung, 5)
    if rung == "prospect":
        status, revenue, first_order_at = None, 0.0, None
    return {
        "customer_id": customer_id,
        "orders": n,
        "first_order_at": first_order_at,
        "last_order_at": first_order_at,
        "revenue": revenue,
        "avg_order_value": revenue / n if n else None,
        "typical_gap_days": 30.0,
        "days_since_last_order": 10.0,
        "rung": rung,
        "status": status,
        "signals": [],
        "traits": [],
        "rfm_r": 3,
        "rfm_f": 3,
        "rfm_m": 3,
        "rfm_segment": "Need attention",
        "evidence": "{}",
    }


def customers_map(rows: list[dict[str, Any]]) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pylist(rows, schema=MAP_SCHEMA))


def orders_table(rows: list[tuple[str, datetime, float]]) -> ibis.Table:
    data = [{"customer_id": c, "ordered_at": t, "amount": a} for c, t, a in rows]
    return ibis.memtable(pa.Table.from_pylist(data, schema=ORDER_SCHEMA))


def feedback_table(rows: list[tuple[str, datetime, int | None]]) -> ibis.Table:
    data = [{"customer_id": c, "at": t, "nps": n} for c, t, n in rows]
    return ibis.memtable(pa.Table.from_pylist(data, schema=FEEDBACK_SCHEMA))


# ---------------------------------------------------------------- ladder and status


def small_base() -> ibis.Table:
    return customers_map(
        [
            customer("p1", "prospect"),
            customer("p2", "prospect"),
            customer("n1", "newcomer", revenue=50),
            customer("n2", "newcomer", "lapsing", revenue=50),
            customer("n3", "newcomer", "lost", revenue=100),
            customer("t1", "returning", revenue=200),
            customer("r1", "regular", "lapsing", revenue=300),
            customer("l1", "loyal", "won_back", revenue=300),
        ]
    )


def test_ladder_breakdown_counts_every_rung_with_its_share_of_all_customers():
    ladder = ladder_breakdown(small_base())
    assert [s.label for s in ladder.items] == [
        "prospect",
        "newcomer",
        "returning",
        "regular",
        "loyal",
        "advocate",
    ]
    assert [s.customers for s in ladder.items] == [2, 3, 1, 1, 1, 0]
    assert ladder.total == 8
    assert ladder["newcomer"].share == pytest.approx(3 / 8)
    assert ladder["advocate"].share == 0
    assert ladder.total_revenue == pytest.approx(1000)
    assert ladder["newcomer"].revenue == pytest.approx(200)
    assert ladder["newcomer"].revenue_share == pytest.approx(0.2)


def test_status_breakdown_counts_buyers_only_because_prospects_have_no_status():
    statuses = status_breakdown(small_base())
    assert {s.label: s.customers for s in statuses.items} == {
        "active": 2,
        "lapsing": 2,
        "lost": 1,
        "won_back": 1,
    }
    assert statuses.total == 6
    assert statuses["lapsing"].share == pytest.approx(2 / 6)


def test_status_by_rung_cross_tabulates_buyers():
    table = status_by_rung(small_base())
    assert table.rows == ("newcomer", "returning", "regular", "loyal", "advocate")
    assert table.columns == ("active", "lapsing", "lost", "won_back")
    assert table.count("newcomer", "active") == 1
    assert table.count("newcomer", "lapsing") == 1
    assert table.count("newcomer", "lost") == 1
    assert table.count("regular", "lapsing") == 1
    assert table.count("loyal", "won_back") == 1
    assert table.row_total("advocate") == 0
    assert table.total == 6


def test_an_unknown_rung_is_an_error_not_a_silent_gap():
    with pytest.raises(ValueError, match="unknown rung value"):
        ladder_breakdown(customers_map([customer("x", "fanatic")]))


def test_a_map_without_the_contract_columns_is_rejected_naming_them():
    bare = ibis.memtable(pa.table({"customer_id": ["a"]}))
    with pytest.raises(ValueError, match=r"customers map table lacks column.*rung"):
        ladder_breakdown(bare)


# ---------------------------------------------------------------- revenue split, Pareto check


def base_with_loyal(loyal: int, loyal_revenue_each: float, buyers: int = 10) -> ibis.Table:
    rows = [customer(f"y{i}", "loyal", revenue=loyal_revenue_each) for i in range(loyal)]
    others = buyers - loyal
    rest = (1000 - loyal * loyal_revenue_each) / others
    rows += [customer(f"n{i}", "newcomer", revenue=rest) for i in range(others)]
    rows.append(customer("p", "prospect"))  # prospects are not part of the base
    return customers_map(rows)


def test_pareto_check_passes_when_20_percent_loyal_bring_60_percent_of_sales():
    split = revenue_split(base_with_loyal(2, 300), params=PARAMS)
    assert split.buyers == 10
    assert split.loyal_customer_share == pytest.approx(0.2)
    assert split.loyal_revenue_share == pytest.approx(0.6)
    assert split.pareto_passed


def test_pareto_check_fails_when_loyal_are_more_than_20_percent_of_the_base():
    split = revenue_split(base_with_loyal(3, 200), params=PARAMS)
    assert split.loyal_customer_share == pytest.approx(0.3)
    assert split.loyal_revenue_share == pytest.approx(0.6)
    assert not split.pareto_passed


def test_pareto_check_needs_more_than_half_of_sales_not_exactly_half():
    split = revenue_split(base_with_loyal(2, 250), params=PARAMS)
    assert split.loyal_revenue_share == pytest.approx(0.5)
    assert not split.pareto_passed


def test_pareto_thresholds_come_from_params():
    loose = MapParams(pareto_customer_share=0.3, pareto_revenue_share=0.4)
    assert revenue_split(base_with_loyal(3, 200), params=loose).pareto_passed


def test_revenue_share_of_regulars_counts_regular_loyal_and_advocate():
    split = revenue_split(small_base(), params=PARAMS)
    # buyers n1 n2 n3 t1 r1 l1 = 6; regulars r1 + l1 = 600 of 1000
    assert split.regulars == 2
    assert split.regulars_customer_share == pytest.approx(2 / 6)
    assert split.regulars_revenue_share == pytest.approx(0.6)
    assert split.loyal == 1
    assert split.loyal_revenue_share == pytest.approx(0.3)


# ---------------------------------------------------------------- concentration


def test_concentration_of_shares_half_three_tenths_one_fifth_has_hhi_3800():
    day = AS_OF - timedelta(days=10)
    c = concentration(
        orders_table([("a", day, 300), ("a", day, 200), ("b", day, 300), ("c", day, 200)]),
        as_of=AS_OF,
        params=PARAMS,
    )
    assert c.customers == 3
    assert c.total_revenue == pytest.approx(1000)
    assert c.largest_customer_id == "a"
    assert c.largest_share == pytest.approx(0.5)
    assert c.alert
    assert c.top10_share == pytest.approx(1.0)
    assert c.hhi == pytest.approx(0.38)
    assert c.hhi_points == pytest.approx(3800)
    assert [p.customer_share for p in c.curve] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert [p.revenue_share for p in c.curve] == pytest.approx([0, 0.5, 0.8, 1])


def test_concentration_sums_money_exactly():
    day = AS_OF - timedelta(days=1)
    c = concentration(
        orders_table([("a", day, 0.1), ("a", day, 0.2), ("b", day, 0.3)]), as_of=AS_OF,
        params=PARAMS,
    )
    # 0.1 + 0.2 as floats is 0.30000000000000004, which would make a the largest customer
    assert (c.total_revenue, c.largest_customer_id, c.largest_share) == (0.6, "a", 0.5)


def test_concentration_counts_only_the_trailing_window_before_as_of():
    c = concentration(
        orders_table(
            [
                ("a", AS_OF - timedelta(days=1), 100),
                ("b", AS_OF - timedelta(days=364), 100),
                ("old", AS_OF - timedelta(days=366), 10_000),
                ("future", AS_OF + timedelta(days=1), 10_000),
            ]
        ),
        as_of=AS_OF,
        params=PARAMS,
    )
    assert c.customers == 2
    assert c.total_revenue == pytest.approx(200)
    assert c.window.end == AS_OF
    assert c.window.start == AS_OF - timedelta(days=365)


def test_concentration_alert_is_raised_at_exactly_the_alert_share():
    day = AS_OF - timedelta(days=1)
    c = concentration(
        orders_table([(f"c{i}", day, 100) for i in range(5)]), as_of=AS_OF, params=PARAMS
    )
    assert c.largest_share == pytest.approx(0.2)
    assert c.alert
    six = concentration(
        orders_table([(f"c{i}", day, 100) for i in range(6)]), as_of=AS_OF, params=PARAMS
    )
    assert not six.alert


def test_top10_share_sums_the_ten_largest_customers():
    day = AS_OF - timedelta(days=1)
    # 20 customers paying 1..20: top ten are 11..20 = 155 of 210
    c = concentration(
        orders_table([(f"c{i:02d}", day, float(i)) for i in range(1, 21)]),
        as_of=AS_OF,
        params=PARAMS,
    )
    assert c.top10_share == pytest.approx(155 / 210)
    assert c.largest_customer_id == "c20"


def test_pareto_curve_is_downsampled_to_at_most_101_points_from_origin_to_one():
    day = AS_OF - timedelta(days=1)
    c = concentration(
        orders_table([(f"c{i:04d}", day, float(i)) for i in range(1, 1001)]),
        as_of=AS_OF,
        params=PARAMS,
    )
    assert len(c.curve) == 101
    assert (c.curve[0].customer_share, c.curve[0].revenue_share) == (0, 0)
    assert c.curve[-1].customer_share == pytest.approx(1)
    assert c.curve[-1].revenue_share == pytest.approx(1)
    xs = [p.customer_share for p in c.curve]
    ys = [p.revenue_share for p in c.curve]
    assert xs == sorted(xs) and ys == sorted(ys)
    # ranked largest first, so the curve lies above the diagonal
    assert all(y >= x - 1e-12 for x, y in zip(xs, ys, strict=True))


def test_concentration_of_an_empty_window_has_no_shares_and_no_alert():
    c = concentration(orders_table([]), as_of=AS_OF, params=PARAMS)
    assert c.customers == 0
    assert c.largest_share is None and c.hhi is None and not c.alert
    assert len(c.curve) == 1


# ---------------------------------------------------------------- NPS


def test_nps_with_half_promoters_and_a_fifth_detractors_is_30():
    day = datetime(2024, 6, 1)
    scores = [9, 10, 9, 10, 9, 7, 8, 7, 6, 0]
    n = nps(
        feedback_table([(f"c{i}", day, s) for i, s in enumerate(scores)]),
        params=PARAMS,
        period=Period(datetime(2024, 1, 1), datetime(2024, 12, 31)),
    )
    assert (n.responses, n.promoters, n.passives, n.detractors) == (10, 5, 3, 2)
    assert n.promoter_share == pytest.approx(0.5)
    assert n.detractor_share == pytest.approx(0.2)
    assert n.score == pytest.approx(30)


def test_nps_counts_each_response_ignores_blank_answers_and_responses_outside_the_period():
    inside = datetime(2024, 6, 1)
    n = nps(
        feedback_table(
            [
                ("a", inside, 10),
                ("a", inside + timedelta(days=1), 3),  # same customer again: counts again
                ("b", inside, None),  # a CSAT-only row
                ("c", datetime(2023, 6, 1), 0),  # before the period
            ]
        ),
        params=PARAMS,
        period=Period(datetime(2024, 1, 1), datetime(2024, 12, 31)),
    )
    assert (n.responses, n.promoters, n.detractors) == (2, 1, 1)
    assert n.score == 0


def test_nps_bands_come_from_params():
    day = datetime(2024, 6, 1)
    strict = MapParams(promoter_min_nps=10, passive_min_nps=8, detractor_max_nps=7)
    n = nps(feedback_table([("a", day, 9), ("b", day, 10), ("c", day, 7)]), params=strict)
    assert (n.promoters, n.passives, n.detractors) == (1, 1, 1)


def test_nps_without_responses_has_no_score():
    assert nps(feedback_table([]), params=PARAMS).score is None


# ---------------------------------------------------------------- retention and churn

YEAR_2024 = Period(datetime(2024, 1, 1), datetime(2024, 12, 31))


def retention_orders() -> ibis.Table:
    """S = 100 active on 1 Jan; 70 of them order again; 20 new customers; E = 90."""
    rows = [(f"s{i:03d}", datetime(2023, 12, 1), 10.0) for i in range(100)]
    rows += [(f"s{i:03d}", datetime(2024, 6, 1), 10.0) for i in range(70)]
    rows += [(f"new{i:02d}", datetime(2024, 3, 1), 10.0) for i in range(20)]
    # lost long before the period: neither in S nor in E
    rows += [("gone", datetime(2022, 1, 1), 10.0)]
    return orders_table(rows)


def test_crr_with_100_at_start_90_at_end_and_20_new_is_70_percent():
    r = retention(retention_orders(), period=YEAR_2024, params=PARAMS)
    assert (r.active_at_start, r.active_at_end, r.new_customers) == (100, 90, 20)
    assert r.crr == pytest.approx(70)


def test_churn_rate_is_the_share_of_customers_active_at_start_not_active_at_end():
    r = retention(retention_orders(), period=YEAR_2024, params=PARAMS)
    assert r.churned == 30
    assert r.churn_rate == pytest.approx(0.3)


def test_active_means_ordered_within_lost_max_days_before_the_instant():
    orders = orders_table(
        [
            ("recent", datetime(2024, 12, 1), 1),
            ("edge", datetime(2024, 1, 1), 1),  # exactly 365 days before 31 Dec 2024
            ("lost", datetime(2023, 12, 31), 1),  # 366 days
            ("later", datetime(2025, 1, 1), 1),  # after the instant
        ]
    )
    active = active_customers(orders, datetime(2024, 12, 31), params=PARAMS)
    assert sorted(active.to_pyarrow()["customer_id"].to_pylist()) == ["edge", "recent"]
    shorter = active_customers(orders, datetime(2024, 12, 31), params=MapParams(lost_max_days=60))
    assert shorter.to_pyarrow()["customer_id"].to_pylist() == ["recent"]


def test_retention_can_use_another_rule_for_active():
    orders = retention_orders()

    def ordered_in_last_60_days(at: datetime) -> ibis.Table:
        recent = orders.filter(
            (orders.ordered_at <= at) & (orders.ordered_at > at - timedelta(days=60))
        )
        return recent.select("customer_id").distinct()

    r = retention(orders, period=YEAR_2024, params=PARAMS, active_at=ordered_in_last_60_days)
    # 1 Jan: the 100 December buyers; 31 Dec: nobody ordered in December 2024
    assert (r.active_at_start, r.active_at_end, r.new_customers) == (100, 0, 20)
    assert r.crr == pytest.approx(-20)
    assert r.churn_rate == pytest.approx(1)


def test_retention_from_maps_reads_active_as_any_status_but_lost():
    start = customers_map(
        [customer(f"s{i}", "regular", "active") for i in range(8)]
        + [customer("s8", "regular", "lapsing"), customer("s9", "regular", "won_back")]
        + [customer("x", "newcomer", LOST), customer("p", "prospect")]
    )
    end = customers_map(
        [customer(f"s{i}", "regular", "active") for i in range(7)]
        + [customer("s7", "regular", LOST), customer("s8", "regular", LOST)]
        + [customer("s9", "regular", "active"), customer("n", "newcomer", "active")]
    )
    orders = orders_table([("n", datetime(2024, 5, 1), 10), ("s0", datetime(2023, 1, 1), 10)])
    r = retention_from_maps(start, end, orders, period=YEAR_2024)
    assert (r.active_at_start, r.active_at_end, r.new_customers, r.churned) == (10, 9, 1, 2)
    assert r.crr == pytest.approx(80)
    assert sorted(active_in_map(start).to_pyarrow()["customer_id"].to_pylist()) == [
        f"s{i}" for i in range(10)
    ]


def test_period_rejects_an_end_before_its_start():
    with pytest.raises(ValueError, match="before it starts"):
        Period(datetime(2024, 2, 1), datetime(2024, 1, 1))


# ---------------------------------------------------------------- base metrics


def test_repeat_purchase_rate_is_buyers_with_two_orders_over_buyers_with_one():
    m = customers_map(
        [
            customer("p", "prospect"),
            customer("a", "newcomer", orders=1, revenue=10),
            customer("b", "newcomer", orders=1, revenue=30),
            customer("c", "returning", orders=2, revenue=60),
            customer("d", "regular", orders=4, revenue=100),
        ]
    )
    metrics = base_metrics(m, as_of=AS_OF)
    assert (metrics.customers, metrics.buyers, metrics.repeat_buyers) == (5, 4, 2)
    assert metrics.repeat_purchase_rate == pytest.approx(0.5)


def test_average_order_value_and_frequency_are_revenue_per_order_and_orders_per_buyer():
    m = customers_map(
        [
            customer("p", "prospect"),
            customer("a", "newcomer", orders=1, revenue=10),
            customer("c", "returning", orders=2, revenue=60),
            customer("d", "regular", orders=5, revenue=130),
        ]
    )
    metrics = base_metrics(m, as_of=AS_OF)
    assert metrics.orders == 8
    assert metrics.revenue == pytest.approx(200)
    assert metrics.average_order_value == pytest.approx(25)
    assert metrics.purchase_frequency == pytest.approx(8 / 3)


def test_average_tenure_of_regulars_is_days_from_first_order_to_as_of():
    m = customers_map(
        [
            customer("r", "regular", first_order_at=AS_OF - timedelta(days=100)),
            customer("l", "loyal", first_order_at=AS_OF - timedelta(days=400)),
            customer("a", "advocate", first_order_at=AS_OF - timedelta(days=700)),
            customer("n", "newcomer", first_order_at=AS_OF - timedelta(days=5000)),
        ]
    )
    metrics = base_metrics(m, as_of=AS_OF)
    assert metrics.regulars == 3
    assert metrics.regulars_share == pytest.approx(0.75)
    assert metrics.regulars_average_tenure_days == pytest.approx(400)


def test_base_metrics_of_a_map_without_buyers_have_no_ratios():
    metrics = base_metrics(customers_map([customer("p", "prospect")]), as_of=AS_OF)
    assert metrics.buyers == 0
    assert metrics.repeat_purchase_rate is None
    assert metrics.average_order_value is None
    assert metrics.regulars_average_tenure_days is None


# ---------------------------------------------------------------- ladder flow


def test_ladder_flow_counts_moves_up_down_stayed_lost_won_back_and_new():
    before = customers_map(
        [
            customer("up1", "newcomer"),
            customer("up2", "regular"),
            customer("down", "loyal"),
            customer("same", "regular"),
            customer("goes", "returning", "lapsing"),
            customer("back", "regular", LOST),
            customer("still", "newcomer", LOST),
            customer("prospect", "prospect"),
            customer("left", "newcomer"),
        ]
    )
    after = customers_map(
        [
            customer("up1", "returning"),
            customer("up2", "advocate"),
            customer("down", "regular"),
            customer("same", "regular", "lapsing"),
            customer("goes", "returning", LOST),
            customer("back", "regular", "won_back"),
            customer("still", "newcomer", LOST),
            customer("prospect", "newcomer"),
            customer("fresh", "newcomer"),
        ]
    )
    flow = ladder_flow(before, after)
    assert flow.moved_up == 2
    assert flow.moved_down == 1
    assert flow.stayed == 1
    assert flow.became_lost == 1
    assert flow.won_back == 1
    assert flow.still_lost == 1
    assert flow.new_entrants == 2
    assert flow.left_map == 1
    assert flow.matrix.rows == FLOW_STATES
    assert flow.matrix.count("newcomer", "returning") == 1
    assert flow.matrix.count("returning", LOST) == 1
    assert flow.matrix.count(LOST, "regular") == 1
    assert flow.matrix.count(ABSENT, "newcomer") == 1
    assert flow.matrix.count("prospect", "newcomer") == 1
    assert flow.matrix.count("newcomer", ABSENT) == 1
    assert flow.matrix.total == 10


# ---------------------------------------------------------------- cohort retention


def test_cohort_retention_is_the_share_of_each_first_month_cohort_ordering_k_months_later():
    orders = orders_table(
        [
            ("a", datetime(2024, 1, 3), 10),
            ("a", datetime(2024, 1, 20), 10),  # again in month +0: counted once
            ("a", datetime(2024, 2, 10), 10),
            ("b", datetime(2024, 1, 15), 10),
            ("b", datetime(2024, 3, 1), 10),
            ("c", datetime(2024, 1, 31), 10),
            ("d", datetime(2024, 2, 29), 10),
            ("e", datetime(2024, 4, 1), 10),  # after as-of: ignored
        ]
    )
    result = cohort_retention(orders, as_of=datetime(2024, 3, 15), months=3)
    assert result.months == 3
    assert [(c.month, c.size) for c in result.cohorts] == [("2024-01", 3), ("2024-02", 1)]
    january, february = result.cohorts
    assert january.retention == pytest.approx((1, 1 / 3, 1 / 3, None))
    assert february.retention == pytest.approx((1, 0, None, None))


def test_cohort_retention_keeps_the_most_recent_cohorts():
    orders = orders_table([(f"c{m}", datetime(2024, m, 1), 10) for m in range(1, 7)])
    result = cohort_retention(orders, as_of=datetime(2024, 6, 30), months=2, max_cohorts=2)
    assert [c.month for c in result.cohorts] == ["2024-05", "2024-06"]


def test_cohort_months_cross_the_year_boundary():
    orders = orders_table([("a", datetime(2023, 12, 5), 10), ("a", datetime(2024, 1, 5), 10)])
    result = cohort_retention(orders, as_of=datetime(2024, 1, 31), months=1)
    assert result.cohorts[0].month == "2023-12"
    assert result.cohorts[0].retention == pytest.approx((1, 1))


# ---------------------------------------------------------------- everything together


def test_portfolio_gathers_every_metric_and_serialises_to_json():
    m = small_base()
    orders = orders_table(
        [
            ("n1", datetime(2024, 11, 1), 50),
            ("t1", datetime(2024, 2, 1), 100),
            ("t1", datetime(2024, 10, 1), 100),
            ("l1", datetime(2023, 1, 1), 300),
        ]
    )
    feedback = feedback_table([("l1", datetime(2024, 5, 1), 10), ("n1", datetime(2024, 5, 1), 5)])
    result = portfolio(m, orders, as_of=AS_OF, params=PARAMS, feedback=feedback, previous_map=m)
    assert result.period == Period(AS_OF - timedelta(days=365), AS_OF)
    assert result.ladder.total == 8
    assert result.nps is not None and result.nps.score == 0
    assert result.flow is not None and result.flow.stayed + result.flow.still_lost == 6
    assert result.concentration.customers == 2
    assert result.retention.new_customers == 2
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["as_of"] == "2024-12-31T00:00:00"
    assert as_json["ladder"]["items"][0]["label"] == "prospect"
    assert as_json["params"]["lost_max_days"] == 365
    assert as_json["status_by_rung"]["counts"][0] == [1, 1, 1, 0]


def test_portfolio_without_feedback_or_previous_map_leaves_nps_and_flow_empty():
    result = portfolio(small_base(), orders_table([]), as_of=AS_OF, params=PARAMS)
    assert result.nps is None
    assert result.flow is None
    assert result.retention.crr is None
