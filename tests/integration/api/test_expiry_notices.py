"""``points_expiring`` webhooks end to end: orders over HTTP, a subscribed receiver on
loopback, ``POST /v1/loyalty/expiry-notices``, the server's periodic check and
``regulars points notify-expiring`` — one signed event per member and expiry date, never twice.

The programme: points available at once, ``expiry_days = 30`` in Europe/Tallinn, so an order
placed on local day D expires at local midnight starting D + 31 days; its last day is D + 30.
Orders are placed days before the real now (the server's check runs at the real now)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from regulars.config import Settings
from regulars.entrypoints.cli.app import app
from regulars.services.api.webhooks import SIGNATURE_HEADER, verify

from .conftest import Receiver, wait_for

I = "integration"  # noqa: E741
TZ = ZoneInfo("Europe/Tallinn")
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def api_settings(store_url: str) -> Settings:
    from regulars import bootstrap

    api = {"live_map": False, "map_as_of": "last_order", "rate_limit": 100_000,
           "rate_burst": 100_000, "webhook_backoff_seconds": 0.2}
    loyalty = {"bonus_sign_up": 0, "release": "immediately", "expiry_days": 30,
               "timezone": "Europe/Tallinn"}
    return bootstrap.load_settings(database_url=store_url, api=api, loyalty=loyalty)


def placed(days_ago: int) -> datetime:
    return NOW - timedelta(days=days_ago)


def expiry(at: datetime) -> tuple[str, str]:
    """(expires_at in UTC, last day) of points earned at ``at``, by the rule above."""
    day = at.astimezone(TZ).date() + timedelta(days=30)
    ends = datetime.combine(day + timedelta(days=1), clock_time(0), tzinfo=TZ)
    return ends.astimezone(UTC).isoformat(), day.isoformat()


def order(oid: str, customer: str, amount: int, days_ago: int) -> dict[str, Any]:
    return {"order_id": oid, "customer_id": customer,
            "ordered_at": placed(days_ago).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "amount": f"{amount}.00"}


def business(call) -> None:
    """C1: 100 points expiring in about 5 days, 60 in about 10, 40 in about 25 (outside the
    window of 14); C2: 70 points expiring in about 5 days, all spent; C3: 30 in about 6."""
    for c in ("C1", "C2", "C3"):
        r = call(I, "POST", f"/v1/customers/{c}/membership", json={"consent": True})
        assert r.status_code == 201, r.text
    orders = [order("O1", "C1", 100, 25), order("O2", "C1", 60, 20), order("O3", "C1", 40, 5),
              order("O4", "C2", 70, 25), order("O5", "C3", 30, 24)]
    r = call(I, "POST", "/v1/orders", json=orders)
    assert r.status_code in (200, 201), r.text
    spent = call("manager", "POST", "/v1/customers/C2/points/adjustments",
                 json={"points": -70, "reason": "paid with points"})
    assert spent.status_code == 201, spent.text


def expected() -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for member, days_ago, points, balance in (("C1", 25, 100, 200), ("C1", 20, 60, 200),
                                              ("C3", 24, 30, 30)):
        expires_at, last_day = expiry(placed(days_ago))
        out[(member, expires_at)] = {"member_id": member, "points": points,
                                     "expires_at": expires_at, "last_day": last_day,
                                     "balance": balance, "consent": True}
    return out


def test_no_subscriber_means_nothing_is_sent_nor_recorded(call, services):
    business(call)
    r = call("admin", "POST", "/v1/loyalty/expiry-notices")
    assert r.status_code == 200, r.text
    assert r.json()["subscribers"] == 0 and r.json()["sent"] == 0
    call("admin", "POST", "/v1/webhooks",
         json={"url": "http://127.0.0.1:9/closed", "events": ["points_expiring"]})
    r = call("manager", "POST", "/v1/loyalty/expiry-notices")
    assert (r.json()["subscribers"], r.json()["sent"]) == (1, 3)


def test_each_member_and_expiry_date_gets_one_signed_event_and_never_another(call, services):
    business(call)
    with Receiver() as receiver:
        sub = call("admin", "POST", "/v1/webhooks",
                   json={"url": receiver.url, "events": ["points_expiring"]})
        assert sub.status_code == 201, sub.text
        secret = sub.json()["secret"]
        r = call("admin", "POST", "/v1/loyalty/expiry-notices")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["sent"], body["members"], body["points"]) == (3, 2, 190)
        assert body["within_days"] == 14 and body["subscribers"] == 1
        wait_for(lambda: len(receiver.got) >= 3)
        again = call("manager", "POST", "/v1/loyalty/expiry-notices").json()
        assert again["sent"] == 0
        time.sleep(0.5)  # nothing more arrives
        assert len(receiver.got) == 3

    want = expected()
    seen = {}
    for headers, raw in receiver.got:
        assert verify(secret, headers[SIGNATURE_HEADER], raw)
        assert headers["Regulars-Event"] == "points_expiring"
        event = json.loads(raw)
        assert event["type"] == "points_expiring"
        assert event["customer_id"] == event["data"]["member_id"]
        seen[(event["customer_id"], event["data"]["expires_at"])] = event["data"]
    assert seen == want

    # the notices are part of what a customer's export holds
    exported = call("admin", "GET", "/v1/customers/C1/export")
    assert exported.status_code == 200, exported.text
    assert len(exported.json()["tables"]["loyalty_expiry_notices"]) == 2
    audit = [e for e in services.store.audit_entries()
             if e["action"] == "POST /v1/loyalty/expiry-notices"]
    assert len(audit) == 2


def test_a_wider_window_and_a_later_moment_send_only_what_is_new(call, services):
    business(call)
    call("admin", "POST", "/v1/webhooks",
         json={"url": "http://127.0.0.1:9/closed", "events": ["points_expiring"]})
    assert call("admin", "POST", "/v1/loyalty/expiry-notices").json()["sent"] == 3
    wider = call("admin", "POST", "/v1/loyalty/expiry-notices", json={"within_days": 40})
    assert (wider.json()["sent"], wider.json()["points"]) == (1, 40)  # O3 only
    bad = call("admin", "POST", "/v1/loyalty/expiry-notices", json={"within_days": 0})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    payloads = [json.loads(o["payload"]) for o in services.store.outbox()]
    assert sorted(p["data"]["points"] for p in payloads) == [30, 40, 60, 100]


def test_the_server_checks_at_start_and_a_restart_sends_nothing_twice(call, services):
    business(call)
    call("admin", "POST", "/v1/webhooks",
         json={"url": "http://127.0.0.1:9/closed", "events": ["points_expiring"]})
    worker = services.expiry_notices
    assert worker is not None and worker.interval == 3600  # hourly by default
    wait_for(lambda: worker.runs >= 1)  # the run at start (before the subscription)
    for _restart in range(2):
        worker.stop()
        before = worker.runs
        worker.start()
        wait_for(lambda before=before: worker.runs > before)
        assert len(services.store.outbox()) == 3


def test_the_cli_queues_the_notices_once(api_settings, call, services, monkeypatch, tmp_path):
    business(call)
    call("admin", "POST", "/v1/webhooks",
         json={"url": "http://127.0.0.1:9/closed", "events": ["points_expiring"]})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "regulars.toml").write_text(
        '[loyalty]\nrelease = "immediately"\nexpiry_days = 30\ntimezone = "Europe/Tallinn"\n'
        'bonus_sign_up = 0\n', encoding="utf-8")
    runner = CliRunner()
    url = api_settings.database_url
    # thirty days ago, nothing expired within the next 14 days
    at = (NOW - timedelta(days=30)).astimezone(TZ).date().isoformat()
    early = runner.invoke(app, ["points", "notify-expiring", "--at", at, "--json",
                                "--database-url", url])
    assert early.exit_code == 0, early.output
    assert json.loads(early.output)["sent"] == 0
    first = runner.invoke(app, ["points", "notify-expiring", "--within", "14", "--json",
                                "--database-url", url])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["sent"] == 3
    second = runner.invoke(app, ["points", "notify-expiring", "--database-url", url])
    assert second.exit_code == 0, second.output
    assert "0 points_expiring notices" in second.output
    assert len(services.store.outbox()) == 3
    bad = runner.invoke(app, ["points", "notify-expiring", "--within", "0",
                              "--database-url", url])
    assert bad.exit_code == 2



def test_expiry_notices_refuse_a_future_moment_naming_at(call):
    """As POST /v1/loyalty/run does: a notice recorded for a moment still to come would keep
    the real one from going out (issue 14)."""
    r = call("admin", "POST", "/v1/loyalty/expiry-notices",
             json={"at": "2099-01-01T00:00:00Z"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "at"
