"""The pure rules of earning (``domain/loyalty/earning.py``), checked by hand, no store."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from regulars.domain.loyalty import (
    Account,
    EntryKind,
    Line,
    LotState,
    Member,
    Programme,
    Purchase,
    Release,
    Tier,
    TierBasis,
)
from regulars.domain.loyalty.earning import (
    PeriodUsage,
    credit_now,
    credit_order,
    order_lot,
    punch,
    punch_units,
    qualifying_total,
    upgrade_at_once,
)
from regulars.domain.loyalty.ledger import Quote

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PROG = Programme(return_window_days=14, expiry_days=365,
                 tiers=(Tier("base", Decimal(0)), Tier("silver", Decimal(500), Decimal("1.5"))))


@dataclass
class Earned:
    ordered_at: datetime
    amount: Decimal
    returned_amount: Decimal
    points: int
    reversed: int


def test_punch_card_gives_one_reward_every_n_units():
    # 3 units on a card of 4 holding 7 after 1 reward: 10 units, reward no. 2 (at 8)
    assert punch(7, 1, 3, 4) == (10, 2, [2])
    # 9 units at once on an empty card of 4: rewards 1 and 2, one unit carried over
    assert punch(0, 0, 9, 4) == (9, 2, [1, 2])
    assert punch(2, 0, 1, 4) == (3, 0, [])


def test_punch_units_count_matching_lines_or_the_order_when_it_has_none():
    lines = (Line(Decimal(3), "coffee", "esp", 2), Line(Decimal(4), "cake", "brownie", 1),
             Line(Decimal(3), "tea", "esp", 5))
    p = Purchase("O", "M", T0, Decimal(10), lines=lines)
    assert punch_units("coffee", None, p) == 2
    assert punch_units(None, "esp", p) == 7  # the coffee line and the tea line share the sku
    no_lines = Purchase("O", "M", T0, Decimal(10), categories=("coffee",), quantity=3)
    assert punch_units("coffee", None, no_lines) == 3
    assert punch_units("coffee", None, replace(no_lines, quantity=None)) == 1
    assert punch_units("tea", None, no_lines) == 0


def test_qualifying_counts_spend_net_of_returns_inside_the_rolling_window():
    prog = replace(PROG, tier_window_days=30)
    earned = [Earned(T0 - timedelta(days=31), Decimal(100), Decimal(0), 100, 0),  # outside
              Earned(T0 - timedelta(days=29), Decimal(80), Decimal(30), 80, 30),
              Earned(T0, Decimal(20), Decimal(0), 20, 0),
              Earned(T0 + timedelta(seconds=1), Decimal(999), Decimal(0), 999, 0)]  # after
    assert qualifying_total(prog, earned, T0) == Decimal(70)  # 80 - 30 + 20
    by_points = replace(prog, tier_basis=TierBasis.POINTS_EARNED)
    earned[1] = Earned(T0 - timedelta(days=29), Decimal(80), Decimal(0), 80, 45)
    assert qualifying_total(by_points, earned, T0) == Decimal(55)  # 80 - 45 + 20


def test_period_usage_counts_member_cap_and_shared_budget():
    prog = replace(PROG, cap_points_per_member=150, budget_points=1000)
    usage = PeriodUsage()
    m = Member("M", T0)
    assert usage.quote(prog, Purchase("A", "M", T0, Decimal(100)), m).points == 100
    # the member's cap leaves 50 of the next 100
    q = usage.quote(prog, Purchase("B", "M", T0, Decimal(100)), m)
    assert (q.points, q.uncapped) == (50, 100)
    month = PeriodUsage.member_key(prog, "M", T0)[1]
    assert usage.used == {("M", month): 150, ("", month): 150}
    # another member shares the budget, not the cap
    usage.quote(prog, Purchase("C", "N", T0, Decimal(100)), Member("N", T0))
    assert usage.used[("", month)] == 250
    assert usage.used[("N", month)] == 100


def test_an_order_lot_is_pending_until_the_window_closes():
    p = Purchase("O1", "M", T0, Decimal(40))
    lot, entry = order_lot(PROG, p, Quote(40, 40, Decimal(40), ("x2",)), 3)
    assert (lot.lot_ref, lot.state, lot.points, lot.remaining) == ("order:O1", LotState.PENDING,
                                                                   40, 40)
    assert lot.available_at == PROG.available_at(T0)
    assert lot.expires_at == PROG.expires_at(T0)
    assert (entry.kind, entry.points, entry.pending, entry.reason, entry.programme_version) == (
        EntryKind.EARN, 0, 40, "x2", 3)
    now, entry = order_lot(replace(PROG, release=Release.IMMEDIATELY), p,
                           Quote(40, 40, Decimal(40)), 1)
    assert (now.state, entry.points, entry.pending, entry.reason) == (LotState.AVAILABLE, 40, 0,
                                                                      "order")


def test_an_order_earning_nothing_keeps_its_empty_lot_without_an_entry():
    account = Account.of(Member("M", T0))
    credit_order(account, PROG, Purchase("O0", "M", T0, Decimal(0)), Quote(0, 0, Decimal(0)), 1)
    assert account.lots["order:O0"].points == 0
    assert account.new_lots == ["order:O0"]
    assert account.entries == []
    credit_order(account, PROG, Purchase("O1", "M", T0, Decimal(9)), Quote(9, 9, Decimal(9)), 1)
    assert account.member.pending == 9


def test_credit_now_adds_an_available_lot():
    account = Account.of(Member("M", T0))
    entry = credit_now(account, PROG, ref="bonus:x", source="bonus:x", points=25, at=T0,
                       kind=EntryKind.BONUS, reason="x", actor="ann", version=2)
    assert (entry.points, entry.actor, entry.programme_version) == (25, "ann", 2)
    assert account.member.balance == 25
    assert account.lots["bonus:x"].state is LotState.AVAILABLE


def test_upgrade_at_once_but_never_for_a_period_already_over():
    m = Member("M", T0, tier="base")
    d = upgrade_at_once(PROG, m, Decimal(500), T0, now=T0)
    assert d is not None and d.change == "upgrade"
    assert (m.tier, m.tier_period_end) == ("silver", T0 + timedelta(days=365))
    # not enough: nothing (downgrades wait for the review)
    m2 = Member("M2", T0, tier="base")
    assert upgrade_at_once(PROG, m2, Decimal(499), T0, now=T0) is None
    assert m2.tier == "base"
    # a back-dated order whose period ended before now grants nothing
    m3 = Member("M3", T0, tier="base")
    old = T0 - timedelta(days=400)
    assert upgrade_at_once(PROG, m3, Decimal(900), old, now=T0) is None
    assert m3.tier == "base"
