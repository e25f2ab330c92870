"""Which input columns and tables an analysis drops as holding nothing (DOMAIN §2, §3)."""

from __future__ import annotations

from datetime import datetime

import ibis
import pyarrow as pa

from regulars.domain.tables import Kind
from regulars.services.analysis import without_empty

T = datetime(2024, 1, 5)


def _orders(**optional: list[object]) -> ibis.Table:
    n = len(next(iter(optional.values()))) if optional else 2
    return ibis.memtable(pa.table({"customer_id": [f"c{i}" for i in range(n)],
                                   "ordered_at": [T] * n, "amount": [1.0] * n, **optional}))


def test_an_optional_column_of_nulls_or_blank_text_is_dropped_and_a_filled_one_kept():
    orders = _orders(
        order_id=["o1", "o2", "o3"],
        channel=[None, "  ", ""],              # blank text only: nothing said
        discount_amount=[None, None, 2.0],     # one value is enough
        cost=pa.array([None, None, None], pa.float64()),
        currency=[None, None, " EUR"],
    )
    kept = without_empty({Kind.ORDERS: orders})[Kind.ORDERS]
    assert kept.columns == ("customer_id", "ordered_at", "amount", "order_id",
                            "discount_amount", "currency")


def test_a_table_without_rows_is_dropped_but_the_orders_always_stay():
    orders = _orders(order_id=["o1"]).limit(0)
    returns = ibis.memtable(pa.table({
        "return_id": pa.array([], pa.string()), "order_id": pa.array([], pa.string()),
        "customer_id": pa.array([], pa.string()),
        "returned_at": pa.array([], pa.timestamp("us"))}))
    out = without_empty({Kind.ORDERS: orders, Kind.RETURNS: returns})
    assert list(out) == [Kind.ORDERS]
    # no row at all: every optional column is empty
    assert out[Kind.ORDERS].columns == ("customer_id", "ordered_at", "amount")


def test_a_table_with_rows_stays_with_its_required_columns_even_when_they_are_null():
    feedback = ibis.memtable(pa.table({
        "feedback_id": ["f1"], "customer_id": ["c1"], "at": [T],
        "nps": pa.array([None], pa.int64()), "complaint": pa.array([None], pa.bool_())}))
    out = without_empty({Kind.ORDERS: _orders(order_id=["o1"]), Kind.FEEDBACK: feedback})
    assert Kind.FEEDBACK in out
    assert "nps" not in out[Kind.FEEDBACK].columns
