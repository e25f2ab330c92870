"""Reading and using the single-use coupons rewards and offers issue."""

from __future__ import annotations

from datetime import datetime

from regulars.domain.loyalty.codes import normalise_code
from regulars.domain.loyalty.errors import CouponUsedError, RewardError, UnknownCouponError
from regulars.domain.loyalty.programme import aware
from regulars.i18n import _
from regulars.services.loyalty.core import LoyaltyCore
from regulars.services.loyalty.ports import Coupon, LoyaltyTx
from regulars.services.loyalty.results import CouponStatus, CouponUse


class Coupons(LoyaltyCore):
    """A coupon's status and its single use.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def coupon_status(self, code: str, at: datetime | None = None) -> CouponStatus:
        """A coupon and whether it can be used at ``at`` (default now)."""
        code = normalise_code(code)
        with self.store.reading() as tx:
            coupon = tx.coupon(code)
        if coupon is None:
            raise UnknownCouponError(_("coupon {code} does not exist").format(code=code))
        state = coupon.state(at if at is not None else self.now())
        return CouponStatus(coupon.code, coupon.member_id, coupon.reward, coupon.kind,
                            coupon.value, coupon.percent, coupon.issued_at, coupon.valid_until,
                            state, coupon.used_at, coupon.used_order_id, coupon.cancelled_at)

    def coupons_of(self, member_id: str) -> list[Coupon]:
        """Every coupon the member was issued (used, cancelled and expired ones too), oldest
        first."""
        with self.store.reading() as tx:
            return tx.coupons_of(member_id)

    def use_coupon(self, code: str, *, order_id: str, at: datetime | None = None,
                   key: str | None = None) -> CouponUse:
        """Mark a coupon used on ``order_id`` (once; the same order again is a replay).

        With ``key`` (a till's idempotency key) the answer is also recorded under it: the
        same key again returns it (``replayed``), the same key for another order or coupon
        is an :class:`IdempotencyConflictError`."""
        code = normalise_code(code)

        def work(tx: LoyaltyTx, now: datetime) -> CouponUse:
            # locked: a till that loses a race waits for the winner and reads its use
            coupon = tx.coupon(code, lock=True)
            if coupon is None:
                raise UnknownCouponError(_("coupon {code} does not exist").format(code=code))
            when = aware(at) if at is not None else now
            replay = self._check_use(coupon, order_id, when)
            if replay is not None:
                return replay
            if not tx.use_coupon(code, order_id, when):
                # the update matched nothing although the row read usable: someone changed it
                # in between (a store without the row lock); judge the row as it is now
                now_row = tx.coupon(code)
                replay = self._check_use(now_row, order_id, when) if now_row else None
                if replay is not None:
                    return replay
                raise CouponUsedError(_("coupon {code} was already used").format(code=code))
            return self._coupon_use(coupon, order_id)

        if key is not None:
            return self._once(f"coupon-use:{key}", "coupon_use",
                              {"code": code, "order_id": order_id}, CouponUse, work)
        with self.store.transaction() as tx:
            use = work(tx, self.now())
            if not use.replayed:
                tx.commit()
            return use

    @staticmethod
    def _coupon_use(coupon: Coupon, order_id: str, *, replayed: bool = False) -> CouponUse:
        return CouponUse(coupon.code, coupon.member_id, coupon.reward, coupon.kind,
                         coupon.value, coupon.percent, order_id, replayed=replayed)

    def _check_use(self, coupon: Coupon, order_id: str, when: datetime) -> CouponUse | None:
        """Whether ``coupon`` can be used on ``order_id`` at ``when``: None when it can, the
        first use when it was used on this very order (a replay), else raises why not — used
        on another order (:class:`CouponUsedError`), cancelled, or outside its dates. Used is
        judged first, so a till that lost a race hears "used" whatever the moment."""
        if coupon.used_at is not None:
            if coupon.used_order_id == order_id:
                return self._coupon_use(coupon, order_id, replayed=True)
            raise CouponUsedError(_("coupon {code} was already used on order {order}"
                                    ).format(code=coupon.code, order=coupon.used_order_id))
        if coupon.cancelled_at is not None:
            raise RewardError(_("coupon {code} was cancelled on {at}").format(
                code=coupon.code, at=aware(coupon.cancelled_at).isoformat()))
        if not aware(coupon.issued_at) <= when < aware(coupon.valid_until):
            raise RewardError(_("coupon {code} is not valid at {at} (valid {start} to "
                                "{end})").format(code=coupon.code, at=when.isoformat(),
                                                 start=coupon.issued_at.isoformat(),
                                                 end=coupon.valid_until.isoformat()))
        return None
