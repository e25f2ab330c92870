"""``/v1/goals`` over real HTTP on PostgreSQL: who may read and set goals, idempotent
creation, problem documents naming the field, retiring, and the readings."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"analysis": {"predictions": False}}


def _orders(services) -> None:
    from regulars.domain.tables import Kind

    # B: 3 orders by 20 Feb (a regular), C: 2 orders (5 and 28 Feb); the data ends on 28 Feb
    services.ingest.run([(Kind.ORDERS, {"order_id": f"{c}{i}", "customer_id": c,
                                        "ordered_at": datetime(2024, 2, d, 10), "amount": 10})
                         for c, days in (("B", (1, 10, 20)), ("C", (5, 28)))
                         for i, d in enumerate(days)])


def test_goals_over_http(call, services):
    _orders(services)
    body = {"metric": "share_of_regulars", "target": 75, "due_on": "2024-12-31",
            "starts_on": "2024-02-25", "note": "three in four"}
    assert call("readonly", "POST", "/v1/goals", json=body).status_code == 403
    assert call("integration", "GET", "/v1/goals").status_code == 403

    made = call("admin", "POST", "/v1/goals", json=body, headers={"Idempotency-Key": "k1"})
    assert made.status_code == 201, made.text
    goal = made.json()
    assert goal["baseline"] == 50  # 25 Feb: B (3 orders) of B and C
    assert goal["readings"] == [{"as_of": "2024-02-25", "value": 50.0}]
    # a retry answers the same goal; another body under the key is a conflict
    again = call("admin", "POST", "/v1/goals", json=body, headers={"Idempotency-Key": "k1"})
    assert again.status_code in (200, 201) and again.json()["goal_id"] == goal["goal_id"]
    clash = call("admin", "POST", "/v1/goals", json={**body, "target": 80},
                 headers={"Idempotency-Key": "k1"})
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert len(call("readonly", "GET", "/v1/goals").json()) == 1

    bad = call("admin", "POST", "/v1/goals", json={**body, "target": 120})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "target"
    wrong = call("admin", "POST", "/v1/goals",
                 json={**body, "metric": "share_of_regulars", "segment": "loyal"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "segment"
    late = call("admin", "POST", "/v1/goals", json={**body, "due_on": "2024-01-01"})
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "due_on"

    assert call("readonly", "GET", "/v1/goals/track").json() == {
        "running": False, "started_at": None, "again": False, "finished_at": None,
        "readings_written": None, "failed": False}
    tracked = call("admin", "POST", "/v1/goals/track")
    assert tracked.status_code == 202 and tracked.headers["location"] == "/v1/goals/track"
    assert tracked.json()["started_at"] is not None
    deadline = time.monotonic() + 60
    while (status := call("readonly", "GET", "/v1/goals/track").json())["running"]:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["started_at"] == tracked.json()["started_at"] and not status["failed"]
    assert status["readings_written"] == 1  # today, 28 Feb (the start's is kept)
    readings = call("manager", "GET", f"/v1/goals/{goal['goal_id']}/readings").json()
    assert readings == [{"as_of": "2024-02-25", "value": 50.0},
                        {"as_of": "2024-02-28", "value": 50.0}]
    shown = call("readonly", "GET", f"/v1/goals/{goal['goal_id']}").json()
    # 50 → 75 from 25 Feb to 31 Dec (310 days): 3 days on the path is at 50.24, 50 is behind
    assert shown["progress"]["state"] == "behind" and shown["progress"]["value"] == 50
    assert shown["progress"]["expected"] == pytest.approx(50 + 25 * 3 / 310)

    assert call("readonly", "POST", f"/v1/goals/{goal['goal_id']}/retire").status_code == 403
    retired = call("admin", "POST", f"/v1/goals/{goal['goal_id']}/retire")
    assert retired.status_code == 200 and retired.json()["retired_at"]
    assert call("readonly", "GET", "/v1/goals").json() == []
    assert len(call("readonly", "GET", "/v1/goals", params={"retired": "true"}).json()) == 1
    # both changes are in the audit log, with the key and the route
    audit = [(e["use_case"], e["action"], e["subject"])
             for e in call("admin", "GET", "/v1/audit").json()]
    assert ("goals.set", "POST /v1/goals", goal["goal_id"]) in audit
    assert ("goals.retire", "POST /v1/goals/{id}/retire", goal["goal_id"]) in audit
    assert goal["created_by"].startswith("api-key:")

    missing = call("admin", "POST", "/v1/goals/nope/retire")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
