"""Administration: API keys, webhook subscriptions and deliveries, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from regulars.entrypoints.http.deps import Admin, Services
from regulars.entrypoints.http.presenters import caller
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS
from regulars.entrypoints.http.schemas import (
    AuditEntry,
    KeyIn,
    KeyOut,
    NewKey,
    WebhookIn,
    WebhookOut,
)
from regulars.i18n import _
from regulars.services.api import ApiServices
from regulars.services.api.keys import ApiKey
from regulars.services.audit import Outcome

router = APIRouter(prefix="/v1", tags=["admin"])
Id = Annotated[str, Path(min_length=1, max_length=64)]


# the use case each audited route is (the audit log's ``use_case``)
_USE_CASES = {"POST /v1/keys": "keys.create", "POST /v1/keys/{id}/rotate": "keys.rotate",
              "POST /v1/keys/{id}/revoke": "keys.revoke",
              "POST /v1/webhooks": "webhooks.subscribe",
              "DELETE /v1/webhooks/{id}": "webhooks.unsubscribe"}


def _audit(services: ApiServices, key: ApiKey, action: str, subject: str,
           detail: dict[str, Any]) -> None:
    # recorded as before: "done" (the status 200), also for the routes answering 201
    services.audit.record(caller(key, action), _USE_CASES[action], subject=subject,
                          outcome=Outcome.DONE, detail=detail)


@router.get("/keys", response_model=list[KeyOut], responses=_PROBLEMS, summary="API keys")
def list_keys(key: Admin, services: Services) -> Any:
    return services.keys.list()


@router.post("/keys", response_model=NewKey, status_code=201, responses=_PROBLEMS,
             summary="Create an API key")
def create_key(body: KeyIn, key: Admin, services: Services) -> Any:
    """The key is in the answer, this once; the store keeps only its hash."""
    plain, record = services.keys.create(body.role, body.name, manager=body.manager)
    _audit(services, key, "POST /v1/keys", record["key_id"],
           {"role": body.role, **({"manager": body.manager} if body.manager else {})})
    return {"key": plain, "record": record}


@router.post("/keys/{key_id}/rotate", response_model=NewKey, responses=_PROBLEMS,
             summary="Rotate an API key")
def rotate_key(key_id: Id, key: Admin, services: Services) -> Any:
    """A new key with the same name and role; the old one stops working."""
    plain, record = services.keys.rotate(key_id)
    _audit(services, key, "POST /v1/keys/{id}/rotate", key_id,
           {"replaced_by": record["key_id"]})
    return {"key": plain, "record": record}


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, responses=_PROBLEMS,
             summary="Revoke an API key")
def revoke_key(key_id: Id, key: Admin, services: Services) -> Any:
    record = services.keys.revoke(key_id)
    _audit(services, key, "POST /v1/keys/{id}/revoke", key_id, {})
    return record


@router.get("/webhooks", response_model=list[WebhookOut], responses=_PROBLEMS,
            summary="Webhook subscriptions")
def list_webhooks(key: Admin, services: Services) -> Any:
    return services.webhooks.subscriptions()


@router.post("/webhooks", response_model=WebhookOut, status_code=201, responses=_PROBLEMS,
             summary="Subscribe a URL to events")
def subscribe(body: WebhookIn, key: Admin, services: Services) -> Any:
    """Deliveries are signed with the ``secret`` in this answer (shown once): see
    docs/http-api.md for the ``Regulars-Signature`` header."""
    sub = services.webhooks.subscribe(body.url, list(body.events), key_id=key.key_id)
    _audit(services, key, "POST /v1/webhooks", sub["id"],
           {"url": body.url, "events": list(body.events)})
    return sub


@router.delete("/webhooks/{sub_id}", status_code=204, responses=_PROBLEMS,
               summary="Unsubscribe")
def unsubscribe(sub_id: Id, key: Admin, services: Services) -> None:
    if not services.webhooks.unsubscribe(sub_id):
        raise Problem(404, _("no webhook subscription {id}").format(id=sub_id))
    _audit(services, key, "DELETE /v1/webhooks/{id}", sub_id, {})


@router.get("/webhooks/deliveries", responses=_PROBLEMS, summary="The delivery log")
def deliveries(key: Admin, services: Services) -> dict[str, Any]:
    return {"outbox": services.store.outbox(), "attempts": services.store.deliveries()}


@router.get("/audit", response_model=list[AuditEntry], responses=_PROBLEMS,
            summary="The audit log, newest first")
def audit(key: Admin, services: Services,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
    return services.store.audit_entries(limit)
