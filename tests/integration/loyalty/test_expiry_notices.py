"""Notices of points about to expire (``points_expiring``), through the loyalty service on a
real store (SQLite, and PostgreSQL when available): which points, once per member and expiry,
never again — not on a second run, a restart, a concurrent run, or a run at an earlier time.

The programme here runs in UTC with ``expiry_days = 30`` and points available at once, so a
lot earned on day D expires at 00:00 UTC of D + 31 days (``Programme.expires_at``).

The scenarios of ``tests/support/loyalty_expiry_notices.py`` (run on the in-memory store as
well), and the restart, the concurrent runs and the property test.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
from regulars.services.loyalty import LoyaltyService

from ...support.loyalty import programme
from ...support.loyalty_expiry_notices import *  # noqa: F403 (the scenarios, collected here)
from ...support.loyalty_expiry_notices import EXPECTED, RULES, RUN_AT, Outbox, earn, utc


def test_a_restarted_service_on_the_same_store_sends_nothing_twice(book, database_url, clock):
    clock.at = RUN_AT
    first = Outbox()
    book.notify_expiring(first, at=RUN_AT, within_days=14)
    book.close()
    fresh_store = SqlLoyaltyStore(database_url)
    try:
        restarted = LoyaltyService(fresh_store, programme(**RULES), clock=clock)
        second = Outbox()
        assert restarted.notify_expiring(second, at=RUN_AT, within_days=14).notices == 0
        assert second.sent == []
    finally:
        fresh_store.dispose()


def test_concurrent_runs_send_each_notice_once(book, database_url, clock):
    outbox = Outbox()
    stores = [SqlLoyaltyStore(database_url) for _ in range(4)]
    services = [LoyaltyService(s, programme(**RULES), clock=clock) for s in stores]
    for s in services:
        s.versions()  # record nothing new: the same programme as the book's
    barrier = threading.Barrier(len(services))
    errors: list[BaseException] = []

    def run(service: LoyaltyService) -> None:
        try:
            barrier.wait()
            service.notify_expiring(outbox, at=RUN_AT, within_days=14, chunk=1)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for s in stores:
        s.dispose()
    assert errors == []
    assert sorted(outbox.keys()) == sorted(EXPECTED)


_members = itertools.count()


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(earned=st.lists(st.integers(0, 60), min_size=1, max_size=5),
       runs=st.lists(st.integers(0, 120), min_size=1, max_size=6),
       window=st.integers(1, 30))
def test_notices_never_repeat_whatever_the_run_times(make_service, clock, earned, runs,
                                                     window):
    service = make_service(**RULES)
    member = f"H{next(_members)}"
    service.enrol(member)
    base = utc(2026, 1, 1, 12)
    points_by_expiry: dict[datetime, int] = {}
    for i, day in enumerate(earned):
        at = base + timedelta(days=day)
        earn(service, clock, member, f"{member}-{i}", 10 + i, at)
        expiry = utc(at.year, at.month, at.day) + timedelta(days=31)
        points_by_expiry[expiry] = points_by_expiry.get(expiry, 0) + 10 + i
    outbox = Outbox()
    clock.at = base + timedelta(days=max(runs))  # now; no run looks into the future
    for day in runs:  # in any order: a run may look at an earlier moment than the last one
        service.notify_expiring(outbox, at=base + timedelta(days=day), within_days=window)
    mine = [(n.expires_at, n.points) for n in outbox.sent if n.member_id == member]
    assert len(mine) == len({e for e, _p in mine})  # never twice for one expiry
    moments = [base + timedelta(days=d) for d in runs]
    due = {e for e in points_by_expiry
           if any(t < e <= t + timedelta(days=window) for t in moments)}
    assert dict(mine) == {e: points_by_expiry[e] for e in due}


