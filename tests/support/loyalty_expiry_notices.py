"""Notices of points about to expire (``points_expiring``), through the loyalty service on
every store: which points, once per member and expiry, never again — not on a second run or a
run at an earlier time. ``tests/integration/loyalty/test_expiry_notices.py`` adds the
restart, the concurrent runs and the property test, which need a real database.

The programme here runs in UTC with ``expiry_days = 30`` and points available at once, so a
lot earned on day D expires at 00:00 UTC of D + 31 days (``Programme.expires_at``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from regulars.domain.loyalty import LoyaltyError
from regulars.domain.loyalty.programme import Release
from regulars.services.loyalty import LoyaltyService
from regulars.services.loyalty.ports import ExpiringPoints

from .loyalty import Clock, order

RULES = {"timezone": "UTC", "expiry_days": 30, "release": Release.IMMEDIATELY,
         "bonus_sign_up": 0}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


RUN_AT = utc(2026, 3, 25)  # the window of 14 days ends at 2026-04-08 00:00


class Outbox:
    """Collects what a run hands over (the real ``send`` queues webhooks)."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[ExpiringPoints] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, notices) -> None:
        if self.fail:
            raise OSError("the outbox is down")
        with self.lock:
            self.sent += notices

    def keys(self) -> list[tuple[str, datetime, int, int]]:
        return [(n.member_id, n.expires_at, n.points, n.balance) for n in self.sent]


def earn(service: LoyaltyService, clock: Clock, member: str, order_id: str, points: int,
         at: datetime) -> None:
    clock.at = at
    service.accrue(order(order_id, member, points, at))


@pytest.fixture
def book(make_service, clock) -> LoyaltyService:
    """Four members whose lots expire inside, outside and before the window of RUN_AT."""
    service = make_service(**RULES)
    for m in ("A", "B", "C", "D"):
        service.enrol(m)
    earn(service, clock, "A", "A1", 100, utc(2026, 3, 2, 10))  # expires 04-02 00:00
    earn(service, clock, "A", "A2", 50, utc(2026, 3, 7, 9))  # 04-07
    earn(service, clock, "A", "A3", 30, utc(2026, 3, 22, 18))  # 04-22: outside the window
    earn(service, clock, "B", "B1", 200, utc(2026, 3, 2, 11))  # 04-02, but all spent below
    earn(service, clock, "C", "C1", 80, utc(2026, 3, 2, 12))  # 04-02, 30 spent below
    earn(service, clock, "D", "D0", 60, utc(2026, 2, 1, 12))  # 03-04: expired before RUN_AT
    earn(service, clock, "D", "D1", 40, utc(2026, 3, 8, 12))  # 04-08 00:00: the window's end
    clock.at = utc(2026, 3, 10)
    service.spend("B", 200, key="b-pays")
    service.spend("C", 30, key="c-pays")
    clock.at = RUN_AT
    return service


EXPECTED = [  # (member, expires_at, points expiring, spendable balance at RUN_AT)
    ("A", utc(2026, 4, 2), 100, 180),
    ("A", utc(2026, 4, 7), 50, 180),
    ("C", utc(2026, 4, 2), 50, 50),
    ("D", utc(2026, 4, 8), 40, 40),  # the 60 points of D0 expired: not in the balance
]


def test_finds_the_available_points_expiring_within_the_window_per_member_and_date(book):
    found = book.expiring_points(RUN_AT, within_days=14)
    assert [(n.member_id, n.expires_at, n.points, n.balance) for n in found] == EXPECTED
    assert all(n.consent for n in found)


def test_the_window_starts_after_the_moment_and_ends_with_its_last_instant(book):
    # a day shorter: D1 (04-08 00:00) is out
    assert [n.member_id for n in book.expiring_points(RUN_AT, within_days=13)] == [
        "A", "A", "C"]
    # from A2's very expiry instant: A2 is out, D1 in, A3 (04-22) one day past 04-21
    later = book.expiring_points(utc(2026, 4, 7), within_days=14)
    assert [(n.member_id, n.expires_at, n.points) for n in later] == [
        ("D", utc(2026, 4, 8), 40)]
    assert [n.member_id for n in book.expiring_points(utc(2026, 4, 7), within_days=15)] == [
        "A", "D"]


def test_sends_one_notice_per_member_and_expiry_date_and_never_again(book, clock):
    clock.at = utc(2026, 4, 10)  # now: the runs below look at this moment or earlier
    outbox = Outbox()
    result = book.notify_expiring(outbox, at=RUN_AT, within_days=14)
    assert outbox.keys() == EXPECTED
    assert (result.notices, result.members, result.points) == (4, 3, 240)
    assert result.until == utc(2026, 4, 8)
    assert len({n.notice_id for n in outbox.sent}) == 4 and all(outbox.sent[0].notice_id)

    again = book.notify_expiring(outbox, at=RUN_AT, within_days=14)
    assert again.notices == 0 and len(outbox.sent) == 4
    # five days later the window holds A3 as well; only A3 is new
    later = book.notify_expiring(outbox, at=utc(2026, 4, 10), within_days=14)
    assert (later.notices, later.points) == (1, 30)
    # A's lots of 04-02 and 04-07 have expired by then (not swept yet): only A3 is spendable
    assert outbox.keys()[-1] == ("A", utc(2026, 4, 22), 30, 30)
    assert book.expiring_points(utc(2026, 4, 10), within_days=14) == []


def test_spending_the_points_after_a_notice_does_not_bring_it_back(book, clock):
    book.notify_expiring(Outbox(), at=RUN_AT, within_days=14)
    book.spend("A", 20, key="a-pays")  # from the soonest-expiring lot (04-02)
    outbox = Outbox()
    assert book.notify_expiring(outbox, at=RUN_AT, within_days=14).notices == 0


def test_a_failed_send_forgets_its_notices_so_the_next_run_sends_them(book):
    with pytest.raises(OSError):
        book.notify_expiring(Outbox(fail=True), at=RUN_AT, within_days=14)
    outbox = Outbox()
    assert book.notify_expiring(outbox, at=RUN_AT, within_days=14).notices == 4
    assert outbox.keys() == EXPECTED


def test_small_batches_send_the_same_notices(book):
    outbox = Outbox()
    assert book.notify_expiring(outbox, at=RUN_AT, within_days=14, chunk=1).notices == 4
    assert outbox.keys() == EXPECTED


def test_pending_points_are_not_announced(make_service, clock):
    # released after 14 days but expiring after 10: they can never be spent
    service = make_service(timezone="UTC", expiry_days=9, release=Release.AFTER_DAYS,
                           bonus_sign_up=0)
    service.enrol("P")
    earn(service, clock, "P", "P1", 100, utc(2026, 3, 2, 10))  # pending; expires 03-12
    assert service.expiring_points(utc(2026, 3, 5), within_days=14) == []


def test_a_window_under_one_day_is_refused(book):
    with pytest.raises(LoyaltyError):
        book.notify_expiring(Outbox(), at=RUN_AT, within_days=0)


def test_notices_refuse_a_future_moment(book, clock):
    """A notice is sent once, ever: one recorded for a moment still to come would keep the
    real one from going out when that moment arrives (issue 14, the run's rule)."""
    from regulars.domain.loyalty.errors import RunMomentError

    clock.at = RUN_AT
    outbox = Outbox()
    with pytest.raises(RunMomentError):
        book.notify_expiring(outbox, at=RUN_AT + timedelta(days=2), within_days=14)
    assert outbox.sent == []
    assert book.notify_expiring(outbox, at=RUN_AT, within_days=14).notices == 4
