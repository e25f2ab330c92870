"""The loyalty programme's use cases: enrol, earn, return, release, redeem, cancel a
redemption, expire, adjust, tiers, referrals, rewards, club, stored value, offers, statements
and the notices of points about to expire."""

from regulars.services.loyalty.results import (
    AccrualResult,
    AdjustmentResult,
    BonusResult,
    CancellationResult,
    CardIssued,
    CardResult,
    ClubResult,
    CouponStatus,
    CouponUse,
    DrawResult,
    EnrolResult,
    NoticeResult,
    PeriodicRun,
    RedemptionResult,
    ReturnResult,
    RunMember,
    RunResult,
    Statement,
    StatementLine,
)
from regulars.services.loyalty.service import LoyaltyService

__all__ = [
    "AccrualResult",
    "AdjustmentResult",
    "BonusResult",
    "CancellationResult",
    "CardIssued",
    "CardResult",
    "ClubResult",
    "CouponStatus",
    "CouponUse",
    "DrawResult",
    "EnrolResult",
    "LoyaltyService",
    "NoticeResult",
    "PeriodicRun",
    "RedemptionResult",
    "ReturnResult",
    "RunMember",
    "RunResult",
    "Statement",
    "StatementLine",
]
