"""Today's worklist over HTTP: whom each manager contacts and why (issue 18)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from regulars import api
from regulars.entrypoints.http.deps import Services, WorklistReader, manager_scope
from regulars.entrypoints.http.fields import QueryDay
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS
from regulars.i18n import _
from regulars.services.worklist import UnknownManagerError

router = APIRouter(prefix="/v1", tags=["worklist"])


@router.get("/worklist", responses=_PROBLEMS, summary="Today's worklist")
async def worklist(
    key: WorklistReader,
    services: Services,
    request: Request,
    manager: Annotated[str | None, Query(description="Only this manager's list.")] = None,
    day: Annotated[QueryDay | None, Query(
        alias="date", description="The day of the list (default: the day the map describes).")
    ] = None,
    limit: Annotated[int | None, Query(ge=0, le=10_000, description=(
        "At most this many customers per manager (default: the daily capacity)."))] = None,
) -> Any:
    """For each manager (or the one named): whom to contact, in buckets (overdue, today,
    this week) in the manager's time zone, ranked by money at stake, with the reason (the
    evidence sentence) and the suggested action; suggestions the contact policy holds back
    are listed apart with the reason. Codes (bucket, reason, action, channels) are
    language-neutral. 404 for an unknown manager (the problem lists the known ones) or before
    the first map. A manager key sees its own manager's list only (403 for another's)."""
    own = manager_scope(key)
    if own is not None:
        if manager is not None and manager != own:
            raise Problem(403, _("a manager key sees its own list only ({own})").format(own=own),
                          errors=[{"field": "manager", "message": _("not this key's manager")}])
        manager = own
    if services.store.map_state() is None:
        raise Problem(404, _("no customer map yet: an admin builds it with POST /v1/map/rebuild"),
                      slug="no-map")
    settings = request.app.state.settings
    try:
        result = await run_in_threadpool(api.worklist, settings, manager=manager, on=day,
                                         limit=limit, store=services.store)
    except UnknownManagerError as e:
        raise Problem(404, str(e), slug="unknown-manager",
                      errors=[{"field": "manager", "message": str(e)}]) from e
    return result.to_dict()
