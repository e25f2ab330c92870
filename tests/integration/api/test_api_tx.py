"""The API's write transaction on both databases: on PostgreSQL its statements go straight
to psycopg (``adapters/db/api_tx.py``); what they answer must not depend on that."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from regulars.adapters.db.api_store import SqlApiStore
from regulars.domain.tables import Kind
from regulars.services.api.ports import DuplicateError


@pytest.fixture
def store(store_url: str) -> SqlApiStore:
    s = SqlApiStore(store_url)
    s.ensure_schema()
    yield s
    s.close()


def _order(oid: str, **extra: object) -> dict[str, object]:
    return {"order_id": oid, "customer_id": "C1", "ordered_at": datetime(2025, 1, 2, 3, 4, 5),
            "amount": Decimal("12.5000"), "row_hash": f"h-{oid}", **extra}


def test_rows_written_are_read_back_as_written(store):
    with store.begin() as tx:
        tx.insert("customers", [{"customer_id": "C1", "stub": True, "row_hash": "stub"}])
        tx.insert("orders", [_order("O1", currency=None), _order("O2", currency="EUR")])
        tx.keep_response("k1", "idem", "hash", 201, '{"added": 2}')
        tx.audit(key_id="k1", action="POST /v1/orders", subject="O1, O2", status=201,
                 detail={"added": 2})
        tx.commit()
    with store.begin() as tx:
        assert tx.existing(Kind.ORDERS, ["O1", "O2", "O3"]) == {
            "O1": ("h-O1", False), "O2": ("h-O2", False)}
        assert tx.existing(Kind.CUSTOMERS, ["C1"]) == {"C1": ("stub", True)}
        assert tx.aliases(["C1"]) == {}
        kept = tx.get_response("k1", "idem")
        assert (kept.request_hash, kept.status, kept.body) == ("hash", 201, '{"added": 2}')
        assert tx.get_response("k1", "other") is None
    orders = store.read_rows(Kind.ORDERS, ["C1"]).to_pylist()
    assert sorted((o["order_id"], o["currency"], o["amount"]) for o in orders) == [
        ("O1", None, 12.5), ("O2", "EUR", 12.5)]
    assert store.audit_entries(1)[0]["subject"] == "O1, O2"


def test_a_row_already_written_by_another_is_a_duplicate(store):
    with store.begin() as tx:
        tx.insert("orders", [_order("O1")])
        tx.commit()
    with pytest.raises(DuplicateError), store.begin() as tx:
        tx.insert("orders", [_order("O1")])
    with pytest.raises(DuplicateError), store.begin() as tx:
        tx.keep_response("k1", "idem", "hash", 201, "{}")
        tx.keep_response("k1", "idem", "hash", 201, "{}")


def test_insert_new_writes_the_ids_not_stored_and_says_which(store):
    with store.begin() as tx:
        assert tx.insert_new(Kind.ORDERS, [_order("O1", currency=None)]) == {"O1"}
        tx.commit()
    with store.begin() as tx:
        # O1 is stored (with other content, even: telling that apart is the caller's job)
        rows = [_order("O1", currency="EUR"), _order("O2", currency=None),
                _order("O3", currency="EUR")]
        assert tx.insert_new(Kind.ORDERS, rows) == {"O2", "O3"}
        assert tx.insert_new(Kind.ORDERS, [_order("O2", currency=None)]) == set()
        assert tx.insert_new(Kind.ORDERS, []) == set()
        tx.commit()
    orders = store.read_rows(Kind.ORDERS, ["C1"]).to_pylist()
    assert sorted((o["order_id"], o["currency"]) for o in orders) == [
        ("O1", None), ("O2", None), ("O3", "EUR")]


def test_customers_known_resolves_aliases_then_looks_the_cards_up(store):
    with store.begin() as tx:
        tx.insert("customers", [{"customer_id": c, "stub": s, "row_hash": "h"}
                                for c, s in (("C1", False), ("C2", True))])
        tx.insert("customer_merges", [
            {"alias_id": a, "customer_id": c, "reason": "email", "matched_value": "x",
             "merged_at": datetime(2025, 1, 1), "import_id": None}
            for a, c in (("A1", "C1"), ("A9", "C9"))])
        tx.commit()
    with store.begin() as tx:
        # C2 is a stub (known all the same); A9 names C9, which is not stored; X is nobody
        assert tx.customers_known(["A1", "A9", "C1", "C2", "X"]) == (
            {"A1": "C1", "A9": "C9"}, {"C1", "C2"})
        assert tx.customers_known([]) == ({}, set())


def test_a_batch_larger_than_one_statement_is_written_whole(store):
    """Multi-row INSERTs of at most 500 rows each on PostgreSQL: 1,201 rows take three."""
    with store.begin() as tx:
        assert tx.insert_new(Kind.ORDERS, [_order(f"O{i}", currency=None)
                                           for i in (5, 600, 1100)]) == {"O5", "O600", "O1100"}
        tx.commit()
    with store.begin() as tx:
        rows = [_order(f"O{i}", currency=None) for i in range(1201)]
        inserted = tx.insert_new(Kind.ORDERS, rows)
        assert inserted == {f"O{i}" for i in range(1201)} - {"O5", "O600", "O1100"}
        tx.insert("api_idempotency", [
            {"key_id": "k", "idempotency_key": str(i), "request_hash": "h", "status": 201,
             "body": "{}", "created_at": datetime(2025, 1, 1)} for i in range(1201)])
        tx.commit()
    assert len(store.read_rows(Kind.ORDERS, ["C1"])) == 1201
    with store.begin() as tx:
        assert tx.get_response("k", "1200") is not None
