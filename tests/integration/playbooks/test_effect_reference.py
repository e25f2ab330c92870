"""The report's SQL against a plain Python reading of the same rows: random journeys, orders
and returns (orders at a journey's very start and at its window's very end included), on
SQLite and PostgreSQL. Any disagreement in a count or a sum is a bug in one of the two."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.playbook_report import SqlPlaybookReport
from regulars.adapters.db.tables import INPUT_TABLES, playbook_journeys
from regulars.domain.tables import Kind
from regulars.services.playbooks.effect import ReportFilter, Window

AS_OF = datetime(2026, 6, 1)
WINDOWS = {"a": Window(30), "b": Window(10)}
DEFAULT = Window(20)  # playbook "c"


def _data(seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    rng = random.Random(seed)
    journeys, orders, returns = [], [], []
    for i in range(150):
        playbook = rng.choice("abc")
        window = WINDOWS.get(playbook, DEFAULT).days
        at = datetime(2026, 3, 1) + timedelta(minutes=rng.randrange(90 * 24 * 60))
        cid = f"C{rng.randrange(100)}"  # some customers in several journeys
        journeys.append({"journey_id": f"j{i}", "playbook": playbook,
                         "version": rng.choice("12"), "customer_id": cid, "entry_key": f"k{i}",
                         "arm": "control" if rng.random() < 0.2 else "treated",
                         "entered_at": at, "state": "active", "ended_at": None,
                         "end_reason": None, "goal_at": None})
        for k in range(rng.randrange(4)):
            when = rng.choice([at, at + timedelta(days=window),
                               at + timedelta(days=window, seconds=1),
                               at - timedelta(hours=1),
                               at + timedelta(minutes=rng.randrange(window * 2 * 24 * 60))])
            oid = f"o{i}-{k}"
            amount = round(rng.uniform(1, 300), 2)
            orders.append({"order_id": oid, "customer_id": cid, "ordered_at": when,
                           "amount": amount, "row_hash": oid.ljust(32, "0")[:32]})
            if rng.random() < 0.3:
                returns.append({"return_id": f"r{oid}", "order_id": oid,
                                "returned_at": when + timedelta(days=rng.randrange(40)),
                                "amount": round(amount * rng.random(), 2),
                                "row_hash": f"r{oid}".ljust(32, "0")[:32]})
    return journeys, orders, returns


def _reference(journeys: list[dict], orders: list[dict],
               returns: list[dict]) -> dict[tuple[str, str, str], tuple]:
    by_customer = defaultdict(list)
    for o in orders:
        by_customer[o["customer_id"]].append(o)
    returned = defaultdict(list)
    for r in returns:
        returned[r["order_id"]].append(r)
    out: dict[tuple[str, str, str], list] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0, 0, 0])
    for j in journeys:
        if j["entered_at"] > AS_OF:
            continue
        days = WINDOWS.get(j["playbook"], DEFAULT).days
        start, end = j["entered_at"], j["entered_at"] + timedelta(days=days)
        acc = out[(j["playbook"], j["version"], j["arm"])]
        acc[0] += 1
        if end > AS_OF:
            continue
        acc[1] += 1
        mine = [o for o in by_customer[j["customer_id"]] if start < o["ordered_at"] <= end]
        revenue = sum(o["amount"] for o in mine) - sum(
            r["amount"] for o in mine for r in returned[o["order_id"]]
            if r["returned_at"] <= end)
        acc[2] += bool(mine)
        acc[3] += revenue
        acc[4] += revenue * revenue
        acc[5] += len(mine)
        acc[6] += len(mine) ** 2
    return {k: tuple(v) for k, v in out.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_agrees_with_python(store_url: str, seed: int) -> None:
    journeys, orders, returns = _data(seed)
    store = SqlApiStore(store_url)
    try:
        with store.writer.begin() as conn:
            conn.execute(playbook_journeys.insert(), journeys)
            conn.execute(INPUT_TABLES[Kind.ORDERS].insert(), orders)
            if returns:
                conn.execute(INPUT_TABLES[Kind.RETURNS].insert(), returns)
        got = {(r.playbook, r.version, r.arm): (r.entrants, r.closed, r.goals, r.revenue,
                                                 r.revenue_squares, r.orders, r.orders_squares)
               for r in SqlPlaybookReport(store).arms(ReportFilter(as_of=AS_OF), WINDOWS,
                                                      DEFAULT)}
    finally:
        store.close()
    expected = _reference(journeys, orders, returns)
    assert set(got) == set(expected)
    for key, (n, closed, goals, revenue, squares, orders, orders_sq) in expected.items():
        assert got[key][:3] == (n, closed, goals), key
        assert got[key][5:] == (orders, orders_sq), key
        assert got[key][3] == pytest.approx(revenue, abs=1e-6), key
        assert got[key][4] == pytest.approx(squares, rel=1e-9, abs=1e-6), key
