"""The few sentences that open the report, from the portfolio's figures."""

from __future__ import annotations

from collections.abc import Mapping

from regulars.analytics.portfolio import Portfolio
from regulars.entrypoints.report.format import num, pct, pct0, signed
from regulars.entrypoints.report.html import translate as _
from regulars.entrypoints.report.html import translate_plural as ngettext

__all__ = ["headline_sentences"]


def headline_sentences(portfolio: Portfolio,
                       names: Mapping[str, str] | None = None) -> list[str]:
    """The few sentences that open the report (translated, not yet escaped); ``names`` (id ->
    name) names a customer the sentences speak of, where known."""
    p = portfolio
    out = _revenue_sentences(p)
    c = p.concentration
    if c.customers:
        out.append(_concentration_sentence(p, names or {}))
    r = p.retention
    if r.crr is not None:
        out.append(
            _("Customer retention over the period: {crr}; churn: {churn}.").format(
                crr=pct(r.crr / 100), churn=pct(r.churn_rate)
            )
        )
    if p.nps is not None and p.nps.score is not None:
        out.append(
            ngettext("NPS {score} from {responses} response.",
                     "NPS {score} from {responses} responses.", p.nps.responses).format(
                score=signed(p.nps.score), responses=num(p.nps.responses)
            )
        )
    return out


def _revenue_sentences(p: Portfolio) -> list[str]:
    """Who the regulars and the loyal are, and what they bring: none without buyers."""
    out: list[str] = []
    rev = p.revenue
    if rev.buyers:
        out.append(
            ngettext(
                "{regulars} of {buyers} buyer ({share}) are regulars; "
                "they bring {revenue_share} of revenue.",
                "{regulars} of {buyers} buyers ({share}) are regulars; "
                "they bring {revenue_share} of revenue.",
                rev.buyers,
            ).format(
                regulars=num(rev.regulars),
                buyers=num(rev.buyers),
                share=pct(rev.regulars_customer_share),
                revenue_share=pct(rev.regulars_revenue_share),
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
                customers=pct(rev.loyal_customer_share),
                revenue=pct(rev.loyal_revenue_share),
                max_customers=pct0(rev.pareto_customer_share),
                min_revenue=pct0(rev.pareto_revenue_share),
            )
        )
    return out


def customer_label(customer_id: str | None, names: Mapping[str, str]) -> str:
    """A customer as a reader knows them: ``Café Aroma (C-17)`` where the name is known."""
    if customer_id is None:
        return "—"
    known = names.get(customer_id)
    return f"{known} ({customer_id})" if known and known != customer_id else customer_id


def _concentration_sentence(p: Portfolio, names: Mapping[str, str]) -> str:
    """The concentration alert, or how far the base is from it."""
    c = p.concentration
    if c.alert:
        days = (c.window.end - c.window.start).days
        return ngettext(
            "Concentration alert: customer {customer} brought {share} of the revenue "
            "of the last {days} day.",
            "Concentration alert: customer {customer} brought {share} of the revenue "
            "of the last {days} days.",
            days,
        ).format(
            customer=customer_label(c.largest_customer_id, names),
            share=pct(c.largest_share),
            days=num(days),
        )
    return _(
        "No single customer brings {alert} or more of the trailing revenue; "
        "the ten largest bring {top10}."
    ).format(alert=pct0(c.alert_share), top10=pct(c.top10_share))
