"""``tier_changed`` webhooks come from the tier history, whatever changed the tier: the CLI
(as cron runs it), Python, or an API request — each history row reaches a subscribed
receiver once, signed; a restart sends nothing again, the first start does not replay old
history, and publishers running side by side on one database queue each row once.

The default programme: tiers base (0), silver (500 spent), gold (2000)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from regulars import bootstrap
from regulars.config import Settings
from regulars.domain.loyalty import Purchase
from regulars.entrypoints.cli.app import app
from regulars.services.api import ApiServices
from regulars.services.api.webhooks import SIGNATURE_HEADER, verify

from .conftest import Receiver, wait_for

I = "integration"  # noqa: E741


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"webhook_backoff_seconds": 0.2}



def settle(services: ApiServices) -> None:
    """Let the tier publisher run twice more and the outbox drain: whatever it would send
    has been sent."""
    worker = services.tier_events
    assert worker is not None
    runs = worker.runs
    worker.wake()
    wait_for(lambda: worker.runs >= runs + 1)
    worker.wake()
    wait_for(lambda: worker.runs >= runs + 2)
    wait_for(lambda: all(o["state"] != "pending" for o in services.store.outbox()))


def tier_events(services: ApiServices) -> list[dict[str, Any]]:
    return [json.loads(o["payload"]) for o in services.store.outbox()
            if o["event"] == "tier_changed"]


def upgrade(settings: Settings, member: str) -> None:
    """Enrol ``member`` and make them silver the way ``regulars points`` does: the loyalty
    service in a process of its own, no server, no request."""
    with bootstrap.open_loyalty(settings) as points:
        points.enrol(member, consent=True)
        points.accrue(Purchase(f"O-{member}", member, datetime.now(UTC) - timedelta(days=1),
                               Decimal(600)))


@pytest.fixture
def server(api_settings: Settings) -> Iterator[ApiServices]:
    """A server's workers (the tier publisher polls fast, for the test's sake)."""
    services = bootstrap.open_api(api_settings)
    assert services.tier_events is not None
    services.tier_events.interval = 0.2
    services.start()
    yield services
    services.stop()
    services.store.close()  # type: ignore[attr-defined]


def test_a_tier_change_made_by_the_cli_reaches_the_receiver_once_signed(
        api_settings, services, call):
    url = api_settings.database_url
    with Receiver() as receiver:
        sub = call("admin", "POST", "/v1/webhooks",
                   json={"url": receiver.url, "events": ["tier_changed"]}).json()
        runner = CliRunner()
        joined = runner.invoke(app, ["points", "enrol", "M7", "--database-url", url])
        assert joined.exit_code == 0, joined.output
        earned = runner.invoke(app, ["points", "accrue", "O1", "M7", "600",
                                     "--database-url", url])
        assert earned.exit_code == 0, earned.output
        wait_for(lambda: receiver.got)
        settle(services)
        assert len(receiver.got) == 1
    headers, body = receiver.got[0]
    assert headers["Regulars-Event"] == "tier_changed"
    assert verify(sub["secret"], headers[SIGNATURE_HEADER], body)
    event = json.loads(body)
    history = services.loyalty.service.tier_history("M7")
    assert len(history) == 1
    assert event["id"] == f"tier-{history[0]['id']}"
    assert event["type"] == "tier_changed" and event["customer_id"] == "M7"
    assert event["data"] == {"from": "base", "to": "silver", "change": "upgrade"}


def test_a_tier_change_over_the_api_is_sent_once_and_at_once(services, call):
    worker = services.tier_events
    worker.interval = 3600  # no polling: only the request's wake-up can send it
    worker.wake()
    wait_for(lambda: worker.runs >= 2)
    with Receiver() as receiver:
        call("admin", "POST", "/v1/webhooks",
             json={"url": receiver.url, "events": ["tier_changed"]})
        r = call(I, "POST", "/v1/customers/C1/membership", json={"consent": True})
        assert r.status_code == 201, r.text
        order = {"order_id": "O1", "customer_id": "C1", "amount": "600",
                 "ordered_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
        r = call(I, "POST", "/v1/orders", json=order)
        assert r.status_code == 201, r.text
        assert r.json()["points"][0]["id"] == "O1"
        wait_for(lambda: receiver.got, timeout=10)
        # a replay changes nothing, and the periodic run has no tier to change
        assert call(I, "POST", "/v1/orders", json=order).status_code == 200
        run = call("admin", "POST", "/v1/loyalty/run", json={})
        assert run.status_code == 200 and run.json()["tier_changes"] == []
        worker.interval = 0.2
        settle(services)
        assert len(receiver.got) == 1
    event = receiver.events()[0]
    assert event["customer_id"] == "C1"
    assert event["data"] == {"from": "base", "to": "silver", "change": "upgrade"}
    assert [e["id"] for e in tier_events(services)] == [event["id"]]


def test_a_restart_sends_nothing_again_and_goes_on_where_it_stopped(api_settings):
    with Receiver() as receiver:
        first = bootstrap.open_api(api_settings, start_workers=True)
        first.webhooks.subscribe(receiver.url, ["tier_changed"], key_id="test")
        first.tier_events.interval = 0.2
        upgrade(api_settings, "M1")
        wait_for(lambda: len(receiver.got) == 1)
        first.stop()
        first.store.close()
        # a change while no server runs is sent by the next one, with nothing before it
        upgrade(api_settings, "M2")
        second = bootstrap.open_api(api_settings)
        second.tier_events.interval = 0.2
        second.start()
        try:
            wait_for(lambda: len(receiver.got) == 2)
            settle(second)
            assert [e["customer_id"] for e in receiver.events()] == ["M1", "M2"]
            assert len(tier_events(second)) == 2
        finally:
            second.stop()
            second.store.close()


def test_the_first_start_does_not_replay_the_history_before_it(api_settings, services):
    for member in ("M1", "M2", "M3"):
        upgrade(api_settings, member)  # before any server published anything
    with Receiver() as receiver:
        services.webhooks.subscribe(receiver.url, ["tier_changed"], key_id="test")
        services.tier_events.interval = 0.2
        services.start()
        settle(services)
        assert tier_events(services) == [] and receiver.got == []
        upgrade(api_settings, "M4")
        wait_for(lambda: receiver.got)
        settle(services)
    assert [e["customer_id"] for e in receiver.events()] == ["M4"]


def test_publishers_side_by_side_queue_each_change_once(api_settings):
    """Two servers' publishers (small batches, in loops) while two writers record tier
    changes: every history row is queued exactly once."""
    a, b = bootstrap.open_api(api_settings), bootstrap.open_api(api_settings)
    a.webhooks.subscribe("http://127.0.0.1:9/hook", ["tier_changed"], key_id="test")
    assert a.loyalty.publish_tier_changes() == 0  # the cursor starts (empty history)
    members = [f"M{i:03d}" for i in range(60)]
    done = threading.Event()
    errors: list[BaseException] = []

    def write(part: list[str]) -> None:
        try:
            with bootstrap.open_loyalty(api_settings) as points:
                points.enrol_many([{"member_id": m} for m in part])
                for m in part:
                    points.accrue(Purchase(f"O-{m}", m, datetime.now(UTC), Decimal(600)))
        except BaseException as e:
            errors.append(e)

    def publish(services: ApiServices) -> None:
        try:
            while not done.is_set():
                services.loyalty.publish_tier_changes(batch=7)
        except BaseException as e:
            errors.append(e)

    writers = [threading.Thread(target=write, args=(members[i::2],)) for i in range(2)]
    publishers = [threading.Thread(target=publish, args=(s,)) for s in (a, b, a, b)]
    try:
        for t in writers + publishers:
            t.start()
        for t in writers:
            t.join(120)
        done.set()
        for t in publishers:
            t.join(120)
        assert errors == []
        a.loyalty.publish_tier_changes()
        b.loyalty.publish_tier_changes()
        ids = Counter(e["id"] for e in tier_events(a))
        history = [h for m in members for h in a.loyalty.service.tier_history(m)]
        assert len(history) == len(members)
        assert ids == Counter(f"tier-{h['id']}" for h in history)
    finally:
        for s in (a, b):
            s.stop()
            s.store.close()


def test_a_change_committed_late_under_a_lower_id_is_not_passed_over(postgres_url):
    """PostgreSQL hands out ids before commit: a publisher must not read past a row that
    is still being written (it waits for that transaction instead)."""
    import sqlalchemy as sa

    from regulars.adapters.db.tables import loyalty_tier_history

    settings = bootstrap.load_settings(database_url=postgres_url, api={"live_map": False})
    services = bootstrap.open_api(settings)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        services.webhooks.subscribe("http://127.0.0.1:9/hook", ["tier_changed"],
                                    key_id="test")
        assert services.loyalty.publish_tier_changes() == 0  # the cursor starts at 0

        def row(member: str) -> dict[str, Any]:
            return {"member_id": member, "at": datetime(2026, 1, 1), "from_tier": "base",
                    "to_tier": "silver", "change": "upgrade", "qualifying": Decimal(600)}

        slow = engine.connect()
        slow.begin()
        slow.execute(loyalty_tier_history.insert(), row("EARLY"))  # id 1, not committed
        with engine.begin() as conn:
            conn.execute(loyalty_tier_history.insert(), row("LATE"))  # id 2, committed
        published: list[int] = []
        worker = threading.Thread(
            target=lambda: published.append(services.loyalty.publish_tier_changes()))
        worker.start()
        time.sleep(0.5)
        slow.commit()
        slow.close()
        worker.join(30)
        assert published == [2]
        services.loyalty.publish_tier_changes()
        assert [(e["id"], e["customer_id"]) for e in tier_events(services)] == [
            ("tier-1", "EARLY"), ("tier-2", "LATE")]
    finally:
        engine.dispose()
        services.stop()
        services.store.close()  # type: ignore[attr-defined]
