"""Spending points on rewards or at the till, and cancelling such a redemption."""

from __future__ import annotations

from datetime import datetime

from regulars.domain.loyalty.codes import normalise_code
from regulars.domain.loyalty.errors import (
    ConsentRequiredError,
    CouponUsedError,
    LoyaltyError,
    OutOfStockError,
    RewardError,
    UnknownRedemptionError,
)
from regulars.domain.loyalty.programme import aware
from regulars.i18n import _, fmt_number
from regulars.services.loyalty.core import LoyaltyCore
from regulars.services.loyalty.ports import LoyaltyTx
from regulars.services.loyalty.results import CancellationResult, RedemptionResult


class Spending(LoyaltyCore):
    """Redemptions, payments with points, and cancelling them.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def redeem(self, member_id: str, reward_code: str, *, key: str,
               at: datetime | None = None) -> RedemptionResult:
        """Spend points on a catalogue reward and issue its single-use coupon.

        The balance is checked and the points taken in one transaction holding the member's
        lock, so concurrent redemptions cannot overspend. ``key`` makes the call idempotent.
        """
        reward = self.programme.reward(reward_code)
        if reward is None:
            raise RewardError(_("no reward {code} in the catalogue").format(code=reward_code))
        if not reward.active:
            raise RewardError(_("{reward} is no longer offered").format(reward=reward.name))

        def work(tx: LoyaltyTx, now: datetime) -> RedemptionResult:
            when = aware(at) if at is not None else now
            member = self._member(tx, member_id)
            if not member.consent:
                raise ConsentRequiredError(_("member {id} has not opted in").format(id=member_id))
            if reward.min_tier is not None:
                names = [t.name for t in self.programme.tiers]
                if names.index(self.programme.tier(member.tier).name) < names.index(
                        self.programme.tier(reward.min_tier).name):
                    raise RewardError(_("{reward} needs tier {tier}").format(
                        reward=reward.name, tier=reward.min_tier))
            if reward.per_member is not None:
                had = sum(1 for c in tx.coupons_of(member_id)
                          if c.reward == reward.code and c.source_ref.startswith("redeem:")
                          and c.cancelled_at is None)
                if had >= reward.per_member:
                    # the translations word it so that the count needs no plural form
                    raise RewardError(_("{id} has redeemed {reward} {n} times, the most one "
                                        "member may").format(id=member_id, reward=reward.code,
                                                             n=fmt_number(had)))
            account = self._spend(tx, member, reward.points, when, ref=f"redeem:{key}",
                                  reason=f"reward {reward.code}")
            # last: the stock's row lock is held from here to the commit, and a refusal
            # above takes nothing from the stock
            if reward.stock is not None and not tx.take_reward(reward.code, reward.stock):
                raise OutOfStockError(_("{reward}: all {n} have been redeemed").format(
                    reward=reward.code, n=fmt_number(reward.stock)))
            coupon = self._coupon(member_id, reward.code, reward.kind.value, reward.value,
                                  reward.percent, when, reward.valid_days, f"redeem:{key}")
            tx.add_coupons([coupon])
            return RedemptionResult(member_id, reward.points, account.member.balance,
                                    reward.code, coupon.code, coupon.valid_until)

        return self._once(f"redeem:{key}", "redeem", {"member": member_id, "reward": reward_code},
                          RedemptionResult, work, member_id=member_id)

    def gift_coupon(self, member_id: str, reward_code: str, *, key: str,
                    at: datetime | None = None) -> RedemptionResult:
        """Issue a catalogue reward's single-use coupon as a gift, spending no points (a
        playbook's win-back offer, issue 20). The member must be enrolled with consent;
        ``key`` makes the call idempotent (a repeat returns the first coupon). The reward's
        stock is taken as a redemption takes it."""
        reward = self.programme.reward(reward_code)
        if reward is None:
            raise RewardError(_("no reward {code} in the catalogue").format(code=reward_code))
        if not reward.active:
            raise RewardError(_("{reward} is no longer offered").format(reward=reward.name))

        def work(tx: LoyaltyTx, now: datetime) -> RedemptionResult:
            when = aware(at) if at is not None else now
            member = self._member(tx, member_id)
            if not member.consent:
                raise ConsentRequiredError(_("member {id} has not opted in").format(id=member_id))
            if reward.stock is not None and not tx.take_reward(reward.code, reward.stock):
                raise OutOfStockError(_("{reward}: all {n} have been redeemed").format(
                    reward=reward.code, n=fmt_number(reward.stock)))
            coupon = self._coupon(member_id, reward.code, reward.kind.value, reward.value,
                                  reward.percent, when, reward.valid_days, f"gift:{key}")
            tx.add_coupons([coupon])
            return RedemptionResult(member_id, 0, member.balance, reward.code, coupon.code,
                                    coupon.valid_until)

        return self._once(f"gift:{key}", "gift", {"member": member_id, "reward": reward_code},
                          RedemptionResult, work, member_id=member_id)

    def spend(self, member_id: str, points: int, *, key: str, reason: str = "payment",
              at: datetime | None = None) -> RedemptionResult:
        """Spend ``points`` directly (paying with points at the till)."""
        if points <= 0:
            raise LoyaltyError(_("points to spend must be positive"))

        def work(tx: LoyaltyTx, now: datetime) -> RedemptionResult:
            member = self._member(tx, member_id)
            account = self._spend(tx, member, points, aware(at) if at else now,
                                  ref=f"redeem:{key}", reason=reason)
            return RedemptionResult(member_id, points, account.member.balance)

        return self._once(f"redeem:{key}", "spend", {"member": member_id, "points": points},
                          RedemptionResult, work, member_id=member_id)

    def stock_left(self) -> dict[str, int]:
        """Per reward with a stock limit: how many can still be redeemed."""
        with self.store.reading() as tx:
            issued = tx.rewards_issued()
        return {r.code: max(0, r.stock - issued.get(r.code, 0))
                for r in self.programme.rewards if r.stock is not None}

    def cancel_redemption(self, *, key: str | None = None, coupon_code: str | None = None,
                          reason: str = "cancelled", actor: str = "system",
                          at: datetime | None = None) -> CancellationResult:
        """Undo a redemption (or a payment with points), named by its idempotency ``key`` or
        by the ``coupon_code`` it issued: the coupon stops being valid and the points go back
        to the lots they came from, with those lots' expiry (points of lots that have expired
        since do not come back; returned points pay any debt first). Refused while nothing
        is written when the coupon has been used. Cancelling again answers the first
        cancellation (``replayed``)."""
        if (key is None) == (coupon_code is None):
            raise LoyaltyError(_("name the redemption by its key or by its coupon's code"))
        with self.store.reading() as tx:
            if coupon_code is not None:
                code = normalise_code(coupon_code)
                coupon = tx.coupon(code)
                ref = coupon.source_ref if coupon is not None else ""
                if not ref.startswith("redeem:"):
                    raise UnknownRedemptionError(
                        _("no redemption issued coupon {code}").format(code=code))
            else:
                ref = f"redeem:{key}"
            op = tx.operations([ref]).get(ref)
        if op is None or op.kind not in ("redeem", "spend") or op.member_id is None:
            raise UnknownRedemptionError(_("no redemption under key {key}").format(
                key=ref.removeprefix("redeem:")))
        member_id = op.member_id

        def work(tx: LoyaltyTx, now: datetime) -> CancellationResult:
            when = aware(at) if at is not None else now
            member = self._member(tx, member_id)
            coupon = tx.coupon_from(ref)
            # one atomic update, conditional on the coupon being unused: a use racing this
            # cancellation either lands first (and this is refused) or finds it cancelled
            if coupon is not None:
                if not tx.cancel_coupon(coupon.code, when):
                    used = tx.coupon(coupon.code)
                    raise CouponUsedError(
                        _("coupon {code} was used on order {order}: its redemption cannot be "
                          "cancelled").format(code=coupon.code,
                                              order=used.used_order_id if used else "?"))
                tx.give_back_reward(coupon.reward)  # a no-op for a reward without a stock
            taken = tx.allocations(ref)
            account = self._account(tx, member, [a.lot_ref for a in taken])
            account.expire(when, version=self.current_version)
            entry, lapsed = account.restore(taken, when, ref=f"cancel:{ref}", reason=reason,
                                            actor=actor, version=self.current_version)
            tx.save_accounts([account])
            return CancellationResult(member_id, ref.removeprefix("redeem:"), entry.points,
                                      lapsed, account.member.balance, reason, actor,
                                      coupon.code if coupon is not None else None)

        return self._once(f"cancel:{ref}", "cancel", {"redemption": ref}, CancellationResult,
                          work, member_id=member_id)
