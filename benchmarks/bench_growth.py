"""Benchmark: how the analysis, the import and the worklist grow with the orders (issue 16).

    .venv/bin/python benchmarks/bench_growth.py                           # 1M and 10M orders
    .venv/bin/python benchmarks/bench_growth.py --orders 1000000,10000000,30000000 \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:55432/postgres

For each size (orders, approximately), one run:

1. generates a demo business of ``size / 10`` persons with 10 orders each on average (the
   demo's ``orders_per_customer``), or reuses the one cached under ``benchmarks/data/`` (the
   same files ``bench_import.py --orders-per-customer 10`` makes); the real order count is
   printed;
2. measures, each in its own child process so that every peak is that step's own:

   - **import (SQLite)**: ``regulars.import_file("orders", file)`` into a fresh SQLite store;
     its peer is DuckDB reading the same CSV into a table (as ``bench_import.py``);
   - **import (PostgreSQL)**, with ``--postgres-url``: the same into a fresh database there
     (named ``--db-prefix``…, dropped afterwards); the same peer;
   - **analysis**: ``regulars.analyze(orders=file)`` as of the demo's last day (what
     ``regulars analyze`` runs); its peer is DuckDB's bare ``GROUP BY customer_id`` over the
     same CSV (``bench_map_speed.py``'s baseline, there over Parquet);
   - **worklist**: not measured. The worklist does not exist yet (issue 18 builds it); the
     table says so instead of a figure;

3. prints a Markdown table per size and a summary across sizes: wall seconds, microseconds
   per order, the peak RSS and bytes per order, the peer's seconds and the ratio, so that a
   user can plan a machine for their own number of orders.

Each step of size ≥ 3M orders should run alone on a shared machine: wrap the whole command in
``flock /tmp/bench.lock``. Check ``df`` and ``free`` before 30M orders: the CSV is ~2.9 GB,
the generated business ~6 GB on disk, and the analysis's peak grows with the orders.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_import  # noqa: E402  (a sibling script)

DATA = HERE / "data"
ORDERS_PER_PERSON = 10.0
WORKLIST = "not measured: the worklist does not exist yet (issue 18 builds it)"
GROUP_BY_SQL = ("SELECT customer_id, count(*) AS orders, min(ordered_at) AS first_order_at, "
                "max(ordered_at) AS last_order_at, sum(amount) AS revenue FROM {src} "
                "GROUP BY customer_id")


def _child(payload: dict[str, Any]) -> dict[str, Any]:
    step = payload["step"]
    if step == "group_by":
        import duckdb

        con = duckdb.connect()
        src = "read_csv('" + payload["file"].replace("'", "''") + "')"
        t0 = time.perf_counter()
        table = con.sql(GROUP_BY_SQL.format(src=src)).to_arrow_table()
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": None, "summary": f"{table.num_rows} customers"}
    if step == "analyze":
        import regulars

        settings = regulars.load_settings(database_url="sqlite:///:memory:")
        t0 = time.perf_counter()
        result = regulars.analyze(orders=Path(payload["file"]), as_of=payload["as_of"],
                                  config=settings)
        customers = result.customers.to_arrow()
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": None, "summary": f"{customers.num_rows} customers"}
    return bench_import._child(payload)


@dataclass
class Row:
    step: str
    ours: bench_import.Step | None
    peer_name: str
    peer: bench_import.Step | None
    note: str = ""


def _orders_in(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f) - 1


def measure_size(target: int, args: argparse.Namespace, log: Path, run_dir: Path,
                 pg: bench_import.Postgres | None) -> tuple[int, list[Row]]:
    from regulars.demo import DemoSpec

    persons = max(1, round(target / ORDERS_PER_PERSON))
    orders, _gen = bench_import.business(persons, args.seed, log, run_dir, ORDERS_PER_PERSON)
    n = _orders_in(orders)
    as_of = DemoSpec(customers=persons, seed=args.seed).end.isoformat()
    print(f"\n{target:,} orders wanted: {persons:,} persons → {n:,} orders in {orders} "
          f"({orders.stat().st_size / 2**20:,.0f} MB)")
    script = Path(__file__).resolve()

    def step(name: str, payload: dict[str, Any]) -> bench_import.Step:
        return bench_import.run_step(name, payload, log, run_dir, args.wait_idle, script)

    rows: list[Row] = []
    read = step("DuckDB read_csv → table", {"step": "duckdb", "file": str(orders)})
    if "import" in args.steps:
        directory = run_dir / f"sqlite-{n}"
        directory.mkdir()
        url = f"sqlite:///{directory / 'store.db'}"
        ours = step("import into SQLite", {"step": "import", "kind": "orders",
                                           "file": str(orders), "url": url, "dry_run": False})
        shutil.rmtree(directory, ignore_errors=True)
        rows.append(Row("import (SQLite, empty store)", ours, "DuckDB read_csv → table", read))
        if pg is not None:
            url = pg.fresh_database()
            try:
                ours = step("import into PostgreSQL", {
                    "step": "import", "kind": "orders", "file": str(orders), "url": url,
                    "dry_run": False})
            finally:
                pg.drop_database(url)
            rows.append(Row("import (PostgreSQL, empty database)", ours,
                            "DuckDB read_csv → table", read))
    if "analyze" in args.steps:
        peer = step("DuckDB GROUP BY customer_id", {"step": "group_by", "file": str(orders)})
        ours = step("regulars.analyze(file)", {"step": "analyze", "file": str(orders),
                                                "as_of": as_of})
        rows.append(Row("analysis (`regulars.analyze(file)`)", ours,
                        "DuckDB GROUP BY customer_id over read_csv", peer))
    rows.append(Row("worklist", None, "", None, WORKLIST))
    return n, rows


def size_table(n: int, rows: list[Row]) -> list[str]:
    lines = [f"### {n:,} orders", "",
             "| step | wall s | µs/order | peak RSS MB | bytes/order | peer | peer s | × peer |",
             "|---|---:|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        if r.ours is None:
            lines.append(f"| {r.step} | {r.note} | | | | | | |")
            continue
        s, p = r.ours, r.peer
        ratio = f"{s.seconds / p.seconds:.1f}" if p and p.seconds else ""
        lines.append(
            f"| {r.step} | {s.seconds:.1f} | {s.seconds / n * 1e6:.2f} | {s.peak_mb:,.0f} | "
            f"{s.peak_mb * 2**20 / n:,.0f} | {r.peer_name} | "
            f"{p.seconds if p else 0:.1f} | {ratio} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", default="1000000,10000000",
                        help="comma-separated sizes, in orders (approximate: the demo decides)")
    parser.add_argument("--steps", default="import,analyze",
                        help="which of import, analyze to measure (the worklist is a "
                             "placeholder until issue 18)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--postgres-url", default=os.environ.get(bench_import.ENV_URL),
                        help="a server to create a fresh database on for the PostgreSQL import")
    parser.add_argument("--db-prefix", default="regulars_growth",
                        help="name prefix of the PostgreSQL databases this creates")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = _child(json.loads(args.child[0]))
        Path(args.child[1]).write_text(json.dumps(result), encoding="utf-8")
        return
    args.steps = {s.strip() for s in args.steps.split(",") if s.strip()}
    sizes = [int(x) for x in args.orders.split(",") if x.strip()]

    DATA.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"growth-{datetime.now():%Y%m%d-%H%M%S}-", dir=DATA))
    log = run_dir / "bench.log"
    print(f"run directory {run_dir} (stores, log)")
    pg: bench_import.Postgres | None = None
    if args.postgres_url and "import" in args.steps:
        pg = bench_import.Postgres(args.postgres_url, args.db_prefix)
        pg.start()
    results: list[tuple[int, list[Row]]] = []
    try:
        for size in sizes:
            results.append(measure_size(size, args, log, run_dir, pg))
    finally:
        if pg is not None:
            pg.stop()

    print()
    print(f"## Growth: {', '.join(f'{n:,}' for n, _r in results)} orders, "
          f"{datetime.now():%Y-%m-%d %H:%M}")
    print()
    for line in bench_import.machine():
        print(f"- {line}")
    if pg is not None:
        print(f"- PostgreSQL at {args.postgres_url.rsplit('@', 1)[-1]}")
    print(f"- the demo business: {ORDERS_PER_PERSON:g} orders per person on average, seed "
          f"{args.seed}; wall time is around the measured call in a child process, the peak "
          "is that child's own RSS (a PostgreSQL server's memory is not in it)")
    for n, rows in results:
        print()
        print("\n".join(size_table(n, rows)))
    if len(results) > 1:
        print()
        print("### Per order, across sizes")
        print()
        print("| step | " + " | ".join(f"{n:,}: µs/order, bytes/order" for n, _r in results)
              + " |")
        print("|---|" + "---:|" * len(results))
        names = [r.step for r in results[0][1]]
        for name in names:
            cells = []
            for n, rows in results:
                r = next((x for x in rows if x.step == name), None)
                if r is None or r.ours is None:
                    cells.append(r.note if r else "")
                else:
                    cells.append(f"{r.ours.seconds / n * 1e6:.2f} µs, "
                                 f"{r.ours.peak_mb * 2**20 / n:,.0f} B")
            print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(
            {"sizes": [{"orders": n, "rows": [
                {"step": r.step, "ours": r.ours.__dict__ if r.ours else None,
                 "peer_name": r.peer_name, "peer": r.peer.__dict__ if r.peer else None,
                 "note": r.note} for r in rows]} for n, rows in results],
             "machine": bench_import.machine()}, indent=2), encoding="utf-8")
    shutil.rmtree(run_dir / "sqlite", ignore_errors=True)
    print(f"\nlog: {log}")


if __name__ == "__main__":
    main()
