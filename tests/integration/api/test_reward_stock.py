"""A reward with a limited stock over HTTP: the catalogue says how many are left, the last one
goes to one member, the next redemption is a 409 out-of-stock, a cancellation gives one back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from regulars.config import Settings

I = "integration"  # noqa: E741


@pytest.fixture
def api_settings(store_url: str) -> Settings:
    from regulars import bootstrap

    api = {"live_map": False, "map_as_of": "last_order", "rate_limit": 100_000,
           "rate_burst": 100_000}
    mug = {"code": "mug", "name": "a mug", "kind": "gift", "points": 100, "stock": 1}
    return bootstrap.load_settings(database_url=store_url, api=api,
                                   loyalty={"bonus_sign_up": 0, "release": "immediately",
                                            "rewards": [mug]})


def test_the_last_mug(call):
    at = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for c in ("C1", "C2"):
        assert call(I, "POST", f"/v1/customers/{c}/membership",
                    json={"consent": True}).status_code == 201
        assert call(I, "POST", "/v1/orders", json={"order_id": f"O-{c}", "customer_id": c,
                                                   "ordered_at": at, "amount": "300"}
                    ).status_code == 201
    catalogue = call("readonly", "GET", "/v1/loyalty/rewards").json()
    assert [(r["code"], r["stock"], r["stock_left"], r["per_member"]) for r in catalogue] == [
        ("mug", 1, 1, None)]
    won = call(I, "POST", "/v1/customers/C1/redemptions", json={"reward": "mug"})
    assert won.status_code == 201, won.text
    lost = call(I, "POST", "/v1/customers/C2/redemptions", json={"reward": "mug"})
    assert lost.status_code == 409 and lost.json()["type"] == "/problems/out-of-stock"
    assert "all 1 have been redeemed" in lost.json()["detail"]
    assert call("readonly", "GET", "/v1/customers/C2/points").json()["balance"] == 300
    assert call("readonly", "GET", "/v1/loyalty/rewards").json()[0]["stock_left"] == 0
    coupon = won.json()["coupon_code"]
    assert call(I, "POST", f"/v1/coupons/{coupon}/cancellation",
                json={"reason": "gave it back"}).status_code == 201
    assert call("readonly", "GET", "/v1/loyalty/rewards").json()[0]["stock_left"] == 1
    assert call(I, "POST", "/v1/customers/C2/redemptions",
                json={"reward": "mug"}).status_code == 201
