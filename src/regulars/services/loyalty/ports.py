"""What the loyalty services need from a store, as Protocols (``adapters/db/loyalty_store.py``
implements them on SQLite and PostgreSQL), and the records that cross the boundary."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from regulars.domain.loyalty.ledger import Account, Allocation, Entry, Lot, Member
from regulars.domain.loyalty.programme import aware


class DuplicateKey(Exception):  # noqa: N818 - a signal between layers, not a user error
    """A write hit a UNIQUE constraint: someone else recorded the same reference first."""


@dataclass(frozen=True)
class Operation:
    """A recorded write: its key, what was asked (fingerprint) and what it returned."""

    key: str
    kind: str
    member_id: str | None
    fingerprint: str
    result: dict[str, Any]


#: Where a programme version came from: the settings' ``[loyalty]`` (also every version
#: recorded before the column existed, whose source is None) or the loyalty admin pages.
SOURCE_FILE = "file"
SOURCE_WEB = "web"


@dataclass(frozen=True)
class ProgrammeRecord:
    """A recorded version of the programme: its rules (``definition``, as
    ``Programme.to_dict``), from when they apply, where they came from, who made them, why."""

    version: int
    effective_from: datetime
    fingerprint: str
    definition: dict[str, Any]
    recorded_at: datetime | None = None
    source: str | None = None
    author: str | None = None
    note: str | None = None

    @property
    def from_web(self) -> bool:
        return self.source == SOURCE_WEB


@dataclass
class Accrual:
    """An order that earned points, and how much of it has come back."""

    order_id: str
    member_id: str
    ordered_at: datetime
    amount: Decimal
    returned_amount: Decimal
    points: int
    reversed: int
    lot_ref: str
    programme_version: int
    payment_fingerprint: str | None = None


@dataclass(frozen=True)
class Coupon:
    """A single-use code for a reward."""

    code: str
    member_id: str
    reward: str
    kind: str
    value: Decimal
    percent: Decimal
    issued_at: datetime
    valid_until: datetime
    used_at: datetime | None = None
    used_order_id: str | None = None
    source_ref: str = ""
    cancelled_at: datetime | None = None

    def state(self, at: datetime) -> str:
        """``used``, ``cancelled``, ``not_yet_valid``, ``expired`` or ``valid`` at ``at``."""
        if self.used_at is not None:
            return "used"
        if self.cancelled_at is not None:
            return "cancelled"
        if aware(self.issued_at) > aware(at):
            return "not_yet_valid"
        return "expired" if aware(self.valid_until) <= aware(at) else "valid"


@dataclass(frozen=True)
class ReferralRecord:
    referee_id: str
    referrer_id: str
    code: str
    at: datetime
    status: str  # pending, rewarded, refused
    reason: str | None = None
    order_id: str | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True)
class ExpiringPoints:
    """A member's available points that expire at one instant, and their spendable balance:
    what one ``points_expiring`` notice tells. ``notice_id`` is given when it is recorded."""

    member_id: str
    expires_at: datetime
    points: int
    balance: int
    consent: bool = True
    notice_id: str = ""


@dataclass(frozen=True)
class RunChunk:
    """One committed chunk of a periodic run (``step``: ``release``, ``expire`` or
    ``tiers``), recorded in the chunk's own transaction: ``items`` lots released or expired,
    or tiers changed; ``detail`` says per member what changed."""

    run_id: str
    step: str
    chunk: int
    as_of: datetime
    actor: str
    members: int
    items: int
    points: int
    detail: tuple[str, ...] = ()


class ProgrammeVersions(Protocol):
    """The recorded versions of the programme."""

    def programme_versions(self) -> list[ProgrammeRecord]: ...
    def programme_head(self) -> int | None:
        """The newest version's number (None: none recorded): a cheap look for a change."""
        ...
    def add_programme_version(self, version: int, effective_from: datetime, fingerprint: str,
                              definition: dict[str, Any], at: datetime, *,
                              source: str = SOURCE_FILE, author: str | None = None,
                              note: str | None = None) -> None: ...


class OperationLog(Protocol):
    """Keyed writes and their results (what makes a retry a replay)."""

    def operations(self, keys: Iterable[str]) -> dict[str, Operation]: ...
    def add_operations(self, ops: Sequence[Operation], at: datetime) -> None: ...


class MemberReads(Protocol):
    """Reading members (``lock`` takes the member's row lock: writes to one member serialise)."""

    def members(self, ids: Iterable[str], *, lock: bool = False) -> dict[str, Member]: ...
    def member_by_code(self, code: str) -> Member | None: ...
    def members_by_phone(self, phone_norm: str, *, limit: int = 10) -> list[Member]: ...
    def member_by_card(self, card_number: str) -> Member | None: ...
    def member_ids(self, *, consent_only: bool = False) -> list[str]: ...
    def all_members(self) -> list[Member]: ...
    def customer_names(self, ids: Iterable[str]) -> dict[str, str]: ...
    def known_customers(self, ids: Iterable[str]) -> dict[str, str | None]: ...
    def customers_by_phone(self, phone_norm: str, *, limit: int = 10) -> dict[str, str | None]:
        ...


class MemberWrites(Protocol):
    """Adding and updating members (their cached figures, tier, consent, …)."""

    def add_member(self, member: Member) -> None: ...
    def update_members(self, members: Sequence[Member]) -> None: ...


class LedgerReads(Protocol):
    """Reading lots, entries and allocations, and the sums that check the books."""

    def open_lots(self, member_ids: Iterable[str]) -> dict[str, list[Lot]]: ...
    def lots(self, refs: Iterable[str]) -> dict[str, Lot]: ...
    def member_lots(self, member_id: str) -> list[Lot]: ...
    def entries(self, member_id: str, *, limit: int | None = None) -> list[Entry]: ...
    def entry_refs(self, refs: Iterable[str]) -> set[str]: ...
    def allocations(self, entry_ref: str) -> list[Allocation]: ...
    def earned_since(self, member_ids: Iterable[str] | None,
                     since: datetime) -> dict[str, int]: ...
    def due_releases(self, at: datetime) -> list[tuple[str, str]]: ...
    def due_expiries(self, at: datetime) -> list[str]: ...
    def ledger_sums(self) -> dict[str, tuple[int, int, int]]: ...
    def lot_sums(self) -> dict[str, tuple[int, int, int]]: ...


class LedgerWrites(Protocol):
    """Writing what an :class:`~regulars.domain.loyalty.ledger.Account` changed: new lots,
    changed lots, entries, allocations and the member's figures."""

    def save_accounts(self, accounts: Sequence[Account]) -> None: ...


class AccrualRecords(Protocol):
    """Orders that earned points, and how much of them came back."""

    def accruals(self, order_ids: Iterable[str]) -> dict[str, Accrual]: ...
    def add_accruals(self, accruals: Sequence[Accrual]) -> None: ...
    def update_accrual(self, a: Accrual) -> None: ...
    def accrual_history(self, member_ids: Iterable[str], since: datetime) -> list[Accrual]: ...
    def has_accruals(self, member_id: str) -> bool: ...
    def spend_since(self, since: datetime) -> dict[str, Decimal]: ...


class NoticeRecords(Protocol):
    """Points about to expire and the notices sent about them."""

    def expiring_points(self, at: datetime, until: datetime) -> list[ExpiringPoints]: ...
    def expiry_notices(self, member_ids: Iterable[str],
                       after: datetime) -> set[tuple[str, datetime]]: ...
    def add_expiry_notices(self, notices: Sequence[ExpiringPoints], at: datetime) -> None: ...
    def delete_expiry_notices(self, notices: Sequence[ExpiringPoints]) -> None: ...


class TierRecords(Protocol):
    """The history of tier changes."""

    def add_tier_changes(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def tier_history(self, member_id: str) -> list[dict[str, Any]]: ...


class RunRecords(Protocol):
    """What each committed chunk of a periodic run did."""

    def add_run_chunk(self, chunk: RunChunk, at: datetime) -> None: ...
    def run_chunks(self, run_id: str) -> list[RunChunk]: ...
    def last_run_at(self, step: str) -> datetime | None: ...


class ReferralRecords(Protocol):
    """Referrals and how they were settled."""

    def referral(self, referee_id: str) -> ReferralRecord | None: ...
    def count_referrals(self, referrer_id: str) -> int: ...
    def add_referral(self, r: ReferralRecord) -> None: ...
    def settle_referral(self, referee_id: str, status: str, reason: str | None,
                        order_id: str | None, at: datetime) -> None: ...


class CouponRecords(Protocol):
    """Single-use coupons: issued, used (at most once), cancelled."""

    def add_coupons(self, coupons: Sequence[Coupon]) -> None: ...
    def coupon(self, code: str, *, lock: bool = False) -> Coupon | None: ...
    def coupons_of(self, member_id: str) -> list[Coupon]: ...
    def coupon_sources(self, refs: Iterable[str]) -> set[str]: ...
    def use_coupon(self, code: str, order_id: str, at: datetime) -> bool: ...
    def coupon_from(self, source_ref: str) -> Coupon | None: ...
    def cancel_coupon(self, code: str, at: datetime) -> bool: ...


class RewardStock(Protocol):
    """Rewards with a limited stock."""

    def take_reward(self, reward: str, stock: int) -> bool: ...
    def give_back_reward(self, reward: str) -> None: ...
    def rewards_issued(self) -> dict[str, int]: ...


class PunchCardRecords(Protocol):
    """Punch cards' counts per member and card."""

    def punches(self, member_ids: Iterable[str]) -> dict[tuple[str, str], tuple[int, int]]: ...
    def save_punches(self, changed: dict[tuple[str, str], tuple[int, int]],
                     existing: set[tuple[str, str]]) -> None: ...


class ClubAndCardRecords(Protocol):
    """Club payments and the stored-value card's entries."""

    def add_club_payment(self, payment_ref: str, member_id: str, at: datetime, fee: Decimal,
                         starts: datetime, ends: datetime) -> None: ...
    def add_card_entry(self, ref: str, member_id: str, at: datetime, kind: str,
                       amount: Decimal, payment_method: str | None,
                       original_ref: str | None) -> None: ...
    def card_entry(self, ref: str) -> dict[str, Any] | None: ...
    def card_refunded(self, original_ref: str) -> Decimal: ...
    def card_sums(self) -> dict[str, Decimal]: ...


class DrawRecords(Protocol):
    """The recorded draws of exclusive offers."""

    def add_draw(self, key: str, offer: str, at: datetime, seed: int, eligible: int,
                 digest: str, winners: Sequence[str]) -> None: ...


class LoyaltyTx(
    ProgrammeVersions,
    OperationLog,
    MemberReads,
    MemberWrites,
    LedgerReads,
    LedgerWrites,
    AccrualRecords,
    NoticeRecords,
    TierRecords,
    RunRecords,
    ReferralRecords,
    CouponRecords,
    RewardStock,
    PunchCardRecords,
    ClubAndCardRecords,
    DrawRecords,
    Protocol,
):
    """The reads and writes of one transaction: every role above (a use case needs a few;
    the SQL store and the in-memory fake provide them all)."""

    def commit(self) -> None: ...


class LoyaltyStore(Protocol):
    """Where the programme's ledger lives."""

    def ensure_schema(self) -> None: ...
    def dispose(self) -> None: ...
    def transaction(self) -> AbstractContextManager[LoyaltyTx]: ...
    def reading(self) -> AbstractContextManager[LoyaltyTx]: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...
