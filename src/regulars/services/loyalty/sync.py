"""Bring the store's imported history into the programme: enrol customers, accrue their
orders, take back points for their returns — in bulk, and safe to run again (every order and
return is keyed by its id, so a second run changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from regulars.domain.loyalty.errors import LoyaltyError
from regulars.domain.loyalty.ledger import Purchase
from regulars.services.loyalty.service import LoyaltyService


@dataclass(frozen=True)
class SyncReport:
    """What a sync did."""

    enrolled: int = 0
    orders_accrued: int = 0
    orders_already_accrued: int = 0
    orders_skipped: int = 0
    points_earned: int = 0
    returns_recorded: int = 0
    returns_skipped: int = 0
    points_reversed: int = 0
    released: int = 0
    # orders whose own data made the accrual fail (skipped, counted in orders_skipped):
    # "order id (customer id): why"
    orders_unprocessable: tuple[str, ...] = ()


def _money(value: Any) -> Decimal:
    # SQLite hands money back as doubles: four decimals is what the store keeps
    return Decimal(str(value)).quantize(Decimal("0.0001")).normalize() if value is not None \
        else Decimal(0)


def _local(service: LoyaltyService, value: datetime) -> datetime:
    """A store timestamp (naive, the business's local time) as an aware instant."""
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=service.programme.tz)


def purchases_from_orders(service: LoyaltyService, orders: pa.Table) -> list[Purchase]:
    """The store's ``orders`` table as purchases, oldest first."""
    cols = set(orders.column_names)
    rows = orders.to_pylist()
    out = []
    for r in rows:
        cats = tuple(c.strip() for c in (r.get("categories") or "").split(";") if c.strip()) \
            if "categories" in cols else ()
        out.append(Purchase(
            order_id=str(r["order_id"]), member_id=str(r["customer_id"]),
            ordered_at=_local(service, r["ordered_at"]), amount=_money(r["amount"]),
            categories=cats, quantity=r.get("quantity")))
    out.sort(key=lambda p: (p.ordered_at, p.order_id))
    return out


def sync(
    service: LoyaltyService,
    *,
    orders: pa.Table,
    returns: pa.Table | None = None,
    customers: pa.Table | None = None,
    enrol: bool = False,
    release: bool = True,
) -> SyncReport:
    """Accrue ``orders`` and record ``returns`` (the store's tables) in the programme.

    With ``enrol``, every customer of ``customers`` who is not a member yet is enrolled; a
    customer who gave consent on any channel is opted in, the others are enrolled without
    consent (they earn nothing until they opt in). Orders of non-members are skipped.
    """
    enrolled = 0
    if enrol and customers is not None:
        enrolled = service.enrol_many([_member_fields(r) for r in customers.to_pylist()])
    results = service.accrue_many(purchases_from_orders(service, orders), skip_unknown=True)
    fresh = [r for r in results if not r.replayed and r.status != "skipped"]
    again = [r for r in results if r.replayed]
    skipped = [r for r in results if r.status == "skipped"]
    n_ret = skipped_ret = reversed_points = 0
    if returns is not None and returns.num_rows:
        rows = sorted(returns.to_pylist(), key=lambda r: (r["returned_at"], r["return_id"]))
        for r in rows:
            try:
                res = service.record_return(
                    str(r["return_id"]), str(r["order_id"]), _money(r["amount"]),
                    returned_at=_local(service, r["returned_at"]))
            except LoyaltyError:
                skipped_ret += 1
                continue
            n_ret += 0 if res.replayed else 1
            reversed_points += 0 if res.replayed else res.points_reversed
    released = service.release_due().items if release else 0
    unprocessable = tuple(f"{r.order_id} ({r.member_id}): {r.problem}" for r in skipped
                          if r.skipped_reason == "unprocessable")
    return SyncReport(enrolled, len(fresh), len(again), len(skipped),
                      sum(r.points for r in fresh), n_ret, skipped_ret, reversed_points,
                      released, unprocessable)


def _member_fields(r: dict[str, Any]) -> dict[str, Any]:
    consent = any(bool(r.get(k)) for k in ("consent_email", "consent_sms", "consent_messenger",
                                            "consent_phone"))
    if r.get("do_not_contact"):
        consent = False
    birthday = r.get("birthday")
    return {"member_id": str(r["customer_id"]), "consent": consent, "email": r.get("email"),
            "phone": r.get("phone"),
            "birthday": birthday if isinstance(birthday, date) else None}
