"""The customer list over the API store (SQLite and PostgreSQL): keyset pages in every sort
walk every row once, forwards and back, with the rows without a value last; the search by
phone digits, the case forms of a Cyrillic name and the attribute tags; a manager's scope;
the count; the API's own id-ordered listing unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from regulars.domain.tables import Kind
from regulars.services.customer_list import CustomerList, ListQuery, Scope

from ..support.web import seed_map

EXTRA = [
    {"customer_id": "X001", "name": "Анна Иванова", "phone": "8 (912) 345-67-89",
     "email": "anna@example.ru", "attributes": "vip;disc=D", "manager": "Anna K"},
    {"customer_id": "X002", "name": "Mari Tamm", "phone": "+372 5555 1234",
     "attributes": "disc=S", "manager": "Boris"},
    {"customer_id": "X003", "name": None, "attributes": "VIP"},  # no name, no orders
    {"customer_id": "X004", "name": "Zed", "manager": "Anna K"},  # a prospect
]


@pytest.fixture
def listed(services):
    records = [(Kind.CUSTOMERS, {k: v for k, v in c.items() if v is not None}) for c in EXTRA]
    start = datetime(2024, 2, 1, 9)
    for i, cid in enumerate(("X001", "X002")):
        for k in range(3):
            records.append((Kind.ORDERS, {"order_id": f"XO{i}{k}", "customer_id": cid,
                                          "ordered_at": start + timedelta(days=20 * k + i),
                                          "amount": 70 + 5 * i}))
    services.ingest.run(records)
    seed_map(services)
    return CustomerList(services.store, services.ingest.normalise_phone)


def _key(row, sort):
    return {"stake": row["money_at_stake"], "value": row["revenue"],
            "last_order": row["last_order_at"], "name": row["name"]}[sort]


def _expected(rows, sort, desc):
    """The list's order computed here: rows with a value by (value, id) in the direction,
    then those without by id in the same direction."""
    valued = sorted((r for r in rows if _key(r, sort) is not None),
                    key=lambda r: (_key(r, sort), r["customer_id"]), reverse=desc)
    empty = sorted((r for r in rows if _key(r, sort) is None),
                   key=lambda r: r["customer_id"], reverse=desc)
    return [r["customer_id"] for r in valued + empty]


def test_pages_walk_every_row_once_forwards_and_back(listed):
    everyone = list(listed.rows(ListQuery(sort="name", descending=False)))
    assert len(everyone) == 16
    for sort in ("stake", "value", "last_order", "name"):
        if sort != "value":  # a prospect has no money at stake nor last order; X003 no name
            assert any(_key(r, sort) is None for r in everyone), sort
        for desc in (True, False):
            _walk(listed, everyone, sort, desc)


def _walk(listed, everyone, sort, desc):
    want = _expected(everyone, sort, desc)
    q = ListQuery(sort=sort, descending=desc)
    pages, seen = [], []
    page = listed.page(q, size=5)
    while True:
        pages.append(page)
        seen += [r["customer_id"] for r in page.rows]
        assert page.total == 16
        assert (page.first, page.last) == (len(seen) - len(page.rows) + 1, len(seen))
        if page.next_cursor is None:
            break
        page = listed.page(ListQuery(sort=sort, descending=desc, cursor=page.next_cursor,
                                     at=page.last + 1), size=5)
    assert seen == want, (sort, desc)
    assert [len(p.rows) for p in pages] == [5, 5, 5, 1]
    # and back from the last page, each previous page the one that was shown
    for earlier in reversed(pages[:-1]):
        assert page.previous_cursor is not None
        page = listed.page(ListQuery(sort=sort, descending=desc, cursor=page.previous_cursor,
                                     at=max(1, page.first - 5)), size=5)
        assert [r["customer_id"] for r in page.rows] == [r["customer_id"]
                                                         for r in earlier.rows], (sort, desc)
    assert page.previous_cursor is None and page.first == 1


def test_the_export_reads_every_row_in_batches(listed):
    q = ListQuery()  # the default: the most money at stake first
    assert [r["customer_id"] for r in listed.rows(q, batch=3)] == [
        r["customer_id"] for r in listed.rows(q, batch=1000)]
    everyone = list(listed.rows(q))
    assert _expected(everyone, "stake", True) == [r["customer_id"] for r in everyone]


def test_a_cursor_of_another_order_starts_the_list_again(listed):
    page = listed.page(ListQuery(sort="name"), size=3)
    other = listed.page(ListQuery(sort="stake", cursor=page.next_cursor, at=4), size=3)
    assert other.first == 1
    assert other.rows == listed.page(ListQuery(sort="stake"), size=3).rows
    assert listed.page(ListQuery(cursor="not a cursor!", at=9), size=3).first == 1


SEARCHES = [
    ("анна", {"X001"}),                 # Cyrillic in lower case finds "Анна"
    ("АННА", {"X001"}),
    ("иванова", {"X001"}),
    ("8 912 345-67-89", {"X001"}),      # as written locally: normalised to 7912…
    ("+7 912 345 67 89", {"X001"}),
    ("345-67", {"X001"}),               # a part of the digits
    ("5555 1234", {"X002"}),
    ("ANNA@EXAMPLE", {"X001"}),         # the e-mail, in any case
    ("x00", {"X001", "X002", "X003", "X004"}),  # the id
    ("mari", {"X002"}),
    ("12", set()),                      # two digits are not a phone; no name holds them
]
TAGS = [
    (("vip",), {"X001", "X003"}),       # any case
    (("disc",), {"X001", "X002"}),      # a key alone: any of its values
    (("disc=d",), {"X001"}),
    (("vip", "disc"), {"X001"}),        # every tag
    (("dis",), set()),                  # a tag is whole, not a part of one
]


def test_search_by_name_phone_email_and_id_and_by_tags(listed):
    for text, found in SEARCHES:
        got = {r["customer_id"] for r in listed.rows(ListQuery(text=text))}
        assert got == found, text
        assert listed.page(ListQuery(text=text)).total == len(found), text
    for tags, found in TAGS:
        assert {r["customer_id"] for r in listed.rows(ListQuery(tags=tags))} == found, tags


def test_a_manager_sees_their_own_whatever_the_query_asks(listed):
    mine = list(listed.rows(ListQuery(), Scope("Anna K")))
    assert mine and {r["manager"] for r in mine} == {"Anna K"}
    asked = list(listed.rows(ListQuery(manager="Boris"), Scope("Anna K")))
    assert [r["customer_id"] for r in asked] == [r["customer_id"] for r in mine]
    assert listed.page(ListQuery(manager="Boris"), Scope("Anna K")).total == len(mine)
    # a manager user bound to no name sees nobody
    assert listed.page(ListQuery(), Scope(None)).total == 0
    assert list(listed.rows(ListQuery(), Scope(None))) == []


def test_filters_and_count_agree(listed, services):
    everyone = list(listed.rows(ListQuery()))
    for rung in {r["rung"] for r in everyone}:
        got = listed.page(ListQuery(rung=rung))
        assert got.total == sum(r["rung"] == rung for r in everyone)
        assert {r["rung"] for r in got.rows} == {rung}
    assert listed.choices()["managers"] == ["Anna K", "Boris"]


def test_the_map_keeps_the_money_at_stake_of_its_evidence(listed, services):
    import json

    for r in listed.rows(ListQuery()):
        stake = [e for e in r["evidence"] if e.get("about") == "stake"]
        if stake:
            assert r["money_at_stake"] == pytest.approx(stake[0]["money_at_stake"])
        else:
            assert r["money_at_stake"] is None
    assert json  # the evidence is decoded JSON


def test_the_apis_listing_is_unchanged(listed, services):
    from regulars.services.api import customers
    from regulars.services.api.ports import CustomerFilter

    items, cursor = customers.list_customers(services.store, CustomerFilter(limit=5), None)
    assert [i["customer_id"] for i in items] == ["C000", "C001", "C002", "C003", "C004"]
    items, _ = customers.list_customers(services.store, CustomerFilter(limit=50), cursor)
    assert items[0]["customer_id"] == "C005" and len(items) == 11
