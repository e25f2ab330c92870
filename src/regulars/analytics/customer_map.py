"""The customer map (issue 3): one row per customer with rung, status, signals, traits, RFM and
the evidence behind every label.

Output columns (``CustomerMap.customers``):

``customer_id, orders, first_order_at, last_order_at, revenue, avg_order_value,
typical_gap_days, days_since_last_order, rung, status, signals, traits, rfm_r, rfm_f, rfm_m,
rfm_segment, evidence``

- ``rung``: ``prospect | newcomer | returning | regular | loyal | advocate`` (DOMAIN §3).
- ``status``: ``active | lapsing | lost | won_back``; null for prospects (DOMAIN §4).
- ``signals``, ``traits``: array<string> of codes (see :mod:`regulars.analytics.signals`,
  :mod:`regulars.analytics.traits`), in a fixed order.
- ``evidence``: a JSON string: an array of objects, one for the rung, one for the status (not
  for prospects) and one per raised signal and trait. Each has ``about`` (``rung``,
  ``status``, ``signal``, ``trait``) and ``code``, plus the facts that decided it. Numbers are
  JSON numbers (days are fractional days), unknown values are ``null``.

Evidence keys of the rung and status (signals and traits: see their modules):

- rung ``prospect``: ``orders``; ``newcomer`` / ``returning``: ``orders``,
  ``regular_min_orders``; ``regular`` / ``loyal`` / ``advocate``: ``orders``, ``evidence``
  (attachment codes found, see :mod:`regulars.analytics.ladder`), ``evidence_needed``,
  ``frequency_per_year``, ``median_frequency_per_year``, ``avg_order_value``,
  ``median_avg_order_value``, ``tenure_days`` and, when available, ``full_price_share``,
  ``addon_orders``, ``latest_nps``, ``referrals``.
- status (every code): ``typical_gap_days``, ``gap_source`` (``own`` | ``base``),
  ``days_since_last_order``; ``active``: + ``lapsing_after_days``; ``lapsing``: +
  ``lapsing_after_days``, ``lost_after_days``; ``lost``: + ``lost_after_days``, ``by`` (the
  first that holds of ``rhythm`` / ``max_days`` / ``p_alive``) and ``p_alive`` when given;
  ``won_back``: + ``longest_gap_days`` (the longest gap ended by an order in the last
  ``came_back_within_days``), ``lost_after_days``, ``came_back_within_days``.

``CustomerMap.baseline`` is a one-row table of the base-level figures the rules compared every
customer with (medians, the base's median gap, complaints per order, the RFM bucket edges, the
golden and small revenue thresholds). Executed and handed back as ``customer_map(...,
baseline=row)`` it recomputes a few customers as the full map placed them, without the rest of
the base (the live map): only ``revenue_rank`` and the cumulative revenue shares are then
unknown (null), and golden and small are judged by the frozen revenue thresholds.

``CustomerMap.not_evaluated`` maps every signal / trait (and ``loyal:<evidence>``,
``advocate``, ``review_relationship:<reason>``) that could not be computed for lack of a table
or column to the reason. A label there is absent from every row because it was not looked
at, not because it is false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from regulars.analytics import facts
from regulars.analytics._findings import (
    N_,
    Context,
    codes_array,
    evidence_json,
    evidence_slots,
    flag,
    one_of,
    with_json_text,
)
from regulars.analytics._inputs import as_of_datetime, f64, has, ident, not_after, require
from regulars.analytics.facts import DEFAULT_PARAMS
from regulars.analytics.ladder import rung, status_findings, with_rhythm
from regulars.analytics.params import MapParams
from regulars.analytics.signals import signal_findings
from regulars.analytics.traits import RANK_EDGES, frozen_ranks, rank_edges, ranks, trait_findings

COLUMNS = (
    "customer_id",
    "orders",
    "first_order_at",
    "last_order_at",
    "revenue",
    "avg_order_value",
    "typical_gap_days",
    "days_since_last_order",
    "rung",
    "status",
    "signals",
    "traits",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "evidence",
)

_COUNTS = (
    "referrals",
    "returns",
    "recent_returns",
    "returned_recent_orders",
    "returned_earlier_orders",
    "feedback_complaints",
    "recent_feedback_complaints",
    "logged_complaints",
    "recent_logged_complaints",
    "service_recent",
    "service_earlier",
    "offers_considered",
    "offers_unanswered",
    "overdue_invoices",
    "invoices_considered",
    "invoices_paid",
    "delay_increases",
    "dropped_addons",
    "categories",
)


_BASE_COLUMNS = (
    "base_customers",
    "base_orders",
    "base_revenue",
    "base_median_frequency_per_year",
    "base_median_avg_order_value",
    "base_median_revenue",
    "base_median_gap_days",
)
_BASE_JSON = {
    "base_median_frequency_per_year": 2,
    "base_median_avg_order_value": 2,
    "base_median_revenue": 2,
}


def baseline_schema(params: MapParams) -> pa.Schema:
    """The columns of ``CustomerMap.baseline`` (and of a ``baseline`` row handed back)."""
    ints = {"base_customers", "base_orders"}
    names = [
        *_BASE_COLUMNS,
        "base_issues_per_order",
        *(f"{score}_edge_{k}" for score, _ in RANK_EDGES for k in range(2, params.rfm_bins + 1)),
        "golden_min_revenue",
        "small_max_revenue",
    ]
    return pa.schema([(n, pa.int64() if n in ints else pa.float64()) for n in names])


@dataclass(frozen=True)
class CustomerMap:
    """The customer map: an Ibis table (unexecuted) and what could not be evaluated."""

    customers: ir.Table
    not_evaluated: dict[str, str] = field(default_factory=dict)
    as_of: datetime | None = None
    params: MapParams = field(default_factory=MapParams)
    baseline: ir.Table | None = None
    """One row: the base-level figures to freeze (see the module docstring)."""

    def to_arrow(self) -> Any:
        """Execute on the table's backend (DuckDB for memtables) and return a pyarrow Table."""
        return self.customers.to_pyarrow()


# over 60 lines, one piece: the map is built as one Ibis expression so every engine compiles
# it once (see pyproject's per-file ignores); its signature and docstring are a third of it
def customer_map(
    orders: ir.Table,
    *,
    as_of: datetime | date,
    params: MapParams = DEFAULT_PARAMS,
    customers: ir.Table | None = None,
    returns: ir.Table | None = None,
    invoices: ir.Table | None = None,
    interactions: ir.Table | None = None,
    feedback: ir.Table | None = None,
    referrals: ir.Table | None = None,
    p_alive: ir.Table | None = None,
    baseline: Mapping[str, Any] | None = None,
    flow_only: bool = False,
) -> CustomerMap:
    """Build the customer map of every customer known at ``as_of``.

    Parameters
    ----------
    orders
        ``customer_id, ordered_at, amount`` and optionally ``order_id, discount_amount, cost,
        new_products, categories, addons`` (DOMAIN §2). Orders after ``as_of`` are ignored.
    as_of
        The moment the map describes (a date means its midnight; naive datetimes are UTC).
    params
        Every threshold (``MapParams`` defaults are DOMAIN's).
    customers
        ``customer_id`` (and optionally ``created_at``): customers without orders appear as
        ``prospect``.
    returns, invoices, interactions, feedback, referrals
        Optional tables of DOMAIN §2; each enables more signals and traits.
    p_alive
        ``customer_id, p_alive``: a model's probability that the customer is still active
        (BG/NBD, Pareto/NBD). Enables ``lost`` by model and ``churn_risk``.
    baseline
        A row of ``CustomerMap.baseline`` from an earlier full map: compare these customers
        with that base instead of with each other (for recomputing a few customers).
    flow_only
        Only what the ladder flow reads (:data:`FLOW_COLUMNS`: the rung and status): the
        facts that feed signals, traits, RFM and the evidence alone (categories, returns,
        invoices, interactions, the revenue ranks) are not computed, and ``.baseline`` is
        None. The rungs and statuses are those of the whole map.

    Returns
    -------
    CustomerMap
        ``.customers`` has the columns of :data:`COLUMNS`; ``.not_evaluated`` names what was
        skipped and why.
    """
    rows = facts.order_rows(orders, as_of=as_of, params=params)
    needs_cutoffs = interactions is not None or returns is not None
    per_customer = facts.facts_from_rows(
        rows, as_of=as_of, params=params, with_cutoffs=needs_cutoffs, with_gaps=baseline is None
    )
    frozen = None
    if baseline is None:
        base = facts.base_from(per_customer, params)
        base = base.select(**{f"base_{c}": base[c] for c in base.columns})
    else:
        schema = baseline_schema(params)
        frozen = ibis.memtable(
            pa.Table.from_pylist([{n: baseline.get(n) for n in schema.names}], schema=schema)
        )
        base = frozen.select(*_BASE_COLUMNS)
    base = with_json_text(base, _BASE_JSON)

    missing: dict[str, str] = {}
    _note_order_columns(orders, missing)
    t = spine = _spine(per_customer, customers, as_of)

    cutoffs = per_customer.select(
        "customer_id", "orders", "last2_start_ts",
        *(["recent_start_ts"] if needs_cutoffs else []),
    )
    if has(orders, "addons"):
        t = _attach(t, facts.addon_facts(orders, cutoffs, as_of=as_of, params=params))
    if has(orders, "categories") and not flow_only:
        t = _attach(t, facts.category_facts(orders, as_of=as_of))
    if feedback is None:
        for c in ("latest_nps", "recent_feedback_complaints"):
            missing[c] = N_("no feedback data (feedback table)")
    else:
        if not has(feedback, "nps"):
            missing["latest_nps"] = N_("no NPS answers (feedback.nps)")
        if not has(feedback, "complaint"):
            missing["recent_feedback_complaints"] = N_("no complaint data (feedback.complaint)")
        t = _attach(t, facts.feedback_facts(feedback, as_of=as_of, params=params))
    if flow_only:  # signals and traits alone read these
        interactions = returns = invoices = None
    if interactions is None:
        for c in ("offers_considered", "service_recent", "recent_logged_complaints"):
            missing[c] = N_("no interaction data (interactions table)")
    else:
        if not has(interactions, "responded_at"):
            missing["offers_considered"] = N_("no response data (interactions.responded_at)")
        t = _attach(
            t, facts.interaction_facts(interactions, cutoffs, as_of=as_of, params=params)
        )
    if returns is None:
        missing["returns"] = N_("no return data (returns table)")
    elif not has(orders, "order_id"):
        missing["returns"] = (
            N_("orders have no order_id, so returns cannot be linked (orders.order_id)"))
    else:
        t = _attach(t, facts.return_facts(returns, orders, cutoffs, as_of=as_of, params=params))
    if invoices is None:
        missing["overdue_invoices"] = N_("no invoice data (invoices table)")
    elif not has(invoices, "paid_at"):
        missing["overdue_invoices"] = N_("no payment dates (invoices.paid_at)")
    else:
        t = _attach(t, facts.invoice_facts(invoices, as_of=as_of, params=params))
    if referrals is None:
        missing["referrals"] = N_("no referral data (referrals table)")
    else:
        t = _attach(t, facts.referral_facts(referrals, as_of=as_of))
    if p_alive is None:
        missing["p_alive"] = N_("no model of who is still a customer (p_alive)")
    else:
        t = _attach(t, facts.p_alive_facts(p_alive))

    t = t.fill_null({c: 0 for c in _COUNTS if c in t.columns})
    if flow_only:
        return _flow_map(t.cross_join(base), params, missing, as_of)
    if frozen is None:
        t = _attach(t, ranks(spine, params, prospects=customers is not None))
    else:
        t = _attach(t, frozen_ranks(spine, params, frozen))
    t = t.cross_join(base)
    t = _with_issues(t, missing, baseline)
    t = with_rhythm(t, params)

    ctx = Context(t, params, missing)
    rung_code, rung_found, rung_skipped = rung(ctx)
    status_found = status_findings(ctx)
    signal_found, signal_skipped = signal_findings(ctx)
    trait_found, trait_skipped = trait_findings(ctx)
    # conditions become columns first, so that the arrays and the evidence read them instead
    # of re-evaluating (Ibis keeps a select boundary when inlining would grow the query)
    labelled = [*signal_found, *trait_found]
    t = t.mutate(
        rung=rung_code, **{f"__{f.about}_{f.code}": flag(f.raised) for f in labelled}
    )
    rung_found = [replace(f, raised=t.rung == f.code) for f in rung_found]
    signal_found = [replace(f, raised=t[f"__{f.about}_{f.code}"]) for f in signal_found]
    trait_found = [replace(f, raised=t[f"__{f.about}_{f.code}"]) for f in trait_found]
    slots = [
        one_of(rung_found),
        one_of(status_found),
        *evidence_slots(signal_found),
        *evidence_slots(trait_found),
    ]
    out = t.select(
        *COLUMNS[:8],
        rung=t.rung,
        status=t.status,
        signals=codes_array(signal_found),
        traits=codes_array(trait_found),
        rfm_r=t.rfm_r,
        rfm_f=t.rfm_f,
        rfm_m=t.rfm_m,
        rfm_segment=t.rfm_segment,
        evidence=evidence_json(slots),
    )
    not_evaluated = {**rung_skipped, **signal_skipped, **trait_skipped}
    return CustomerMap(out, not_evaluated, as_of_datetime(as_of), params,
                       _baseline(t, params) if frozen is None else frozen)


FLOW_COLUMNS = ("customer_id", "orders", "first_order_at", "revenue", "rung", "status")
"""The columns of a ``flow_only`` map."""


def _flow_map(t: ir.Table, params: MapParams, missing: dict[str, str],
              as_of: datetime | date) -> CustomerMap:
    """The rung and status of every customer of ``t`` (facts and base joined)."""
    t = with_rhythm(t, params)
    rung_code, _found, skipped = rung(Context(t, params, missing))
    out = t.select(*FLOW_COLUMNS[:4], rung=rung_code, status=t.status)
    return CustomerMap(out, skipped, as_of_datetime(as_of), params, None)


def _baseline(t: ir.Table, params: MapParams) -> ir.Table:
    """The one-row table of figures that freeze this map's base (``CustomerMap.baseline``)."""
    schema = baseline_schema(params)
    aggs: dict[str, ir.Value] = {c: t[c].max() for c in _BASE_COLUMNS}
    aggs["base_issues_per_order"] = (
        t.base_issues_per_order.max() if "base_issues_per_order" in t.columns
        else ibis.null("float64")
    )
    aggs.update(rank_edges(t, params.rfm_bins))
    aggs["golden_min_revenue"] = t.revenue.cast("float64").min(where=t["__trait_golden"])
    aggs["small_max_revenue"] = t.revenue.cast("float64").max(where=t["__trait_small"])
    row = t.aggregate(**aggs)
    return row.select(*[
        row[n].cast("int64" if pa.types.is_integer(schema.field(n).type) else "float64")
        for n in schema.names
    ])


def _note_order_columns(orders: ir.Table, missing: dict[str, str]) -> None:
    for fact, column, why in (
        ("discounted_orders", "discount_amount", N_("no discount data (orders.discount_amount)")),
        ("recent_margin", "cost", N_("no cost data (orders.cost)")),
        ("new_product_orders", "new_products", N_("no new-product data (orders.new_products)")),
        ("addon_orders", "addons", N_("no add-on data (orders.addons)")),
        ("dropped_addons", "addons", N_("no add-on data (orders.addons)")),
        ("categories", "categories", N_("no category data (orders.categories)")),
    ):
        if not has(orders, column):
            missing[fact] = why


def _spine(facts: ir.Table, customers: ir.Table | None, as_of: datetime | date) -> ir.Table:
    """Customers with orders, plus known customers without orders (prospects)."""
    if customers is None:
        return facts
    require(customers, "customers", ("customer_id",))
    known = customers
    if has(customers, "created_at"):
        known = customers.filter(
            customers.created_at.isnull() | not_after(customers.created_at, as_of)
        )
    ids = known.select(customer_id=ident(known.customer_id)).distinct()
    prospects = ids.anti_join(facts, "customer_id")
    nulls: dict[str, ir.Value] = {}
    for name, dtype in facts.schema().items():
        if name == "customer_id":
            continue
        if name == "orders":
            nulls[name] = ibis.literal(0, type=dtype)
        elif name == "revenue":
            nulls[name] = ibis.literal(0.0, type=dtype)
        else:
            nulls[name] = ibis.null(dtype)
    prospects = prospects.select("customer_id", **nulls)
    return facts.union(prospects)


def _attach(t: ir.Table, side: ir.Table) -> ir.Table:
    """Left-join a per-customer table on customer_id, keeping one customer_id column."""
    j = t.left_join(side, "customer_id")
    extra = [side[c] for c in side.columns if c != "customer_id"]
    return j.select(*[t[c] for c in t.columns], *extra)


def _with_issues(
    t: ir.Table, missing: dict[str, str], baseline: Mapping[str, Any] | None = None
) -> ir.Table:
    """Complaints and returns per customer and per order of the base, for the problem trait
    (needs any one source); with a frozen ``baseline`` the base's rate is the baseline's."""
    parts = [c for c in ("feedback_complaints", "logged_complaints", "returns") if c in t.columns]
    if not parts:
        sources = ("returns", "recent_feedback_complaints", "recent_logged_complaints")
        missing["issues"] = "; ".join(dict.fromkeys(missing[c] for c in sources if c in missing))
        return t
    total: ir.IntegerValue = ibis.literal(0, type="int64")
    for c in parts:
        total = total + t[c].fill_null(0)
    t = t.mutate(issues=total)
    if baseline is not None:
        frozen = baseline.get("base_issues_per_order")
        rate = ibis.memtable(pa.table({"base_issues_per_order": pa.array(
            [None if frozen is None else float(frozen)], pa.float64())}))
        return t.cross_join(with_json_text(rate, {"base_issues_per_order": 4}))
    buyers = t.filter(t.orders > 0)
    rate = buyers.aggregate(
        base_issues_per_order=buyers.issues.sum().cast("float64")
        / buyers.orders.sum().cast("float64").nullif(f64(0.0))
    )
    return t.cross_join(with_json_text(rate, {"base_issues_per_order": 4}))
