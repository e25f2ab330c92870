"""The recognised headers are data (regulars.domain.headers): the import docs list them all,
and no header means two columns of one table at the same rank."""

from __future__ import annotations

from pathlib import Path

from regulars.domain.headers import BASE_DOCUMENT, HEADERS, header_key
from regulars.domain.tables import SPECS

DOC = Path(__file__).parent.parent.parent / "docs" / "importing.md"


def test_the_import_docs_list_every_recognised_header():
    text = DOC.read_text(encoding="utf-8")
    missing = [h for cols in HEADERS.values() for tiers in cols.values() for tier in tiers
               for h in tier if h not in text]
    missing += [h for h in BASE_DOCUMENT if h not in text]
    assert missing == []


def test_headers_name_columns_of_their_table():
    for kind, cols in HEADERS.items():
        assert set(cols) <= set(SPECS[kind].names), kind


def test_a_header_is_the_first_choice_of_one_column_per_table_at_most():
    for kind, cols in HEADERS.items():
        first: dict[str, str] = {}
        for name, tiers in cols.items():
            for h in tiers[0]:
                key = header_key(h)
                assert first.setdefault(key, name) == name, (kind, h, first[key], name)
