"""Erasure holds: after it, no table of the store holds anything of the person — their name,
e-mail, phone however written, nor a fingerprint (MD5 or SHA-256) of fields that would confirm
a guess — on SQLite and on PostgreSQL, however they were written down; and their old file or
card sent again brings nothing back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from regulars import api

from .conftest import order

I = "integration"  # noqa: E741

NAME = "Anna Tamm"
EMAIL = "Anna.Tamm@Example.com"
PHONE = "+372 5123 4567"
# the phone as people write it, in other rows' free text
PHONE_FORMS = ("+372 5123 4567", "5123 4567", "51234567", "+37251234567", "(+372) 512-34-567",
               "00372 5123 4567", "512 34 567")


def _digits(text: str) -> str:
    return re.sub(r"[\s\-.()/+]", "", text)


def dump(url: str) -> list[tuple[str, str, str]]:
    """Every text value of every column of every table: (table, column, value)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    out: list[tuple[str, str, str]] = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                t = sa.Table(table, sa.MetaData(), autoload_with=conn)
                for row in conn.execute(sa.select(t)):
                    for col, value in row._mapping.items():
                        if value is not None:
                            out.append((table, col, str(value)))
    finally:
        engine.dispose()
    return out


def traces(url: str, fingerprints: set[str]) -> list[tuple[str, str, str]]:
    """The cells that still hold something of the person."""
    found = []
    for table, col, value in dump(url):
        low = value.lower()
        if (NAME.lower() in low or EMAIL.lower() in low or "anna.tamm" in low
                or "51234567" in _digits(value)
                or any(f in value for f in fingerprints)):
            found.append((table, col, value))
    return found


def plant(call: Any, services: Any) -> None:
    """The person, written down everywhere a business writes people down."""
    r = call(I, "POST", "/v1/customers", headers={"Idempotency-Key": "cards-1"}, json=[
        {"customer_id": "C1", "name": NAME, "email": EMAIL, "phone": PHONE,
         "birthday": "1990-05-01", "attributes": json.dumps({"note": "VIP"})},
        {"customer_id": "C2", "name": "Bob Kask", "email": "bob@example.com",
         "phone": "+372 5999 0000"},
        # a second card of hers, merged into the first by the e-mail
        {"customer_id": "C3", "name": "A. Tamm", "email": EMAIL.upper()}])
    assert r.status_code == 201, r.text
    assert call(I, "POST", "/v1/orders", json=[order(1, "C1"), order(2, "C1"), order(3, "C2")],
                headers={"Idempotency-Key": "orders-1"}).status_code == 201
    assert call(I, "POST", "/v1/returns", json={
        "return_id": "R1", "order_id": "O1", "returned_at": "2024-03-01T00:00:00",
        "amount": "5", "reason": f"{NAME} says too small"}).status_code == 201
    events = [
        {"type": "feedback", "customer_id": "C1", "at": "2024-03-01T00:00:00", "nps": 9,
         "text": "call me on 5123 4567"},
        {"type": "interaction", "customer_id": "C1", "at": "2024-03-02T00:00:00",
         "channel": "email", "direction": "out", "kind": "offer",
         "outcome": f"sent to {EMAIL.lower()}"},
    ] + [
        # other customers' rows that mention her, in every way a phone is written
        {"type": "interaction", "customer_id": "C2", "at": f"2024-03-{3 + i:02d}T00:00:00",
         "channel": "phone", "direction": "in", "kind": "call",
         "outcome": f"friend of {NAME}, reach her at {form} or {EMAIL}"}
        for i, form in enumerate(PHONE_FORMS)]
    r = call(I, "POST", "/v1/events", json=events, headers={"Idempotency-Key": "events-1"})
    assert r.status_code == 201, r.text
    # playbooks' events: hers, with what the business kept with it, and Bob's, naming her
    r = call(I, "POST", "/v1/events", json=[
        {"event_id": "pb-1", "customer_id": "C1", "name": "signed_up",
         "properties": {"email": EMAIL, "form": "newsletter"}},
        {"event_id": "pb-2", "customer_id": "C2", "name": "review_posted",
         "properties": {"friend": NAME, "phone": PHONE_FORMS[1]}}])
    assert r.status_code == 201, r.text
    member = call(I, "POST", "/v1/customers/C1/membership",
                  json={"consent": True, "email": EMAIL, "phone": PHONE,
                        "birthday": "1990-05-01"})
    assert member.status_code == 201, member.text
    adj = call("admin", "POST", "/v1/customers/C1/points/adjustments",
               json={"points": 50, "reason": f"goodwill: {NAME} phoned from 5123 4567"},
               headers={"Idempotency-Key": "adj-1"})
    assert adj.status_code == 201, adj.text
    # what programs wrote down about her: an audit detail, a webhook payload, a failed delivery
    with services.store.begin() as tx:
        tx.audit(key_id="k", action="note", subject="C1", status=200,
                 detail={"contact": EMAIL, "phone": PHONE, "name": NAME})
        # a response kept for an Idempotency-Key replay that quoted her
        tx.keep_response("k", "kept-1", "h", 201,
                         json.dumps({"customer": {"name": NAME, "email": EMAIL}}))
        tx.commit()
    services.store.enqueue_events([{"subscription_id": "S1", "event": "rung_changed",
                                    "payload": json.dumps({"customer": NAME, "email": EMAIL}),
                                    "created_at": datetime(2024, 3, 9), "state": "pending",
                                    "attempts": 0}])
    outbox = services.store.outbox()[0]["id"]
    services.store.record_delivery(outbox, attempt=1, at=datetime(2024, 3, 9), status_code=500,
                                   error=f"receiver said: no such contact {PHONE}",
                                   duration_ms=1.0, state="pending", next_attempt_at=None)


def plant_playbooks(url: str) -> None:
    """A playbook's journey of hers whose e-mail bounced and whose SMS step failed, each
    refusal quoting her, and a tag and the feed's facts about her."""
    from regulars.adapters.db.tables import (
        customer_tags,
        playbook_facts,
        playbook_jobs,
        playbook_journeys,
        playbook_messages,
    )

    at = datetime(2024, 3, 10, 12)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(playbook_journeys.insert().values(
                journey_id="J1", playbook="win_back", version="1", customer_id="C1",
                entry_key="k1", arm="treat", entered_at=at, state="active"))
            conn.execute(playbook_messages.insert().values(
                message_id="M1", journey_id="J1", playbook="win_back", step_id="mail",
                customer_id="C1", channel="email", purpose="marketing", template="t",
                language="et", state="failed", reason="refused",
                detail=f"550 5.1.1 <{EMAIL.lower()}>: no such user", at=at))
            conn.execute(playbook_jobs.insert().values(
                job_id="B1", journey_id="J1", playbook="win_back", customer_id="C1",
                step_id="sms", seq=2, due_at=at, status="failed", attempts=3,
                outcome="error", detail=f"gateway: {PHONE_FORMS[4]} unreachable"))
            conn.execute(playbook_facts.insert().values(
                customer_id="C1", rung="regular", status="at_risk", signals="[]",
                seen_at=at))
            conn.execute(customer_tags.insert().values(
                customer_id="C1", tag="vip", added_at=at, source="win_back"))
    finally:
        engine.dispose()


def fingerprints(url: str) -> set[str]:
    """The content fingerprints of her rows and of her requests, before the erasure."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            found = {r[0] for r in conn.exec_driver_sql(
                "SELECT row_hash FROM customers WHERE customer_id = 'C1' UNION "
                "SELECT row_hash FROM feedback WHERE customer_id = 'C1' UNION "
                "SELECT row_hash FROM interactions WHERE customer_id = 'C1' UNION "
                "SELECT row_hash FROM returns WHERE order_id = 'O1' UNION "
                "SELECT fingerprint FROM loyalty_operations WHERE member_id = 'C1'")}
    finally:
        engine.dispose()
    assert len(found) >= 5
    return found


def test_erasure_leaves_nothing_of_the_person_in_any_table(call, services, database_url):
    plant(call, services)
    plant_playbooks(database_url)
    call("admin", "POST", "/v1/map/rebuild")
    hashes = fingerprints(database_url)
    before = {table for table, _c, _v in traces(database_url, hashes)}
    # the check sees her before, wherever she was written down
    assert before >= {"customers", "feedback", "interactions", "returns", "customer_merges",
                      "api_audit", "api_idempotency", "webhook_outbox", "webhook_deliveries",
                      "loyalty_members", "loyalty_ledger", "loyalty_operations",
                      "playbook_events", "playbook_messages", "playbook_jobs"}, before
    # the right of access shows what the playbooks hold of her
    held = call("manager", "GET", "/v1/customers/C1/export").json()["tables"]
    assert [m["message_id"] for m in held["playbook_messages"]] == ["M1"]
    assert [j["journey_id"] for j in held["playbook_journeys"]] == ["J1"]
    assert [t["tag"] for t in held["customer_tags"]] == ["vip"]
    assert [f["status"] for f in held["playbook_facts"]] == ["at_risk"]

    r = call("admin", "POST", "/v1/customers/C3/erase")  # her merged card's id finds her
    assert r.status_code == 200, r.text
    assert r.json()["customer_id"] == "C1"

    left = traces(database_url, hashes)
    assert left == [], left
    # what is not hers stays: Bob's card, the notes about him (rubbed of her), the money
    cells = dump(database_url)
    assert ("customers", "email", "bob@example.com") in cells
    outcomes = [v for t, c, v in cells if (t, c) == ("interactions", "outcome")]
    assert outcomes and all(v.startswith("friend of (erased), reach her at") for v in outcomes)
    export = call("manager", "GET", "/v1/customers/C1/export").json()["tables"]
    assert [float(o["amount"]) for o in export["orders"]] == [11.5, 12.5]
    assert export["feedback"][0]["nps"] == 9
    # the journey and the message stay, for the playbooks' report, rubbed of her
    assert export["playbook_messages"][0]["detail"] == "550 5.1.1 <(erased)>: no such user"
    audit = services.store.audit_entries()
    assert audit[0]["action"] == "POST /v1/customers/{id}/erase"


def test_sending_her_card_or_file_again_brings_nothing_back(call, services, database_url,
                                                             api_settings, tmp_path):
    plant(call, services)
    call("admin", "POST", "/v1/customers/C1/erase")
    again = call(I, "POST", "/v1/customers", json={"customer_id": "C1", "name": NAME,
                                                   "email": EMAIL, "phone": PHONE})
    assert again.status_code in (200, 201) and again.json()["already_present"] == 1, again.text
    old = tmp_path / "customers.csv"
    old.write_text(f"customer_id,name,email,phone\nC1,{NAME},{EMAIL},{PHONE}\n"
                   f"C9,New Person,new@example.com,\n")
    report = api.import_file("customers", old, settings=api_settings)
    assert report.summary()  # imported, not rejected: her row is skipped, the new one added
    card = services.store.customer_card("C1")["profile"]
    assert (card["name"], card["email"], card["phone"]) == (None, None, None)
    assert services.store.customer_card("C9")["profile"]["name"] == "New Person"
    assert not [c for c in traces(database_url, set()) if c[0] == "customers"]


def test_the_cli_erases_with_an_audit_entry(services, database_url, api_settings):
    with services.store.begin() as tx:
        tx.insert("customers", [{"customer_id": "C1", "name": NAME, "email": EMAIL,
                                 "row_hash": "x" * 32, "stub": False}])
        tx.commit()
    exe = Path(sys.executable).with_name("regulars")
    args = [str(exe), "customers", "erase", "C1", "--actor", "dpo", "--database-url",
            database_url]
    refused = subprocess.run(args, input="n\n", capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert services.store.customer_card("C1")["profile"]["name"] == NAME
    done = subprocess.run([*args, "--yes"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "C1 erased" in done.stdout
    assert services.store.customer_card("C1")["profile"]["name"] is None
    entry = services.store.audit_entries()[0]
    assert (entry["action"], entry["key_id"], entry["subject"]) == (
        "regulars customers erase", "cli:dpo", "C1")
    missing = subprocess.run([*args[:3], "NOBODY", "--yes", "--database-url", database_url],
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "NOBODY" in missing.stderr


@pytest.mark.parametrize("form", PHONE_FORMS)
def test_every_way_of_writing_her_phone_is_rubbed(form):
    from regulars.domain.privacy import Person, scrub

    person = Person.of([NAME], [EMAIL], [PHONE, "+37251234567"])
    assert scrub(f"call {form} today", person.pattern()) == "call (erased) today"
    # a longer number that merely contains hers is someone else's
    assert scrub("order 9951234567 ref", person.pattern()) == "order 9951234567 ref"


def test_a_member_without_a_card_can_be_erased(call, services, database_url):
    r = call(I, "POST", "/v1/customers/M1/membership",
             json={"consent": True, "email": EMAIL, "phone": PHONE})
    if r.status_code != 201:
        pytest.skip(f"a member needs a card here: {r.text}")
    assert services.store.customer_rows("M1")["customers"] == []
    done = call("admin", "POST", "/v1/customers/M1/erase")
    assert done.status_code == 200, done.text
    assert done.json()["erased"]["loyalty_members"] == 1
    assert traces(database_url, set()) == []
