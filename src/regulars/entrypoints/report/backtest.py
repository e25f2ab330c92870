"""The backtest in HTML: a section (:func:`backtest_section`) or a small self-contained page
(:func:`render_backtest_report`), with every definition written beside its numbers.

The words (method, status and rung names, definitions) are shared with the terminal's table;
numbers, amounts and days are written by :mod:`.format` in the current language (the page's,
inside :func:`render_backtest_report`).
"""

from __future__ import annotations

from typing import Any

from regulars.analytics.backtest import BEST, SILENT_DAYS
from regulars.entrypoints.labels import rung_names, status_names
from regulars.entrypoints.report.format import day, money, num, pct
from regulars.entrypoints.report.html import Markup, macros, section, table
from regulars.entrypoints.report.page import page
from regulars.i18n import _, current_language, fmt_days, ngettext, use_language

__all__ = ["backtest_section", "definitions", "labels", "pct", "reach_rows", "reach_sentence",
           "render_backtest_report"]


def labels() -> dict[str, str]:
    """Every code the backtest reports, in words: the methods, and the statuses and rungs as
    everywhere else (:mod:`regulars.entrypoints.labels`) but for the loyal, who count the
    advocates here."""
    return {
        **status_names(),
        **rung_names(),
        "ours": _("ours: money at stake"),
        "silent_90d": _("biggest silent {n}").format(n=fmt_days(SILENT_DAYS)),
        "revenue_x_p_gone": _("revenue × (1 − P(alive))"),
        "rfm_at_risk": _("RFM \"can't lose them\" and \"at risk\""),
        BEST: _("best possible (reference)"),
        "lapsing_or_lost": _("lapsing or lost"),
        "loyal": _("loyal (with advocates)"),
        "all": _("all customers"),
    }


def definitions(result: Any) -> list[str]:
    """The definitions behind every figure, for the terminal, the report and the docs."""
    return [
        _("Customers: everyone with an order on or before {d}; the map and the ranking are "
          "the ones regulars analyze builds as of that day, from the data up to it.").format(
            d=day(result.as_of)),
        _("Horizon: the {h} after {d}, to {u}. Before: the {h} up to and including "
          "{d}. Revenue: the sum of the orders' amounts in a window.").format(
            h=fmt_days(result.horizon_days), d=day(result.as_of), u=day(result.until)),
        _("Gone: placed no order in the horizon. Precision of a status: of its customers, the "
          "share gone; recall: of the customers gone, the share that had the status."),
        _("Revenue kept: the group's revenue in the horizon ÷ its revenue in the {h} "
          "before.").format(h=fmt_days(result.horizon_days)),
        _("Lost revenue of a customer: max(0, revenue before − revenue in the horizon); it "
          "counts customers who left and customers who shrank; a customer with no order in "
          "the {h} before counts nothing.").format(h=fmt_days(result.horizon_days)),
        _("Caught at the top p %: the share of all lost revenue that the first ceil(N × p %) "
          "customers of a method's list (at least 1) account for. Ties go by customer id."),
        _("Biggest silent {n}: customers with no order in the {n} up to {d}, by "
          "revenue, then everyone else by revenue. RFM: segments \"can't lose them\" and "
          "\"at risk\" by revenue, then everyone else by revenue. Revenue × (1 − P(alive)): "
          "P(alive) of the fitted model as of {d}. Best possible: the lost revenue itself, "
          "the most any list of that length could catch.").format(n=fmt_days(SILENT_DAYS),
                                                                    d=day(result.as_of)),
    ]


def reach_rows(result: Any) -> list[list[str]]:
    """What the worklists would have reached, as rows of two cells (none without it)."""
    reach, run = result.comparison.reach, getattr(result, "worklist", None)
    if reach is None or run is None:
        return []
    return [
        [_("customers the lists named"), num(reach.customers)],
        [_("their share of the revenue later lost"), pct(reach.share)],
        [_("the most as many customers could hold (best possible)"), pct(reach.best_possible)],
    ]


def reach_sentence(result: Any) -> str:
    """How the worklists were worked, for under their table."""
    run = result.worklist
    return _("Worklists: every manager's list from the map as of {d}, built once a week over "
             "the horizon ({w} lists) with room for the daily capacity ({c} customers a day "
             "for all {m} managers) × the week's working days ({days} in all, quiet days of "
             "the contact policy left out). A listed customer counts as contacted that week: "
             "the recontact rule and the contact caps apply to the next weeks' lists. The "
             "map is not rebuilt in the horizon.").format(
        d=day(result.as_of), w=num(run.weeks), c=num(run.daily_capacity), m=num(run.managers),
        days=num(run.working_days))


def basis_sentence(ranking: dict[str, Any]) -> str:
    if not ranking:
        return _("The ranking's basis is not known.")
    situations = int(ranking.get("situations") or 0)
    if ranking.get("basis") == "history":
        dates = len(ranking.get("dates") or [])
        return ngettext(
            "The ranking learned from this business's history: {n} customer situations at "
            "{k} earlier date, with a horizon of {h}.",
            "The ranking learned from this business's history: {n} customer situations at "
            "{k} earlier dates, with a horizon of {h}.", dates).format(
            n=num(situations), k=num(dates), h=fmt_days(ranking.get("horizon_days")))
    return ngettext("The ranking used the statuses (too little history to learn from: {n} "
                    "situation).",
                    "The ranking used the statuses (too little history to learn from: {n} "
                    "situations).", situations).format(n=num(situations))


def backtest_section(result: Any, currency: str | None = None) -> Markup:
    """The backtest (:class:`regulars.services.backtest.Backtest`) as one report section,
    amounts in ``currency``."""
    words = labels()
    c = result.comparison
    lead = ngettext(
        "The map and the ranking as of {d}, against what {n} customer did in the {h} "
        "after it, to {u}: {g} of them placed no order.",
        "The map and the ranking as of {d}, against what {n} customers did in the {h} "
        "after it, to {u}: {g} of them placed no order.", c.customers).format(
        d=day(result.as_of), n=num(c.customers), h=fmt_days(result.horizon_days),
        u=day(result.until), g=num(c.gone))
    cuts = [_("top {p}% ({k})").format(p=p, k=num(k)) for p, k in
            zip(c.percents, c.top, strict=True)]
    capture_rows = []
    for cap in c.capture:
        cells = ([pct(s) for s in cap.shares] if cap.available
                 else [_("not available: {why}").format(why=cap.reason)]
                 + [""] * (len(c.top) - 1))
        capture_rows.append([words.get(cap.method, cap.method), *cells])
    body = table(_("Share of the revenue later lost ({v}) caught by the top of each list")
                 .format(v=money(c.lost_revenue, currency, 0)),
                 [_("method"), *cuts], capture_rows)
    beats = [_("yes") if b else (_("no") if b is not None else "—")
             for b in c.beats_baselines]
    body += table(_("Does ours catch more than every baseline?"), [_("cut"), *cuts],
                  [[_("ours beats every baseline"), *beats]])
    reached = reach_rows(result)
    if reached:
        body += table(_("What the managers' worklists would have reached within their daily "
                        "capacity"), [_("worklists"), _("value")], reached)
        body += macros("blocks.html").lead(reach_sentence(result))
    body += table(
        _("Statuses against what happened"),
        [_("status"), _("customers"), _("of them gone"), _("precision"),
         _("recall"), _("gone in all")],
        [[words[s.status], num(s.flagged), num(s.flagged_gone),
          pct(s.precision), pct(s.recall), num(s.gone)] for s in c.statuses])
    body += table(
        _("Share of each status that ordered again"),
        [_("status"), _("customers"), _("ordered again"), _("share")],
        [[words[s.status], num(s.customers), num(s.ordered_again),
          pct(s.share)] for s in c.status_outcomes])
    body += table(
        _("Retention by rung"),
        [_("rung"), _("customers"), _("ordered in the horizon"),
         _("revenue before"), _("revenue in the horizon"), _("revenue kept")],
        [[words[r.rung], num(r.customers), pct(r.share_ordered),
          money(r.revenue_before, currency, 0), money(r.revenue_after, currency, 0),
          pct(r.revenue_kept)] for r in c.rungs])
    blocks = macros("blocks.html")
    body += blocks.lead(basis_sentence(result.ranking))
    body += blocks.items(definitions(result), "evidence")
    return section("backtest", _("Backtest"), lead, body)


def render_backtest_report(result: Any, *, title: str | None = None, lang: str | None = None,
                           currency: str | None = None) -> str:
    """One self-contained HTML page holding :func:`backtest_section`, in ``lang`` (None: the
    current language), amounts in ``currency`` (None: plain numbers)."""
    with use_language(lang or current_language()) as chosen:
        title = title or _("Backtest as of {d}").format(d=day(result.as_of))
        meta = _("As of {d}, horizon {h} to {u}; data to {last}").format(
            d=day(result.as_of), h=fmt_days(result.horizon_days), u=day(result.until),
            last=day(result.last_order))
        return page(title, meta, [], [backtest_section(result, currency)], result.until,
                    chosen)
