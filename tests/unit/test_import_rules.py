"""The importer's rules that need no database: normalising contacts, merging, blacklists."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from regulars.adapters.staging import detect_format, normalise_email, normalise_phone
from regulars.domain.errors import FileFormatError
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
