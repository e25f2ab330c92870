"""The live map recomputes only the customers an ingest touched, against the baseline the last
rebuild froze, and places them as a full rebuild does."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

import pytest

from regulars import api
from regulars.demo import DemoSpec, generate_business
from regulars.domain.tables import SPECS, Kind
from regulars.services.live_map import MapComputer

I = "integration"  # noqa: E741
SPEC = DemoSpec(customers=300, seed=3)


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"live_map": True}


def _text(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, list):
        return ";".join(v)
    return v if isinstance(v, (bool, str)) else str(v)


def served(services: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = {}
    for cid in ids:
        card = services.store.customer_card(cid)
        rows[cid] = card["map"]
    return rows


def test_touched_customers_are_recomputed_alone_and_land_where_a_rebuild_puts_them(
        call, services, api_settings, monkeypatch):
    data = generate_business(SPEC)
    # over HTTP, as a shop would (an import from this process would open the SQLite file
    # through a second copy of SQLite: see adapters/db/api_store.py)
    for kind, path in (("customers", "/v1/customers"), ("orders", "/v1/orders"),
                       ("returns", "/v1/returns")):
        names = SPECS[Kind(kind)].names
        rows = [{k: _text(v) for k, v in r.items() if k in names and v is not None}
                for r in data[kind].to_pylist()]
        for start in range(0, len(rows), 1000):
            r = call(I, "POST", path, json=rows[start:start + 1000])
            assert r.status_code in (200, 201), r.text[:1000]
    assert services.live.flush(120)  # nothing from the import left for the worker
    state = services.rebuild_map()
    assert json.loads(services.store.map_state()["baseline"])["base"]["base_median_gap_days"] > 0
    assert state["customers"] > 250
    # the card carries the predictions, the same as `regulars analyze` makes of the same data
    import regulars

    result = regulars.analyze(data["orders"], customers=data["customers"],
                              returns=data["returns"])
    expected = {r["customer_id"]: r for r in result.customers.to_arrow().to_pylist()}
    some = sorted(expected)[:20]
    assert sum(expected[c]["p_alive"] is not None for c in some) >= 10
    for cid in some:
        card = call("readonly", "GET", f"/v1/customers/{cid}").json()
        got, want = card["predictions"], expected[cid]
        if want["p_alive"] is None:  # no orders: nothing to predict from
            assert got is None, cid
            continue
        assert got is not None and got["expected_orders_days"] == 90, cid
        assert got["p_alive"] == pytest.approx(want["p_alive"], rel=1e-6, abs=1e-9)
        assert got["expected_orders"] == pytest.approx(want["expected_orders_90d"], rel=1e-6)
        assert got["clv"] == pytest.approx(want["clv"], rel=1e-6, abs=1e-9)
        assert got["value_at_risk"] == pytest.approx(want["value_at_risk"], rel=1e-6, abs=1e-9)

    # five customers order again on the last day of the history
    buyers = sorted({r["customer_id"] for r in data["orders"].to_pylist()})[:5]
    day = datetime.combine(SPEC.end, time(12, 0)).isoformat()
    orders = [{"order_id": f"LIVE{i}", "customer_id": cid, "ordered_at": day,
               "amount": "99.00"} for i, cid in enumerate(buyers)]
    # spy first: the server's live worker may refresh as soon as the orders arrive
    recomputed: list[int] = []
    real = MapComputer.refresh  # the live worker's step (self lands in `settings`)

    def spy(settings: Any, tables: Any, frozen: Any, as_of: Any, snapshot: Any,
            *rest: Any) -> Any:
        recomputed.append(tables[Kind.ORDERS].num_rows)
        return real(settings, tables, frozen, as_of, snapshot, *rest)

    monkeypatch.setattr(MapComputer, "refresh", spy)
    assert call(I, "POST", "/v1/orders", json=orders).status_code in (200, 201)
    assert services.live.flush(120)
    # one refresh, from the touched customers' own orders only
    everyone = data["orders"].num_rows + len(orders)
    assert len(recomputed) == 1 and 0 < recomputed[0] < everyone / 10
    live = served(services, buyers)

    services.rebuild_map()
    full = served(services, buyers)
    for cid in buyers:
        assert live[cid]["orders"] == full[cid]["orders"]
        for column in ("rung", "status", "signals", "traits", "revenue"):
            assert live[cid][column] == full[cid][column], (cid, column)
        # the live row is predicted with the models the rebuild froze; the next rebuild
        # refits them on the five new orders too, which moves P(alive) only a little
        assert live[cid]["p_alive"] is not None and full[cid]["p_alive"] is not None
        assert abs(live[cid]["p_alive"] - full[cid]["p_alive"]) < 0.05, cid
        assert live[cid]["expected_orders_days"] == 90


def test_the_compiled_refresh_gives_the_rows_a_fresh_compile_gives(call, services, api_settings):
    data = generate_business(DemoSpec(customers=120, seed=5))
    names = SPECS[Kind.ORDERS].names
    rows = [{k: _text(v) for k, v in r.items() if k in names and v is not None}
            for r in data["orders"].to_pylist()]
    for start in range(0, len(rows), 1000):
        assert call(I, "POST", "/v1/orders", json=rows[start:start + 1000]).status_code == 201
    services.rebuild_map()
    state = services.store.map_state()
    frozen = json.loads(state["baseline"])
    people = sorted({r["customer_id"] for r in rows})
    live = api.live_engine()
    try:
        for batch in (people[:3], people[3:10], people[10:11]):
            touched = {k: services.store.read_rows(k, batch) for k in Kind}
            fresh, at = api.refresh_map(api_settings, touched, frozen, None, state["as_of"])
            reused, at2 = api.refresh_map(api_settings, touched, frozen, None,
                                          state["as_of"], live)
            assert at == at2
            assert reused.sort_by("customer_id").to_pylist() == \
                fresh.sort_by("customer_id").to_pylist()
            assert set(batch) <= set(reused.column("customer_id").to_pylist())
        assert live.session()[1].compiles == 1  # one query for the three refreshes
        # another moment is another query
        later = datetime.combine(SPEC.end, time(23, 0))
        api.refresh_map(api_settings, touched, frozen, later, state["as_of"], live)
        assert live.session()[1].compiles == 2
    finally:
        live.close()


def test_a_backlog_is_refreshed_in_parts_and_health_counts_what_waits(call, services):
    assert call("readonly", "GET", "/v1/health").json()["live_pending"] == 0
    services.live.stop()  # hold the worker: the orders below wait for it
    services.live.max_batch = 2
    refreshes = services.live.stats.refreshes
    orders = [{"order_id": f"Q{i}", "customer_id": f"Q{i}", "ordered_at": "2024-05-01T10:00:00",
               "amount": "10.00"} for i in range(5)]
    assert call(I, "POST", "/v1/orders", json=orders).status_code == 201
    assert services.live.pending() == 5
    assert call("readonly", "GET", "/v1/health").json()["live_pending"] == 5
    assert services.live.flush(120)  # no worker thread: refreshes here, in parts
    assert services.live.stats.refreshes - refreshes == 3  # 2 + 2 + 1
    assert services.live.pending() == 0
    for i in range(5):
        assert services.store.customer_card(f"Q{i}")["map"]["orders"] == 1


def test_a_live_refresh_ranks_its_customers_by_money_at_stake_as_the_full_map_did(
        call, services, api_settings):
    data = generate_business(DemoSpec(customers=150, seed=8))
    names = SPECS[Kind.ORDERS].names
    rows = [{k: _text(v) for k, v in r.items() if k in names and v is not None}
            for r in data["orders"].to_pylist()]
    for start in range(0, len(rows), 1000):
        assert call(I, "POST", "/v1/orders", json=rows[start:start + 1000]).status_code == 201
    services.rebuild_map()
    state = services.store.map_state()
    frozen = json.loads(state["baseline"])
    assert frozen["stake"]["basis"] == "history" and frozen["stake"]["base_gap_days"] > 0
    full = api.full_analysis(api_settings, state["as_of"],
                             tables={k: services.store.read_table(k) for k in Kind})
    want = {r["customer_id"]: r for r in full.customers.to_arrow().to_pylist()}
    batch = sorted({r["customer_id"] for r in rows})[:12]
    touched = {k: services.store.read_rows(k, batch) for k in Kind}
    live, _ = api.refresh_map(api_settings, touched, frozen, None, state["as_of"])
    got = {r["customer_id"]: r for r in live.to_pylist()}
    for cid in batch:
        # the same situation and the same history: the same money at stake and its evidence
        for column in ("money_at_stake", "p_gone", "expected_revenue"):
            assert got[cid][column] == want[cid][column], (cid, column)
        stake = [e for e in json.loads(got[cid]["evidence"]) if e["about"] == "stake"]
        assert stake == [e for e in json.loads(want[cid]["evidence"]) if e["about"] == "stake"]
