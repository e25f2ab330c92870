"""Evidence as sentences a shop owner understands, in the reader's language.

Analytics writes structured evidence (``{"about": "status", "code": "lapsing",
"typical_gap_days": 30, "days_since_last_order": 52, ...}``); this module says the same thing in
words, through :mod:`regulars.i18n`: the sentence templates from the catalogues, counts with
their plural forms (``ngettext``: 1 день, 2 дня, 5 дней) and numbers, shares, amounts and months
written the language's way. Every code that analytics can raise has a sentence here; a test
checks that none is missing.

The sentences are written when they are read, in the language of that moment
(:func:`regulars.i18n.current_language`): the same evidence reads in Russian inside
``use_language("ru")`` and in English outside it, in one process.

How the sentences are built, so that each language can write them naturally: a count that
decides a word's form is the ``n`` of an ``ngettext`` over the whole sentence or clause, or a
noun phrase written whole (``{orders}``: "12 orders", "12 заказов") put where the sentence
needs its plain form; days are written as such a phrase ("52 days", "52 дня") and put where
the plain form fits (``через {a}``, ``{a} назад``, ``перерыв — {g}``). Lists join whole
clauses or nouns only.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from datetime import date
from typing import Any

import orjson

from regulars import i18n
from regulars.i18n import N_, fmt_list, fmt_money, fmt_month, fmt_number, fmt_percent

Item = Mapping[str, Any]

_MEMO: dict[str, dict[str, str]] = {}
"""Per language, the translations already looked up: a million customers need a few dozen
distinct messages, and a catalogue lookup costs as much as the rest of a sentence."""

_PLURAL_MEMO: dict[str, dict[tuple[str, int], str]] = {}
"""Per language, the plural form already chosen for (singular, count class)."""

_currency: ContextVar[str | None] = ContextVar("regulars_evidence_currency", default=None)
"""The ISO 4217 code amounts are written in (None: plain numbers)."""


def _(message: str) -> str:
    """:func:`regulars.i18n._`, remembered per language."""
    lang = i18n.current_language()
    memo = _MEMO.get(lang)
    if memo is None:
        memo = _MEMO.setdefault(lang, {})
    out = memo.get(message)
    if out is None:
        out = memo[message] = i18n._(message)
    return out


def _count_class(n: int) -> int:
    """A stand-in for ``n`` with the same plural form in ru, et and en: the Russian rule reads
    ``n % 10`` and ``n % 100`` only, the Estonian and English ones whether ``n`` is 1, so every
    count from 100 up has the form of ``100 + n % 100`` (and the memo stays small)."""
    return n if 0 <= n < 100 else 100 + abs(n) % 100


def ngettext(singular: str, plural: str, n: int) -> str:
    """:func:`regulars.i18n.ngettext`, remembered per language and count class."""
    lang = i18n.current_language()
    memo = _PLURAL_MEMO.get(lang)
    if memo is None:
        memo = _PLURAL_MEMO.setdefault(lang, {})
    key = (singular, _count_class(n))
    out = memo.get(key)
    if out is None:
        out = memo[key] = i18n.ngettext(singular, plural, key[1])
    return out


def _int(x: Any) -> int:
    return round(float(x))


_PHRASES: dict[str, dict[tuple[str, int], str]] = {}
"""Per language, counts already written with their word ("52 дня"): days and orders repeat
across a million customers, and writing one costs a plural lookup and a number format."""


def _phrase(kind: str, x: Any, write: Callable[[int], str]) -> str:
    if x is None:
        return "?"
    n = _int(x)
    if not 0 <= n < 100_000:
        return write(n)
    lang = i18n.current_language()
    memo = _PHRASES.get(lang)
    if memo is None:
        memo = _PHRASES.setdefault(lang, {})
    key = (kind, n)
    out = memo.get(key)
    if out is None:
        out = memo[key] = write(n)
    return out


def _num(x: Any) -> str:
    """A whole number (a count, a rank, an NPS answer)."""
    return _phrase("n", x, fmt_number)


def _days(x: Any) -> str:
    """A number of days with its word: "52 days", "52 дня", "52 päeva"."""
    return _phrase("days", x, lambda n: ngettext("{n} day", "{n} days", n).format(
        n=fmt_number(n)))


def _ago(x: Any) -> str:
    """How long ago: "52 days ago", "52 дня назад", "today"."""
    return _phrase("ago", x, lambda n: _("today") if n == 0 else ngettext(
        "{n} day ago", "{n} days ago", n).format(n=fmt_number(n)))


def _orders(x: Any) -> str:
    """A number of orders with its word: "12 orders", "12 заказов", "12 tellimust"."""
    return _phrase("orders", x, lambda n: ngettext("{n} order", "{n} orders", n).format(
        n=fmt_number(n)))


def _pct(x: Any) -> str:
    return "?" if x is None else fmt_percent(float(x), 0)


def _money(x: Any) -> str:
    """An amount in the business's currency: whole from 100 up (``1 235 €``), else with its
    cents (``12,50 €``)."""
    if x is None:
        return "?"
    value = float(x)
    return fmt_money(value, _currency.get(), 0 if abs(value) >= 100 else None)


def _rhythm(e: Item) -> str:
    if e.get("gap_source") == "base":
        return _("the usual gap of the whole base is {g} (too few orders for a rhythm of "
                 "their own)").format(g=_days(e.get("typical_gap_days")))
    return _("usual gap {g}").format(g=_days(e.get("typical_gap_days")))


LOYAL_EVIDENCE_WORDS: dict[str, str] = {
    "frequency_above_median": N_("orders more often than most"),
    "aov_above_median": N_("spends more per order than most"),
    "tenure": N_("a customer for over a year"),
    "full_price": N_("mostly buys without a discount"),
    "addons": N_("uses add-on services"),
    "promoter": N_("would recommend us (NPS 9–10)"),
    "referrer": N_("has referred others"),
}


def _attachment(e: Item) -> str:
    found = [_(LOYAL_EVIDENCE_WORDS[c]) if c in LOYAL_EVIDENCE_WORDS else c
             for c in e.get("evidence") or []]
    return ", ".join(found) if found else _("no sign of attachment yet")


BLOCKER_WORDS: dict[str, str] = {
    "lost": N_("counted as lost"),
    "discount_driven": N_("buys mostly on discount"),
    "detractor": N_("would not recommend us (a detractor)"),
}


def _unevaluated(e: Item) -> str:
    """What could not be looked at for lack of data, as a sentence (or nothing)."""
    codes = e.get("not_evaluated") or []
    if not codes:
        return ""
    words = [_(EVIDENCE_DATA_WORDS[c]) if c in EVIDENCE_DATA_WORDS else c for c in codes]
    return " " + _("Not evaluated for lack of data: {what}.").format(what=", ".join(words))


EVIDENCE_DATA_WORDS: dict[str, str] = {
    "full_price": N_("discounts"),
    "addons": N_("add-on services"),
    "promoter": N_("NPS answers"),
    "referrer": N_("referrals"),
}


def _month(x: Any) -> str:
    try:
        return fmt_month(date.fromisoformat(str(x)[:7] + "-01"))
    except ValueError:
        return str(x)


def _rung(e: Item) -> str:
    code = e["code"]
    if code == "prospect":
        return _("Prospect: known to us, no purchase yet.")
    if code == "newcomer":
        return _("Newcomer: one order so far.")
    orders = _orders(e.get("orders"))
    if code == "returning":
        return _("Returning: {orders}; a regular from {m} orders.").format(
            orders=orders, m=_num(e.get("regular_min_orders")))
    if code == "regular":
        blocked = e.get("blocked_by") or []
        if blocked:
            why = ", ".join(_(BLOCKER_WORDS[c]) if c in BLOCKER_WORDS else c for c in blocked)
            until = e.get("loyal_until")
            if until:
                text = _("Regular: {orders}; was loyal ({what}) until {month}, but not any "
                         "more: {why}.").format(orders=orders, what=_attachment(e),
                                                month=_month(until), why=why)
            else:
                text = _("Regular: {orders}; attached ({what}), but not loyal: {why}."
                         ).format(orders=orders, what=_attachment(e), why=why)
        else:
            text = _("Regular: {orders}, but only {k} of {need} signs of attachment "
                     "({what}).").format(orders=orders, k=_num(len(e.get("evidence") or [])),
                                         need=_num(e.get("evidence_needed")),
                                         what=_attachment(e))
        return text + _unevaluated(e)
    if code == "loyal":
        return _("Loyal: {orders} and attached: {what}.").format(
            orders=orders, what=_attachment(e)) + _unevaluated(e)
    return _("Advocate: loyal ({what}), recommends us and has brought others.").format(
        what=_attachment(e))


def _status(e: Item) -> str:
    code, ago = e["code"], _ago(e.get("days_since_last_order"))
    if code == "active":
        return _("Active: last order {ago}; {r}.").format(ago=ago, r=_rhythm(e))
    if code == "lapsing":
        return _("Lapsing: {r}, last order {ago} (lapsing after {a}).").format(
            r=_rhythm(e), ago=ago, a=_days(e.get("lapsing_after_days")))
    if code == "lost":
        by = e.get("by")
        if by == "max_days":
            m = e.get("lost_after_days")
            n = 0 if m is None else _int(m)
            why = ngettext("over {m} day without an order", "over {m} days without an order",
                      n).format(m=_num(m))
        elif by == "p_alive":
            why = _("the model gives {p} chance they still buy").format(p=_pct(e.get("p_alive")))
        else:
            why = _("{r}; lost after {m}").format(r=_rhythm(e),
                                                  m=_days(e.get("lost_after_days")))
        return _("Lost: last order {ago}, {why}.").format(ago=ago, why=why)
    return _("Won back: came back after {g} away (lost after {m}) and is buying again; "
             "won back counts for {w} after the return.").format(
        w=_days(e.get("came_back_within_days")), g=_days(e.get("longest_gap_days")),
        m=_days(e.get("lost_after_days")))


REVIEW_WORDS: dict[str, str] = {
    "volume_falling": N_("the volume is falling"),
    "loss_making_terms": N_("asks for loss-making terms"),
    "deepening_discounts": N_("asks for ever deeper discounts"),
    "cost_to_serve_rising": N_("costs more and more to serve"),
    "zero_amount_orders": N_("takes orders at no charge (unpaid trial work)"),
}


def _signal(e: Item) -> str:
    code = e["code"]
    if code == "shrinking_orders":
        return _shrinking_orders(e)
    if code == "widening_gaps":
        return _("Gaps are widening: {r}, but the last gap was {g} and it has been {d} "
                 "now.").format(r=_rhythm(e), g=_days(e.get("last_gap_days")),
                                d=_days(e.get("days_since_last_order")))
    if code == "overdue":
        # the rhythm in brackets: its short form, without brackets of its own
        rhythm = (_("the usual gap of the whole base, {g}").format(
            g=_days(e.get("typical_gap_days"))) if e.get("gap_source") == "base"
            else _rhythm(e))
        return _("An order is overdue by {o} ({r}); a reminder is due.").format(
            o=_days(e.get("days_overdue")), r=rhythm)
    if code == "slower_payments":
        return _slower_payments(e)
    if code == "dropped_addons":
        names = e.get("addons") or []
        return _("Stopped using {what}, which they used in most earlier orders.").format(
            what=fmt_list([str(a) for a in names]) if isinstance(names, list) else names)
    if code == "complaints_returns":
        return _complaints_returns(e)
    if code == "unresponsive":
        n = e.get("unanswered")
        return ngettext("Unresponsive: the last {n} offer got no answer within {d}.",
                   "Unresponsive: the last {n} offers got no answer within {d}.",
                   0 if n is None else _int(n)).format(
            n=_num(n), d=_days(e.get("answer_within_days")))
    if code == "detractor":
        if e.get("by") == "drop":
            return _("Unhappy: NPS fell from {a} to {b}.").format(
                a=_num(e.get("previous_nps")), b=_num(e.get("latest_nps")))
        return _("Unhappy: latest NPS answer {n} (6 or less).").format(
            n=_num(e.get("latest_nps")))
    if code == "churn_risk":
        return _("At risk of leaving: the model gives {p} chance they are still a customer, "
                 "and they are valuable (revenue {r}).").format(p=_pct(e.get("p_alive")),
                                                              r=_money(e.get("revenue")))
    if code == "review_relationship":
        reasons = [_(REVIEW_WORDS[r]) if r in REVIEW_WORDS else str(r)
                   for r in e.get("reasons") or []]
        return _("Worth reviewing the relationship: {why}.").format(why=", ".join(reasons))
    return _generic(e)


def _shrinking_orders(e: Item) -> str:
    """Each order smaller than the last, or the recent average below the earlier one."""
    if e.get("by") == "each_smaller":
        return _("Orders are shrinking: each of the last {n} was smaller than the one "
                 "before.").format(n=_num(e.get("recent_orders")))
    return _("Orders are shrinking: the last {n} average {a}, against {b} before "
             "({p} of it).").format(n=_num(e.get("recent_orders")),
                                    a=_money(e.get("recent_avg")),
                                    b=_money(e.get("earlier_avg")),
                                    p=_pct(_ratio(e.get("recent_avg"), e.get("earlier_avg"))))


def _slower_payments(e: Item) -> str:
    """Invoices overdue now, or delays growing (the latest still unpaid, or paid later)."""
    if e.get("by") == "overdue_now":
        n = e.get("overdue_invoices")
        return ngettext("Payments: {n} invoice is overdue now, the longest by {d}.",
                   "Payments: {n} invoices are overdue now, the longest by {d}.",
                   0 if n is None else _int(n)).format(
            n=_num(n), d=_days(e.get("max_days_overdue")))
    if e.get("last_delay_days") is None:
        return _("Payments are slowing: paid {a} late before, and the latest invoice is not "
                 "paid yet.").format(a=_days(e.get("first_delay_days")))
    n = e.get("invoices_considered")
    return ngettext("Payments are slowing: over the last {n} invoice the delay grew: it was {a}, "
               "now it is {b}.",
               "Payments are slowing: over the last {n} invoices the delay grew: it was {a}, "
               "now it is {b}.", 0 if n is None else _int(n)).format(
        a=_days(e.get("first_delay_days")), b=_days(e.get("last_delay_days")), n=_num(n))


def _complaints_returns(e: Item) -> str:
    """A rising return rate, or complaints and returns in the window."""
    if e.get("by") == "rising_return_rate":
        return _("Returns are rising: {a} of recent orders returned, against {b} "
                 "before.").format(a=_pct(e.get("recent_return_rate")),
                                   b=_pct(e.get("earlier_return_rate")))
    c, r = _int(e.get("recent_complaints") or 0), _int(e.get("recent_returns") or 0)
    return _("Complaints and returns in the last {w}: {c} and {r}.").format(
        w=_days(e.get("window_days")),
        c=ngettext("{n} complaint", "{n} complaints", c).format(n=fmt_number(c)),
        r=ngettext("{n} return", "{n} returns", r).format(n=fmt_number(r)))


NPS_WORDS: dict[str, str] = {
    "promoter": N_("Promoter: latest NPS answer {n}."),
    "passive": N_("Passive: latest NPS answer {n}."),
    "detractor": N_("Detractor: latest NPS answer {n}."),
}


def _trait(e: Item) -> str:
    code = e["code"]
    if code == "golden":
        return _("Golden: number {k} by revenue; the top customers up to here make {s} of "
                 "revenue.").format(k=_num(e.get("revenue_rank")),
                                    s=_pct(e.get("cumulative_share")))
    if code == "small":
        return _("Small: among the customers who together make only {s} of revenue.").format(
            s=_pct(e.get("share")))
    n = e.get("orders")
    count = 0 if n is None else _int(n)
    if code == "discount_driven":
        return ngettext("Discount-driven: {k} of {n} order used a discount.",
                   "Discount-driven: {k} of {n} orders used a discount.", count).format(
            k=_num(e.get("discounted_orders")), n=_num(n))
    if code == "innovator":
        return ngettext("Innovator: new products in {k} of {n} order.",
                   "Innovator: new products in {k} of {n} orders.", count).format(
            k=_num(e.get("new_product_orders")), n=_num(n))
    if code == "focused":
        category = e.get("category")
        if not category:
            return _("Focused: always buys from one category.")
        return _("Focused: always buys from {c}.").format(c=category)
    if code == "diverse":
        k = e.get("categories")
        return ngettext("Diverse: buys from {n} category.", "Diverse: buys from {n} categories.",
                   0 if k is None else _int(k)).format(n=_num(k))
    if code == "problem":
        ratio = _ratio(e.get("issues_per_order"), e.get("base_issues_per_order"))
        return ngettext("Problem: {k} complaints and returns in {n} order, {f}× the usual rate.",
                   "Problem: {k} complaints and returns in {n} orders, {f}× the usual rate.",
                   count).format(k=_num(e.get("issues")), n=_num(n),
                                 f="?" if ratio is None else fmt_number(ratio, 1))
    if code in NPS_WORDS:
        return _(NPS_WORDS[code]).format(n=_num(e.get("latest_nps")))
    return _generic(e)


def _ratio(a: Any, b: Any) -> float | None:
    return None if a is None or not b else float(a) / float(b)


def _generic(e: Item) -> str:
    facts = ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("about", "code"))
    return f"{e.get('code')}: {facts}"


def _stake(e: Item) -> str:
    o = e.get("expected_orders")
    head = _("Money at stake over {h}: {m} of the {x} their rhythm promises (about {o} "
             "orders of {v}).").format(
        h=_days(e.get("horizon_days")), m=_money(e.get("money_at_stake")),
        x=_money(e.get("expected_revenue")), o="?" if o is None else fmt_number(float(o), 1),
        v=_money(e.get("order_value")))
    if e.get("basis") == "history":
        similar, back = _int(e.get("similar") or 0), _int(e.get("came_back") or 0)
        return head + " " + ngettext(
            "Before, {k} of {n} customer in the same situation did not order within {h}; "
            "on average they brought {s} less than their rhythm promised.",
            "Before, {k} of {n} customers in the same situation did not order within {h}; "
            "on average they brought {s} less than their rhythm promised.", similar).format(
            n=fmt_number(similar), k=fmt_number(similar - back),
            h=_days(e.get("horizon_days")), s=_pct(e.get("shortfall")))
    return head + " " + _("Too little history to learn from: the status gives {p} chance "
                          "that they do not continue.").format(p=_pct(e.get("p_gone")))


RENDERERS: dict[str, Callable[[Item], str]] = {
    "rung": _rung,
    "status": _status,
    "signal": _signal,
    "trait": _trait,
    "stake": _stake,
}


def _sentence(item: Item) -> str:
    render = RENDERERS.get(str(item.get("about")), _generic)
    try:
        return render(item)
    except (KeyError, TypeError, ValueError):
        return _generic(item)


def sentence(item: Item, currency: str | None = None) -> str:
    """One evidence object as one sentence, in the current language; amounts in
    ``currency`` (ISO 4217; None: plain numbers)."""
    token = _currency.set(currency)
    try:
        return _sentence(item)
    finally:
        _currency.reset(token)


def sentences_of(evidence: Iterable[str | None], currency: str | None = None
                 ) -> list[list[str]]:
    """The sentences of each evidence JSON text (a map's ``evidence`` column; null or empty
    text has none), in the current language; amounts in ``currency``."""
    # the language is read once (from the environment, unless a block chose it) and held for
    # the whole batch: reading the environment for every sentence took half its time
    with i18n.use_language(i18n.current_language()):
        token = _currency.set(currency)
        # millions of small lists and dicts and no reference cycle: the cyclic garbage
        # collector would only walk them again and again (a tenth of the time, more in a
        # large process)
        collecting = gc.isenabled()
        gc.disable()
        try:
            return [[_sentence(i) for i in orjson.loads(e)] if e else [] for e in evidence]
        finally:
            if collecting:
                gc.enable()
            _currency.reset(token)


def reason(text: str) -> str:
    """Why something was not evaluated, as analytics wrote it (English marked with ``N_``;
    several reasons joined by ``"; "``), in the current language; text already translated or
    not in the catalogue is returned as it is."""
    return "; ".join(i18n._(part) for part in text.split("; "))
