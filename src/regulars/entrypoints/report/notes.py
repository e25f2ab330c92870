"""The report's closing sections: the fitted models behind the predictions, what could not be
evaluated, and the definitions written from the thresholds the analysis used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regulars.analytics.params import MapParams
from regulars.analytics.portfolio import Portfolio
from regulars.entrypoints.report.format import num, sig
from regulars.entrypoints.report.html import Markup, macros, render, section, table
from regulars.entrypoints.report.html import translate as _
from regulars.entrypoints.report.html import translate_plural as ngettext
from regulars.i18n import fmt_days

__all__ = ["glossary", "not_evaluated_section", "predictions_section"]


def not_evaluated_section(not_evaluated: Mapping[str, str]) -> Markup:
    """The labels the data did not allow, with why: neither found nor absent."""
    lead = _("These labels were not looked at because the data needed for them is missing or "
             "empty. They are neither found nor absent for any customer.")
    rows = [[code, why] for code, why in sorted(not_evaluated.items())]
    body = table(_("Not evaluated"), [_("Label"), _("Why")], rows)
    return section("not-evaluated", _("Not evaluated"), lead, body)


def _model_rows(model: Mapping[str, Any]) -> list[list[str]]:
    ses = model.get("standard_errors") or {}
    rows = []
    for param, value in (model.get("params") or {}).items():
        se = ses.get(param)
        rows.append([param, sig(value, 4), "–" if se is None else sig(se, 3)])
    return rows


def predictions_section(predictions: Mapping[str, Any]) -> Markup:
    """The fitted models behind the prediction columns (``Fitted.describe()``)."""
    tx = predictions.get("transactions") or {}
    spend = predictions.get("spend")
    fitted_on = int(tx.get("n_customers") or 0)
    lead = ngettext(
        "P(alive), expected orders, the next order date, CLV and value at risk of every "
        "customer come from a {model} model of repeat purchases fitted on {n} customer "
        "(log-likelihood {ll}), and order values from {spend}.",
        "P(alive), expected orders, the next order date, CLV and value at risk of every "
        "customer come from a {model} model of repeat purchases fitted on {n} customers "
        "(log-likelihood {ll}), and order values from {spend}.",
        fitted_on,
    ).format(
        model=tx.get("model", "?"),
        n=num(tx.get("n_customers")),
        ll=num(tx.get("log_likelihood"), 1),
        spend=(_("a Gamma-Gamma spend model") if spend else
               _("each customer's own average order")),
    )
    header = [_("Parameter"), _("Estimate"), _("Standard error")]
    body = table(_("Repeat purchases ({m})").format(m=tx.get("model", "?")), header,
                 _model_rows(tx))
    if spend:
        body += table(_("Order value (Gamma-Gamma)"), header, _model_rows(spend))
    notes = predictions.get("notes") or []
    if notes:
        body += macros("blocks.html").items(notes, "evidence")
    return section("predictions", _("Predictions"), lead, body)


def _definitions(p: Portfolio) -> list[tuple[str, str]]:
    """Each term and its definition, written from the thresholds the analysis used (never
    restated by hand: a changed setting changes the page). Long because each definition
    is one sentence with its thresholds; splitting them would only scatter the glossary."""
    defaults = MapParams()

    def v(param: str) -> Any:
        return p.params.get(param, getattr(defaults, param))

    return [
        (
            _("Regular"),
            ngettext("a customer with at least {n} order.",
                     "a customer with at least {n} orders.",
                     v("regular_min_orders")).format(n=num(v("regular_min_orders"))),
        ),
        (
            _("Loyal"),
            ngettext(
                "a regular with at least {n} piece of current evidence of attachment, among "
                "those the data allows: orders more often or spends more per order than most "
                "regulars, a relationship (first to last order) of at least {days}, mostly "
                "buys without a discount, uses add-on services, would recommend us (NPS "
                "{promoter}–10), has referred others. Never loyal: lost customers, those who "
                "buy mostly on discount and detractors.",
                "a regular with at least {n} pieces of current evidence of attachment, among "
                "those the data allows: orders more often or spends more per order than most "
                "regulars, a relationship (first to last order) of at least {days}, mostly "
                "buys without a discount, uses add-on services, would recommend us (NPS "
                "{promoter}–10), has referred others. Never loyal: lost customers, those who "
                "buy mostly on discount and detractors.",
                v("loyal_min_evidence"),
            ).format(
                n=num(v("loyal_min_evidence")), days=fmt_days(v("loyal_min_tenure_days")),
                promoter=v("promoter_min_nps")),
        ),
        (
            _("Active"),
            _("ordering within their own rhythm: lapsing after {lapse} × their usual gap "
              "(their median gap between orders, or the whole base's when they have fewer "
              "than {gaps} gaps), lost after {lost} × it or {days} without an order.").format(
                lapse=num(v("lapsing_gap_factor"), 1), gaps=num(v("min_gaps_for_own_rhythm")),
                lost=num(v("lost_gap_factor"), 1), days=fmt_days(v("lost_max_days"))),
        ),
        (
            _("Won back"),
            _("ordering again after a gap past the lost threshold and at least {days} long, "
              "within the last {within}.").format(
                days=fmt_days(v("won_back_min_gap_days")),
                within=fmt_days(v("won_back_within_days"))),
        ),
        (
            _("Money at stake"),
            _("the revenue a customer's own rhythm promises over the next {h}, times "
              "the share of it that customers in the same situation did not bring in this "
              "business's history.").format(h=fmt_days(v("stake_horizon_days"))),
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
                "the percentage of promoters ({promoter}–10) minus the percentage of detractors "
                "(0–{detractor}) among the period's responses."
            ).format(
                promoter=v("promoter_min_nps"),
                detractor=v("detractor_max_nps"),
            ),
        ),
        (_("HHI"), _("sum of squared revenue shares (0–{max}); above {high} is highly "
                      "concentrated.").format(
                          max=num(10_000), high=num(2_500))),
    ]


def glossary(p: Portfolio) -> Markup:
    """The definitions of the report's terms."""
    return section("glossary", _("Definitions"), "",
                   render("glossary.html", entries=_definitions(p)))
