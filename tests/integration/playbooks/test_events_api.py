"""POST /v1/events with a name: playbooks' events over a real HTTP server, on SQLite and
PostgreSQL — stored once, refused whole with the field named, replayed under a key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from regulars.adapters.db.playbook_events import SqlPlaybookEvents
from regulars.adapters.db.tables import api_audit, customer_merges, playbook_events

INTEGRATION = "integration"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # the business's own events (the known ones need no word)
    return {"playbooks": {"custom_events": ["demo_booked", "x", "x1"]}}


def test_an_event_the_business_did_not_name_is_refused_naming_the_field(call: Any,
                                                                        services: Any) -> None:
    _customers(call, "C1")
    r = call(INTEGRATION, "POST", "/v1/events", json={"customer_id": "C1", "name": "visited"})
    assert r.status_code == 422, r.text
    assert [(e["field"], e["message"]) for e in r.json()["errors"]] == [
        ("name", "unknown event")]
    assert _stored(services) == []


def _stored(services: Any) -> list[dict[str, Any]]:
    e = playbook_events
    with services.store.reader.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(
            e.c.event_id, e.c.customer_id, e.c.name, e.c.at, e.c.properties).order_by(
            e.c.seq)).mappings()]


def _customers(call: Any, *ids: str) -> None:
    r = call(INTEGRATION, "POST", "/v1/customers", json=[{"customer_id": i} for i in ids])
    assert r.status_code == 201


def test_an_event_is_stored_once_and_a_resend_is_a_no_op(call: Any, services: Any) -> None:
    _customers(call, "C1")
    event = {"event_id": "ev-1", "customer_id": "C1", "name": "signed_up",
             "at": "2026-03-01T10:00:00+02:00", "properties": {"source": "landing"}}
    first = call(INTEGRATION, "POST", "/v1/events", json=event)
    assert first.status_code == 201
    assert first.json() == {"received": 1, "added": 1, "already_present": 0,
                            "duplicates_in_request": 0, "customers_created": 0,
                            "customers_updated": 0, "merged": [], "ids": ["ev-1"]}
    again = call(INTEGRATION, "POST", "/v1/events", json=[event])
    assert again.status_code == 200
    assert (again.json()["added"], again.json()["already_present"]) == (0, 1)
    # stored in UTC without an offset, as every moment in the store
    assert _stored(services) == [{"event_id": "ev-1", "customer_id": "C1", "name": "signed_up",
                                  "at": datetime(2026, 3, 1, 8), "properties":
                                  '{"source":"landing"}'}]
    export = call("manager", "GET", "/v1/customers/C1/export").json()["tables"]
    assert [(e["event_id"], e["name"]) for e in export["playbook_events"]] == [
        ("ev-1", "signed_up")]  # the right of access covers them
    with services.store.reader.connect() as conn:
        audited = conn.execute(sa.select(api_audit.c.use_case, api_audit.c.outcome).where(
            api_audit.c.use_case == "events").order_by(api_audit.c.id)).all()
    assert [tuple(a) for a in audited] == [("events", "created"), ("events", "unchanged")]


def test_without_an_id_the_content_names_the_event(call: Any, services: Any) -> None:
    _customers(call, "C1")
    event = {"customer_id": "C1", "name": "cart_abandoned", "at": "2026-03-01T10:00:00Z"}
    ids = [call(INTEGRATION, "POST", "/v1/events", json=event).json()["ids"][0]
           for _ in range(2)]
    assert ids[0] == ids[1] and ids[0].startswith("E-")
    assert len(_stored(services)) == 1


def test_an_unknown_customer_refuses_the_whole_request_naming_index_and_field(
        call: Any, services: Any) -> None:
    _customers(call, "C1")
    r = call(INTEGRATION, "POST", "/v1/events", json=[
        {"customer_id": "C1", "name": "signed_up"},
        {"customer_id": "C404", "name": "signed_up"},
        {"customer_id": "C1", "name": "Signed Up"}])
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "customer_id"), (2, "name")]
    assert errors[0]["message"] == "unknown customer"
    assert _stored(services) == []  # nothing half-written


def test_a_missing_field_is_named_by_the_request_check(call: Any) -> None:
    r = call(INTEGRATION, "POST", "/v1/events", json=[{"name": "signed_up"}])
    assert r.status_code == 422
    assert [(e.get("index"), e["field"]) for e in r.json()["errors"]] == [(0, "customer_id")]


def test_the_same_id_with_other_content_is_a_conflict(call: Any, services: Any) -> None:
    _customers(call, "C1", "C2")
    call(INTEGRATION, "POST", "/v1/events", json={"event_id": "x", "customer_id": "C1",
                                                  "name": "signed_up", "at": "2026-01-01"})
    r = call(INTEGRATION, "POST", "/v1/events", json={"event_id": "x", "customer_id": "C2",
                                                      "name": "signed_up", "at": "2026-01-01"})
    assert r.status_code == 409
    assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [(0, "event_id")]
    assert [s["customer_id"] for s in _stored(services)] == ["C1"]


def test_a_retry_under_the_same_key_replays_the_first_answer(call: Any, services: Any) -> None:
    _customers(call, "C1")
    body = {"customer_id": "C1", "name": "signed_up"}  # no at: now, a new id each time
    key = {"Idempotency-Key": "k-1"}
    first = call(INTEGRATION, "POST", "/v1/events", json=body, headers=key)
    replay = call(INTEGRATION, "POST", "/v1/events", json=body, headers=key)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert len(_stored(services)) == 1
    other = call(INTEGRATION, "POST", "/v1/events", json={**body, "name": "x"}, headers=key)
    assert other.status_code == 409


def test_an_event_of_a_merged_id_is_kept_under_the_card(call: Any, services: Any) -> None:
    _customers(call, "C1")
    with services.store.writer.begin() as conn:
        conn.execute(customer_merges.insert().values(
            alias_id="OLD", customer_id="C1", reason="email", matched_value="a@b",
            merged_at=datetime(2027, 1, 1)))
    r = call(INTEGRATION, "POST", "/v1/events", json={"customer_id": "OLD", "name": "x1"})
    assert r.status_code == 201
    assert [s["customer_id"] for s in _stored(services)] == ["C1"]


def test_named_events_and_typed_records_go_in_separate_requests(call: Any) -> None:
    _customers(call, "C1")
    r = call(INTEGRATION, "POST", "/v1/events", json=[
        {"customer_id": "C1", "name": "signed_up"},
        {"type": "feedback", "customer_id": "C1", "at": "2026-01-01T00:00:00", "nps": 9}])
    assert r.status_code == 422
    assert {(e.get("index"), e["field"]) for e in r.json()["errors"]} >= {(1, "type")}


def test_goals_are_the_first_order_or_event_inside_each_window(call: Any,
                                                               services: Any) -> None:
    _customers(call, "A", "B", "C")
    r = call(INTEGRATION, "POST", "/v1/orders", json=[
        {"order_id": "O1", "customer_id": "A", "ordered_at": "2026-03-01T10:00:00",
         "amount": "10"},
        {"order_id": "O2", "customer_id": "A", "ordered_at": "2026-03-05T10:00:00",
         "amount": "10"},
        {"order_id": "O3", "customer_id": "B", "ordered_at": "2026-05-01T10:00:00",
         "amount": "10"}])
    assert r.status_code == 201, r.text
    call(INTEGRATION, "POST", "/v1/events", json={"customer_id": "C", "name": "demo_booked",
                                                  "at": "2026-03-02T09:00:00"})
    goals = SqlPlaybookEvents(services.store)
    pairs = {"A": (datetime(2026, 3, 1, 10), datetime(2026, 3, 31)),  # O1 is the entry itself
             "B": (datetime(2026, 3, 1), datetime(2026, 3, 31)),      # O3 is too late
             "C": (datetime(2026, 3, 1), datetime(2026, 3, 31))}
    assert goals.goal_met(pairs, "order_placed") == {"A": datetime(2026, 3, 5, 10)}
    assert goals.goal_met(pairs, "demo_booked") == {"C": datetime(2026, 3, 2, 9)}
