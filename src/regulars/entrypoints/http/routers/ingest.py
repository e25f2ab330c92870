"""``POST /v1/customers | orders | returns``: one record or a batch, exactly once (``POST
/v1/events`` is :mod:`.events`, on the same conventions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from regulars.domain.tables import Kind
from regulars.entrypoints.http.deps import Ingester, Services
from regulars.entrypoints.http.presenters import caller, status_for
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.schemas import (
    CustomersBody,
    IngestOut,
    OrdersBody,
    ProblemOut,
    ReturnsBody,
    typed_row,
)
from regulars.i18n import _, fmt_number
from regulars.services.api.ingest import request_hash
from regulars.services.api.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["ingest"])

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255,
    description="Send the same key with a retry: the first response is replayed, and a "
                "different body under the same key is refused (409).")]

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemOut, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestOut, "description": "Nothing new: every record was already stored."},
    **_PROBLEMS,
}


def _ingest(services: Services, request: Request, key: ApiKey,
            records: list[tuple[Kind, dict[str, Any]]], raw: list[Any],
            idempotency_key: str | None, typed: bool = False) -> JSONResponse:
    if not records:
        raise Problem(422, _("no records in the request"),
                      errors=[{"field": "body", "message": _("send at least one record")}])
    if len(records) > services.max_batch:
        raise Problem(413, _("at most {n} records per request").format(
                          n=fmt_number(services.max_batch)),
                      errors=[{"field": "body", "message": _("too many records")}])
    path = request.url.path
    done = services.ingest.run(
        records, caller=caller(key, f"POST {path}"), idempotency_key=idempotency_key,
        fingerprint=request_hash("POST", path, raw),
        checked=True,  # by the request models (schemas._Record), with the app's [input]
        typed=typed)  # and typed by them
    # a replay answers the status it answered first (kept with the answer). The body is
    # answered as it is: its keys are IngestOut's, in IngestOut's order, so validating it
    # against the response model again (FastAPI's default, ~3 % of a single order's CPU)
    # would change nothing but the time; the model still documents it in the OpenAPI schema
    return JSONResponse(done.body, status_code=done.kept_status or status_for(done.outcome))


def _many(body: Any) -> list[BaseModel]:
    return list(body) if isinstance(body, list) else [body]


def _plain(kind: Kind, body: Any) -> tuple[list[tuple[Kind, dict[str, Any]]], list[Any]]:
    """The records as the store keeps them (typed once, by their check), and as sent."""
    items = _many(body)
    return ([(kind, typed_row(m)) for m in items],
            [m.model_dump(mode="json") for m in items])


@router.post("/customers", status_code=201, response_model=IngestOut, responses=RESPONSES,
             response_model_exclude_unset=True,
             summary="Add or update customers")
def post_customers(body: CustomersBody, key: Ingester, services: Services, request: Request,
                   idempotency_key: IdempotencyKey = None) -> Any:
    """Customer cards: new ones are added (merged into an existing card sharing a normalised
    e-mail or phone), cards created from orders are completed, and changed cards updated."""
    records, raw = _plain(Kind.CUSTOMERS, body)
    return _ingest(services, request, key, records, raw, idempotency_key,
                   typed=True)


@router.post("/orders", status_code=201, response_model=IngestOut, responses=RESPONSES,
             response_model_exclude_unset=True,
             summary="Add orders")
def post_orders(body: OrdersBody, key: Ingester, services: Services, request: Request,
                idempotency_key: IdempotencyKey = None) -> Any:
    """Orders; an order of a customer not known yet creates that customer's card."""
    records, raw = _plain(Kind.ORDERS, body)
    return _ingest(services, request, key, records, raw, idempotency_key,
                   typed=True)


@router.post("/returns", status_code=201, response_model=IngestOut, responses=RESPONSES,
             response_model_exclude_unset=True,
             summary="Add returns")
def post_returns(body: ReturnsBody, key: Ingester, services: Services, request: Request,
                 idempotency_key: IdempotencyKey = None) -> Any:
    """Returns of orders already sent."""
    records, raw = _plain(Kind.RETURNS, body)
    return _ingest(services, request, key, records, raw, idempotency_key,
                   typed=True)
