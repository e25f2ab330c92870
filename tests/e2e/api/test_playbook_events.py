"""End to end: what a business sends over HTTP (a real client on loopback) — customers,
orders, playbooks' events — comes out of the playbooks' feed as entries, once, with the map
the server rebuilt in between; a dry run first changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars import bootstrap
from regulars.adapters.db.tables import map_customers
from regulars.domain.playbooks.model import Exit, Playbook, Trigger


def _book(name: str, **trigger: Any) -> Playbook:
    return Playbook(name=name, title=name, set="e2e", trigger=Trigger(**trigger),
                    steps=(Exit("end"),))


BOOKS = [_book("welcome", kind="event", event="signed_up"),
         _book("first", kind="event", event="first_order"),
         _book("thanks", kind="event", event="order_placed"),
         _book("founded", kind="date", base="attribute", attribute="founded")]


def test_posted_events_and_orders_enter_playbooks_once(client: Any, keys: dict[str, str],
                                                        services: Any,
                                                        api_settings: Any) -> None:
    send = {"Authorization": f"Bearer {keys['integration']}"}
    feed = bootstrap.open_playbook_feed(api_settings, services.store)
    assert feed.entries(datetime(2026, 11, 30, 12), BOOKS) == []  # the baseline

    r = client.post("/v1/customers", headers=send, json=[
        {"customer_id": "C1", "name": "Anna", "attributes": "founded=2011-12-03"},
        {"customer_id": "C2", "name": "Boris"}])
    assert r.status_code == 201, r.text
    r = client.post("/v1/orders", headers=send, json=[
        {"order_id": "O1", "customer_id": "C1", "ordered_at": "2026-12-01T09:00:00",
         "amount": "30"},
        {"order_id": "O2", "customer_id": "C1", "ordered_at": "2026-12-02T09:00:00",
         "amount": "40"},
        {"order_id": "O3", "customer_id": "C2", "ordered_at": "2026-12-02T10:00:00",
         "amount": "50"}])
    assert r.status_code == 201, r.text
    r = client.post("/v1/events", headers=send, json=[
        {"event_id": "crm-1", "customer_id": "C2", "name": "signed_up",
         "at": "2026-12-01T08:00:00Z", "properties": {"source": "landing"}}])
    assert r.status_code == 201, r.text
    again = client.post("/v1/events", headers=send, json={
        "event_id": "crm-1", "customer_id": "C2", "name": "signed_up",
        "at": "2026-12-01T10:00:00+02:00", "properties": {"source": "landing"}})
    assert (again.status_code, again.json()["already_present"]) == (200, 1)
    r = client.post("/v1/map/rebuild", headers={"Authorization": f"Bearer {keys['admin']}"},
                    timeout=300)
    assert r.status_code == 200, r.text
    with services.store.reader.connect() as conn:
        rungs = dict(conn.execute(sa.select(map_customers.c.customer_id,
                                            map_customers.c.rung)).all())
        as_of = str(conn.execute(sa.select(sa.func.max(map_customers.c.as_of))).scalar_one())
    assert set(rungs) == {"C1", "C2"}
    became = _book("became", kind="change", field="rung", to=rungs["C1"])
    books = [*BOOKS, became]

    now = datetime(2026, 12, 4, 12)
    dry = feed.entries(now, books, dry_run=True)
    got = feed.entries(now, books)
    keys_of = sorted((e.playbook, e.customer_id, e.entry_key) for e in got)
    assert sorted((e.playbook, e.customer_id, e.entry_key) for e in dry) == keys_of
    changes = [k for k in keys_of if k[0] == "became"]
    assert [c[1] for c in changes] == sorted(c for c, rung in rungs.items()
                                             if rung == rungs["C1"])
    # keyed by the map's day: the last order's, 2 December
    assert as_of[:10] == "2026-12-02"
    assert all(k[2] == f"change:rung:{rungs['C1']}:2026-12-02" for k in changes)
    assert [k for k in keys_of if k[0] != "became"] == [
        ("first", "C1", "order:O1"), ("first", "C2", "order:O3"),
        ("founded", "C1", "date:attribute:founded:2026-12-03"),
        ("thanks", "C1", "order:O1"), ("thanks", "C1", "order:O2"),
        ("thanks", "C2", "order:O3"),
        ("welcome", "C2", "event:crm-1")]
    assert feed.entries(datetime(2026, 12, 5, 12), books) == []  # nothing new
