"""GET /v1/worklist on SQLite and PostgreSQL: the lists of the served map, 404 problems for an
unknown manager or before a map, 422 for a bad date."""

from __future__ import annotations

from typing import Any

import pytest

from regulars import api
from regulars.config import Settings
from regulars.demo import DemoSpec, generate_business
from regulars.domain.tables import IMPORT_ORDER


@pytest.fixture
def api_settings(database_url: str, api_overrides: dict[str, Any]) -> Settings:
    """A demo business imported before the server opens the store: the importer's SQLite
    (ADBC) and the server's must not have one file open at once."""
    settings = api.load_settings(None, database_url=database_url, api={
        "live_map": False, "rate_limit": 100_000, "rate_burst": 100_000})
    tables = generate_business(DemoSpec(customers=600, seed=7))
    for kind in IMPORT_ORDER:
        api.import_file(kind, tables[kind.value], settings=settings)
    return settings


def test_the_worklist_of_the_served_map(call, services):
    before = call("admin", "GET", "/v1/worklist")
    assert before.status_code == 404
    assert before.headers["content-type"].startswith("application/problem+json")
    services.rebuild_map(None)

    got = call("admin", "GET", "/v1/worklist", params={"limit": 4})
    assert got.status_code == 200, got.text
    data = got.json()
    assert data["managers"] and len(data["lists"]) == len(data["managers"])
    ids = [s["customer_id"] for lst in data["lists"] for s in lst["items"] + lst["held_back"]]
    assert len(ids) == len(set(ids))
    assert all(len(lst["items"]) <= 4 for lst in data["lists"])
    items = [s for lst in data["lists"] for s in lst["items"]]
    assert items and all(s["money_at_stake"] >= 0 and s["action"] and s["reason_text"]
                         for s in items)
    # the served map's evidence gives the money at stake the analysis gave
    assert any(s["money_at_stake"] > 0 for s in items)

    name = data["managers"][0]
    one = call("admin", "GET", "/v1/worklist", params={"manager": name, "date": "2025-12-30"})
    assert one.status_code == 200
    assert [lst["manager"] for lst in one.json()["lists"]] == [name]
    assert one.json()["date"] == "2025-12-30"

    unknown = call("admin", "GET", "/v1/worklist", params={"manager": "Nobody"})
    assert unknown.status_code == 404
    body = unknown.json()
    assert body["type"] == "/problems/unknown-manager" and name in body["detail"]
    bad = call("admin", "GET", "/v1/worklist", params={"date": "2025-13-40"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert call("readonly", "GET", "/v1/worklist").status_code == 403

    # a manager's key sees that manager's list only; a manager key bound to no one, none
    own = services.keys.create("manager", "phone", manager=name)[0]
    mine = call(own, "GET", "/v1/worklist", params={"limit": 2})
    assert mine.status_code == 200, mine.text
    assert [lst["manager"] for lst in mine.json()["lists"]] == [name]
    other = data["managers"][1]
    assert call(own, "GET", "/v1/worklist", params={"manager": other}).status_code == 403
    unbound = call("manager", "GET", "/v1/worklist")
    assert unbound.status_code == 403 and "--manager" in unbound.json()["detail"]
