"""One audit service and one way to raise loyalty webhooks for every channel: the same loyalty
operations made over HTTP, with ``regulars points`` and with ``regulars.open_loyalty()`` are
each in the audit log under their caller and channel, and a tier change made by any of them
queues the same ``tier_changed`` event.

The default programme: a sign-up bonus of 100 points; tiers base (0), silver (500 spent)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from typer.testing import CliRunner

from regulars import bootstrap
from regulars.domain.loyalty import Purchase
from regulars.entrypoints.cli.app import app
from regulars.services.api import ApiServices
from regulars.services.audit import os_user

I = "integration"  # noqa: E741
YESTERDAY = datetime.now(UTC) - timedelta(days=1)


def _entries(services: ApiServices, use_case: str) -> list[dict[str, Any]]:
    """The audit entries of one use case, oldest first."""
    return [e for e in reversed(services.store.audit_entries(1000))
            if e["use_case"] == use_case]


def _tier_events(services: ApiServices) -> dict[str, dict[str, Any]]:
    """The queued ``tier_changed`` events by member: (id, data)."""
    out = {}
    for o in services.store.outbox():
        if o["event"] == "tier_changed":
            event = json.loads(o["payload"])
            out[event["customer_id"]] = {"id": event["id"], "data": event["data"]}
    return out


def _cli(url: str, *args: str) -> None:
    done = CliRunner().invoke(app, ["points", *args, "--database-url", url])
    assert done.exit_code == 0, done.output


def test_the_cli_python_and_http_write_the_same_audit_entries_under_their_channels(
        api_settings, services, call, keys):
    url = api_settings.database_url
    services.webhooks.subscribe("http://127.0.0.1:9/hook", ["tier_changed"], key_id="test")
    assert services.loyalty.publish_tier_changes() == 0  # a server has started: the cursor

    # the same three operations through each channel
    _cli(url, "enrol", "M1")
    _cli(url, "adjust", "M1", "30", "--reason", "goodwill", "--actor", "anna", "--key", "k1")
    _cli(url, "accrue", "O1", "M1", "600", "--at", YESTERDAY.isoformat())
    _cli(url, "enrol", "M1")  # again: the first enrolment answers

    with bootstrap.open_loyalty(api_settings) as points:
        points.enrol("M3")
        points.adjust("M3", 30, reason="goodwill", actor="anna", key="k3")
        points.accrue(Purchase("O3", "M3", YESTERDAY, Decimal(600)))

    assert call(I, "POST", "/v1/customers/M2/membership", json={"consent": True}
                ).status_code == 201
    assert call("admin", "POST", "/v1/customers/M2/points/adjustments",
                json={"points": 30, "reason": "goodwill"}).status_code == 201
    assert call(I, "POST", "/v1/orders", json={
        "order_id": "O2", "customer_id": "M2", "amount": "600",
        "ordered_at": YESTERDAY.isoformat()}).status_code == 201
    services.loyalty.publish_tier_changes()  # the server's worker, woken by the request

    user = os_user()
    http_key = keys[I].split("_")[1]
    admin_key = keys["admin"].split("_")[1]
    enrolments = _entries(services, "loyalty.enrol")
    assert [(e["channel"], e["key_id"], e["action"], e["subject"], e["outcome"], e["status"])
            for e in enrolments] == [
        ("cli", f"cli:{user}"[:32], "regulars points enrol", "M1", "created", None),
        ("cli", f"cli:{user}"[:32], "regulars points enrol", "M1", "replayed", None),
        ("python", f"python:{user}"[:32], "loyalty.enrol", "M3", "created", None),
        ("http", http_key, "POST /v1/customers/{id}/membership", "M2", "created", 201)]
    assert json.loads(enrolments[0]["detail"]) == {
        "consent": True, "referred_by": None, "bonus_points": 100, "replayed": False}
    assert json.loads(enrolments[1]["detail"])["bonus_points"] == 100  # the first answer

    adjustments = _entries(services, "loyalty.adjust")
    assert [(e["channel"], e["key_id"], e["subject"], e["outcome"], e["status"])
            for e in adjustments] == [
        ("cli", f"cli:{user}"[:32], "M1", "created", None),
        ("python", f"python:{user}"[:32], "M3", "created", None),
        ("http", admin_key, "M2", "created", 201)]
    assert {e["detail"] for e in adjustments} == {
        json.dumps({"points": 30, "reason": "goodwill", "replayed": False})}

    # an order over HTTP is audited as the ingest (its accrual inside it); the CLI's and
    # Python's accruals as the accrual: 600 spent at the base tier earns 600 points
    accruals = _entries(services, "loyalty.accrue")
    assert [(e["channel"], e["subject"], json.loads(e["detail"])) for e in accruals] == [
        ("cli", "M1", {"order_id": "O1", "points": 600, "status": "pending",
                       "replayed": False}),
        ("python", "M3", {"order_id": "O3", "points": 600, "status": "pending",
                          "replayed": False})]
    ingests = _entries(services, "ingest")
    assert [(e["channel"], e["action"], e["subject"], e["outcome"], e["status"])
            for e in ingests] == [("http", "POST /v1/orders", "O2", "created", 201)]

    # each balance: 100 for signing up, 30 by hand; the 600 points wait for the return window
    for member in ("M1", "M2", "M3"):
        statement = services.loyalty.service.statement(member, history=0)
        assert (statement.balance, statement.pending, statement.tier) == (130, 600, "silver")

    # the same tier_changed event for each, queued at once by the CLI and Python
    events = _tier_events(services)
    assert set(events) == {"M1", "M2", "M3"}
    for member, event in events.items():
        history = services.loyalty.service.tier_history(member)
        assert event == {"id": f"tier-{history[0]['id']}",
                         "data": {"from": "base", "to": "silver", "change": "upgrade"}}

    # and the admin sees the channel in GET /v1/audit
    listed = call("admin", "GET", "/v1/audit").json()
    assert {e["channel"] for e in listed} == {"cli", "python", "http"}


def test_the_cli_run_is_audited_and_publishes_its_tier_changes(api_settings, services):
    url = api_settings.database_url
    services.webhooks.subscribe("http://127.0.0.1:9/hook", ["tier_changed"], key_id="test")
    assert services.loyalty.publish_tier_changes() == 0
    with bootstrap.open_loyalty(api_settings) as points:
        points.enrol("M1")
    _cli(url, "run")
    run = _entries(services, "loyalty.run")
    assert len(run) == 1
    entry = run[0]
    assert (entry["channel"], entry["action"], entry["outcome"], entry["status"]) == (
        "cli", "regulars points run", "done", None)
    detail = json.loads(entry["detail"])
    assert detail["complete"] is True and detail["dry_run"] is False
    assert (detail["released_points"], detail["expired_points"], detail["tier_changes"]) == (
        0, 0, [])
    # the steps inside the run are covered by its one entry
    assert _entries(services, "loyalty.release") == []
    assert _entries(services, "loyalty.expire") == []
    assert _tier_events(services) == {}
