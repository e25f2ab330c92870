"""Referrals: who may refer whom, and when both sides are rewarded.

Both the referrer and the referee are rewarded when the referee's first qualifying order
completes, that is when its return window has closed and it was not wholly returned. A
referral is refused, with a reason, when the two are the same person by e-mail, phone or
payment fingerprint, when the referrer has used up their allowance, or when the referee was
already referred or has already ordered.
"""

from __future__ import annotations

from enum import StrEnum

from regulars.domain.loyalty.ledger import Member


class RefusalReason(StrEnum):
    SELF = "self_referral"
    SAME_EMAIL = "same_email"
    SAME_PHONE = "same_phone"
    SAME_PAYMENT = "same_payment_fingerprint"
    CAP_REACHED = "referrer_cap_reached"
    ALREADY_REFERRED = "already_referred"
    ALREADY_ORDERED = "already_ordered"
    UNKNOWN_CODE = "unknown_code"


def same_person(a: Member, b: Member, payment: str | None = None) -> RefusalReason | None:
    """Why ``a`` and ``b`` look like one person (``payment``: a fingerprint seen on b's
    order), or ``None``."""
    if a.member_id == b.member_id:
        return RefusalReason.SELF
    if a.email_norm and a.email_norm == b.email_norm:
        return RefusalReason.SAME_EMAIL
    if a.phone_norm and a.phone_norm == b.phone_norm:
        return RefusalReason.SAME_PHONE
    prints = {p for p in (b.payment_fingerprint, payment) if p}
    if a.payment_fingerprint and a.payment_fingerprint in prints:
        return RefusalReason.SAME_PAYMENT
    return None


def check_referral(
    referrer: Member,
    referee: Member,
    *,
    referrals_so_far: int,
    cap: int | None,
    referee_has_orders: bool,
) -> RefusalReason | None:
    """Why ``referrer`` may not refer ``referee`` now, or ``None`` when they may."""
    reason = same_person(referrer, referee)
    if reason is not None:
        return reason
    if referee.referred_by is not None:
        return RefusalReason.ALREADY_REFERRED
    if referee_has_orders:
        return RefusalReason.ALREADY_ORDERED
    if cap is not None and referrals_so_far >= cap:
        return RefusalReason.CAP_REACHED
    return None
