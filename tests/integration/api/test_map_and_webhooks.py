"""The served map (list, card, portfolio, flow), live updates, webhooks and privacy."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from regulars.services.api.webhooks import SIGNATURE_HEADER, verify

from .conftest import Receiver, order, wait_for

I = "integration"  # noqa: E741


def business(call) -> None:
    call(I, "POST", "/v1/customers", json=[
        {"customer_id": "A", "name": "Alice Tamm", "email": "alice@example.com",
         "manager": "Mari"},
        {"customer_id": "B", "name": "Bob Kask", "manager": "Jaan"},
        {"customer_id": "P", "name": "Prospect Pille"}])
    call(I, "POST", "/v1/orders", json=[order(i, "A") for i in range(1, 6)]
         + [order(10, "B")])


def test_list_filters_pages_and_reads_the_card(call):
    business(call)
    assert call("admin", "POST", "/v1/map/rebuild").status_code == 200
    page = call("readonly", "GET", "/v1/customers", params={"limit": 2}).json()
    assert [c["customer_id"] for c in page["items"]] == ["A", "B"]
    rest = call("readonly", "GET", "/v1/customers",
                params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [c["customer_id"] for c in rest["items"]] == ["P"] and rest["next_cursor"] is None

    def ids(**params: Any) -> list[str]:
        r = call("readonly", "GET", "/v1/customers", params=params)
        assert r.status_code == 200, r.text
        return [c["customer_id"] for c in r.json()["items"]]

    assert ids(rung="regular") == ["A"]
    assert ids(rung="prospect") == ["P"]
    assert ids(manager="Jaan") == ["B"]
    assert ids(q="tamm") == ["A"] and ids(q="ALICE@") == ["A"]
    a = call("manager", "GET", "/v1/customers/A").json()
    assert ids(rfm_segment=a["rfm"]["segment"])[0] == "A"
    if a["signals"]:
        assert "A" in ids(signal=a["signals"][0])
    if a["traits"]:
        assert "A" in ids(trait=a["traits"][0])
    assert a["rung"] == "regular" and a["facts"]["orders"] == 5
    assert [e["about"] for e in a["evidence"]][:2] == ["rung", "status"]
    assert len(a["evidence_text"]) == len(a["evidence"])
    assert [o["order_id"] for o in a["orders"]] == [f"O{i}" for i in range(1, 6)]
    portfolio = call("readonly", "GET", "/v1/portfolio").json()
    assert portfolio["ladder"] and portfolio["metrics"]
    flow = call("readonly", "GET", "/v1/ladder/flow").json()
    assert set(flow) == {"as_of", "as_of_source", "flow", "ladder"}


def test_export_holds_everything_and_erase_keeps_the_money(call, services):
    business(call)
    call(I, "POST", "/v1/events", json={"type": "feedback", "customer_id": "A",
                                        "at": "2024-03-01T00:00:00", "nps": 4,
                                        "text": "call me on 5551234"})
    member = call(I, "POST", "/v1/customers/A/membership",
                  json={"consent": True, "email": "alice@example.com", "birthday": "1990-05-01"})
    assert member.status_code == 201, member.text
    call("admin", "POST", "/v1/map/rebuild")
    export = call("manager", "GET", "/v1/customers/A/export").json()
    tables = export["tables"]
    assert tables["customers"][0]["email"] == "alice@example.com"
    # the loyalty programme's records come with it
    assert tables["loyalty_members"][0]["email_norm"] == "alice@example.com"
    assert str(tables["loyalty_members"][0]["birthday"]).startswith("1990-05-01")
    ledger = tables["loyalty_ledger"]
    assert ledger
    assert len(tables["orders"]) == 5 and tables["feedback"][0]["text"]
    assert tables["customer_map"][0]["rung"] == "regular"
    revenue_before = tables["customer_map"][0]["revenue"]
    r = call("admin", "POST", "/v1/customers/A/erase")
    assert r.status_code == 200 and r.json()["erased"]["customers"] == 1
    after = call("manager", "GET", "/v1/customers/A/export").json()["tables"]
    card = after["customers"][0]
    assert (card["name"], card["email"], card["phone"]) == (None, None, None)
    assert after["feedback"][0]["text"] is None and after["feedback"][0]["nps"] == 4
    # the member's contact data is gone, the points ledger (money's worth) is kept
    assert (after["loyalty_members"][0]["email_norm"], after["loyalty_members"][0]["birthday"]
            ) == (None, None)
    assert after["loyalty_ledger"] == ledger
    assert [o["amount"] for o in after["orders"]] == [o["amount"] for o in tables["orders"]]
    call("admin", "POST", "/v1/map/rebuild")
    assert call("readonly", "GET", "/v1/customers/A").json()["facts"]["revenue"] == (
        revenue_before)
    assert any(e["action"].endswith("/erase") for e in services.store.audit_entries())


@pytest.fixture
def api_overrides():
    return {"live_map": True, "webhook_backoff_seconds": 0.2}


def test_an_order_moves_the_customer_live_and_a_signed_webhook_tells(call, services):
    business(call)
    call("admin", "POST", "/v1/map/rebuild")
    assert call("readonly", "GET", "/v1/customers/B").json()["rung"] == "newcomer"
    with Receiver(fail=2) as receiver:
        sub = call("admin", "POST", "/v1/webhooks",
                   json={"url": receiver.url, "events": ["rung_changed", "signal_raised"]})
        assert sub.status_code == 201
        secret = sub.json()["secret"]
        assert "secret" not in call("admin", "GET", "/v1/webhooks").json()[0] or \
            call("admin", "GET", "/v1/webhooks").json()[0]["secret"] is None
        call(I, "POST", "/v1/orders", json=order(11, "B"))
        assert services.live.flush(60)
        assert call("readonly", "GET", "/v1/customers/B").json()["rung"] == "returning"
        wait_for(lambda: receiver.got)
    headers, body = receiver.got[0]
    event = json.loads(body)
    assert event["type"] == "rung_changed" and event["customer_id"] == "B"
    assert event["data"] == {"from": "newcomer", "to": "returning"}
    assert verify(secret, headers[SIGNATURE_HEADER], body)
    assert not verify("whsec_wrong", headers[SIGNATURE_HEADER], body)
    assert not verify(secret, headers[SIGNATURE_HEADER], body + b" ")
    log = call("admin", "GET", "/v1/webhooks/deliveries").json()
    attempts = [a for a in log["attempts"] if a["outbox_id"] == int(headers["Regulars-Delivery"])]
    assert [a["status_code"] for a in attempts] == [503, 503, 204]
    assert services.live.stats.last_lag_seconds < 30


def test_a_delivery_that_never_succeeds_is_given_up(services):
    from datetime import datetime

    services.webhooks.max_attempts = 3
    services.webhooks.backoff = 0.01
    sub = services.webhooks.subscribe("http://127.0.0.1:9/closed", ["rung_changed"],
                                      key_id="k")
    services.webhooks.publish([{"id": "e1", "type": "rung_changed", "customer_id": "X",
                                "data": {}}])
    for _ in range(3):
        time.sleep(0.05)
        services.webhooks.deliver_due(datetime(2100, 1, 1))
    outbox = services.store.outbox()
    assert [(o["state"], o["attempts"]) for o in outbox] == [("failed", 3)]
    assert all(d["status_code"] is None and d["error"] for d in services.store.deliveries())
    assert sub["secret"].startswith("whsec_")


def test_the_card_has_no_predictions_when_the_base_is_too_small_for_a_model(call):
    business(call)  # two buyers: below the 20 customers a model needs
    assert call("admin", "POST", "/v1/map/rebuild").status_code == 200
    card = call("readonly", "GET", "/v1/customers/A").json()
    assert card["predictions"] is None
    assert "predictions" in call("admin", "GET", "/v1/map").json()["not_evaluated"]


def test_the_list_filters_by_loyalty_tier(call):
    business(call)
    enrolled = call(I, "POST", "/v1/customers/A/membership", json={"consent": True})
    assert enrolled.status_code == 201, enrolled.text
    assert call("admin", "POST", "/v1/map/rebuild").status_code == 200
    tier = call("manager", "GET", "/v1/customers/A/tier").json()["tier"]

    def listed(**params: Any) -> list[tuple[str, str | None]]:
        r = call("readonly", "GET", "/v1/customers", params=params)
        assert r.status_code == 200, r.text
        return [(c["customer_id"], c["tier"]) for c in r.json()["items"]]

    assert listed(tier=tier) == [("A", tier)]  # B and P are not members
    assert listed(tier="no such tier") == []
    assert dict(listed())["B"] is None
