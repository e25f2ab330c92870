"""The customer map as a whole: its column contract, one row per customer, evidence that
survives every format, inputs in their several shapes, and the base numbers."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import ibis
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from regulars.analytics.customer_map import COLUMNS, CustomerMap, customer_map
from regulars.analytics.facts import base_numbers, customer_facts
from regulars.analytics.ladder import RUNGS, STATUSES
from regulars.analytics.signals import SIGNALS
from regulars.analytics.traits import RFM_SEGMENTS, TRAITS

AS_OF = datetime(2024, 6, 1)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def table(rows: list[dict[str, Any]]) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pylist(rows))


def order_rows() -> list[dict[str, Any]]:
    spec = {
        "A": [(112, 30), (82, 20), (52, 10)],
        "B": [(40, 5)],
        "C": [(300, 100), (200, 90), (100, 80), (50, 70), (20, 60)],
        "D": [(10, 7), (-3, 7)],  # one order after as-of
    }
    return [
        {"order_id": f"{c}-{i}", "customer_id": c, "ordered_at": ago(d), "amount": float(a),
         "categories": "food;drinks" if i % 2 else "food", "addons": "gift" if i < 2 else ""}
        for c, orders in spec.items()
        for i, (d, a) in enumerate(orders)
    ]


@pytest.fixture(scope="module")
def the_map() -> CustomerMap:
    customers = table([
        {"customer_id": "A", "created_at": ago(500)},
        {"customer_id": "P", "created_at": ago(5)},
        {"customer_id": "LATE", "created_at": AS_OF + timedelta(days=1)},
        {"customer_id": "NODATE", "created_at": None},
    ])
    return customer_map(table(order_rows()), as_of=AS_OF, customers=customers)


@pytest.fixture(scope="module")
def result(the_map: CustomerMap) -> pa.Table:
    return the_map.to_arrow()


def test_the_map_has_the_contract_columns_in_order(result):
    assert tuple(result.column_names) == COLUMNS
    schema = result.schema
    assert pa.types.is_list(schema.field("signals").type)
    assert pa.types.is_string(schema.field("signals").type.value_type)
    assert pa.types.is_list(schema.field("traits").type)
    assert pa.types.is_string(schema.field("evidence").type)
    assert pa.types.is_timestamp(schema.field("first_order_at").type)
    assert pa.types.is_integer(schema.field("orders").type)
    for name in ("revenue", "avg_order_value", "typical_gap_days", "days_since_last_order"):
        assert pa.types.is_floating(schema.field(name).type), name


def test_one_row_per_customer_known_at_as_of_with_prospects(result):
    ids = sorted(result.column("customer_id").to_pylist())
    assert ids == ["A", "B", "C", "D", "NODATE", "P"]  # LATE became known after as-of


def test_labels_come_from_their_closed_sets(result):
    for row in result.to_pylist():
        assert row["rung"] in RUNGS
        assert row["status"] in (*STATUSES, None)
        assert set(row["signals"]) <= set(SIGNALS)
        assert set(row["traits"]) <= set(TRAITS)
        assert row["rfm_segment"] in (*RFM_SEGMENTS, None)


def test_the_rung_the_status_and_every_label_have_exactly_one_evidence_object(result):
    for row in result.to_pylist():
        items = json.loads(row["evidence"])
        keys = [(e["about"], e["code"]) for e in items]
        assert len(keys) == len(set(keys))
        assert [k for k in keys if k[0] == "rung"] == [("rung", row["rung"])]
        status = [("status", row["status"])] if row["status"] else []
        assert [k for k in keys if k[0] == "status"] == status
        assert [c for a, c in keys if a == "signal"] == list(row["signals"])
        assert [c for a, c in keys if a == "trait"] == list(row["traits"])


def test_a_lapsing_customer_reads_as_in_the_issue(result):
    a = next(r for r in result.to_pylist() if r["customer_id"] == "A")
    status = next(e for e in json.loads(a["evidence"]) if e["about"] == "status")
    assert status == {"about": "status", "code": "lapsing", "typical_gap_days": 30,
                      "gap_source": "own", "days_since_last_order": 52,
                      "lapsing_after_days": 45, "lost_after_days": 90}


def test_evidence_survives_pandas_polars_parquet_and_csv(result):
    expected = result.column("evidence").to_pylist()
    assert pd.DataFrame(result.to_pandas())["evidence"].tolist() == expected
    assert pl.from_arrow(result)["evidence"].to_list() == expected
    buf = io.BytesIO()
    pq.write_table(result, buf)
    assert pq.read_table(io.BytesIO(buf.getvalue())).column("evidence").to_pylist() == expected
    flat = result.select(["customer_id", "evidence"])
    out = io.BytesIO()
    pacsv.write_csv(flat, out)
    back = pacsv.read_csv(io.BytesIO(out.getvalue()))
    assert [json.loads(e) for e in back.column("evidence").to_pylist()] == [
        json.loads(e) for e in expected]


def test_what_cannot_be_evaluated_is_named_with_the_reason(the_map):
    skipped = the_map.not_evaluated
    assert skipped["slower_payments"] == "no invoice data (invoices table)"
    assert skipped["discount_driven"] == "no discount data (orders.discount_amount)"
    assert "dropped_addons" not in skipped and "focused" not in skipped


def test_list_columns_may_be_arrays_as_well_as_semicolon_text(result):
    rows = order_rows()
    for r in rows:
        r["categories"] = r["categories"].split(";")
        r["addons"] = [a for a in r["addons"].split(";") if a]
    as_arrays = customer_map(table(rows), as_of=AS_OF).to_arrow()
    key = ["customer_id", "signals", "traits", "evidence"]
    got = sorted(as_arrays.select(key).to_pylist(), key=lambda r: r["customer_id"])
    buyers = {"A", "B", "C", "D"}
    want = sorted((r for r in result.select(key).to_pylist() if r["customer_id"] in buyers),
                  key=lambda r: r["customer_id"])
    assert got == want


def test_a_date_as_of_is_its_midnight_and_an_aware_one_is_read_in_utc():
    orders = table([{"customer_id": "A", "ordered_at": datetime(2024, 5, 31, 12), "amount": 1.0}])
    by_date = customer_map(orders, as_of=date(2024, 6, 1)).to_arrow().to_pylist()
    assert by_date[0]["days_since_last_order"] == 0.5
    aware = datetime(2024, 6, 1, 2, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    by_aware = customer_map(orders, as_of=aware).to_arrow().to_pylist()
    assert by_aware[0]["days_since_last_order"] == pytest.approx(0.5 + 2 / 24)


def test_customer_ids_are_compared_as_text_whatever_their_type():
    orders = table([{"customer_id": 7, "ordered_at": ago(3), "amount": 1.0}])
    customers = table([{"customer_id": "7"}, {"customer_id": "8"}])
    rows = customer_map(orders, as_of=AS_OF, customers=customers).to_arrow().to_pylist()
    assert sorted((r["customer_id"], r["rung"]) for r in rows) == [
        ("7", "newcomer"), ("8", "prospect")]


def test_orders_without_order_ids_work_and_returns_then_cannot_be_linked():
    orders = table([{"customer_id": "A", "ordered_at": ago(3), "amount": 1.0}])
    returns = table([{"order_id": "x", "returned_at": ago(1), "amount": 1.0}])
    m = customer_map(orders, as_of=AS_OF, returns=returns)
    assert m.to_arrow().num_rows == 1
    assert "cannot be linked" in m.not_evaluated["problem"]
    assert "cannot be linked" in m.not_evaluated["complaints_returns"]


def test_a_missing_required_column_is_named():
    with pytest.raises(ValueError, match="amount"):
        customer_map(table([{"customer_id": "A", "ordered_at": AS_OF}]), as_of=AS_OF)


def test_base_numbers_are_the_medians_the_rules_compare_with():
    base = base_numbers(table(order_rows()), as_of=AS_OF).to_pyarrow().to_pylist()[0]
    # gaps: A 30, 30; C 100, 100, 50, 30; D none (its second order is after as-of)
    assert base["median_gap_days"] == 40  # sorted 30 30 30 50 100 100
    assert (base["customers"], base["orders"], base["revenue"]) == (4, 10, 472.0)
    # average orders: A 20, B 5, C 80, D 7; the regulars (3+ orders) are A and C, and the
    # loyal rung compares with them: median (20 + 80) / 2 (over every buyer it would be 13.5)
    assert base["median_avg_order_value"] == 50
    assert base["median_revenue"] == (7 + 60) / 2


def test_money_is_summed_exactly_so_every_run_and_engine_gives_the_same_revenue():
    # as floats 0.1 + 0.2 is 0.30000000000000004, and a parallel engine adds in a varying order
    rows = [{"customer_id": "X", "ordered_at": ago(d), "amount": a, "cost": c}
            for d, a, c in ((30, 0.1, 0.05), (20, 0.2, 0.05), (10, 0.7, 0.6))]
    facts = customer_facts(table(rows), as_of=AS_OF).to_pyarrow().to_pylist()[0]
    assert facts["revenue"] == 1.0  # 0.1 + 0.2 + 0.7
    assert facts["recent_margin"] == 0.3  # 0.05 + 0.15 + 0.1
    two = [{"customer_id": "Y", "ordered_at": ago(d), "amount": a}
           for d, a in ((20, 0.1), (10, 0.2))]
    assert customer_facts(table(two), as_of=AS_OF).to_pyarrow()["revenue"].to_pylist() == [0.3]


def test_customer_facts_expose_the_per_customer_numbers():
    facts = customer_facts(table(order_rows()), as_of=AS_OF).to_pyarrow().to_pylist()
    c = next(f for f in facts if f["customer_id"] == "C")
    assert (c["orders"], c["n_gaps"], c["own_median_gap"], c["max_gap"]) == (5, 4, 75, 100)
    assert (c["last_gap"], c["recent_decreases"], c["recent_avg"], c["earlier_avg"]) == (
        30, 3, 70, 95)


def test_the_same_expression_compiles_for_postgresql(the_map):
    sql = ibis.to_sql(the_map.customers, dialect="postgres")
    assert "PERCENTILE_CONT" in sql  # exact medians, never approximate ones
    assert "->" not in sql  # no lambdas


def test_an_add_on_list_of_blanks_and_separators_is_no_add_on():
    lists = ["gift", " ; ", "\t", "", None, ";\x0b x;", "\u00a0"]
    rows = [{"customer_id": "A", "ordered_at": ago(100 - i), "amount": 10.0, "addons": a}
            for i, a in enumerate(lists)]
    facts = customer_facts(table(rows), as_of=AS_OF).to_pyarrow().to_pylist()[0]
    # "gift", " x" and the no-break space (not among the blanks SQL TRIM removes for strip())
    assert facts["addon_orders"] == 3
