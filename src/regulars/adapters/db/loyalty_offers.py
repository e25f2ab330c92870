"""What a loyalty member is offered and holds beside points, in one loyalty transaction:
referrals, coupons and the rewards' stock, punch cards, the paid club, the stored-value card
and prize draws."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from regulars.adapters.db.loyalty_base import LoyaltyTxBase
from regulars.adapters.db.loyalty_rows import (
    aware_utc,
    coupon_from_row,
    coupon_to_row,
    in_values,
    money,
    naive_utc,
)
from regulars.adapters.db.tables import (
    loyalty_card_entries,
    loyalty_club_payments,
    loyalty_coupons,
    loyalty_draws,
    loyalty_punches,
    loyalty_referrals,
    loyalty_reward_stock,
)
from regulars.services.loyalty.ports import Coupon, ReferralRecord


class OfferRows(LoyaltyTxBase):
    """Referrals, coupons, rewards, punch cards, club, stored value, draws."""

    # -- referrals ---------------------------------------------------------------------------

    def referral(self, referee_id: str) -> ReferralRecord | None:
        t = loyalty_referrals
        rows = self._rows(sa.select(t).where(t.c.referee_id == referee_id))
        if not rows:
            return None
        m = rows[0]._mapping
        return ReferralRecord(m["referee_id"], m["referrer_id"], m["code"],
                              aware_utc(m["at"]), m["status"], m["reason"],  # type: ignore[arg-type]
                              m["order_id"], aware_utc(m["settled_at"]))

    def count_referrals(self, referrer_id: str) -> int:
        t = loyalty_referrals
        return int(self.conn.execute(sa.select(sa.func.count()).where(
            t.c.referrer_id == referrer_id, t.c.status != "refused")).scalar_one())

    def add_referral(self, r: ReferralRecord) -> None:
        self.conn.execute(loyalty_referrals.insert(), {
            "referee_id": r.referee_id, "referrer_id": r.referrer_id, "code": r.code,
            "at": naive_utc(r.at), "status": r.status, "reason": r.reason, "order_id": r.order_id,
            "settled_at": naive_utc(r.settled_at)})

    def settle_referral(self, referee_id: str, status: str, reason: str | None,
                        order_id: str | None, at: datetime) -> None:
        t = loyalty_referrals
        self.conn.execute(t.update().where(t.c.referee_id == referee_id).values(
            status=status, reason=reason, order_id=order_id, settled_at=naive_utc(at)))

    # -- coupons -----------------------------------------------------------------------------

    def add_coupons(self, coupons: Sequence[Coupon]) -> None:
        if coupons:
            self.conn.execute(loyalty_coupons.insert(), [coupon_to_row(c) for c in coupons])

    def coupon(self, code: str, *, lock: bool = False) -> Coupon | None:
        """The coupon with this code; with ``lock``, row-locked until the transaction ends
        (PostgreSQL: a use racing another waits here and then reads the winner's row, instead
        of reading it unused and finding its conditional UPDATE match nothing; SQLite's
        write transaction already holds the database)."""
        stmt = sa.select(loyalty_coupons).where(loyalty_coupons.c.code == code)
        if lock and self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        rows = self._rows(stmt)
        return coupon_from_row(rows[0]) if rows else None

    def coupons_of(self, member_id: str) -> list[Coupon]:
        t = loyalty_coupons
        return [coupon_from_row(r) for r in self._rows(
            sa.select(t).where(t.c.member_id == member_id).order_by(t.c.issued_at, t.c.code))]

    def coupon_sources(self, refs: Iterable[str]) -> set[str]:
        t = loyalty_coupons
        out: set[str] = set()
        for chunk in self._chunks(list(refs)):
            out.update(r[0] for r in self._rows(
                sa.select(t.c.source_ref).where(in_values(t.c.source_ref, chunk, self.dialect))))
        return out

    def coupon_from(self, source_ref: str) -> Coupon | None:
        t = loyalty_coupons
        rows = self._rows(sa.select(t).where(t.c.source_ref == source_ref))
        return coupon_from_row(rows[0]) if rows else None

    def cancel_coupon(self, code: str, at: datetime) -> bool:
        """Cancel an unused coupon, atomically against its use: ``False`` when it was used
        (or cancelled) first."""
        t = loyalty_coupons
        res = self.conn.execute(t.update().where(
            t.c.code == code, t.c.used_at.is_(None), t.c.cancelled_at.is_(None)
        ).values(cancelled_at=naive_utc(at)))
        return bool(res.rowcount == 1)

    def take_reward(self, reward: str, stock: int) -> bool:
        """Count one more of ``reward`` redeemed, atomically, unless ``stock`` have been:
        ``False`` then. The row's lock serialises concurrent redemptions of the reward."""
        t = loyalty_reward_stock
        insert = postgresql.insert(t) if self.dialect == "postgresql" else sqlite.insert(t)
        self.conn.execute(insert.values(reward=reward, issued=0)
                          .on_conflict_do_nothing(index_elements=["reward"]))
        res = self.conn.execute(t.update().where(t.c.reward == reward, t.c.issued < stock)
                                .values(issued=t.c.issued + 1))
        return bool(res.rowcount == 1)

    def give_back_reward(self, reward: str) -> None:
        t = loyalty_reward_stock
        self.conn.execute(t.update().where(t.c.reward == reward, t.c.issued > 0)
                          .values(issued=t.c.issued - 1))

    def rewards_issued(self) -> dict[str, int]:
        t = loyalty_reward_stock
        return {r.reward: int(r.issued) for r in self._rows(sa.select(t))}

    def use_coupon(self, code: str, order_id: str, at: datetime) -> bool:
        """Mark a coupon used, atomically: ``False`` when it was used, or is not valid at
        ``at``."""
        t = loyalty_coupons
        res = self.conn.execute(t.update().where(
            t.c.code == code, t.c.used_at.is_(None), t.c.cancelled_at.is_(None),
            t.c.issued_at <= naive_utc(at),
            t.c.valid_until > naive_utc(at)).values(used_at=naive_utc(at), used_order_id=order_id))
        return bool(res.rowcount == 1)

    # -- punch cards -------------------------------------------------------------------------

    def punches(self, member_ids: Iterable[str]) -> dict[tuple[str, str], tuple[int, int]]:
        t = loyalty_punches
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for chunk in self._chunks(sorted(set(member_ids))):
            for r in self._rows(sa.select(t).where(in_values(t.c.member_id, chunk, self.dialect))):
                out[(r.member_id, r.card)] = (int(r.punches), int(r.rewards_issued))
        return out

    def save_punches(self, changed: dict[tuple[str, str], tuple[int, int]],
                     existing: set[tuple[str, str]]) -> None:
        t = loyalty_punches
        ins = [{"member_id": m, "card": c, "punches": p, "rewards_issued": r}
               for (m, c), (p, r) in changed.items() if (m, c) not in existing]
        upd = [{"b_m": m, "b_c": c, "b_p": p, "b_r": r}
               for (m, c), (p, r) in changed.items() if (m, c) in existing]
        if ins:
            self.conn.execute(t.insert(), ins)
        if upd:
            self.conn.execute(t.update().where(
                t.c.member_id == sa.bindparam("b_m"), t.c.card == sa.bindparam("b_c")).values(
                punches=sa.bindparam("b_p"), rewards_issued=sa.bindparam("b_r")), upd)

    # -- club, stored value, draws -----------------------------------------------------------

    def add_club_payment(self, payment_ref: str, member_id: str, at: datetime, fee: Decimal,
                         starts: datetime, ends: datetime) -> None:
        self.conn.execute(loyalty_club_payments.insert(), {
            "payment_ref": payment_ref, "member_id": member_id, "paid_at": naive_utc(at),
            "fee": fee, "starts_at": naive_utc(starts), "ends_at": naive_utc(ends)})

    def add_card_entry(self, ref: str, member_id: str, at: datetime, kind: str, amount: Decimal,
                       payment_method: str | None, original_ref: str | None) -> None:
        self.conn.execute(loyalty_card_entries.insert(), {
            "ref": ref, "member_id": member_id, "at": naive_utc(at), "kind": kind, "amount": amount,
            "payment_method": payment_method, "original_ref": original_ref})

    def card_entry(self, ref: str) -> dict[str, Any] | None:
        t = loyalty_card_entries
        rows = self._rows(sa.select(t).where(t.c.ref == ref))
        if not rows:
            return None
        return {**rows[0]._mapping, "amount": money(rows[0].amount)}

    def card_refunded(self, original_ref: str) -> Decimal:
        t = loyalty_card_entries
        v = self.conn.execute(sa.select(sa.func.sum(t.c.amount)).where(
            t.c.original_ref == original_ref, t.c.kind == "refund")).scalar_one()
        return money(v or 0)

    def card_sums(self) -> dict[str, Decimal]:
        t = loyalty_card_entries
        rows = self._rows(sa.select(t.c.member_id, sa.func.sum(t.c.amount))
                          .group_by(t.c.member_id))
        return {r[0]: money(r[1] or 0) for r in rows}

    def add_draw(self, key: str, offer: str, at: datetime, seed: int, eligible: int,
                 digest: str, winners: Sequence[str]) -> None:
        self.conn.execute(loyalty_draws.insert(), {
            "draw_key": key, "offer": offer, "at": naive_utc(at), "seed": seed,
            "eligible": eligible, "eligible_digest": digest, "winners": json.dumps(list(winners))})

