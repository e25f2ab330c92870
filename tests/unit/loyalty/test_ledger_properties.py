"""Property tests of the ledger (hypothesis): random sequences of orders, releases, returns,
redemptions, expiries and adjustments never break the books."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

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

T0 = datetime(2026, 1, 1, tzinfo=UTC)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(0, 500), st.booleans(), st.integers(1, 90)),
        st.tuples(st.just("release"), st.integers(0, 30)),
        st.tuples(st.just("return"), st.integers(0, 30), st.integers(1, 100)),
        st.tuples(st.just("spend"), st.integers(1, 800)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("expire")),
        st.tuples(st.just("adjust"), st.integers(-300, 300)),
        st.tuples(st.just("wait"), st.integers(1, 60)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=ops, policy=st.sampled_from(list(ReturnedSpentPoints)))
def test_random_histories_keep_the_books_balanced(ops, policy):
    account = Account.of(Member("M", T0))
    now = T0
    orders: list[tuple[str, int, Decimal]] = []  # lot, points, amount
    returned: dict[str, Decimal] = {}
    reversed_: dict[str, int] = {}
    spends: list[str] = []  # refs of spends not cancelled yet
    for n, op in enumerate(ops, start=1):
        ref = f"e{n}"
        before = (account.member.balance, account.member.pending)
        if op[0] == "earn":
            _, points, pending, days = op
            lot = Lot(ref, "M", "order", now, points, points,
                      LotState.PENDING if pending else LotState.AVAILABLE,
                      expires_at=now + timedelta(days=days), order_id=ref)
            account.credit(lot, Entry(ref, "M", now, EntryKind.EARN,
                                      points=0 if pending else points,
                                      pending=points if pending else 0, lot_ref=ref))
            orders.append((ref, points, Decimal(points + 1)))
        elif op[0] == "release" and orders:
            lot_ref = orders[op[1] % len(orders)][0]
            account.release(lot_ref, now, ref=ref)
        elif op[0] == "return" and orders:
            lot_ref, points, amount = orders[op[1] % len(orders)]
            returned[lot_ref] = min(returned.get(lot_ref, Decimal(0))
                                    + amount * op[2] / 100, amount)
            target = proportional_reversal(points, amount, returned[lot_ref])
            k = target - reversed_.get(lot_ref, 0)
            account.reverse(lot_ref, k, now, ref=ref, policy=policy)
            reversed_[lot_ref] = target
            # a return never creates points
            assert account.member.balance <= before[0]
            assert account.member.pending <= before[1]
            assert sum(reversed_.values()) <= sum(p for _r, p, _a in orders)
        elif op[0] == "spend":
            account.expire(now)
            balance = account.member.balance
            if op[1] <= balance:
                account.spend(op[1], now, ref=ref)
                assert account.member.balance == balance - op[1]
                spends.append(ref)
        elif op[0] == "cancel" and spends:
            spent = spends.pop(op[1] % len(spends))
            event("a spend cancelled")
            taken = [a for a in account.allocations if a.entry_ref == spent]
            live = {a.lot_ref for a in taken
                    if account.lots[a.lot_ref].expires_at is None
                    or account.lots[a.lot_ref].expires_at > now}
            balance, debt = account.member.balance, account.member.debt
            entry, lapsed = account.restore(taken, now, ref=ref)
            back = sum(a.points for a in taken if a.lot_ref in live)
            # every point comes back but those of lots expired since, and none twice
            assert entry.points == back and lapsed == sum(a.points for a in taken) - back
            assert account.member.balance == balance + back
            assert account.member.debt == max(0, debt - back)
        elif op[0] == "expire":
            account.expire(now)
            again = account.expire(now)
            assert again == []  # idempotent
        elif op[0] == "adjust" and op[1] > 0:
            lot = Lot(ref, "M", "adjust", now, op[1], op[1], LotState.AVAILABLE)
            account.credit(lot, Entry(ref, "M", now, EntryKind.ADJUST, points=op[1],
                                      lot_ref=ref))
        elif op[0] == "adjust" and op[1] < 0:
            account.expire(now)
            if -op[1] <= account.member.balance:
                account.spend(-op[1], now, ref=ref, kind=EntryKind.ADJUST)
        elif op[0] == "wait":
            now += timedelta(days=op[1])
        assert check_account(account.member, account.lots.values(), account.entries) == []
        assert all(lot.remaining >= 0 for lot in account.lots.values())
        if policy is ReturnedSpentPoints.RECORD_DEFICIT:
            assert account.member.balance >= 0
    # the ledger is append-only: every ref is unique
    refs = [e.ref for e in account.entries]
    assert len(refs) == len(set(refs))


cancel_ops = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 300), st.integers(1, 90)),
        st.tuples(st.just("spend"), st.integers(1, 300)),
        st.tuples(st.just("spend"), st.integers(1, 300)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("return"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.integers(1, 60)),
    ),
    min_size=5,
    max_size=40,
)


@settings(max_examples=600, deadline=None)
@given(ops=cancel_ops)
def test_cancelled_spends_give_back_what_has_not_expired_and_keep_the_books(ops):
    """Earn, spend, cancel a spend, take an order back (into debt) and wait: after every step
    the books balance; a cancellation gives back exactly the points of its lots that have not
    expired, pays debt with them first, and no lot ever holds more than it earned."""
    account = Account.of(Member("M", T0))
    now = T0
    lots: list[tuple[str, int]] = []
    spends: list[tuple[str, int]] = []
    for n, op in enumerate(ops, start=1):
        ref = f"e{n}"
        if op[0] == "earn":
            lot = Lot(ref, "M", "order", now, op[1], op[1], LotState.AVAILABLE,
                      expires_at=now + timedelta(days=op[2]), order_id=ref)
            account.credit(lot, Entry(ref, "M", now, EntryKind.EARN, points=op[1], lot_ref=ref))
            lots.append((ref, op[1]))
        elif op[0] == "spend":
            account.expire(now)
            if 0 < op[1] <= account.member.balance:
                account.spend(op[1], now, ref=ref)
                spends.append((ref, op[1]))
        elif op[0] == "cancel" and spends:
            spent, points = spends.pop(op[1] % len(spends))
            event("a spend cancelled")
            taken = [a for a in account.allocations if a.entry_ref == spent]
            assert sum(a.points for a in taken) == points
            expired = sum(a.points for a in taken if account.lots[a.lot_ref].expires_at <= now)
            balance, debt = account.member.balance, account.member.debt
            entry, lapsed = account.restore(taken, now, ref=ref)
            assert (entry.points, lapsed) == (points - expired, expired)
            assert account.member.balance == balance + points - expired
            assert account.member.debt == max(0, debt - (points - expired))
            if debt:
                event("a cancellation paid debt")
            if expired:
                event("a cancellation met an expired lot")
        elif op[0] == "return" and lots:
            lot_ref, points = lots.pop(op[1] % len(lots))
            account.reverse(lot_ref, points, now, ref=ref,
                            policy=ReturnedSpentPoints.NEGATIVE_BALANCE)
        elif op[0] == "wait":
            now += timedelta(days=op[1])
        assert check_account(account.member, account.lots.values(), account.entries) == []
        assert all(0 <= lot.remaining <= lot.points for lot in account.lots.values())
