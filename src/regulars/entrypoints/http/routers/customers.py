"""The customer list and card, and the privacy rights (export, erase)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from regulars.entrypoints.http.deps import Eraser, Exporter, Reader, Services
from regulars.entrypoints.http.presenters import caller
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS
from regulars.entrypoints.http.schemas import CustomerCard, CustomerExport, CustomerPage, Erased
from regulars.i18n import _
from regulars.services.api import customers
from regulars.services.api.ports import CustomerFilter

router = APIRouter(prefix="/v1/customers", tags=["customers"])

Rung = Literal["prospect", "newcomer", "returning", "regular", "loyal", "advocate"]
Status = Literal["active", "lapsing", "lost", "won_back"]
Short = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
CustomerId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


@router.get("", response_model=CustomerPage, responses=_PROBLEMS, summary="List customers")
def list_customers(
    key: Reader,
    services: Services,
    rung: Rung | None = None,
    status: Status | None = None,
    signal: Short = None,
    trait: Short = None,
    rfm_segment: Short = None,
    manager: Short = None,
    tier: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$",
                                      description="The loyalty tier (members only).")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$",
                                   description="Text in the id, name or e-mail.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(
        min_length=2, max_length=400, pattern=customers.CURSOR_PATTERN,
        description="next_cursor of the previous page.")] = None,
) -> Any:
    """Customers of the served map, by id, filtered; ``next_cursor`` pages on."""
    f = CustomerFilter(rung=rung, status=status, signal=signal, trait=trait,
                       rfm_segment=rfm_segment, manager=manager, tier=tier, text=q,
                       limit=limit)
    items, next_cursor = customers.list_customers(services.store, f, cursor)
    return {"items": items, "next_cursor": next_cursor,
            **customers.snapshot_as_of(services.store)}


@router.get("/{customer_id}", response_model=CustomerCard, responses=_PROBLEMS,
            summary="The customer card")
def get_customer(customer_id: CustomerId, key: Reader, services: Services) -> Any:
    """Profile, rung, status, signals and traits with their evidence, RFM, the orders
    (with their returns) in time order, and the points statement of a loyalty member."""
    found = customers.card(services.store, customer_id)
    if found is None:
        raise Problem(404, _("no customer {id}").format(id=customer_id))
    if services.loyalty is not None:
        found["points"] = services.loyalty.card_points(found["customer_id"])
    return found


@router.get("/{customer_id}/export", response_model=CustomerExport, responses=_PROBLEMS,
            summary="Everything held about a customer")
def export_customer(customer_id: CustomerId, key: Exporter, services: Services) -> Any:
    found = customers.export(services.store, customer_id)
    if found is None:
        raise Problem(404, _("no customer {id}").format(id=customer_id))
    return found


@router.post("/{customer_id}/erase", response_model=Erased, responses=_PROBLEMS,
             summary="Erase a customer's personal data")
def erase_customer(customer_id: CustomerId, key: Eraser, services: Services) -> Any:
    """Name, e-mail, phone, birthday and tags are removed, as are feedback texts and the
    contact that merged duplicate cards; orders, amounts and every aggregate stay."""
    done = customers.erase(services.store, customer_id,
                           caller=caller(key, "POST /v1/customers/{id}/erase"))
    if done is None:
        raise Problem(404, _("no customer {id}").format(id=customer_id))
    return done
