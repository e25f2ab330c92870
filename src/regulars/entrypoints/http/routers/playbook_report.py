"""``GET /v1/playbooks/report``: the playbooks' proof of effect (issue 20).

Its path is fixed, so this router must be included before any router with a
``/v1/playbooks/{name}`` route (the playbooks' definitions): ``app.py`` includes it first of the
playbooks' routers. Aggregate figures only, no customer's data: the roles that read the
portfolio may read it (admin, manager, readonly).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BeforeValidator

from regulars import bootstrap
from regulars.entrypoints.http.deps import PortfolioReader, Services
from regulars.entrypoints.http.fields import QueryDay
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS
from regulars.i18n import _
from regulars.services.playbooks.effect import EffectReportError

router = APIRouter(prefix="/v1", tags=["playbooks"])

_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                         r"(Z|[+-]\d{2}:?\d{2})?")


def _iso_moment_text(value: Any) -> Any:
    """A moment in a query string: ISO 8601 text (pydantic would read ``0.5`` as seconds
    after 1970)."""
    if not isinstance(value, str) or not _ISO_MOMENT.fullmatch(value.strip()):
        raise ValueError(_("write the moment as ISO 8601 text, e.g. 2026-03-31T14:05:00Z"))
    return value


QueryInstant = Annotated[datetime, BeforeValidator(_iso_moment_text)]


@router.get("/playbooks/report", responses=_PROBLEMS,
            summary="Did the playbooks make a difference?")
def playbook_report(
    key: PortfolioReader, services: Services, request: Request,
    playbook: Annotated[str | None, Query(max_length=64)] = None,
    since: QueryDay | None = None, until: QueryDay | None = None,
    as_of: Annotated[QueryInstant | None, Query(description=(
        "Judge the goal windows as of this moment (default now); a moment without a zone is "
        "UTC."))] = None,
    confidence: Annotated[float, Query(ge=0.5, lt=1.0)] = 0.95,
) -> Any:
    """Per playbook, its treated entrants against its random control group: goal rate and
    revenue per entrant in the goal window (an order within 30 days by default), the uplift
    of each (treated − control) with its confidence interval (Newcombe's hybrid score
    interval; Welch's t interval) and a verdict (``better``, ``worse``, ``unclear`` when the
    interval holds 0, ``no_interval`` with a ``reason``); per step its runs, control runs,
    sends, failures and skips by reason. ``since``/``until``: the days the journeys entered
    on, in the business's time zone. Entrants whose goal window is still open at ``as_of``
    are counted as ``open``, not compared."""
    moment = as_of
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    reports = bootstrap.playbook_reports(request.app.state.settings, services.store)
    try:
        result = reports.report(playbook=playbook, since=since, until=until, as_of=moment,
                                confidence=confidence)
    except EffectReportError as e:
        raise Problem(422, str(e), errors=[{"field": e.field, "message": str(e)}]) from e
    return result.to_dict()
