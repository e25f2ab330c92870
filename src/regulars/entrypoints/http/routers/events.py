"""``POST /v1/events``: the records told apart by ``type`` (feedback, interactions, referrals,
invoices, abandoned carts: the input tables, through the ingest), and playbooks' events, which
have a ``name`` instead (``playbook_events``, where event triggers read them). One request
holds one kind; both answer on the ingest's conventions: 201 when something was added, 200
when every record was already stored, a replay under ``Idempotency-Key``, 422 problem+json
naming the record's index and field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from regulars.entrypoints.http.deps import Ingester, Services
from regulars.entrypoints.http.presenters import caller, status_for
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import RESPONSES, IdempotencyKey, _ingest, _many
from regulars.entrypoints.http.schemas import EventsBody, IngestOut, NamedEvent, event_record
from regulars.i18n import _, fmt_number
from regulars.services.api.ingest import request_hash
from regulars.services.events import EventIn

router = APIRouter(prefix="/v1", tags=["ingest"])


def _named(services: Services, request: Request, key: Any, items: list[NamedEvent],
           raw: list[Any], idempotency_key: str | None) -> JSONResponse:
    if len(items) > services.max_batch:
        raise Problem(413, _("at most {n} records per request").format(
                          n=fmt_number(services.max_batch)),
                      errors=[{"field": "body", "message": _("too many records")}])
    events = services.events
    if events is None:
        raise Problem(503, _("playbooks' events are not served here"))
    path = request.url.path
    done = events.record(
        [EventIn(customer_id=m.customer_id, name=m.name, event_id=m.event_id, at=m.at,
                 properties=m.properties) for m in items],
        caller=caller(key, f"POST {path}"), idempotency_key=idempotency_key,
        fingerprint=request_hash("POST", path, raw))
    return JSONResponse(done.body, status_code=done.kept_status or status_for(done.outcome))


@router.post("/events", status_code=201, response_model=IngestOut, responses=RESPONSES,
             response_model_exclude_unset=True,
             summary="Add feedback, interactions, referrals, invoices, abandoned carts, or "
                     "playbooks' events")
def post_events(body: EventsBody, key: Ingester, services: Services, request: Request,
                idempotency_key: IdempotencyKey = None) -> Any:
    """Records told apart by ``type``: ``feedback`` (NPS, CSAT, complaints), ``interaction``
    (offers, calls, support…), ``referral``, ``invoice`` (B2B), ``abandoned_cart``. Or
    playbooks' events, with a ``name`` and no ``type``: ``{event_id?, customer_id, name, at?,
    properties?}`` (signed_up, cart_abandoned, … or the business's own names), which start
    playbooks whose trigger is that event; a resend with the same ``event_id`` is a no-op."""
    items = _many(body)
    raw = [m.model_dump(mode="json") for m in items]
    if items and isinstance(items[0], NamedEvent):
        return _named(services, request, key, [m for m in items if isinstance(m, NamedEvent)],
                      raw, idempotency_key)
    records = [event_record(m) for m in items]
    return _ingest(services, request, key, records, raw, idempotency_key)
