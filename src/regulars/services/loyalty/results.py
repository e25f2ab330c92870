"""What the loyalty services return. Results of writes are stored with their operation so
that a retried call returns the original result (with ``replayed=True``)."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def to_json(result: Any) -> dict[str, Any]:
    """A result as a JSON-ready mapping."""
    names = _names(type(result))  # type: ignore[arg-type]
    return {name: _out(getattr(result, name)) for name in names}


_PLAIN = (str, int, bool, type(None))


def _out(v: Any) -> Any:
    if isinstance(v, _PLAIN):
        return v
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, tuple | list):
        return [_out(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return to_json(v)
    return v


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(cls: type[T], data: dict[str, Any], **overrides: Any) -> T:
    """Rebuild a result stored by :func:`to_json`."""
    hints = _hints(cls)  # type: ignore[arg-type]
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _in(hints[f.name], data[f.name])
    kwargs.update(overrides)
    return cls(**kwargs)


def _in(tp: Any, v: Any) -> Any:
    if v is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _in(args[0], v)
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        return tuple(_in(inner, x) for x in v)
    if tp is Decimal:
        return Decimal(v)
    if tp is datetime:
        return datetime.fromisoformat(v)
    if tp is date:
        return date.fromisoformat(v)
    if dataclasses.is_dataclass(tp) and isinstance(v, dict):
        return from_json(tp, v)  # type: ignore[arg-type]
    return v


@dataclass(frozen=True)
class EnrolResult:
    member_id: str
    referral_code: str
    enrolled_at: datetime
    consent: bool
    referred_by: str | None = None
    bonus_points: int = 0
    replayed: bool = False


@dataclass(frozen=True)
class CardIssued:
    """A loyalty card given to a member: its number as kept, the one it replaced, and
    whether anything changed (the same card again changes nothing)."""

    member_id: str
    card_number: str
    previous: str | None = None
    changed: bool = True


@dataclass(frozen=True)
class AccrualResult:
    """What one order earned. ``status``: ``pending``, ``available`` or ``skipped``
    (``skipped_reason``: ``not_enrolled``, ``no_consent``, ``conflict``, or
    ``unprocessable`` when its data makes the accrual fail — ``problem`` says how, e.g. a
    date whose return window or expiry lies beyond the calendar)."""

    order_id: str
    member_id: str
    points: int
    status: str
    available_at: datetime | None = None
    expires_at: datetime | None = None
    programme_version: int | None = None
    uncapped: int = 0
    factors: tuple[str, ...] = ()
    capped_by: str | None = None
    tier_before: str | None = None
    tier_after: str | None = None
    coupons: tuple[str, ...] = ()
    skipped_reason: str | None = None
    replayed: bool = False
    problem: str | None = None


@dataclass(frozen=True)
class ReturnResult:
    return_id: str
    order_id: str
    member_id: str
    returned_amount: Decimal
    points_reversed: int
    from_pending: int
    from_balance: int
    deficit: int
    balance_after: int
    replayed: bool = False


@dataclass(frozen=True)
class RedemptionResult:
    member_id: str
    points: int
    balance_after: int
    reward: str | None = None
    coupon_code: str | None = None
    valid_until: datetime | None = None
    replayed: bool = False


@dataclass(frozen=True)
class CancellationResult:
    """A redemption (or a payment with points) undone: ``points_back`` returned to the lots
    they came from; ``points_lapsed`` not, their lots having expired since."""

    member_id: str
    redemption: str
    points_back: int
    points_lapsed: int
    balance_after: int
    reason: str
    actor: str
    coupon_code: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class AdjustmentResult:
    member_id: str
    points: int
    balance_after: int
    reason: str
    actor: str
    replayed: bool = False


@dataclass(frozen=True)
class BonusResult:
    member_id: str
    event: str
    points: int
    replayed: bool = False


@dataclass(frozen=True)
class RunResult:
    """A batch run (release, expiry, tier review, offer): what it changed."""

    members: int = 0
    items: int = 0
    points: int = 0
    details: tuple[str, ...] = ()
    replayed: bool = False


@dataclass(frozen=True)
class RunMember:
    """One member in a dry run (:meth:`LoyaltyService.preview_run`): the points the expiry
    would take (spendable and still pending, from how many lots) and the tier review's move
    (``tier_to`` equals ``tier_from`` when the tier stays)."""

    member_id: str
    name: str | None
    points_expiring: int
    pending_expiring: int
    lots_expiring: int
    tier_from: str
    tier_to: str


@dataclass(frozen=True)
class PeriodicRun:
    """The programme's periodic work at ``as_of``: release, expiry and tier review. A dry run
    (``dry_run``, ``run_id`` empty) says what they would do and lists the ``members`` it would
    touch; nothing is written."""

    run_id: str
    as_of: datetime
    released: RunResult
    expired: RunResult
    tiers: RunResult
    dry_run: bool = False
    members: tuple[RunMember, ...] = ()


@dataclass(frozen=True)
class NoticeResult:
    """A run of the ``points_expiring`` notices: the window it looked at (``as_of``, then up
    to ``until``) and the notices it sent (one per member and expiry), to how many members,
    about how many points."""

    as_of: datetime
    until: datetime
    notices: int = 0
    members: int = 0
    points: int = 0


@dataclass(frozen=True)
class CouponUse:
    code: str
    member_id: str
    reward: str
    kind: str
    value: Decimal
    percent: Decimal
    order_id: str
    replayed: bool = False


@dataclass(frozen=True)
class CouponStatus:
    """A coupon as the till sees it: what it is worth and whether it can be used now
    (``state``: ``valid``, ``used``, ``cancelled``, ``expired`` or ``not_yet_valid``)."""

    code: str
    member_id: str
    reward: str
    kind: str
    value: Decimal
    percent: Decimal
    issued_at: datetime
    valid_until: datetime
    state: str
    used_at: datetime | None = None
    used_order_id: str | None = None
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class ClubResult:
    member_id: str
    payment_ref: str
    fee: Decimal
    club_until: datetime
    replayed: bool = False


@dataclass(frozen=True)
class CardResult:
    member_id: str
    ref: str
    kind: str
    amount: Decimal
    balance_after: Decimal
    replayed: bool = False


@dataclass(frozen=True)
class DrawResult:
    offer: str
    run_key: str
    eligible: int
    issued: tuple[str, ...]
    coupons: tuple[str, ...]
    seed: int | None = None
    eligible_digest: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str
    points: int
    pending: int
    reason: str
    actor: str
    ref: str


@dataclass(frozen=True)
class Statement:
    """A member's statement: balance, pending, what expires soon, tier and history."""

    member_id: str
    as_of: datetime
    balance: int
    pending: int
    debt: int
    deficit: int
    expiring_soon: int
    expiring: tuple[tuple[str, int], ...]
    tier: str
    tier_multiplier: Decimal
    tier_discount_percent: Decimal
    tier_perks: tuple[str, ...]
    tier_basis: str
    qualifying: Decimal
    next_tier: str | None
    to_next_tier: Decimal
    tier_period_end: datetime | None
    referral_code: str | None
    club_until: datetime | None
    stored_value: Decimal
    coupons: tuple[str, ...] = ()
    history: tuple[StatementLine, ...] = field(default=())
    expired_unswept: int = 0
    """Points whose expiry has passed but which the expiry run (``regulars points expire``)
    has not written off yet; they are no longer in ``balance``, which is what can be spent
    now."""
