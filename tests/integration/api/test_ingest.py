"""Ingest over HTTP: the importer's rules, one record or a batch, exactly once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from regulars import api
from regulars.domain.tables import Kind

from .conftest import order

INTEGRATION = "integration"



def rows(services, sql: str) -> list[dict]:
    import sqlalchemy as sa

    with services.store.reader.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql))]


def test_a_single_order_is_stored_and_creates_its_customer_card(call, services):
    r = call(INTEGRATION, "POST", "/v1/orders", json=order(1, "C7"))
    assert r.status_code == 201
    assert r.json() | {"ids": None} == {
        "received": 1, "added": 1, "already_present": 0, "duplicates_in_request": 0,
        "customers_created": 1, "customers_updated": 0, "merged": [], "ids": None}
    card = services.store.customer_card("C7")
    assert card["profile"]["stub"] is True
    assert [o["order_id"] for o in card["orders"]] == ["O1"]


def test_a_batch_is_written_whole_and_resending_it_adds_nothing(call, services):
    batch = [order(i, f"C{i % 7}") for i in range(300)]
    r = call(INTEGRATION, "POST", "/v1/orders", json=batch)
    assert (r.status_code, r.json()["added"], r.json()["customers_created"]) == (201, 300, 7)
    again = call(INTEGRATION, "POST", "/v1/orders", json=batch)
    assert (again.status_code, again.json()["added"], again.json()["already_present"]) == (
        200, 0, 300)
    assert services.store.store.counts()["orders"] == 300  # type: ignore[attr-defined]


def test_one_bad_record_rejects_the_batch_naming_index_and_field(call, services):
    batch = [order(1), order(2, amount="-3"), order(3, ordered_at="yesterday")]
    r = call(INTEGRATION, "POST", "/v1/orders", json=batch)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["instance"] == "/v1/orders"
    assert {(e["index"], e["field"]) for e in problem["errors"]} == {
        (1, "amount"), (2, "ordered_at")}
    assert services.store.store.counts()["orders"] == 0  # type: ignore[attr-defined]


def test_unknown_and_missing_fields_are_named(call):
    r = call(INTEGRATION, "POST", "/v1/orders",
             json={"customer_id": "C1", "ordered_at": "2024-01-01", "amout": 3})
    fields = {e["field"] for e in r.json()["errors"]}
    assert r.status_code == 422 and fields == {"amount", "amout"}
    assert all("index" not in e for e in r.json()["errors"])


def test_an_id_reused_with_other_content_is_a_conflict(call):
    assert call(INTEGRATION, "POST", "/v1/orders", json=order(1)).status_code == 201
    r = call(INTEGRATION, "POST", "/v1/orders", json=order(1, amount="99"))
    assert r.status_code == 409
    assert r.json()["errors"][0] | {"message": None} == {
        "field": "order_id", "index": 0, "value": "O1", "message": None}


def test_a_return_must_name_a_known_order(call):
    call(INTEGRATION, "POST", "/v1/orders", json=order(1))
    ok = call(INTEGRATION, "POST", "/v1/returns",
              json={"order_id": "O1", "returned_at": "2024-03-01T00:00:00", "amount": 5})
    assert ok.status_code == 201 and ok.json()["ids"][0].startswith("R-")
    bad = call(INTEGRATION, "POST", "/v1/returns",
               json=[{"order_id": "O1", "returned_at": "2024-03-02T00:00:00", "amount": 1},
                     {"order_id": "O9", "returned_at": "2024-03-02T00:00:00", "amount": 1}])
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "order_id", "index": 1, "value": "O9",
                                     "message": "return for an unknown order"}]


def test_events_land_in_their_tables(call, services):
    call(INTEGRATION, "POST", "/v1/customers", json=[{"customer_id": "C1"},
                                                     {"customer_id": "C2"}])
    events = [
        {"type": "feedback", "customer_id": "C1", "at": "2024-02-01T00:00:00", "nps": 10,
         "text": "great"},
        {"type": "interaction", "customer_id": "C1", "at": "2024-02-02T00:00:00",
         "channel": "email", "direction": "out", "kind": "offer"},
        {"type": "referral", "referrer_id": "C1", "referee_id": "C2",
         "at": "2024-02-03T00:00:00", "code": "REF1"},
        {"type": "invoice", "invoice_id": "I1", "customer_id": "C2",
         "due_at": "2024-02-10T00:00:00", "amount": "100"},
        {"type": "abandoned_cart", "customer_id": "C2", "at": "2024-02-04T12:00:00"},
    ]
    r = call(INTEGRATION, "POST", "/v1/events", json=events)
    assert r.status_code == 201 and r.json()["added"] == 5
    rows = services.store.customer_rows("C2")
    assert [i["outcome"] for i in rows["interactions"]] == ["abandoned_cart"]
    assert [i["invoice_id"] for i in rows["invoices"]] == ["I1"]
    bad = call(INTEGRATION, "POST", "/v1/events",
               json=[{"type": "feedback", "customer_id": "C404", "at": "2024-02-01T00:00:00"},
                     {"type": "referral", "referrer_id": "C1", "referee_id": "C1",
                      "at": "2024-02-01T00:00:00"},
                     {"type": "nope"}])
    assert bad.status_code == 422
    assert [e.get("index") for e in bad.json()["errors"]] == [2]


def test_customers_merge_on_email_complete_stubs_and_update(call, services):
    call(INTEGRATION, "POST", "/v1/orders", json=order(1, "C1"))
    r = call(INTEGRATION, "POST", "/v1/customers", json=[
        {"customer_id": "C1", "name": "Ann", "email": "Ann@Example.com"},
        {"customer_id": "C2", "name": "Ann again", "email": " ann@example.com "},
    ])
    body = r.json()
    assert body["customers_updated"] == 1  # the stub C1 is now a full card
    assert body["merged"] == [{"alias_id": "C2", "customer_id": "C1", "reason": "email"}]
    # an order for the merged card lands on the card it was merged into
    call(INTEGRATION, "POST", "/v1/orders", json=order(2, "C2"))
    assert [o["order_id"] for o in services.store.customer_card("C1")["orders"]] == ["O1", "O2"]
    upd = call(INTEGRATION, "POST", "/v1/customers",
               json={"customer_id": "C1", "name": "Ann Smith", "email": "ann@example.com"})
    assert upd.json()["customers_updated"] == 1
    assert services.store.customer_card("C1")["profile"]["name"] == "Ann Smith"


def test_rows_match_what_an_import_of_the_same_file_writes(call, services, api_settings,
                                                           tmp_path: Path):
    given = order(1)
    derived = {"customer_id": "C2", "ordered_at": "2024-05-01T08:30:00.25", "amount": "7",
               "categories": ["toys", " books "], "discount_amount": 0}
    ids = call(INTEGRATION, "POST", "/v1/orders", json=[given, derived]).json()["ids"]
    with_ids = tmp_path / "orders-1.csv"
    with_ids.write_text("order_id,customer_id,ordered_at,amount\n"
                        "O1,C1,2024-02-02 10:00:00,11.50\n")
    without_ids = tmp_path / "orders-2.csv"
    without_ids.write_text("customer_id,ordered_at,amount,categories,discount_amount\n"
                           "C2,2024-05-01 08:30:00.25,7.00,toys;books,0\n")
    other = api.load_settings(database_url=f"sqlite:///{tmp_path / 'file.db'}")
    for f in (with_ids, without_ids):
        api.import_file("orders", f, settings=other)
    sql = "SELECT order_id, row_hash FROM orders ORDER BY order_id"
    ours = rows(services, sql)
    theirs = api.open_store(other).read_arrow(sql).to_pylist()  # another file
    assert ours == theirs
    assert sorted(ids) == [r["order_id"] for r in ours]
    # and a file import over the API's rows finds them already present (ADBC's SQLite must
    # not open the file while pysqlite holds it in this process: close the API's pools)
    services.store.writer.dispose()
    services.store.reader.dispose()
    for f in (with_ids, without_ids):
        report = api.import_file("orders", f, settings=api_settings)
        assert (report.rows_added, report.rows_already_present) == (0, 1)


def test_idempotency_key_replays_the_first_response_and_refuses_another_body(call, services):
    headers = {"Idempotency-Key": "till-1-receipt-42"}
    first = call(INTEGRATION, "POST", "/v1/orders", json=[order(1), order(2)], headers=headers)
    again = call(INTEGRATION, "POST", "/v1/orders", json=[order(1), order(2)], headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    other = call(INTEGRATION, "POST", "/v1/orders", json=[order(3)], headers=headers)
    assert other.status_code == 409
    assert other.json()["type"] == "/problems/idempotency-conflict"
    assert services.store.store.counts()["orders"] == 2  # type: ignore[attr-defined]


def test_concurrent_retries_with_one_idempotency_key_write_once(call, services):
    batch = [order(i, f"C{i}") for i in range(50)]
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send() -> None:
        r = call(INTEGRATION, "POST", "/v1/orders", json=batch,
                 headers={"Idempotency-Key": "same"})
        with lock:
            results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {s for s, _b in results} == {201}
    assert all(b == results[0][1] for _s, b in results)
    assert results[0][1]["added"] == 50
    assert services.store.store.counts()["orders"] == 50  # type: ignore[attr-defined]
    audit = [a for a in services.store.audit_entries(100) if a["action"] == "POST /v1/orders"]
    assert len(audit) == 1


def test_concurrent_first_orders_of_one_new_customer_create_one_card(call, services):
    def send(i: int) -> None:
        assert call(INTEGRATION, "POST", "/v1/orders",
                    json=order(i, "NEW")).status_code == 201

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = services.store.store.counts()  # type: ignore[attr-defined]
    assert (counts["orders"], counts["customers"]) == (8, 1)


def test_every_write_is_in_the_audit_log_under_its_key(call, keys, services):
    call(INTEGRATION, "POST", "/v1/orders", json=order(1))
    call("admin", "POST", "/v1/keys", json={"role": "readonly", "name": "dashboard"})
    entries = call("admin", "GET", "/v1/audit").json()
    by_action = {e["action"]: e for e in entries}
    assert by_action["POST /v1/orders"]["key_id"] == keys[INTEGRATION].split("_")[1]
    assert "O1" in by_action["POST /v1/orders"]["subject"]
    assert by_action["POST /v1/keys"]["key_id"] == keys["admin"].split("_")[1]


@pytest.mark.parametrize("size", [0, 1001])
def test_batch_size_limits(call, size):
    r = call(INTEGRATION, "POST", "/v1/orders", json=[order(i) for i in range(size)])
    assert r.status_code == (422 if size == 0 else 413)
    assert r.headers["content-type"] == "application/problem+json"


def test_stored_kinds_are_the_contract(services):
    assert {k.value for k in Kind} <= set(services.store.customer_rows("x"))
