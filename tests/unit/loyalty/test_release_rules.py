"""The pure rules of releasing, returning and expiring (``domain/loyalty/release.py``),
checked by hand, no store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from regulars.domain.loyalty import Account, Lot, LotState, Member
from regulars.domain.loyalty.release import (
    Released,
    completed,
    expire_accounts,
    referral_qualifies,
    release_lots,
    release_moment,
    reversal,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = T0 + timedelta(days=15)


def pending_account(*lots: tuple[str, int, int]) -> Account:
    """A member with pending lots (ref, points, remaining), all closing at ``WINDOW``."""
    member = Member("M", T0, pending=sum(r for _ref, _p, r in lots))
    return Account.of(member, [Lot(ref, "M", "order", T0, p, r, LotState.PENDING,
                                   available_at=WINDOW, expires_at=T0 + timedelta(days=365))
                               for ref, p, r in lots])


def test_a_release_is_dated_when_the_window_closed_unless_explicit():
    later = WINDOW + timedelta(days=3)
    assert release_moment(WINDOW, later, explicit=False) == WINDOW
    assert release_moment(WINDOW, later, explicit=True) == later
    assert release_moment(None, later, explicit=False) == later


def test_release_lots_moves_pending_points_and_skips_the_rest():
    account = pending_account(("order:A", 40, 40), ("order:B", 10, 0))
    account.lots["order:C"] = Lot("order:C", "M", "order", T0, 5, 5, LotState.AVAILABLE)
    account.member.balance = 5
    done = list(release_lots(account, ["order:A", "order:B", "order:C", "order:X"],
                             WINDOW + timedelta(days=1), explicit=False, version=7))
    # A releases 40 at the window; B (wholly returned) goes through with no entry; C was
    # available already and X is unknown: skipped
    assert done == [Released("order:A", WINDOW, 40, True), Released("order:B", WINDOW, 0, False)]
    assert (account.member.balance, account.member.pending) == (45, 0)
    assert account.lots["order:B"].state is LotState.VOID
    assert [(e.ref, e.points, e.pending, e.reason, e.programme_version)
            for e in account.entries] == [("release:order:A", 40, -40, "return window closed", 7)]
    # running it again finds nothing pending
    assert list(release_lots(account, ["order:A"], WINDOW, explicit=True, version=7)) == []


def test_a_wholly_returned_order_never_completed():
    assert completed(Decimal(50), Decimal(0))
    assert completed(Decimal(50), Decimal("49.99"))
    assert not completed(Decimal(50), Decimal(50))


def test_a_referral_needs_the_minimum_net_of_returns():
    assert referral_qualifies(Decimal(50), Decimal(10), Decimal(40))
    assert not referral_qualifies(Decimal(50), Decimal("10.01"), Decimal(40))


def test_returns_reverse_points_in_proportion_never_more_than_earned():
    # an order of 80 that earned 40: 20 back takes 10; then 30 more (50 in all) takes 15 more
    first = reversal(40, Decimal(80), Decimal(0), 0, Decimal(20))
    assert (first.returned_amount, first.reversed, first.points) == (Decimal(20), 10, 10)
    second = reversal(40, Decimal(80), first.returned_amount, first.reversed, Decimal(30))
    assert (second.returned_amount, second.reversed, second.points) == (Decimal(50), 25, 15)
    # returning more than the order is capped at the order: 40 in all, 15 more
    third = reversal(40, Decimal(80), second.returned_amount, second.reversed, Decimal(100))
    assert (third.returned_amount, third.reversed, third.points) == (Decimal(80), 40, 15)
    # rounding half up: 1 of 3 returned of an order that earned 5 takes 2 (1.67)
    assert reversal(5, Decimal(3), Decimal(0), 0, Decimal(1)).points == 2


def test_expire_accounts_takes_what_is_due_and_says_how_much():
    account = pending_account(("order:A", 40, 40))
    account.lots["bonus:x"] = Lot("bonus:x", "M", "bonus", T0, 30, 12, LotState.AVAILABLE,
                                  available_at=T0, expires_at=T0 + timedelta(days=10))
    account.member.balance = 12
    taken = expire_accounts([account], T0 + timedelta(days=10), version=3)
    assert taken == [("M", 1, 12, 0)]
    assert account.member.balance == 0
    # a year on: the pending lot expires as pending points
    assert expire_accounts([account], T0 + timedelta(days=365), version=3) == [("M", 1, 0, 40)]
    assert expire_accounts([account], T0 + timedelta(days=999), version=3) == []


def test_a_dry_run_releases_the_named_lots_before_expiring():
    account = pending_account(("order:A", 40, 40))
    taken = expire_accounts([account], T0 + timedelta(days=365), version=None,
                            release=frozenset({"order:A"}))
    # released first (at its window), then expired as spendable points
    assert taken == [("M", 1, 40, 0)]
