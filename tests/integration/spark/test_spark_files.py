"""Files Spark reads itself: a URI (``file://`` here, the code path of ``s3a://``, ``abfss://``
and ``hdfs://``) is read and checked by Spark's executors, with the contract's types, and a
bad value is named by file, column, value and the row's id (a distributed read has no row
numbers)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from regulars.adapters.engines import SparkEngine
from regulars.domain.errors import AnalysisError, RejectedFileError
from regulars.domain.tables import Kind

pytestmark = [
    pytest.mark.spark,
    pytest.mark.xdist_group("spark"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:unclosed <socket:ResourceWarning"),
]

GOOD = """order_id,Customer_ID,ordered_at,amount,channel
O1,C1,2024-03-01 10:00:00,12.50,store
O2,C2,2024-03-02 11:30:00,7,online
O3,C1,2024-03-05 09:15:00,0.99,
"""


@pytest.fixture
def engine(spark: Any) -> Any:
    e = SparkEngine(spark)
    yield e
    e.close()


def uri(path: Path) -> str:
    return path.resolve().as_uri()  # file:///…


def test_a_csv_at_a_uri_is_read_by_spark_with_the_contracts_columns_and_types(engine, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_text(GOOD, encoding="utf-8")
    t = engine.read(Kind.ORDERS, uri(f), max_problems=10)
    got = t.order_by("order_id").to_pyarrow()
    assert got.column_names[:4] == ["order_id", "customer_id", "ordered_at", "amount"]
    assert got.schema.field("amount").type == pa.decimal128(18, 4)
    assert got.schema.field("ordered_at").type == pa.timestamp("us")
    assert got.column("customer_id").to_pylist() == ["C1", "C2", "C1"]
    assert got.column("amount").to_pylist() == [Decimal("12.5"), Decimal("7"), Decimal("0.99")]
    assert got.column("ordered_at")[1].as_py() == datetime(2024, 3, 2, 11, 30)
    assert got.column("channel").to_pylist() == ["store", "online", None]
    assert got.column("quantity").null_count == 3  # a column the file lacks: all null


def test_a_directory_of_parquet_parts_at_a_uri_is_read_and_an_order_id_derived(engine, tmp_path):
    d = tmp_path / "orders"
    d.mkdir()
    for i in range(2):
        pq.write_table(pa.table({
            "customer_id": [f"C{i}", f"C{i}"],
            "ordered_at": pa.array([datetime(2024, 1, 1 + i), datetime(2024, 2, 1)]),
            "amount": [1.5, 2.0 + i],
        }), d / f"part-{i}.parquet")
    got = engine.read(Kind.ORDERS, uri(d), max_problems=10).to_pyarrow()
    assert got.num_rows == 4
    ids = got.column("order_id").to_pylist()
    assert len(set(ids)) == 4 and all(len(i) == 64 for i in ids)  # sha-256 of the row


def test_bad_values_are_named_by_file_column_value_and_the_rows_id(engine, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\n"
                 "O1,C1,2024-03-01 10:00:00,abc\n"
                 "O2,,2024-03-01 10:00:00,5\n"
                 "O3,C3,not a time,5\n"
                 "O4,C4,2024-03-01 10:00:00,-2\n"
                 "O4,C5,2024-03-01 10:00:00,3\n", encoding="utf-8")
    with pytest.raises(RejectedFileError) as caught:
        engine.read(Kind.ORDERS, uri(f), max_problems=3)
    e = caught.value
    assert e.total == 5
    assert [(p.column, p.value) for p in e.problems] == [
        ("amount", "abc"), ("customer_id", None), ("ordered_at", "not a time")]
    text = str(e)
    assert text.startswith(f"{uri(f)}: rejected, 5 problems found")
    assert "the row whose order_id is 'O1'" in text and "orders.csv" in text
    assert "column amount: 'abc' not a money" in text
    assert "… and 2 more" in text


def test_a_missing_required_column_is_named_with_the_files_columns(engine, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_text("order_id,customer_id,amount\nO1,C1,5\n", encoding="utf-8")
    with pytest.raises(RejectedFileError, match="required column 'ordered_at' is missing "
                       r"\(the file has: order_id, customer_id, amount\)"):
        engine.read(Kind.ORDERS, uri(f), max_problems=10)


def test_a_path_spark_cannot_read_says_so(engine, tmp_path):
    with pytest.raises(AnalysisError, match="Spark cannot read file://"):
        engine.read(Kind.ORDERS, uri(tmp_path / "nothing.parquet"), max_problems=10)


def test_an_analysis_takes_a_uri_from_spark_and_a_local_file_from_the_driver(spark, tmp_path):
    """The inputs of ``analyze(..., engine="spark")``: the orders' URI read by Spark, the
    customers' local file read and checked on the driver and handed over; both tables on the
    one Spark session."""
    import ibis

    from regulars.bootstrap import load_settings, open_inputs, open_spark

    orders = tmp_path / "orders.csv"
    orders.write_text(GOOD, encoding="utf-8")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,name\nC1,Anna\nC2,Peeter\n", encoding="utf-8")
    inputs = open_inputs(load_settings(), spark=open_spark(spark))
    said: list[str] = []
    with inputs.tables({Kind.ORDERS: uri(orders), Kind.CUSTOMERS: customers}, None, "spark",
                       said.append) as tables:
        assert list(tables) == [Kind.ORDERS, Kind.CUSTOMERS]
        assert {ibis.get_backend(t).name for t in tables.values()} == {"pyspark"}
        assert tables[Kind.ORDERS].count().to_pyarrow().as_py() == 3
        assert sorted(tables[Kind.CUSTOMERS].name.to_pyarrow().to_pylist()) == [
            "Anna", "Peeter"]
    assert said[0] == f"reading and checking {uri(orders)} on Spark…"
