"""Hand-made Russian and Estonian exports, imported through the Python API without chores.

One test per defect a new user met (issue 14), named after it. Each runs on SQLite and (when
REGULARS_TEST_POSTGRES_URL is set) on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

import regulars
from regulars import Kind, RejectedFileError
from regulars.bootstrap import open_store

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def settings(database_url: str) -> regulars.Settings:
    return regulars.load_settings(database_url=database_url, currency="EUR",
                                  import_={"default_phone_country": "7"})


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(settings: regulars.Settings, kind: Kind, *cols: str) -> list[tuple[object, ...]]:
    table = open_store(settings).read_table(kind).to_pylist()
    # SQLite gives amounts as floats, PostgreSQL (through ADBC) as numeric text
    out = [tuple(round(float(r[c]), 2) if c == "amount" and r[c] is not None else r[c]
                 for c in cols) for r in table]
    return sorted(out, key=lambda r: [str(x) for x in r])


def test_cp1251_without_encoding_is_detected_or_hinted(tmp_path, settings):
    report = regulars.import_file("customers", DATA / "1c_customers_cp1251.csv",
                                  settings=settings)
    assert any("cp1251" in n for n in report.reading)
    assert rows(settings, Kind.CUSTOMERS, "customer_id", "name")[0] == (
        "К-001", "Иванов Иван Иванович")
    # bytes no code page explains (neither Cyrillic nor Estonian letters): the flag is named
    odd = tmp_path / "orders.csv"
    odd.write_bytes(b"order_id,customer_id,ordered_at,amount\n1,\x81\x8d\x8f\x90,2025-01-01,1\n")
    with pytest.raises(regulars.FileFormatError, match="--encoding cp1251"):
        regulars.import_file("orders", odd, settings=settings)


def test_semicolon_file_needs_no_delimiter(tmp_path, settings):
    f = write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\n1;A;2025-01-02;46 476,66\n")
    regulars.import_file("orders", f, settings=settings)
    assert rows(settings, Kind.ORDERS, "order_id", "amount") == [("1", 46476.66)]


def test_headers_recognised_and_mapping_reported(tmp_path, settings):
    f = write(tmp_path / "o.csv", "Order date,Customer ID,Invoice no.,Total\n"
                                  "2025-01-02,C1,I-1,10.00\n")
    with pytest.raises(regulars.MissingColumnError):  # Invoice no. is no order number
        regulars.import_file("invoices", f, settings=settings)
    report = regulars.import_file("orders", f, settings=settings)
    assert report.columns == {"customer_id": "Customer ID", "ordered_at": "Order date",
                              "amount": "Total"}
    assert report.ignored_columns == ["Invoice no."]


def test_two_columns_matching_one_of_ours_is_an_error_naming_both(tmp_path, settings):
    f = write(tmp_path / "o.csv", "Клиент;Покупатель;Дата;Сумма\nA;B;2025-01-02;1\n")
    with pytest.raises(regulars.FileFormatError, match="'Клиент', 'Покупатель'"):
        regulars.import_file("orders", f, settings=settings)
    # --map wins over the headers
    opts = regulars.ReadOptions(mapping={"customer_id": "Покупатель"})
    regulars.import_file("orders", f, settings=settings, options=opts)
    assert rows(settings, Kind.ORDERS, "customer_id") == [("B",)]


def test_amount_with_rouble_sign_and_nbsp(tmp_path, settings):
    f = write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\n"
                                  "1;A;2025-01-02;1\u00a0200,00 ₽\n"
                                  "2;A;2025-01-03;46\u202f476,66 руб.\n"
                                  "3;A;2025-01-04;15 р.\n")
    regulars.import_file("orders", f, settings=settings)
    assert rows(settings, Kind.ORDERS, "order_id", "amount", "currency") == [
        ("1", 1200.0, "RUB"), ("2", 46476.66, "RUB"), ("3", 15.0, "RUB")]


def test_euro_amounts_with_dot_thousands_and_decimal_comma(tmp_path, settings):
    f = write(tmp_path / "o.csv", "Arve nr;Klient;Kuupäev;Summa\n"
                                  "1;A;02.01.2025;1.234,56 €\n2;A;03.01.2025;EUR 99,90\n")
    regulars.import_file("orders", f, settings=settings)
    assert rows(settings, Kind.ORDERS, "order_id", "amount", "currency") == [
        ("1", 1234.56, "EUR"), ("2", 99.9, "EUR")]


def test_ambiguous_thousands_comma_is_refused_not_misread(tmp_path, settings):
    f = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount\n"
                                  '1,A,2025-01-02,"1,234"\n')
    with pytest.raises(regulars.FileFormatError, match="--decimal-comma or --decimal-point"):
        regulars.import_file("orders", f, settings=settings)
    regulars.import_file("orders", f, settings=settings,
                         options=regulars.ReadOptions(decimal_comma=False))
    assert rows(settings, Kind.ORDERS, "amount") == [(1234.0,)]


def test_mixed_date_and_datetime_column(tmp_path, settings):
    f = write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\n1;A;04.03.2025;1\n"
                                  "2;A;04.03.2025 13:45;1\n3;A;31.12.2025 08:05:09;1\n")
    regulars.import_file("orders", f, settings=settings)
    assert rows(settings, Kind.ORDERS, "order_id", "ordered_at") == [
        ("1", datetime(2025, 3, 4)), ("2", datetime(2025, 3, 4, 13, 45)),
        ("3", datetime(2025, 12, 31, 8, 5, 9))]


def test_month_first_dates_only_when_a_day_above_12_says_so(tmp_path, settings):
    f = write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount\n"
                                  "1,A,03/04/2025,1\n2,A,12/31/2025,1\n")
    regulars.import_file("orders", f, settings=settings)
    assert rows(settings, Kind.ORDERS, "ordered_at") == [
        (datetime(2025, 3, 4),), (datetime(2025, 12, 31),)]
    g = write(tmp_path / "p.csv", "order_id,customer_id,ordered_at,amount\n9,A,03/04/2025,1\n")
    with pytest.raises(regulars.FileFormatError, match=r"03/04/2025.*--date-format"):
        regulars.import_file("orders", g, settings=settings)


def test_ten_digit_russian_phone_merges_with_plus7(tmp_path, settings):
    f = write(tmp_path / "c.csv", "Код клиента;Клиент;Телефон\nК-1;Анна;+7 912 345-67-89\n"
                                  "К-2;Анна П.;9123456789\n")
    report = regulars.import_file("customers", f, settings=settings)
    [m] = report.merges
    assert (m.alias_id, m.customer_id, m.matched_value) == ("К-2", "К-1", "79123456789")


def test_credit_note_rejected_by_default_with_a_hint(settings):
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("orders", DATA / "1c_orders_cp1251.csv", settings=settings)
    [p] = e.value.problems
    assert p.row == 4 and "credit note" in p.message and "--credit-notes returns" in p.message


def test_credit_note_routed_to_returns(tmp_path, settings):
    opts = regulars.ReadOptions(credit_notes="returns")
    report = regulars.import_file("orders", DATA / "1c_orders_cp1251.csv", settings=settings,
                                  options=opts)
    assert (report.rows_added, report.credit_notes, report.credit_note_rules) == (
        3, 1, {"base": 1})
    assert rows(settings, Kind.RETURNS, "return_id", "order_id", "amount", "reason") == [
        ("ВЗ-0001", "ЗК-0001", 6476.66, "credit note")]
    # without a base document: the customer's latest earlier order with enough left
    f = write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\nN1;К-002;01.02.2026;-50,00\n"
                                  "N2;К-002;02.02.2026;-5 000,00\n")
    with pytest.raises(RejectedFileError) as e:  # 1 200 was all K-002 ever bought
        regulars.import_file("orders", f, settings=settings, options=opts)
    [p] = e.value.problems
    assert p.row == 2 and "no earlier order" in p.message
    f.write_text("Номер;Клиент;Дата;Сумма\nN1;К-002;01.02.2026;-50,00\n", encoding="utf-8")
    report = regulars.import_file("orders", f, settings=settings, options=opts)
    assert report.credit_note_rules == {"latest": 1}
    assert ("N1", "ЗК-0002", 50.0) in rows(settings, Kind.RETURNS, "return_id", "order_id",
                                           "amount")


def test_credit_note_never_overdraws_its_base_order(tmp_path, settings):
    regulars.import_file("orders", write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\n"
                                         "Z1;A;01.01.2025;100,00\n"), settings=settings)
    f = write(tmp_path / "c.csv", "Номер;Клиент;Дата;Сумма;Основание\n"
                                  "V1;A;02.01.2025;-150,00;Z1\n")
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("orders", f, settings=settings,
                             options=regulars.ReadOptions(credit_notes="returns"))
    assert "larger than what is left of order Z1" in e.value.problems[0].message


def test_credit_notes_refused_take_the_files_orders_back_with_them(tmp_path, settings):
    """The credit notes' returns were written in a second transaction after the orders: two
    credit notes of 80 that each fit order Z1 (100) but not together were refused, and the
    file's new order Y1 stayed written. One file is one transaction: now nothing of it is."""
    regulars.import_file("orders", write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\n"
                                         "Z1;A;01.01.2025;100,00\n"), settings=settings)
    f = write(tmp_path / "c.csv", "Номер;Клиент;Дата;Сумма\nY1;A;05.01.2025;30,00\n"
                                  "V1;A;03.01.2025;-80,00\nV2;A;04.01.2025;-80,00\n")
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("orders", f, settings=settings,
                             options=regulars.ReadOptions(credit_notes="returns"))
    assert "left" in e.value.problems[0].message
    assert rows(settings, Kind.ORDERS, "order_id") == [("Z1",)]
    assert rows(settings, Kind.RETURNS, "return_id") == []
    # one credit note of 80 fits: the order and the return go in together
    f.write_text("Номер;Клиент;Дата;Сумма\nY1;A;05.01.2025;30,00\nV1;A;03.01.2025;-80,00\n",
                 encoding="utf-8")
    report = regulars.import_file("orders", f, settings=settings,
                                  options=regulars.ReadOptions(credit_notes="returns"))
    assert report.returns is not None and report.returns.rows_added == 1
    assert rows(settings, Kind.ORDERS, "order_id") == [("Y1",), ("Z1",)]
    assert rows(settings, Kind.RETURNS, "return_id", "order_id") == [("V1", "Z1")]


def test_quarantine_sets_aside_bad_rows(tmp_path, settings):
    f = write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\n1;A;04.03.2025;10,00\n"
                                  "2;A;32.13.2025;5,00\n3;;05.03.2025;7,00\n4;B;06.03.2025;1,50\n")
    bad = tmp_path / "bad.csv"
    report = regulars.import_file("orders", f, settings=settings, quarantine=bad)
    assert (report.rows_added, report.rows_set_aside, report.set_aside_path) == (2, 2, str(bad))
    assert rows(settings, Kind.ORDERS, "order_id") == [("1",), ("4",)]
    lines = bad.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == '"Номер";"Клиент";"Дата";"Сумма";"row";"line";"column";"reason"'
    assert lines[1].startswith('"2";"A";"32.13.2025";"5,00";2;3;"Дата (ordered_at)";'
                               '"unparseable date')
    assert lines[2].startswith('"3";;"05.03.2025";"7,00";3;4;"Клиент (customer_id)"')
    # the default stays all or nothing
    with pytest.raises(RejectedFileError):
        regulars.import_file("orders", f, settings=settings)


def test_profile_saved_in_the_store_and_used_next_month(tmp_path, settings):
    f = write(tmp_path / "jan.csv", "Дата;Код;Итог\n03/04/2025;A;1,5\n13/04/2025;A;2,5\n",
              "cp1251")
    opts = regulars.ReadOptions(mapping={"customer_id": "Код", "amount": "Итог"})
    regulars.import_file("orders", f, settings=settings, options=opts, save_profile="shop")
    saved = regulars.import_profile("shop", settings)
    assert saved is not None and saved["kind"] == "orders"
    assert saved["options"]["mapping"] == {"customer_id": "Код", "amount": "Итог",
                                           "ordered_at": "Дата"}
    assert saved["options"]["date_format"] == "%d/%m/%Y"
    assert saved["options"]["decimal_comma"] is True
    # February's days are all 12 or less: only the profile knows they are day first
    g = write(tmp_path / "feb.csv", "Дата;Код;Итог\n03/02/2025;A;1,5\n", "cp1251")
    regulars.import_file("orders", g, settings=settings, profile="shop")
    assert (datetime(2025, 2, 3),) in rows(settings, Kind.ORDERS, "ordered_at")
    assert [p["name"] for p in regulars.import_profiles(settings)] == ["shop"]
    with pytest.raises(regulars.InputError, match="is for orders files"):
        regulars.import_file("customers", g, settings=settings, profile="shop")
    assert regulars.delete_import_profile("shop", settings)
    assert regulars.import_profile("shop", settings) is None


def test_credit_invoice_returns_the_order_it_names(tmp_path, settings):
    regulars.import_file("orders", write(tmp_path / "o.csv", "Номер;Клиент;Дата;Сумма\n"
                                         "Z1;A;01.01.2025;100,00\nZ2;A;05.01.2025;80,00\n"),
                         settings=settings)
    f = write(tmp_path / "i.csv", "Номер счета;Клиент;Срок оплаты;Сумма;Заказ\n"
                                  "I1;A;10.01.2025;100,00;Z1\nI2;A;12.01.2025;-30,00;Z1\n"
                                  "I3;A;12.01.2025;-20,00;\n")
    report = regulars.import_file("invoices", f, settings=settings,
                                  options=regulars.ReadOptions(credit_notes="returns"))
    assert report.credit_note_rules == {"base": 1, "latest": 1}
    assert rows(settings, Kind.RETURNS, "return_id", "order_id", "amount") == [
        ("I2", "Z1", 30.0), ("I3", "Z2", 20.0)]
