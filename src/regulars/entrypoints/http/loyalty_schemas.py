"""Request and response models of the loyalty endpoints (``routers/loyalty.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from regulars.entrypoints.http.fields import (
    AMOUNT_NUMBER,
    Count,
    Day,
    Flag,
    Instant,
    amount_field,
    amount_schema,
)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# a moment in an answer (the store keeps naive UTC): always with its offset
Moment = Annotated[datetime, AfterValidator(_utc)]

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL characters
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=NO_NUL)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=NO_NUL)]
_MAX = Decimal("99999999999999")
Money = Annotated[Decimal, AMOUNT_NUMBER, amount_field(ge=0, le=_MAX),
                  amount_schema(ge=0, le=_MAX)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- requests --------------------------------------------------------------------------------


class MembershipIn(_In):
    """Enrolment: ``consent`` is the customer's opt-in (without it, orders earn nothing)."""

    consent: Flag
    email: Annotated[str, StringConstraints(max_length=320, pattern=NO_NUL)] | None = Field(
        None, description="To refuse self-referrals (the same e-mail as the referrer).")
    phone: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)] | None = None
    birthday: Day | None = None
    referral_code: Code | None = Field(None, description="A friend's referral code.")
    payment_fingerprint: Short | None = Field(
        None, description="A payment card's fingerprint, to refuse self-referrals.")


class RedemptionIn(_In):
    reward: Code = Field(description="A reward code of the catalogue (GET /v1/loyalty/rewards).")


class CancellationIn(_In):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=1000, pattern=NO_NUL)] = Field(
        description="Why the redemption is undone (kept in the ledger).")


class CouponUseIn(_In):
    order_id: Code = Field(description="The order the coupon is used on.")


class AdjustmentIn(_In):
    points: Count = Field(ge=-10_000_000, le=10_000_000,
                        description="Points to add (positive) or take (negative), not 0.",
                        json_schema_extra={"not": {"const": 0}})
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=1000, pattern=NO_NUL)]


class QuoteLine(_In):
    amount: Money
    category: Short | None = None
    sku: Short | None = None
    quantity: Count = Field(1, ge=1, le=1_000_000)


class QuoteIn(_In):
    """An order as it would be sent to ``POST /v1/orders`` (only what points depend on)."""

    customer_id: Short | None = Field(
        None, description="A member (their tier, club and caps apply); absent or unknown: a "
                          "member of the lowest tier.")
    amount: Money
    ordered_at: Instant | None = Field(None, description="Default: now.")
    categories: list[Short] | Short = Field(
        default_factory=list, description="Categories (a list, or `;`-separated text).")
    quantity: Count | None = Field(None, ge=0, le=1_000_000)
    lines: list[QuoteLine] = Field(default_factory=list, max_length=1000)


class RunIn(_In):
    at: Instant | None = Field(
        None, description="Default: now. Not in the future (a few minutes of clock drift "
                          "are allowed); in the past, not before the latest tier review.")
    dry_run: Flag = Field(
        False, description="Say what the run would do, per member, and write nothing.")


class ExpiryNoticesIn(_In):
    at: Instant | None = Field(None, description="The start of the window; default: now.")
    within_days: Count | None = Field(
        None, ge=1, le=3650,
        description="The window, in days; default: `[api] points_expiring_notice_days`.")


# -- responses -------------------------------------------------------------------------------


class Expiring(BaseModel):
    last_day: date
    points: int


class HistoryLine(BaseModel):
    at: Moment
    kind: str
    points: int
    pending: int
    reason: str
    actor: str
    ref: str


class PointsStatement(BaseModel):
    """A member's statement: what can be spent, what is pending, what expires soon, the tier
    and the progress to the next one, and the latest ledger entries."""

    member_id: str
    as_of: Moment
    balance: int = Field(description="Spendable points (negative while a debt is repaid).")
    pending: int = Field(description="Points waiting for their orders' return window.")
    debt: int
    deficit: int
    expiring_soon: int
    expiring: list[Expiring]
    tier: str
    tier_multiplier: Decimal
    tier_discount_percent: Decimal
    tier_perks: list[str]
    tier_basis: str
    qualifying: Decimal
    next_tier: str | None
    to_next_tier: Decimal
    tier_period_end: Moment | None
    referral_code: str | None
    club_until: Moment | None
    stored_value: Decimal
    coupons: list[str]
    history: list[HistoryLine]


class TierInfo(BaseModel):
    name: str
    threshold: Decimal
    multiplier: Decimal
    discount_percent: Decimal
    perks: list[str]


class TierProgress(BaseModel):
    customer_id: str
    as_of: Moment
    tier: str
    multiplier: Decimal
    discount_percent: Decimal
    perks: list[str]
    basis: str
    window_days: int
    qualifying: Decimal
    next_tier: str | None
    to_next_tier: Decimal
    period_end: Moment | None
    tiers: list[TierInfo]
    history: list[dict[str, object]]


class QuoteOut(BaseModel):
    customer_id: str | None
    member: bool
    points: int
    uncapped: int
    factors: list[str]
    capped_by: str | None
    tier: str
    programme_version: int
    status: str = Field(description="`pending` until the return window closes, or "
                                    "`available`.")
    available_at: Moment | None
    note: str | None


class Membership(BaseModel):
    member_id: str
    referral_code: str
    enrolled_at: Moment
    consent: bool
    referred_by: str | None
    bonus_points: int
    replayed: bool


class Redemption(BaseModel):
    member_id: str
    points: int
    balance_after: int
    reward: str | None
    coupon_code: str | None
    valid_until: Moment | None
    replayed: bool = Field(description="True when this answers a retry (nothing spent again).")


class CouponOut(BaseModel):
    code: str
    member_id: str
    reward: str
    kind: str
    value: Decimal = Field(description="The discount or value in money (discount coupons).")
    percent: Decimal = Field(description="The discount in percent (percentage coupons).")
    issued_at: Moment
    valid_until: Moment
    state: str = Field(description="valid, used, cancelled, expired or not_yet_valid (now).")
    used_at: Moment | None
    used_order_id: str | None
    cancelled_at: Moment | None


class CouponUseOut(BaseModel):
    code: str
    member_id: str
    reward: str
    kind: str
    value: Decimal
    percent: Decimal
    order_id: str
    replayed: bool = Field(description="True when the coupon was used on this order already.")


class Cancellation(BaseModel):
    member_id: str
    coupon_code: str | None
    points_back: int = Field(description="Points returned to the lots they came from.")
    points_lapsed: int = Field(
        description="Points not returned: their lots have expired since the redemption.")
    balance_after: int
    reason: str
    actor: str
    replayed: bool = Field(description="True when this answers a retry (nothing done again).")


class Adjustment(BaseModel):
    member_id: str
    points: int
    balance_after: int
    reason: str
    actor: str
    replayed: bool


class Referral(BaseModel):
    code: str | None
    customer_id: str
    referrals: int
    referrals_left: int | None
    usable: bool
    referee_points: int
    referrer_points: int


class RewardOut(BaseModel):
    code: str
    name: str
    kind: str
    points: int
    value: Decimal
    percent: Decimal
    valid_days: int
    min_tier: str | None
    stock: int | None = Field(description="How many may be redeemed in all (null: no limit).")
    stock_left: int | None = Field(description="How many can still be redeemed.")
    per_member: int | None = Field(description="How many one member may redeem.")


class RunMemberOut(BaseModel):
    """A member a dry run would touch."""

    member_id: str
    name: str | None = Field(description="The customer's name, when the store has it.")
    points_expiring: int = Field(description="Spendable points the expiry would take.")
    pending_expiring: int = Field(description="Pending points the expiry would take.")
    lots_expiring: int
    tier_from: str
    tier_to: str = Field(description="Equal to `tier_from` when the tier stays.")


class RunChunkOut(BaseModel):
    """One committed chunk of a run, recorded in the chunk's own transaction."""

    step: str = Field(description="`release`, `expire` or `tiers`.")
    chunk: int = Field(description="Its number within the step, from 0.")
    members: int
    items: int = Field(description="Lots released or expired, or tiers changed.")
    points: int
    detail: list[str] = Field(description="Per member: the points expired, or the tier move.")


class RunRecordOut(BaseModel):
    run_id: str
    as_of: Moment
    actor: str
    chunks: list[RunChunkOut]


class RunOut(BaseModel):
    as_of: Moment
    run_id: str | None = Field(
        None, description="The run's record (each committed chunk); none for a dry run.")
    dry_run: bool = False
    released_lots: int
    released_points: int
    expired_members: int = 0
    expired_lots: int
    expired_points: int
    tier_changes: list[str]
    members: list[RunMemberOut] | None = Field(
        None, description="A dry run: each member the run would touch.")


class PointsLine(BaseModel):
    """What one order earned (or one return took back) in an ingest request."""

    id: str
    customer_id: str
    points: int
    status: str = Field(description="`pending`, `available` (an order) or `reversed` (a return).")
    replayed: bool


class ExpiryNoticesOut(BaseModel):
    """What a run of the ``points_expiring`` notices sent."""

    as_of: Moment
    until: Moment = Field(description="Points expiring after `as_of` and up to this moment.")
    within_days: int
    subscribers: int = Field(description="Webhook subscriptions to `points_expiring` (none: "
                                         "nothing is sent, nothing recorded).")
    sent: int = Field(description="Notices queued now: one per member and expiry date, never "
                                  "one sent before.")
    members: int
    points: int = Field(description="The points those notices are about.")
