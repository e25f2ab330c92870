"""The playbooks' feed on a large store (issue 20): one pass over N customers with date,
change and cadence triggers, on SQLite (or ``--url`` PostgreSQL).

    .venv/bin/python benchmarks/bench_playbook_feed.py --customers 100000

Builds a store of N customers (birthdays, a first order each, country and founding-date
attributes, a map row and a loyalty tier for every one) and times: the first pass (the
changes' baseline: every standing written), a quiet next day (what a nightly pass costs), a
day when 10 % of the map moved (change entries and their facts written), a 400-day catch-up of
date triggers, and a quarter's cadence entries for every customer. Prints one line a step.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from regulars import bootstrap
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import INPUT_TABLES, loyalty_members, map_customers
from regulars.domain.playbooks.model import Exit, Playbook, Trigger
from regulars.domain.tables import Kind


def _book(name: str, **trigger: object) -> Playbook:
    return Playbook(name=name, title=name, set="bench", trigger=Trigger(**trigger),  # type: ignore[arg-type]
                    steps=(Exit("end"),))


BOOKS = [
    _book("birthday", kind="date", base="birthday", offset_days=-1),
    _book("anniversary", kind="date", base="first_order_anniversary"),
    _book("founded", kind="date", base="attribute", attribute="founded"),
    _book("new_year", kind="date", base="holiday", holiday="new_year", offset_days=-3),
    _book("victory", kind="date", base="holiday", holiday="victory_day"),
    _book("regular", kind="change", field="rung", to="regular"),
    _book("overdue", kind="change", field="signal", to="overdue"),
    _book("quarterly", kind="cadence", every="quarter", offset_days=14),
]


def build(store: SqlApiStore, n: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    customers, orders, maps, members = [], [], [], []
    as_of = datetime(2027, 1, 1)
    for i in range(n):
        cid = f"C{i:07d}"
        born = date(1950, 1, 1) + timedelta(days=rnd.randrange(365 * 50))
        first = datetime(2015, 1, 1) + timedelta(days=rnd.randrange(365 * 11))
        founded = date(1990, 1, 1) + timedelta(days=rnd.randrange(365 * 30))
        country = "RU" if i % 3 == 0 else "EE"
        customers.append({"customer_id": cid, "birthday": born, "row_hash": "x", "stub": False,
                          "attributes": f"country={country};founded={founded.isoformat()}"})
        orders.append({"order_id": f"O{i:07d}", "customer_id": cid, "ordered_at": first,
                       "amount": 10, "row_hash": "x"})
        maps.append({"customer_id": cid, "orders": 1, "rung": rnd.choice(["new", "repeat"]),
                     "status": "active", "signals": "[]", "traits": "[]", "evidence": "[]",
                     "evidence_text": "[]", "as_of": as_of, "updated_at": as_of,
                     "first_order_at": first, "last_order_at": first})
        members.append({"member_id": cid, "enrolled_at": as_of, "consent": True,
                        "tier": "base", "balance": 0, "pending": 0, "debt": 0, "deficit": 0,
                        "earned_total": 0, "stored_value": 0})
    with store.writer.begin() as conn:
        for table, rows in ((INPUT_TABLES[Kind.CUSTOMERS], customers),
                            (INPUT_TABLES[Kind.ORDERS], orders), (map_customers, maps),
                            (loyalty_members, members)):
            for i in range(0, n, 5000):
                conn.execute(table.insert(), rows[i:i + 5000])


def move(store: SqlApiStore, n: int, share: float, seed: int = 2) -> int:
    rnd = random.Random(seed)
    moved = rnd.sample(range(n), int(n * share))
    with store.writer.begin() as conn:
        for i in moved:
            conn.execute(map_customers.update().where(
                map_customers.c.customer_id == f"C{i:07d}").values(
                rung="regular", signals=json.dumps(["overdue"]), as_of=datetime(2027, 1, 9)))
    return len(moved)


def timed(label: str, feed, now: datetime, **kw) -> None:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    got = feed.entries(now, BOOKS, **kw)
    s = time.perf_counter() - t
    by: dict[str, int] = {}
    for e in got:
        by[e.playbook] = by.get(e.playbook, 0) + 1
    print(f"{label:<44} {s:7.2f} s  {len(got):>8,} entries  {dict(sorted(by.items()))}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--url", default=None, help="a store URL (default: a fresh SQLite file)")
    ap.add_argument("--year", action="store_true",
                    help="also a simulated year: a pass a day, the dates read once")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        settings = bootstrap.load_settings(database_url=url, timezone="Europe/Tallinn")
        store = bootstrap.open_api_store(settings)
        t = time.perf_counter()
        build(store, args.customers)
        print(f"{'build the store':<44} {time.perf_counter() - t:7.2f} s")
        feed = bootstrap.open_playbook_feed(settings, store)
        timed("first pass (baseline of every standing)", feed, datetime(2027, 1, 1, 22))
        timed("a quiet day (dates of one day, no change)", feed, datetime(2027, 1, 2, 22))
        n = move(store, args.customers, 0.10)
        timed(f"a day when {n:,} customers moved", feed, datetime(2027, 1, 3, 22))
        timed("catch-up: 365 days of date triggers", feed, datetime(2028, 1, 3, 22),
              dry_run=True)
        timed("a quarter starts (cadence for everyone)", feed, datetime(2027, 1, 15, 22),
              dry_run=True)
        if args.year:
            sim = bootstrap.open_playbook_feed(settings, store, steady_dates=True)
            t = time.perf_counter()
            entries = 0
            for day in range(365):
                entries += len(sim.entries(datetime(2027, 1, 4, 22) + timedelta(days=day),
                                           BOOKS))
            print(f"{'a simulated year: 365 daily passes':<44} {time.perf_counter() - t:7.2f} s"
                  f"  {entries:>8,} entries")
        store.close()


if __name__ == "__main__":
    main()
