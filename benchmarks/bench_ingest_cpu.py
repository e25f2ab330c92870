"""Profiling harness: the CPU one single order costs the HTTP app, without the network.

    .venv/bin/python benchmarks/bench_ingest_cpu.py --postgres-url postgresql+psycopg://USER@HOST:PORT/DB
    .venv/bin/python benchmarks/bench_ingest_cpu.py            # on a throwaway SQLite file

A fresh database (a new one on the server of ``--postgres-url``), ``--customers`` customer
cards sent through the API, ``--members`` of them enrolled in the loyalty programme, then
``--orders`` single ``POST /v1/orders`` (one order each, with an ``Idempotency-Key``, every
other one of a member) sent one after another through the ASGI app in this process
(Starlette's ``TestClient``: no sockets, no uvicorn). The live map is off: the figure is the
request's own path. Prints wall seconds and process CPU ms per order; run the old code
through ``PYTHONPATH`` in the same minutes to compare (see benchmarks/README.md).

For profiling only: the timed figures of record come from ``bench_api.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_api import drop_database, new_database  # the same fresh database per run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres-url", default=os.environ.get("REGULARS_BENCH_POSTGRES_URL"))
    ap.add_argument("--customers", type=int, default=500)
    ap.add_argument("--members", type=int, default=250)
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from regulars import bootstrap
    from regulars.entrypoints.http import create_app

    tmp = tempfile.TemporaryDirectory(prefix="regulars-bench-cpu-")
    name = None
    if args.postgres_url:
        url, name = new_database(args.postgres_url, "regulars_bench_cpu")
    else:
        url = f"sqlite:///{Path(tmp.name) / 'store.db'}"
    try:
        settings = bootstrap.load_settings(database_url=url, api={
            "live_map": False, "rate_limit": 1_000_000, "rate_burst": 1_000_000,
            "points_expiring_check_minutes": 0})
        services = bootstrap.open_api(settings)
        key = services.keys.create("integration", "bench")[0]
        app = create_app(settings, services=services, rebuild_on_start=False)
        headers = {"Authorization": f"Bearer {key}"}
        with TestClient(app) as client:
            cards = [{"customer_id": f"C{i:06d}", "email": f"c{i}@example.com",
                      "created_at": "2024-01-01T00:00:00"} for i in range(args.customers)]
            r = client.post("/v1/customers", json=cards, headers=headers)
            assert r.status_code in (200, 201), r.text
            for i in range(args.members):
                services.loyalty.service.enrol(f"C{i:06d}")

            def single(i: int, tag: str) -> None:
                cid = f"C{(i * 2 + (i % 2)) % args.customers:06d}"
                o = {"order_id": f"{tag}{i:07d}", "customer_id": cid,
                     "ordered_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00",
                     "amount": f"{10 + i % 90}.{i % 100:02d}"}
                r = client.post("/v1/orders", json=o,
                                headers={**headers, "Idempotency-Key": o["order_id"]})
                assert r.status_code == 201, r.text

            for i in range(args.warmup):
                single(i, "W")
            c0, t0 = time.process_time(), time.perf_counter()
            for i in range(args.orders):
                single(i, "S")
            cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        services.stop()
        services.store.close()  # type: ignore[attr-defined]
    finally:
        if name is not None:
            drop_database(args.postgres_url, name)
        tmp.cleanup()
    db = "PostgreSQL" if name else "SQLite"
    print(f"{db}: {args.orders} single orders in {wall:.2f} s wall, "
          f"{cpu / args.orders * 1000:.2f} ms CPU per order ({args.orders / wall:.0f}/s "
          "one client, in process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
