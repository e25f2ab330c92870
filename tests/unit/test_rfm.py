"""RFM scores by quintile and the named segments of the recency × frequency grid (DOMAIN §6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from regulars.analytics.customer_map import customer_map
from regulars.analytics.params import MapParams
from regulars.analytics.traits import RFM_GRID, RFM_SEGMENTS, rfm_segment, rfm_segment_of

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
