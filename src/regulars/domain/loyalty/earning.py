"""The rules of earning points on an order (DOMAIN §8), without a store.

An order earns a :class:`~regulars.domain.loyalty.ledger.Quote` under the programme version in
force when it was placed, within the member's cap and the programme's budget for the period
it falls in (:class:`PeriodUsage` counts what the period already used). It becomes one lot and
one entry (:func:`credit_order`), pending until its return window closes unless the programme
releases at once. A tier is granted at once on an upgrade (:func:`upgrade_at_once`); downgrades
wait for the periodic review. Punch cards count units and issue a reward every ``every``
units (:func:`punch`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from regulars.domain.loyalty.ledger import (
    Account,
    Entry,
    EntryKind,
    Lot,
    LotState,
    Member,
    Purchase,
    Quote,
    quote,
)
from regulars.domain.loyalty.programme import Programme, Release, TierBasis, aware
from regulars.domain.loyalty.tiers import TierDecision, review


class Earning(Protocol):
    """What an order earned and how much of it came back (the store's accrual record)."""

    @property
    def ordered_at(self) -> datetime: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def returned_amount(self) -> Decimal: ...
    @property
    def points(self) -> int: ...
    @property
    def reversed(self) -> int: ...


def qualifying_total(prog: Programme, earnings: Iterable[Earning], at: datetime) -> Decimal:
    """Spend or points earned in the rolling window ending at ``at`` — never the balance."""
    start = aware(at) - timedelta(days=prog.tier_window_days)
    total = Decimal(0)
    for a in earnings:
        if start < aware(a.ordered_at) <= aware(at):
            if prog.tier_basis is TierBasis.SPEND:
                total += a.amount - a.returned_amount
            else:
                total += a.points - a.reversed
    return total


def upgrade_at_once(prog: Programme, member: Member, qualifying_value: Decimal, at: datetime,
                    now: datetime) -> TierDecision | None:
    """Apply an order's tier upgrade (or renewal) to ``member`` at once and return the
    decision; None when nothing is applied.

    Downgrades wait for the review at the end of the period. A back-dated order whose
    qualification period is already over (``period_end`` not after ``now``) grants nothing:
    the order lies outside today's rolling window, so the tier would be one the member no
    longer qualifies for, held for a period that has ended."""
    decision = review(prog, current=member.tier, period_end=member.tier_period_end,
                      qualifying=qualifying_value, at=at)
    if decision.change not in ("upgrade", "renew") or decision.period_end <= now:
        return None
    member.tier = decision.tier
    member.tier_period_end = decision.period_end
    return decision


@dataclass
class PeriodUsage:
    """Points already earned per cap period (per member) and budget period (everyone), keyed
    ``(member_id, period start)`` and ``("", period start)``; each quote adds its points."""

    used: dict[tuple[str, str], int] = field(default_factory=dict)

    @staticmethod
    def member_key(prog: Programme, member_id: str, at: datetime) -> tuple[str, str]:
        return (member_id, prog.period_start(aware(at), prog.cap_period).isoformat())

    @staticmethod
    def budget_key(prog: Programme, at: datetime) -> tuple[str, str]:
        return ("", prog.period_start(aware(at), prog.budget_period).isoformat())

    def quote(self, prog: Programme, p: Purchase, member: Member) -> Quote:
        """The order's quote within what its periods have left, counted as used."""
        at = aware(p.ordered_at)
        mk, bk = self.member_key(prog, p.member_id, at), self.budget_key(prog, at)
        q = quote(prog, p, tier=prog.tier(member.tier), in_club=member.in_club(at),
                  member_used_in_period=self.used.get(mk, 0),
                  budget_used_in_period=self.used.get(bk, 0))
        self.used[mk] = self.used.get(mk, 0) + q.points
        self.used[bk] = self.used.get(bk, 0) + q.points
        return q


def order_lot(prog: Programme, p: Purchase, q: Quote, version: int) -> tuple[Lot, Entry]:
    """The lot and the entry of an order's points: pending until the return window closes
    (available at once when the programme releases immediately), expiring per programme."""
    at = aware(p.ordered_at)
    ref = f"order:{p.order_id}"
    immediate = prog.release is Release.IMMEDIATELY
    lot = Lot(ref, p.member_id, "order", at, q.points, q.points,
              LotState.AVAILABLE if immediate else LotState.PENDING,
              available_at=prog.available_at(at), expires_at=prog.expires_at(at),
              order_id=p.order_id)
    entry = Entry(ref, p.member_id, at, EntryKind.EARN,
                  points=q.points if immediate else 0,
                  pending=0 if immediate else q.points, lot_ref=ref,
                  order_id=p.order_id, reason=", ".join(q.factors) or "order",
                  programme_version=version)
    return lot, entry


def credit_order(account: Account, prog: Programme, p: Purchase, q: Quote,
                 version: int) -> Lot:
    """Book the order's lot on ``account``; an order that earns nothing still gets its
    (empty) lot, without an entry, so its returns and release find it."""
    lot, entry = order_lot(prog, p, q, version)
    if q.points:
        account.credit(lot, entry)
    else:
        account.lots[lot.lot_ref] = lot
        account.new_lots.append(lot.lot_ref)
    return lot


def credit_now(account: Account, prog: Programme, *, ref: str, source: str, points: int,
               at: datetime, kind: EntryKind, reason: str, actor: str,
               version: int) -> Entry:
    """Add an immediately available lot (bonus, adjustment, referral)."""
    member_id = account.member.member_id
    lot = Lot(ref, member_id, source, at, points, points, LotState.AVAILABLE,
              available_at=at, expires_at=prog.expires_at(at))
    entry = Entry(ref, member_id, at, kind, points=points, lot_ref=ref, reason=reason,
                  actor=actor, programme_version=version)
    return account.credit(lot, entry)


def punch_units(category: str | None, sku: str | None, p: Purchase) -> int:
    """The units of ``p`` a punch card for ``category`` or ``sku`` counts."""
    if p.lines:
        return sum(ln.quantity for ln in p.lines
                   if (category is not None and ln.category == category)
                   or (sku is not None and ln.sku == sku))
    if category is not None and category in p.categories:
        return p.quantity or 1
    return 0


def punch(count: int, rewarded: int, units: int, every: int) -> tuple[int, int, list[int]]:
    """Add ``units`` to a card holding ``count`` units that has given ``rewarded`` rewards:
    the new count, the new number of rewards, and the numbers (1-based, in order) of the
    rewards the units completed — one every ``every`` units."""
    count += units
    fresh = []
    while count // every > rewarded:
        rewarded += 1
        fresh.append(rewarded)
    return count, rewarded, fresh
