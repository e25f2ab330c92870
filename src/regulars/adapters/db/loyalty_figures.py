"""The loyalty programme's figures for the owner's dashboard (DOMAIN §7), as a few aggregate
queries over the ledger, the lots, the coupons, the members and the orders (the port
:class:`regulars.services.loyalty.figures.FigureTx`; the service computes the shares).

Periods cover the instants after ``start`` up to and including ``end``, as the portfolio's do;
instants are naive UTC, as the store keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.loyalty_base import LoyaltyTxBase
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    loyalty_coupons,
    loyalty_ledger,
    loyalty_lots,
    loyalty_members,
)
from regulars.domain.tables import Kind
from regulars.services.loyalty.figures import BuyerRows

ORDERS = INPUT_TABLES[Kind.ORDERS]


def _int(value: Any) -> int:
    return int(value or 0)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


class FigureRows(LoyaltyTxBase):
    """The figures' reads, part of a loyalty transaction."""

    def figures_members(self, end: datetime) -> int:
        m = loyalty_members
        return _int(self.conn.execute(
            sa.select(sa.func.count()).select_from(m).where(m.c.enrolled_at <= end)).scalar())

    def figures_buyers(self, start: datetime, end: datetime) -> dict[bool, BuyerRows]:
        """Buyers of the period split by membership (enrolled by ``end``): per group
        ``buyers``, ``repeat_buyers`` (2+ orders in the period), ``orders``, ``revenue``."""
        o, m = ORDERS, loyalty_members
        per = (sa.select(o.c.customer_id, sa.func.count().label("n"),
                         sa.func.sum(o.c.amount).label("revenue"))
               .where(o.c.ordered_at > start, o.c.ordered_at <= end)
               .group_by(o.c.customer_id).subquery())
        member = sa.case((m.c.member_id.is_(None), 0), else_=1).label("member")
        stmt = (sa.select(member, sa.func.count().label("buyers"),
                          sa.func.sum(sa.case((per.c.n >= 2, 1), else_=0)).label("repeat"),
                          sa.func.sum(per.c.n).label("orders"),
                          sa.func.sum(per.c.revenue).label("revenue"))
                .select_from(per.outerjoin(m, sa.and_(m.c.member_id == per.c.customer_id,
                                                      m.c.enrolled_at <= end)))
                .group_by(member))
        return {bool(row.member): BuyerRows(_int(row.buyers), _int(row.repeat),
                                            _int(row.orders), _money(row.revenue))
                for row in self._rows(stmt)}

    def figures_outstanding(self) -> tuple[int, int]:
        """Spendable points (members' positive balances) and pending points, now."""
        m = loyalty_members
        row = self.conn.execute(sa.select(
            sa.func.sum(sa.case((m.c.balance > 0, m.c.balance), else_=0)),
            sa.func.sum(m.c.pending))).one()
        return _int(row[0]), _int(row[1])

    def figures_expiring(self, after: datetime, horizons: Sequence[datetime]) -> list[int]:
        """Points left in lots (available or pending) that expire after ``after`` up to and
        including each of ``horizons`` (one scan for them all)."""
        if not horizons:
            return []
        t = loyalty_lots
        stmt = sa.select(*[sa.func.sum(sa.case((t.c.expires_at <= h, t.c.remaining),
                                               else_=0)) for h in horizons]).where(
            t.c.state.in_(("available", "pending")), t.c.remaining > 0,
            t.c.expires_at > after, t.c.expires_at <= max(horizons))
        return [_int(v) for v in self.conn.execute(stmt).one()]

    def figures_movements(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        """Per entry kind, the period's change to spendable and to pending points."""
        t = loyalty_ledger
        stmt = (sa.select(t.c.kind, sa.func.sum(t.c.points), sa.func.sum(t.c.pending))
                .where(t.c.at > start, t.c.at <= end).group_by(t.c.kind))
        return {str(r[0]): (_int(r[1]), _int(r[2])) for r in self._rows(stmt)}

    def figures_free_coupons(self, start: datetime, end: datetime) -> tuple[Decimal, int, int]:
        """Coupons not bought with points (offers, punch cards, referrals…) used in the
        period: their money value (a fixed value, else the percent of the order it was used
        on), how many were used, and how many of them could not be valued (a percent coupon
        whose order the store does not hold)."""
        c, o = loyalty_coupons, ORDERS
        valued = sa.case((c.c.value > 0, c.c.value),
                         else_=o.c.amount * c.c.percent / 100)
        stmt = (sa.select(sa.func.sum(valued), sa.func.count(),
                          sa.func.sum(sa.case((sa.and_(c.c.value <= 0, o.c.amount.is_(None)), 1),
                                              else_=0)))
                .select_from(c.outerjoin(o, o.c.order_id == c.c.used_order_id))
                .where(c.c.used_at > start, c.c.used_at <= end,
                       sa.not_(c.c.source_ref.like("redeem:%"))))
        row = self.conn.execute(stmt).one()
        return _money(row[0]), _int(row[1]), _int(row[2])
