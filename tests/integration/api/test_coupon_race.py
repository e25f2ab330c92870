"""Tills racing to use the same coupon over real HTTP, on SQLite and PostgreSQL: one wins
(201), a till that sends its own use again gets it back (200, replayed), every other one a 409
``coupon-used`` — never a 422 "not valid" (on PostgreSQL a loser's conditional UPDATE found the
row just used by the winner and the service took the miss for "outside its dates")."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from regulars.config import Settings
from regulars.domain.loyalty.ledger import Purchase

I = "integration"  # noqa: E741
COUPONS = 30
TILLS = 6  # per coupon: 4 orders of their own, 2 resending one of those orders


@pytest.fixture
def api_settings(store_url: str) -> Settings:
    from regulars import bootstrap

    api = {"live_map": False, "map_as_of": "last_order", "rate_limit": 100_000,
           "rate_burst": 100_000}
    r5 = {"code": "r5", "name": "5 off", "kind": "discount_coupon", "points": 10, "value": 5}
    return bootstrap.load_settings(database_url=store_url, api=api,
                                   loyalty={"bonus_sign_up": 0, "release": "immediately",
                                            "rewards": [r5]})


def test_coupon_race_on_postgres_never_422(call, services):
    svc = services.loyalty.service  # type: ignore[union-attr]
    at = datetime.now(UTC) - timedelta(days=1)
    codes = []
    for i in range(COUPONS):
        svc.enrol(f"C{i}")
        svc.accrue(Purchase(f"O{i}", f"C{i}", at, Decimal(50)))
        codes.append(svc.redeem(f"C{i}", "r5", key=f"k{i}").coupon_code)

    outcomes: list[tuple[str, int, str, bool]] = []
    lock = threading.Lock()

    def till(code: str, order_id: str, barrier: threading.Barrier, keyed: bool) -> None:
        # a till resending its request resends its Idempotency-Key (half the coupons)
        headers = {"Idempotency-Key": f"use-{order_id}"} if keyed else {}
        barrier.wait()
        r = call(I, "POST", f"/v1/coupons/{code}/use", json={"order_id": order_id},
                 headers=headers)
        body = r.json()
        kind = body.get("type", "") if r.status_code >= 400 else ""
        with lock:
            outcomes.append((code, r.status_code, kind, bool(body.get("replayed"))))

    started = time.monotonic()
    for n, code in enumerate(codes):
        orders = [f"{code}-till{t}" for t in range(TILLS - 2)] + [f"{code}-till0"] * 2
        barrier = threading.Barrier(TILLS)
        threads = [threading.Thread(target=till, args=(code, o, barrier, n % 2 == 0))
                   for o in orders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    elapsed = time.monotonic() - started

    statuses = Counter(s for _c, s, _k, _r in outcomes)
    assert len(outcomes) == COUPONS * TILLS
    assert statuses[422] == 0, (statuses, [o for o in outcomes if o[1] == 422][:3])
    assert statuses[201] == COUPONS, statuses  # each coupon used exactly once
    assert set(statuses) <= {200, 201, 409}, statuses
    assert all(k == "/problems/coupon-used" for _c, s, k, _r in outcomes if s == 409)
    assert all(r for _c, s, _k, r in outcomes if s == 200)  # a 200 is the till's own replay
    assert elapsed < 120
    # the winner's key again answers its use; under it, another order is a conflict
    won = svc.coupon_status(codes[0]).used_order_id
    again = call(I, "POST", f"/v1/coupons/{codes[0]}/use", json={"order_id": won},
                 headers={"Idempotency-Key": f"use-{won}"})
    assert again.status_code == 200 and again.json()["replayed"] is True
    other = call(I, "POST", f"/v1/coupons/{codes[0]}/use", json={"order_id": "elsewhere"},
                 headers={"Idempotency-Key": f"use-{won}"})
    assert other.status_code == 409 and other.json()["type"] == "/problems/idempotency-conflict"
    for code in codes:  # the store agrees: used once, on one of the tills' orders
        state = svc.coupon_status(code)
        assert state.state == "used" and state.used_order_id.startswith(code)
