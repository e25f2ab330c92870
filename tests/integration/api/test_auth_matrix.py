"""Every endpoint refuses what it must: no key or a bad key (401), the wrong role (403)."""

from __future__ import annotations

import pytest

from regulars.entrypoints.http import create_app

ALL = {"admin", "manager", "integration", "readonly"}
READERS = {"admin", "manager", "readonly"}
POINTS_READERS = ALL  # balances, tiers, referral codes: a till reads them too

ORDER = {"order_id": "M1", "customer_id": "C1", "ordered_at": "2024-01-01T00:00:00",
         "amount": 1}
# (method, path, json body, roles admitted)
ENDPOINTS = [
    ("POST", "/v1/customers", {"customer_id": "C1"}, {"admin", "integration"}),
    ("POST", "/v1/orders", ORDER, {"admin", "integration"}),
    ("POST", "/v1/returns", {"order_id": "M1", "returned_at": "2024-01-02T00:00:00",
                             "amount": 1}, {"admin", "integration"}),
    ("POST", "/v1/events", {"type": "feedback", "customer_id": "C1",
                            "at": "2024-01-02T00:00:00", "nps": 9}, {"admin", "integration"}),
    ("GET", "/v1/customers", None, READERS),
    ("GET", "/v1/customers/C1", None, READERS),
    ("GET", "/v1/customers/C1/export", None, {"admin", "manager"}),
    ("POST", "/v1/customers/C1/erase", None, {"admin"}),
    ("GET", "/v1/portfolio", None, READERS),
    ("GET", "/v1/ladder/flow", None, READERS),
    ("GET", "/v1/map", None, READERS),
    # a manager key bound to a manager sees its own list (tests/integration/api/
    # test_worklist_api.py); this matrix's manager key is bound to none
    ("GET", "/v1/worklist", None, {"admin"}),
    ("POST", "/v1/map/rebuild", None, {"admin"}),
    ("GET", "/v1/keys", None, {"admin"}),
    ("POST", "/v1/keys", {"role": "readonly"}, {"admin"}),
    ("POST", "/v1/keys/0000000000000000/rotate", None, {"admin"}),
    ("POST", "/v1/keys/0000000000000000/revoke", None, {"admin"}),
    ("GET", "/v1/webhooks", None, {"admin"}),
    ("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["rung_changed"]},
     {"admin"}),
    ("DELETE", "/v1/webhooks/nope", None, {"admin"}),
    ("GET", "/v1/webhooks/deliveries", None, {"admin"}),
    ("GET", "/v1/audit", None, {"admin"}),
    ("GET", "/v1/customers/C1/points", None, POINTS_READERS),
    ("GET", "/v1/customers/C1/tier", None, POINTS_READERS),
    ("POST", "/v1/customers/C1/membership", {"consent": True}, {"admin", "integration"}),
    ("POST", "/v1/customers/C1/redemptions", {"reward": "discount-5"},
     {"admin", "integration"}),
    ("GET", "/v1/coupons/RNOPE", None, POINTS_READERS),
    ("POST", "/v1/coupons/RNOPE/use", {"order_id": "O1"}, {"admin", "integration"}),
    ("POST", "/v1/coupons/RNOPE/cancellation", {"reason": "wrong reward"},
     {"admin", "integration"}),
    ("POST", "/v1/customers/C1/points/adjustments", {"points": 5, "reason": "goodwill"},
     {"admin", "manager"}),
    ("POST", "/v1/loyalty/quote", {"amount": "10"}, {"admin", "integration"}),
    ("GET", "/v1/loyalty/rewards", None, POINTS_READERS),
    ("GET", "/v1/referrals/RNOPE", None, POINTS_READERS),
    ("POST", "/v1/loyalty/run", None, {"admin"}),
    ("GET", "/v1/loyalty/runs/RUN0", None, {"admin"}),
    ("POST", "/v1/loyalty/expiry-notices", None, {"admin", "manager"}),
    # the tasks: a manager key bound to a manager is admitted too (its own tasks only,
    # tests/integration/tasks); this matrix's manager key is bound to none
    ("GET", "/v1/tasks", None, {"admin"}),
    ("GET", "/v1/tasks/report", None, {"admin"}),
    ("POST", "/v1/tasks", {"customer_id": "C1", "due_on": "2999-01-01", "action": "call"},
     {"admin"}),
    ("POST", "/v1/tasks/TNOPE/done", {"outcome": "reached"}, {"admin"}),
    ("POST", "/v1/tasks/TNOPE/snooze", {"until": "2999-01-01"}, {"admin"}),
    ("POST", "/v1/tasks/TNOPE/reassign", {"owner": "Mari"}, {"admin"}),
    ("POST", "/v1/tasks/TNOPE/cancel", {}, {"admin"}),
    # the playbooks' definitions: the owner (admin) and the managers who carry them out
    ("GET", "/v1/playbooks", None, {"admin", "manager"}),
    ("GET", "/v1/playbooks/overdue_reminder", None, {"admin", "manager"}),
    # the playbooks' proof of effect: aggregate figures, the portfolio's readers
    ("GET", "/v1/playbooks/report", None, READERS),
    # the goals: the portfolio's readers read them, the owner (admin) sets them
    ("GET", "/v1/goals", None, READERS),
    ("GET", "/v1/goals/GNOPE", None, READERS),
    ("GET", "/v1/goals/GNOPE/readings", None, READERS),
    ("POST", "/v1/goals", {"metric": "rotation", "target": 5, "due_on": "2999-01-01",
                           "baseline": 0}, {"admin"}),
    ("POST", "/v1/goals/GNOPE/retire", None, {"admin"}),
    ("POST", "/v1/goals/track", None, {"admin"}),
    ("GET", "/v1/goals/track", None, READERS),
]
PUBLIC = {("GET", "/v1/health")}


def _template(path: str) -> str:
    return (path.replace("/C1", "/{customer_id}").replace("/0000000000000000", "/{key_id}")
            .replace("/nope", "/{sub_id}").replace("/RNOPE", "/{code}")
            .replace("/RUN0", "/{run_id}").replace("/TNOPE", "/{task_id}")
            .replace("/overdue_reminder", "/{name}").replace("/GNOPE", "/{goal_id}"))


def test_the_matrix_covers_every_route_of_the_api(sqlite_url):
    from regulars import bootstrap

    settings = bootstrap.load_settings(database_url=sqlite_url)
    app = create_app(settings, rebuild_on_start=False)
    routes = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    covered = {(m, _template(p)) for m, p, _b, _r in ENDPOINTS} | PUBLIC
    assert routes == covered
    app.state.services.store.close()


@pytest.mark.parametrize(("method", "path", "body", "admitted"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _b, _a in ENDPOINTS])
def test_endpoint_refuses_missing_bad_and_unprivileged_keys(call, keys, method, path, body,
                                                            admitted):
    kw = {"json": body} if body is not None else {}
    for role in (None, "rgl_0123456789abcdef_not-a-real-secret", "garbage"):
        r = call(role, method, path, **kw)
        assert r.status_code == 401, (role, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
    for role in sorted(ALL - admitted):
        r = call(role, method, path, **kw)
        assert r.status_code == 403, (role, r.text)
        assert r.json()["type"] == "/problems/forbidden"
    for role in sorted(admitted):
        r = call(role, method, path, **kw)
        assert r.status_code not in (401, 403), (role, r.text)


def test_a_revoked_or_rotated_key_is_refused(call, client, keys, services):
    key_id = keys["readonly"].split("_")[1]
    assert call("readonly", "GET", "/v1/customers").status_code == 200
    r = call("admin", "POST", f"/v1/keys/{key_id}/rotate")
    assert r.status_code == 200
    new_key = r.json()["key"]
    assert call("readonly", "GET", "/v1/customers").status_code == 401
    assert call(new_key, "GET", "/v1/customers").status_code == 200
    new_id = r.json()["record"]["key_id"]
    assert call("admin", "POST", f"/v1/keys/{new_id}/revoke").status_code == 200
    assert call(new_key, "GET", "/v1/customers").status_code == 401
    listed = {k["key_id"]: k for k in call("admin", "GET", "/v1/keys").json()}
    assert listed[key_id]["replaced_by"] == new_id
    assert listed[new_id]["revoked_at"] is not None
    assert all("secret_hash" not in k for k in listed.values())


def test_keys_are_stored_hashed(services, keys):
    for key in keys.values():
        _prefix, key_id, secret = key.split("_", 2)
        record = services.store.get_key(key_id)
        assert secret not in str(record)
        assert len(record["secret_hash"]) == 64


def test_the_x_api_key_header_works_too(client, keys):
    r = client.get("/v1/customers", headers={"X-API-Key": keys["readonly"]})
    assert r.status_code == 200
