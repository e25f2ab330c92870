"""Bring the store's imported history into the programme: enrol customers, accrue their
orders, take back points for their returns — in bulk, and safe to run again (every order and
return is keyed by its id, so a second run changes nothing)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from regulars.domain.errors import StoreError
from regulars.domain.loyalty.errors import LoyaltyError
from regulars.domain.loyalty.ledger import Purchase
from regulars.i18n import _
from regulars.services.audit import Outcome
from regulars.services.loyalty.audited import AuditedLoyaltyService
from regulars.services.loyalty.results import AccrualResult
from regulars.services.loyalty.service import LoyaltyService

log = logging.getLogger(__name__)


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
    customers_skipped: list[dict[str, str]] = field(default_factory=list)
    """``{customer_id, reason}`` of the customers whose orders or returns could not be
    accrued (the others were): a bad row fails its customer, not the whole store."""
    set_aside: list[dict[str, Any]] = field(default_factory=list)
    """Rows of the store left out before the sync as outside the input rules
    (:mod:`regulars.services.screening`)."""

    def skipped_lines(self) -> list[str]:
        return [_("customer {c} skipped: {reason}").format(c=s["customer_id"],
                                                          reason=s["reason"])
                for s in self.customers_skipped]


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
    set_aside: list[dict[str, Any]] | None = None,
) -> SyncReport:
    """Accrue ``orders`` and record ``returns`` (the store's tables) in the programme.

    With ``enrol``, every customer of ``customers`` who is not a member yet is enrolled; a
    customer who gave consent on any channel is opted in, the others are enrolled without
    consent (they earn nothing until they opt in). Orders of non-members are skipped.

    What fails for one customer (an order whose points or dates overflow, say) skips that
    customer, reported in ``customers_skipped``, and the others are accrued.
    """
    def work() -> SyncReport:
        return _sync(service, orders=orders, returns=returns, customers=customers,
                     enrol=enrol, release=release, set_aside=set_aside)

    if not isinstance(service, AuditedLoyaltyService):
        return work()
    # one audit entry for the whole sync (the accruals and returns inside it are covered)
    return service.as_one("loyalty.sync", work, lambda r: ("", Outcome.DONE, {
        "enrolled": r.enrolled, "orders_accrued": r.orders_accrued,
        "orders_already_accrued": r.orders_already_accrued,
        "orders_skipped": r.orders_skipped, "points_earned": r.points_earned,
        "returns_recorded": r.returns_recorded, "points_reversed": r.points_reversed,
        "released": r.released, "customers_skipped": len(r.customers_skipped)}))


def _sync(
    service: LoyaltyService,
    *,
    orders: pa.Table,
    returns: pa.Table | None = None,
    customers: pa.Table | None = None,
    enrol: bool = False,
    release: bool = True,
    set_aside: list[dict[str, Any]] | None = None,
) -> SyncReport:
    """:func:`sync`, not audited (its caller audits it as one use case)."""
    enrolled = 0
    if enrol and customers is not None:
        enrolled = service.enrol_many([_member_fields(r) for r in customers.to_pylist()])
    failed: dict[str, str] = {}
    results = _accrue_each_customer_apart(service, purchases_from_orders(service, orders),
                                          failed)
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
            except StoreError:
                raise
            except Exception as e:  # one bad return must not stop the rest
                skipped_ret += 1
                owner = str(r.get("customer_id") or _("the customer of order {o}").format(
                    o=r["order_id"]))
                failed.setdefault(owner, _("return {r}: {err}").format(
                    r=r["return_id"], err=_reason(e)))
                log.warning("points sync: return %s skipped: %s", r["return_id"], e)
                continue
            n_ret += 0 if res.replayed else 1
            reversed_points += 0 if res.replayed else res.points_reversed
    released = service.release_due().items if release else 0
    unprocessable = tuple(f"{r.order_id} ({r.member_id}): {r.problem}" for r in skipped
                          if r.skipped_reason == "unprocessable")
    return SyncReport(enrolled, len(fresh), len(again), len(skipped),
                      sum(r.points for r in fresh), n_ret, skipped_ret, reversed_points,
                      released, unprocessable,
                      [{"customer_id": c, "reason": why} for c, why in sorted(failed.items())],
                      list(set_aside or []))


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _accrue_each_customer_apart(service: LoyaltyService, purchases: Sequence[Purchase],
                                failed: dict[str, str]) -> list[AccrualResult]:
    """``accrue_many`` chunk by chunk; a chunk that fails for a reason other than the store
    is accrued again customer by customer, and a customer who still fails is left out
    (``failed``: customer -> reason) with their orders counted as skipped. Accrual is keyed
    by order, so what a failed chunk wrote before failing is replayed, not doubled."""
    out: list[AccrualResult] = []
    step = max(service.chunk, 1)
    for i in range(0, len(purchases), step):
        part = purchases[i : i + step]
        try:
            out += service.accrue_many(part, skip_unknown=True)
            continue
        except StoreError:
            raise
        except Exception as e:  # isolate the customer it fails for, below
            log.warning("points sync: a chunk of %d orders failed (%s); accruing its "
                        "customers one by one", len(part), e)
        by_member: dict[str, list[Purchase]] = {}
        for p in part:
            by_member.setdefault(p.member_id, []).append(p)
        accrued, last_error = 0, None
        for member, theirs in by_member.items():
            try:
                out += service.accrue_many(theirs, skip_unknown=True)
                accrued += 1
            except StoreError:
                raise
            except Exception as e:  # this customer only
                last_error = e
                failed[member] = _("orders {ids}: {err}").format(
                    ids=", ".join(p.order_id for p in theirs[:5]), err=_reason(e))
                log.warning("points sync: customer %s skipped: %s", member, e)
                out += [AccrualResult(p.order_id, member, 0, "skipped",
                                      skipped_reason="failed") for p in theirs]
        if accrued == 0 and len(by_member) > 1 and last_error is not None:
            raise last_error  # every customer fails: the store is wrong, not one row
    return out


def _member_fields(r: dict[str, Any]) -> dict[str, Any]:
    consent = any(bool(r.get(k)) for k in ("consent_email", "consent_sms", "consent_messenger",
                                            "consent_phone"))
    if r.get("do_not_contact"):
        consent = False
    birthday = r.get("birthday")
    return {"member_id": str(r["customer_id"]), "consent": consent, "email": r.get("email"),
            "phone": r.get("phone"),
            "birthday": birthday if isinstance(birthday, date) else None}
