"""The import's fast paths keep the store's rules: an empty table's indexes are built after the
rows and are there afterwards, a load that fails puts them back with the rest, a delimited file's
rows are numbered without a window, and the fingerprint computed while typing is the one the
separate statement computes.

The store tests run on SQLite and (when REGULARS_TEST_POSTGRES_URL is set) on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import regulars
from regulars import Kind, RejectedFileError
from regulars.adapters.db import store as store_module
from regulars.adapters.staging import Staging
from regulars.adapters.staging.detect import ReadOptions
from regulars.bootstrap import open_store
from regulars.domain.tables import SPECS

ORDERS = """order_id,customer_id,ordered_at,amount,channel,addons
O1,C1,2024-01-05,10.50,web,gift wrap;delivery
O2,C1,2024-02-05 10:00,20,shop,
O3,C2,2024-03-01,5,web,
"""


@pytest.fixture
def settings(database_url: str) -> regulars.Settings:
    return regulars.load_settings(database_url=database_url)


def _indexes(url: str, table: str) -> set[tuple[str, tuple[str, ...], bool]]:
    """(name, columns, unique) of every index on ``table``, the primary key's included."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        found = {(str(ix["name"]), tuple(str(c) for c in ix["column_names"]),
                  bool(ix["unique"])) for ix in inspector.get_indexes(table)}
        pk = inspector.get_pk_constraint(table)
        found.add(("<primary key>", tuple(pk["constrained_columns"]), True))
        return found
    finally:
        engine.dispose()


def _write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_import_into_an_empty_store_leaves_every_index_in_place(tmp_path, settings):
    store = open_store(settings)
    store.ensure_schema()
    before = {t: _indexes(settings.database_url, t) for t in ("orders", "customers")}
    assert ("ix_orders_customer_id", ("customer_id",), False) in before["orders"]
    regulars.import_file("orders", _write(tmp_path, ORDERS), settings=settings)
    after = {t: _indexes(settings.database_url, t) for t in ("orders", "customers")}
    assert after == before
    # the primary key still refuses a second row of an id
    with sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool).begin() as conn, \
            pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text(
            "INSERT INTO orders (order_id, customer_id, ordered_at, amount, row_hash) "
            "VALUES ('O1', 'C9', '2024-01-01', 1, 'x')"))


def test_an_import_into_a_filled_table_keeps_its_indexes_too(tmp_path, settings):
    regulars.import_file("orders", _write(tmp_path, ORDERS), settings=settings)
    before = _indexes(settings.database_url, "orders")
    more = ORDERS + "O4,C3,2024-04-01,7,web,\n"
    report = regulars.import_file("orders", _write(tmp_path, more, "more.csv"),
                                  settings=settings)
    assert (report.rows_added, report.rows_already_present) == (1, 3)
    assert _indexes(settings.database_url, "orders") == before


def test_a_load_that_fails_midway_leaves_the_store_and_its_indexes_as_they_were(
    tmp_path, settings, monkeypatch
):
    store = open_store(settings)
    store.ensure_schema()
    before = _indexes(settings.database_url, "orders")
    real = store_module.StoreWrite.append_table
    calls = {"n": 0}

    def failing(self: Any, name: str, table: Any) -> None:
        real(self, name, table)
        if name == "orders":
            calls["n"] += 1
            self.cur.execute(
                "SELECT name FROM sqlite_master WHERE tbl_name = 'orders' AND type = 'index' "
                "AND sql IS NOT NULL" if self.dialect == "sqlite" else
                "SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
            calls["indexes during the load"] = len(self.cur.fetchall())
            # the rows are in, the indexes dropped and not built yet
            raise RuntimeError("disk full")

    monkeypatch.setattr(store_module.StoreWrite, "append_table", failing)
    many = "order_id,customer_id,ordered_at,amount\n" + "".join(
        f"O{i},C{i % 7},2024-01-05,{i}\n" for i in range(1, 51))
    with pytest.raises(RuntimeError, match="disk full"):
        regulars.import_file("orders", _write(tmp_path, many), settings=settings)
    assert calls == {"n": 1, "indexes during the load": 0}
    assert store.counts()["orders"] == 0 and store.counts()["customers"] == 0
    assert _indexes(settings.database_url, "orders") == before
    monkeypatch.undo()
    # and the store takes the file afterwards
    report = regulars.import_file("orders", _write(tmp_path, many), settings=settings)
    assert report.rows_added == 50
    assert _indexes(settings.database_url, "orders") == before


def test_one_bad_row_rejects_the_file_and_an_empty_store_keeps_its_indexes(tmp_path, settings):
    store = open_store(settings)
    store.ensure_schema()
    before = _indexes(settings.database_url, "orders")
    with pytest.raises(RejectedFileError):
        regulars.import_file("orders", _write(tmp_path, ORDERS + "O9,C1,yesterday,5,web,\n"),
                             settings=settings)
    assert store.counts()["orders"] == 0
    assert _indexes(settings.database_url, "orders") == before


# -- staging: row numbers and fingerprints, no store -------------------------------------------


def _checked(path: Path, *, fingerprint: bool) -> Staging:
    st = Staging()
    spec = SPECS[Kind.ORDERS]
    cols = st.read(path, ReadOptions())
    st.resolve_columns(spec, cols, ReadOptions())
    st.check(spec, ReadOptions(), max_problems=20, fingerprint=fingerprint)
    return st


def test_rows_of_a_delimited_file_are_numbered_in_file_order(tmp_path):
    lines = [f"O{i:05d},C{i % 13},2024-01-05,{i}" for i in range(1, 3001)]
    path = _write(tmp_path, "order_id,customer_id,ordered_at,amount\n" + "\n".join(lines))
    with _checked(path, fingerprint=False) as st:
        rows = st.query("SELECT _row, _line, order_id FROM typed ORDER BY _row").to_pylist()
    assert [r["_row"] for r in rows] == list(range(1, 3001))
    # the header is line 1
    assert all(r["_line"] == r["_row"] + 1 for r in rows)
    assert all(r["order_id"] == f"O{r['_row']:05d}" for r in rows)


def test_a_file_with_its_own_rowid_column_is_numbered_all_the_same(tmp_path):
    path = _write(tmp_path, "rowid,order_id,customer_id,ordered_at,amount\n"
                            "77,O1,C1,2024-01-05,1\n55,O2,C1,2024-01-06,2\n")
    with _checked(path, fingerprint=False) as st:
        rows = st.query("SELECT _row, order_id FROM typed ORDER BY _row").to_pylist()
    assert rows == [{"_row": 1, "order_id": "O1"}, {"_row": 2, "order_id": "O2"}]


def test_a_problem_names_the_file_line_of_its_row(tmp_path):
    path = _write(tmp_path, "order_id,customer_id,ordered_at,amount\n"
                            "O1,C1,2024-01-05,1\nO2,C1,2024-01-06,lots\n")
    with _checked(path, fingerprint=False) as st:
        problems, total = st.problem_list(5)
    assert total == 1 and (problems[0].row, problems[0].line) == (2, 3)


def test_the_fingerprint_computed_while_typing_is_the_separate_statements(tmp_path):
    path = _write(tmp_path, ORDERS)
    spec = SPECS[Kind.ORDERS]
    with _checked(path, fingerprint=True) as fast, _checked(path, fingerprint=False) as slow:
        slow.add_identity(spec, True)
        fast.add_identity(spec, True)  # keeps the fingerprint it has
        sql = "SELECT order_id, row_hash FROM typed ORDER BY _row"
        hashes = fast.query(sql).to_pylist()
        assert hashes == slow.query(sql).to_pylist()
    assert len({h["row_hash"] for h in hashes}) == 3
