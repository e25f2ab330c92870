"""Benchmark: the web pages on a store of 100,000 customers and ~1M orders (issue 19).

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_web.py
    .venv/bin/python benchmarks/bench_web.py --customers 5000 --requests 20   # a quick run

One run:

1. the store: a SQLite store with a demo business of ``--customers`` persons with
   ``--orders-per-customer`` orders each on average (100,000 and 10: ~1M orders), imported
   with ``regulars import`` and its customer map built. It is kept in ``--cache`` (a folder
   in the system's temporary directory) and reused by the next run with the same size;
   ``--fresh`` builds it again. A reused store is brought up to this version's schema by
   the server (migrations; 0022 fills the map's money at stake from its evidence);
2. ``regulars serve`` on it in a child process (uvicorn, one worker, the background work
   off: nothing is ingested), users of the roles owner and manager (the manager bound to
   the manager with the most customers) created with ``regulars users create``;
   The store also has the morning plan's tasks (``regulars tasks plan``), which the
   worklist page reads;
3. a real HTTP client (httpx, one connection, requests one after another) signs in as each
   of them as a browser does (the sign-in form's CSRF token) and reads each page
   ``--requests`` times after ``--warmup`` reads: p50 and p95 in milliseconds;
4. the named peer in the same run: the API's JSON for the same rows, ``GET /v1/customers``
   (the same filter where the API has it: it lists by id and has no sort) and
   ``GET /v1/customers/{id}``, with a ``readonly`` key; the ratio page/API is printed.

The pages measured: the customer list (the first page, a filtered page, a text search, a
page 1,000 rows deep, a manager's own list), a customer's card ``/customers/{id}`` and the
manager's worklist ``/worklist``. A page that does not answer 200 (not built yet in this
branch) is reported "not present", so the run can be repeated once every page is merged.
The goal: p95 ≤ 200 ms for the list, the card and the worklist.

Prints the machine and a Markdown table (benchmarks/RESULTS.md keeps the runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("regulars")
KINDS = ("customers", "orders", "returns", "invoices", "interactions", "feedback", "referrals")
PASSWORD = "bench password 123"
GOAL_MS = 200.0
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def regulars(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    out = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env,
                         check=True, timeout=7200, input=stdin)
    return out.stdout


def build_store(args: argparse.Namespace, env: dict[str, str]) -> Path:
    """The cached store of this size (built when missing or ``--fresh``)."""
    tag = f"c{args.customers}-s{args.seed}-o{args.orders_per_customer:g}"
    folder = Path(args.cache)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"store-{tag}.db"
    ready = folder / f"store-{tag}.ready"
    if ready.exists() and db.exists() and not args.fresh:
        print(f"reusing {db}", file=sys.stderr)
        return db
    for stale in (db, ready, Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    demo = folder / f"demo-{tag}-csv"
    t0 = time.perf_counter()
    if not (demo / "orders.csv").exists():
        from regulars.demo import DemoSpec
        from regulars.demo.files import write_demo

        write_demo(demo, DemoSpec(customers=args.customers, seed=args.seed,
                                  orders_per_customer=args.orders_per_customer),
                   fmt="csv", overwrite=True)
    store_env = {**env, "REGULARS_DATABASE_URL": f"sqlite:///{db}"}
    for kind in KINDS:
        regulars("import", kind, str(demo / f"{kind}.csv"), env=store_env)
    print(f"imported in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    t0 = time.perf_counter()
    from regulars import bootstrap

    settings = bootstrap.load_settings(database_url=f"sqlite:///{db}",
                                       api={"live_map": False, "map_as_of": "last_order"})
    services = bootstrap.open_api(settings)
    try:
        services.rebuild_map()
    finally:
        services.stop()
    print(f"map built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    # the morning plan, as a business runs it from cron: the managers' tasks of the day, which
    # the worklist page reads
    t0 = time.perf_counter()
    regulars("tasks", "plan", env=store_env)
    print(f"day planned in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    ready.write_text("ok\n")
    return db


def facts(db: Path) -> dict[str, Any]:
    """What the measured requests ask for: the busiest manager, a customer with orders, a
    name to search for, a position 1,000 rows deep in the list's default order."""
    import sqlite3

    with sqlite3.connect(db) as con:
        manager = con.execute(
            "SELECT manager, count(*) AS n FROM customers WHERE manager IS NOT NULL "
            "GROUP BY manager ORDER BY n DESC LIMIT 1").fetchone()[0]
        customers = con.execute("SELECT count(*) FROM map_customers").fetchone()[0]
        orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]
        top = con.execute(
            "SELECT m.customer_id, c.name FROM map_customers m JOIN customers c "
            "USING (customer_id) WHERE m.orders > 5 AND c.manager = ? "
            "ORDER BY m.customer_id LIMIT 1", (manager,)).fetchone()
    return {"manager": manager, "customers": customers, "orders": orders,
            "customer": top[0], "name": top[1].split()[0][:5].lower()}


def start(cmd: list[str], env: dict[str, str], base: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while True:
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr and proc.poll() is not None else ""
            raise RuntimeError(f"the server did not start: {' '.join(cmd)}\n{err[-2000:]}")
        time.sleep(0.3)


def signed_in(base: str, login: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/sign-in")
    token = _TOKEN.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    r = client.post("/sign-in", data={"login": login, "password": PASSWORD,
                                      "csrf_token": token.group(1)})
    assert r.status_code == 303, (login, r.status_code, r.text[:300])
    return client


def deep_cursor(client: httpx.Client, path: str, pages: int) -> str | None:
    """The list's address ``pages`` pages deep, following its "next" links."""
    url: str | None = path
    for _ in range(pages):
        assert url is not None
        html = client.get(url).text
        found = re.search(r'<a[^>]*rel="next"[^>]*href="([^"]+)"', html) or re.search(
            r'<a[^>]*href="([^"]+)"[^>]*rel="next"', html)
        if not found:
            return None
        url = found.group(1).replace("&amp;", "&")
    return url


def measure(client: httpx.Client, url: str, n: int, warmup: int,
            headers: dict[str, str] | None = None) -> list[float] | None:
    """``n`` timings (ms) of GET ``url``; None when it does not answer 200."""
    first = client.get(url, headers=headers)
    if first.status_code != 200:
        return None
    # the worklist's suggestions are built once per map (and half hour) in the background:
    # time the page a manager reads after that, not the first minute of a new map
    deadline = time.monotonic() + 600
    while "are being prepared" in first.text and time.monotonic() < deadline:
        time.sleep(2)
        first = client.get(url, headers=headers)
    for _ in range(warmup):
        client.get(url, headers=headers)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--orders-per-customer", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--requests", type=int, default=60, help="timed reads of each page")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--deep", type=int, default=20, help="pages deep for the deep page (×50)")
    ap.add_argument("--port", type=int, default=8951)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "regulars-bench-web"))
    ap.add_argument("--fresh", action="store_true", help="build the store again")
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    db = build_store(args, env)
    env.update(REGULARS_DATABASE_URL=f"sqlite:///{db}", REGULARS_API__RATE_LIMIT="1000000",
               REGULARS_API__RATE_BURST="1000000", REGULARS_API__LIVE_MAP="false",
               REGULARS_API__MAP_AS_OF="last_order")
    base = f"http://127.0.0.1:{args.port}"
    server = start([str(BIN), "serve", "--port", str(args.port), "--log-level", "warning",
                    "--no-background"], env, base)
    try:
        f = facts(db)
        # a reused store has them already (a wide table: logins in full)
        known = regulars("users", "list", env={**env, "COLUMNS": "250"})
        for login, role, extra in (("bench-owner", "owner", []),
                                   ("bench-manager", "manager", ["--manager", f["manager"]])):
            if login not in known:
                regulars("users", "create", login, "--role", role, "--password-stdin",
                         *extra, env=env, stdin=PASSWORD + "\n")
        key_out = regulars("keys", "create", "--role", "readonly", env=env)
        key = re.search(r"rgl_\S+", key_out)
        assert key, key_out
        api = {"Authorization": f"Bearer {key.group(0)}"}
        owner = signed_in(base, "bench-owner")
        manager = signed_in(base, "bench-manager")
        deep = deep_cursor(owner, "/customers", args.deep)
        cid = f["customer"]
        plan: list[tuple[str, httpx.Client, str | None, str | None]] = [
            # (what, client, page URL, the API's URL for the same rows)
            ("customer list, first page (owner)", owner, "/customers", "/v1/customers"),
            ("customer list, rung=regular & status=lapsing", owner,
             "/customers?rung=regular&status=lapsing",
             "/v1/customers?rung=regular&status=lapsing"),
            ("customer list, signal=overdue, sort by name", owner,
             "/customers?signal=overdue&sort=name", "/v1/customers?signal=overdue"),
            (f"customer list, search {f['name']!r}", owner, f"/customers?q={f['name']}",
             f"/v1/customers?q={f['name']}"),
            ("customer list, search a phone's digits", owner, "/customers?q=5555", None),
            ("customer list, tag disc=D", owner, "/customers?tag=disc%3DD", None),
            (f"customer list, {args.deep * 50:,} rows deep", owner, deep, None),
            ("customer list, a manager's own", manager, "/customers",
             f"/v1/customers?manager={f['manager']}"),
            ("customer list, export CSV (all rows)", owner, None, None),
            ("customer card (owner)", owner, f"/customers/{cid}", f"/v1/customers/{cid}"),
            ("customer card (manager)", manager, f"/customers/{cid}", None),
            ("worklist (manager)", manager, "/worklist", None),
        ]
        rows: list[tuple[str, str, str, str, str]] = []
        for what, client, url, peer in plan:
            if what.startswith("customer list, export"):
                t0 = time.perf_counter()
                r = owner.get("/customers/export.csv")
                secs = time.perf_counter() - t0
                if r.status_code == 200:
                    lines = r.text.count("\n") - 1
                    rows.append((what, f"{secs * 1000:.0f} (one read, {lines:,} rows)", "", "",
                                 ""))
                else:
                    rows.append((what, "not present", "", "", ""))
                continue
            times = measure(client, url, args.requests, args.warmup) if url else None
            if times is None:
                rows.append((what, "not present", "", "", ""))
                continue
            p50, p95 = statistics.median(times), pct(times, 95)
            peer_cell, ratio = "", ""
            if peer:
                ptimes = measure(owner, peer, args.requests, args.warmup, headers=api)
                if ptimes is not None:
                    q95 = pct(ptimes, 95)
                    peer_cell = f"{statistics.median(ptimes):.1f} / {q95:.1f}"
                    ratio = f"{p95 / q95:.1f}×" if q95 else ""
            ok = "yes" if p95 <= GOAL_MS else "**no**"
            rows.append((what, f"{p50:.1f} / {p95:.1f}", ok, peer_cell, ratio))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"machine: {machine()}")
    print(f"store: SQLite, {f['customers']:,} customers in the map, {f['orders']:,} orders; "
          f"{args.requests} timed reads of each page after {args.warmup}, one client, "
          f"one server worker; manager: {f['manager']!r}")
    print("| page | p50 / p95 ms | p95 ≤ 200 ms | API JSON p50 / p95 ms | p95 page/API |")
    print("|---|---:|:-:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
