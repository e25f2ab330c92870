"""The base as a whole: portfolio metrics, the ladder flow, and the map snapshot itself."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body

from regulars.entrypoints.http.deps import Admin, PortfolioReader, Services
from regulars.entrypoints.http.presenters import caller
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS
from regulars.entrypoints.http.schemas import MapState, RebuildIn
from regulars.i18n import _
from regulars.services.api.ports import ApiStore
from regulars.services.audit import Outcome

router = APIRouter(prefix="/v1", tags=["portfolio"])


def _state(store: ApiStore) -> dict[str, Any]:
    state = store.map_state()
    if state is None:
        raise Problem(404, _("no customer map yet: an admin builds it with POST /v1/map/rebuild"),
                      slug="no-map")
    return state


@router.get("/portfolio", responses=_PROBLEMS, summary="Portfolio metrics")
def portfolio(key: PortfolioReader, services: Services) -> dict[str, Any]:
    """Ladder, statuses, revenue split, concentration, NPS, CRR, cohorts… as of the last full
    rebuild of the map (DOMAIN §7)."""
    state = _state(services.store)
    result: dict[str, Any] = json.loads(state["portfolio"])
    return {**result, "as_of_source": state.get("as_of_source")}


@router.get("/ladder/flow", responses=_PROBLEMS, summary="Ladder flow")
def ladder_flow(key: PortfolioReader, services: Services) -> dict[str, Any]:
    """Who moved up, down, off the ladder and back between a year before and the map's date."""
    state = _state(services.store)
    data = json.loads(state["portfolio"])
    return {"as_of": data.get("as_of"), "as_of_source": state.get("as_of_source"),
            "flow": data.get("flow"), "ladder": data.get("ladder")}


@router.get("/map", response_model=MapState, responses=_PROBLEMS, summary="The served map")
def map_state(key: PortfolioReader, services: Services) -> Any:
    """When the map was built, as of when, for how many customers, and what it could not
    evaluate (and why)."""
    return _public(_state(services.store))


def _public(state: dict[str, Any]) -> dict[str, Any]:
    not_evaluated = state.get("not_evaluated")
    return {**state, "not_evaluated": json.loads(not_evaluated) if isinstance(
        not_evaluated, str) else (not_evaluated or {})}


@router.post("/map/rebuild", response_model=MapState, responses=_PROBLEMS,
             summary="Recompute the whole map")
def rebuild(key: Admin, services: Services,
            body: Annotated[RebuildIn | None, Body()] = None) -> Any:
    """Recompute every customer and the portfolio (needed after a configuration change)."""
    state = services.rebuild_map(body.as_of if body else None)
    services.audit.record(caller(key, "POST /v1/map/rebuild"), "map.rebuild", subject="map",
                          outcome=Outcome.DONE,
                          detail={"as_of": state["as_of"], "customers": state["customers"]})
    return _public(state)
