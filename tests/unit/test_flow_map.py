"""The ladder flow's map (``customer_map(..., flow_only=True)``) places every customer on the
rung and in the status the whole map does, from every table a business can have."""

from __future__ import annotations

from datetime import datetime, time

import ibis
import pytest

from regulars.analytics.customer_map import FLOW_COLUMNS, customer_map
from regulars.analytics.params import MapParams
from regulars.demo import DemoSpec, generate_business

SPEC = DemoSpec(customers=1500, seed=3, chunk_customers=500)
KINDS = ("customers", "returns", "invoices", "interactions", "feedback", "referrals")


@pytest.fixture(scope="module")
def business() -> dict[str, ibis.Table]:
    return {k: ibis.memtable(t) for k, t in generate_business(SPEC).items() if k != "truth"}


@pytest.mark.parametrize("days_before_end", [0, 365])
def test_the_flow_map_has_the_whole_maps_rungs_and_statuses(business, days_before_end):
    from datetime import timedelta

    at = datetime.combine(SPEC.end - timedelta(days=days_before_end), time.max)
    params = MapParams()
    tables = {k: business[k] for k in KINDS}
    whole = customer_map(business["orders"], as_of=at, params=params, **tables)
    flow = customer_map(business["orders"], as_of=at, params=params, flow_only=True, **tables)
    expected = whole.customers.select(*FLOW_COLUMNS).order_by("customer_id").to_pyarrow()
    got = flow.customers.order_by("customer_id").to_pyarrow()
    assert got.column_names == list(FLOW_COLUMNS)
    assert got.equals(expected)
    # the business is varied enough for the comparison to mean something
    assert len(set(got.column("rung").to_pylist())) >= 5
    assert len(set(got.column("status").to_pylist())) >= 4
    assert flow.baseline is None
