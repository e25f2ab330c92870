"""Traits beside the rung (DOMAIN §6), hand-computed on one small business mapped once.

Revenue: G1 500, G2 300, M1 100, M2 50, S1 30, S2 20 (total 1000). Orders: 4, 3, 2, 1, 3, 1.
Complaints and returns: S1 two returns and a complaint, G1 one return: 4 issues in 14 orders.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from regulars.analytics.customer_map import customer_map
from regulars.analytics.traits import TRAITS

AS_OF = datetime(2024, 6, 1)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def table(rows: list[dict[str, Any]]) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pylist(rows))


# customer: [(amount, discount, new products, categories)], one order every ten days
ORDERS: dict[str, list[tuple[float, float, int, str]]] = {
    "G1": [(125, 10, 0, "food;drinks")] * 3 + [(125, 0, 0, "drinks;food")],
    "G2": [(100, 0, 1, "food")] + [(100, 0, 0, "food")] * 2,
    "M1": [(50, 5, 0, "a;b"), (50, 0, 0, "c; d")],
    "M2": [(50, 0, 0, "a")],
    "S1": [(10, 0, 0, "x")] * 3,
    "S2": [(20, 0, 0, "")],
}


@pytest.fixture(scope="module")
def traits() -> dict[str, dict[str, Any]]:
    rows = [
        {"order_id": f"{c}-{i}", "customer_id": c, "ordered_at": ago(10 * (len(spec) - i)),
         "amount": float(a), "discount_amount": float(d), "new_products": n, "categories": cat}
        for c, spec in ORDERS.items()
        for i, (a, d, n, cat) in enumerate(spec)
    ]
    feedback = table([
        {"customer_id": "G1", "at": ago(5), "nps": 9, "complaint": False},
        {"customer_id": "G2", "at": ago(5), "nps": 7, "complaint": False},
        {"customer_id": "M1", "at": ago(5), "nps": 6, "complaint": False},
        {"customer_id": "M2", "at": ago(5), "nps": 10, "complaint": False},
        {"customer_id": "S1", "at": ago(5), "nps": None, "complaint": True},
        {"customer_id": "S2", "at": ago(50), "nps": 8, "complaint": False},
        {"customer_id": "S2", "at": ago(5), "nps": 3, "complaint": False},
    ])
    returns = table([
        {"return_id": "r1", "order_id": "S1-0", "returned_at": ago(2), "amount": 10.0},
        {"return_id": "r2", "order_id": "S1-1", "returned_at": ago(2), "amount": 10.0},
        {"return_id": "r3", "order_id": "G1-0", "returned_at": ago(2), "amount": 10.0},
    ])
    m = customer_map(table(rows), as_of=AS_OF, feedback=feedback, returns=returns)
    for code in TRAITS:
        assert code not in m.not_evaluated
    out = {}
    for row in m.to_arrow().to_pylist():
        row["ev"] = {(e["about"], e["code"]): e for e in json.loads(row["evidence"])}
        out[row["customer_id"]] = row
    return out


def test_every_customer_gets_the_traits_their_rules_give_in_a_fixed_order(traits):
    assert {c: list(r["traits"]) for c, r in traits.items()} == {
        "G1": ["golden", "discount_driven", "promoter"],
        "G2": ["innovator", "focused", "passive"],
        "M1": ["diverse", "detractor"],
        "M2": ["promoter"],
        "S1": ["small", "focused", "problem"],
        "S2": ["small", "detractor"],
    }


def test_golden_customers_are_the_fewest_largest_making_half_the_revenue(traits):
    ev = traits["G1"]["ev"][("trait", "golden")]
    assert (ev["revenue"], ev["revenue_rank"], ev["revenue_share"]) == (500, 1, 0.5)
    assert (ev["cumulative_share"], ev["share"]) == (0.5, 0.5)
    assert "golden" not in traits["G2"]["traits"]  # half the revenue is already made


def test_small_customers_are_the_smallest_together_making_five_percent(traits):
    ev = traits["S1"]["ev"][("trait", "small")]
    assert (ev["revenue_rank"], ev["cumulative_share_from_bottom"], ev["share"]) == (5, 0.05, 0.05)
    assert "small" not in traits["M2"]["traits"]  # 50 + 30 + 20 is 10 %


def test_most_orders_with_a_discount_make_a_customer_discount_driven(traits):
    ev = traits["G1"]["ev"][("trait", "discount_driven")]
    assert (ev["discounted_orders"], ev["orders"], ev["discounted_share"]) == (3, 4, 0.75)
    assert "discount_driven" not in traits["M1"]["traits"]  # half is not most


def test_new_products_in_a_third_of_orders_make_an_innovator(traits):
    ev = traits["G2"]["ev"][("trait", "innovator")]
    assert (ev["new_product_orders"], ev["orders"], ev["new_product_share"]) == (1, 3, 0.3333)


def test_one_category_over_three_orders_is_focused_and_four_are_diverse(traits):
    ev = traits["G2"]["ev"][("trait", "focused")]
    assert (ev["categories"], ev["category"], ev["orders"]) == (1, "food", 3)
    assert traits["M1"]["ev"][("trait", "diverse")]["categories"] == 4
    assert "focused" not in traits["M2"]["traits"]  # one order says nothing about focus


def test_complaints_and_returns_over_twice_the_base_rate_make_a_problem_customer(traits):
    ev = traits["S1"]["ev"][("trait", "problem")]
    assert (ev["issues"], ev["orders"], ev["issues_per_order"]) == (3, 3, 1)
    assert (ev["base_issues_per_order"], ev["factor"]) == (0.2857, 2)
    assert "problem" not in traits["G1"]["traits"]  # 1 in 4 is under 2 × 4/14


def test_the_latest_score_decides_promoter_passive_or_detractor(traits):
    assert traits["M2"]["ev"][("trait", "promoter")]["latest_nps"] == 10
    assert traits["G2"]["ev"][("trait", "passive")]["latest_nps"] == 7
    assert traits["S2"]["ev"][("trait", "detractor")]["latest_nps"] == 3


def test_feedback_without_a_score_gives_no_nps_band(traits):
    assert not {"promoter", "passive", "detractor"} & set(traits["S1"]["traits"])


def test_traits_needing_absent_columns_are_not_evaluated():
    orders = table([{"customer_id": "A", "ordered_at": AS_OF, "amount": 1.0}])
    skipped = customer_map(orders, as_of=AS_OF).not_evaluated
    assert skipped["discount_driven"] == "no discount data (orders.discount_amount)"
    assert skipped["innovator"] == "no new-product data (orders.new_products)"
    assert skipped["focused"] == skipped["diverse"] == "no category data (orders.categories)"
    assert skipped["promoter"] == "no feedback data (feedback table)"
    assert "problem" in skipped
    assert "golden" not in skipped and "small" not in skipped
