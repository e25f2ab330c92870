"""``/``: each role's landing page; ``/dashboard``: the owner's key figures of the served
customer map; ``/welcome``: the other roles' start page, with links to their pages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regulars.entrypoints.report.format import signed
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import Owner, SignedIn
from regulars.entrypoints.web.rendering import page
from regulars.i18n import _, fmt_money, fmt_number, fmt_percent, ngettext
from regulars.services.api import ApiServices

router = APIRouter()


@dataclass(frozen=True)
class Figure:
    """One key figure: what it is, its value written for the reader, a note under it."""

    label: str
    value: str
    note: str


def key_figures(portfolio: dict[str, Any], currency: str | None) -> list[Figure]:
    """The owner's first four figures from the served map's portfolio (its JSON): customers,
    the share of regulars, the revenue from regulars, NPS."""
    metrics = portfolio.get("metrics") or {}
    revenue = portfolio.get("revenue") or {}
    nps = portfolio.get("nps") or {}
    buyers = int(metrics.get("buyers") or 0)
    regulars = int(metrics.get("regulars") or 0)
    responses = int(nps.get("responses") or 0)
    return [
        Figure(_("Customers"), fmt_number(metrics.get("customers")),
               ngettext("{n} buyer", "{n} buyers", buyers).format(n=fmt_number(buyers))),
        Figure(_("Regulars"), fmt_percent(metrics.get("regulars_share")),
               ngettext("{n} customer; share of buyers", "{n} customers; share of buyers",
                        regulars).format(n=fmt_number(regulars))),
        Figure(_("Revenue from regulars"), fmt_percent(revenue.get("regulars_revenue_share")),
               _("{amount} of {total}").format(
                   amount=fmt_money(revenue.get("regulars_revenue"), currency, 0),
                   total=fmt_money(revenue.get("total_revenue"), currency, 0))),
        Figure(_("NPS"), signed(nps.get("score")),
               ngettext("{n} response", "{n} responses", responses).format(
                   n=fmt_number(responses))),
    ]


@router.get("/")
def home(request: Request, user: SignedIn) -> Response:
    return RedirectResponse(nav.LANDING[user.role], status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, user: Owner) -> Response:
    services: ApiServices = request.app.state.services
    settings = request.app.state.settings
    state = services.store.map_state()
    figures: list[Figure] = []
    as_of = None
    if state is not None:
        figures = key_figures(json.loads(state["portfolio"]), settings.currency)
        as_of = state["as_of"]
    return page(request, "dashboard.html", {"figures": figures, "as_of": as_of,
                                            "map_state": state})


@router.get("/welcome", response_class=HTMLResponse)
def welcome(request: Request, user: SignedIn) -> Response:
    links = [item for item in nav.for_role(user.role) if item.path != "/welcome"]
    return page(request, "welcome.html", {"links": links})
