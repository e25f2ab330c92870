"""Recomputing a few customers against a frozen baseline places them as the full map does.

The live map (an order arrives, that customer's row is recomputed) compares the customer with
the base as the last full map saw it. Here a generated business is mapped in full, its
baseline executed, and then a sample of customers is recomputed from their own rows only: every
column must match the full map, except what needs every customer (the revenue rank and the
cumulative shares in the golden and small evidence) and RFM scores of customers whose value
ties with a bucket edge (ntile splits a tie by customer id, a frozen edge cannot).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, time
from typing import Any

import ibis
import pyarrow as pa
import pytest

from regulars.analytics.customer_map import baseline_schema, customer_map
from regulars.analytics.params import MapParams
from regulars.analytics.traits import RANK_EDGES
from regulars.demo import DemoSpec, generate_business

SPEC = DemoSpec(customers=800, seed=5)
AS_OF = datetime.combine(SPEC.end, time(23, 59, 59))
RANK_ONLY = {"revenue_rank", "cumulative_share", "cumulative_share_from_bottom",
             "min_revenue", "max_revenue"}


def _tables(data: dict[str, pa.Table], ids: set[str] | None) -> dict[str, Any]:
    def keep(t: pa.Table, column: str) -> ibis.Table:
        if ids is None:
            return ibis.memtable(t)
        mask = pa.array([v in ids for v in t.column(column).to_pylist()])
        return ibis.memtable(t.filter(mask))

    orders = data["orders"]
    out = {
        "customers": keep(data["customers"], "customer_id"),
        "invoices": keep(data["invoices"], "customer_id"),
        "interactions": keep(data["interactions"], "customer_id"),
        "feedback": keep(data["feedback"], "customer_id"),
        "referrals": keep(data["referrals"], "referrer_id"),
    }
    kept = orders if ids is None else orders.filter(
        pa.array([v in ids for v in orders.column("customer_id").to_pylist()]))
    order_ids = set(kept.column("order_id").to_pylist())
    returns = data["returns"].filter(
        pa.array([v in order_ids for v in data["returns"].column("order_id").to_pylist()]))
    out["returns"] = ibis.memtable(returns)
    out["orders"] = ibis.memtable(kept)
    return out


@pytest.fixture(scope="module")
def business() -> dict[str, pa.Table]:
    return generate_business(SPEC)


def _rows(table: pa.Table) -> dict[str, dict[str, Any]]:
    return {r["customer_id"]: r for r in table.to_pylist()}


def _on_edge(row: dict[str, Any], baseline: dict[str, Any], score: str, column: str) -> bool:
    value = {"last_ts": row["last_order_at"].timestamp() if row["last_order_at"] else None,
             "orders": row["orders"], "revenue": row["revenue"]}[column]
    return value is not None and any(
        baseline[f"{score}_edge_{k}"] is not None
        and abs(float(value) - baseline[f"{score}_edge_{k}"]) < 1e-6
        for k in range(2, MapParams().rfm_bins + 1))


def test_a_few_customers_recomputed_against_the_baseline_match_the_full_map(business):
    full = customer_map(as_of=AS_OF, **_tables(business, None))
    baseline = full.baseline.to_pyarrow().to_pylist()
    assert len(baseline) == 1
    frozen = baseline[0]
    assert set(frozen) == set(baseline_schema(MapParams()).names)
    assert frozen["base_median_gap_days"] > 0 and frozen["golden_min_revenue"] > 0
    everyone = _rows(full.to_arrow())

    ids = set(random.Random(1).sample(sorted(everyone), 120))
    part = customer_map(as_of=AS_OF, baseline=frozen, **_tables(business, ids))
    again = _rows(part.to_arrow())
    assert set(again) == ids

    compared = 0
    for cid in sorted(ids):
        want, got = everyone[cid], again[cid]
        ties = {score for score, column in RANK_EDGES if _on_edge(want, frozen, score, column)}
        for column, value in want.items():
            if column == "evidence" or column in ties:
                continue
            if column == "rfm_segment" and ties & {"rfm_r", "rfm_f"}:
                continue
            assert got[column] == value, (cid, column)
        w = {(e["about"], e["code"]): e for e in json.loads(want["evidence"])}
        g = {(e["about"], e["code"]): e for e in json.loads(got["evidence"])}
        assert set(g) == set(w), cid
        for key, e in w.items():
            assert {k: v for k, v in g[key].items() if k not in RANK_ONLY} == {
                k: v for k, v in e.items() if k not in RANK_ONLY}, (cid, key)
        compared += 1
    assert compared == 120
