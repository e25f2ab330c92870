"""Evidence as sentences a shop owner understands.

Analytics writes structured evidence (``{"about": "status", "code": "lapsing",
"typical_gap_days": 30, "days_since_last_order": 52, ...}``); this module says the same thing in
words, through the one gettext-ready place (:mod:`regulars.i18n`). Every code that analytics can
raise has a sentence here; a test checks that none is missing.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from regulars import i18n

Item = Mapping[str, Any]

_memos: list[dict[str, str]] = []
"""Translations already looked up, while :func:`sentences_of` runs (else empty)."""


def _(message: str) -> str:
    """:func:`regulars.i18n._`, remembered for the length of one :func:`sentences_of` call.

    A lookup reads the language from the environment (about half the time of a sentence); a
    million customers need only a few dozen distinct messages. The memory lasts one call, so a
    language changed between calls is honoured.
    """
    if not _memos:
        return i18n._(message)
    memo = _memos[-1]
    out = memo.get(message)
    if out is None:
        out = memo[message] = i18n._(message)
    return out


def _days(x: Any) -> str:
    return "?" if x is None else f"{float(x):.0f}"


def _pct(x: Any) -> str:
    return "?" if x is None else f"{100 * float(x):.0f} %"


def _num(x: Any) -> str:
    if x is None:
        return "?"
    return f"{float(x):,.2f}".rstrip("0").rstrip(".")


def _rhythm(e: Item) -> str:
    if e.get("gap_source") == "base":
        return _("the usual gap of the whole base is {g} days (too few orders for a rhythm of "
                 "their own)").format(g=_days(e.get("typical_gap_days")))
    return _("usual gap {g} days").format(g=_days(e.get("typical_gap_days")))


LOYAL_EVIDENCE_WORDS: dict[str, Callable[[], str]] = {
    "frequency_above_median": lambda: _("orders more often than most"),
    "aov_above_median": lambda: _("spends more per order than most"),
    "tenure": lambda: _("a customer for over a year"),
    "full_price": lambda: _("mostly buys without a discount"),
    "addons": lambda: _("uses add-on services"),
    "promoter": lambda: _("would recommend us (NPS 9–10)"),
    "referrer": lambda: _("has referred others"),
}


def _attachment(e: Item) -> str:
    found = [LOYAL_EVIDENCE_WORDS.get(c, lambda c=c: c)() for c in e.get("evidence") or []]
    return ", ".join(found) if found else _("no sign of attachment yet")


BLOCKER_WORDS: dict[str, Callable[[], str]] = {
    "lost": lambda: _("lost"),
    "discount_driven": lambda: _("buys mostly on discount"),
    "detractor": lambda: _("would not recommend us (a detractor)"),
}


def _unevaluated(e: Item) -> str:
    """What could not be looked at for lack of data, as a sentence (or nothing)."""
    codes = e.get("not_evaluated") or []
    if not codes:
        return ""
    words = [EVIDENCE_DATA_WORDS.get(c, lambda c=c: c)() for c in codes]
    return " " + _("Not evaluated for lack of data: {what}.").format(what=", ".join(words))


EVIDENCE_DATA_WORDS: dict[str, Callable[[], str]] = {
    "full_price": lambda: _("discounts"),
    "addons": lambda: _("add-on services"),
    "promoter": lambda: _("NPS answers"),
    "referrer": lambda: _("referrals"),
}


def _rung(e: Item) -> str:
    code, n = e["code"], e.get("orders")
    if code == "prospect":
        return _("Prospect: known to us, no purchase yet.")
    if code == "newcomer":
        return _("Newcomer: one order so far.")
    if code == "returning":
        return _("Returning: {n} orders; a regular from {m}.").format(
            n=n, m=e.get("regular_min_orders"))
    if code == "regular":
        blocked = e.get("blocked_by") or []
        if blocked:
            why = ", ".join(BLOCKER_WORDS.get(c, lambda c=c: c)() for c in blocked)
            until = e.get("loyal_until")
            if until:
                text = _("Regular: {n} orders; was loyal ({what}) until {month}, but is "
                         "{why} now.").format(n=n, what=_attachment(e), month=str(until)[:7],
                                              why=why)
            else:
                text = _("Regular: {n} orders; attached ({what}), but not loyal: {why}."
                         ).format(n=n, what=_attachment(e), why=why)
        else:
            text = _("Regular: {n} orders, but only {k} of {need} signs of attachment "
                     "({what}).").format(n=n, k=len(e.get("evidence") or []),
                                         need=e.get("evidence_needed"), what=_attachment(e))
        return text + _unevaluated(e)
    if code == "loyal":
        return _("Loyal: {n} orders and attached: {what}.").format(
            n=n, what=_attachment(e)) + _unevaluated(e)
    return _("Advocate: loyal ({what}), recommends us and has brought others.").format(
        what=_attachment(e))


def _status(e: Item) -> str:
    code, since = e["code"], _days(e.get("days_since_last_order"))
    if code == "active":
        return _("Active: last order {d} days ago; {r}.").format(d=since, r=_rhythm(e))
    if code == "lapsing":
        return _("Lapsing: {r}, last order {d} days ago (lapsing after {a}).").format(
            r=_rhythm(e), d=since, a=_days(e.get("lapsing_after_days")))
    if code == "lost":
        by = e.get("by")
        if by == "max_days":
            why = _("over {m} days without an order").format(m=_days(e.get("lost_after_days")))
        elif by == "p_alive":
            why = _("the model gives {p} chance they still buy").format(p=_pct(e.get("p_alive")))
        else:
            why = _("{r}; lost after {m} days").format(r=_rhythm(e),
                                                       m=_days(e.get("lost_after_days")))
        return _("Lost: last order {d} days ago, {why}.").format(d=since, why=why)
    return _("Won back: came back within the last {w} days after {g} days away (lost after "
             "{m}), and buying again.").format(
        w=e.get("came_back_within_days"), g=_days(e.get("longest_gap_days")),
        m=_days(e.get("lost_after_days")))


def _signal(e: Item) -> str:
    code = e["code"]
    if code == "shrinking_orders":
        return _shrinking_orders(e)
    if code == "widening_gaps":
        return _("Gaps are widening: {r}, but the last gap was {g} days and it has been {d} "
                 "days now.").format(r=_rhythm(e), g=_days(e.get("last_gap_days")),
                                     d=_days(e.get("days_since_last_order")))
    if code == "overdue":
        # the rhythm in brackets: its short form, without brackets of its own
        rhythm = (_("the usual gap of the whole base, {g} days").format(
            g=_days(e.get("typical_gap_days"))) if e.get("gap_source") == "base"
            else _rhythm(e))
        return _("An order is overdue by {o} days ({r}); a reminder is due.").format(
            o=_days(e.get("days_overdue")), r=rhythm)
    if code == "slower_payments":
        return _slower_payments(e)
    if code == "dropped_addons":
        names = e.get("addons") or []
        return _("Stopped using {what}, which they used in most earlier orders.").format(
            what=", ".join(names) if isinstance(names, list) else names)
    if code == "complaints_returns":
        return _complaints_returns(e)
    if code == "unresponsive":
        return _("Unresponsive: the last {n} offers got no answer within {d} days.").format(
            n=e.get("unanswered"), d=e.get("answer_within_days"))
    if code == "detractor":
        if e.get("by") == "drop":
            return _("Unhappy: NPS fell from {a} to {b}.").format(
                a=e.get("previous_nps"), b=e.get("latest_nps"))
        return _("Unhappy: latest NPS answer {n} (6 or less).").format(n=e.get("latest_nps"))
    if code == "churn_risk":
        return _("At risk of leaving: the model gives {p} chance they are still a customer, "
                 "and they are valuable (revenue {r}).").format(p=_pct(e.get("p_alive")),
                                                              r=_num(e.get("revenue")))
    if code == "review_relationship":
        words = {
            "volume_falling": _("volume falling"),
            "loss_making_terms": _("asks for loss-making terms"),
            "deepening_discounts": _("asks for ever deeper discounts"),
            "cost_to_serve_rising": _("costs more to serve"),
            "zero_amount_orders": _("unpaid trial work"),
        }
        reasons = [words.get(r, r) for r in e.get("reasons") or []]
        return _("Worth reviewing the relationship: {why}.").format(why=", ".join(reasons))
    return _generic(e)


def _shrinking_orders(e: Item) -> str:
    """Each order smaller than the last, or the recent average below the earlier one."""
    if e.get("by") == "each_smaller":
        return _("Orders are shrinking: each of the last {n} was smaller than the one "
                 "before.").format(n=e.get("recent_orders"))
    return _("Orders are shrinking: the last {n} average {a}, against {b} before "
             "({p} of it).").format(n=e.get("recent_orders"), a=_num(e.get("recent_avg")),
                                    b=_num(e.get("earlier_avg")),
                                    p=_pct(_ratio(e.get("recent_avg"), e.get("earlier_avg"))))


def _slower_payments(e: Item) -> str:
    """Invoices overdue now, or delays growing (the latest still unpaid, or paid later)."""
    if e.get("by") == "overdue_now":
        return _("Payments: {n} invoice(s) overdue now, up to {d} days.").format(
            n=e.get("overdue_invoices"), d=_days(e.get("max_days_overdue")))
    if e.get("last_delay_days") is None:
        return _("Payments are slowing: paid {a} days late before, and the latest invoice "
                 "is not paid yet.").format(a=_days(e.get("first_delay_days")))
    return _("Payments are slowing: delay grew from {a} to {b} days over the last {n} "
             "invoices.").format(a=_days(e.get("first_delay_days")),
                                 b=_days(e.get("last_delay_days")),
                                 n=e.get("invoices_considered"))


def _complaints_returns(e: Item) -> str:
    """A rising return rate, or complaints and returns in the window."""
    if e.get("by") == "rising_return_rate":
        return _("Returns are rising: {a} of recent orders returned, against {b} "
                 "before.").format(a=_pct(e.get("recent_return_rate")),
                                   b=_pct(e.get("earlier_return_rate")))
    return _("{c} complaint(s) and {r} return(s) in the last {w} days.").format(
        c=e.get("recent_complaints") or 0, r=e.get("recent_returns") or 0,
        w=e.get("window_days"))


def _trait(e: Item) -> str:
    code = e["code"]
    if code == "golden":
        return _("Golden: number {k} by revenue; the top customers up to here make {s} of "
                 "revenue.").format(k=e.get("revenue_rank"), s=_pct(e.get("cumulative_share")))
    if code == "small":
        return _("Small: among the customers who together make only {s} of revenue.").format(
            s=_pct(e.get("share")))
    if code == "discount_driven":
        return _("Discount-driven: {k} of {n} orders used a discount.").format(
            k=e.get("discounted_orders"), n=e.get("orders"))
    if code == "innovator":
        return _("Innovator: new products in {k} of {n} orders.").format(
            k=e.get("new_product_orders"), n=e.get("orders"))
    if code == "focused":
        return _("Focused: always buys from {c}.").format(c=e.get("category") or _("one category"))
    if code == "diverse":
        return _("Diverse: buys from {n} categories.").format(n=e.get("categories"))
    if code == "problem":
        return _("Problem: {k} complaints and returns in {n} orders, {f}× the usual "
                 "rate.").format(k=e.get("issues"), n=e.get("orders"),
                                 f=_num(_ratio(e.get("issues_per_order"),
                                               e.get("base_issues_per_order"))))
    if code in ("promoter", "passive", "detractor"):
        names = {"promoter": _("Promoter"), "passive": _("Passive"), "detractor": _("Detractor")}
        return _("{name}: latest NPS answer {n}.").format(name=names[code], n=e.get("latest_nps"))
    return _generic(e)


def _ratio(a: Any, b: Any) -> float | None:
    return None if a is None or not b else float(a) / float(b)


def _generic(e: Item) -> str:
    facts = ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("about", "code"))
    return f"{e.get('code')}: {facts}"


def _stake(e: Item) -> str:
    head = _("Money at stake over {h} days: {m} of the {x} their rhythm promises (about {o} "
             "orders of {v}).").format(
        h=e.get("horizon_days"), m=_num(e.get("money_at_stake")),
        x=_num(e.get("expected_revenue")), o=_num(e.get("expected_orders")),
        v=_num(e.get("order_value")))
    if e.get("basis") == "history":
        similar, back = e.get("similar") or 0, e.get("came_back") or 0
        return head + " " + _("Of {n} customers in the same situation before, {k} did not "
                              "order within {h} days, and they brought {s} less than their "
                              "rhythm promised on average.").format(
            n=similar, k=similar - back, h=e.get("horizon_days"), s=_pct(e.get("shortfall")))
    return head + " " + _("Too little history to learn from: the status gives {p} chance "
                          "that they do not continue.").format(p=_pct(e.get("p_gone")))


RENDERERS: dict[str, Callable[[Item], str]] = {
    "rung": _rung,
    "status": _status,
    "signal": _signal,
    "trait": _trait,
    "stake": _stake,
}


def sentence(item: Item) -> str:
    """One evidence object as one sentence."""
    render = RENDERERS.get(str(item.get("about")), _generic)
    try:
        return render(item)
    except (KeyError, TypeError, ValueError):
        return _generic(item)


def sentences_of(evidence: Iterable[str | None]) -> list[list[str]]:
    """The sentences of each evidence JSON text (a map's ``evidence`` column; null or empty
    text has none)."""
    _memos.append({})
    # millions of small lists and dicts and no reference cycle: the cyclic garbage collector
    # would only walk them again and again (a tenth of the time, more in a large process)
    collecting = gc.isenabled()
    gc.disable()
    try:
        return [[sentence(i) for i in orjson.loads(e)] if e else [] for e in evidence]
    finally:
        if collecting:
            gc.enable()
        _memos.pop()
