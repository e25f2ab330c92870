"""RFM scores by quintile and the named segments of the recency × frequency grid (DOMAIN §6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from regulars.analytics.customer_map import customer_map
from regulars.analytics.params import MapParams
from regulars.analytics.traits import (
    RFM_GRID,
    RFM_SEGMENTS,
    approximate_rfm,
    rfm_segment,
    rfm_segment_of,
    threshold_score,
)

AS_OF = datetime(2024, 6, 1)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def table(rows: list[dict[str, Any]]) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pylist(rows))


def test_every_cell_of_the_five_by_five_grid_has_exactly_one_segment():
    assert sorted(RFM_GRID) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert set(RFM_GRID.values()) <= set(RFM_SEGMENTS)


def test_every_segment_is_reachable():
    assert set(RFM_GRID.values()) == set(RFM_SEGMENTS)


@pytest.mark.parametrize(("r", "f", "segment"), [
    (5, 5, "champions"), (5, 1, "new"), (4, 1, "promising"), (4, 4, "loyal"),
    (3, 3, "need_attention"), (3, 1, "about_to_sleep"), (1, 5, "cant_lose_them"),
    (2, 3, "at_risk"), (2, 2, "hibernating"), (1, 1, "lost"), (5, 2, "potential_loyalist"),
])
def test_the_grid_places_the_named_corners_where_the_literature_does(r, f, segment):
    assert rfm_segment_of(r, f) == segment


def test_the_sql_segment_agrees_with_the_grid_on_all_25_cells():
    cells = table([{"r": r, "f": f} for r in range(1, 6) for f in range(1, 6)])
    got = cells.mutate(s=rfm_segment(cells.r, cells.f)).to_pyarrow().to_pylist()
    assert {(c["r"], c["f"]): c["s"] for c in got} == RFM_GRID


def test_with_three_bins_scores_spread_from_the_bottom_row_to_the_top_row():
    assert [rfm_segment_of(r, r, bins=3) for r in (1, 2, 3)] == [
        "lost", "need_attention", "champions"]
    cells = table([{"r": r, "f": f} for r in range(1, 4) for f in range(1, 4)])
    got = cells.mutate(s=rfm_segment(cells.r, cells.f, bins=3)).to_pyarrow().to_pylist()
    assert {(c["r"], c["f"]): c["s"] for c in got} == {
        (r, f): rfm_segment_of(r, f, bins=3) for r in range(1, 4) for f in range(1, 4)}


# --- scores on a base --------------------------------------------------------------------

def ten_customers() -> list[dict[str, Any]]:
    """Customer Ck has k orders of 10·k, the last one 11 − k days ago: more orders, more
    recent, more revenue."""
    rows = []
    for k in range(1, 11):
        for i in range(k):
            rows.append({"customer_id": f"C{k:02d}", "ordered_at": ago(11 - k + 20 * i),
                         "amount": 10.0 * k})
    return rows


@pytest.fixture(scope="module")
def scored() -> dict[str, dict[str, Any]]:
    customers = table([{"customer_id": f"C{k:02d}"} for k in range(1, 11)]
                      + [{"customer_id": "PROSPECT"}])
    m = customer_map(table(ten_customers()), as_of=AS_OF, customers=customers)
    return {r["customer_id"]: r for r in m.to_arrow().to_pylist()}


def test_scores_are_quintiles_with_five_for_the_best(scored):
    expected = {f"C{k:02d}": (k + 1) // 2 for k in range(1, 11)}
    for c, score in expected.items():
        row = scored[c]
        assert (row["rfm_r"], row["rfm_f"], row["rfm_m"]) == (score, score, score), c


def test_segments_follow_the_scores(scored):
    assert scored["C10"]["rfm_segment"] == "champions"
    assert scored["C07"]["rfm_segment"] == "loyal"
    assert scored["C05"]["rfm_segment"] == "need_attention"
    assert scored["C03"]["rfm_segment"] == "hibernating"
    assert scored["C01"]["rfm_segment"] == "lost"


def test_prospects_take_no_quintile_slot_and_have_no_scores(scored):
    p = scored["PROSPECT"]
    assert (p["rfm_r"], p["rfm_f"], p["rfm_m"], p["rfm_segment"]) == (None, None, None, None)


def test_ties_are_broken_by_customer_id_so_every_engine_agrees():
    rows = [{"customer_id": c, "ordered_at": ago(3), "amount": 5.0} for c in ("B", "A")]
    got = {r["customer_id"]: r for r in
           customer_map(table(rows), as_of=AS_OF).to_arrow().to_pylist()}
    assert (got["A"]["rfm_r"], got["B"]["rfm_r"]) == (5, 4)
    assert (got["A"]["rfm_m"], got["B"]["rfm_m"]) == (5, 4)


def test_the_number_of_bins_comes_from_params():
    m = customer_map(table(ten_customers()), as_of=AS_OF, params=MapParams(rfm_bins=2))
    rows = {r["customer_id"]: r for r in m.to_arrow().to_pylist()}
    assert [rows[f"C{k:02d}"]["rfm_f"] for k in range(1, 11)] == [1] * 5 + [2] * 5
    assert rows["C10"]["rfm_segment"] == "champions"
    assert rows["C01"]["rfm_segment"] == "lost"


# --- approximate thresholds (Spark; docs/spark.md) -----------------------------------------

def test_a_value_scores_one_plus_the_thresholds_it_is_strictly_above():
    """Thresholds 2 and 5: 1 and 2 (at the first threshold) score 1, 3 and 5 (at the second)
    score 2, 8 scores 3; equal values share a score; a missing threshold is not passed."""
    values = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0]
    t = table([{"v": v, "q1": 2.0, "q2": 5.0, "none": None} for v in values])
    t = t.mutate(none=t.none.cast("float64"))
    got = t.mutate(s=threshold_score(t.v, [t.q1, t.q2]),
                   n=threshold_score(t.v, [t.q1, t.none])).to_pyarrow()
    assert got.column("s").to_pylist() == [1, 1, 1, 2, 2, 2, 2, 3]
    assert got.column("n").to_pylist() == [1, 1, 1, 2, 2, 2, 2, 2]


def test_auto_takes_approximate_thresholds_on_spark_only():
    t = table([{"customer_id": "A"}])
    assert not approximate_rfm(t, MapParams())
    assert approximate_rfm(t, MapParams(rfm_quantiles="approximate"))
    assert not approximate_rfm(t, MapParams(rfm_quantiles="exact"))


def test_approximate_scores_keep_equal_customers_together_where_ntile_splits_them():
    """Four customers with one order of 5 yesterday and four with two orders of 10: every
    value ties with three others. Exact quintiles split each group by customer id; thresholds
    give a group one score (the lower: a value at a threshold stays below it)."""
    rows = [{"customer_id": f"A{i}", "ordered_at": ago(1), "amount": 5.0} for i in range(4)]
    rows += [{"customer_id": f"B{i}", "ordered_at": ago(1 + 30 * j), "amount": 10.0}
             for i in range(4) for j in range(2)]
    exact = {r["customer_id"]: r for r in
             customer_map(table(rows), as_of=AS_OF).to_arrow().to_pylist()}
    approx = {r["customer_id"]: r for r in customer_map(
        table(rows), as_of=AS_OF, params=MapParams(rfm_quantiles="approximate"),
    ).to_arrow().to_pylist()}
    assert len({exact[f"B{i}"]["rfm_f"] for i in range(4)}) > 1
    assert {approx[f"A{i}"]["rfm_f"] for i in range(4)} == {1}
    assert {approx[f"B{i}"]["rfm_f"] for i in range(4)} == {approx["B0"]["rfm_f"]}
    assert approx["B0"]["rfm_f"] > 1
    assert {approx[c]["rfm_segment"] for c in approx} <= set(RFM_SEGMENTS)
