"""Per-customer facts: the numbers every rule of the customer map is decided on.

All functions take Ibis tables with the column names of ``regulars.domain.tables`` (DOMAIN §2)
and an explicit ``as_of``; rows after ``as_of`` are ignored. Nothing is executed here: each
function returns an expression that runs on whichever backend holds the input.

Query shape (ENGINES.md, "query shape matters more than the tool"): the orders are read once,
with a single per-customer window (ordered by time) that yields the gap to the previous order
(``lag``), the previous order value and, through ``lead(ts, k) IS NULL``, whether an order is
among the last *k* -- then one ``GROUP BY customer_id`` with filtered aggregates. The optional
tables are aggregated per customer on their own and joined to that one-row-per-customer result.

The window is ordered by the order time and then by every per-order value the aggregates read
(amount, discount, cost): rows that still tie are identical for every rule, so engines that break
the remaining ties differently still agree (ENGINES pitfall 4).

Times are compared as epoch seconds in float64 (pitfalls 2 and 5); gaps are in days (float).
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from regulars.analytics._inputs import (
    LIST_SEPARATOR,
    SECONDS_PER_DAY,
    as_of_epoch,
    clean_item,
    days_between,
    epoch,
    f64,
    has,
    ident,
    list_values,
    money,
    money_sum,
    not_after,
    require,
    timestamp,
)
from regulars.analytics._json import concat, escape
from regulars.analytics.params import MapParams

AsOf = datetime | date
DEFAULT_PARAMS = MapParams()

DAYS_PER_YEAR = 365.25
ADDON_RECENT_ORDERS = 2
"""Dropped add-ons (DOMAIN §5.5) look for the add-on in this many last orders."""

SERVICE_KINDS = ("support", "complaint")
"""Interaction kinds that are a cost to serve (besides any inbound interaction)."""

ORDERS_REQUIRED = ("customer_id", "ordered_at", "amount")


def order_rows(orders: ir.Table, *, as_of: AsOf, params: MapParams = DEFAULT_PARAMS) -> ir.Table:
    """The orders up to ``as_of`` with the per-order window columns.

    Columns: ``customer_id, ordered_at, ts`` (epoch seconds), ``amount``, ``gap_days`` (days
    since the customer's previous order; null for the first), ``prev_ts``, ``prev_amount``,
    ``rn`` (0-based position), ``in_recent`` (among the last ``shrinking_orders_window`` orders),
    and when the optional columns exist ``discount``, ``depth`` (discount / list price),
    ``margin``, ``new_products``, ``has_addon``.
    """
    require(orders, "orders", ORDERS_REQUIRED)
    o = orders.filter(not_after(orders.ordered_at, as_of))
    cols: dict[str, ir.Value] = {
        "customer_id": ident(o.customer_id),
        "ordered_at": timestamp(o.ordered_at),
        "amount": money(o.amount),
    }
    if has(o, "discount_amount"):
        cols["discount"] = money(o.discount_amount).fill_null(f64(0.0))
    if has(o, "cost"):
        cols["cost"] = money(o.cost)
    if has(o, "new_products"):
        cols["new_products"] = o.new_products.cast("int64").fill_null(0)
    if has(o, "addons"):
        cols["has_addon"] = _nonempty_list(o.addons)
    base = o.select(**cols)
    keys: list[ir.Value] = [base.ordered_at, base.amount]
    if "discount" in base.columns:
        keys.append(base.discount)
    if "cost" in base.columns:
        keys.extend([base.cost.isnull(), base.cost.fill_null(f64(0.0))])
    w = ibis.window(group_by=base.customer_id, order_by=keys)
    # the window carries the timestamp only; epoch seconds are taken after it (a narrower sort)
    rows = base.mutate(
        prev_at=base.ordered_at.lag().over(w),
        prev_amount=base.amount.lag().over(w),
        rn=ibis.row_number().over(w),
        in_recent=base.ordered_at.lead(params.shrinking_orders_window).over(w).isnull(),
    )
    ts, prev_ts = epoch(rows.ordered_at), epoch(rows.prev_at)
    extra: dict[str, ir.Value] = {
        "ts": ts,
        "prev_ts": prev_ts,
        "gap_days": days_between(ts, prev_ts),
    }
    if "discount" in rows.columns:
        extra["depth"] = rows.discount / (rows.amount + rows.discount).nullif(f64(0.0))
    if "cost" in rows.columns:
        extra["margin"] = rows.amount - rows.cost
    return rows.mutate(**extra)


def _nonempty_list(value: ir.Value) -> ir.BooleanValue:
    """Whether a list column holds at least one non-blank item (no array lambdas: Ibis emits
    DuckDB ``->`` lambdas for array filter/map, which DuckDB 2.0 rejects).

    One regular expression: some character that is neither the separator nor whitespace that
    ``strip`` removes (four times faster on DuckDB than removing separators and trimming).
    """
    joined = value.join(LIST_SEPARATOR) if value.type().is_array() else value.cast("string")
    return joined.re_search(_NON_BLANK).fill_null(False)


# the characters strip() removes on every engine (Ibis compiles it to TRIM with this set),
# written literally: both engines' regular expressions read them as themselves in a bracket
_NON_BLANK = "[^" + LIST_SEPARATOR + " \t\n\r\x0b\x0c]"


def customer_facts(
    orders: ir.Table, *, as_of: AsOf, params: MapParams = DEFAULT_PARAMS
) -> ir.Table:
    """One row per customer with at least one order up to ``as_of``.

    Columns (days are fractional days, ``*_ts`` epoch seconds):

    - ``customer_id, orders, first_order_at, last_order_at, first_ts, last_ts, revenue,
      avg_order_value, tenure_days`` (first order to as-of), ``relationship_days`` (first to
      last order: the length of the active relationship), ``days_since_last_order``;
    - ``frequency_per_year``: orders per year of tenure (tenure floored at one day);
    - ``n_gaps, own_median_gap`` (exact median of the gaps), ``max_gap, last_gap, gap_xsum``,
      ``comeback_gap`` (the longest gap ended by an order in the last ``won_back_within_days``)
      (Σ position × gap) and ``gap_trend``: least-squares slope of the gaps against their
      position, days per order; the open gap since the last order joins as a last point when
      it is already longer than the last closed gap;
    - ``recent_orders`` (the last ``shrinking_orders_window``, or fewer), ``recent_avg,
      earlier_avg, recent_decreases`` (recent orders smaller than the one before),
      ``recent_zero_orders``, ``recent_start_ts`` (the first recent order), ``last2_start_ts``
      (the second-to-last order);
    - with ``discount_amount``: ``discounted_orders, recent_depth, earlier_depth`` (average
      discount / list price); with ``cost``: ``recent_margin``; with ``new_products``:
      ``new_product_orders``; with ``addons``: ``addon_orders``.
    """
    rows = order_rows(orders, as_of=as_of, params=params)
    return facts_from_rows(rows, as_of=as_of, params=params)


# over 60 lines, one piece: one Ibis aggregate over every order, whose columns share CTEs
# (split, the engine would compute the shared selects once per part)
def facts_from_rows(
    rows: ir.Table, *, as_of: AsOf, params: MapParams, with_cutoffs: bool = True,
    with_gaps: bool = False,
) -> ir.Table:
    """:func:`customer_facts` from :func:`order_rows` already built (to share them).

    ``with_cutoffs=False`` leaves out ``recent_start_ts``, which only the interactions and
    returns summaries need (one aggregate less over every order). ``with_gaps=True`` keeps
    ``gap_list`` (the customer's gaps, sorted) for :func:`base_from`.
    """
    w = params.shrinking_orders_window
    earlier = ~rows.in_recent
    aggs: dict[str, ir.Value] = {
        "orders": rows.count(),
        "first_order_at": rows.ordered_at.min(),
        "last_order_at": rows.ordered_at.max(),
        "revenue": money_sum(rows.amount),
        # the gaps sorted, for an exact median (see _median_of_sorted)
        "gap_list": rows.gap_days.collect().sort(),
        "max_gap": rows.gap_days.max(),
        "comeback_gap": rows.gap_days.max(
            where=rows.ts > f64(as_of_epoch(as_of) - params.won_back_within_days * 86_400.0)
        ),
        "gap_xsum": (rows.rn.cast("float64") * rows.gap_days).sum(),
        "recent_sum": money_sum(rows.amount, where=rows.in_recent),
        "recent_decreases": rows.ts.count(
            where=rows.in_recent & (rows.amount < rows.prev_amount)
        ),
        "recent_zero_orders": rows.ts.count(where=rows.in_recent & (rows.amount == f64(0.0))),
        # prev_ts grows along the window order: its maximum is the second-to-last order
        "last2_start_ts": rows.prev_ts.max(),
    }
    if with_cutoffs:
        aggs["recent_start_ts"] = rows.ts.min(where=rows.in_recent)
    if "discount" in rows.columns:
        aggs["discounted_orders"] = rows.ts.count(where=rows.discount > f64(0.0))
        aggs["recent_depth_sum"] = rows.depth.sum(where=rows.in_recent)
        aggs["earlier_depth_sum"] = rows.depth.sum(where=earlier)
    if "margin" in rows.columns:
        aggs["recent_margin"] = money_sum(rows.margin, where=rows.in_recent)
    if "new_products" in rows.columns:
        aggs["new_product_orders"] = rows.ts.count(where=rows.new_products > 0)
    if "has_addon" in rows.columns:
        aggs["addon_orders"] = rows.ts.count(where=rows.has_addon)
    f = rows.group_by("customer_id").aggregate(**aggs)

    now = f64(as_of_epoch(as_of))
    f = f.mutate(
        first_ts=epoch(f.first_order_at),
        last_ts=epoch(f.last_order_at),
        own_median_gap=_median_of_sorted(f.gap_list),
    )
    # the gaps telescope: their count and sum need no aggregate of their own
    f = f.mutate(
        last_gap=days_between(f.last_ts, f.last2_start_ts),
        n_gaps=f.orders - 1,
        gap_sum=days_between(f.last_ts, f.first_ts),
    )
    n = f.orders.cast("float64")
    recent_n = ibis.least(f.orders, w)
    earlier_n = f.orders - recent_n
    derived: dict[str, ir.Value] = {
        "avg_order_value": f.revenue / n.nullif(f64(0.0)),
        "tenure_days": days_between(now, f.first_ts),
        "relationship_days": f.gap_sum,
        "days_since_last_order": days_between(now, f.last_ts),
        "recent_orders": recent_n,
        "recent_avg": f.recent_sum / recent_n.cast("float64").nullif(f64(0.0)),
        "earlier_avg": (f.revenue - f.recent_sum) / earlier_n.cast("float64").nullif(f64(0.0)),
    }
    if "discounted_orders" in f.columns:
        derived["recent_depth"] = f.recent_depth_sum / recent_n.cast("float64").nullif(f64(0.0))
        derived["earlier_depth"] = f.earlier_depth_sum / earlier_n.cast("float64").nullif(
            f64(0.0)
        )
    f = f.mutate(**derived)
    f = f.mutate(
        frequency_per_year=n * f64(DAYS_PER_YEAR) / ibis.greatest(f.tenure_days, f64(1.0)),
        gap_trend=_gap_trend(f),
    )
    drop = {"recent_sum", "recent_depth_sum", "earlier_depth_sum", "gap_sum"}
    # a select, not .drop(): Ibis only shares Select/Aggregate nodes as CTEs, and a dropped
    # table referenced twice would be computed twice
    # the median takes the place of the sorted gaps (the column order of the aggregate)
    order = ["own_median_gap" if c == "gap_list" else c for c in f.columns]
    if not with_gaps:
        drop.add("gap_list")
    return f.select(*dict.fromkeys(c for c in order if c not in drop),
                    *(["gap_list"] if with_gaps else []))


def _median_of_sorted(values: ir.ArrayValue) -> ir.FloatingValue:
    """The exact median of a sorted array (null when empty), interpolated as DuckDB's
    ``PERCENTILE_CONT(0.5)``: ``lo * 0.5 + hi * 0.5`` (PostgreSQL's ``lo + (hi - lo) * 0.5``
    can differ in the last bit).

    A per-group ``median()`` on DuckDB 2.0 allocates about 18 KB of aggregate state per group
    (18 GB for a million customers: it spills and runs ten times slower); collecting the
    values and sorting each small list is cheap on every engine.
    """
    n = values.length()
    # int32 positions: Spark's element_at takes no bigint index
    lo = values[((n - 1) // 2).cast("int32")]
    hi = values[(n // 2).cast("int32")]
    return ibis.ifelse(n > 0, lo * f64(0.5) + hi * f64(0.5), ibis.null("float64"))


def _gap_trend(f: ir.Table) -> ir.FloatingValue:
    """Least-squares slope of gap (days) on position, from sums (no second pass).

    Gaps sit at positions 1..k (the position of the order that closed them), so Σx and Σx²
    are closed forms; Σy and Σxy come from the aggregate. The open gap (days since the last
    order) is a lower bound of the next gap: it joins at position n only when it already exceeds
    the last closed gap, i.e. when it is evidence of widening rather than of nothing yet.
    """
    k = f.n_gaps.cast("float64")
    sx = k * (k + f64(1.0)) / f64(2.0)
    sxx = k * (k + f64(1.0)) * (f64(2.0) * k + f64(1.0)) / f64(6.0)
    sy = f.gap_sum
    sxy = f.gap_xsum.fill_null(f64(0.0))
    open_in = (f.n_gaps >= 1) & (f.days_since_last_order > f.last_gap)
    x0 = f.orders.cast("float64")
    y0 = f.days_since_last_order
    m = k + ibis.ifelse(open_in, f64(1.0), f64(0.0))
    sx = sx + ibis.ifelse(open_in, x0, f64(0.0))
    sxx = sxx + ibis.ifelse(open_in, x0 * x0, f64(0.0))
    sy = sy + ibis.ifelse(open_in, y0, f64(0.0))
    sxy = sxy + ibis.ifelse(open_in, x0 * y0, f64(0.0))
    den = (m * sxx - sx * sx).nullif(f64(0.0))
    return (m * sxy - sx * sy) / den


def base_numbers(
    orders: ir.Table, *, as_of: AsOf, params: MapParams = DEFAULT_PARAMS
) -> ir.Table:
    """The base-level numbers the rules compare customers with: a one-row table.

    Columns: ``customers`` (with at least one order), ``orders``, ``revenue``,
    ``median_frequency_per_year``, ``median_avg_order_value`` (over the **regulars**, customers
    with at least ``regular_min_orders`` orders: the loyal rung compares a regular with the other
    regulars, DOMAIN §3, since one-time buyers would pull every median down until every regular
    is "above the median"; null without regulars), ``median_revenue`` (over customers) and
    ``median_gap_days`` (the exact median over every gap between consecutive
    orders of every customer; null when nobody has ordered twice).
    """
    rows = order_rows(orders, as_of=as_of, params=params)
    return base_from(facts_from_rows(rows, as_of=as_of, params=params, with_gaps=True), params)


def base_from(facts: ir.Table, params: MapParams = DEFAULT_PARAMS) -> ir.Table:
    """:func:`base_numbers` from customer facts already built (``with_gaps=True``).

    The base's median gap is taken over the customers' gap lists unnested, not over the order
    rows: the same values, and the order rows are then read by one consumer only (two make
    DuckDB fan every order row out to both).
    """
    regular = facts.orders >= params.regular_min_orders
    per_customer = facts.aggregate(
        customers=facts.count(),
        orders=facts.orders.sum(),
        revenue=money_sum(facts.revenue, digits=38),
        # the filter inside the value, not ``where=``: Ibis passes a filtered quantile's
        # fraction through the filter too, and Spark wants a constant fraction
        median_frequency_per_year=ibis.ifelse(regular, facts.frequency_per_year,
                                              ibis.null("float64")).median(),
        median_avg_order_value=ibis.ifelse(regular, facts.avg_order_value,
                                           ibis.null("float64")).median(),
        median_revenue=facts.revenue.median(),
    )
    gaps = facts.select(gap=facts.gap_list.unnest())
    gaps = gaps.aggregate(median_gap_days=gaps.gap.median())
    return per_customer.cross_join(gaps)


# --- optional tables ---------------------------------------------------------------------


def feedback_facts(feedback: ir.Table, *, as_of: AsOf, params: MapParams) -> ir.Table:
    """Per customer: ``latest_nps, previous_nps`` (when the nps column exists) and
    ``feedback_complaints, recent_feedback_complaints`` (when the complaint column exists)."""
    require(feedback, "feedback", ("customer_id", "at"))
    fb = feedback.filter(not_after(feedback.at, as_of))
    cols: dict[str, ir.Value] = {"customer_id": ident(fb.customer_id), "ts": epoch(fb.at)}
    if has(fb, "nps"):
        cols["nps"] = fb.nps.cast("int64")
    if has(fb, "complaint"):
        cols["complaint"] = fb.complaint.cast("boolean").fill_null(False)
    if has(fb, "feedback_id"):
        cols["fid"] = ident(fb.feedback_id)
    t = fb.select(**cols)
    aggs: dict[str, ir.Value] = {}
    if "nps" in t.columns:
        keys: list[ir.Value] = [t.nps.isnull(), t.ts.desc()]
        keys += [t.fid.desc()] if "fid" in t.columns else []
        keys += [t.nps.desc()]
        t = t.mutate(nps_rn=ibis.row_number().over(group_by=t.customer_id, order_by=keys))
        aggs["latest_nps"] = t.nps.max(where=t.nps_rn == 0)
        aggs["previous_nps"] = t.nps.max(where=t.nps_rn == 1)
    if "complaint" in t.columns:
        since = f64(as_of_epoch(as_of) - params.complaints_window_days * SECONDS_PER_DAY)
        aggs["feedback_complaints"] = t.ts.count(where=t.complaint)
        aggs["recent_feedback_complaints"] = t.ts.count(where=t.complaint & (t.ts > since))
    aggs["feedback_rows"] = t.count()
    return t.group_by("customer_id").aggregate(**aggs)


# over 60 lines, one piece: one Ibis aggregate per customer over the interactions, built as
# one expression so the engine scans them once
def interaction_facts(
    interactions: ir.Table, cutoffs: ir.Table, *, as_of: AsOf, params: MapParams
) -> ir.Table:
    """Per customer: logged complaints, the last offers and whether they were answered, and
    service interactions before / since the start of the recent orders window.

    ``cutoffs`` is the customer facts table (``customer_id, recent_start_ts``). Columns:
    ``logged_complaints, recent_logged_complaints, service_recent, service_earlier`` and, when
    the table has ``responded_at``, ``offers_considered, offers_unanswered,
    days_since_last_offer``.
    """
    require(interactions, "interactions", ("customer_id", "at", "direction", "kind"))
    it = interactions.filter(not_after(interactions.at, as_of))
    now = as_of_epoch(as_of)
    cols: dict[str, ir.Value] = {
        "customer_id": ident(it.customer_id),
        "ts": epoch(it.at),
        "direction": it.direction.cast("string").strip().lower(),
        "kind": it.kind.cast("string").strip().lower(),
    }
    if has(it, "responded_at"):
        cols["responded_ts"] = ibis.ifelse(
            not_after(it.responded_at, as_of), epoch(it.responded_at), ibis.null("float64")
        )
    if has(it, "interaction_id"):
        cols["iid"] = ident(it.interaction_id)
    t = it.select(**cols)
    cut = cutoffs.select("customer_id", cut_ts="recent_start_ts")
    t = t.left_join(cut, "customer_id").select(
        *[t[c] for c in t.columns], cut.cut_ts
    )
    complaint = t.kind == "complaint"
    service = (t.direction == "in") | t.kind.isin(SERVICE_KINDS)
    since = f64(now - params.complaints_window_days * SECONDS_PER_DAY)
    aggs: dict[str, ir.Value] = {
        "logged_complaints": t.ts.count(where=complaint),
        "recent_logged_complaints": t.ts.count(where=complaint & (t.ts > since)),
        "service_recent": t.ts.count(where=service & (t.ts >= t.cut_ts)),
        "service_earlier": t.ts.count(where=service & (t.ts < t.cut_ts)),
    }
    if "responded_ts" in t.columns:
        # an offer counts once it has had its full answering window
        window_s = f64(params.unresponsive_days * SECONDS_PER_DAY)
        eligible = (
            (t.direction == "out") & (t.kind == "offer") & (t.ts <= f64(now) - window_s)
        ).fill_null(False)
        answered = (t.responded_ts.notnull() & (t.responded_ts - t.ts <= window_s)).fill_null(
            False
        )
        keys: list[ir.Value] = [(~eligible), t.ts.desc()]
        keys += [t.iid.desc()] if "iid" in t.columns else []
        keys += [answered]
        t = t.mutate(
            answered=answered,
            eligible=eligible,
            offer_rn=ibis.row_number().over(group_by=t.customer_id, order_by=keys),
        )
        last = t.eligible & (t.offer_rn < params.unresponsive_offers)
        aggs["offers_considered"] = t.ts.count(where=last)
        aggs["offers_unanswered"] = t.ts.count(where=last & ~t.answered)
        aggs["last_offer_ts"] = t.ts.max(where=t.eligible)
    out = t.group_by("customer_id").aggregate(**aggs)
    if "last_offer_ts" in out.columns:
        keep = [c for c in out.columns if c != "last_offer_ts"]
        out = out.select(
            *keep, days_since_last_offer=days_between(f64(now), out.last_offer_ts)
        )
    return out


def return_facts(
    returns: ir.Table,
    orders: ir.Table,
    cutoffs: ir.Table,
    *,
    as_of: AsOf,
    params: MapParams,
) -> ir.Table:
    """Per customer: ``returns`` (all up to as-of), ``recent_returns`` (within the complaints
    window), ``returned_recent_orders`` and ``returned_earlier_orders`` (distinct orders, split
    at the start of the recent orders window). Needs ``orders.order_id``."""
    require(returns, "returns", ("order_id", "returned_at"))
    r = returns.filter(not_after(returns.returned_at, as_of))
    r = r.select(order_id=ident(r.order_id), rts=epoch(r.returned_at))
    o = orders.filter(not_after(orders.ordered_at, as_of))
    o = o.select(
        order_id=ident(o.order_id), customer_id=ident(o.customer_id), ots=epoch(o.ordered_at)
    )
    j = r.join(o, "order_id")
    cut = cutoffs.select("customer_id", cut_ts="recent_start_ts")
    j = j.left_join(cut, "customer_id").select(j.order_id, j.customer_id, j.rts, j.ots, cut.cut_ts)
    since = f64(as_of_epoch(as_of) - params.complaints_window_days * SECONDS_PER_DAY)
    return j.group_by("customer_id").aggregate(
        returns=j.count(),
        recent_returns=j.rts.count(where=j.rts > since),
        returned_recent_orders=j.order_id.nunique(where=j.ots >= j.cut_ts),
        returned_earlier_orders=j.order_id.nunique(where=j.ots < j.cut_ts),
    )


def invoice_facts(invoices: ir.Table, *, as_of: AsOf, params: MapParams) -> ir.Table:
    """Per customer, over invoices due up to as-of: ``overdue_invoices`` (unpaid at as-of),
    ``max_days_overdue``, ``invoices_considered`` / ``invoices_paid`` among the last
    ``slower_payments_invoices``, ``delay_increases`` (each later than the one before) and the
    payment delay (paid − due, days) of the last and of the earliest of those invoices:
    ``last_delay_days``, ``first_delay_days``."""
    require(invoices, "invoices", ("customer_id", "due_at", "paid_at"))
    inv = invoices.filter(not_after(invoices.due_at, as_of))
    now = as_of_epoch(as_of)
    k = params.slower_payments_invoices
    cols: dict[str, ir.Value] = {
        "customer_id": ident(inv.customer_id),
        "due_ts": epoch(inv.due_at),
        "paid": not_after(inv.paid_at, as_of),
    }
    if has(inv, "invoice_id"):
        cols["iid"] = ident(inv.invoice_id)
    t = inv.select(paid_ts=epoch(inv.paid_at), **cols)
    t = t.mutate(delay=ibis.ifelse(t.paid, days_between(t.paid_ts, t.due_ts), ibis.null("float64")))
    keys: list[ir.Value] = [t.due_ts.desc()]
    keys += [t.iid.desc()] if "iid" in t.columns else [t.delay.isnull(), t.delay.desc()]
    w = ibis.window(group_by=t.customer_id, order_by=keys)
    t = t.mutate(rn=ibis.row_number().over(w), older_delay=t.delay.lead().over(w))
    last_k = t.rn < k
    overdue = ~t.paid & (t.due_ts < f64(now))
    return t.group_by("customer_id").aggregate(
        overdue_invoices=t.due_ts.count(where=overdue),
        max_days_overdue=days_between(f64(now), t.due_ts).max(where=overdue),
        invoices_considered=t.due_ts.count(where=last_k),
        invoices_paid=t.due_ts.count(where=last_k & t.paid),
        delay_increases=t.due_ts.count(where=(t.rn < k - 1) & (t.delay > t.older_delay)),
        last_delay_days=t.delay.max(where=t.rn == 0),
        first_delay_days=t.delay.max(where=t.rn == k - 1),
    )


def referral_facts(referrals: ir.Table, *, as_of: AsOf) -> ir.Table:
    """Per referrer: ``referrals`` made up to as-of (self-referrals ignored)."""
    require(referrals, "referrals", ("referrer_id", "referee_id", "at"))
    r = referrals.filter(not_after(referrals.at, as_of))
    r = r.select(customer_id=ident(r.referrer_id), referee=ident(r.referee_id))
    r = r.filter(r.customer_id != r.referee)
    return r.group_by("customer_id").aggregate(referrals=r.referee.nunique())


def addon_facts(
    orders: ir.Table, cutoffs: ir.Table, *, as_of: AsOf, params: MapParams
) -> ir.Table:
    """Per customer: ``dropped_addons`` (count) and ``dropped_addon_names`` (JSON array text)
    of add-ons used in at least ``addon_min_usage_share`` of the orders before the last
    ``ADDON_RECENT_ORDERS`` and absent from those last orders.

    ``cutoffs`` is the customer facts table (``customer_id, orders, last2_start_ts``); an
    order belongs to the last two when it is not older than the second-to-last order.
    """
    # each reads the orders on its own (a shared filtered table becomes a CTE that DuckDB
    # materialises: every order, strings included)
    o = orders.select("customer_id", "ordered_at", "addons")
    o = o.filter(not_after(o.ordered_at, as_of))
    items = _list_items(orders, "addons")
    j = o.join(items, o.addons == items.raw)
    o = j.select(customer_id=ident(j.customer_id), ts=epoch(j.ordered_at), addon=j.item)
    cut = cutoffs.select("customer_id", "orders", cut_ts="last2_start_ts")
    j = o.join(cut, "customer_id")
    recent = (j.ts >= j.cut_ts).fill_null(False)
    per = j.group_by(["customer_id", "addon"]).aggregate(
        orders=j.orders.max(),
        earlier_uses=j.ts.count(where=~recent),
        recent_uses=j.ts.count(where=recent),
    )
    earlier_orders = (per.orders - ADDON_RECENT_ORDERS).cast("float64")
    dropped = (
        (per.orders > ADDON_RECENT_ORDERS)
        & (per.recent_uses == 0)
        & (per.earlier_uses.cast("float64") >= f64(params.addon_min_usage_share) * earlier_orders)
    )
    d = per.filter(dropped)
    quoted = concat(['"', escape(d.addon), '"'])
    # collect + sort rather than an ordered group_concat, which Spark cannot compile
    out = d.group_by("customer_id").aggregate(
        dropped_addons=d.count(),
        names=quoted.collect().sort().join(","),
    )
    return out.select("customer_id", "dropped_addons", dropped_addon_names="[" + out.names + "]")


def category_facts(orders: ir.Table, *, as_of: AsOf) -> ir.Table:
    """Per customer: ``categories`` (distinct categories across orders up to as-of) and
    ``only_category`` (the category when there is exactly one)."""
    o = orders.select("customer_id", "ordered_at", "categories")
    o = o.filter(not_after(o.ordered_at, as_of))
    # a customer's orders repeat a few category lists: their distinct lists are split
    o = o.select(customer_id=ident(o.customer_id), raw=o.categories).distinct()
    items = _list_items(orders, "categories")
    j = o.join(items, "raw")
    o = j.select(j.customer_id, category=j.item).distinct()
    out = o.group_by("customer_id").aggregate(
        categories=o.category.count(), first_category=o.category.min()
    )
    return out.select(
        "customer_id",
        "categories",
        only_category=ibis.ifelse(out.categories == 1, out.first_category, ibis.null("string")),
    )


def _list_items(orders: ir.Table, column: str) -> ir.Table:
    """``raw, item``: each distinct value of a list column of the orders (every order, so the
    table does not share a filtered order table with its caller) and each non-blank item in
    it, cleaned (:func:`clean_item`).

    Joining orders to their items on the raw value splits and cleans each distinct list once
    instead of once per order: a business has far fewer distinct lists than orders. Null
    lists and blank items have no row (callers count non-blank items only). The items are
    unnested in the select list: a table-level unnest is a lateral join, on DuckDB 2.0 a delim
    join over every row, forty times slower.
    """
    raw = orders.select(raw=orders[column]).distinct()
    items = raw.select("raw", item=list_values(raw.raw).unnest())
    items = items.select("raw", item=clean_item(items.item))
    return items.filter(items.item.notnull()).distinct()


def p_alive_facts(p_alive: ir.Table) -> ir.Table:
    """``customer_id, p_alive`` (float64; the largest when a customer appears twice)."""
    require(p_alive, "p_alive", ("customer_id", "p_alive"))
    t = p_alive.select(customer_id=ident(p_alive.customer_id), p=money(p_alive.p_alive))
    return t.group_by("customer_id").aggregate(p_alive=t.p.max())
