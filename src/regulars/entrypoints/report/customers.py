"""The lists of customers in the report: those at risk, and the lost worth winning back.
Both are the same table, ranked the same way, with the evidence behind every signal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from regulars.entrypoints.labels import name, rung_names, signal_names, status_names
from regulars.entrypoints.report.format import money, num
from regulars.entrypoints.report.html import Markup, empty, macros, section, table
from regulars.entrypoints.report.html import translate as _
from regulars.entrypoints.report.html import translate_plural as ngettext

__all__ = ["customers_section", "row_value"]


def row_value(row: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` the row has a value for, else None."""
    for key in keys:
        if row.get(key) is not None:
            return row[key]
    return None


def _ranking(rows: Sequence[Mapping[str, Any]],
             win_back: bool) -> tuple[tuple[str, ...], str, str, str]:
    """What the list is ranked by (the row keys), its lead, caption and column name."""
    by_stake = any(row_value(r, "money_at_stake") is not None for r in rows)
    by_model = not by_stake and any(row_value(r, "value_at_risk") is not None for r in rows)
    if by_stake:
        key: tuple[str, ...] = ("money_at_stake",)
        lead = _("Ranked by money at stake: the revenue each customer's own rhythm promises "
                 "over the coming months, times the share of it that customers in the same "
                 "situation did not bring in this business's history; with the evidence.")
        caption = _("Customers at risk, most money at stake first")
        column = _("Money at stake")
    elif by_model:
        key = ("value_at_risk",)
        lead = _("Ranked by value at risk: the value over the coming months that is lost if "
                 "the customer has already gone (from the fitted model), with the evidence "
                 "behind each signal.")
        caption = _("Customers at risk, largest value at risk first")
        column = _("Value at risk")
    else:
        key = ("revenue_at_stake", "revenue")
        lead = _("Ranked by the revenue at stake, with the evidence behind each signal.")
        caption = _("Customers at risk, largest revenue at stake first")
        column = _("Revenue at stake")
    if win_back:
        lead = _("Lost customers, most money at stake first: what their own rhythm promised, "
                 "for one win-back contact each (article 001: at most 1-2 a year).")
        caption = _("Lost customers, most money at stake first")
    return key, lead, caption, column


def customers_section(rows: Sequence[Mapping[str, Any]], limit: int, *,
                      win_back: bool = False, currency: str | None = None) -> Markup:
    """The customers at risk, or (``win_back``) the lost customers worth winning back: at most
    ``limit`` of them, most at stake first, ties by id; amounts in ``currency``."""
    section_id = "win-back" if win_back else "at-risk"
    heading = _("Lost, worth winning back") if win_back else _("Customers at risk")
    key, lead, caption, column = _ranking(rows, win_back)
    if not rows:
        return section(section_id, heading, lead, empty(
            _("No lost customer to win back.") if win_back
            else _("No customer shows a warning signal.")))

    def stake(row: Mapping[str, Any]) -> float:
        value = row_value(row, *key)
        return float(value) if value is not None else 0.0

    ranked = sorted(rows, key=lambda r: (-stake(r), str(r.get("customer_id", ""))))[:limit]
    top = max(stake(r) for r in ranked) or 1.0
    rungs, statuses, signals = rung_names(_), status_names(_), signal_names(_)
    # whom to call, when the customers table says it
    reachable = any(row_value(r, "manager", "phone", "email") is not None for r in ranked)
    cell = macros("customers.html")
    body = []
    for i, row in enumerate(ranked, start=1):
        sentences = row_value(row, "sentences", "evidence") or ()
        standing = f"{name(rungs, row.get('rung'))} · {name(statuses, row.get('status'))}"
        body.append([
            str(i),
            cell.who(row_value(row, "name"), row.get("customer_id", "")),
            *([row_value(row, "manager") or "",
               cell.contacts([row[k] for k in ("phone", "email") if row_value(row, k)])]
              if reachable else []),
            standing,
            money(row_value(row, "revenue"), currency),
            # the bar's width is CSS: a plain number whatever the language
            cell.stake(money(stake(row), currency, 0), f"{100 * stake(row) / top:.1f}"),
            cell.chips([name(signals, str(s)) for s in row.get("signals") or ()]),
            cell.evidence([sentences] if isinstance(sentences, str) else list(sentences)),
        ])
    listed = table(
        caption,
        [
            _("#"),
            _("Customer"),
            *([_("Manager"), _("Phone · e-mail")] if reachable else []),
            _("Rung · status"),
            # beside a model's value at risk, what the customer has actually spent
            _("Revenue so far"),
            column,
            _("Signals"),
            _("Evidence"),
        ],
        body,
        numeric_from=99,
    )
    hidden = len(rows) - limit
    more = (empty(ngettext("{n} more not shown.", "{n} more not shown.", hidden).format(
                n=num(hidden)))
            if hidden > 0 else Markup(""))
    return section(section_id, heading, lead, listed + more)
