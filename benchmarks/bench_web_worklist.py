"""The worklist page (issue 19) on a 100k-customer store with a planned day: p50 and p95 of
``GET /worklist`` for a manager and for the owner, and of ``GET /account``, over HTTP on a
real server (uvicorn in a thread), after the worklist's suggestions were built in the
background.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_web_worklist.py \\
        [--store /tmp/wl-bench.db] [--customers 100000]

The store is built once (ingest, the map, ``regulars tasks plan``: minutes) and reused.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from regulars import api, bootstrap
from regulars.domain.tables import Kind

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
PASSWORD = "correct horse battery"


def build(settings: bootstrap.Settings, n: int) -> None:
    services = bootstrap.open_api(settings)
    rng = random.Random(1)
    managers = [f"Manager {m:02d}" for m in range(20)]
    start = datetime(2024, 1, 1, 10)
    batch: list[tuple[Kind, dict]] = []
    for c in range(n):
        cid = f"C{c:06d}"
        batch.append((Kind.CUSTOMERS, {"customer_id": cid, "name": f"Customer {c}",
                                       "manager": managers[c % 20], "phone": f"+3725{c:07d}",
                                       "consent_phone": True, "consent_email": True}))
        gap, first = rng.randint(20, 60), start + timedelta(days=rng.randint(0, 300))
        for i in range(rng.choice((1, 1, 2, 3, 5, 8))):
            batch.append((Kind.ORDERS, {"order_id": f"O{c:06d}-{i}", "customer_id": cid,
                                        "ordered_at": first + timedelta(days=gap * i),
                                        "amount": rng.randint(20, 500)}))
        if rng.random() < 0.5:
            batch.append((Kind.INTERACTIONS, {
                "interaction_id": f"I{c:06d}", "customer_id": cid,
                "at": first + timedelta(days=3), "channel": "phone", "direction": "out",
                "kind": "call", "manager": managers[c % 20]}))
        if len(batch) > 20_000:
            services.ingest.run(batch)
            batch.clear()
    services.ingest.run(batch)
    services.rebuild_map()
    api.plan_tasks(settings)
    services.stop()


def percentiles(client: httpx.Client, path: str, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - t)
    times.sort()
    return times[n // 2] * 1000, times[int(n * 0.95) - 1] * 1000


def main() -> None:
    from support.web import sign_in

    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving
    from regulars.entrypoints.web.app import WebMount

    p = argparse.ArgumentParser()
    p.add_argument("--store", default="/tmp/wl-bench.db")
    p.add_argument("--customers", type=int, default=100_000)
    args = p.parse_args()
    settings = bootstrap.load_settings(database_url=f"sqlite:///{args.store}",
                                       api={"live_map": False})
    if not Path(args.store).exists():
        build(settings, args.customers)
    services = bootstrap.open_api(settings)
    users = bootstrap.open_users(settings, services=services,
                                 hasher=bootstrap.password_hasher(cheap=True))
    for login, role, manager in (("m07", "manager", "Manager 07"), ("boss", "owner", None)):
        if not any(u.login == login for u in users.list()):
            users.create(login, role, PASSWORD, manager=manager)
    app = create_app(settings, services=services, rebuild_on_start=False, background=False,
                     users=users)
    web = next(r for r in app.router.routes if isinstance(r, WebMount)).app
    with serving(app) as url, httpx.Client(base_url=url, timeout=120) as manager, \
            httpx.Client(base_url=url, timeout=120) as owner:
        sign_in(manager, "m07", PASSWORD)
        sign_in(owner, "boss", PASSWORD)
        t = time.perf_counter()
        manager.get("/worklist")
        web.state.manager_days.wait(600)
        print(f"suggestions built in the background: {time.perf_counter() - t:.1f} s")
        for name, client, path in (("manager /worklist", manager, "/worklist"),
                                   ("owner /worklist?manager=", owner,
                                    "/worklist?manager=Manager%2003"),
                                   ("manager /account", manager, "/account")):
            p50, p95 = percentiles(client, path, 60)
            print(f"{name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    services.stop()


if __name__ == "__main__":
    main()
