"""Reading a file for an analysis (``load_table``, ``analyze(orders=<file>)``): the same
checks as an import, without a store; the content fingerprint only where it is needed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import regulars
from regulars import RejectedFileError
from regulars.adapters.staging import ReadOptions, Staging
from regulars.api import load_table as _load_table
from regulars.domain.tables import SPECS, Kind


def load_table(kind: str, path: Path) -> pa.Table:
    return _load_table(kind, path, settings=regulars.load_settings(database_url="sqlite://"))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[RejectedFileError]) -> list[tuple[object, ...]]:
    return [(p.row, p.line, p.column, p.value, p.message.split(" (")[0])
            for p in exc.value.problems]


def test_planted_errors_in_a_text_file_name_row_line_column_and_value(tmp_path):
    bad = write(
        tmp_path / "bad.csv",
        "order_id,customer_id,ordered_at,amount\n"
        "O10,C1,2024-01-05,10.50\n"
        "O11,C1,2024-13-05,10.50\n"
        "O12,C1,2024-02-05,-3\n"
        "O13, ,2024-02-05,4\n"
        "O14,C1,2024-02-05,abc\n"
        "O10,C1,2024-01-05,99\n",
    )
    with pytest.raises(RejectedFileError) as e:
        load_table("orders", bad)
    assert problems(e) == [
        (2, 3, "ordered_at", "2024-13-05", "unparseable date"),
        (3, 4, "amount", "-3", "negative amount"),
        (4, 5, "customer_id", " ", "missing value"),
        (5, 6, "amount", "abc", "not a number"),
        (6, 7, "order_id", "O10", "id appears again with different content"),
    ]
    assert str(bad) in str(e.value)


def test_planted_errors_in_a_typed_parquet_file_name_row_column_and_value(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({
        "order_id": ["O1", "O2", "O3", "O4"],
        "customer_id": ["C1", "C1", None, "C2"],
        "ordered_at": [datetime(2024, 1, 5), None, datetime(2024, 2, 1), datetime(2024, 3, 1)],
        "amount": [10.5, 3.0, 4.0, -2.25],
        "quantity": pa.array([1, 2, None, 1], pa.int64()),
    }), path)
    with pytest.raises(RejectedFileError) as e:
        load_table("orders", path)
    assert problems(e) == [
        (2, None, "ordered_at", None, "missing value"),
        (3, None, "customer_id", None, "missing value"),
        (4, None, "amount", "-2.25", "negative amount"),
    ]


def test_a_clean_file_with_distinct_ids_is_read_without_fingerprints(tmp_path):
    f = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount\n"
                                  "O2,C1,2024-01-05,1\nO1,C2,2024-01-06,2\n")
    with Staging() as staging:
        spec = SPECS[Kind.ORDERS]
        columns = staging.read(f, ReadOptions())
        staging.resolve_columns(spec, columns, ReadOptions())
        staging.check(spec, ReadOptions(), max_problems=20)
        staging.identify_for_reading(spec, True)
        assert "row_hash" not in staging.query("SELECT * FROM typed").column_names
    t = load_table("orders", f)
    assert t.column("order_id").to_pylist() == ["O2", "O1"]


def test_exact_duplicates_are_read_once_and_missing_ids_are_derived_as_on_import(tmp_path):
    f = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount\n"
                                  "O1,C1,2024-01-05,1\nO1,C1,2024-01-05,1\n,C2,2024-01-06,2\n")
    t = load_table("orders", f)
    ids = t.column("order_id").to_pylist()
    assert ids[0] == "O1" and len(ids) == 2 and ids[1].startswith("O-")
    assert load_table("orders", f).equals(t)  # derived ids are stable


def test_a_parquet_file_reads_as_the_same_text_file_does(tmp_path):
    text = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount,addons\n"
                                     "O1,C1,2024-01-05 10:00,10.5,gift wrap; delivery\n"
                                     "O2,C2,2024-02-05,3,\n")
    from_text = load_table("orders", text)
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({
        "order_id": ["O1", "O2"], "customer_id": ["C1", "C2"],
        "ordered_at": [datetime(2024, 1, 5, 10), datetime(2024, 2, 5)],
        "amount": [10.5, 3.0], "addons": ["gift wrap; delivery", None],
    }), path)
    assert load_table("orders", path).equals(from_text)


def test_list_columns_are_cleaned_alike_however_often_a_list_repeats(tmp_path):
    rows = [f"O{i},C1,2024-01-05,1,{v}" for i, v in enumerate(
        ['"gift wrap ; delivery"', "delivery|gift wrap", '" , ;"', "", "delivery",
         '"gift wrap ; delivery"', "delivery"])]
    f = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount,addons\n"
              + "\n".join(rows) + "\n")
    assert load_table("orders", f).column("addons").to_pylist() == [
        "gift wrap;delivery", "delivery;gift wrap", None, None, "delivery",
        "gift wrap;delivery", "delivery"]


@pytest.mark.parametrize("own_column", [None, "file_row_number", "File_Row_Number"])
def test_parquet_rows_are_numbered_as_in_the_file_across_row_groups(tmp_path, own_column):
    # the reader numbers the rows (file_row_number) unless the file has a column of that name
    n = 10
    columns = {
        "order_id": [f"O{i}" for i in range(n)],
        "customer_id": ["C1"] * n,
        "ordered_at": [datetime(2024, 1, 1 + i) for i in range(n)],
        "amount": [1.0] * n,
    }
    columns["amount"][6] = -1.0  # row 7 of the file
    columns["customer_id"][8] = None  # row 9, in the last row group
    if own_column:
        columns[own_column] = list(range(100, 100 + n))
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=3)
    with pytest.raises(RejectedFileError) as e:
        load_table("orders", path)
    assert [(p.row, p.column) for p in e.value.problems] == [(7, "amount"), (9, "customer_id")]
    columns["amount"][6], columns["customer_id"][8] = 1.0, "C1"
    pq.write_table(pa.table(columns), path, row_group_size=3)
    assert load_table("orders", path).column("order_id").to_pylist() == columns["order_id"]
