"""Today's worklist at scale (issue 18): 1M customers and 50 managers in at most 5 s.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_worklist.py [--customers 1000000]

Ours: :func:`regulars.services.worklist.build` over a customer map, the customers table and
the interactions, as ``regulars worklist`` calls it once the map is there (reasons, the small-
customer rule, assignment, due dates and buckets in each manager's zone, recontact and the
contact policy for the rows each list reaches, the evidence sentences of the listed rows).

The named peer: DuckDB answering "the top ``capacity`` customers by money at stake per
manager" with a window query over the same map (``ROW_NUMBER() OVER (PARTITION BY manager
ORDER BY money_at_stake DESC)``): what a plain SQL report of "whom to call" costs, without
reasons, buckets, consent or caps. The ratio says what the rules cost on top of it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa

from regulars.domain import contact_policy as cp
from regulars.domain import worklist as wl
from regulars.services import worklist as service

SIGNALS = ("overdue", "shrinking_orders", "detractor", "dropped_addons", "widening_gaps",
           "unresponsive")
STATUSES = ("active", "lapsing", "lost", "won_back")
RUNGS = ("newcomer", "returning", "regular", "loyal")
DAY = date(2025, 12, 31)


def business(n: int, managers: int, seed: int = 1) -> tuple[pa.Table, pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    ids = pa.array([f"C{i:07d}" for i in range(n)])
    status = np.asarray(STATUSES, dtype=object)[rng.choice(4, n, p=[0.55, 0.15, 0.25, 0.05])]
    rung = np.asarray(RUNGS, dtype=object)[rng.choice(4, n, p=[0.55, 0.15, 0.2, 0.1])]
    # 0-2 signals a customer, most have none
    k = rng.choice(3, n, p=[0.7, 0.22, 0.08])
    offsets = np.concatenate([[0], np.cumsum(k)])
    flat = np.asarray(SIGNALS, dtype=object)[rng.integers(0, len(SIGNALS), int(k.sum()))]
    signals = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(flat, pa.string()))
    revenue = np.round(rng.lognormal(4.5, 1.2, n), 2)
    money = np.round(revenue * rng.uniform(0, 0.6, n), 2)
    last_order = pa.array(np.datetime64("2025-12-31T12:00:00.000000") - rng.integers(0, 900, n)
                          .astype("timedelta64[D]").astype("timedelta64[us]"), pa.timestamp("us"))
    evidence = pa.array([json.dumps([{"about": "signal", "code": "overdue",
                                      "typical_gap_days": 30, "gap_source": "own",
                                      "days_since_last_order": 52, "overdue_after_days": 36,
                                      "days_overdue": 22}])] * n)
    names = [f"Manager {m:02d}" for m in range(managers)]
    manager = np.asarray(names, dtype=object)[rng.integers(0, managers, n)]
    manager[rng.random(n) < 0.3] = None  # a third without a manager: shared out
    customers = pa.table({
        "customer_id": ids, "name": pa.array([f"Customer {i}" for i in range(n)]),
        "email": pa.array([f"c{i}@example.com" for i in range(n)]), "phone": pa.nulls(n,
                                                                                     pa.string()),
        "manager": pa.array(manager, pa.string()),
        **{f"consent_{c}": pa.array(rng.random(n) < 0.7) for c in cp.CHANNELS},
        "do_not_contact": pa.array(rng.random(n) < 0.02), "attributes": pa.nulls(n, pa.string()),
    })
    map_rows = pa.table({"customer_id": ids, "status": pa.array(status, pa.string()),
                         "rung": pa.array(rung, pa.string()), "signals": signals,
                         "revenue": revenue, "money_at_stake": money,
                         "last_order_at": last_order, "evidence": evidence})
    m = 2 * n  # two outgoing contacts a customer on average
    who = rng.integers(0, n, m)
    interactions = pa.table({
        "customer_id": ids.take(pa.array(who)),
        "at": pa.array(np.datetime64("2025-12-31T12:00:00.000000") - rng.integers(0, 700 * 24, m)
                       .astype("timedelta64[h]").astype("timedelta64[us]"), pa.timestamp("us")),
        "channel": pa.array(np.asarray(["email", "phone", "sms"], dtype=object)[
            rng.integers(0, 3, m)], pa.string()),
        "direction": pa.array(np.where(rng.random(m) < 0.8, "out", "in"), pa.string()),
        "kind": pa.array(np.asarray(["offer", "call", "greeting"], dtype=object)[
            rng.integers(0, 3, m)], pa.string()),
        "manager": pa.array(np.where(rng.random(m) < 0.3, "Manager 00", None), pa.string()),
    })
    return map_rows, customers, interactions


def ours(map_rows: pa.Table, customers: pa.Table, interactions: pa.Table) -> tuple[float, int]:
    rules = wl.WorklistRules()
    policy = cp.ContactPolicy()
    t = time.perf_counter()
    result = service.build(map_rows, rules=rules, policy=policy, on=DAY, profiles=customers,
                           interactions=interactions)
    took = time.perf_counter() - t
    return took, sum(len(lst.items) for lst in result.lists)


def peer(map_rows: pa.Table, customers: pa.Table, capacity: int = 15) -> tuple[float, int]:
    con = duckdb.connect()
    con.register("map_rows", map_rows.select(["customer_id", "money_at_stake"]))
    con.register("customers", customers.select(["customer_id", "manager"]))
    t = time.perf_counter()
    rows = con.sql(f"""
        SELECT * FROM (
          SELECT c.manager, m.customer_id, m.money_at_stake,
                 ROW_NUMBER() OVER (PARTITION BY c.manager
                                    ORDER BY m.money_at_stake DESC, m.customer_id) AS k
          FROM map_rows m JOIN customers c USING (customer_id)
        ) WHERE k <= {capacity}""").to_arrow_table()
    took = time.perf_counter() - t
    con.close()
    return took, rows.num_rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t = time.perf_counter()
    map_rows, customers, interactions = business(args.customers, args.managers)
    print(f"generated {args.customers:,} customers, {interactions.num_rows:,} interactions, "
          f"{args.managers} managers in {time.perf_counter() - t:.1f} s")
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}, duckdb {duckdb.__version__}")
    mine = [ours(map_rows, customers, interactions) for _ in range(args.repeat)]
    theirs = [peer(map_rows, customers) for _ in range(args.repeat)]
    best, listed = min(m[0] for m in mine), mine[0][1]
    pbest, prows = min(p[0] for p in theirs), theirs[0][1]
    print(f"ours: best {best:.2f} s of {args.repeat} ({', '.join(f'{m[0]:.2f}' for m in mine)})"
          f", {listed:,} customers listed")
    print(f"peer (DuckDB top-{15} per manager): best {pbest:.2f} s "
          f"({', '.join(f'{p[0]:.2f}' for p in theirs)}), {prows:,} rows")
    print(f"ratio ours / peer: {best / pbest:.1f}x; target <= 5 s: "
          f"{'met' if best <= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
