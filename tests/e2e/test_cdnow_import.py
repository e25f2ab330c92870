"""A real public export in its own format, imported through the CLI as a user would."""

from __future__ import annotations

import shutil
import sqlite3

CDNOW_ARGS = (
    "--map",
    "ordered_at=date",
    "--map",
    "amount=dollar_value",
    "--date-format",
    "%Y%m%d",
    "--currency",
    "USD",
)


def test_cdnow_imported_twice_with_map_and_date_format_gives_the_same_store(
    regulars, tmp_path, cdnow_master
):
    shutil.copy(cdnow_master, tmp_path / "CDNOW_master.txt")
    first = regulars(tmp_path, "import", "orders", "CDNOW_master.txt", *CDNOW_ARGS)
    assert first.returncode == 0, first.stderr
    # 69,659 purchase lines; identical lines on one day stay separate orders
    assert "69,659 rows read, added 69,659" in first.stdout
    assert "23,570 customers created from orders" in first.stdout
    assert "ignored columns: number_of_cds" in first.stdout
    db = tmp_path / "regulars.db"
    with sqlite3.connect(db) as conn:
        before = conn.execute(
            "SELECT order_id, customer_id, ordered_at, amount FROM orders ORDER BY order_id"
        ).fetchall()
    second = regulars(tmp_path, "import", "orders", "CDNOW_master.txt", *CDNOW_ARGS)
    assert second.returncode == 0, second.stderr
    assert "added 0, 69,659 already in the store" in second.stdout
    with sqlite3.connect(db) as conn:
        after = conn.execute(
            "SELECT order_id, customer_id, ordered_at, amount FROM orders ORDER BY order_id"
        ).fetchall()
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (23570,)
    assert after == before
    assert before[0][2].startswith("1997-") and len(before) == 69659
