"""The loyalty programme's use cases: enrol, earn, return, release, redeem, expire, adjust,
tiers, referrals, rewards, club, stored value, offers and statements."""

from regulars.services.loyalty.results import (
    AccrualResult,
    AdjustmentResult,
    BonusResult,
    CardResult,
    ClubResult,
    CouponUse,
    DrawResult,
    EnrolResult,
    RedemptionResult,
    ReturnResult,
    RunResult,
    Statement,
    StatementLine,
)
from regulars.services.loyalty.service import LoyaltyService

__all__ = [
    "AccrualResult",
    "AdjustmentResult",
    "BonusResult",
    "CardResult",
    "ClubResult",
    "CouponUse",
    "DrawResult",
    "EnrolResult",
    "LoyaltyService",
    "RedemptionResult",
    "ReturnResult",
    "RunResult",
    "Statement",
    "StatementLine",
]
