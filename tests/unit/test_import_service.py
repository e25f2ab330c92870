"""The import use case against an in-memory store: all or nothing, idempotent, merges kept."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from regulars.adapters.memory import FakeStore
from regulars.adapters.staging import ReadOptions, Staging
from regulars.domain.errors import RejectedFileError
from regulars.domain.tables import Kind
from regulars.services.importing import import_file


def run(store: FakeStore, kind: Kind, path: Path, **kw: object):
    with Staging() as staging:
        return import_file(
            store=store,
            staging=staging,
            kind=kind,
            path=path,
            options=ReadOptions(currency="EUR"),
            **kw,
        )  # type: ignore[arg-type]


def test_a_rejected_file_never_opens_a_write(tmp_path):
    store = FakeStore()
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,-1\n")
    with pytest.raises(RejectedFileError):
        run(store, Kind.ORDERS, f)
    assert store.commits == 0 and store.counts()["orders"] == 0


def test_one_import_is_one_commit_and_a_repeat_adds_nothing(tmp_path):
    store = FakeStore()
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,1\nO2,C2,2024-01-02,2\n")
    first = run(store, Kind.ORDERS, f)
    second = run(store, Kind.ORDERS, f)
    assert (first.rows_added, first.customers_created) == (2, 2)
    assert (second.rows_added, second.rows_already_present) == (0, 2)
    assert store.counts()["orders"] == 2 and store.counts()["customers"] == 2
    assert store.tables["imports"].column("rows_added").to_pylist() == [2, 0]


def test_a_merge_is_recorded_with_its_reason(tmp_path):
    store = FakeStore()
    f = tmp_path / "c.csv"
    f.write_text("customer_id,email\nC1,a@x.ee\nC2,A@X.ee\n")
    run(store, Kind.CUSTOMERS, f)
    merges = store.tables["customer_merges"].to_pylist()
    assert [(m["alias_id"], m["customer_id"], m["reason"], m["matched_value"]) for m in merges] == [
        ("C2", "C1", "email", "a@x.ee")
    ]


def test_dry_run_commits_nothing(tmp_path):
    store = FakeStore()
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,1\n")
    report = run(store, Kind.ORDERS, f, dry_run=True)
    assert report.rows_added == 1 and store.commits == 0


def test_rows_with_an_empty_id_get_a_derived_one_and_a_repeat_adds_nothing(tmp_path):
    store = FakeStore()
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\n"
                 "O1,C1,2024-01-01,1\n,C2,2024-01-02,2\n ,C3,2024-01-03,3\n")
    first = run(store, Kind.ORDERS, f)
    assert first.rows_added == 3
    ids = set(store.tables["orders"].column("order_id").to_pylist())
    derived = ids - {"O1"}
    assert "O1" in ids and len(derived) == 2
    assert all(i.startswith("O-") and len(i) == 22 for i in derived)
    again = run(store, Kind.ORDERS, f)
    assert (again.rows_added, again.rows_already_present) == (0, 3)


def test_a_return_made_while_a_file_is_checked_is_counted_before_the_commit(tmp_path):
    """The file's returns are checked against the store twice: before writing, and again with
    the orders locked before the commit, so that a return another writer made in between
    (here: hidden from the first check) cannot take the order past its amount."""
    store = FakeStore()
    orders = tmp_path / "o.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,100\n")
    run(store, Kind.ORDERS, orders)
    first = tmp_path / "r1.csv"
    first.write_text("return_id,order_id,returned_at,amount\nR1,O1,2024-01-02,80\n")
    run(store, Kind.RETURNS, first)
    unseen = store.tables["orders"]
    store.returnable = lambda ids: pa.table({  # type: ignore[method-assign]
        "id": ["O1"], "amount": [100.0], "returned": pa.array([None], pa.float64())})
    second = tmp_path / "r2.csv"
    second.write_text("return_id,order_id,returned_at,amount\nR2,O1,2024-01-03,80\n")
    with pytest.raises(RejectedFileError) as refused:
        run(store, Kind.RETURNS, second)
    assert [(p.row, p.column, p.message) for p in refused.value.problems] == [
        (1, "amount", "more than what is left of order O1: its amount is 100.00 and 20.00 is "
                      "left to return")]
    assert store.counts()["returns"] == 1 and store.tables["orders"] == unseen
