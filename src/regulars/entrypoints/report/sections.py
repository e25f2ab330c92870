"""The report's sections about the whole base: key figures, the ladder, statuses, the flow
between two dates, concentration and cohorts. Each returns one ``<section>`` as
:class:`~markupsafe.Markup`; charts are drawn by :mod:`.charts`, markup comes from templates.
"""

from __future__ import annotations

from collections.abc import Mapping

from regulars.analytics.portfolio import (
    FLOW_STATES,
    Concentration,
    LadderFlow,
    Portfolio,
    movement,
)
from regulars.entrypoints.labels import rung_names, status_names
from regulars.entrypoints.report import charts
from regulars.entrypoints.report.format import day, money, month, num, pct, pct0, signed
from regulars.entrypoints.report.headlines import customer_label
from regulars.entrypoints.report.html import Markup, badge, empty, pair, render, section, table
from regulars.entrypoints.report.html import translate as _
from regulars.entrypoints.report.html import translate_plural as ngettext
from regulars.i18n import fmt_days

__all__ = [
    "MOVEMENT_COLOURS",
    "NEUTRAL",
    "RUNG_COLOURS",
    "STATUS_COLOURS",
    "cohorts",
    "cohorts_chart",
    "concentration",
    "flow",
    "flow_chart",
    "kpis",
    "ladder",
    "ladder_chart",
    "pareto_chart",
    "status_chart",
    "statuses",
]

RUNG_COLOURS = {
    "prospect": "#cbd5e1",
    "newcomer": "#93c5fd",
    "returning": "#60a5fa",
    "regular": "#3b82f6",
    "loyal": "#1d4ed8",
    "advocate": "#1e3a8a",
}
STATUS_COLOURS = {
    "active": "#16a34a",
    "lapsing": "#f59e0b",
    "lost": "#dc2626",
    "won_back": "#2563eb",
}
MOVEMENT_COLOURS = {
    "up": "#16a34a",
    "down": "#f59e0b",
    "became_lost": "#dc2626",
    "won_back": "#2563eb",
    "new": "#7c3aed",
}
NEUTRAL = "#94a3b8"


def kpis(p: Portfolio, currency: str | None = None) -> Markup:
    m, rev, r = p.metrics, p.revenue, p.retention
    cards: list[tuple[str, str, str]] = [
        (
            _("Customers"),
            num(m.customers),
            ngettext("{n} buyer", "{n} buyers", m.buyers).format(n=num(m.buyers)),
        ),
        (
            _("Regulars"),
            pct(m.regulars_share),
            ngettext("{n} customer; share of buyers", "{n} customers; share of buyers",
                     m.regulars).format(n=num(m.regulars)),
        ),
        (_("Revenue from regulars"), pct(rev.regulars_revenue_share), _("of all revenue")),
        (_("Revenue from loyal"), pct(rev.loyal_revenue_share), _("loyal and advocates")),
        (_("Repeat-purchase rate"), pct(m.repeat_purchase_rate), _("buyers with 2+ orders")),
        (_("Average order value"), money(m.average_order_value, currency),
         _("revenue / orders")),
        (_("Purchase frequency"), num(m.purchase_frequency, 2), _("orders per buyer")),
        (
            _("Tenure of regulars"),
            fmt_days(m.regulars_average_tenure_days),
            _("since the first order, on average"),
        ),
        (
            _("Customer retention (CRR)"),
            pct(r.crr / 100 if r.crr is not None else None),
            _("over the period"),
        ),
        (_("Churn rate"), pct(r.churn_rate), _("over the period")),
    ]
    if p.nps is not None:
        cards.append(
            (_("NPS"), signed(p.nps.score),
             ngettext("{n} response", "{n} responses", p.nps.responses).format(
                 n=num(p.nps.responses)))
        )
    body = render(
        "kpis.html",
        cards=cards,
        pareto=badge(rev.pareto_passed, _("passes"), _("does not pass"), bad="warn"),
        concentration=badge(not p.concentration.alert, _("no alert"), _("alert")),
    )
    return section(
        "summary",
        _("Key figures"),
        _("As of the report date; period figures cover the period."),
        body,
    )


# The charts of the sections, each on its own so that the owner's dashboard (the web pages)
# draws the very same charts from the served map's portfolio.


def ladder_chart(p: Portfolio) -> str:
    """The ladder as a funnel: customers on each rung, with their share."""
    names = rung_names(_)
    rows = [
        (
            names[s.label],
            s.customers,
            f"{num(s.customers)} · {pct(s.share)}",
            RUNG_COLOURS.get(s.label, NEUTRAL),
        )
        for s in p.ladder.items
    ]
    return charts.funnel(
        "chart-ladder",
        _("The loyalty ladder"),
        _("Customers on each rung, from prospect to advocate."),
        rows,
    )


def status_chart(p: Portfolio) -> str:
    """Each rung's customers split by activity status (100 %-stacked bars)."""
    rungs, names = rung_names(_), status_names(_)
    ct = p.status_by_rung
    return charts.stacked_bars(
        "chart-status",
        _("Activity status by rung"),
        _("For each rung, the share of customers active, lapsing, lost and won back."),
        [(rungs[r], ct.counts[i]) for i, r in enumerate(ct.rows)],
        [(names[s], STATUS_COLOURS[s]) for s in ct.columns],
        percent=pct0,
    )


def flow_chart(ladder_flow: LadderFlow) -> str:
    """The ladder flow as a Sankey diagram: rungs before (left) and after (right)."""
    names = rung_names(_)
    states = [
        (names[s], RUNG_COLOURS.get(s, STATUS_COLOURS["lost"] if s == "lost" else NEUTRAL))
        for s in FLOW_STATES
    ]
    counts = ladder_flow.matrix.counts
    flows = {(i, j): n for i, row in enumerate(counts) for j, n in enumerate(row) if n}
    return charts.sankey(
        "chart-flow",
        _("Ladder flow between two dates"),
        _("Customers by rung at the earlier date (left) and the later date (right)."),
        states,
        flows,
        band_colour=_flow_colour,
        left_heading=_("before"),
        right_heading=_("after"),
    )


def pareto_chart(c: Concentration, customer_share: float) -> str:
    """The Pareto curve of the concentration window, marked at ``customer_share``."""
    points = [(pt.customer_share, pt.revenue_share) for pt in c.curve]
    at_marker = charts.interpolate(points, customer_share) if len(points) > 1 else None
    marker_text = _("top {customers}: {revenue} of revenue").format(
        customers=pct0(customer_share), revenue=pct(at_marker)
    )
    return charts.pareto_curve(
        "chart-pareto",
        _("Pareto curve"),
        _(
            "Cumulative share of revenue against the cumulative share of customers, "
            "largest customers first; the dashed diagonal is an even split."
        ),
        points,
        x_label=_("share of customers"),
        y_label=_("share of revenue"),
        marker_x=customer_share,
        marker_text=marker_text,
        percent=pct0,
    )


def cohorts_chart(p: Portfolio) -> str:
    """Cohort retention as a heat map (an empty string without cohorts)."""
    groups = p.cohorts.cohorts
    if not groups:
        return ""
    return charts.heatmap(
        "chart-cohorts",
        _("Cohort retention"),
        _(
            "Rows: month of first order and cohort size; columns: months since; cells: share "
            "of the cohort ordering that month."
        ),
        [f"{month(c.month)} · {num(c.size)}" for c in groups],
        [f"+{k}" for k in range(p.cohorts.months + 1)],
        values=[c.retention for c in groups],
        percent=pct0,
        not_observed=_("not yet observed"),
    )


def ladder(p: Portfolio, currency: str | None = None) -> Markup:
    names = rung_names(_)
    items = p.ladder.items
    chart = ladder_chart(p)
    numbers = table(
        _("Customers and revenue by rung"),
        [_("Rung"), _("Customers"), _("Share"), _("Revenue"), _("Revenue share")],
        (
            [names[s.label], num(s.customers), pct(s.share), money(s.revenue, currency, 0),
             pct(s.revenue_share)]
            for s in items
        ),
    )
    return section(
        "ladder",
        _("The loyalty ladder"),
        _("Who is new, who comes back, who is a regular, who is loyal."),
        pair(chart, numbers),
    )


def statuses(p: Portfolio, currency: str | None = None) -> Markup:
    rungs, names = rung_names(_), status_names(_)
    ct = p.status_by_rung
    chart = status_chart(p)
    by_rung = table(
        _("Customers by rung and status"),
        [_("Rung"), *[names[s] for s in ct.columns], _("Total")],
        (
            [rungs[r], *[num(n) for n in ct.counts[i]], num(sum(ct.counts[i]))]
            for i, r in enumerate(ct.rows)
        ),
    )
    totals = table(
        _("Customers by status"),
        [_("Status"), _("Customers"), _("Share"), _("Revenue")],
        (
            [names[s.label], num(s.customers), pct(s.share), money(s.revenue, currency, 0)]
            for s in p.statuses.items
        ),
    )
    return section(
        "status",
        _("Activity status"),
        _("Independent of the rung: is each customer ordering within their own rhythm?"),
        pair(chart, by_rung + totals),
    )


def _flow_colour(a: int, b: int) -> str:
    return MOVEMENT_COLOURS.get(movement(FLOW_STATES[a], FLOW_STATES[b]), NEUTRAL)


def flow(ladder_flow: LadderFlow | None) -> Markup:
    heading = _("Ladder flow between two dates")
    lead = _("Who moved up, who moved down, who fell off the ladder, who came back.")
    if ladder_flow is None:
        note = _("The flow needs the customer map at an earlier date; none was given.")
        return section("flow", heading, lead, empty(note))
    names = rung_names(_)
    counts = ladder_flow.matrix.counts
    chart = flow_chart(ladder_flow)
    f = ladder_flow
    summary = table(
        _("Movements"),
        [_("Movement"), _("Customers")],
        (
            [label, num(n)]
            for label, n in (
                (_("moved up"), f.moved_up),
                (_("moved down"), f.moved_down),
                (_("stayed on their rung"), f.stayed),
                (_("became lost (off the ladder)"), f.became_lost),
                (_("were won back"), f.won_back),
                (_("still lost"), f.still_lost),
                (_("new entrants"), f.new_entrants),
                (_("left the customer list"), f.left_map),
            )
        ),
    )
    used = [
        i
        for i, _s in enumerate(FLOW_STATES)
        if sum(counts[i]) or sum(r[i] for r in counts)
    ]
    matrix = table(
        _("From (rows) → to (columns)"),
        [_("From \\ to"), *[names[FLOW_STATES[j]] for j in used]],
        ([names[FLOW_STATES[i]], *[num(counts[i][j]) for j in used]] for i in used),
    )
    return section("flow", heading, lead, pair(chart, summary + matrix))


def concentration(c: Concentration, customer_share: float,
                  currency: str | None = None, names: Mapping[str, str] | None = None) -> Markup:
    points = [(pt.customer_share, pt.revenue_share) for pt in c.curve]
    at_marker = charts.interpolate(points, customer_share) if len(points) > 1 else None
    chart = pareto_chart(c, customer_share)
    alert = badge(not c.alert, _("below the alert"), _("alert"))
    rows: list[list[str | Markup]] = [
        [_("Window"), f"{day(c.window.start)} – {day(c.window.end)}"],
        [_("Customers with orders"), num(c.customers)],
        [_("Revenue"), money(c.total_revenue, currency, 0)],
        [_("Largest customer"), customer_label(c.largest_customer_id, names or {})],
        [_("Largest customer's share"), Markup("{} {}").format(pct(c.largest_share), alert)],
        [_("Alert at"), pct0(c.alert_share)],
        [_("Top 10 share"), pct(c.top10_share)],
        [_("Top {customers} share").format(customers=pct0(customer_share)), pct(at_marker)],
        [_("HHI (0–{max})").format(max=num(10_000)), num(c.hhi_points)],
        [_("HHI (0–1)"), num(c.hhi, 4)],
    ]
    numbers = table(_("Concentration"), [_("Measure"), _("Value")], rows)
    return section(
        "concentration",
        _("Concentration and the Pareto curve"),
        _("Revenue of the trailing window: don't put all eggs in one basket."),
        pair(chart, numbers),
    )


def cohorts(p: Portfolio) -> Markup:
    heading = _("Cohort retention")
    lead = _("Share of each month's new customers who ordered again one, two, … months later.")
    groups = p.cohorts.cohorts
    if not groups:
        return section("cohorts", heading, lead, empty(_("No orders yet.")))
    columns = [f"+{k}" for k in range(p.cohorts.months + 1)]
    chart = cohorts_chart(p)
    numbers = table(
        heading,
        [_("Cohort"), _("Customers"), *columns],
        ([month(c.month), num(c.size), *[pct(v) for v in c.retention]] for c in groups),
    )
    return section("cohorts", heading, lead,
                   render("cohorts.html", chart=Markup(chart), numbers=numbers))
