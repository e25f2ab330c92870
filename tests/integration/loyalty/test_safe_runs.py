"""The periodic run cannot destroy by accident (issue 14): no moment in the future, no tier
review before the latest one, a failure midway leaves exactly the audited part, a dry run
writes nothing; and a back-dated order grants no tier whose period has ended. On SQLite and
PostgreSQL, with a clock the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from regulars.adapters.db import loyalty_store
from regulars.adapters.db.tables import INPUT_TABLES, metadata
from regulars.domain.loyalty import Release, RunIncompleteError, RunMomentError
from regulars.domain.tables import Kind

from .conftest import T0, order

RULES: dict[str, Any] = {"release": Release.IMMEDIATELY, "bonus_sign_up": 0,
                         "tier_window_days": 365, "tier_grace_days": 30}


def _snapshot(store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with store.engine.connect() as conn:
        return {t.name: sorted(tuple(map(repr, r)) for r in conn.execute(sa.select(t)))
                for t in metadata.sorted_tables}


def test_loyalty_run_refuses_a_future_moment(make_service, clock, store):
    service = make_service(**RULES)
    service.enrol("M")
    service.accrue(order("O1", "M", 100))  # expires after 365 days
    before = _snapshot(store)
    for later in (timedelta(days=400), timedelta(minutes=6)):
        with pytest.raises(RunMomentError, match="in the future") as e:
            service.run(T0 + later)
        assert e.value.field == "at"
        for step in (service.expire_due, service.release_due, service.review_tiers):
            with pytest.raises(RunMomentError):
                step(T0 + later)
        with pytest.raises(RunMomentError):
            service.preview_run(T0 + later)
    assert _snapshot(store) == before  # nothing written: the points are still there
    assert service.statement("M").balance == 100
    service.run(T0 + timedelta(minutes=4))  # a few minutes of clock drift are allowed

    # a year on, the run takes the points once; a moment before it finds nothing to expire
    clock.advance(days=400)
    assert service.run().expired.points == 100
    assert service.expire_due(T0 + timedelta(days=380)).points == 0
    assert service.release_due(T0 + timedelta(days=380)).items == 0
    # but a tier review before the latest one could undo it: refused, nothing written
    before = _snapshot(store)
    with pytest.raises(RunMomentError, match="last reviewed"):
        service.review_tiers(T0 + timedelta(days=380))
    with pytest.raises(RunMomentError, match="last reviewed"):
        service.run(T0 + timedelta(days=380))
    assert _snapshot(store) == before
    assert service.run(clock.at).expired.points == 0  # the same moment again: idempotent


def test_failed_run_leaves_audit_of_what_committed(make_service, clock, store, monkeypatch):
    service = make_service(**RULES)
    service.run_chunk = 2  # members per transaction
    for i in range(5):
        service.enrol(f"M{i}")
        service.accrue(order(f"O{i}", f"M{i}", 100 + i))
    clock.advance(days=400)
    saves = {"n": 0}
    real_save = loyalty_store.SqlLoyaltyTx.save_accounts

    def failing_save(self, accounts):
        saves["n"] += 1
        if saves["n"] == 2:  # the second chunk of the expiry fails
            raise RuntimeError("disk full")
        return real_save(self, accounts)

    monkeypatch.setattr(loyalty_store.SqlLoyaltyTx, "save_accounts", failing_save)
    with pytest.raises(RunIncompleteError) as e:
        service.run()
    err = e.value
    assert err.step == "expire" and err.cause == "disk full"
    assert "stopped while expiring points: disk full" in str(err)
    assert "2 lots expired (201 points)" in str(err)  # M0 and M1: 100 + 101
    assert err.committed == {"expire": {"chunks": 1, "members": 2, "items": 2, "points": 201}}
    # the record holds exactly the committed chunk, and the books hold exactly it too
    record = service.run_record(err.run_id)
    assert [(c.step, c.chunk, c.members, c.items, c.points, c.detail) for c in record] == [
        ("expire", 0, 2, 2, 201, ("M0: 100", "M1: 101"))]
    # (the statement shows the points past their expiry that no run has written off yet)
    assert [service.statement(f"M{i}").expired_unswept for i in range(5)] == [
        0, 0, 102, 103, 104]
    assert service.verify() == []
    # running again at the same moment finishes it; nothing is taken twice
    monkeypatch.setattr(loyalty_store.SqlLoyaltyTx, "save_accounts", real_save)
    again = service.run(err.as_of)  # type: ignore[arg-type]
    assert (again.expired.items, again.expired.points) == (3, 309)
    assert [service.statement(f"M{i}").expired_unswept for i in range(5)] == [0] * 5
    assert service.verify() == []


def test_expiry_dry_run_writes_nothing(make_service, clock, store):
    service = make_service(**RULES)
    with store.engine.begin() as conn:
        conn.execute(INPUT_TABLES[Kind.CUSTOMERS].insert(), [
            {"customer_id": "A", "name": "Anna Tamm", "row_hash": "a"},
            {"customer_id": "B", "name": "Boris Kask", "row_hash": "b"}])
    for m in ("A", "B", "C"):
        service.enrol(m)
    service.accrue(order("OA", "A", 100))
    service.accrue(order("OB", "B", 600))  # silver at once, its period ends T0 + 365 days
    service.accrue(order("OC", "C", 50, T0 + timedelta(days=200)))
    clock.advance(days=400)  # A's and B's lots expired; B's period and grace are over
    before = _snapshot(store)
    preview = service.preview_run()
    assert _snapshot(store) == before  # row for row, every table
    assert preview.dry_run and preview.run_id == ""
    assert [(m.member_id, m.name, m.points_expiring, m.pending_expiring, m.lots_expiring,
             m.tier_from, m.tier_to) for m in preview.members] == [
        ("A", "Anna Tamm", 100, 0, 1, "base", "base"),
        ("B", "Boris Kask", 600, 0, 1, "silver", "base")]  # earned at base, then silver
    assert (preview.expired.members, preview.expired.items, preview.expired.points) == (
        2, 2, 700)
    assert preview.tiers.details == ("B: silver → base",)
    # the run then does exactly what the dry run said
    done = service.run()
    assert (done.expired.members, done.expired.items, done.expired.points) == (2, 2, 700)
    assert done.tiers.details == preview.tiers.details
    assert service.statement("C").balance == 50


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
