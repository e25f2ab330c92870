"""The loyalty ladder (DOMAIN §3) and the activity status (DOMAIN §4), hand-computed.

Each scenario is one small business mapped once on DuckDB; every customer in it is built to
show one rule. Days are counted back from the as-of date.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from regulars.analytics.customer_map import customer_map
from regulars.analytics.params import MapParams

AS_OF = datetime(2024, 6, 1)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def orders_of(spec: dict[str, list[tuple[float, float]]]) -> ibis.Table:
    """Orders from {customer: [(days ago, amount), ...]}."""
    rows = [
        {"order_id": f"{c}-{i}", "customer_id": c, "ordered_at": ago(d), "amount": float(a)}
        for c, orders in spec.items()
        for i, (d, a) in enumerate(orders)
    ]
    return ibis.memtable(pa.Table.from_pylist(rows))


def table(rows: list[dict[str, Any]]) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pylist(rows))


def mapped(orders: ibis.Table, **kwargs: Any) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    m = customer_map(orders, as_of=kwargs.pop("as_of", AS_OF), **kwargs)
    out = {}
    for row in m.to_arrow().to_pylist():
        row["ev"] = {(e["about"], e["code"]): e for e in json.loads(row["evidence"])}
        out[row["customer_id"]] = row
    return out, m.not_evaluated


# --- the ladder --------------------------------------------------------------------------

LADDER_ORDERS = {
    "N": [(10, 50)],
    "R2": [(100, 50), (50, 50)],
    "RG": [(30, 10), (20, 10), (10, 10)],
    "RL": [(60, 20), (40, 20), (20, 20)],
    "LY": [(400, 120), (200, 120), (10, 120)],
    "AD": [(400, 150), (200, 150), (10, 150)],
    "OLD": [(900, 200), (700, 200), (500, 200)],
    "GONE": [(400, 110), (390, 110), (380, 110)],
}
# The regulars (3+ orders) are RG, RL, LY, AD, OLD and GONE; N and R2 are not compared with.
# Frequency (orders per year, first order to as-of): RG 3 × 365.25 / 30 = 36.525,
# RL 18.2625, LY = AD = GONE 2.739, OLD 1.2175: the regulars' median is 2.739 (the 3rd and 4th
# of six), so only RG and RL order "more often than most".
# Average order: 10, 20, 110, 120, 150, 200: the regulars' median is (110 + 120) / 2 = 115.
# (Over all eight buyers it would be (50 + 110) / 2 = 80, and GONE would be "above it".)
# Active relationship (first to last order): LY, AD 390 days, OLD 400, GONE 20, RG 20, RL 40.


@pytest.fixture(scope="module")
def ladder() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    customers = table([{"customer_id": c} for c in [*LADDER_ORDERS, "P"]])
    feedback = table([
        {"customer_id": "LY", "at": ago(20), "nps": 9},
        {"customer_id": "AD", "at": ago(20), "nps": 10},
        {"customer_id": "OLD", "at": ago(510), "nps": 9},
    ])
    referrals = table([
        {"referrer_id": "AD", "referee_id": "N", "at": ago(11)},
        {"referrer_id": "LY", "referee_id": "LY", "at": ago(11)},
    ])
    return mapped(
        orders_of(LADDER_ORDERS), customers=customers, feedback=feedback, referrals=referrals
    )


def test_a_known_customer_without_orders_is_a_prospect_without_status(ladder):
    p = ladder[0]["P"]
    assert (p["rung"], p["status"], p["orders"], p["revenue"]) == ("prospect", None, 0, 0.0)
    assert json.loads(p["evidence"]) == [{"about": "rung", "code": "prospect", "orders": 0}]


def test_one_order_makes_a_newcomer(ladder):
    n = ladder[0]["N"]
    assert n["rung"] == "newcomer"
    assert n["ev"][("rung", "newcomer")] == {
        "about": "rung", "code": "newcomer", "orders": 1, "regular_min_orders": 3,
    }


def test_two_orders_make_a_returning_customer(ladder):
    assert ladder[0]["R2"]["rung"] == "returning"


def test_three_orders_with_one_sign_of_attachment_make_a_regular_not_loyal(ladder):
    rg = ladder[0]["RG"]
    assert rg["rung"] == "regular"
    ev = rg["ev"][("rung", "regular")]
    assert ev["evidence"] == ["frequency_above_median"]
    assert ev["evidence_needed"] == 3
    assert ev["frequency_per_year"] == pytest.approx(36.53)
    assert (ev["blocked_by"], ev["loyal_until"]) == (None, None)


def test_a_regular_with_three_signs_of_attachment_is_loyal_and_says_which(ladder):
    ly = ladder[0]["LY"]
    assert ly["rung"] == "loyal"
    ev = ly["ev"][("rung", "loyal")]
    assert ev["evidence"] == ["aov_above_median", "tenure", "promoter"]
    assert ev["avg_order_value"] == 120
    assert (ev["tenure_days"], ev["relationship_days"]) == (400, 390)


def test_the_medians_a_customer_is_compared_with_are_the_regulars(ladder):
    ev = ladder[0]["LY"]["ev"][("rung", "loyal")]
    assert ev["median_avg_order_value"] == 115
    assert ev["median_frequency_per_year"] == pytest.approx(2.74)


def test_one_sign_above_the_buyers_median_is_not_above_the_regulars(ladder):
    # GONE spends 110 an order: above the median of all buyers (80), below the regulars' 115
    gone = ladder[0]["GONE"]
    assert gone["rung"] == "regular"
    assert gone["ev"][("rung", "regular")]["evidence"] == []


def test_tenure_is_the_active_relationship_not_the_time_since_the_first_order(ladder):
    # GONE's first order was 400 days ago but its orders span 20 days: no tenure
    ev = ladder[0]["GONE"]["ev"][("rung", "regular")]
    assert (ev["tenure_days"], ev["relationship_days"]) == (400, 20)
    assert "tenure" not in ev["evidence"]


def test_a_lost_customer_is_not_loyal_and_says_until_when_they_were(ladder):
    old = ladder[0]["OLD"]
    assert (old["rung"], old["status"]) == ("regular", "lost")
    ev = old["ev"][("rung", "regular")]
    assert ev["evidence"] == ["aov_above_median", "tenure", "promoter"]
    assert ev["blocked_by"] == ["lost"]
    assert ev["loyal_until"] == ago(500).date().isoformat()


def test_a_loyal_promoter_who_has_not_referred_anyone_stays_loyal(ladder):
    assert ladder[0]["LY"]["rung"] == "loyal"


def test_a_loyal_promoter_who_referred_someone_is_an_advocate(ladder):
    ad = ladder[0]["AD"]
    assert ad["rung"] == "advocate"
    ev = ad["ev"][("rung", "advocate")]
    assert ev["evidence"] == ["aov_above_median", "tenure", "promoter", "referrer"]
    assert (ev["latest_nps"], ev["referrals"]) == (10, 1)


def test_referring_oneself_does_not_count(ladder):
    assert ladder[0]["LY"]["ev"][("rung", "loyal")]["referrals"] == 0


def test_signs_of_attachment_needing_absent_columns_are_reported_not_evaluated(ladder):
    skipped = ladder[1]
    assert skipped["loyal:full_price"] == "no discount data (orders.discount_amount)"
    assert skipped["loyal:addons"] == "no add-on data (orders.addons)"
    assert "loyal:promoter" not in skipped
    assert "advocate" not in skipped


def test_the_rung_evidence_lists_what_was_not_evaluated(ladder):
    ev = ladder[0]["LY"]["ev"][("rung", "loyal")]
    assert ev["not_evaluated"] == ["full_price", "addons"]
    assert ev["evidence_evaluated"] == 5  # frequency, order value, tenure, promoter, referrer


BLOCKER_ORDERS = {
    # three low, frequent regulars pull the regulars' average order down to (10 + 100) / 2
    "LOW1": [(30, 10), (20, 10), (10, 10)],
    "LOW2": [(30, 10), (20, 10), (10, 10)],
    "LOW3": [(30, 10), (20, 10), (10, 10)],
    "OK": [(400, 100), (200, 100), (10, 100)],
    "DD": [(400, 100), (200, 100), (10, 100)],
    "DT": [(400, 100), (200, 100), (10, 100)],
}


@pytest.fixture(scope="module")
def blocked() -> dict[str, dict[str, Any]]:
    rows = [
        {"order_id": f"{c}-{i}", "customer_id": c, "ordered_at": ago(d), "amount": float(a),
         # DD has a discount on two of its three orders
         "discount_amount": 5.0 if c == "DD" and i > 0 else 0.0}
        for c, orders in BLOCKER_ORDERS.items()
        for i, (d, a) in enumerate(orders)
    ]
    feedback = table([
        {"customer_id": "OK", "at": ago(20), "nps": 8},
        {"customer_id": "DD", "at": ago(20), "nps": 9},
        {"customer_id": "DT", "at": ago(20), "nps": 5},
    ])
    return mapped(table(rows), feedback=feedback)[0]


def test_three_signs_without_a_blocker_make_a_loyal_customer(blocked):
    ev = blocked["OK"]["ev"][("rung", "loyal")]
    assert ev["evidence"] == ["aov_above_median", "tenure", "full_price"]


def test_a_discount_driven_regular_is_not_loyal_whatever_the_evidence(blocked):
    dd = blocked["DD"]
    assert dd["rung"] == "regular"
    ev = dd["ev"][("rung", "regular")]
    assert ev["evidence"] == ["aov_above_median", "tenure", "promoter"]
    assert (ev["blocked_by"], ev["loyal_until"]) == (["discount_driven"], None)


def test_a_detractor_is_not_loyal_whatever_the_evidence(blocked):
    dt = blocked["DT"]
    assert dt["rung"] == "regular"
    ev = dt["ev"][("rung", "regular")]
    assert ev["evidence"] == ["aov_above_median", "tenure", "full_price"]
    assert ev["blocked_by"] == ["detractor"]


def test_rung_thresholds_come_from_params():
    params = MapParams(returning_min_orders=3, regular_min_orders=4)
    got, _ = mapped(orders_of({"X": [(30, 5), (20, 5), (10, 5)], "Y": [(5, 5)]}),
                    params=params)
    assert got["X"]["rung"] == "returning"
    assert got["X"]["ev"][("rung", "returning")]["regular_min_orders"] == 4


# --- the status --------------------------------------------------------------------------

STATUS_ORDERS = {
    "LAP": [(112, 10), (82, 10), (52, 10)],  # gaps 30, 30; 52 days since
    "ACT": [(80, 10), (50, 10), (20, 10)],
    "LOSTR": [(151, 10), (121, 10), (91, 10)],  # 91 > 3 × 30
    "LOSTM": [(766, 10), (566, 10), (366, 10)],  # gaps 200: 366 > 365 days, < 600
    "WON": [(240, 10), (210, 10), (180, 10), (40, 10), (10, 10)],  # gaps 30, 30, 140, 30
    "MED": [(110, 10), (100, 10), (80, 10), (50, 10), (10, 10)],  # gaps 10, 20, 30, 40
    "TWO": [(80, 10), (30, 10)],  # one gap of 50: too few for a rhythm of their own
    "NEW1": [(5, 10)],
    "ZERO": [(3, 10), (3, 10), (3, 10)],  # gaps 0, 0: no rhythm
    "PA": [(50, 10), (30, 10), (10, 10)],  # gaps 20, 20; p_alive 0.1
    "FUT": [(20, 10), (-5, 10)],  # the second order is after as-of
}
# All gaps: 30 ×10, 200 ×2, 140, 10, 20 ×3, 40, 50, 0 ×2 -> 21 values, the 11th is 30.


@pytest.fixture(scope="module")
def status() -> dict[str, dict[str, Any]]:
    p_alive = table([{"customer_id": "PA", "p_alive": 0.1}, {"customer_id": "ACT", "p_alive": 0.9}])
    return mapped(orders_of(STATUS_ORDERS), p_alive=p_alive)[0]


def test_a_customer_past_one_and_a_half_usual_gaps_is_lapsing_with_the_numbers(status):
    lap = status["LAP"]
    assert lap["status"] == "lapsing"
    assert (lap["typical_gap_days"], lap["days_since_last_order"]) == (30, 52)
    assert lap["ev"][("status", "lapsing")] == {
        "about": "status", "code": "lapsing", "typical_gap_days": 30, "gap_source": "own",
        "days_since_last_order": 52, "lapsing_after_days": 45, "lost_after_days": 90,
    }


def test_a_customer_within_their_rhythm_is_active(status):
    assert status["ACT"]["status"] == "active"
    assert status["ACT"]["ev"][("status", "active")]["lapsing_after_days"] == 45


def test_past_three_usual_gaps_a_customer_is_lost_by_rhythm(status):
    ev = status["LOSTR"]["ev"][("status", "lost")]
    assert (ev["by"], ev["days_since_last_order"], ev["lost_after_days"]) == ("rhythm", 91, 90)


def test_a_year_without_an_order_is_lost_whatever_the_rhythm(status):
    lost = status["LOSTM"]
    assert lost["status"] == "lost"
    ev = lost["ev"][("status", "lost")]
    assert (ev["by"], ev["typical_gap_days"], ev["lost_after_days"]) == ("max_days", 200, 365)


def test_a_low_probability_alive_makes_a_customer_lost(status):
    ev = status["PA"]["ev"][("status", "lost")]
    assert (ev["by"], ev["p_alive"], ev["days_since_last_order"]) == ("p_alive", 0.1, 10)


def test_a_customer_who_once_stayed_away_past_the_lost_threshold_is_won_back(status):
    won = status["WON"]
    assert won["status"] == "won_back"
    ev = won["ev"][("status", "won_back")]
    assert (ev["longest_gap_days"], ev["lost_after_days"], ev["typical_gap_days"]) == (140, 90, 30)


def test_the_typical_gap_is_the_exact_median_of_an_even_number_of_gaps(status):
    assert status["MED"]["typical_gap_days"] == 25


def test_with_too_few_gaps_the_base_median_gap_is_used_and_said(status):
    two = status["TWO"]
    assert two["typical_gap_days"] == 30  # the base's, not their own 50
    assert two["ev"][("status", "active")]["gap_source"] == "base"
    assert status["NEW1"]["ev"][("status", "active")]["gap_source"] == "base"


def test_orders_at_one_instant_are_no_rhythm_and_fall_back_to_the_base(status):
    zero = status["ZERO"]
    assert (zero["typical_gap_days"], zero["status"]) == (30, "active")
    assert zero["ev"][("status", "active")]["gap_source"] == "base"


def test_orders_after_the_as_of_date_are_ignored(status):
    fut = status["FUT"]
    assert (fut["orders"], fut["rung"], fut["days_since_last_order"]) == (1, "newcomer", 20)


def test_status_thresholds_come_from_params():
    params = MapParams(lapsing_gap_factor=2.0, lost_gap_factor=4.0, min_gaps_for_own_rhythm=1)
    got, _ = mapped(orders_of({"A": [(112, 1), (82, 1), (52, 1)], "B": [(80, 1), (30, 1)]}),
                    params=params)
    assert got["A"]["status"] == "active"  # 52 < 2 × 30
    assert got["B"]["ev"][("status", "active")]["gap_source"] == "own"


def test_a_comeback_older_than_the_won_back_window_is_simply_active():
    # gaps 30, 30, 140 (ended 400 days ago), then 30-day gaps: the comeback is older than 365
    spec = {"OLD": [(630, 10), (600, 10), (570, 10), (430, 10), (400, 10), (370, 10),
                    (340, 10), (310, 10), (280, 10), (250, 10), (220, 10), (190, 10),
                    (160, 10), (130, 10), (100, 10), (70, 10), (40, 10), (10, 10)]}
    got, _ = mapped(orders_of(spec))
    assert got["OLD"]["status"] == "active"
    got, _ = mapped(orders_of(spec), params=MapParams(won_back_within_days=450))
    ev = got["OLD"]["ev"][("status", "won_back")]
    assert (ev["longest_gap_days"], ev["lost_after_days"], ev["came_back_within_days"]) == (
        140, 90, 450)


def test_a_frequent_buyer_back_after_a_short_pause_was_never_lost_so_not_won_back():
    # weekly orders (gap 7), then one gap of 78 days ended 30 days ago, then weekly again:
    # 78 > 3 × 7 = 21 (the rhythm's lost threshold), but below won_back_min_gap_days (90)
    weekly = [(400 - 7 * i, 10) for i in range(30)]  # 400 ... 197 days ago
    back = [(197 - 78 - 7 * i, 10) for i in range(13)]  # 119 ... 35 days ago
    spec = {"W": [*weekly, *back, (28, 10), (21, 10), (14, 10), (7, 10)]}
    got, _ = mapped(orders_of(spec))
    assert got["W"]["typical_gap_days"] == 7
    assert got["W"]["status"] == "active"
    got, _ = mapped(orders_of(spec), params=MapParams(won_back_min_gap_days=60))
    ev = got["W"]["ev"][("status", "won_back")]
    assert (ev["longest_gap_days"], ev["min_gap_days"]) == (78, 60)
