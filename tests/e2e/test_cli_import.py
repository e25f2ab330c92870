"""The import and analyze commands as a user runs them: the installed console script, in a working
directory."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

CDNOW_LIKE = (
    "   00001 19970101  1   11.77\n"
    "00002 19970112  2   \t89.00\n"
    "00001 19970101  1   11.77\n"
    "00003 19970102  5   57.77\n"
)


def dump(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM orders ORDER BY order_id").fetchall()


CDNOW_ARGS = (
    "--map",
    "customer_id=column1",
    "--map",
    "ordered_at=column2",
    "--map",
    "quantity=column3",
    "--map",
    "amount=column4",
    "--date-format",
    "%Y%m%d",
    "--currency",
    "USD",
)


def test_a_foreign_export_imported_twice_gives_the_same_store(regulars, tmp_path):
    (tmp_path / "CDNOW_sample.txt").write_text(CDNOW_LIKE)
    first = regulars(tmp_path, "import", "orders", "CDNOW_sample.txt", *CDNOW_ARGS)
    assert first.returncode == 0, first.stderr
    assert "added 4" in first.stdout
    before = dump(tmp_path / "regulars.db")
    second = regulars(tmp_path, "import", "orders", "CDNOW_sample.txt", *CDNOW_ARGS)
    assert second.returncode == 0, second.stderr
    assert "added 0" in second.stdout and "4 already in the store" in second.stdout
    assert dump(tmp_path / "regulars.db") == before


def test_a_rejected_file_exits_non_zero_names_row_and_column_and_writes_nothing(regulars, tmp_path):
    (tmp_path / "bad.csv").write_text(
        "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-05,10\nO2,C1,05/01/2024,10\n"
    )
    result = regulars(tmp_path, "import", "orders", "bad.csv")
    assert result.returncode == 1
    assert "row 2 (line 3), column ordered_at: '05/01/2024' unparseable date" in result.stderr
    assert "nothing was written" in result.stderr
    if (tmp_path / "regulars.db").exists():
        assert dump(tmp_path / "regulars.db") == []


def test_a_directory_is_imported_customers_first(regulars, tmp_path):
    shop = tmp_path / "export"
    shop.mkdir()
    (shop / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\n"
                                     "O1,C1,2024-01-05,10\nO2,C2,2024-01-06,12\n")
    (shop / "customers.csv").write_text("customer_id,name\nC1,Anna\nC2,Jaan\n")
    (shop / "returns.csv").write_text("return_id,order_id,returned_at,amount\n"
                                      "R1,O1,2024-01-09,4\n")
    (shop / "notes.txt").write_text("not a table\n")
    result = regulars(tmp_path, "import", "export", "--strict-customers")
    assert result.returncode == 0, result.stderr
    heads = [line.split(":")[0] for line in result.stdout.splitlines()
             if line.startswith(("customers:", "orders:", "returns:"))]
    # customers first: with --strict-customers the orders need their customers in the store
    assert heads == ["customers", "customers", "orders", "orders", "returns", "returns"]
    assert len(dump(tmp_path / "regulars.db")) == 2


def test_named_files_go_in_order_and_a_rejected_one_stops_those_after_it(regulars, tmp_path):
    (tmp_path / "customers.csv").write_text("customer_id,name\nC1,Anna\n")
    (tmp_path / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\n"
                                         "O1,C1,2024-01-05,ten\n")
    (tmp_path / "returns.csv").write_text("return_id,order_id,returned_at,amount\n"
                                          "R1,O1,2024-01-09,4\n")
    result = regulars(tmp_path, "import", "returns.csv", "orders.csv", "customers=customers.csv")
    assert result.returncode == 1
    assert "added 1" in result.stdout  # the customer
    assert "row 1 (line 2), column amount: 'ten' not a number" in result.stderr
    assert "not imported after it: returns.csv" in result.stderr
    assert dump(tmp_path / "regulars.db") == []


def test_dry_run_reports_what_would_be_added(regulars, tmp_path):
    (tmp_path / "o.csv").write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-05,1\n")
    result = regulars(tmp_path, "import", "orders", "o.csv", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run, nothing written" in result.stdout and "would add 1" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "orders", "missing.csv"), "no such file"),
        (("import", "orders", "o.csv", "--map", "ordered_at"), "OUR_COLUMN=FILE_COLUMN"),
        (("import", "orders", "o.csv", "--map", "colour=date"), "colour"),
        (("import", "widgets", "o.csv"), "widgets"),
        (("import", "o.csv"), "say which table it is, e.g. orders=o.csv"),
        (("import", "orders.csv", "customers.csv", "--date-format", "%d.%m.%Y"),
         "--date-format describe one file"),
        # analyze checks its options before the (possibly long) analysis, and writes nothing
        (("analyze", "o.csv", "--period", "2024-01-01..2023-01-01"), "starts"),
        (("analyze", "o.csv", "--flow-from", "2024-02-30"), "--flow-from"),
        (("analyze", "o.csv", "--out", "map.xlsx"), "one of: .parquet, .csv"),
        (("analyze", "o.csv", "--out", "no-such-dir/map.csv"), "does not exist"),
        (("analyze", "o.csv", "--report", "no-such-dir/r.html"), "does not exist"),
    ],
)
def test_usage_errors_exit_with_2_and_say_what_is_wrong(regulars, tmp_path, args, message):
    (tmp_path / "o.csv").write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-05,1\n")
    result = regulars(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "customer map as of" not in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv"]


def test_a_bad_setting_in_regulars_toml_is_named(regulars, tmp_path):
    (tmp_path / "regulars.toml").write_text("[analysis]\nregular_min_order = 4\n")
    (tmp_path / "o.csv").write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-05,1\n")
    result = regulars(tmp_path, "import", "orders", "o.csv")
    assert result.returncode == 2
    assert "regular_min_order" in result.stderr and "regulars.toml" in result.stderr


def test_analyze_writes_a_csv_a_spreadsheet_can_read(regulars, tmp_path):
    # CSV has no lists: codes are joined with "; ", the evidence sentences with a space
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n"
        "1,a,2024-01-05,10\n2,a,2024-02-05,12\n3,b,2024-03-01,5\n4,a,2024-03-07,11\n",
        encoding="utf-8",
    )
    result = regulars(tmp_path, "analyze", "orders.csv", "--as-of", "2024-04-01",
                      "--out", "map.csv")
    assert result.returncode == 0, result.stderr
    with (tmp_path / "map.csv").open(encoding="utf-8", newline="") as f:
        rows = {r["customer_id"]: r for r in csv.DictReader(f)}
    assert rows["a"]["rung"] == "regular" and rows["a"]["traits"] == "golden"
    assert rows["b"]["evidence_text"] == (
        "Newcomer: one order so far. Active: last order 32 days ago; the usual gap of the "
        "whole base is 31 days (too few orders for a rhythm of their own). "
        # too little history to learn from (no date 180 days before as-of): one order of 5
        # if the relationship continued, and the active status gives 10 % that it does not;
        # amounts in the configured currency the import gave the orders (EUR)
        "Money at stake over 180 days: €0.50 of the €5.00 their rhythm promises (about 1.0 "
        "orders of €5.00). Too little history to learn from: the status gives 10% chance "
        "that they do not continue.")
    assert ".;" not in (tmp_path / "map.csv").read_text(encoding="utf-8")


def _shop_with_cards(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\n"
        "1,a,2024-01-05,10\n2,a,2024-02-05,12\n3,b,2024-03-01,5\n4,a,2024-03-07,11\n"
        "5,-7,2024-03-08,4\n",
        encoding="utf-8",
    )
    with (tmp_path / "customers.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "name", "manager", "email", "phone"])
        w.writerow(["a", '=HYPERLINK("http://evil.example","click")', "@boss", "",
                    "+372 5123 4567"])
        w.writerow(["b", "Jüri Õun", "Сергей Иванов", "juri@example.ee", ""])
        w.writerow(["-7", "-Minus", "", "", ""])


def test_out_csv_escapes_formula_cells_and_carries_names_and_contacts(
        regulars, tmp_path):
    _shop_with_cards(tmp_path)
    result = regulars(tmp_path, "analyze", "orders.csv", "customers.csv", "--as-of",
                      "2024-04-01", "--out", "map.csv")
    assert result.returncode == 0, result.stderr
    raw = (tmp_path / "map.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no byte-order mark unless asked
    with (tmp_path / "map.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = {r[0]: dict(zip(header, r, strict=True)) for r in reader}
    assert header[:6] == ["customer_id", "name", "manager", "email", "phone", "orders"]
    # a formula, a mention and a phone number that a spreadsheet would run become text
    assert rows["a"]["name"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert rows["a"]["manager"] == "'@boss"
    assert rows["a"]["phone"] == "'+372 5123 4567"
    assert rows["b"]["name"] == "Jüri Õun" and rows["b"]["manager"] == "Сергей Иванов"
    assert rows["b"]["email"] == "juri@example.ee" and rows["b"]["phone"] == ""
    # an id that is a number written as text stays as it is; a name starting with - does not
    assert rows["-7"]["name"] == "'-Minus"
    # numbers are numbers; lists are text (codes with "; ", sentences with a space)
    assert rows["a"]["orders"] == "3" and rows["a"]["revenue"] == "33"
    assert rows["a"]["rung"] == "regular" and rows["a"]["traits"] == "golden"
    assert rows["b"]["evidence_text"].startswith("Newcomer: one order so far. Active: ")


def test_analyze_excel_writes_a_byte_order_mark_and_needs_a_csv(regulars, tmp_path):
    _shop_with_cards(tmp_path)
    result = regulars(tmp_path, "analyze", "orders.csv", "customers.csv", "--as-of",
                      "2024-04-01", "--out", "map.csv", "--excel")
    assert result.returncode == 0, result.stderr
    raw = (tmp_path / "map.csv").read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"customer_id","name","manager","email","phone",')
    assert "Jüri Õun".encode() in raw
    for args in (("--out", "map.parquet", "--excel"), ("--excel",)):
        refused = regulars(tmp_path, "analyze", "orders.csv", *args)
        assert refused.returncode == 2
        assert "--excel" in refused.stderr and ".csv" in refused.stderr
    assert not (tmp_path / "map.parquet").exists()
