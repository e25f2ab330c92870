"""The loyalty programme over HTTP: enrol, earn on ingest, redeem exactly once, returns take
points back, quotes, adjustments, referral codes, tiers — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from regulars.config import Settings
from regulars.domain.tables import Kind

I = "integration"  # noqa: E741


@pytest.fixture
def api_settings(store_url: str) -> Settings:
    from regulars import bootstrap

    api = {"live_map": False, "map_as_of": "last_order", "rate_limit": 100_000,
           "rate_burst": 100_000}
    # the defaults, but no sign-up bonus so that balances are the orders' points alone
    return bootstrap.load_settings(database_url=store_url, api=api,
                                   loyalty={"bonus_sign_up": 0})


def _at(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order(oid: str, customer: str, amount: str, days_ago: float = 20) -> dict[str, Any]:
    return {"order_id": oid, "customer_id": customer, "ordered_at": _at(days_ago),
            "amount": amount}


def _points(call, customer: str = "C1") -> dict[str, Any]:
    r = call("readonly", "GET", f"/v1/customers/{customer}/points")
    assert r.status_code == 200, r.text
    return r.json()


def _enrol(call, customer: str = "C1", **body: Any) -> dict[str, Any]:
    r = call(I, "POST", f"/v1/customers/{customer}/membership", json={"consent": True, **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_enrol_earn_release_redeem_once_and_refuse_an_overdraft(call, services):
    call("admin", "POST", "/v1/webhooks",
         json={"url": "http://127.0.0.1:9/hook", "events": ["tier_changed"]})
    joined = _enrol(call)
    assert joined["member_id"] == "C1" and joined["referral_code"]
    again = call(I, "POST", "/v1/customers/C1/membership", json={"consent": True})
    assert again.status_code == 200 and again.json()["replayed"] is True
    other = call(I, "POST", "/v1/customers/C1/membership", json={"consent": False})
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"

    # an order over HTTP earns at once, pending until its return window closes
    r = call(I, "POST", "/v1/orders", json=_order("O1", "C1", "600"))
    assert r.status_code == 201, r.text
    assert r.json()["points"] == [{"id": "O1", "customer_id": "C1", "points": 600,
                                   "status": "pending", "replayed": False}]
    s = _points(call)
    assert (s["balance"], s["pending"]) == (0, 600)
    assert s["tier"] == "silver"  # 600 spent: upgraded at once (on spend, not the balance)
    assert [h["kind"] for h in s["history"]] == ["earn"]
    # the upgrade is in the tier history, which the server publishes (woken by the request)
    deadline = time.monotonic() + 30
    while not (outbox := [o for o in services.store.outbox() if o["event"] == "tier_changed"]):
        assert time.monotonic() < deadline, "no tier_changed event"
        time.sleep(0.05)
    assert len(outbox) == 1 and '"to": "silver"' in outbox[0]["payload"]

    # the order's window (14 days) closed 6 days ago: the periodic run releases its points
    run = call("admin", "POST", "/v1/loyalty/run", json={})
    assert run.status_code == 200 and run.json()["released_points"] == 600
    s = _points(call)
    assert (s["balance"], s["pending"]) == (600, 0)

    # redeem: a coupon, the balance reduced; the same Idempotency-Key spends once
    headers = {"Idempotency-Key": "till-1-redeem-77"}
    first = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "discount-5"},
                 headers=headers)
    assert first.status_code == 201, first.text
    coupon = first.json()["coupon_code"]
    assert coupon and first.json()["balance_after"] == 100 and first.json()["points"] == 500
    retry = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "discount-5"},
                 headers=headers)
    assert retry.status_code == 200
    assert retry.json()["coupon_code"] == coupon and retry.json()["replayed"] is True
    assert _points(call)["balance"] == 100
    assert _points(call)["coupons"][0].startswith(coupon)
    clash = call(I, "POST", "/v1/customers/C1/redemptions",
                 json={"reward": "discount-10pct"}, headers=headers)
    assert clash.status_code == 409 and clash.json()["type"] == "/problems/idempotency-conflict"

    # not enough points: a problem document that says so, nothing spent
    short = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "discount-5"},
                 headers={"Idempotency-Key": "till-1-redeem-78"})
    assert short.status_code == 409
    assert short.headers["content-type"] == "application/problem+json"
    problem = short.json()
    assert problem["type"] == "/problems/insufficient-points"
    assert "100 points available; 500 needed" in problem["detail"]
    assert _points(call)["balance"] == 100
    unknown = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "yacht"})
    assert unknown.status_code == 422

    # the card shows the statement; the writes are in the audit log under the till's key
    card = call("readonly", "GET", "/v1/customers/C1").json()
    assert card["points"]["balance"] == 100 and card["points"]["tier"] == "silver"
    actions = [a["action"] for a in call("admin", "GET", "/v1/audit").json()]
    assert "POST /v1/customers/{id}/redemptions" in actions
    assert "POST /v1/customers/{id}/membership" in actions
    assert services.loyalty.service.verify() == []


def test_a_till_cancels_a_redemption_by_its_coupon(call, services):
    _enrol(call)
    assert call(I, "POST", "/v1/orders", json=_order("O1", "C1", "600")).status_code == 201
    call("admin", "POST", "/v1/loyalty/run", json={})  # the return window closed: 600 points
    redeemed = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "discount-5"},
                    headers={"Idempotency-Key": "till-2-redeem-1"}).json()
    coupon = redeemed["coupon_code"]
    assert redeemed["balance_after"] == 100

    first = call(I, "POST", f"/v1/coupons/{coupon.lower()}/cancellation",
                 json={"reason": "wrong reward"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["member_id"], body["coupon_code"], body["points_back"], body["points_lapsed"],
            body["balance_after"], body["reason"]) == ("C1", coupon, 500, 0, 600,
                                                       "wrong reward")
    assert body["actor"].startswith("api-key:") and body["replayed"] is False
    again = call(I, "POST", f"/v1/coupons/{coupon}/cancellation", json={"reason": "again"})
    assert again.status_code == 200 and again.json() == {**body, "replayed": True}
    statement = _points(call)
    assert statement["balance"] == 600 and not statement["coupons"]
    assert [h["kind"] for h in statement["history"]][-2:] == ["redeem", "cancel"]

    # a used coupon: 409, nothing changes; an unknown one: 404; no reason: 422
    used = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "discount-5"},
                headers={"Idempotency-Key": "till-2-redeem-2"}).json()["coupon_code"]
    services.loyalty.service.use_coupon(used, order_id="O2")
    refused = call(I, "POST", f"/v1/coupons/{used}/cancellation", json={"reason": "late"})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/coupon-used"
    assert f"{used} was used on order O2" in refused.json()["detail"]
    assert _points(call)["balance"] == 100
    missing = call(I, "POST", "/v1/coupons/CNOPE/cancellation", json={"reason": "x"})
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/no-such-redemption"
    no_reason = call(I, "POST", f"/v1/coupons/{used}/cancellation", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    actions = [a["action"] for a in call("admin", "GET", "/v1/audit").json()]
    assert "POST /v1/coupons/{code}/cancellation" in actions
    assert services.loyalty.service.verify() == []


def test_a_till_checks_a_coupon_and_uses_it_once(call, services):
    _enrol(call)
    assert call(I, "POST", "/v1/orders", json=_order("O1", "C1", "1200")).status_code == 201
    call("admin", "POST", "/v1/loyalty/run", json={})
    coupon = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "discount-5"},
                  headers={"Idempotency-Key": "till-4-redeem-1"}).json()["coupon_code"]

    seen = call("readonly", "GET", f"/v1/coupons/{coupon.lower()}")
    assert seen.status_code == 200, seen.text
    card = seen.json()
    assert (card["code"], card["member_id"], card["reward"], card["state"]) == (
        coupon, "C1", "discount-5", "valid")
    assert card["used_at"] is None and card["valid_until"].endswith("Z")  # UTC, with offset

    used = call(I, "POST", f"/v1/coupons/{coupon}/use", json={"order_id": "O2"})
    assert used.status_code == 201, used.text
    assert (used.json()["order_id"], used.json()["reward"], used.json()["replayed"]) == (
        "O2", "discount-5", False)
    again = call(I, "POST", f"/v1/coupons/{coupon}/use", json={"order_id": "O2"})
    assert again.status_code == 200 and again.json() == {**used.json(), "replayed": True}
    other = call(I, "POST", f"/v1/coupons/{coupon}/use", json={"order_id": "O3"})
    assert other.status_code == 409 and other.json()["type"] == "/problems/coupon-used"
    assert "already used on order O2" in other.json()["detail"]
    card = call("readonly", "GET", f"/v1/coupons/{coupon}").json()
    assert (card["state"], card["used_order_id"]) == ("used", "O2")

    missing = call("readonly", "GET", "/v1/coupons/CNOPE")
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/no-such-coupon"
    assert call(I, "POST", "/v1/coupons/CNOPE/use", json={"order_id": "O4"}).status_code == 404
    no_order = call(I, "POST", f"/v1/coupons/{coupon}/use", json={})
    assert no_order.status_code == 422 and "order_id" in no_order.text

    # a cancelled redemption's coupon says so, and cannot be used
    other_coupon = call(I, "POST", "/v1/customers/C1/redemptions",
                        json={"reward": "discount-5"}).json()["coupon_code"]
    call(I, "POST", f"/v1/coupons/{other_coupon}/cancellation", json={"reason": "mistake"})
    assert call("readonly", "GET", f"/v1/coupons/{other_coupon}").json()["state"] == "cancelled"
    refused = call(I, "POST", f"/v1/coupons/{other_coupon}/use", json={"order_id": "O5"})
    assert refused.status_code == 422 and "was cancelled on" in refused.json()["detail"]
    actions = [a["action"] for a in call("admin", "GET", "/v1/audit").json()]
    assert "POST /v1/coupons/{code}/use" in actions


def test_concurrent_redemptions_spend_once_per_key(call, services):
    _enrol(call)
    call(I, "POST", "/v1/orders", json=_order("O1", "C1", "1200"))
    call("admin", "POST", "/v1/loyalty/run", json={})
    results: list[Any] = []

    def redeem(key: str) -> None:
        results.append(call(I, "POST", "/v1/customers/C1/redemptions",
                            json={"reward": "discount-5"}, headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=redeem, args=(f"k{i % 3}",)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # three keys, 1,200 points, 500 each: two rewards bought, the third key refused
    coupons = {r.json()["coupon_code"] for r in results if r.status_code in (200, 201)}
    assert len(coupons) == 2
    assert {r.status_code for r in results} <= {200, 201, 409}
    assert _points(call)["balance"] == 200
    assert services.loyalty.service.verify() == []


def test_a_retried_order_accrues_once(call, services):
    _enrol(call)
    body = _order("O9", "C1", "42.50")
    headers = {"Idempotency-Key": "till-2-receipt-9"}
    answers = [call(I, "POST", "/v1/orders", json=body, headers=headers) for _ in range(3)]
    answers += [call(I, "POST", "/v1/orders", json=body)]  # and once without the key
    threads = [threading.Thread(target=lambda: answers.append(
        call(I, "POST", "/v1/orders", json=body))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a replay answers the first response (201); a re-send without the key finds it stored
    assert [a.status_code for a in answers] == [201] * 3 + [200] * 5
    assert answers[0].json()["points"][0]["points"] == 42
    assert all(a.json()["points"][0]["replayed"] for a in answers[1:])
    s = _points(call)
    assert (s["pending"], s["balance"]) == (42, 0)
    assert [h["kind"] for h in s["history"]] == ["earn"]
    assert services.loyalty.service.verify() == []


def test_a_replayed_request_accrues_what_the_first_one_left_undone(call, services):
    """A crash between the stored order and its accrual: the retry accrues it, once."""
    _enrol(call)
    accrue, within = services.ingest.accrue, services.ingest.accrue_within
    # the first request stores the order but earns nothing (a ledger in another database,
    # accrued after the ingest's commit, and a crash in between)
    services.ingest.accrue = services.ingest.accrue_within = None
    headers = {"Idempotency-Key": "lost-accrual"}
    body = _order("O5", "C1", "80")
    try:
        r = call(I, "POST", "/v1/orders", json=body, headers=headers)
        assert r.status_code == 201 and "points" not in r.json()
    finally:
        services.ingest.accrue, services.ingest.accrue_within = accrue, within
    assert _points(call)["pending"] == 0
    r = call(I, "POST", "/v1/orders", json=body, headers=headers)
    assert r.status_code == 201 and r.json()["points"][0]["points"] == 80
    r = call(I, "POST", "/v1/orders", json=body, headers=headers)
    assert r.json()["points"][0]["replayed"] is True
    assert _points(call)["pending"] == 80


def test_an_order_and_its_points_commit_together(call, services, monkeypatch):
    """The ledger lives in the API store's database: the accrual is written in the ingest's
    transaction, so an accrual that fails takes the order back with it, and the retry
    stores the order and accrues it once."""
    _enrol(call)
    from regulars.services.loyalty.earning import Earning

    def broken(*_a, **_k):
        raise RuntimeError("the ledger failed midway")

    monkeypatch.setattr(Earning, "_earn", broken)
    headers = {"Idempotency-Key": "together"}
    body = _order("O7", "C1", "70")
    failed = call(I, "POST", "/v1/orders", json=body, headers=headers)
    assert failed.status_code == 500
    # the server drops the connection after an unhandled error, and says so: the retry below
    # goes down a new one, not the closing one (a reset, once answers came fast enough)
    assert failed.headers["connection"] == "close"
    monkeypatch.undo()
    assert services.store.read_rows(Kind.ORDERS, ["C1"]).column("order_id").to_pylist() == []
    r = call(I, "POST", "/v1/orders", json=body, headers=headers)
    assert r.status_code == 201 and r.json()["added"] == 1
    assert r.json()["points"][0]["points"] == 70
    assert _points(call)["pending"] == 70
    assert services.loyalty.service.verify() == []


def test_a_return_over_http_takes_points_back_in_proportion(call, services):
    _enrol(call)
    call(I, "POST", "/v1/orders", json=[_order("O1", "C1", "100", days_ago=2),
                                        _order("O2", "NOT-A-MEMBER", "100", days_ago=2)])
    ret = {"return_id": "R1", "order_id": "O1", "returned_at": _at(1), "amount": "40"}
    r = call(I, "POST", "/v1/returns", json=ret)
    assert r.status_code == 201, r.text
    assert r.json()["points"] == [{"id": "R1", "customer_id": "C1", "points": -40,
                                   "status": "reversed", "replayed": False}]
    again = call(I, "POST", "/v1/returns", json=ret)
    assert again.status_code == 200 and again.json()["points"][0]["replayed"] is True
    s = _points(call)
    assert (s["pending"], s["balance"]) == (60, 0)
    assert sorted(h["kind"] for h in s["history"]) == ["earn", "reverse"]
    # a non-member's order and return earn nothing and say nothing about points
    r = call(I, "POST", "/v1/returns", json={"return_id": "R2", "order_id": "O2",
                                             "returned_at": _at(1), "amount": "10"})
    assert r.status_code == 201 and "points" not in r.json()
    assert services.loyalty.service.verify() == []


def test_quote_adjust_referral_tier_and_non_members(call, services, keys):
    joined = _enrol(call, email="ann@example.com")
    q = call(I, "POST", "/v1/loyalty/quote",
             json={"customer_id": "C1", "amount": "123.45", "categories": "coffee;cake"})
    assert q.status_code == 200, q.text
    assert (q.json()["points"], q.json()["member"], q.json()["tier"]) == (123, True, "base")
    assert _points(call)["history"] == []  # a quote writes nothing
    stranger = call(I, "POST", "/v1/loyalty/quote", json={"amount": "10"}).json()
    assert (stranger["points"], stranger["member"]) == (10, False)

    # a manager adjusts, with a reason; the actor is the manager's key
    key_id = keys["manager"].split("_")[1]
    r = call("manager", "POST", "/v1/customers/C1/points/adjustments",
             json={"points": 50, "reason": "broken cup"}, headers={"Idempotency-Key": "a1"})
    assert r.status_code == 201, r.text
    assert r.json()["actor"].startswith(f"api-key:{key_id}") and r.json()["balance_after"] == 50
    r = call("manager", "POST", "/v1/customers/C1/points/adjustments",
             json={"points": 50, "reason": "broken cup"}, headers={"Idempotency-Key": "a1"})
    assert r.status_code == 200 and r.json()["replayed"] is True
    assert call("manager", "POST", "/v1/customers/C1/points/adjustments",
                json={"points": 5}).status_code == 422  # no reason
    assert call("manager", "POST", "/v1/customers/C1/points/adjustments",
                json={"points": -500, "reason": "x"}).json()["type"] == (
        "/problems/insufficient-points")
    history = _points(call)["history"]
    assert history[0]["actor"].startswith(f"api-key:{key_id}")
    assert history[0]["reason"] == "broken cup"

    # referral codes: lookup, self-referral refused with a reason, a friend accepted
    code = joined["referral_code"]
    ref = call(I, "GET", f"/v1/referrals/{code}")
    assert ref.status_code == 200 and ref.json()["customer_id"] == "C1"
    assert ref.json()["referrals"] == 0 and ref.json()["usable"] is True
    assert call(I, "GET", "/v1/referrals/RNOTACODE").status_code == 404
    selfish = call(I, "POST", "/v1/customers/C2/membership",
                   json={"consent": True, "email": "ANN@example.com", "referral_code": code})
    assert selfish.status_code == 422 and selfish.json()["type"] == "/problems/referral-refused"
    friend = _enrol(call, "C3", referral_code=code)
    assert friend["referred_by"] == "C1"
    assert call(I, "GET", f"/v1/referrals/{code}").json()["referrals"] == 1

    # tier progress
    call(I, "POST", "/v1/orders", json=_order("O1", "C1", "300", days_ago=1))
    t = call("readonly", "GET", "/v1/customers/C1/tier").json()
    assert (t["tier"], t["next_tier"], t["basis"]) == ("base", "silver", "spend")
    assert float(t["qualifying"]) == 300 and float(t["to_next_tier"]) == 200
    assert [x["name"] for x in t["tiers"]] == ["base", "silver", "gold", "platinum"]

    # not a member: 404 for points, no statement on the card
    call(I, "POST", "/v1/orders", json=_order("O2", "C9", "10"))
    r = call("readonly", "GET", "/v1/customers/C9/points")
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-a-member"
    assert call("readonly", "GET", "/v1/customers/C9").json()["points"] is None
    rewards = call(I, "GET", "/v1/loyalty/rewards").json()
    assert [r["code"] for r in rewards] == ["discount-5", "discount-10pct"]
