"""The tasks over HTTP with a real client against the app (SQLite and PostgreSQL): roles,
idempotency and problem+json for every bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from regulars.domain.tables import Kind

TOMORROW = (date.today() + timedelta(days=2)).isoformat()


@pytest.fixture
def crm(services, keys):
    services.ingest.run([
        (Kind.CUSTOMERS, {"customer_id": "C1", "name": "Anna Tamm", "manager": "Mari"}),
        (Kind.CUSTOMERS, {"customer_id": "C2", "name": "Boris Kask", "manager": "Jaan"}),
    ])
    mari = services.keys.create("manager", "Mari's phone", manager="Mari")[0]
    jaan = services.keys.create("manager", "Jaan's phone", manager="Jaan")[0]
    return {**keys, "mari": mari, "jaan": jaan}


def _auth(key):
    return {"Authorization": f"Bearer {key}"}


def _add(client, key, customer, **extra):
    body = {"customer_id": customer, "due_on": TOMORROW, "action": "call", **extra}
    return client.post("/v1/tasks", json=body, headers=_auth(key))


def test_a_manager_sees_and_closes_its_own_tasks_only(client, crm):
    mine = _add(client, crm["mari"], "C1")
    assert mine.status_code == 201, mine.text
    tid = mine.json()["task_id"]
    assert mine.json()["owner"] == "Mari" and mine.json()["name"] == "Anna Tamm"
    theirs = _add(client, crm["admin"], "C2").json()["task_id"]
    listed = client.get("/v1/tasks", headers=_auth(crm["mari"])).json()
    assert [t["task_id"] for t in listed] == [tid]
    assert len(client.get("/v1/tasks", headers=_auth(crm["admin"])).json()) == 2
    other = client.get("/v1/tasks", params={"owner": "Jaan"}, headers=_auth(crm["mari"]))
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    closing = client.post(f"/v1/tasks/{theirs}/done", json={"outcome": "reached"},
                          headers=_auth(crm["mari"]))
    assert closing.status_code == 404
    done = client.post(f"/v1/tasks/{tid}/done", json={"outcome": "ordered", "note": "2 boxes"},
                       headers=_auth(crm["mari"]))
    assert done.status_code == 200 and done.json()["state"] == "done"


def test_other_roles_and_unbound_manager_keys_may_not(client, crm):
    for role in ("integration", "readonly"):
        assert client.get("/v1/tasks", headers=_auth(crm[role])).status_code == 403
    unbound = client.get("/v1/tasks", headers=_auth(crm["manager"]))
    assert unbound.status_code == 403
    assert "bound to no manager" in unbound.json()["detail"]


def test_a_closed_task_answers_409_and_a_retry_with_its_key_replays(client, crm):
    tid = _add(client, crm["admin"], "C1").json()["task_id"]
    headers = {**_auth(crm["admin"]), "Idempotency-Key": "done-1"}
    first = client.post(f"/v1/tasks/{tid}/done", json={"outcome": "no_answer"},
                        headers=headers)
    again = client.post(f"/v1/tasks/{tid}/done", json={"outcome": "no_answer"},
                        headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    other = client.post(f"/v1/tasks/{tid}/done", json={"outcome": "reached"}, headers=headers)
    assert other.status_code == 409 and other.json()["type"] == "/problems/idempotency-conflict"
    closed = client.post(f"/v1/tasks/{tid}/done", json={"outcome": "reached"},
                         headers=_auth(crm["admin"]))
    assert closed.status_code == 409 and closed.json()["type"] == "/problems/task-closed"


def test_bad_input_is_a_problem_naming_the_field(client, crm):
    tid = _add(client, crm["admin"], "C1").json()["task_id"]
    past = client.post(f"/v1/tasks/{tid}/snooze", json={"until": "2020-01-01"},
                       headers=_auth(crm["admin"]))
    assert past.status_code == 422
    assert past.json()["errors"][0]["field"] == "until"
    nobody = client.post(f"/v1/tasks/{tid}/reassign", json={"owner": "Nobody"},
                         headers=_auth(crm["admin"]))
    assert nobody.status_code == 422
    assert nobody.json()["errors"][0]["known"] == ["Jaan", "Mari"]
    unknown = _add(client, crm["admin"], "C404")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "customer_id"
    outcome = client.post(f"/v1/tasks/{tid}/done", json={"outcome": "maybe"},
                          headers=_auth(crm["admin"]))
    assert outcome.status_code == 422 and outcome.json()["errors"][0]["field"] == "outcome"
    missing = client.post("/v1/tasks/nope/cancel", json={}, headers=_auth(crm["admin"]))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_the_report_answers_per_manager(client, crm):
    tid = _add(client, crm["admin"], "C1").json()["task_id"]
    client.post(f"/v1/tasks/{tid}/done", json={"outcome": "reached"},
                headers=_auth(crm["admin"]))
    r = client.get("/v1/tasks/report", headers=_auth(crm["mari"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["manager"] for m in body["managers"]] == ["Mari"]
    assert body["managers"][0]["done"] == 1 and body["managers"][0]["effect"]["pending"] == 1
    assert "not a causal claim" in body["observation"]


def test_days_are_iso_text_not_a_number_of_seconds(client, crm):
    """pydantic alone reads ``0`` as 1970-01-01: a day in a query or a body is YYYY-MM-DD."""
    for params in ({"due_to": "0"}, {"due_from": "1700000000"}):
        got = client.get("/v1/tasks", params=params, headers=_auth(crm["admin"]))
        assert got.status_code == 422, (params, got.text)
        assert got.json()["errors"][0]["field"].split(".")[-1] in params
    report = client.get("/v1/tasks/report", params={"until": "0"}, headers=_auth(crm["admin"]))
    assert report.status_code == 422
    epoch = _add(client, crm["admin"], "C1", due_on=0)
    assert epoch.status_code == 422
    assert epoch.json()["errors"][0]["field"].split(".")[-1] == "due_on"
    fine = client.get("/v1/tasks", params={"due_from": "2025-01-01"}, headers=_auth(crm["admin"]))
    assert fine.status_code == 200
