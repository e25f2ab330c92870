"""Early-warning signals (DOMAIN §5), each raised with the facts that triggered it.

A signal that needs a table or column the caller did not give is *not evaluated* (reported in
``CustomerMap.not_evaluated``), never silently false. ``W`` below is
``params.shrinking_orders_window``: "the last orders" everywhere a recent window is needed.

Evidence keys per code (``about`` = ``"signal"``, plus ``code``). ``by`` is the first reason
that holds, in the order listed:

- ``shrinking_orders``: ``recent_orders`` (W), ``decreases`` (of the last W orders, how many
  were smaller than the one before), ``recent_avg``, ``earlier_avg``, ``ratio``, ``by``
  (``each_smaller`` / ``average_drop``). Needs at least W + 1 orders.
- ``widening_gaps``: ``typical_gap_days``, ``gap_source``, ``last_gap_days``,
  ``days_since_last_order``, ``widening_after_days``, ``gap_trend_days_per_order`` (slope of
  the gaps, > 0). Needs at least ``min_gaps_for_own_rhythm`` closed gaps.
- ``overdue``: ``typical_gap_days``, ``gap_source``, ``days_since_last_order``,
  ``overdue_after_days``, ``days_overdue`` (days past one typical gap). Not raised when lost.
- ``slower_payments``: ``overdue_invoices``, ``max_days_overdue``, ``invoices_considered``,
  ``delay_increases``, ``first_delay_days``, ``last_delay_days`` (payment delay, paid − due,
  of the oldest and newest of the last ``slower_payments_invoices`` invoices), ``by``
  (``overdue_now`` / ``delay_growing``).
- ``dropped_addons``: ``addons`` (names), ``min_usage_share``.
- ``complaints_returns``: ``window_days``, ``recent_complaints``, ``recent_returns``,
  ``recent_return_rate``, ``earlier_return_rate``, ``by`` (``recent_complaint`` /
  ``recent_return`` / ``rising_return_rate``).
- ``unresponsive``: ``offers``, ``unanswered``, ``answer_within_days``,
  ``days_since_last_offer``.
- ``detractor``: ``latest_nps``, ``previous_nps``, ``by`` (``low_score`` / ``drop``).
- ``churn_risk``: ``p_alive``, ``threshold``, ``revenue``, ``median_revenue``.
- ``review_relationship``: ``reasons`` (``volume_falling``, ``loss_making_terms`` (the recent
  orders' margin at or below zero: needs costs), ``deepening_discounts`` (the recent orders'
  discount depth above the earlier orders', when not already loss-making),
  ``cost_to_serve_rising``, ``zero_amount_orders``), ``reasons_needed``, and the facts behind
  them: ``recent_depth``, ``earlier_depth``, ``recent_margin``,
  ``service_per_order_recent``, ``service_per_order_earlier``, ``zero_amount_orders``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from regulars.analytics import _json
from regulars.analytics._findings import N_, Context, Finding, flag
from regulars.analytics._inputs import f64

SIGNALS = (
    "shrinking_orders",
    "widening_gaps",
    "overdue",
    "slower_payments",
    "dropped_addons",
    "complaints_returns",
    "unresponsive",
    "detractor",
    "churn_risk",
    "review_relationship",
)

Fields = list[_json.Field]


def _per(num: ir.Value, den: ir.Value) -> ir.FloatingValue:
    return num.cast("float64") / den.cast("float64").nullif(f64(0.0))


def _earlier_orders(t: ir.Table) -> ir.IntegerValue:
    return t.orders - t.recent_orders


DEPTH_TOLERANCE = 1e-9
"""Discount depth must grow by more than this to count as deeper: averages of the same depth
differ in their last bits (as floats the last three of 0.1 average 0.10000000000000002)."""


def _enough_orders(ctx: Context) -> ir.BooleanValue:
    """More orders than the recent window: there is an "earlier" to compare with."""
    return flag(ctx.t.orders > ctx.params.shrinking_orders_window)


def signal_findings(ctx: Context) -> tuple[list[Finding], dict[str, str]]:
    """The findings of every signal that can be evaluated (in :data:`SIGNALS` order), and why
    the others cannot."""
    found: list[Finding] = []
    skipped: dict[str, str] = {}
    rules = (_shrinking_orders, _widening_gaps, _overdue, _slower_payments, _dropped_addons,
             _complaints_returns, _unresponsive, _detractor, _churn_risk)
    for code, rule in zip(SIGNALS, rules, strict=False):
        out = rule(ctx)  # a finding, or the reason it cannot be evaluated
        if isinstance(out, Finding):
            found.append(out)
        else:
            skipped[code] = out
    review, review_skipped = _review(ctx, shrinking=found[0].raised)
    found.append(review)
    skipped.update(review_skipped)
    return found, skipped


def _shrinking_orders(ctx: Context) -> Finding:
    t, p = ctx.t, ctx.params
    w = p.shrinking_orders_window
    each_smaller = flag(t.recent_decreases == w)
    average_drop = flag(t.recent_avg < f64(p.shrinking_orders_ratio) * t.earlier_avg)
    raised = _enough_orders(ctx) & (each_smaller | average_drop)
    return Finding("signal", "shrinking_orders", raised, (
        ("recent_orders", w),
        ("decreases", t.recent_decreases),
        ("recent_avg", t.recent_avg),
        ("earlier_avg", t.earlier_avg),
        ("ratio", p.shrinking_orders_ratio),
        ("by", _json.first([(each_smaller, "each_smaller"), (average_drop, "average_drop")])),
    ))


def _widening_gaps(ctx: Context) -> Finding:
    t, p = ctx.t, ctx.params
    widening_after = f64(p.widening_gap_factor) * t.typical_gap_days
    recent_gap = ibis.greatest(t.last_gap.fill_null(f64(0.0)), t.days_since_last_order)
    # gaps that widen are the customer's own: with fewer than a rhythm's worth of closed gaps
    # (one gap and a long silence) there is no trend, only a lapse, which the status says
    widening = flag((t.n_gaps >= p.min_gaps_for_own_rhythm) & (recent_gap > widening_after)
                    & (t.gap_trend > f64(0.0)))
    return Finding("signal", "widening_gaps", widening, (
        ("typical_gap_days", t.typical_gap_days),
        ("gap_source", _json.Code(t.gap_source)),
        ("last_gap_days", t.last_gap),
        ("days_since_last_order", t.days_since_last_order),
        ("widening_after_days", widening_after),
        ("gap_trend_days_per_order", t.gap_trend),
    ))


def _overdue(ctx: Context) -> Finding:
    t, p = ctx.t, ctx.params
    overdue_after = f64(p.overdue_gap_factor) * t.typical_gap_days
    overdue = flag(t.orders > 0) & flag(t.days_since_last_order > overdue_after) & ~t.is_lost
    return Finding("signal", "overdue", overdue, (
        ("typical_gap_days", t.typical_gap_days),
        ("gap_source", _json.Code(t.gap_source)),
        ("days_since_last_order", t.days_since_last_order),
        ("overdue_after_days", overdue_after),
        ("days_overdue", t.days_since_last_order - t.typical_gap_days),
    ))


def _slower_payments(ctx: Context) -> Finding | str:
    t, k = ctx.t, ctx.params.slower_payments_invoices
    if why := ctx.lacks("overdue_invoices"):
        return why
    growing = ibis.literal(False)
    if k >= 2:
        growing = flag(
            (t.invoices_considered == k) & (t.invoices_paid == k) & (t.delay_increases == k - 1)
        )
    overdue_now = flag(t.overdue_invoices > 0)
    return Finding("signal", "slower_payments", growing | overdue_now, (
        ("overdue_invoices", t.overdue_invoices),
        ("max_days_overdue", t.max_days_overdue),
        ("invoices_considered", t.invoices_considered),
        ("delay_increases", t.delay_increases),
        ("first_delay_days", t.first_delay_days),
        ("last_delay_days", t.last_delay_days),
        ("by", _json.first([(overdue_now, "overdue_now"), (growing, "delay_growing")])),
    ))


def _dropped_addons(ctx: Context) -> Finding | str:
    t = ctx.t
    if why := ctx.lacks("dropped_addons"):
        return why
    return Finding("signal", "dropped_addons", flag(t.dropped_addons > 0), (
        ("addons", _json.Raw(t.dropped_addon_names)),
        ("min_usage_share", ctx.params.addon_min_usage_share),
    ))


def _complaints_returns(ctx: Context) -> Finding | str:
    t, p = ctx.t, ctx.params
    kinds = ("returns", "recent_feedback_complaints", "recent_logged_complaints")
    if not any(c in t.columns for c in kinds):
        return "; ".join(dict.fromkeys(why for c in kinds if (why := ctx.lacks(c))))
    complaints: ir.IntegerValue = ibis.literal(0)
    for c in ("recent_feedback_complaints", "recent_logged_complaints"):
        if c in t.columns:
            complaints = complaints + t[c].fill_null(0)
    fields: Fields = [("window_days", p.complaints_window_days), ("recent_complaints", complaints)]
    recent_complaint = complaints > 0
    reasons: list[tuple[ir.BooleanValue, str]] = [(recent_complaint, "recent_complaint")]
    raised = recent_complaint
    if "returns" in t.columns:
        recent_return = flag(t.recent_returns > 0)
        recent_rate = _per(t.returned_recent_orders, t.recent_orders)
        earlier_rate = _per(t.returned_earlier_orders, _earlier_orders(t))
        rising = _enough_orders(ctx) & flag(recent_rate > earlier_rate)
        fields += [
            ("recent_returns", t.recent_returns),
            ("recent_return_rate", _json.Num(recent_rate, 4)),
            ("earlier_return_rate", _json.Num(earlier_rate, 4)),
        ]
        reasons += [(recent_return, "recent_return"), (rising, "rising_return_rate")]
        raised = raised | recent_return | rising
    fields.append(("by", _json.first(reasons)))
    return Finding("signal", "complaints_returns", raised, tuple(fields))


def _unresponsive(ctx: Context) -> Finding | str:
    t, p = ctx.t, ctx.params
    if why := ctx.lacks("offers_considered"):
        return why
    k = p.unresponsive_offers
    raised = flag((t.offers_considered == k) & (t.offers_unanswered == k))
    return Finding("signal", "unresponsive", raised, (
        ("offers", t.offers_considered),
        ("unanswered", t.offers_unanswered),
        ("answer_within_days", p.unresponsive_days),
        ("days_since_last_offer", t.days_since_last_offer),
    ))


def _detractor(ctx: Context) -> Finding | str:
    t, p = ctx.t, ctx.params
    if why := ctx.lacks("latest_nps"):
        return why
    low = flag(t.latest_nps <= p.detractor_max_nps)
    drop = flag(t.previous_nps - t.latest_nps >= p.detractor_nps_drop)
    return Finding("signal", "detractor", low | drop, (
        ("latest_nps", t.latest_nps),
        ("previous_nps", t.previous_nps),
        ("by", _json.first([(low, "low_score"), (drop, "drop")])),
    ))


def _churn_risk(ctx: Context) -> Finding | str:
    t, p = ctx.t, ctx.params
    if why := ctx.lacks("p_alive"):
        return why
    valuable = flag(t.revenue > t.base_median_revenue)
    likely_gone = flag(t.p_alive < f64(p.churn_risk_p_alive))
    return Finding("signal", "churn_risk", flag(t.orders > 0) & likely_gone & valuable, (
        ("p_alive", _json.Num(t.p_alive, 4)),
        ("threshold", p.churn_risk_p_alive),
        ("revenue", t.revenue),
        ("median_revenue", ctx.base("base_median_revenue")),
    ))


# over 60 lines, one piece: one Ibis expression, each reason beside its evidence, so the
# signal and what it says cannot drift apart
def _review(ctx: Context, *, shrinking: ir.BooleanValue) -> tuple[Finding, dict[str, str]]:
    """Review the relationship (article 001): enough reasons among the evaluable ones."""
    t, p = ctx.t, ctx.params
    enough = _enough_orders(ctx)
    reasons: list[tuple[ir.BooleanValue, str]] = [(shrinking, "volume_falling")]
    fields: Fields = []
    skipped: dict[str, str] = {}

    # loss-making terms need evidence of a loss (a margin at or below zero, from costs);
    # discounts that only grow deeper are a reason of their own, said as such (one reason
    # slot: a loss already says it all)
    loss: ir.BooleanValue = ibis.literal(False)
    if "recent_margin" in t.columns:
        loss = flag(t.recent_margin <= f64(0.0))
        reasons.append((loss, "loss_making_terms"))
        fields.append(("recent_margin", t.recent_margin))
    else:
        skipped["review_relationship:loss_making_terms"] = ctx.missing.get(
            "recent_margin", N_("no cost data (orders.cost)"))
    if "recent_depth" in t.columns:
        deeper = (
            enough
            & flag(t.recent_depth > t.earlier_depth + f64(DEPTH_TOLERANCE))
            & flag(t.recent_depth > f64(0.0))
        )
        reasons.append((deeper & ~loss, "deepening_discounts"))
        fields += [
            ("recent_depth", _json.Num(t.recent_depth, 4)),
            ("earlier_depth", _json.Num(t.earlier_depth, 4)),
        ]
    else:
        skipped["review_relationship:deepening_discounts"] = ctx.missing.get(
            "discounted_orders", N_("no discount data (orders.discount_amount)"))

    why = ctx.lacks("service_recent")
    if why:
        skipped["review_relationship:cost_to_serve_rising"] = why
    else:
        recent = _per(t.service_recent, t.recent_orders)
        earlier = _per(t.service_earlier, _earlier_orders(t))
        reasons.append((enough & flag(recent > earlier), "cost_to_serve_rising"))
        fields += [
            ("service_per_order_recent", _json.Num(recent, 4)),
            ("service_per_order_earlier", _json.Num(earlier, 4)),
        ]

    zero = flag(t.recent_zero_orders > 0)
    reasons.append((zero, "zero_amount_orders"))
    fields.append(("zero_amount_orders", t.recent_zero_orders))

    count = ibis.literal(0)
    for cond, _ in reasons:
        count = count + ibis.ifelse(cond, 1, 0)  # PostgreSQL casts no boolean to bigint
    raised = flag(t.orders > 0) & (count >= p.review_min_reasons)
    return (
        Finding("signal", "review_relationship", raised, (
            ("reasons", _json.codes(reasons)),
            ("reasons_needed", p.review_min_reasons),
            *fields,
        )),
        skipped,
    )
