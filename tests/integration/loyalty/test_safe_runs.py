"""The periodic run cannot destroy by accident (issue 14): no moment in the future, no tier
review before the latest one, a failure midway leaves exactly the audited part, a dry run
writes nothing; and a back-dated order grants no tier whose period has ended. On SQLite and
PostgreSQL, with a clock the test moves by hand.

The scenarios of ``tests/support/loyalty_safe_runs.py`` (run on the in-memory store as well),
and those that write a table with SQL or break the SQL store's writes on purpose.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from regulars.adapters.db import loyalty_store
from regulars.adapters.db.tables import INPUT_TABLES
from regulars.domain.loyalty import RunIncompleteError
from regulars.domain.tables import Kind

from ...support.loyalty import T0, order
from ...support.loyalty_safe_runs import *  # noqa: F403 (the scenarios, collected here)
from ...support.loyalty_safe_runs import RULES


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


def test_expiry_dry_run_writes_nothing(make_service, clock, store, snapshot):
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
    before = snapshot(store)
    preview = service.preview_run()
    assert snapshot(store) == before  # row for row, every table
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


