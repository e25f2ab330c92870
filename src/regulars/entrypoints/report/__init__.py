"""A self-contained HTML report of the portfolio: one file that opens anywhere, offline.

No script, no web font, no stylesheet or image is fetched: the CSS is inlined and every chart
is an inline SVG drawn in Python, each with a table of its numbers beside it. Every piece of
data is HTML-escaped; every sentence goes through :func:`regulars.i18n._`.

    html = render_report(portfolio, at_risk_rows, title="Café Aroma", as_of=as_of)
    Path("report.html").write_text(html, encoding="utf-8")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

from regulars.analytics.params import MapParams
from regulars.analytics.portfolio import (
    FLOW_STATES,
    Concentration,
    LadderFlow,
    Portfolio,
    movement,
)
from regulars.entrypoints.report import charts
from regulars.entrypoints.report.style import CSS
from regulars.i18n import _

__all__ = ["headline_sentences", "render_report"]

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
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# --------------------------------------------------------------------------------------------
# labels and formats


def _rung_labels() -> dict[str, str]:
    return {
        "prospect": _("prospect"),
        "newcomer": _("newcomer"),
        "returning": _("returning"),
        "regular": _("regular"),
        "loyal": _("loyal"),
        "advocate": _("advocate"),
        "absent": _("not in the list"),
        "lost": _("lost"),
    }


def _status_labels() -> dict[str, str]:
    return {
        "active": _("active"),
        "lapsing": _("lapsing"),
        "lost": _("lost"),
        "won_back": _("won back"),
    }


def _signal_labels() -> dict[str, str]:
    return {
        "shrinking_orders": _("shrinking orders"),
        "widening_gaps": _("widening gaps"),
        "overdue": _("overdue"),
        "slower_payments": _("slower payments"),
        "dropped_addons": _("dropped add-ons"),
        "complaints": _("complaints and returns"),
        "complaints_and_returns": _("complaints and returns"),
        "unresponsive": _("unresponsive"),
        "detractor": _("detractor"),
        "churn_risk": _("churn risk"),
        "review_relationship": _("review the relationship"),
    }


def _label(labels: Mapping[str, str], code: str | None) -> str:
    if code is None:
        return "—"
    return labels.get(code, code.replace("_", " "))


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _pct0(value: float) -> str:
    return f"{value * 100:.0f}%"


def _num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def _day(value: date | datetime) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _table(
    caption: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric_from: int = 1,
) -> str:
    """A table of already-escaped cells; columns from ``numeric_from`` on are right-aligned."""

    def cls(i: int) -> str:
        return ' class="num"' if i >= numeric_from else ""

    head = "".join(f'<th scope="col"{cls(i)}>{h}</th>' for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(
            f'<th scope="row">{c}</th>' if i == 0 else f"<td{cls(i)}>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    # a wide table (the flow matrix) scrolls inside its card instead of overflowing the page
    return (
        f'<div class="scroll"><table><caption>{_e(caption)}</caption><thead><tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table></div>"
    )


def _section(section_id: str, heading: str, lead: str, body: str) -> str:
    lead_html = f'<p class="lead">{_e(lead)}</p>' if lead else ""
    return (
        f'<section id="{_e(section_id)}" aria-labelledby="{_e(section_id)}-h">'
        f'<h2 id="{_e(section_id)}-h">{_e(heading)}</h2>{lead_html}{body}</section>'
    )


def _pair(chart: str, table: str) -> str:
    return f'<div class="pair"><figure>{chart}</figure><div>{table}</div></div>'


def _badge(ok: bool, yes: str, no: str, *, bad: str = "bad") -> str:
    return (
        f'<span class="badge good">{_e(yes)}</span>'
        if ok
        else f'<span class="badge {bad}">{_e(no)}</span>'
    )


# --------------------------------------------------------------------------------------------
# headlines and key figures


def headline_sentences(portfolio: Portfolio) -> list[str]:
    """The few sentences that open the report (translated, not yet escaped)."""
    p = portfolio
    out: list[str] = []
    rev = p.revenue
    if rev.buyers:
        out.append(
            _(
                "{regulars} of {buyers} buyers ({share}) are regulars; "
                "they bring {revenue_share} of revenue."
            ).format(
                regulars=_num(rev.regulars),
                buyers=_num(rev.buyers),
                share=_pct(rev.regulars_customer_share),
                revenue_share=_pct(rev.regulars_revenue_share),
            )
        )
        template = (
            _(
                "Loyal customers are {customers} of buyers and bring {revenue} of sales: "
                "the Pareto check passes."
            )
            if rev.pareto_passed
            else _(
                "Loyal customers are {customers} of buyers and bring {revenue} of sales: "
                "the Pareto check (at most {max_customers} of buyers, more than {min_revenue} "
                "of sales) does not pass."
            )
        )
        out.append(
            template.format(
                customers=_pct(rev.loyal_customer_share),
                revenue=_pct(rev.loyal_revenue_share),
                max_customers=_pct0(rev.pareto_customer_share),
                min_revenue=_pct0(rev.pareto_revenue_share),
            )
        )
    c = p.concentration
    if c.customers:
        if c.alert:
            out.append(
                _(
                    "Concentration alert: customer {customer} brought {share} of the revenue "
                    "of the last {days} days."
                ).format(
                    customer=c.largest_customer_id,
                    share=_pct(c.largest_share),
                    days=(c.window.end - c.window.start).days,
                )
            )
        else:
            out.append(
                _(
                    "No single customer brings {alert} or more of the trailing revenue; "
                    "the ten largest bring {top10}."
                ).format(alert=_pct0(c.alert_share), top10=_pct(c.top10_share))
            )
    r = p.retention
    if r.crr is not None:
        out.append(
            _("Customer retention over the period: {crr}; churn: {churn}.").format(
                crr=_pct(r.crr / 100), churn=_pct(r.churn_rate)
            )
        )
    if p.nps is not None and p.nps.score is not None:
        out.append(
            _("NPS {score} from {responses} responses.").format(
                score=_signed(p.nps.score), responses=_num(p.nps.responses)
            )
        )
    return out


def _kpis(p: Portfolio) -> str:
    m, rev, r = p.metrics, p.revenue, p.retention
    cards: list[tuple[str, str, str]] = [
        (_("Customers"), _num(m.customers), _("{buyers} buyers").format(buyers=_num(m.buyers))),
        (
            _("Regulars"),
            _pct(m.regulars_share),
            _("{n} customers, of buyers").format(n=_num(m.regulars)),
        ),
        (_("Revenue from regulars"), _pct(rev.regulars_revenue_share), _("of all revenue")),
        (_("Revenue from loyal"), _pct(rev.loyal_revenue_share), _("loyal and advocates")),
        (_("Repeat-purchase rate"), _pct(m.repeat_purchase_rate), _("buyers with 2+ orders")),
        (_("Average order value"), _num(m.average_order_value, 2), _("revenue / orders")),
        (_("Purchase frequency"), _num(m.purchase_frequency, 2), _("orders per buyer")),
        (
            _("Tenure of regulars"),
            _num(m.regulars_average_tenure_days),
            _("days since the first order, on average"),
        ),
        (
            _("Customer retention (CRR)"),
            _pct(r.crr / 100 if r.crr is not None else None),
            _("over the period"),
        ),
        (_("Churn rate"), _pct(r.churn_rate), _("over the period")),
    ]
    if p.nps is not None:
        cards.append(
            (_("NPS"), _signed(p.nps.score), _("{n} responses").format(n=_num(p.nps.responses)))
        )
    html = "".join(
        f'<div class="kpi"><div class="label">{_e(label)}</div>'
        f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
        for label, value, note in cards
    )
    checks = (
        f"<p>{_e(_('Pareto check'))}: "
        f"{_badge(rev.pareto_passed, _('passes'), _('does not pass'), bad='warn')} · "
        f"{_e(_('Concentration'))}: "
        f"{_badge(not p.concentration.alert, _('no alert'), _('alert'))}</p>"
    )
    return _section(
        "summary",
        _("Key figures"),
        _("As of the report date; period figures cover the period."),
        f'<div class="kpis">{html}</div>{checks}',
    )


# --------------------------------------------------------------------------------------------
# sections


def _ladder(p: Portfolio) -> str:
    labels = _rung_labels()
    items = p.ladder.items
    rows = [
        (
            labels[s.label],
            s.customers,
            f"{_num(s.customers)} · {_pct(s.share)}",
            RUNG_COLOURS.get(s.label, NEUTRAL),
        )
        for s in items
    ]
    chart = charts.funnel(
        "chart-ladder",
        _("The loyalty ladder"),
        _("Customers on each rung, from prospect to advocate."),
        rows,
    )
    table = _table(
        _("Customers and revenue by rung"),
        [
            _e(_("Rung")),
            _e(_("Customers")),
            _e(_("Share")),
            _e(_("Revenue")),
            _e(_("Revenue share")),
        ],
        (
            [
                _e(labels[s.label]),
                _e(_num(s.customers)),
                _e(_pct(s.share)),
                _e(_num(s.revenue)),
                _e(_pct(s.revenue_share)),
            ]
            for s in items
        ),
    )
    return _section(
        "ladder",
        _("The loyalty ladder"),
        _("Who is new, who comes back, who is a regular, who is loyal."),
        _pair(chart, table),
    )


def _statuses(p: Portfolio) -> str:
    rungs, statuses = _rung_labels(), _status_labels()
    ct = p.status_by_rung
    chart = charts.stacked_bars(
        "chart-status",
        _("Activity status by rung"),
        _("For each rung, the share of customers active, lapsing, lost and won back."),
        [(rungs[r], ct.counts[i]) for i, r in enumerate(ct.rows)],
        [(statuses[s], STATUS_COLOURS[s]) for s in ct.columns],
        percent=_pct0,
    )
    table = _table(
        _("Customers by rung and status"),
        [_e(_("Rung"))] + [_e(statuses[s]) for s in ct.columns] + [_e(_("Total"))],
        (
            [_e(rungs[r])] + [_e(_num(n)) for n in ct.counts[i]] + [_e(_num(sum(ct.counts[i])))]
            for i, r in enumerate(ct.rows)
        ),
    )
    totals = _table(
        _("Customers by status"),
        [_e(_("Status")), _e(_("Customers")), _e(_("Share")), _e(_("Revenue"))],
        (
            [_e(statuses[s.label]), _e(_num(s.customers)), _e(_pct(s.share)), _e(_num(s.revenue))]
            for s in p.statuses.items
        ),
    )
    return _section(
        "status",
        _("Activity status"),
        _("Independent of the rung: is each customer ordering within their own rhythm?"),
        _pair(chart, table + totals),
    )


def _flow_colour(a: int, b: int) -> str:
    return MOVEMENT_COLOURS.get(movement(FLOW_STATES[a], FLOW_STATES[b]), NEUTRAL)


def _flow(flow: LadderFlow | None) -> str:
    heading = _("Ladder flow between two dates")
    lead = _("Who moved up, who moved down, who fell off the ladder, who came back.")
    if flow is None:
        note = _("The flow needs the customer map at an earlier date; none was given.")
        return _section("flow", heading, lead, f'<p class="empty">{_e(note)}</p>')
    labels = _rung_labels()
    states = [
        (labels[s], RUNG_COLOURS.get(s, STATUS_COLOURS["lost"] if s == "lost" else NEUTRAL))
        for s in FLOW_STATES
    ]
    flows = {(i, j): n for i, row in enumerate(flow.matrix.counts) for j, n in enumerate(row) if n}
    chart = charts.sankey(
        "chart-flow",
        heading,
        _("Customers by rung at the earlier date (left) and the later date (right)."),
        states,
        flows,
        band_colour=_flow_colour,
        left_heading=_("before"),
        right_heading=_("after"),
    )
    summary = _table(
        _("Movements"),
        [_e(_("Movement")), _e(_("Customers"))],
        (
            [_e(name), _e(_num(n))]
            for name, n in (
                (_("moved up"), flow.moved_up),
                (_("moved down"), flow.moved_down),
                (_("stayed on their rung"), flow.stayed),
                (_("became lost (off the ladder)"), flow.became_lost),
                (_("won back"), flow.won_back),
                (_("still lost"), flow.still_lost),
                (_("new entrants"), flow.new_entrants),
                (_("left the customer list"), flow.left_map),
            )
        ),
    )
    used = [
        i
        for i, s in enumerate(FLOW_STATES)
        if sum(flow.matrix.counts[i]) or sum(r[i] for r in flow.matrix.counts)
    ]
    matrix = _table(
        _("From (rows) → to (columns)"),
        [_e(_("From \\ to"))] + [_e(labels[FLOW_STATES[j]]) for j in used],
        (
            [_e(labels[FLOW_STATES[i]])] + [_e(_num(flow.matrix.counts[i][j])) for j in used]
            for i in used
        ),
    )
    return _section("flow", heading, lead, _pair(chart, summary + matrix))


def _concentration(c: Concentration, customer_share: float) -> str:
    points = [(pt.customer_share, pt.revenue_share) for pt in c.curve]
    at_marker = charts.interpolate(points, customer_share) if len(points) > 1 else None
    marker_text = _("top {customers}: {revenue} of revenue").format(
        customers=_pct0(customer_share), revenue=_pct(at_marker)
    )
    chart = charts.pareto_curve(
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
        percent=_pct0,
    )
    alert = _badge(not c.alert, _("below the alert"), _("alert"))
    rows = [
        [_e(_("Window")), _e(f"{_day(c.window.start)} – {_day(c.window.end)}")],
        [_e(_("Customers with orders")), _e(_num(c.customers))],
        [_e(_("Revenue")), _e(_num(c.total_revenue))],
        [_e(_("Largest customer")), _e(c.largest_customer_id or "—")],
        [_e(_("Largest customer's share")), f"{_e(_pct(c.largest_share))} {alert}"],
        [_e(_("Alert at")), _e(_pct0(c.alert_share))],
        [_e(_("Top 10 share")), _e(_pct(c.top10_share))],
        [
            _e(_("Top {customers} share").format(customers=_pct0(customer_share))),
            _e(_pct(at_marker)),
        ],
        [_e(_("HHI (0–10,000)")), _e(_num(c.hhi_points))],
        [_e(_("HHI (0–1)")), _e(_num(c.hhi, 4))],
    ]
    table = _table(_("Concentration"), [_e(_("Measure")), _e(_("Value"))], rows)
    return _section(
        "concentration",
        _("Concentration and the Pareto curve"),
        _("Revenue of the trailing window: don't put all eggs in one basket."),
        _pair(chart, table),
    )


def _cohorts(p: Portfolio) -> str:
    heading = _("Cohort retention")
    lead = _("Share of each month's new customers who ordered again one, two, … months later.")
    cohorts = p.cohorts.cohorts
    if not cohorts:
        return _section("cohorts", heading, lead, f'<p class="empty">{_e(_("No orders yet."))}</p>')
    columns = [f"+{k}" for k in range(p.cohorts.months + 1)]
    rows = [f"{c.month} · {c.size}" for c in cohorts]
    chart = charts.heatmap(
        "chart-cohorts",
        heading,
        _(
            "Rows: month of first order and cohort size; columns: months since; cells: share "
            "of the cohort ordering that month."
        ),
        rows,
        columns,
        values=[c.retention for c in cohorts],
        percent=_pct0,
        not_observed=_("not yet observed"),
    )
    table = _table(
        heading,
        [_e(_("Cohort")), _e(_("Customers"))] + [_e(c) for c in columns],
        ([_e(c.month), _e(_num(c.size))] + [_e(_pct(v)) for v in c.retention] for c in cohorts),
    )
    details = f"<details><summary>{_e(_('The numbers'))}</summary>{table}</details>"
    return _section("cohorts", heading, lead, f"<figure>{chart}</figure>{details}")


def _row_value(row: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if row.get(key) is not None:
            return row[key]
    return None


def _at_risk(rows: Sequence[Mapping[str, Any]], limit: int, *, win_back: bool = False) -> str:
    """The customers at risk, or (``win_back``) the lost customers worth winning back: the
    same table, ranked the same way."""
    section_id = "win-back" if win_back else "at-risk"
    heading = _("Lost, worth winning back") if win_back else _("Customers at risk")
    empty = (_("No lost customer to win back.") if win_back
             else _("No customer shows a warning signal."))
    by_stake = any(_row_value(r, "money_at_stake") is not None for r in rows)
    by_model = not by_stake and any(_row_value(r, "value_at_risk") is not None for r in rows)
    key: tuple[str, ...]
    if by_stake:
        lead = _("Ranked by money at stake: the revenue each customer's own rhythm promises "
                 "over the coming months, times the share of it that customers in the same "
                 "situation did not bring in this business's history; with the evidence.")
        key, caption, column = ("money_at_stake",), _(
            "Customers at risk, most money at stake first"), _("Money at stake")
    elif by_model:
        lead = _("Ranked by value at risk: the value over the coming months that is lost if "
                 "the customer has already gone (from the fitted model), with the evidence "
                 "behind each signal.")
        key, caption, column = ("value_at_risk",), _(
            "Customers at risk, largest value at risk first"), _("Value at risk")
    else:
        lead = _("Ranked by the revenue at stake, with the evidence behind each signal.")
        key, caption, column = ("revenue_at_stake", "revenue"), _(
            "Customers at risk, largest revenue at stake first"), _("Revenue at stake")
    if win_back:
        lead = _("Lost customers, most money at stake first: what their own rhythm promised, "
                 "for one win-back contact each (article 001: at most 1-2 a year).")
        caption = _("Lost customers, most money at stake first")
    if not rows:
        return _section(section_id, heading, lead, f'<p class="empty">{_e(empty)}</p>')

    def stake(row: Mapping[str, Any]) -> float:
        value = _row_value(row, *key)
        return float(value) if value is not None else 0.0

    ranked = sorted(rows, key=lambda r: (-stake(r), str(r.get("customer_id", ""))))[:limit]
    top = max(stake(r) for r in ranked) or 1.0
    rungs, statuses, signals = _rung_labels(), _status_labels(), _signal_labels()
    # whom to call, when the customers table says it
    reachable = any(_row_value(r, "manager", "phone", "email") is not None for r in ranked)
    body = []
    for i, row in enumerate(ranked, start=1):
        name = _row_value(row, "name")
        who = _e(row.get("customer_id", ""))
        if name is not None:
            who = f"{_e(name)}<br><small>{who}</small>"
        contact = [
            *([_e(_row_value(row, "manager") or "")] if reachable else []),
            *(["<br>".join(_e(row[k]) for k in ("phone", "email") if _row_value(row, k))]
              if reachable else []),
        ]
        chips = "".join(
            f'<span class="chip">{_e(_label(signals, str(s)))}</span>'
            for s in row.get("signals") or ()
        )
        sentences = _row_value(row, "sentences", "evidence") or ()
        if isinstance(sentences, str):
            sentences = [sentences]
        evidence = "".join(f"<li>{_e(s)}</li>" for s in sentences)
        bar = f'<div class="bar"><span style="width:{100 * stake(row) / top:.1f}%"></span></div>'
        body.append(
            [
                _e(i),
                who,
                *contact,
                f"{_e(_label(rungs, row.get('rung')))} · {_e(_label(statuses, row.get('status')))}",
                _e(_num(_row_value(row, "revenue"), 2)),
                f"{_e(_num(stake(row)))}{bar}",
                chips,
                f'<ul class="evidence">{evidence}</ul>' if evidence else "",
            ]
        )
    table = _table(
        caption,
        [
            _e(_("#")),
            _e(_("Customer")),
            *([_e(_("Manager")), _e(_("Phone · e-mail"))] if reachable else []),
            _e(_("Rung · status")),
            # beside a model's value at risk, what the customer has actually spent
            _e(_("Revenue so far")),
            _e(column),
            _e(_("Signals")),
            _e(_("Evidence")),
        ],
        body,
        numeric_from=99,
    )
    more = ""
    if len(rows) > limit:
        more = f'<p class="empty">{_e(_("{n} more not shown.").format(n=len(rows) - limit))}</p>'
    return _section(section_id, heading, lead, table + more)


def _glossary(p: Portfolio) -> str:
    """The definitions, written from the thresholds the analysis used (never restated by
    hand: a changed setting changes the page)."""
    defaults = MapParams()

    def v(name: str) -> Any:
        return p.params.get(name, getattr(defaults, name))

    entries = [
        (
            _("Regular"),
            _("a customer with at least {n} orders.").format(n=v("regular_min_orders")),
        ),
        (
            _("Loyal"),
            _("a regular with at least {n} pieces of current evidence of attachment, among "
              "those the data allows: orders more often or spends more per order than most "
              "regulars, a relationship (first to last order) of at least {days} days, mostly "
              "buys without a discount, uses add-on services, would recommend us (NPS "
              "{promoter}–10), has referred others. Never loyal: lost customers, those who "
              "buy mostly on discount and detractors.").format(
                n=v("loyal_min_evidence"), days=v("loyal_min_tenure_days"),
                promoter=v("promoter_min_nps")),
        ),
        (
            _("Active"),
            _("ordering within their own rhythm: lapsing after {lapse} × their usual gap "
              "(their median gap between orders, or the whole base's when they have fewer "
              "than {gaps} gaps), lost after {lost} × it or {days} days without an order.").format(
                lapse=_num(v("lapsing_gap_factor"), 1), gaps=v("min_gaps_for_own_rhythm"),
                lost=_num(v("lost_gap_factor"), 1), days=v("lost_max_days")),
        ),
        (
            _("Won back"),
            _("ordering again after a gap past the lost threshold and at least {days} days "
              "long, within the last {within} days.").format(
                days=v("won_back_min_gap_days"), within=v("won_back_within_days")),
        ),
        (
            _("Money at stake"),
            _("the revenue a customer's own rhythm promises over the next {h} days, times "
              "the share of it that customers in the same situation did not bring in this "
              "business's history.").format(h=v("stake_horizon_days")),
        ),
        (
            _("CRR"),
            _(
                "(E − N) / S × 100: S active at the start of the period, E at its end, "
                "N new customers during it."
            ),
        ),
        (
            _("NPS"),
            _(
                "% promoters ({promoter}–10) − % detractors (0–{detractor}) of the period's "
                "responses."
            ).format(
                promoter=v("promoter_min_nps"),
                detractor=v("detractor_max_nps"),
            ),
        ),
        (_("HHI"), _("sum of squared revenue shares; above 2,500 is highly concentrated.")),
    ]
    body = "".join(f"<dt>{_e(t)}</dt><dd>{_e(d)}</dd>" for t, d in entries)
    return _section("glossary", _("Definitions"), "", f'<dl class="glossary">{body}</dl>')


# --------------------------------------------------------------------------------------------


def render_report(
    portfolio: Portfolio,
    at_risk_rows: Sequence[Mapping[str, Any]],
    *,
    title: str,
    as_of: date | datetime,
    sentences: Sequence[str] | None = None,
    lang: str = "en",
    max_at_risk: int = 50,
    predictions: Mapping[str, Any] | None = None,
    not_evaluated: Mapping[str, str] | None = None,
    win_back_rows: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """Render the portfolio as one self-contained HTML page.

    Parameters
    ----------
    portfolio
        The result of :func:`regulars.analytics.portfolio.portfolio`.
    at_risk_rows
        One mapping per customer at risk with ``customer_id``, ``rung``, ``status``,
        ``revenue`` (or ``revenue_at_stake``, preferred for ranking when present), ``signals``
        (codes) and ``sentences`` (or ``evidence``): the evidence sentences, already
        translated. An optional ``name`` is shown above the id; optional ``manager``,
        ``phone`` and ``email`` get columns of their own when any customer listed has one.
    title
        The page title, e.g. the business's name.
    as_of
        The date the figures describe.
    sentences
        Headline sentences for the top of the page; None builds them from the portfolio
        (:func:`headline_sentences`).
    lang
        The page's language tag.
    max_at_risk
        At most this many customers at risk are listed.
    predictions
        The fitted models behind the prediction columns (``Fitted.describe()``), shown in a
        section of their own; None leaves the section out.
    win_back_rows
        Lost customers worth winning back, as ``at_risk_rows``, in a section of their own;
        None leaves the section out.
    not_evaluated
        What the analysis could not look at for lack of data (label code -> reason), shown
        in a section of its own.
    """
    p = portfolio
    headlines = headline_sentences(p) if sentences is None else list(sentences)
    headline_html = (
        '<ul class="headlines">' + "".join(f"<li>{_e(s)}</li>" for s in headlines) + "</ul>"
        if headlines
        else ""
    )
    meta = _("As of {as_of} · period {start} – {end}").format(
        as_of=_day(as_of), start=_day(p.period.start), end=_day(p.period.end)
    )
    sections = [
        _kpis(p),
        _ladder(p),
        _statuses(p),
        _flow(p.flow),
        _concentration(p.concentration, float(p.params.get("pareto_customer_share", 0.2))),
        _cohorts(p),
        _at_risk(at_risk_rows, max_at_risk),
        *([_at_risk(win_back_rows, max_at_risk, win_back=True)]
          if win_back_rows is not None else []),
        *([_predictions(predictions)] if predictions is not None else []),
        *([_not_evaluated(not_evaluated)] if not_evaluated else []),
        _glossary(p),
    ]
    return _page(title, meta, headline_html, sections, as_of, lang)


def _page(title: str, meta: str, headline_html: str, sections: Sequence[str],
          as_of: date | datetime, lang: str) -> str:
    """One self-contained HTML page: inline CSS, no script, no request to anywhere."""
    footer = _("Generated by regulars. Figures as of {as_of}.").format(as_of=_day(as_of))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="regulars">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f'<body><main><header class="report"><h1>{_e(title)}</h1>'
        f'<p class="meta">{_e(meta)}</p>{headline_html}</header>'
        + "".join(sections)
        + f"<footer>{_e(footer)}</footer></main></body></html>\n"
    )


def _not_evaluated(not_evaluated: Mapping[str, str]) -> str:
    """The labels the data did not allow, with why: neither found nor absent."""
    lead = _("These labels were not looked at because the data needed for them is missing or "
             "empty. They are neither found nor absent for any customer.")
    rows = [[_e(code), _e(why)] for code, why in sorted(not_evaluated.items())]
    body = _table(_("Not evaluated"), [_e(_("Label")), _e(_("Why"))], rows)
    return _section("not-evaluated", _("Not evaluated"), lead, body)


# --- predictions (issue 4) -------------------------------------------------------------------


def _model_rows(model: Mapping[str, Any]) -> list[list[str]]:
    ses = model.get("standard_errors") or {}
    rows = []
    for name, value in (model.get("params") or {}).items():
        se = ses.get(name)
        rows.append([_e(name), _e(f"{value:.4g}"), _e("–" if se is None else f"{se:.3g}")])
    return rows


def _predictions(predictions: Mapping[str, Any]) -> str:
    heading = _("Predictions")
    tx = predictions.get("transactions") or {}
    spend = predictions.get("spend")
    lead = _(
        "P(alive), expected orders, the next order date, CLV and value at risk of every "
        "customer come from a {model} model of repeat purchases fitted on {n} customers "
        "(log-likelihood {ll}), and order values from {spend}."
    ).format(
        model=tx.get("model", "?"),
        n=_num(tx.get("n_customers")),
        ll=_num(tx.get("log_likelihood"), 1),
        spend=(_("a Gamma-Gamma spend model") if spend else
               _("each customer's own average order")),
    )
    header = [_e(_("Parameter")), _e(_("Estimate")), _e(_("Standard error"))]
    body = _table(_("Repeat purchases ({m})").format(m=tx.get("model", "?")), header,
                  _model_rows(tx))
    if spend:
        body += _table(_("Order value (Gamma-Gamma)"), header, _model_rows(spend))
    notes = predictions.get("notes") or []
    if notes:
        body += '<ul class="evidence">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
    return _section("predictions", heading, lead, body)


def render_models_report(evaluation: Any, *, title: str, lang: str = "en") -> str:
    """One self-contained HTML page of a calibration/holdout evaluation
    (:class:`regulars.analytics.models.ModelsEvaluation`): the models compared, and for each
    predicted against actual holdout orders per calibration-frequency bucket and cumulatively
    over time, as charts and tables."""
    split = evaluation.split
    unit = split.calibration.time_unit
    meta = _("Calibration to {cal}, holdout to {obs} ({d:g} {unit}s), {n} customers").format(
        cal=_day(split.calibration_end), obs=_day(split.observation_end), d=split.duration,
        unit=unit, n=_num(len(split.calibration)))
    comparison = evaluation.comparison.to_pylist()
    rows = [[_e(r["model"]), _e(r["parameters"]), _e(_num(r["log_likelihood"], 1)),
             _e(_num(r["aic"], 1)), _e(_num(r["bic"], 1))] for r in comparison]
    body = _table(_("Models fitted on the calibration period (lower AIC and BIC fit better)"),
                  [_e(_("Model")), _e(_("Parameters")), _e(_("Log-likelihood")), _e("AIC"),
                   _e("BIC")], rows, numeric_from=2)
    for name, why in evaluation.failures.items():
        body += f'<p class="empty">{_e(name)}: {_e(why)}</p>'
    sections = [_section("comparison", _("Models compared"), "", body)]
    colours = (("#2563eb", "#f59e0b"))
    for i, ev in enumerate(evaluation.evaluations):
        model = ev.model.title
        freq = ev.by_frequency.to_pylist()
        bars = charts.paired_bars(
            f"chart-freq-{i}",
            _("{m}: holdout orders by calibration frequency").format(m=model),
            _("Mean orders per customer in the holdout, actual and predicted, for customers "
              "grouped by their repeat purchases in the calibration period."),
            [(r["bucket"], [r["actual_mean"], r["predicted_mean"]]) for r in freq],
            [(_("actual"), colours[0]), (_("predicted"), colours[1])],
            x_label=_("repeat purchases in the calibration period"),
            y_label=_("mean orders in the holdout"),
            number=lambda v: f"{v:.2g}",
        )
        cum = ev.cumulative.to_pylist()
        curve = charts.lines(
            f"chart-cum-{i}",
            _("{m}: cumulative repeat orders in the holdout").format(m=model),
            _("Orders of the calibration customers since the calibration end, actual and "
              "predicted, by {unit}.").format(unit=unit),
            [r["t"] for r in cum],
            [(_("actual"), colours[0], [r["actual"] for r in cum]),
             (_("predicted"), colours[1], [r["predicted"] for r in cum])],
            x_label=_("{unit}s after the calibration end").format(unit=unit),
            y_label=_("orders"),
            number=lambda v: f"{v:,.0f}",
        )
        table = _table(
            _("By calibration frequency"),
            [_e(_("Repeat purchases")), _e(_("Customers")), _e(_("Actual mean")),
             _e(_("Predicted mean"))],
            [[_e(r["bucket"]), _e(_num(r["customers"])), _e(_num(r["actual_mean"], 3)),
              _e(_num(r["predicted_mean"], 3))] for r in freq],
        )
        lead = _("Holdout orders: {a} actual, {p} predicted ({d} off); mean absolute error "
                 "per customer {mae}.").format(
            a=_num(ev.actual_total), p=_num(ev.predicted_total),
            d=_pct((ev.predicted_total - ev.actual_total) / ev.actual_total
                   if ev.actual_total else None),
            mae=_num(ev.mae, 3))
        sections.append(_section(f"model-{i}", model, lead,
                                 _pair(bars, table) + f"<figure>{curve}</figure>"))
    return _page(title, meta, "", sections, split.observation_end, lang)
