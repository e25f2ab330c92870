"""Lots and ledger entries: spending order, returns, policies, expiry, invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from regulars.domain.loyalty import (
    Account,
    Entry,
    EntryKind,
    Lot,
    LotState,
    Member,
    ReturnedSpentPoints,
    check_account,
    proportional_reversal,
)

T = datetime(2026, 1, 1, tzinfo=UTC)


def credit(account: Account, ref: str, points: int, *, expires_in: int | None = 100,
           pending: bool = False, at: datetime = T) -> None:
    state = LotState.PENDING if pending else LotState.AVAILABLE
    expires = at + timedelta(days=expires_in) if expires_in is not None else None
    lot = Lot(ref, "M", "order", at, points, points, state, expires_at=expires, order_id=ref)
    account.credit(lot, Entry(ref, "M", at, EntryKind.EARN, points=0 if pending else points,
                              pending=points if pending else 0, lot_ref=ref))


def new() -> tuple[Account, list[Entry]]:
    account = Account.of(Member("M", T))
    return account, account.entries


def problems(account: Account) -> list[str]:
    return check_account(account.member, account.lots.values(), account.entries)


def test_spending_draws_the_soonest_expiring_lots_first():
    account, _ = new()
    credit(account, "late", 100, expires_in=300)
    credit(account, "never", 100, expires_in=None)
    credit(account, "soon", 100, expires_in=30)
    account.spend(150, T, ref="r1")
    assert account.lots["soon"].remaining == 0
    assert account.lots["late"].remaining == 50
    assert account.lots["never"].remaining == 100
    assert [(a.lot_ref, a.points) for a in account.allocations[-2:]] == [("soon", 100),
                                                                         ("late", 50)]
    assert problems(account) == []


def test_spending_beyond_the_balance_is_an_invariant_violation():
    account, _ = new()
    credit(account, "a", 10)
    with pytest.raises(AssertionError):
        account.spend(11, T, ref="r")


def test_pending_points_are_not_spendable_until_released():
    account, _ = new()
    credit(account, "p", 100, pending=True)
    assert account.member.balance == 0 and account.member.pending == 100
    account.release("p", T, ref="rel")
    assert account.member.balance == 100 and account.member.pending == 0
    assert account.release("p", T, ref="rel2") is None  # a second release does nothing
    assert problems(account) == []


def test_a_return_of_pending_points_takes_them_from_the_lot():
    account, _ = new()
    credit(account, "p", 100, pending=True)
    entry = account.reverse("p", 40, T, ref="ret", policy=ReturnedSpentPoints.NEGATIVE_BALANCE)
    assert entry is not None and entry.pending == -40 and entry.points == 0
    assert account.member.pending == 60
    assert problems(account) == []


@pytest.mark.parametrize("policy", list(ReturnedSpentPoints))
def test_returning_spent_points_follows_the_policy(policy):
    account, _ = new()
    credit(account, "o1", 100)
    credit(account, "o2", 30)
    account.spend(120, T, ref="spent")  # o1 (sooner? equal expiry: older first) then o2
    entry = account.reverse("o1", 100, T, ref="ret", policy=policy)
    assert entry is not None
    if policy is ReturnedSpentPoints.NEGATIVE_BALANCE:
        assert account.member.balance == -90
        assert account.member.debt == 90
        assert entry.points == -100 and entry.deficit == 0
        credit(account, "o3", 50)  # later earnings repay the debt first
        assert account.member.balance == -40 and account.member.debt == 40
        assert account.lots["o3"].remaining == 0
    else:
        assert account.member.balance == 0
        assert account.member.deficit == 90
        assert entry.points == -10 and entry.deficit == 90
    assert problems(account) == []


def test_expiry_empties_due_lots_and_is_idempotent():
    account, _ = new()
    credit(account, "a", 100, expires_in=10)
    credit(account, "b", 50, expires_in=20)
    credit(account, "c", 20, expires_in=10, pending=True)
    first = account.expire(T + timedelta(days=15))
    assert {e.lot_ref for e in first} == {"a", "c"}
    assert account.member.balance == 50 and account.member.pending == 0
    assert account.expire(T + timedelta(days=15)) == []
    assert problems(account) == []


def test_expiring_lists_what_expires_in_the_window():
    account, _ = new()
    credit(account, "a", 100, expires_in=10)
    credit(account, "b", 50, expires_in=40)
    assert account.expiring(T, T + timedelta(days=30)) == [(T + timedelta(days=10), 100)]


def test_expired_lots_are_not_spendable_even_before_the_expiry_run():
    account, _ = new()
    credit(account, "a", 100, expires_in=10)
    assert account.spendable(T + timedelta(days=11)) == []


@pytest.mark.parametrize(("points", "amount", "returned", "expected"), [
    (100, "200", "100", 50), (100, "200", "250", 100), (7, "3", "1", 2),
    (0, "10", "10", 0), (100, "200", "0", 0), (3, "3", "1.5", 2)])
def test_reversal_is_proportional_and_never_more_than_earned(points, amount, returned,
                                                           expected):
    assert proportional_reversal(points, Decimal(amount), Decimal(returned)) == expected


def test_check_account_notices_a_cached_balance_that_drifted():
    account, _ = new()
    credit(account, "a", 100)
    account.member.balance += 1
    assert any("cached balance" in p for p in problems(account))


def test_a_cancelled_spend_puts_its_points_back_into_their_lots_with_their_expiry():
    account, _ = new()
    credit(account, "soon", 100, expires_in=30)
    credit(account, "late", 50, expires_in=60)
    account.spend(120, T, ref="redeem:k")  # soon 100, late 20
    taken = [a for a in account.allocations if a.entry_ref == "redeem:k"]
    assert [(a.lot_ref, a.points) for a in taken] == [("soon", 100), ("late", 20)]
    entry, lapsed = account.restore(taken, T + timedelta(days=10), ref="cancel:k")
    assert (entry.kind, entry.points, lapsed) == (EntryKind.CANCEL, 120, 0)
    assert account.member.balance == 150
    assert (account.lots["soon"].remaining, account.lots["late"].remaining) == (100, 50)
    # the lots' history nets out: what the cancellation gave back is a negative allocation
    assert [(a.lot_ref, a.points) for a in account.allocations if a.entry_ref == "cancel:k"
            ] == [("late", -20), ("soon", -100)]
    assert problems(account) == []


def test_points_of_a_lot_expired_since_the_spend_do_not_come_back():
    account, _ = new()
    credit(account, "soon", 100, expires_in=30)
    credit(account, "late", 50, expires_in=60)
    account.spend(120, T, ref="redeem:k")
    day40 = T + timedelta(days=40)
    account.expire(day40)  # "soon" is empty: nothing to expire
    taken = [a for a in account.allocations if a.entry_ref == "redeem:k"]
    entry, lapsed = account.restore(taken, day40, ref="cancel:k")
    # 30 left in "late" + its 20 back; the 100 of "soon" would have expired on day 30
    assert (entry.points, lapsed) == (20, 100)
    assert account.member.balance == 50
    assert account.lots["soon"].remaining == 0 and account.lots["late"].remaining == 50
    assert problems(account) == []


def test_points_given_back_pay_a_debt_first():
    account, _ = new()
    credit(account, "o1", 100)
    credit(account, "o2", 30)
    account.spend(120, T, ref="redeem:k")  # o1 100, o2 20: 10 left in o2
    account.reverse("o1", 100, T, ref="ret", policy=ReturnedSpentPoints.NEGATIVE_BALANCE)
    assert (account.member.balance, account.member.debt) == (-90, 90)
    taken = [a for a in account.allocations if a.entry_ref == "redeem:k"]
    entry, lapsed = account.restore(taken, T, ref="cancel:k")
    assert (entry.points, lapsed) == (120, 0)
    # 120 back: 90 pay the debt, 30 are spendable again
    assert (account.member.balance, account.member.debt) == (30, 0)
    assert sum(lot.remaining for lot in account.lots.values()) == 30
    assert problems(account) == []
