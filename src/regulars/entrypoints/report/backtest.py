"""The backtest in HTML: a section (:func:`backtest_section`) or a small self-contained page
(:func:`render_backtest_report`), with every definition written beside its numbers.

The words (method, status and rung names, definitions) are shared with the terminal's table.
"""

from __future__ import annotations

from typing import Any

from regulars.analytics.backtest import BEST, SILENT_DAYS
from regulars.entrypoints.report import _e, _page, _section, _table
from regulars.i18n import _

__all__ = ["backtest_section", "definitions", "labels", "pct", "render_backtest_report"]


def labels() -> dict[str, str]:
    """Every code the backtest reports, in words."""
    return {
        "ours": _("ours: money at stake"),
        "silent_90d": _("biggest silent {n} days").format(n=SILENT_DAYS),
        "revenue_x_p_gone": _("revenue × (1 − P(alive))"),
        "rfm_at_risk": _("RFM \"can't lose them\" and \"at risk\""),
        BEST: _("best possible (reference)"),
        "lapsing": _("lapsing"),
        "lost": _("lost"),
        "lapsing_or_lost": _("lapsing or lost"),
        "active": _("active"),
        "won_back": _("won back"),
        "loyal": _("loyal (with advocates)"),
        "regular": _("regular"),
        "returning": _("returning"),
        "newcomer": _("newcomer"),
        "all": _("all customers"),
    }


def definitions(result: Any) -> list[str]:
    """The definitions behind every figure, for the terminal, the report and the docs."""
    return [
        _("Customers: everyone with an order on or before {d}; the map and the ranking are "
          "the ones regulars analyze builds as of that day, from the data up to it.").format(
            d=result.as_of),
        _("Horizon: the {h} days after {d}, to {u}. Before: the {h} days up to and including "
          "{d}. Revenue: the sum of the orders' amounts in a window.").format(
            h=result.horizon_days, d=result.as_of, u=result.until),
        _("Gone: placed no order in the horizon. Precision of a status: of its customers, the "
          "share gone; recall: of the customers gone, the share that had the status."),
        _("Revenue kept: the group's revenue in the horizon ÷ its revenue in the {h} days "
          "before.").format(h=result.horizon_days),
        _("Lost revenue of a customer: max(0, revenue before − revenue in the horizon); it "
          "counts customers who left and customers who shrank; a customer with no order in "
          "the {h} days before counts nothing.").format(h=result.horizon_days),
        _("Caught at the top p %: the share of all lost revenue that the first ceil(N × p %) "
          "customers of a method's list (at least 1) account for. Ties go by customer id."),
        _("Biggest silent {n} days: customers with no order in the {n} days up to {d}, by "
          "revenue, then everyone else by revenue. RFM: segments \"can't lose them\" and "
          "\"at risk\" by revenue, then everyone else by revenue. Revenue × (1 − P(alive)): "
          "P(alive) of the fitted model as of {d}. Best possible: the lost revenue itself, "
          "the most any list of that length could catch.").format(n=SILENT_DAYS,
                                                                    d=result.as_of),
    ]


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def basis_sentence(ranking: dict[str, Any]) -> str:
    if not ranking:
        return _("The ranking's basis is not known.")
    if ranking.get("basis") == "history":
        return _("The ranking learned from this business's history: {n} customer situations "
                 "at {k} earlier dates ({h}-day horizon).").format(
            n=f"{ranking.get('situations', 0):,}", k=len(ranking.get("dates") or []),
            h=ranking.get("horizon_days"))
    return _("The ranking used the statuses (too little history to learn from: {n} "
             "situations).").format(n=f"{ranking.get('situations', 0):,}")


def backtest_section(result: Any) -> str:
    """The backtest (:class:`regulars.services.backtest.Backtest`) as one report section."""
    words = labels()
    c = result.comparison
    lead = _("The map and the ranking as of {d}, against what {n} customers did in the {h} "
             "days after it, to {u}: {g} of them placed no order.").format(
        d=result.as_of, n=f"{c.customers:,}", h=result.horizon_days, u=result.until,
        g=f"{c.gone:,}")
    cuts = [_e(_("top {p}% ({k})").format(p=p, k=f"{k:,}")) for p, k in
            zip(c.percents, c.top, strict=True)]
    capture_rows = []
    for cap in c.capture:
        cells = ([_e(pct(s)) for s in cap.shares] if cap.available
                 else [_e(_("not available: {why}").format(why=cap.reason))]
                 + [""] * (len(c.top) - 1))
        capture_rows.append([_e(words.get(cap.method, cap.method)), *cells])
    body = _table(_("Share of the revenue later lost ({v}) caught by the top of each list")
                  .format(v=f"{c.lost_revenue:,.0f}"),
                  [_e(_("method")), *cuts], capture_rows)
    beats = [_e(_("yes") if b else (_("no") if b is not None else "—"))
             for b in c.beats_baselines]
    body += _table(_("Does ours catch more than every baseline?"), [_e(_("cut")), *cuts],
                   [[_e(_("ours beats every baseline")), *beats]])
    body += _table(
        _("Statuses against what happened"),
        [_e(_("status")), _e(_("customers")), _e(_("of them gone")), _e(_("precision")),
         _e(_("recall")), _e(_("gone in all"))],
        [[_e(words[s.status]), _e(f"{s.flagged:,}"), _e(f"{s.flagged_gone:,}"),
          _e(pct(s.precision)), _e(pct(s.recall)), _e(f"{s.gone:,}")] for s in c.statuses])
    body += _table(
        _("Share of each status that ordered again"),
        [_e(_("status")), _e(_("customers")), _e(_("ordered again")), _e(_("share"))],
        [[_e(words[s.status]), _e(f"{s.customers:,}"), _e(f"{s.ordered_again:,}"),
          _e(pct(s.share))] for s in c.status_outcomes])
    body += _table(
        _("Retention by rung"),
        [_e(_("rung")), _e(_("customers")), _e(_("ordered in the horizon")),
         _e(_("revenue before")), _e(_("revenue in the horizon")), _e(_("revenue kept"))],
        [[_e(words[r.rung]), _e(f"{r.customers:,}"), _e(pct(r.share_ordered)),
          _e(f"{r.revenue_before:,.0f}"), _e(f"{r.revenue_after:,.0f}"),
          _e(pct(r.revenue_kept))] for r in c.rungs])
    body += f'<p class="lead">{_e(basis_sentence(result.ranking))}</p>'
    body += ('<ul class="evidence">'
             + "".join(f"<li>{_e(d)}</li>" for d in definitions(result)) + "</ul>")
    return _section("backtest", _("Backtest"), lead, body)


def render_backtest_report(result: Any, *, title: str | None = None, lang: str = "en") -> str:
    """One self-contained HTML page holding :func:`backtest_section`."""
    title = title or _("Backtest as of {d}").format(d=result.as_of)
    meta = _("As of {d}, horizon {h} days to {u}; data to {last}").format(
        d=result.as_of, h=result.horizon_days, u=result.until, last=result.last_order)
    return _page(title, meta, "", [backtest_section(result)], result.until, lang)
