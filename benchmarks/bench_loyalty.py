"""Orders accrued per second through the loyalty service layer (issue 5).

    .venv/bin/python benchmarks/bench_loyalty.py                      # SQLite only
    .venv/bin/python benchmarks/bench_loyalty.py --postgres postgresql+psycopg://u@host:5432/db

Each run starts from an empty store (a temporary SQLite file; a fresh PostgreSQL database
created next to the one named), enrols the members, then accrues orders through
``LoyaltyService.accrue`` (one transaction per order) and ``accrue_many`` (one transaction per
batch). The programme is the built-in default (four tiers, so every order also checks for a
tier upgrade over the member's rolling year). Every order is a real write: the operation key,
the accrual, the lot, the ledger entry and the member's cached figures. The books are checked
(``verify``) after each run.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
from regulars.bootstrap import loyalty_programme
from regulars.config import load_settings
from regulars.domain.loyalty import Purchase
from regulars.services.loyalty import LoyaltyService

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines()
                      if x.startswith("MemTotal")).split()[1])
        mem = f", RAM {kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} logical cores{mem}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}")


def orders(n: int, members: int, seed: int, prefix: str) -> list[Purchase]:
    rng = random.Random(seed)
    start = NOW - timedelta(days=30)
    out = []
    for i in range(n):
        at = start + timedelta(seconds=rng.randrange(30 * 86400))
        amount = Decimal(rng.randrange(500, 20000)) / 100
        out.append(Purchase(f"{prefix}{i}", f"M{rng.randrange(members)}", at, amount))
    out.sort(key=lambda p: p.ordered_at)
    return out


def run(url: str, label: str, *, members: int, single: int, batch: int, batch_size: int,
        seed: int) -> list[tuple[str, int, float, float, float]]:
    programme = loyalty_programme(load_settings(database_url=url))
    store = SqlLoyaltyStore(url)
    store.ensure_schema()
    service = LoyaltyService(store, programme, clock=lambda: NOW, chunk=batch_size)
    service.enrol_many([{"member_id": f"M{i}"} for i in range(members)])
    rows = []
    one = orders(single, members, seed, "S")
    t, c = time.perf_counter(), time.process_time()
    for p in one:
        service.accrue(p)
    rows.append((f"{label}: single (one transaction per order)", single,
                 time.perf_counter() - t, time.process_time() - c, os.getloadavg()[0]))
    many = orders(batch, members, seed + 1, "B")
    t, c = time.perf_counter(), time.process_time()
    service.accrue_many(many)
    rows.append((f"{label}: batches of {batch_size}", batch, time.perf_counter() - t,
                 time.process_time() - c, os.getloadavg()[0]))
    t, c = time.perf_counter(), time.process_time()
    replays = service.accrue_many(many)
    assert all(r.replayed for r in replays)
    rows.append((f"{label}: the same batches again (all replays)", batch,
                 time.perf_counter() - t, time.process_time() - c, os.getloadavg()[0]))
    problems = service.verify()
    assert not problems, problems[:5]
    service.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres", default=os.environ.get("REGULARS_BENCH_POSTGRES_URL"),
                    help="a PostgreSQL server URL; a fresh database is created on it")
    ap.add_argument("--members", type=int, default=5_000)
    ap.add_argument("--single", type=int, default=2_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--batch-size", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    print(machine())
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    kw = {"members": args.members, "single": args.single, "batch": args.batch,
          "batch_size": args.batch_size, "seed": args.seed}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += run(f"sqlite:///{tmp}/bench.sqlite3", "SQLite", **kw)
    if args.postgres:
        import psycopg
        from sqlalchemy.engine import make_url

        base = make_url(args.postgres)
        admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"regulars_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            conn.execute(f'CREATE DATABASE "{name}"')
        print(f"PostgreSQL {version}")
        try:
            results += run(base.set(database=name).render_as_string(hide_password=False),
                           "PostgreSQL", **kw)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("\n| run | orders | wall s | orders/s | our CPU s | load avg (1 min) after |\n"
          "|---|---:|---:|---:|---:|---:|")
    for label, n, wall, cpu, load in results:
        print(f"| {label} | {n:,} | {wall:.2f} | {n / wall:,.0f} | {cpu:.2f} | {load:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
