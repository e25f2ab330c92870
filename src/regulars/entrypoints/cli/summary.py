"""The terminal summary of an analysis (Rich), and the customers-at-risk ranking it shows."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table
from rich.text import Text

from regulars.analytics.portfolio import Portfolio
from regulars.entrypoints.labels import (
    BUYER_RUNGS,
    SIGNALS,
    STATUSES,
    name,
    rung_names,
    status_names,
)
from regulars.i18n import (
    _,
    current_language,
    fmt_date,
    fmt_money,
    fmt_number,
    fmt_percent,
    ngettext,
)
from regulars.services.analysis import CONTACT_COLUMNS, Analysis, Frame

# Every warning signal but the one that asks to review the relationship: that one is about
# what we offer, not a sign that the customer is leaving.
RISK_SIGNALS = frozenset(SIGNALS) - {"review_relationship"}


def pct(x: float | None) -> str:
    """A share as the reader writes a percentage: ``25.6%``, ``25,6 %``."""
    return fmt_percent(x)


def money(x: float | None, currency: str | None = None) -> str:
    """An amount in the reader's language, with the business's currency when it is known."""
    return fmt_money(x, currency)


def signed(x: float | None, digits: int = 1) -> str:
    """A score with its sign, as NPS is written: ``+34.7``, ``−12,5``."""
    if x is None:
        return fmt_number(None)
    sign = "+" if x > 0 else "−" if x < 0 else ""
    return sign + fmt_number(abs(x), digits)


def label(names: dict[str, str], code: str) -> str:
    """A rung or a status as the terminal names it: its code in English (what a user filters
    the exported map on), the glossary's name in Russian and Estonian (the codes are English
    words)."""
    return code if current_language() == "en" else name(names, code)


def revenue_at_stake(customers: pa.Table) -> pa.ChunkedArray:
    """What a year of each customer is worth at their own rhythm: average order × orders a
    year (365 / typical gap; none, or 0, reads as 365), never more than their history
    supports: their revenue so far per year of their tenure (first order to as-of), counted
    as at least a year (a customer of three weeks has not shown a year's worth of orders).
    It ranks whom to call first when there is no money at stake."""
    gap = pc.fill_null(customers.column("typical_gap_days"), 365.0)
    gap = pc.if_else(pc.equal(gap, 0.0), 365.0, gap)
    year = pc.multiply(pc.fill_null(customers.column("avg_order_value"), 0.0), 365.0)
    rhythm = pc.divide(year, pc.max_element_wise(gap, 1.0))
    if not {"first_order_at", "last_order_at", "days_since_last_order",
            "revenue"} <= set(customers.column_names):
        return rhythm
    span = pc.divide(pc.cast(pc.milliseconds_between(customers.column("first_order_at"),
                                                     customers.column("last_order_at")),
                             pa.float64()), 86_400_000.0)
    tenure = pc.add(pc.fill_null(span, 0.0),
                    pc.fill_null(customers.column("days_since_last_order"), 0.0))
    supported = pc.divide(pc.multiply(pc.fill_null(customers.column("revenue"), 0.0), 365.0),
                          pc.max_element_wise(tenure, 365.0))
    return pc.min_element_wise(rhythm, supported)


def at_risk(customers: Frame | pa.Table, limit: int | None = None) -> list[dict[str, Any]]:
    """Customers still worth keeping who show they may leave: lapsing, or active with a
    warning signal. Lost customers are not at risk any more: they are for win-back.

    Ranked by ``value_at_risk`` when the map has predictions (issue 4), else by the revenue
    at stake (a year at the customer's own rhythm). The ranking reads a few columns of every
    customer; the evidence sentences are read (from a :class:`Frame`, written) for the
    ``limit`` customers listed only."""
    frame = customers if isinstance(customers, Frame) else Frame(customers)
    table = frame.unfinished
    status = table.column("status")
    signals = table.column("signals").combine_chunks()
    flat = pc.list_flatten(signals)
    warned_rows = pc.unique(pc.filter(pc.list_parent_indices(signals),
                                      pc.is_in(flat, pa.array(sorted(RISK_SIGNALS)))))
    warned = pc.is_in(pa.array(range(table.num_rows), pa.int64()), warned_rows.cast(pa.int64()))
    risky = pc.or_(pc.equal(status, "lapsing"),
                   pc.and_(pc.is_in(status, pa.array(["active", "won_back"])), warned))
    return _listed(frame, risky, limit)


def win_back(customers: Frame | pa.Table, limit: int | None = None) -> list[dict[str, Any]]:
    """Lost customers worth winning back, most money at stake first (as :func:`at_risk`):
    a valuable client silent for months belongs on a list, not nowhere."""
    frame = customers if isinstance(customers, Frame) else Frame(customers)
    lost = pc.fill_null(pc.equal(frame.unfinished.column("status"), "lost"), False)
    return _listed(frame, lost, limit)


def _listed(frame: Frame, risky: Any, limit: int | None) -> list[dict[str, Any]]:
    """The rows where ``risky`` holds, ranked, with their reasons in words."""
    table = frame.unfinished
    by_stake = "money_at_stake" in table.column_names
    by_model = not by_stake and "value_at_risk" in table.column_names
    stake = revenue_at_stake(table)
    key = (pc.fill_null(table.column("money_at_stake"), 0.0) if by_stake
           else pc.fill_null(table.column("value_at_risk"), 0.0) if by_model else stake)
    ranked = pa.table({"row": pa.array(range(table.num_rows), pa.int64()), "key": key,
                       "customer_id": table.column("customer_id")}).filter(risky)
    order = pc.sort_indices(ranked, [("key", "descending"), ("customer_id", "ascending")])
    if limit:
        order = order[:limit]
    chosen = pc.take(ranked.column("row"), order)
    rows = frame.take(chosen)
    # name, manager and contacts when the map has them (a customers table was given)
    contacts = [c for c in CONTACT_COLUMNS if c in table.column_names]
    cols = ["customer_id", *contacts, "rung", "status", "revenue", "avg_order_value",
            "typical_gap_days", "signals", "evidence", "evidence_text",
            *(["value_at_risk"] if by_model else []), *(["money_at_stake"] if by_stake else [])]
    rows = rows.select(cols).append_column("revenue_at_stake", pc.take(stake, chosen))
    out: list[dict[str, Any]] = rows.to_pylist()
    for r in out:
        # why they are at risk: the status and the signals, not the rung or traits
        items = json.loads(r.pop("evidence") or "[]")
        r["sentences"] = [
            text for item, text in zip(items, r.pop("evidence_text") or [], strict=False)
            if item.get("about") == "signal"
            or (item.get("about") == "status" and item.get("code") != "active")
        ]
    return out


def print_summary(console: Console, result: Analysis, *, top: int = 10,
                  currency: str | None = None) -> None:
    """The map in the terminal, in the current language; amounts in ``currency`` (the
    business's, ``Settings.currency``) when given."""
    p = result.portfolio
    day = fmt_date(result.as_of)
    console.rule(_("customer map as of {d} (the day of the last order; --as-of to change)"
                   ).format(d=day) if result.as_of_source == "last order"
                 else _("customer map as of {d}").format(d=day))

    rungs, statuses = rung_names(), status_names()
    ladder = Table(title=_("the loyalty ladder"))
    for i, col in enumerate((_("rung"), _("customers"), _("share"), _("revenue share"))):
        ladder.add_column(col, justify="left" if i == 0 else "right")
    for s in p.ladder.items:
        ladder.add_row(label(rungs, s.label), fmt_number(s.customers), pct(s.share),
                       pct(s.revenue_share))

    # the terminal names rungs and statuses as the at-risk lines do (:func:`label`)
    cross = Table(title=_("status by rung"))
    cross.add_column(_("rung"))
    for st in STATUSES:
        cross.add_column(label(statuses, st), justify="right")
    for rung in BUYER_RUNGS:
        cross.add_row(label(rungs, rung), *[fmt_number(p.status_by_rung.count(rung, st))
                                            for st in STATUSES])
    console.print(ladder, cross)

    console.print(_figures(p, currency))

    if result.not_evaluated:
        console.print(_("not evaluated:"), style="bold")
        for code, why in sorted(result.not_evaluated.items()):
            console.print(f"  {code}: {why}", style="dim", highlight=False)

    if result.predictions is not None:
        model = result.predictions.transactions
        console.print(_("predictions: {m} fitted on {n} customers (log-likelihood {ll})"
                        ).format(m=model.title, n=fmt_number(model.n_customers or 0),
                                 ll=fmt_number(model.log_likelihood or 0, 1)), highlight=False)
        for note in result.predictions.notes:
            console.print(f"  {note}", style="dim", highlight=False)

    risky = at_risk(result.customers, top)
    if risky:
        print_at_risk(console, risky, top, currency=currency)
    gone = win_back(result.customers, min(top, WIN_BACK_SHOWN))
    if gone:
        print_at_risk(console, gone, min(top, WIN_BACK_SHOWN), win_back=True, currency=currency)


def _figures(p: Portfolio, currency: str | None = None) -> Table:
    """The base in figures: metrics, revenue split, the Pareto check, concentration, NPS
    and retention."""
    m, rev, conc, nps, ret = p.metrics, p.revenue, p.concentration, p.nps, p.retention
    figures = Table(title=_("the base"), show_header=False)
    figures.add_column()
    figures.add_column(justify="right")
    rows = [
        (_("customers (buyers)"), f"{fmt_number(m.customers)} ({fmt_number(m.buyers)})"),
        (_("repeat-purchase rate"), pct(m.repeat_purchase_rate)),
        (_("average order value"), money(m.average_order_value, currency)),
        (_("orders per buyer"), fmt_number(m.purchase_frequency, 2)),
        (_("regulars: share of buyers / of revenue"),
         f"{pct(rev.regulars_customer_share)} / {pct(rev.regulars_revenue_share)}"),
        (_("loyal: share of buyers / of revenue"),
         f"{pct(rev.loyal_customer_share)} / {pct(rev.loyal_revenue_share)}"),
        (_("Pareto check (loyal ≤ {c} of buyers, > {r} of sales)").format(
            c=pct(rev.pareto_customer_share), r=pct(rev.pareto_revenue_share)),
         _("passed") if rev.pareto_passed else _("not met")),
        (_("largest customer's share of the last 12 months"),
         _("{share} ⚠ concentration alert").format(share=pct(conc.largest_share))
         if conc.alert else pct(conc.largest_share)),
        (_("top-10 share / HHI"), f"{pct(conc.top10_share)} / {fmt_number(conc.hhi_points)}"),
        (ngettext("NPS ({n} answer)", "NPS ({n} answers)", nps.responses if nps else 0).format(
            n=fmt_number(nps.responses if nps else 0)),
         signed(None if nps is None else nps.score)),
        (_("CRR {a} – {b}").format(a=fmt_date(ret.period.start), b=fmt_date(ret.period.end)),
         pct(None if ret.crr is None else ret.crr / 100)),
        (_("churn rate"), pct(ret.churn_rate)),
    ]
    for k, v in rows:
        figures.add_row(k, v)
    return figures


# Below this width the "why" column of a table gets a word or two a line and each customer
# takes twenty lines, so the reasons go under each customer's line instead.
WIDE_ENOUGH_FOR_TABLE = 120


WIN_BACK_SHOWN = 5
"""Lost customers listed for win-back under the at-risk list in the terminal."""


def print_at_risk(console: Console, risky: list[dict[str, Any]], top: int, *,
                  win_back: bool = False, currency: str | None = None) -> None:
    """The at-risk list: a table on a wide terminal, else a line per customer with the reasons
    indented under it. Whom to call is named when the map knows it: the customer's name
    beside the id, the manager, and a phone number (else an e-mail address). Amounts are in
    ``currency`` when given."""
    def cash(x: float | None) -> str:
        return money(x, currency)

    if win_back:
        title = _("lost, worth winning back, by money at stake (top {n})").format(
            n=fmt_number(top))
        stake_label, stake_key = _("money at stake"), (
            "money_at_stake" if "money_at_stake" in risky[0] else "revenue_at_stake")
    elif "money_at_stake" in risky[0]:
        title = _("customers at risk, by money at stake (top {n})").format(n=fmt_number(top))
        stake_label, stake_key = _("money at stake"), "money_at_stake"
    elif "value_at_risk" in risky[0]:
        title = _("customers at risk, by value at risk (top {n})").format(n=fmt_number(top))
        stake_label, stake_key = _("value at risk"), "value_at_risk"
    else:
        title = _("customers at risk, by revenue at stake (top {n})").format(n=fmt_number(top))
        stake_label, stake_key = _("a year's revenue"), "revenue_at_stake"
    named = any(r.get(c) for r in risky for c in CONTACT_COLUMNS)
    if console.width >= WIDE_ENOUGH_FOR_TABLE:
        table = Table(title=title)
        columns = [_("customer"), _("rung · status"), _("revenue so far"), stake_label]
        if named:
            columns += [_("manager"), _("phone · e-mail")]
        for col in columns:
            # a phone number or an address cut short is no use: it folds onto the next line
            table.add_column(col, overflow="fold")
        table.add_column(_("why"), min_width=30)
        for r in risky:
            cells = [_who(r), _rung_status(r), cash(r["revenue"]), cash(r[stake_key])]
            if named:
                cells += [r.get("manager") or "",
                          "\n".join(str(r[c]) for c in ("phone", "email") if r.get(c))]
            table.add_row(*cells, "\n".join(r["sentences"][:3]))
        console.print(table)
        return
    console.print(title, style="italic")
    if named:
        # the figures lose their labels to leave room for whom to call: one line says them
        legend = _("rung · status · revenue so far / {stake} · manager · phone or e-mail"
                   ).format(stake=stake_label)
        for line in textwrap.wrap(legend, width=max(console.width - 4, 20)):
            console.print(Text("    " + line, style="dim"))
    for i, r in enumerate(risky, start=1):
        head = (_named_line(console.width, i, r, cash(r[stake_key]), cash(r["revenue"]))
                if named else _line(i, r, stake_label, cash(r[stake_key]), cash(r["revenue"])))
        console.print(head)
        for sentence in r["sentences"][:3]:
            for line in textwrap.wrap(sentence, width=max(console.width - 4, 20)):
                console.print(Text("    " + line, style="dim"))


def _who(r: dict[str, Any]) -> str:
    """The customer's name with the id in brackets, or the id alone."""
    name = r.get("name")
    return f"{name} ({r['customer_id']})" if name else str(r["customer_id"])


def _rung_status(r: dict[str, Any]) -> str:
    return f"{label(rung_names(), r['rung'])} · {label(status_names(), r['status'])}"


def _line(i: int, r: dict[str, Any], stake_label: str, stake: str, revenue: str) -> Text:
    head = Text(f"{i:>2}. ")
    head.append(str(r["customer_id"]), style="bold")
    head.append(f"  {_rung_status(r)}  ")
    head.append(_("{label} {value}").format(label=_("revenue so far"), value=revenue))
    head.append("  ")
    head.append(_("{label} {value}").format(label=stake_label, value=stake), style="bold")
    return head


def _named_line(width: int, i: int, r: dict[str, Any], stake: str, revenue: str) -> Text:
    """One line of at most ``width`` characters: the name, the id, rung and status, the
    figures, the manager and a phone number or else an e-mail address. When it is too long
    the longest of the name, the manager and an e-mail address loses a character at a time
    (with an ellipsis), down to six; the id, the figures and a phone number are never cut."""
    contact = r.get("phone") or r.get("email") or ""
    parts: list[tuple[str, str, bool]] = [  # (text, style, may be shortened)
        (f"{i:>2}. ", "", False),
        (str(r.get("name") or ""), "bold", True),
        (f" ({r['customer_id']})" if r.get("name") else str(r["customer_id"]),
         "" if r.get("name") else "bold", False),
        (f"  {_rung_status(r)}  {revenue} / ", "", False),
        (stake, "bold", False),
        (f"  {r['manager']}" if r.get("manager") else "", "", True),
        (f"  {contact}" if contact else "", "", not r.get("phone")),
    ]
    sizes = [len(text) for text, _s, _c in parts]
    shortest = 6  # two spaces (or the name's first letters), two letters and an ellipsis
    excess = sum(sizes) - width
    while excess > 0:
        k = max((k for k, (_t, _s, cut) in enumerate(parts) if cut and sizes[k] > shortest),
                key=lambda k: sizes[k], default=None)
        if k is None:
            break
        sizes[k] -= 1
        excess -= 1
    head = Text()
    for (text, style, _c), size in zip(parts, sizes, strict=True):
        head.append(text if size == len(text) else text[:size - 1] + "…", style=style or None)
    # still too long (a very narrow terminal): the terminal wraps it, the number stays whole
    return head
