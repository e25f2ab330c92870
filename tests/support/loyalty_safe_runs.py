"""The periodic run cannot destroy by accident (issue 14), on every store: no moment in the
future, no tier review before the latest one, no tier whose period has ended.
``tests/integration/loyalty/test_safe_runs.py`` adds those that write a table with SQL or
break the SQL store's writes on purpose. ``snapshot(store)`` (each directory's conftest) is
every row the store holds, to show that nothing was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from regulars.domain.loyalty import Release, RunMomentError

from .loyalty import T0, order

RULES: dict[str, Any] = {"release": Release.IMMEDIATELY, "bonus_sign_up": 0,
                         "tier_window_days": 365, "tier_grace_days": 30}


def test_loyalty_run_refuses_a_future_moment(make_service, clock, store, snapshot):
    service = make_service(**RULES)
    service.enrol("M")
    service.accrue(order("O1", "M", 100))  # expires after 365 days
    before = snapshot(store)
    for later in (timedelta(days=400), timedelta(minutes=6)):
        with pytest.raises(RunMomentError, match="in the future") as e:
            service.run(T0 + later)
        assert e.value.field == "at"
        for step in (service.expire_due, service.release_due, service.review_tiers):
            with pytest.raises(RunMomentError):
                step(T0 + later)
        with pytest.raises(RunMomentError):
            service.preview_run(T0 + later)
    assert snapshot(store) == before  # nothing written: the points are still there
    assert service.statement("M").balance == 100
    service.run(T0 + timedelta(minutes=4))  # a few minutes of clock drift are allowed

    # a year on, the run takes the points once; a moment before it finds nothing to expire
    clock.advance(days=400)
    assert service.run().expired.points == 100
    assert service.expire_due(T0 + timedelta(days=380)).points == 0
    assert service.release_due(T0 + timedelta(days=380)).items == 0
    # but a tier review before the latest one could undo it: refused, nothing written
    before = snapshot(store)
    with pytest.raises(RunMomentError, match="last reviewed"):
        service.review_tiers(T0 + timedelta(days=380))
    with pytest.raises(RunMomentError, match="last reviewed"):
        service.run(T0 + timedelta(days=380))
    assert snapshot(store) == before
    assert service.run(clock.at).expired.points == 0  # the same moment again: idempotent


def test_back_dated_order_grants_no_ended_tier(make_service, clock, store):
    service = make_service(**RULES)
    service.enrol("M")
    # placed 400 days ago, sent today: its qualification period (365 days from the order)
    # ended 35 days ago, and the order lies outside today's rolling window
    old = service.accrue(order("O1", "M", 600, T0 - timedelta(days=400)))
    assert (old.points, old.tier_before, old.tier_after) == (600, "base", "base")
    assert service.statement("M").tier == "base"
    assert service.tier_history("M") == []
    # one placed 100 days ago: the window ending then (T0-465d, T0-100d] holds both orders,
    # 1,200 spent, silver (500 <= 1,200 < 2,000) for a period ending T0 - 100 + 365 days
    recent = service.accrue(order("O2", "M", 600, T0 - timedelta(days=100)))
    assert (recent.tier_before, recent.tier_after) == ("base", "silver")
    s = service.statement("M")
    assert s.tier == "silver" and s.tier_period_end == T0 + timedelta(days=265)
    assert [(h["from_tier"], h["to_tier"], h["change"]) for h in service.tier_history("M")] \
        == [("base", "silver", "upgrade")]
    assert Decimal(s.qualifying) == Decimal(600)  # today's window holds O2 only


def test_an_order_whose_accrual_overflows_is_skipped_and_reported(make_service, store):
    import pyarrow as pa

    from regulars.domain.loyalty import LoyaltyError
    from regulars.services.loyalty.sync import sync

    service = make_service(**RULES)
    for m in ("A", "B", "C"):
        service.enrol(m)
    far = datetime(9999, 12, 31, 12, tzinfo=UTC)  # its expiry lies beyond the calendar
    early = datetime(1, 1, 1, 12, tzinfo=UTC)  # its tier window starts before it
    results = service.accrue_many([order("O-far", "A", 10, far), order("O-ok", "B", 20),
                                   order("O-early", "C", 30, early)])
    assert [(r.order_id, r.status, r.skipped_reason) for r in results] == [
        ("O-far", "skipped", "unprocessable"), ("O-ok", "available", None),
        ("O-early", "skipped", "unprocessable")]
    assert "out of range" in (results[0].problem or "")
    assert service.statement("B").balance == 20  # everyone else earns
    with pytest.raises(LoyaltyError, match="O-far cannot be accrued"):
        service.accrue(order("O-far", "A", 10, far))
    # points sync: the store's orders, one of them unprocessable, in one chunk
    orders = pa.table({"order_id": ["S1", "S2"], "customer_id": ["A", "C"],
                       "ordered_at": [datetime(9999, 12, 31, 12), datetime(2026, 3, 1, 9)],
                       "amount": [10.0, 40.0]})
    report = sync(service, orders=orders, release=False)
    assert (report.orders_accrued, report.orders_skipped, report.points_earned) == (1, 1, 40)
    assert report.orders_unprocessable == ("S1 (A): date value out of range",)
    assert service.verify() == []
