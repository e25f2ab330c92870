"""The importer's rules that need no database: normalising contacts, merging, blacklists."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regulars.adapters.staging import (
    _phone_sql,
    detect_encoding,
    detect_format,
    normalise_email,
    normalise_phone,
)
from regulars.domain.errors import FileFormatError
from regulars.domain.headers import header_key
from regulars.services.importing import plan_merges, read_blacklist


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8 (912) 345-67-89", "79123456789"),  # Russian trunk prefix 8 becomes +7
        ("+7 912 345 67 89", "79123456789"),
        ("0037255551234", "37255551234"),  # 00 international prefix
        ("5555 1234", "37255551234"),  # a national number gets the default country
        ("+372 5555 1234", "37255551234"),
        ("12", None),  # too short to be a phone
        (None, None),
    ],
)
def test_phones_normalise_to_digits_with_country_code(raw, expected):
    assert normalise_phone(raw, "372") == expected


def test_emails_normalise_to_trimmed_lower_case_and_need_an_at_sign():
    assert normalise_email("  Anna@Example.COM ") == "anna@example.com"
    assert normalise_email("not an email") is None


def card(cid, key_type, key, *, in_store=False, stub=False, created=None, row=None):
    return {
        "customer_id": cid,
        "key_type": key_type,
        "key": key,
        "in_store": in_store,
        "stub": stub,
        "created_at": created,
        "_row": row,
    }


def test_the_earliest_created_card_of_the_file_is_kept():
    matches = pa.Table.from_pylist(
        [
            card("B", "email", "a@x", created=datetime(2023, 1, 1), row=1),
            card("A", "email", "a@x", created=datetime(2022, 1, 1), row=2),
        ]
    )
    [m] = plan_merges(matches)
    assert (m.alias_id, m.customer_id, m.reason, m.matched_value) == ("B", "A", "email", "a@x")


def test_a_card_already_in_the_store_is_kept_over_the_files():
    matches = pa.Table.from_pylist(
        [
            card("NEW", "phone", "372555", created=datetime(2000, 1, 1), row=1),
            card("OLD", "phone", "372555", in_store=True),
        ]
    )
    assert [(m.alias_id, m.customer_id) for m in plan_merges(matches)] == [("NEW", "OLD")]


def test_cards_chained_through_email_and_phone_become_one_person():
    # A shares an e-mail with B, B shares a phone with C: all three are one person
    matches = pa.Table.from_pylist(
        [
            card("A", "email", "a@x", row=1),
            card("B", "email", "a@x", row=2),
            card("B", "phone", "372555", row=2),
            card("C", "phone", "372555", row=3),
        ]
    )
    assert sorted((m.alias_id, m.customer_id) for m in plan_merges(matches)) == [
        ("B", "A"),
        ("C", "A"),
    ]


def test_stored_cards_are_never_turned_into_aliases():
    matches = pa.Table.from_pylist(
        [
            card("S1", "email", "a@x", in_store=True),
            card("S2", "email", "a@x", in_store=True),
        ]
    )
    assert plan_merges(matches) == []


def test_blacklist_lines_are_emails_phones_or_ids(tmp_path: Path):
    f = tmp_path / "junk.txt"
    f.write_text(
        "# leads from the spam form\nSPAM@Example.com\n+372 5555 0000\nC-17\nid:5550000\n\n",
        encoding="utf-8",
    )
    bl = read_blacklist(
        f, normalise_email=normalise_email, normalise_phone=lambda v: normalise_phone(v, "372")
    )
    assert bl.emails == {"spam@example.com"}
    assert bl.phones == {"37255550000"}
    assert bl.ids == {"C-17", "5550000"}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.CSV.gz", "csv"),
        ("a.tsv", "tsv"),
        ("CDNOW_master.txt", "ws"),
        ("a.parquet", "parquet"),
        ("a.jsonl", "jsonl"),
    ],
)
def test_the_format_follows_the_file_name(name, fmt):
    assert detect_format(Path(name), None) == fmt


def test_an_unknown_suffix_asks_for_format():
    with pytest.raises(FileFormatError, match="--format"):
        detect_format(Path("export.xlsx"), None)


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("9123456789", "7", "79123456789"),  # a 10-digit Russian number without its code
        ("79123456789", "7", "79123456789"),  # ... and with it, no plus
        ("+7 912 345-67-89", "7", "79123456789"),
        ("7012345678", "7", "77012345678"),  # ten digits are national even starting with 7
        ("495 123 45 67", "7", "74951234567"),
        ("5555 1234", "372", "37255551234"),
        ("372 5555 1234", "372", "37255551234"),  # the code written without a plus
        ("9123456789", "372", "3729123456789"),  # the default country decides
    ],
)
def test_local_numbers_get_the_default_country_code_whatever_their_length(raw, country,
                                                                          expected):
    assert normalise_phone(raw, country) == expected


def test_ten_digit_russian_phone_merges_with_plus7():
    assert normalise_phone("9123456789", "7") == normalise_phone("+7 (912) 345-67-89", "7")


_PHONE_CHARS = "0123456789+ ()-.\u00a0\u0663x"


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.none(), st.text(alphabet=_PHONE_CHARS, max_size=18)),
       country=st.sampled_from(["7", "372", "1", "44", "358"]))
def test_phones_normalise_alike_in_python_and_sql(value, country):
    """The importer normalises whole files in SQL, the API and loyalty one phone in Python:
    a customer must be found under the same key either way."""
    sql = _phone_sql("v", country)
    got = duckdb.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS v)", [value]).fetchone()
    assert got is not None
    assert got[0] == normalise_phone(value, country)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Дата;Клиент\n".encode("cp1251"), "cp1251"),
        ("Kuupäev;Klient;Õun;Šokk;Žürii\n".encode("cp1257"), "cp1257"),
        ("Дата;Клиент\n".encode("utf-8-sig"), "utf-8-sig"),
        ("Дата;Клиент\n".encode(), "utf-8"),
        (b"date;amount\n", "utf-8"),
        (b"\x81\x8d\x8f\x90\n", None),
    ],
)
def test_encodings_are_told_by_their_letters(tmp_path, content, expected):
    f = tmp_path / "f.csv"
    f.write_bytes(content)
    assert detect_encoding(f)[0] == expected


def test_header_keys_ignore_case_spaces_and_punctuation():
    assert header_key("E-mail") == header_key("e mail") == header_key("EMAIL") == "email"
    assert header_key("Эл. почта") == header_key("эл почта")
    assert header_key("Invoice no.") == "invoiceno"
