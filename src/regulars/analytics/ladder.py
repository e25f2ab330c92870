"""The loyalty ladder (DOMAIN §3) and the activity status (DOMAIN §4).

Rungs: ``prospect`` (no order), ``newcomer`` (1), ``returning`` (``returning_min_orders``),
``regular`` (``regular_min_orders``), ``loyal`` (a regular with at least
``loyal_min_evidence`` pieces of *current* attachment evidence among those whose data exists, and
none of the blockers), ``advocate`` (loyal, promoter and has referred someone). Attachment
evidence codes (DOMAIN §3), compared with the business's **regulars**, not with all buyers:

- ``frequency_above_median`` -- orders per year (first order to as-of) above the regulars'
  median;
- ``aov_above_median`` -- average order above the regulars' median;
- ``tenure`` -- an active relationship (first to last order) of at least
  ``loyal_min_tenure_days``: being gone longer does not make it truer;
- ``full_price`` -- share of orders without discount above ``full_price_min_share``
  (needs discount data);
- ``addons`` -- used an add-on service in some order (needs add-on data);
- ``promoter`` -- latest NPS at least ``promoter_min_nps`` (needs NPS answers);
- ``referrer`` -- has referred at least one customer (needs referrals).

A piece whose data is missing is *not evaluated*: it neither counts nor counts against, and the
rung's evidence lists it under ``not_evaluated``. Blockers (``blocked_by``): a regular with
enough evidence is still not loyal when ``lost`` (its evidence then says until when it was:
``loyal_until``, the day of the last order), ``discount_driven`` (more than
``discount_driven_min_share`` of the orders discounted) or a ``detractor`` (latest NPS below
``passive_min_nps``).

Status: the typical gap is the customer's own exact median gap when they have at least
``min_gaps_for_own_rhythm`` gaps and it is positive (several orders at one instant are no
rhythm), else the base's median gap. ``lost`` when days since the last order exceed
``lost_gap_factor`` typical gaps or ``lost_max_days``, or ``p_alive < lost_p_alive``;
``lapsing`` above ``lapsing_gap_factor`` typical gaps; ``won_back`` when an order within the
last ``won_back_within_days`` ended a gap longer than the lost threshold (same typical gap, same
``lost_max_days``) and at least ``won_back_min_gap_days`` long (a real loss), and the customer is
neither lost nor lapsing now; else ``active``.
Prospects have no status.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from regulars.analytics import _json
from regulars.analytics._findings import Context, Finding, flag
from regulars.analytics._inputs import f64
from regulars.analytics.params import MapParams

RUNGS = ("prospect", "newcomer", "returning", "regular", "loyal", "advocate")
STATUSES = ("active", "lapsing", "lost", "won_back")
LOYAL_EVIDENCE = (
    "frequency_above_median",
    "aov_above_median",
    "tenure",
    "full_price",
    "addons",
    "promoter",
    "referrer",
)


def with_rhythm(t: ir.Table, params: MapParams) -> ir.Table:
    """Add the typical gap and the status columns to the wide per-customer table.

    Adds ``typical_gap_days, gap_source, lapsing_after_days, lost_after_days, lost_by_rhythm,
    lost_by_max_days, lost_by_model, is_lost, was_lost, status``.
    """
    own_ok = flag((t.n_gaps >= params.min_gaps_for_own_rhythm) & (t.own_median_gap > f64(0.0)))
    buyer = flag(t.orders > 0)
    typical = ibis.cases(
        (~buyer, ibis.null("float64")), (own_ok, t.own_median_gap), else_=t.base_median_gap_days
    )
    source = ibis.cases(
        (~buyer, ibis.null("string")),
        (own_ok, "own"),
        (t.base_median_gap_days.notnull(), "base"),
        else_=ibis.null("string"),
    )
    t = t.mutate(typical_gap_days=typical, gap_source=source)
    lost_rhythm = f64(params.lost_gap_factor) * t.typical_gap_days
    lost_after = ibis.coalesce(
        ibis.least(lost_rhythm, f64(params.lost_max_days)), f64(params.lost_max_days)
    )
    days = t.days_since_last_order
    by_model = ibis.literal(False)
    if "p_alive" in t.columns:
        by_model = flag(t.p_alive < f64(params.lost_p_alive))
    t = t.mutate(
        lapsing_after_days=f64(params.lapsing_gap_factor) * t.typical_gap_days,
        lost_after_days=lost_after,
        lost_by_rhythm=flag(days > lost_rhythm),
        lost_by_max_days=flag(days > f64(params.lost_max_days)),
        lost_by_model=flag(t.orders > 0) & by_model,
    )
    t = t.mutate(
        is_lost=t.lost_by_rhythm | t.lost_by_max_days | t.lost_by_model,
        was_lost=flag((t.comeback_gap > t.lost_after_days)
                      & (t.comeback_gap >= f64(params.won_back_min_gap_days))),
    )
    lapsing = flag(days > t.lapsing_after_days)
    status = ibis.cases(
        (~buyer, ibis.null("string")),
        (t.is_lost, "lost"),
        (lapsing, "lapsing"),
        (t.was_lost, "won_back"),
        else_="active",
    )
    return t.mutate(status=status)


def status_findings(ctx: Context) -> list[Finding]:
    """The evidence of each status (exactly one is raised for a customer with orders)."""
    t = ctx.t
    common: list[_json.Field] = [
        ("typical_gap_days", t.typical_gap_days),
        ("gap_source", _json.Code(t.gap_source)),
        ("days_since_last_order", t.days_since_last_order),
    ]
    by = _json.first(
        [
            (t.lost_by_rhythm, "rhythm"),
            (t.lost_by_max_days, "max_days"),
            (t.lost_by_model, "p_alive"),
        ]
    )
    lost_fields = [*common, ("lost_after_days", t.lost_after_days), ("by", by)]
    if "p_alive" in t.columns:
        lost_fields.append(("p_alive", _json.Num(t.p_alive, 4)))
    return [
        Finding("status", "active", t.status == "active",
                (*common, ("lapsing_after_days", t.lapsing_after_days))),
        Finding("status", "lapsing", t.status == "lapsing",
                (*common, ("lapsing_after_days", t.lapsing_after_days),
                 ("lost_after_days", t.lost_after_days))),
        Finding("status", "lost", t.status == "lost", tuple(lost_fields)),
        Finding("status", "won_back", t.status == "won_back",
                (*common, ("longest_gap_days", t.comeback_gap),
                 ("lost_after_days", t.lost_after_days),
                 ("min_gap_days", ctx.params.won_back_min_gap_days),
                 ("came_back_within_days", ctx.params.won_back_within_days))),
    ]


def loyal_evidence(ctx: Context) -> tuple[list[tuple[str, ir.BooleanValue]], dict[str, str]]:
    """The pieces of attachment evidence that can be evaluated, and why the others cannot."""
    t, p = ctx.t, ctx.params
    pieces: list[tuple[str, ir.BooleanValue]] = [
        ("frequency_above_median",
         flag(t.frequency_per_year > t.base_median_frequency_per_year)),
        ("aov_above_median", flag(t.avg_order_value > t.base_median_avg_order_value)),
        ("tenure", flag(t.relationship_days >= f64(p.loyal_min_tenure_days))),
    ]
    skipped: dict[str, str] = {}
    optional = {
        "full_price": ("discounted_orders",),
        "addons": ("addon_orders",),
        "promoter": ("latest_nps",),
        "referrer": ("referrals",),
    }
    for code, cols in optional.items():
        why = ctx.lacks(*cols)
        if why is not None:
            skipped[f"loyal:{code}"] = why
            continue
        if code == "full_price":
            share = full_price_share(t)
            pieces.append((code, flag(share > f64(p.full_price_min_share))))
        elif code == "addons":
            pieces.append((code, flag(t.addon_orders > 0)))
        elif code == "promoter":
            pieces.append((code, flag(t.latest_nps >= p.promoter_min_nps)))
        else:
            pieces.append((code, flag(t.referrals >= 1)))
    return pieces, skipped


def discounted_share(t: ir.Table) -> ir.FloatingValue:
    """The share of a customer's orders with a discount: the discount-driven trait and the
    loyal rung's blocker read the same number."""
    return t.discounted_orders.cast("float64") / t.orders.cast("float64").nullif(f64(0.0))


def full_price_share(t: ir.Table) -> ir.FloatingValue:
    n = t.orders.cast("float64")
    return (n - t.discounted_orders.cast("float64")) / n.nullif(f64(0.0))


def blockers(ctx: Context) -> list[tuple[str, ir.BooleanValue]]:
    """What keeps a regular with enough attachment evidence from being loyal (DOMAIN §3):
    lost, discount-driven, a detractor; the last two only where their data exists."""
    t, p = ctx.t, ctx.params
    out: list[tuple[str, ir.BooleanValue]] = [("lost", flag(t.is_lost))]
    if ctx.lacks("discounted_orders") is None:
        out.append(("discount_driven",
                    flag(discounted_share(t) > f64(p.discount_driven_min_share))))
    if ctx.lacks("latest_nps") is None:
        out.append(("detractor", flag(t.latest_nps < p.passive_min_nps)))
    return out


# over 60 lines, one piece: the rung is one Ibis case expression, rung over rung from the top,
# with each rung's evidence beside its condition so the two cannot drift apart
def rung(ctx: Context) -> tuple[ir.StringValue, list[Finding], dict[str, str]]:
    """The rung expression, the evidence of each rung, and what could not be evaluated."""
    t, p = ctx.t, ctx.params
    pieces, skipped = loyal_evidence(ctx)
    count = ibis.literal(0)
    for _, cond in pieces:
        count = count + ibis.ifelse(cond, 1, 0)  # PostgreSQL casts no boolean to bigint
    promoter = dict(pieces).get("promoter", ibis.literal(False))
    referrer = dict(pieces).get("referrer", ibis.literal(False))
    n = t.orders.fill_null(0)
    regular = n >= p.regular_min_orders
    attached = regular & (count >= p.loyal_min_evidence)
    blocks = blockers(ctx)
    blocked = ibis.literal(False)
    for _, cond in blocks:
        blocked = blocked | cond
    loyal = attached & ~blocked
    advocate = loyal & promoter & referrer
    if "advocate" not in skipped and ("loyal:promoter" in skipped or "loyal:referrer" in skipped):
        skipped["advocate"] = skipped.get("loyal:promoter") or skipped["loyal:referrer"]
    code = ibis.cases(
        (advocate, "advocate"),
        (loyal, "loyal"),
        (regular, "regular"),
        (n >= p.returning_min_orders, "returning"),
        (n >= 1, "newcomer"),
        else_="prospect",
    )
    not_evaluated = [k.split(":", 1)[1] for k in skipped if k.startswith("loyal:")]
    facts: list[_json.Field] = [
        ("orders", n),
        ("evidence", _json.codes([(cond, c) for c, cond in pieces])),
        ("evidence_needed", p.loyal_min_evidence),
        ("evidence_evaluated", len(pieces)),
        ("not_evaluated", not_evaluated),
        ("frequency_per_year", t.frequency_per_year),
        ("median_frequency_per_year", ctx.base("base_median_frequency_per_year")),
        ("avg_order_value", t.avg_order_value),
        ("median_avg_order_value", ctx.base("base_median_avg_order_value")),
        ("tenure_days", t.tenure_days),
        ("relationship_days", t.relationship_days),
    ]
    if "discounted_orders" in t.columns:
        facts.append(("full_price_share", _json.Num(full_price_share(t), 4)))
    if "addon_orders" in t.columns:
        facts.append(("addon_orders", t.addon_orders))
    if "latest_nps" in t.columns:
        facts.append(("latest_nps", t.latest_nps))
    if "referrals" in t.columns:
        facts.append(("referrals", t.referrals.fill_null(0)))
    # a regular with enough evidence says what kept them from loyal, and until when a lost one
    # was loyal (the day of their last order)
    held_back = attached & blocked
    regular_facts = [
        *facts,
        ("blocked_by", _json.Raw(ibis.ifelse(
            held_back, _json.codes([(cond, c) for c, cond in blocks]).expr,
            ibis.null("string")))),
        ("loyal_until", _json.Code(ibis.ifelse(
            held_back & flag(t.is_lost), t.last_order_at.date().cast("string"),
            ibis.null("string")))),
    ]
    short: tuple[_json.Field, ...] = (
        ("orders", n),
        ("regular_min_orders", p.regular_min_orders),
    )
    findings = [
        Finding("rung", "prospect", code == "prospect", (("orders", n),)),
        Finding("rung", "newcomer", code == "newcomer", short),
        Finding("rung", "returning", code == "returning", short),
        Finding("rung", "regular", code == "regular", tuple(regular_facts)),
        Finding("rung", "loyal", code == "loyal", tuple(facts)),
        Finding("rung", "advocate", code == "advocate", tuple(facts)),
    ]
    return code, findings, skipped
