"""Real hand-made exports through the installed command, as a new user runs it: no flags the
first time but the one a credit note needs, only --profile the month after; the stored rows
are exactly the hand-computed ones."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

DATA = Path(__file__).parent.parent / "data"
TOML = 'currency = "USD"\n[import]\ndefault_phone_country = "{country}"\n'


def dump(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return [tuple(round(v, 2) if isinstance(v, float) else v for v in r)
                for r in conn.execute(sql).fetchall()]


def shop(tmp_path: Path, country: str, *files: str) -> Path:
    (tmp_path / "regulars.toml").write_text(TOML.format(country=country))
    for f in files:
        shutil.copy(DATA / f, tmp_path / f)
    return tmp_path / "regulars.db"


def test_1c_export_in_cp1251_imports_without_chores(regulars, tmp_path):
    db = shop(tmp_path, "7", "1c_customers_cp1251.csv", "1c_orders_cp1251.csv",
              "1c_orders_utf8_bom.csv")
    first = regulars(tmp_path, "import", "customers", "1c_customers_cp1251.csv")
    assert first.returncode == 0, first.stderr
    assert "encoding cp1251" in first.stdout and "Код клиента → customer_id" in first.stdout
    assert "merged К-003 into К-001 (same phone: 79123456789)" in first.stdout
    # a credit note rejects the file, saying what it is and what to do
    plain = regulars(tmp_path, "import", "orders", "1c_orders_cp1251.csv")
    assert plain.returncode == 1
    assert "looks like a credit note" in plain.stderr
    assert "--credit-notes returns" in plain.stderr
    routed = regulars(tmp_path, "import", "orders", "1c_orders_cp1251.csv",
                      "--credit-notes", "returns", "--save-profile", "1c")
    assert routed.returncode == 0, routed.stderr
    assert "Дата → ordered_at" in routed.stdout and "Сумма → amount" in routed.stdout
    assert "1 by their base document" in routed.stdout
    assert dump(db, "SELECT customer_id, name, phone_norm, manager FROM customers "
                    "ORDER BY 1") == [
        ("К-001", "Иванов Иван Иванович", "79123456789", "Петрова"),
        ("К-002", "ООО «Ромашка»", "74951234567", "Петрова"),
    ]
    orders = ("SELECT order_id, customer_id, ordered_at, amount, currency, discount_amount "
              "FROM orders ORDER BY 1")
    expected = [
        ("ЗК-0001", "К-001", "2025-03-04 00:00:00.000000", 46476.66, "RUB", 0.0),
        ("ЗК-0002", "К-002", "2025-03-04 13:45:00.000000", 1200.0, "RUB", 100.0),
        ("ЗК-0003", "К-001", "2025-12-31 00:00:00.000000", 12500.5, "RUB", None),
    ]
    returns = "SELECT return_id, order_id, returned_at, amount, reason FROM returns"
    credit = [("ВЗ-0001", "ЗК-0001", "2026-01-15 00:00:00.000000", 6476.66, "credit note")]
    assert dump(db, orders) == expected
    assert dump(db, returns) == credit
    # next month the same export comes saved again as UTF-8 with a BOM: --profile only
    again = regulars(tmp_path, "import", "orders", "1c_orders_utf8_bom.csv", "--profile", "1c")
    assert again.returncode == 0, again.stderr
    assert "3 already in the store" in again.stdout
    assert dump(db, orders) == expected and dump(db, returns) == credit
    listed = regulars(tmp_path, "profiles", "list")
    assert "1c" in listed.stdout and "orders" in listed.stdout


def test_estonian_export_in_cp1257_imports_without_flags(regulars, tmp_path):
    db = shop(tmp_path, "372", "et_orders_cp1257.csv")
    done = regulars(tmp_path, "import", "orders", "et_orders_cp1257.csv")
    assert done.returncode == 0, done.stderr
    assert "encoding cp1257" in done.stdout and "Kuupäev → ordered_at" in done.stdout
    assert dump(db, "SELECT order_id, customer_id, ordered_at, amount, currency FROM orders "
                    "ORDER BY 1") == [
        ("A-101", "Jüri Õunapuu", "2025-01-02 00:00:00.000000", 1234.5, "EUR"),
        ("A-102", "Mari Šõkk", "2025-01-15 09:30:00.000000", 99.9, "EUR"),
        ("A-103", "Žanna Pärn", "2025-01-31 00:00:00.000000", 2345.0, "EUR"),
        ("A-104", "Jüri Õunapuu", "2025-02-03 00:00:00.000000", 15.0, "EUR"),
    ]
    assert dump(db, "SELECT customer_id FROM customers ORDER BY 1") == [
        ("Jüri Õunapuu",), ("Mari Šõkk",), ("Žanna Pärn",)]


def test_quarantine_through_the_command(regulars, tmp_path):
    db = shop(tmp_path, "372")
    (tmp_path / "orders.csv").write_text(
        "Kuupäev;Klient;Summa\n02.01.2025;A;10,00\n40.01.2025;B;5,00\n", encoding="utf-8")
    done = regulars(tmp_path, "import", "orders", "orders.csv", "--quarantine", "bad.csv")
    assert done.returncode == 0, done.stderr
    assert "1 row set aside in bad.csv" in done.stdout
    assert dump(db, "SELECT customer_id FROM orders") == [("A",)]
    assert "40.01.2025" in (tmp_path / "bad.csv").read_text(encoding="utf-8-sig")
