"""The loyalty tables' rows and the domain's records, one into the other: how the store keeps
a member, a lot, a ledger entry, an accrual or a coupon (instants as naive UTC, money with four
decimals), and back. The SQL repository and the in-memory fake (``adapters/memory.py``) both
go through these, so the fake keeps what the tables would keep."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from regulars.adapters.db.tables import loyalty_members
from regulars.domain.loyalty.ledger import Entry, EntryKind, Lot, LotState, Member
from regulars.services.loyalty.ports import Accrual, Coupon


def naive_utc(at: datetime | None) -> datetime | None:
    """An aware instant as naive UTC (how the store keeps them)."""
    if at is None:
        return None
    if at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def aware_utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def money(value: Any) -> Decimal:
    # SQLite hands back floats from NUMERIC columns; money has four decimals at most
    return Decimal(value).quantize(Decimal("0.0001")) if not isinstance(value, Decimal) \
        else value


MEMBER_COLS = [c.name for c in loyalty_members.columns]


def _mapping(row: Any) -> Mapping[str, Any]:
    """A result row's mapping, or the mapping itself (the in-memory fake keeps dicts)."""
    # one look-up: a Row's ``_mapping`` is a property that builds a new view on each access
    mapping = getattr(row, "_mapping", None)
    return row if mapping is None else mapping  # type: ignore[no-any-return]


def member_from_row(row: Any) -> Member:
    m = _mapping(row)
    return Member(
        member_id=m["member_id"], enrolled_at=aware_utc(m["enrolled_at"]),  # type: ignore[arg-type]
        consent=bool(m["consent"]), consent_at=aware_utc(m["consent_at"]),
        email_norm=m["email_norm"], phone_norm=m["phone_norm"],
        payment_fingerprint=m["payment_fingerprint"], birthday=m["birthday"],
        referral_code=m["referral_code"], referred_by=m["referred_by"], tier=m["tier"],
        tier_period_end=aware_utc(m["tier_period_end"]), balance=int(m["balance"]),
        pending=int(m["pending"]), debt=int(m["debt"]), deficit=int(m["deficit"]),
        earned_total=int(m["earned_total"]), club_until=aware_utc(m["club_until"]),
        stored_value=money(m["stored_value"]), card_number=m["card_number"],
    )


def member_to_row(m: Member) -> dict[str, Any]:
    return {
        "member_id": m.member_id, "enrolled_at": naive_utc(m.enrolled_at), "consent": m.consent,
        "consent_at": naive_utc(m.consent_at), "email_norm": m.email_norm,
        "phone_norm": m.phone_norm,
        "payment_fingerprint": m.payment_fingerprint, "birthday": m.birthday,
        "referral_code": m.referral_code, "referred_by": m.referred_by, "tier": m.tier,
        "tier_period_end": naive_utc(m.tier_period_end), "balance": m.balance, "pending": m.pending,
        "debt": m.debt, "deficit": m.deficit, "earned_total": m.earned_total,
        "club_until": naive_utc(m.club_until), "stored_value": m.stored_value,
        "card_number": m.card_number,
    }


def lot_from_row(row: Any) -> Lot:
    m = _mapping(row)
    return Lot(
        lot_ref=m["lot_ref"], member_id=m["member_id"], source=m["source"],
        earned_at=aware_utc(m["earned_at"]), points=int(m["points"]),  # type: ignore[arg-type]
        remaining=int(m["remaining"]), state=LotState(m["state"]),
        available_at=aware_utc(m["available_at"]), expires_at=aware_utc(m["expires_at"]),
        order_id=m["order_id"],
    )


def lot_to_row(lot: Lot) -> dict[str, Any]:
    return {
        "lot_ref": lot.lot_ref, "member_id": lot.member_id, "source": lot.source,
        "earned_at": naive_utc(lot.earned_at), "points": lot.points, "remaining": lot.remaining,
        "state": lot.state.value, "available_at": naive_utc(lot.available_at),
        "expires_at": naive_utc(lot.expires_at), "order_id": lot.order_id,
    }


def entry_from_row(row: Any) -> Entry:
    m = _mapping(row)
    return Entry(
        ref=m["ref"], member_id=m["member_id"], at=aware_utc(m["at"]),  # type: ignore[arg-type]
        kind=EntryKind(m["kind"]), points=int(m["points"]), pending=int(m["pending"]),
        deficit=int(m["deficit"]), lot_ref=m["lot_ref"], order_id=m["order_id"],
        reason=m["reason"], actor=m["actor"], programme_version=m["programme_version"],
    )


def entry_to_row(e: Entry) -> dict[str, Any]:
    return {
        "ref": e.ref, "member_id": e.member_id, "at": naive_utc(e.at), "kind": e.kind.value,
        "points": e.points, "pending": e.pending, "deficit": e.deficit, "lot_ref": e.lot_ref,
        "order_id": e.order_id, "reason": e.reason, "actor": e.actor,
        "programme_version": e.programme_version,
    }


def accrual_from_row(row: Any) -> Accrual:
    m = _mapping(row)
    return Accrual(
        order_id=m["order_id"], member_id=m["member_id"],
        ordered_at=aware_utc(m["ordered_at"]),  # type: ignore[arg-type]
        amount=money(m["amount"]), returned_amount=money(m["returned_amount"]),
        points=int(m["points"]), reversed=int(m["reversed"]), lot_ref=m["lot_ref"],
        programme_version=int(m["programme_version"]),
        payment_fingerprint=m["payment_fingerprint"],
    )


def accrual_to_row(a: Accrual) -> dict[str, Any]:
    return {
        "order_id": a.order_id, "member_id": a.member_id, "ordered_at": naive_utc(a.ordered_at),
        "amount": a.amount, "returned_amount": a.returned_amount, "points": a.points,
        "reversed": a.reversed, "lot_ref": a.lot_ref, "programme_version": a.programme_version,
        "payment_fingerprint": a.payment_fingerprint,
    }


def coupon_from_row(row: Any) -> Coupon:
    m = _mapping(row)
    return Coupon(
        code=m["code"], member_id=m["member_id"], reward=m["reward"], kind=m["kind"],
        value=money(m["value"]), percent=money(m["percent"]),
        issued_at=aware_utc(m["issued_at"]),  # type: ignore[arg-type]
        valid_until=aware_utc(m["valid_until"]),  # type: ignore[arg-type]
        used_at=aware_utc(m["used_at"]), used_order_id=m["used_order_id"],
        source_ref=m["source_ref"], cancelled_at=aware_utc(m["cancelled_at"]),
    )


def coupon_to_row(c: Coupon) -> dict[str, Any]:
    return {
        "code": c.code, "member_id": c.member_id, "reward": c.reward, "kind": c.kind,
        "value": c.value, "percent": c.percent, "issued_at": naive_utc(c.issued_at),
        "valid_until": naive_utc(c.valid_until), "used_at": naive_utc(c.used_at),
        "used_order_id": c.used_order_id, "source_ref": c.source_ref,
        "cancelled_at": naive_utc(c.cancelled_at),
    }


def in_values(column: Any, values: Sequence[Any], dialect: str) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter instead of
    thousands, which the driver would otherwise parse into the statement every time."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values),
                                              type_=postgresql.ARRAY(sa.String())))
    return column.in_(values)


def chunks(items: Sequence[Any], n: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]

