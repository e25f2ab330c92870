"""Traits beside the rung (DOMAIN §6) and RFM scores with named segments.

Evidence keys per trait code (``about`` = ``"trait"``, plus ``code``):

- ``golden``: ``revenue``, ``revenue_rank`` (1 = largest), ``revenue_share``,
  ``cumulative_share`` (share of revenue of this customer and all larger ones), ``share`` (the
  ``golden_revenue_share`` threshold). Golden customers are the smallest set of largest
  customers that together make ``golden_revenue_share`` of revenue.
- ``small``: ``revenue``, ``revenue_rank``, ``cumulative_share_from_bottom`` (this customer and
  all smaller ones), ``share`` (``small_revenue_share``).
- ``discount_driven``: ``discounted_orders``, ``orders``, ``discounted_share``, ``min_share``.
- ``innovator``: ``new_product_orders``, ``orders``, ``new_product_share``, ``min_share``.
- ``focused``: ``categories``, ``category`` (the single one, else null), ``orders``,
  ``max_categories``.
- ``diverse``: ``categories``, ``min_categories``.
- ``problem``: ``issues`` (complaints + returns), ``orders``, ``issues_per_order``,
  ``base_issues_per_order``, ``factor``.
- ``promoter`` / ``passive`` / ``detractor``: ``latest_nps``.

RFM: ``rfm_r`` from days since the last order (most recent = best), ``rfm_f`` from orders,
``rfm_m`` from revenue, each ``1..rfm_bins`` (best = ``rfm_bins``) by ``ntile`` with
``customer_id`` as the unique tie-breaker (Ibis' ntile is 0-based). ``rfm_segment`` reads the
R × F grid (:data:`RFM_GRID`; with another ``rfm_bins`` the scores are first spread evenly
onto 1–5, lowest to 1 and highest to 5). Every one of the 25 cells has exactly one segment and
every segment has a cell, unlike the widely copied 11-segment R·F·M table.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from regulars.analytics import _json
from regulars.analytics._findings import Context, Finding, flag
from regulars.analytics._inputs import f64
from regulars.analytics.ladder import discounted_share
from regulars.analytics.params import MapParams

TRAITS = (
    "golden",
    "small",
    "discount_driven",
    "innovator",
    "focused",
    "diverse",
    "problem",
    "promoter",
    "passive",
    "detractor",
)

RFM_SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
)

# rows: R score 5 (most recent) .. 1; columns: F score 1 .. 5
_GRID_ROWS = {
    5: ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
}
RFM_GRID: dict[tuple[int, int], str] = {
    (r, f): seg for r, row in _GRID_ROWS.items() for f, seg in enumerate(row, start=1)
}
"""The segment of every (R, F) cell of the 5 × 5 grid."""


def rfm_segment_of(r: int, f: int, bins: int = 5) -> str:
    """The segment of one (R, F) pair of scores in ``1..bins`` (Python mirror of the SQL)."""
    return RFM_GRID[(_to5(r, bins), _to5(f, bins))]


def _to5(score: int, bins: int) -> int:
    if bins <= 1:
        return 3
    # 1 -> 1, bins -> 5, evenly between, rounding half up (integer arithmetic, as in SQL)
    return ((score - 1) * 8 + (bins - 1)) // (2 * (bins - 1)) + 1


def ranks(spine: ir.Table, params: MapParams, *, prospects: bool = True) -> ir.Table:
    """Revenue rank and RFM scores per customer: ``customer_id, revenue_rank,
    revenue_cum_before, rfm_r, rfm_f, rfm_m, rfm_segment``.

    ``spine`` needs ``customer_id, orders, revenue, last_ts``. It is narrowed to those columns
    before the windows (each window sorts and carries every column it is given). When the
    spine may hold ``prospects``, windows are partitioned by whether the customer has orders,
    so prospects never take a quantile slot; their scores are null.
    """
    bins = params.rfm_bins
    t = spine.select(
        "customer_id", "orders", "revenue", "last_ts", has_orders=flag(spine.orders > 0)
    )
    part = [t.has_orders] if prospects else []
    by_revenue = ibis.window(group_by=part, order_by=[t.revenue.desc(), t.customer_id])
    by_recency = ibis.window(group_by=part, order_by=[t.last_ts.desc(), t.customer_id])
    by_orders = ibis.window(group_by=part, order_by=[t.orders.desc(), t.customer_id])
    cum = ibis.window(
        group_by=part, order_by=[t.revenue.desc(), t.customer_id], rows=(None, 0)
    )

    def score(window: Any) -> ir.IntegerValue:
        return ibis.ifelse(
            t.has_orders, bins - ibis.ntile(bins).over(window), ibis.null("int64")
        )

    if approximate_rfm(spine, params):
        t = t.cross_join(_thresholds(t, bins))
        scores = {name: _bucket(t, name, bins) for name, _ in RANK_EDGES}
    else:
        scores = {"rfm_r": score(by_recency), "rfm_f": score(by_orders),
                  "rfm_m": score(by_revenue)}
    r = t.select(
        "customer_id",
        revenue_rank=ibis.row_number().over(by_revenue) + 1,
        revenue_cum_before=t.revenue.sum().over(cum) - t.revenue,
        **scores,
    )
    return r.mutate(rfm_segment=rfm_segment(r.rfm_r, r.rfm_f, bins))


APPROXIMATE_ENGINES = ("pyspark",)
"""Engines on which ``rfm_quantiles = "auto"`` takes the RFM buckets from approximate quantile
thresholds: on Spark a window without a partition (``ntile`` over every customer) runs in one
task, thresholds are an aggregate every partition contributes to."""


def approximate_rfm(spine: ir.Table, params: MapParams) -> bool:
    """Whether the RFM scores of ``spine`` come from approximate quantile thresholds
    (``params.rfm_quantiles``; ``auto``: on the engines of :data:`APPROXIMATE_ENGINES`)."""
    if params.rfm_quantiles != "auto":
        return params.rfm_quantiles == "approximate"
    return ibis.get_backend(spine).name in APPROXIMATE_ENGINES


def _rfm_value(t: ir.Table, name: str) -> ir.FloatingValue:
    """What an RFM score ranks, as a number that grows with the score (recency: the last
    order's epoch seconds, ``last_ts``, so the most recent order is the largest)."""
    value: ir.FloatingValue = t[dict(RANK_EDGES)[name]].cast("float64")
    return value


def _thresholds(t: ir.Table, bins: int) -> ir.Table:
    """One row: per score and per ``k`` in 1..bins-1, ``<score>_q<k>``, the approximate
    ``k / bins`` quantile of the customers with orders (on Spark ``approx_percentile`` at its
    default accuracy, 10,000: a threshold's rank is within 1/10,000 of the customers of the
    exact one, and it is a value some customer has)."""
    buyers = t.filter(t.has_orders)
    return buyers.aggregate(**{
        f"{name}_q{k}": _rfm_value(buyers, name).approx_quantile(k / bins)
        for name, _ in RANK_EDGES for k in range(1, bins)
    })


def _bucket(t: ir.Table, name: str, bins: int) -> ir.IntegerValue:
    """The score of ``name`` from its thresholds: 1 plus the thresholds the value is strictly
    above, so a value equal to a threshold stays in the lower bucket and equal values always
    share a bucket (exact quintiles split ties by ``customer_id`` instead)."""
    score = threshold_score(_rfm_value(t, name), [t[f"{name}_q{k}"] for k in range(1, bins)])
    return ibis.ifelse(t.has_orders, score, ibis.null("int64"))


def threshold_score(value: ir.NumericValue, thresholds: list[ir.Value]) -> ir.IntegerValue:
    """1 plus the number of ``thresholds`` (ascending) that ``value`` is strictly above: a
    value equal to a threshold belongs to the bucket below it, equal values share a bucket,
    and a null threshold (no customer with orders) counts as not passed."""
    total: ir.IntegerValue = ibis.literal(1, type="int64")
    for q in thresholds:
        total = total + flag(value > q).cast("int64")
    return total


RANK_EDGES = (("rfm_r", "last_ts"), ("rfm_f", "orders"), ("rfm_m", "revenue"))
"""Each RFM score and the spine column it ranks."""


def rank_edges(ranked: ir.Table, bins: int) -> dict[str, ir.Value]:
    """Aggregates of a ranked spine (``ranks`` joined to ``last_ts, orders, revenue``) that
    freeze the ranking for :func:`frozen_ranks`: per score and per bucket 2..bins, the smallest
    value in that bucket (``<score>_edge_<k>``)."""
    out: dict[str, ir.Value] = {}
    for score, column in RANK_EDGES:
        for k in range(2, bins + 1):
            out[f"{score}_edge_{k}"] = ranked[column].cast("float64").min(
                where=ranked[score] == k
            )
    return out


def frozen_ranks(spine: ir.Table, params: MapParams, baseline: ir.Table) -> ir.Table:
    """:func:`ranks` against a frozen baseline (one row with the ``rank_edges`` and
    ``golden_min_revenue, small_max_revenue``) instead of the customers in ``spine``: for
    recomputing a few customers as the full map would place them. ``revenue_rank`` and
    ``revenue_cum_before`` are null (they need every customer); golden and small are judged
    by the frozen revenue thresholds."""
    bins = params.rfm_bins
    t = spine.select("customer_id", "orders", "revenue", "last_ts").cross_join(baseline)
    has_orders = flag(t.orders > 0)

    def score(name: str, column: str) -> ir.IntegerValue:
        value = t[column].cast("float64")
        total: ir.IntegerValue = ibis.literal(1, type="int64")
        for k in range(2, bins + 1):
            total = total + flag(value >= t[f"{name}_edge_{k}"]).cast("int64")
        return ibis.ifelse(has_orders, total, ibis.null("int64"))

    r = t.select(
        "customer_id",
        revenue_rank=ibis.null("int64"),
        revenue_cum_before=ibis.null("float64"),
        golden_min_revenue=t.golden_min_revenue,
        small_max_revenue=t.small_max_revenue,
        **{name: score(name, column) for name, column in RANK_EDGES},
    )
    return r.mutate(rfm_segment=rfm_segment(r.rfm_r, r.rfm_f, bins))


def rfm_segment(r: ir.IntegerValue, f: ir.IntegerValue, bins: int = 5) -> ir.StringValue:
    """The segment of the (R, F) scores as an expression (null when a score is null)."""

    def to5(score: ir.IntegerValue) -> ir.IntegerValue:
        if bins == 5:
            return score
        if bins <= 1:
            return ibis.ifelse(score.isnull(), ibis.null("int64"), 3)
        return ((score - 1) * 8 + (bins - 1)) // (2 * (bins - 1)) + 1

    key = to5(r) * 10 + to5(f)
    return key.cases(*[(rr * 10 + ff, seg) for (rr, ff), seg in RFM_GRID.items()])


# over 60 lines, one piece: every trait is one Ibis column of one select, so every engine
# compiles the traits once (see pyproject); each trait is a few lines of it
def trait_findings(ctx: Context) -> tuple[list[Finding], dict[str, str]]:
    """The findings of every trait that can be evaluated, and why the others cannot."""
    t, p = ctx.t, ctx.params
    found: list[Finding] = []
    skipped: dict[str, str] = {}
    n = t.orders.cast("float64")
    total = t.base_revenue.cast("float64")
    has_orders = flag(t.orders > 0)

    frozen = "golden_min_revenue" in t.columns  # judged against a frozen baseline
    golden = has_orders & flag(t.revenue > f64(0.0)) & (
        flag(t.revenue >= t.golden_min_revenue) if frozen
        else flag(t.revenue_cum_before < f64(p.golden_revenue_share) * total)
    )
    golden_fields: list[_json.Field] = [
        ("revenue", t.revenue),
        ("revenue_rank", t.revenue_rank),
        ("revenue_share", _json.Num(t.revenue / total.nullif(f64(0.0)), 4)),
        ("cumulative_share",
         _json.Num((t.revenue_cum_before + t.revenue) / total.nullif(f64(0.0)), 4)),
        ("share", p.golden_revenue_share),
    ]
    from_bottom = total - t.revenue_cum_before
    small = has_orders & (
        flag(t.revenue <= t.small_max_revenue) if frozen
        else flag(from_bottom <= f64(p.small_revenue_share) * total)
    )
    small_fields: list[_json.Field] = [
        ("revenue", t.revenue),
        ("revenue_rank", t.revenue_rank),
        ("cumulative_share_from_bottom", _json.Num(from_bottom / total.nullif(f64(0.0)), 4)),
        ("share", p.small_revenue_share),
    ]
    if frozen:
        golden_fields.append(("min_revenue", t.golden_min_revenue))
        small_fields.append(("max_revenue", t.small_max_revenue))
    found.append(Finding("trait", "golden", golden, tuple(golden_fields)))
    found.append(Finding("trait", "small", small, tuple(small_fields)))

    why = ctx.lacks("discounted_orders")
    if why:
        skipped["discount_driven"] = why
    else:
        share = discounted_share(t)
        found.append(Finding(
            "trait", "discount_driven", flag(share > f64(p.discount_driven_min_share)), (
                ("discounted_orders", t.discounted_orders),
                ("orders", t.orders),
                ("discounted_share", _json.Num(share, 4)),
                ("min_share", p.discount_driven_min_share),
            )))

    why = ctx.lacks("new_product_orders")
    if why:
        skipped["innovator"] = why
    else:
        share = t.new_product_orders.cast("float64") / n.nullif(f64(0.0))
        found.append(Finding(
            "trait", "innovator",
            flag(t.new_product_orders > 0) & flag(share >= f64(p.innovator_min_share)), (
                ("new_product_orders", t.new_product_orders),
                ("orders", t.orders),
                ("new_product_share", _json.Num(share, 4)),
                ("min_share", p.innovator_min_share),
            )))

    why = ctx.lacks("categories")
    if why:
        skipped["focused"] = why
        skipped["diverse"] = why
    else:
        focused = flag(
            (t.orders >= p.regular_min_orders)
            & (t.categories >= 1)
            & (t.categories <= p.focused_max_categories)
        )
        found.append(Finding("trait", "focused", focused, (
            ("categories", t.categories),
            ("category", t.only_category),
            ("orders", t.orders),
            ("max_categories", p.focused_max_categories),
        )))
        found.append(Finding(
            "trait", "diverse", flag(t.categories >= p.diverse_min_categories), (
                ("categories", t.categories),
                ("min_categories", p.diverse_min_categories),
            )))

    why = ctx.lacks("issues")
    if why:
        skipped["problem"] = why
    else:
        rate = t.issues.cast("float64") / n.nullif(f64(0.0))
        problem = has_orders & flag(t.issues > 0) & flag(
            rate > f64(p.problem_rate_factor) * t.base_issues_per_order
        )
        found.append(Finding("trait", "problem", problem, (
            ("issues", t.issues),
            ("orders", t.orders),
            ("issues_per_order", _json.Num(rate, 4)),
            ("base_issues_per_order", ctx.base("base_issues_per_order", 4)),
            ("factor", p.problem_rate_factor),
        )))

    why = ctx.lacks("latest_nps")
    if why:
        for code in ("promoter", "passive", "detractor"):
            skipped[code] = why
    else:
        nps = t.latest_nps
        bands = (
            ("promoter", flag(nps >= p.promoter_min_nps)),
            ("passive", flag((nps >= p.passive_min_nps) & (nps < p.promoter_min_nps))),
            ("detractor", flag(nps < p.passive_min_nps)),
        )
        for code, cond in bands:
            found.append(Finding("trait", code, cond, (("latest_nps", nps),)))
    return found, skipped


