"""The loyalty programme's figures the owner's dashboard shows (DOMAIN §7): members against
other buyers, the points outstanding (the programme's liability), the redemption rate and the
cost of rewards, over a period.

    figures = programme_figures(store, programme, start, end, now=now)

Definitions (a period covers the instants after ``start`` up to and including ``end``):

* **members vs non-members**: the period's buyers (customers with an order in it) split by
  whether they had joined the programme by ``end``; for each group the buyers, their share of
  all buyers, revenue and its share, average order value (revenue / orders), orders per
  buyer and the repeat rate (buyers with 2+ orders in the period / buyers).
* **points liability**: what members can still spend (the sum of positive balances) and what
  is pending (credited, not yet spendable), now; in money at the :func:`point_value`; and the
  points that expire within the next 30 and 90 days.
* **redemption rate**: points redeemed (net of cancelled redemptions) / points earned (orders
  and bonuses, net of what returns took back) in the period.
* **cost of rewards**: the money value of the points redeemed in the period, plus the coupons
  given without points (offers, punch cards…) used in the period (their fixed value, or their
  percent of the order they were used on); as a share of members' revenue in the period.
  Tier discounts given at the till are not in the ledger, so they are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from regulars.domain.loyalty.programme import Programme

#: The horizons of "expiring soon" the dashboard shows, in days.
EXPIRY_HORIZONS = (30, 90)


@dataclass(frozen=True)
class BuyerRows:
    """What the store counts of one group of the period's buyers."""

    buyers: int
    repeat_buyers: int  # with 2+ orders in the period
    orders: int
    revenue: Decimal


class FigureTx(Protocol):
    """The reads of the figures (``adapters/db/loyalty_figures.py``)."""

    def figures_members(self, end: datetime) -> int: ...
    def figures_buyers(self, start: datetime, end: datetime) -> dict[bool, BuyerRows]: ...
    def figures_outstanding(self) -> tuple[int, int]: ...
    def figures_expiring(self, after: datetime, horizons: Sequence[datetime]) -> list[int]: ...
    def figures_movements(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]: ...
    def figures_free_coupons(self, start: datetime, end: datetime) -> tuple[Decimal, int, int]: ...


class FigureStore(Protocol):
    def reading(self) -> AbstractContextManager[FigureTx]: ...


@dataclass(frozen=True)
class BuyerGroup:
    """The period's buyers of one group (members, or the others)."""

    buyers: int
    buyer_share: float | None
    orders: int
    revenue: Decimal
    revenue_share: float | None
    average_order_value: Decimal | None
    orders_per_buyer: float | None
    repeat_buyers: int
    repeat_rate: float | None


@dataclass(frozen=True)
class Expiring:
    days: int
    points: int
    value: Decimal | None


@dataclass(frozen=True)
class ProgrammeFigures:
    """The programme's figures over ``start`` – ``end`` (see the module for definitions)."""

    start: datetime
    end: datetime
    members: int  # enrolled by the period's end
    member_buyers: BuyerGroup
    other_buyers: BuyerGroup
    point_value: Decimal | None  # money per point; None: the catalogue gives none
    spendable: int
    pending: int
    liability: Decimal | None  # (spendable + pending) × point value
    expiring: tuple[Expiring, ...]
    earned: int
    redeemed: int
    redemption_rate: float | None
    points_cost: Decimal | None  # redeemed × point value
    coupons_cost: Decimal
    coupons_used: int
    coupons_not_valued: int
    cost: Decimal | None  # None when points were redeemed and a point has no value
    cost_share: float | None  # of members' revenue in the period

    @property
    def has_members(self) -> bool:
        return self.members > 0


def point_value(programme: Programme) -> Decimal | None:
    """What a point is worth in money: the best rate of the catalogue's rewards that have a
    money value (value / points; the shipped 5 off for 500 points: 0.01). None when no
    reward has one. The best rate, because it is what a member can turn their points into:
    the liability is not understated."""
    rates = [r.value / r.points for r in programme.rewards if r.value > 0 and r.points > 0]
    return max(rates) if rates else None


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def _share(part: float | Decimal, whole: float | Decimal) -> float | None:
    return float(part) / float(whole) if whole else None


def _group(row: BuyerRows | None, all_buyers: int, all_revenue: Decimal) -> BuyerGroup:
    row = row or BuyerRows(0, 0, 0, Decimal(0))
    buyers, orders, repeat, revenue = row.buyers, row.orders, row.repeat_buyers, row.revenue
    return BuyerGroup(
        buyers=buyers, buyer_share=_share(buyers, all_buyers), orders=orders, revenue=revenue,
        revenue_share=_share(revenue, all_revenue),
        average_order_value=revenue / orders if orders else None,
        orders_per_buyer=_share(orders, buyers), repeat_buyers=repeat,
        repeat_rate=_share(repeat, buyers))


def _money(points: int, value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(points) * value


def programme_figures(store: FigureStore, programme: Programme, start: datetime,
                      end: datetime, *, now: datetime | None = None) -> ProgrammeFigures:
    """The figures of the period ``start`` – ``end``; the liability and what expires soon as
    of ``now`` (default: the clock), in one consistent read."""
    start, end = _naive_utc(start), _naive_utc(end)
    moment = _naive_utc(now or datetime.now(UTC))
    value = point_value(programme)
    with store.reading() as tx:
        members = tx.figures_members(end)
        groups = tx.figures_buyers(start, end)
        spendable, pending = tx.figures_outstanding()
        soon = zip(EXPIRY_HORIZONS, tx.figures_expiring(
            moment, [moment + timedelta(days=d) for d in EXPIRY_HORIZONS]), strict=True)
        sums = tx.figures_movements(start, end)
        coupons_cost, coupons_used, not_valued = tx.figures_free_coupons(start, end)
    all_buyers = sum(g.buyers for g in groups.values())
    all_revenue = sum((g.revenue for g in groups.values()), Decimal(0))
    member_group = _group(groups.get(True), all_buyers, all_revenue)

    def total(*kinds: str) -> int:
        return sum(sum(sums.get(k, (0, 0))) for k in kinds)

    earned = total("earn", "bonus", "reverse")
    redeemed = -sums.get("redeem", (0, 0))[0] - sums.get("cancel", (0, 0))[0]
    points_cost = _money(redeemed, value)
    cost = (coupons_cost + (points_cost or Decimal(0))
            if points_cost is not None or redeemed == 0 else None)
    return ProgrammeFigures(
        start=start, end=end, members=members, member_buyers=member_group,
        other_buyers=_group(groups.get(False), all_buyers, all_revenue),
        point_value=value, spendable=spendable, pending=pending,
        liability=_money(spendable + pending, value),
        expiring=tuple(Expiring(d, p, _money(p, value)) for d, p in soon),
        earned=earned, redeemed=redeemed,
        redemption_rate=_share(redeemed, earned) if earned > 0 else None,
        points_cost=points_cost, coupons_cost=coupons_cost, coupons_used=coupons_used,
        coupons_not_valued=not_valued, cost=cost,
        cost_share=_share(cost, member_group.revenue) if cost is not None else None)


