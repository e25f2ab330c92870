"""``/dashboard``: the owner's dashboard. The served map's portfolio — the report, live, with
its charts (drawn by the report's own chart functions) — the customers at risk, and the
loyalty programme's figures over a period chosen with a plain GET form (``?days=30|90|365``).

The figures come from :class:`regulars.services.dashboard.Dashboard` (one per app, made on
first use), which keeps the parsed portfolio per map version and the rest for a minute,
counted in the background: a figure not counted yet is shown as "being counted", and the part
asks for itself again (htmx; with scripts off, a link reloads the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from regulars import bootstrap
from regulars.analytics.portfolio import Portfolio
from regulars.entrypoints.http.routers.goals import goals_of
from regulars.entrypoints.labels import rung_names, status_names
from regulars.entrypoints.report import sections
from regulars.entrypoints.report.format import signed
from regulars.entrypoints.web.auth import Owner
from regulars.entrypoints.web.pages.goals import goal_rows
from regulars.entrypoints.web.rendering import page
from regulars.i18n import _, fmt_days, fmt_money, fmt_number, fmt_percent, ngettext
from regulars.services.dashboard import DEFAULT_DAYS, PENDING, PERIOD_DAYS, Dashboard

router = APIRouter()

#: How many customers at risk the dashboard lists.
AT_RISK_SHOWN = 10


@dataclass(frozen=True)
class Figure:
    """One key figure: what it is, its value written for the reader, a note under it."""

    label: str
    value: str
    note: str


def key_figures(p: Portfolio, currency: str | None) -> list[Figure]:
    """The owner's key figures of the served map's portfolio: the base, regulars and their
    revenue, repeat purchases, the average order, NPS, CRR and churn."""
    m, rev, r = p.metrics, p.revenue, p.retention
    figures = [
        Figure(_("Customers"), fmt_number(m.customers),
               ngettext("{n} buyer", "{n} buyers", m.buyers).format(n=fmt_number(m.buyers))),
        Figure(_("Regulars"), fmt_percent(m.regulars_share),
               ngettext("{n} customer; share of buyers", "{n} customers; share of buyers",
                        m.regulars).format(n=fmt_number(m.regulars))),
        Figure(_("Revenue from regulars"), fmt_percent(rev.regulars_revenue_share),
               _("{amount} of {total}").format(
                   amount=fmt_money(rev.regulars_revenue, currency, 0),
                   total=fmt_money(rev.total_revenue, currency, 0))),
        Figure(_("Repeat-purchase rate"), fmt_percent(m.repeat_purchase_rate),
               _("buyers with 2+ orders")),
        Figure(_("Average order value"), fmt_money(m.average_order_value, currency),
               _("{n} orders per buyer").format(n=fmt_number(m.purchase_frequency, 2))),
        Figure(_("Tenure of regulars"), fmt_days(m.regulars_average_tenure_days),
               _("since the first order, on average")),
    ]
    if p.nps is not None:
        figures.append(Figure(_("NPS"), signed(p.nps.score), ngettext(
            "{n} response", "{n} responses", p.nps.responses).format(
                n=fmt_number(p.nps.responses))))
    else:
        figures.append(Figure(_("NPS"), signed(None), _("no answers yet")))
    figures += [
        Figure(_("Customer retention (CRR)"),
               fmt_percent(r.crr / 100 if r.crr is not None else None),
               _("over the period")),
        Figure(_("Churn rate"), fmt_percent(r.churn_rate), _("over the period")),
    ]
    return figures


def charts(p: Portfolio) -> dict[str, Markup]:
    """The report's charts of ``p`` (SVG, built and escaped on the server)."""
    out = {
        "ladder": sections.ladder_chart(p),
        "status": sections.status_chart(p),
        "pareto": sections.pareto_chart(p.concentration,
                                        float(p.params.get("pareto_customer_share", 0.2))),
        "cohorts": sections.cohorts_chart(p),
        "flow": sections.flow_chart(p.flow) if p.flow is not None else "",
    }
    return {k: Markup(v) for k, v in out.items() if v}


def dashboard_of(request: Request) -> Dashboard:
    """The app's dashboard service, made on first use."""
    state = request.app.state
    board: Dashboard | None = getattr(state, "dashboard", None)
    if board is None:
        board = bootstrap.dashboard(state.services, state.settings)
        state.services.closers.append(board.close)  # its background threads end with them
        state.dashboard = board
    return board


def chosen_days(request: Request) -> int:
    """The period asked for (``?days=``); anything else is the default."""
    raw = request.query_params.get("days", "")
    return int(raw) if raw.isdigit() and int(raw) in PERIOD_DAYS else DEFAULT_DAYS


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, user: Owner) -> Response:
    currency = request.app.state.settings.currency
    board = dashboard_of(request).board(chosen_days(request), AT_RISK_SHOWN)
    view = board.view
    goals = goals_of(request)
    tracked = goals.list()
    recording = goals.refresh(tracked) is not None
    context: dict[str, Any] = {
        "view": view, "days": board.days, "period_days": PERIOD_DAYS, "currency": currency,
        "rungs": rung_names(), "statuses": status_names(), "programme": board.programme,
        "period": board.period, "pending": PENDING, "at_risk": board.at_risk,
        # the goals as last read; a goal without today's reading has it recorded in the
        # background (the page says so, and shows it on the next visit)
        "goals": goal_rows(tracked, currency), "goals_recording": recording,
    }
    if view is not None:
        p = view.portfolio
        context.update(
            p=p, figures=key_figures(p, currency), charts=charts(p),
            largest=view.names.get(p.concentration.largest_customer_id or "")
            or p.concentration.largest_customer_id)
    return page(request, "dashboard.html", context)
