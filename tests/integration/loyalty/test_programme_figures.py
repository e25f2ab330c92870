"""The programme's figures for the owner's dashboard (DOMAIN §7), on a small ledger whose
every number is worked out by hand below, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from regulars.adapters.db.tables import INPUT_TABLES, loyalty_coupons
from regulars.domain.loyalty import Release
from regulars.domain.tables import Kind
from regulars.services.loyalty.figures import point_value, programme_figures

from ...support.loyalty import T0, order, programme

DAY = timedelta(days=1)
START, END = T0 - DAY, T0 + 30 * DAY
ORDERS = [  # (order, customer, amount, when); A and B are members, X and Y are not
    ("O1", "A", 100, T0), ("O2", "A", 50, T0 + DAY), ("O3", "B", 200, T0 + 2 * DAY),
    ("O4", "X", 80, T0), ("O5", "X", 20, T0 + 3 * DAY), ("O6", "X", 100, T0 + 4 * DAY),
    ("O7", "Y", 40, T0 + 5 * DAY),
    ("O8", "A", 1000, T0 - 10 * DAY),  # before the period
    ("O9", "B", 10, T0 + 70 * DAY),  # after it
]


def _naive(at):
    return at.replace(tzinfo=None)


def _coupon(code, source, *, value=0, percent=0, used_at=None, order_id=None):
    return {"code": code, "member_id": "A", "reward": "offer", "kind": "discount_coupon",
            "value": Decimal(value), "percent": Decimal(percent), "issued_at": _naive(T0),
            "valid_until": _naive(T0 + 100 * DAY), "used_at": used_at and _naive(used_at),
            "used_order_id": order_id, "source_ref": source, "cancelled_at": None}


@pytest.fixture
def ledger(store, make_service, clock):
    service = make_service(release=Release.IMMEDIATELY)
    clock.at = T0 - 20 * DAY
    service.enrol("A")
    service.enrol("B")
    with store.engine.begin() as conn:
        conn.execute(sa.insert(INPUT_TABLES[Kind.ORDERS]), [
            {"order_id": o, "customer_id": c, "ordered_at": _naive(at), "amount": Decimal(a),
             "row_hash": o}
            for o, c, a, at in ORDERS])
        conn.execute(sa.insert(loyalty_coupons), [
            # a 10 % coupon used on O3 (200): 20; a fixed 7; one not used; one whose order
            # the store does not hold (counted, not valued); one bought with points (its
            # points are counted, not the coupon)
            _coupon("P10", "offer:tenure:A", percent=10, used_at=T0 + 3 * DAY, order_id="O3"),
            _coupon("FIX7", "punch:coffee:A:1", value=7, used_at=T0 + 4 * DAY, order_id="O1"),
            _coupon("UNUSED", "offer:spent:A", value=50),
            _coupon("GONE", "offer:draw:A", percent=15, used_at=T0 + 5 * DAY, order_id="ZZ"),
            _coupon("BOUGHT", "redeem:elsewhere", value=5, used_at=T0 + 5 * DAY,
                    order_id="O7"),
        ])
    for o, c, a, at in ORDERS:
        if c in ("A", "B") and o != "O8":
            clock.at = at
            service.accrue(order(o, c, a, at))
    clock.at = T0 + 6 * DAY
    service.record_return("R1", "O2", Decimal(50), returned_at=T0 + 6 * DAY)  # −50 earned
    service.redeem("A", "r100", key="k1", at=T0 + 6 * DAY)  # 100 points, 5 off
    service.spend("B", 50, key="k2", at=T0 + 6 * DAY)
    service.cancel_redemption(key="k2", at=T0 + 7 * DAY)  # the 50 come back
    return service


def test_members_are_compared_with_the_other_buyers_of_the_same_period(store, ledger):
    f = programme_figures(store, programme(), START, END, now=T0 + 8 * DAY)
    assert f.members == 2
    m, o = f.member_buyers, f.other_buyers
    # members: A (O1, O2: 150) and B (O3: 200); others: X (O4–O6: 200) and Y (O7: 40)
    assert (m.buyers, m.orders, m.revenue, m.repeat_buyers) == (2, 3, Decimal(350), 1)
    assert (o.buyers, o.orders, o.revenue, o.repeat_buyers) == (2, 4, Decimal(240), 1)
    assert m.buyer_share == o.buyer_share == 0.5
    assert m.revenue_share == pytest.approx(350 / 590)
    assert m.average_order_value == pytest.approx(Decimal(350) / 3)
    assert o.average_order_value == Decimal(60)
    assert (m.orders_per_buyer, o.orders_per_buyer) == (1.5, 2.0)
    assert m.repeat_rate == o.repeat_rate == 0.5


def test_liability_redemption_rate_and_cost_of_rewards(store, ledger):
    now = T0 + 360 * DAY  # O3's lot (200, earned T0+2d) expires within 30 days, O9's within 90
    f = programme_figures(store, programme(), START, END, now=now)
    assert f.point_value == Decimal("0.05")  # r100: 5 for 100 points
    # A: 150 earned − 50 returned − 100 redeemed = 0; B: 200 + 10 (O9) − 50 + 50 = 210
    assert (f.spendable, f.pending) == (210, 0)
    assert f.liability == Decimal("10.5")
    assert [(e.days, e.points, e.value) for e in f.expiring] == [
        (30, 200, Decimal("10.00")), (90, 210, Decimal("10.50"))]
    # earned in the period: 100 + 50 + 200 − 50 (the return); O9 is after the period
    assert (f.earned, f.redeemed) == (300, 100)  # B's 50 were given back
    assert f.redemption_rate == pytest.approx(1 / 3)
    assert f.points_cost == Decimal("5.00")
    assert (f.coupons_cost, f.coupons_used, f.coupons_not_valued) == (Decimal(27), 3, 1)
    assert f.cost == Decimal(32)
    assert f.cost_share == pytest.approx(32 / 350)


def test_a_store_without_members_has_no_member_figures(store, make_service):
    f = programme_figures(store, programme(), START, END, now=T0)
    assert not f.has_members
    assert (f.member_buyers.buyers, f.earned, f.redeemed, f.cost) == (0, 0, 0, Decimal(0))
    assert f.redemption_rate is None and f.cost_share is None


def test_a_catalogue_without_money_values_gives_points_no_money_value():
    from regulars.domain.loyalty import Reward, RewardKind

    gifts = programme(rewards=(Reward("gift", "a gift", RewardKind.GIFT, 300),))
    assert point_value(gifts) is None
    best = programme(rewards=(
        Reward("a", "a", RewardKind.DISCOUNT_COUPON, 500, value=Decimal(5)),
        Reward("b", "b", RewardKind.DISCOUNT_COUPON, 1000, value=Decimal(12))))
    assert point_value(best) == Decimal("0.012")
