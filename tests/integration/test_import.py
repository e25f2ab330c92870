"""Importing files into the store: formats, mapping, idempotency, rejection, merges.

Each test runs on SQLite and (when REGULARS_TEST_POSTGRES_URL is set) on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import regulars
from regulars import Kind, RejectedFileError
from regulars.bootstrap import open_store


@pytest.fixture
def settings(database_url: str) -> regulars.Settings:
    return regulars.load_settings(database_url=database_url)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def table(settings: regulars.Settings, kind: Kind) -> list[dict[str, object]]:
    rows = open_store(settings).read_table(kind).to_pylist()
    return sorted(rows, key=lambda r: str(r[regulars.SPECS[kind].id_column]))


ORDERS = """order_id,customer_id,ordered_at,amount,channel,addons
O1,C1,2024-01-05,10.50,web,gift wrap;delivery
O2,C1,2024-02-05 10:00,20,shop,
O3,C2,2024-03-01,5,web,
"""


def test_importing_the_same_file_twice_leaves_the_store_unchanged(tmp_path, settings):
    f = write(tmp_path / "orders.csv", ORDERS)
    first = regulars.import_file("orders", f, settings=settings)
    before = table(settings, Kind.ORDERS)
    second = regulars.import_file("orders", f, settings=settings)
    assert (first.rows_added, second.rows_added, second.rows_already_present) == (3, 0, 3)
    assert table(settings, Kind.ORDERS) == before
    assert open_store(settings).counts()["customers"] == 2


def test_orders_keep_their_values_and_types(tmp_path, settings):
    regulars.import_file("orders", write(tmp_path / "orders.csv", ORDERS), settings=settings)
    o1 = table(settings, Kind.ORDERS)[0]
    assert o1["order_id"] == "O1" and o1["customer_id"] == "C1"
    assert str(o1["ordered_at"]) == "2024-01-05 00:00:00"
    assert float(o1["amount"]) == 10.5  # type: ignore[arg-type]
    assert o1["currency"] == "EUR"  # the configured default
    assert o1["addons"] == "gift wrap;delivery"


CDNOW_LIKE = (
    "   00001 19970101  1   11.77\n"
    "00002 19970112  2   \t89.00\n"
    "00001 19970101  1   11.77\n"
    "00003 19970102  5   57.77\n"
)
CDNOW_MAP = {"customer_id": "column1", "ordered_at": "column2", "amount": "column4"}


def test_a_foreign_whitespace_export_without_order_ids_imports_twice_to_the_same_store(
    tmp_path, settings
):
    f = write(tmp_path / "CDNOW_sample.txt", CDNOW_LIKE)
    opts = regulars.ReadOptions(mapping=CDNOW_MAP, date_format="%Y%m%d")
    first = regulars.import_file("orders", f, settings=settings, options=opts)
    ids = [r["order_id"] for r in table(settings, Kind.ORDERS)]
    second = regulars.import_file("orders", f, settings=settings, options=opts)
    # two identical purchases on one day are two orders, not one duplicate
    assert first.rows_added == 4 and second.rows_added == 0
    assert [r["order_id"] for r in table(settings, Kind.ORDERS)] == ids
    assert first.ignored_columns == ["column3"]


def test_a_newer_overlapping_export_adds_only_what_is_new(tmp_path, settings):
    opts = regulars.ReadOptions(mapping=CDNOW_MAP, date_format="%Y%m%d")
    old = write(tmp_path / "old.txt", CDNOW_LIKE)
    new = write(tmp_path / "new.txt", CDNOW_LIKE + "00003 19970301  1   20.00\n")
    regulars.import_file("orders", old, settings=settings, options=opts)
    report = regulars.import_file("orders", new, settings=settings, options=opts)
    assert (report.rows_added, report.rows_already_present) == (1, 4)
    assert len(table(settings, Kind.ORDERS)) == 5


def test_an_id_already_stored_with_other_content_is_reported_not_overwritten(tmp_path, settings):
    regulars.import_file("orders", write(tmp_path / "a.csv", ORDERS), settings=settings)
    changed = write(
        tmp_path / "b.csv", ORDERS.replace("O2,C1,2024-02-05 10:00,20", "O2,C1,2024-02-05 10:00,25")
    )
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("orders", changed, settings=settings)
    [p] = e.value.problems
    assert (p.row, p.column, p.value) == (2, "order_id", "O2")
    assert "different content" in p.message
    assert [float(r["amount"]) for r in table(settings, Kind.ORDERS)] == [10.5, 20, 5]  # type: ignore[arg-type]


def test_planted_errors_reject_the_whole_file_naming_row_and_column(tmp_path, settings):
    bad = write(
        tmp_path / "bad.csv",
        "order_id,customer_id,ordered_at,amount\n"
        "O10,C1,2024-01-05,10.50\n"
        "O11,C1,2024-13-05,10.50\n"
        "O12,C1,2024-02-05,-3\n"
        "O13,,2024-02-05,4\n"
        "O14,C1,2024-02-05,abc\n"
        "O10,C1,2024-01-05,99\n",
    )
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("orders", bad, settings=settings)
    found = [(p.row, p.line, p.column, p.message.split(" (")[0]) for p in e.value.problems]
    assert found == [
        (2, 3, "ordered_at", "unparseable date"),
        (3, 4, "amount", "negative amount: this looks like a credit note"),  # see --credit-notes
        (4, 5, "customer_id", "missing value"),
        (5, 6, "amount", "not a number"),
        (6, 7, "order_id", "id appears again with different content"),
    ]
    assert e.value.total == 5
    assert "nothing was written" in str(e.value)
    assert open_store(settings).counts()["orders"] == 0


def test_a_duplicate_id_with_other_content_in_one_file_is_a_problem(tmp_path, settings):
    f = write(
        tmp_path / "dup.csv",
        "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-05,1\nO1,C1,2024-01-05,2\n",
    )
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("orders", f, settings=settings)
    [p] = e.value.problems
    assert (p.row, p.column) == (2, "order_id") and "first at row 1" in p.message


def test_exact_duplicate_rows_in_one_file_are_counted_once(tmp_path, settings):
    f = write(
        tmp_path / "dup.csv",
        "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-05,1\nO1,C1,2024-01-05,1\n",
    )
    report = regulars.import_file("orders", f, settings=settings)
    assert (report.rows_added, report.rows_duplicate_in_file) == (1, 1)


def test_the_problem_list_is_capped_but_the_total_counts_every_problem(tmp_path, database_url):
    settings = regulars.load_settings(database_url=database_url, import_={"max_errors": 3})
    rows = "".join(f"O{i},C1,not-a-date,1\n" for i in range(10))
    f = write(tmp_path / "bad.csv", "order_id,customer_id,ordered_at,amount\n" + rows)
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("orders", f, settings=settings)
    assert (len(e.value.problems), e.value.total) == (3, 10)
    assert "and 7 more" in str(e.value)


def test_a_missing_required_column_names_the_column_and_how_to_map_it(tmp_path, settings):
    # "client" is a recognised header for customer_id; "who" is not
    f = write(tmp_path / "o.csv", "id,who,date,total\n1,C1,2024-01-01,3\n")
    with pytest.raises(regulars.MissingColumnError) as e:
        regulars.import_file("orders", f, settings=settings)
    assert e.value.column == "customer_id" and "--map customer_id=" in str(e.value)


def test_a_return_for_an_unknown_order_is_rejected(tmp_path, settings):
    regulars.import_file("orders", write(tmp_path / "o.csv", ORDERS), settings=settings)
    f = write(
        tmp_path / "r.csv",
        "return_id,order_id,returned_at,amount\nR1,O1,2024-01-09,5\nR2,O99,2024-01-09,5\n",
    )
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("returns", f, settings=settings)
    [p] = e.value.problems
    assert (p.row, p.column, p.value, p.message) == (
        2,
        "order_id",
        "O99",
        "return for an unknown order",
    )
    assert open_store(settings).counts()["returns"] == 0


def test_feedback_for_an_unknown_customer_is_rejected(tmp_path, settings):
    regulars.import_file("orders", write(tmp_path / "o.csv", ORDERS), settings=settings)
    f = write(tmp_path / "f.csv", "customer_id,at,nps\nC1,2024-02-01,9\nC9,2024-02-01,11\n")
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("feedback", f, settings=settings)
    assert [(p.row, p.column, p.message) for p in e.value.problems] == [
        (2, "customer_id", "unknown customer"),
        (2, "nps", "must be between 0 and 10"),
    ]


def test_orders_of_unknown_customers_create_cards_that_a_customer_file_completes(
    tmp_path, settings
):
    regulars.import_file("orders", write(tmp_path / "o.csv", ORDERS), settings=settings)
    report = regulars.import_file(
        "customers",
        write(tmp_path / "c.csv", "customer_id,name,email\nC1,Anna,anna@example.com\n"),
        settings=settings,
    )
    assert report.customers_completed == 1
    c1 = table(settings, Kind.CUSTOMERS)[0]
    assert (c1["customer_id"], c1["name"]) == ("C1", "Anna")


def test_strict_customers_rejects_orders_of_unknown_customers(tmp_path, settings):
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file(
            "orders", write(tmp_path / "o.csv", ORDERS), settings=settings, strict_customers=True
        )
    assert {p.message for p in e.value.problems} == {"unknown customer"}


CUSTOMERS = """customer_id,name,email,phone,created_at
C1,Anna,Anna@Example.com,+372 5555 1234,2023-01-01
C2,Anna K,anna@example.com ,,2023-05-01
C3,Boris,boris@example.com,8 (912) 345-67-89,2023-02-01
C4,Boris B,,+7 912 345 6789,2023-03-01
C5,Vera,vera@example.com,,2023-01-01
"""


def test_duplicate_customers_are_merged_on_normalised_email_and_phone(tmp_path, settings):
    report = regulars.import_file(
        "customers", write(tmp_path / "c.csv", CUSTOMERS), settings=settings
    )
    merges = sorted((m.alias_id, m.customer_id, m.reason) for m in report.merges)
    assert merges == [("C2", "C1", "email"), ("C4", "C3", "phone")]
    assert [r["customer_id"] for r in table(settings, Kind.CUSTOMERS)] == ["C1", "C3", "C5"]
    # orders placed under a merged card land on the kept card
    regulars.import_file(
        "orders",
        write(tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount\nO1,C2,2024-01-01,5\n"),
        settings=settings,
    )
    assert table(settings, Kind.ORDERS)[0]["customer_id"] == "C1"
    # and a re-import of the customer file changes nothing
    again = regulars.import_file("customers", tmp_path / "c.csv", settings=settings)
    assert (again.rows_added, again.merges) == (0, [])


def test_a_new_card_matching_a_stored_customer_is_merged_into_it(tmp_path, settings):
    regulars.import_file("customers", write(tmp_path / "c.csv", CUSTOMERS), settings=settings)
    report = regulars.import_file(
        "customers",
        write(tmp_path / "c2.csv", "customer_id,email\nC9,VERA@example.com\n"),
        settings=settings,
    )
    assert [(m.alias_id, m.customer_id) for m in report.merges] == [("C9", "C5")]


def test_blacklisted_junk_leads_are_left_out(tmp_path, settings):
    bl = write(tmp_path / "junk.txt", "# known junk\nvera@example.com\nid:C1\n")
    report = regulars.import_file(
        "customers", write(tmp_path / "c.csv", CUSTOMERS), settings=settings, blacklist=bl
    )
    assert report.rows_blacklisted == 2
    assert "C5" not in [r["customer_id"] for r in table(settings, Kind.CUSTOMERS)]


def test_dry_run_validates_and_writes_nothing(tmp_path, settings):
    report = regulars.import_file(
        "orders", write(tmp_path / "o.csv", ORDERS), settings=settings, dry_run=True
    )
    assert report.rows_added == 3 and report.dry_run
    assert open_store(settings).counts()["orders"] == 0


def test_cp1251_semicolon_decimal_comma_exports_from_accounting_systems(tmp_path, settings):
    text = "Клиент;Дата;Сумма;Канал\nК-1;05.01.2024;1 234,50;магазин\n"
    f = write(tmp_path / "1c.csv", text, encoding="cp1251")
    opts = regulars.ReadOptions(
        encoding="cp1251",
        delimiter=";",
        decimal_comma=True,
        date_format="%d.%m.%Y",
        mapping={
            "customer_id": "Клиент",
            "ordered_at": "Дата",
            "amount": "Сумма",
            "channel": "Канал",
        },
        currency="RUB",
    )
    regulars.import_file("orders", f, settings=settings, options=opts)
    [o] = table(settings, Kind.ORDERS)
    assert (o["customer_id"], o["channel"], o["currency"]) == ("К-1", "магазин", "RUB")
    assert float(o["amount"]) == 1234.5  # type: ignore[arg-type]
    assert str(o["ordered_at"]) == "2024-01-05 00:00:00"


def test_tsv_jsonl_parquet_and_dataframes_import_alike(tmp_path, database_url):
    rows = [{"order_id": "O1", "customer_id": "C1", "ordered_at": "2024-01-05", "amount": 10.5}]
    tsv = write(
        tmp_path / "o.tsv", "order_id\tcustomer_id\tordered_at\tamount\nO1\tC1\t2024-01-05\t10.5\n"
    )
    jsonl = write(tmp_path / "o.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    parquet = tmp_path / "o.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    results = []
    for i, source in enumerate([tsv, jsonl, parquet, pa.Table.from_pylist(rows)]):
        settings = regulars.load_settings(
            database_url=database_url.replace(".db", f"{i}.db")
            if "sqlite" in database_url
            else database_url
        )
        report = regulars.import_file("orders", source, settings=settings)
        results.append(report.rows_added + report.rows_already_present)
        got = table(settings, Kind.ORDERS)[0]
        assert (got["order_id"], float(got["amount"])) == ("O1", 10.5)  # type: ignore[arg-type]
    assert results == [1, 1, 1, 1]


def test_self_referral_is_rejected(tmp_path, settings):
    regulars.import_file("orders", write(tmp_path / "o.csv", ORDERS), settings=settings)
    f = write(tmp_path / "r.csv", "referrer_id,referee_id,at\nC1,C1,2024-01-01\nC1,C2,2024-01-01\n")
    with pytest.raises(RejectedFileError) as e:
        regulars.import_file("referrals", f, settings=settings)
    assert [(p.row, p.message) for p in e.value.problems] == [
        (1, "a customer cannot refer themselves")
    ]


def test_a_new_sqlite_store_may_live_in_a_folder_that_does_not_exist_yet(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'folder' / 'shop.db'}"
    settings = regulars.load_settings(database_url=url)
    report = regulars.import_file("orders", write(tmp_path / "o.csv", ORDERS), settings=settings)
    assert report.rows_added == 3
