"""Benchmark: the HTTP API on PostgreSQL, with a real HTTP client on loopback.

    .venv/bin/python benchmarks/bench_api.py --postgres-url postgresql+psycopg://USER@HOST:PORT/DB
    .venv/bin/python benchmarks/bench_api.py --customers 2000 --singles 2000   # a quick run

One run:

1. creates a fresh database on the server of ``--postgres-url`` (or
   ``REGULARS_BENCH_POSTGRES_URL``) and imports a demo business of ``--customers`` customers
   into it with the importer (the base the live map recomputes against);
2. starts ``regulars serve`` on it in a child process (uvicorn, one worker; rate limit
   lifted; live map on) and creates an ``integration`` key with ``regulars keys create``;
3. single orders: ``--singles`` ``POST /v1/orders`` of one new order each, each with an
   ``Idempotency-Key``, from ``--concurrency`` client threads → orders/s;
4. batches: ``--batches`` requests of 1,000 new orders each, from 2 client threads → orders/s;
5. latency: once the live map has caught up with the batches (``live_pending`` of
   ``/v1/health`` is 0; how long that took is reported), single orders paced at each
   ``--rate`` requests/s for ``--seconds`` (open loop: each request is sent at its scheduled
   time by a pool of threads, on clients connected beforehand) → p50 / p95 / p99 / max;
6. live map lag: after one more order of a customer, the time until ``GET /v1/customers/{id}``
   shows it.

The bare-stack peer in the same run (``--no-peer`` leaves it out): ``bare_peer.py`` (FastAPI,
a pydantic model of the same order, one plain ``INSERT`` per POST on a pool of 16) under the
same uvicorn on the same database, driven by the same client code: the 16-client singles and
the paced runs at every ``--rate`` (default 100 and 300 req/s), interleaved with ours.
``--runs 3`` repeats the singles and the paced runs three times (the issue asks for 3 of 3);
each run prints ours, the peer's and the ratio. ``--server-workers N`` passes ``--workers N``
to ``regulars serve`` (only when N is not 1).

Prints the machine and a Markdown table. The server and the client share the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).with_name("regulars")
PACED_THREADS = 64  # client threads of the paced run (open loop)


def regulars(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env,
                         check=True, timeout=3600)
    return out.stdout


def new_database(server: str, prefix: str = "regulars_bench_api") -> tuple[str, str]:
    """A fresh database on the server of ``server`` (its URL and name)."""
    base = make_url(server)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    libpq = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return base.set(database=name).render_as_string(hide_password=False), name


def drop_database(server: str, name: str) -> None:
    libpq = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def order(i: int, customer: str, tag: str) -> dict[str, Any]:
    return {"order_id": f"{tag}{i:07d}", "customer_id": customer,
            "ordered_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00",
            "amount": f"{10 + i % 90}.{i % 100:02d}"}


def drain(base: str, timeout: float = 600.0) -> float:
    """Wait until the server's live map has no customer waiting (``/v1/health``); seconds."""
    t = time.perf_counter()
    while httpx.get(f"{base}/v1/health", timeout=30).json().get("live_pending", 0):
        if time.perf_counter() - t > timeout:
            raise RuntimeError("the live map did not catch up")
        time.sleep(0.1)
    return time.perf_counter() - t


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def start(cmd: list[str], env: dict[str, str], cwd: str, base: str) -> subprocess.Popen[bytes]:
    """Start a server and wait until ``/v1/health`` answers."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=cwd)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the server did not start: {' '.join(cmd)}")
        time.sleep(0.2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres-url", default=os.environ.get("REGULARS_BENCH_POSTGRES_URL"))
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--singles", type=int, default=5_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--rate", type=float, nargs="+", default=[100.0, 300.0],
                    help="paced runs at these requests/s (default: 100 and 300)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat the singles and the paced runs (ours and the peer's)")
    ap.add_argument("--server-workers", type=int, default=1,
                    help="`regulars serve --workers N` (passed only when N is not 1)")
    ap.add_argument("--port", type=int, default=8931)
    ap.add_argument("--no-live", action="store_true", help="serve with the live map off")
    ap.add_argument("--no-peer", action="store_true", help="leave out the bare-stack peer")
    ap.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                    help="one more argument of `regulars serve` (repeat it: --serve-arg=--workers "
                         "--serve-arg=2; --serve-arg=--in-process)")
    args = ap.parse_args()
    if not args.postgres_url:
        print("give --postgres-url or REGULARS_BENCH_POSTGRES_URL", file=sys.stderr)
        return 2

    url, name = new_database(args.postgres_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    env.update(REGULARS_DATABASE_URL=url, REGULARS_API__RATE_LIMIT="1000000",
               REGULARS_API__RATE_BURST="1000000", REGULARS_API__MAP_AS_OF="last_order",
               REGULARS_API__LIVE_MAP="false" if args.no_live else "true")
    servers: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="regulars-bench-api-") as tmp:
            demo = Path(tmp) / "demo"
            t0 = time.perf_counter()
            regulars("demo-data", "--out", str(demo), "--customers", str(args.customers),
                     env=env)
            for kind in ("customers", "orders", "returns", "invoices", "interactions",
                         "feedback", "referrals"):
                regulars("import", kind, str(demo / f"{kind}.csv"), env=env)
            print(f"base of {args.customers:,} customers imported in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
            key_out = regulars("keys", "create", "--role", "integration", env=env)
            key = re.search(r"rgl_\S+", key_out).group(0)  # type: ignore[union-attr]
            reader_out = regulars("keys", "create", "--role", "readonly", env=env)
            reader = re.search(r"rgl_\S+", reader_out).group(0)  # type: ignore[union-attr]
            workers = ["--workers", str(args.server_workers)] if args.server_workers != 1 \
                else []
            base = f"http://127.0.0.1:{args.port}"
            servers.append(start(
                [str(BIN), "serve", "--port", str(args.port), "--log-level", "warning",
                 *workers, *args.serve_arg], env, tmp, base))
            peer = None
            if not args.no_peer:
                # the peer: the same uvicorn, its own table in the same database
                peer = f"http://127.0.0.1:{args.port + 1}"
                servers.append(start(
                    [sys.executable, "-m", "uvicorn", "bare_peer:app", "--port",
                     str(args.port + 1), "--log-level", "warning", "--no-access-log"],
                    {**env, "BARE_PEER_URL": url}, str(Path(__file__).parent), peer))
            # the first full map is built in the background at start: let it finish
            while httpx.get(f"{base}/v1/health", timeout=30).json()["map_customers"] == 0:
                time.sleep(0.5)
            rows = run(base, peer, key, reader, args)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        drop_database(args.postgres_url, name)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, PostgreSQL on loopback; {args.customers:,} customers "
          f"in the base; server workers: {args.server_workers}")
    print("| measure | value |\n|---|---:|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    return 0


class Target:
    """A server under test: its connected clients (made before any measurement, lent to
    the client threads: making an httpx client costs tens of ms of client CPU, which is not
    the server's latency) and how to send it one order."""

    def __init__(self, base: str, headers: dict[str, str], clients: int,
                 customers: int) -> None:
        self.customers = customers
        self.idle: queue.SimpleQueue[httpx.Client] = queue.SimpleQueue()
        for _ in range(clients):
            c = httpx.Client(base_url=base, headers=headers, timeout=60)
            c.get("/v1/health")
            self.idle.put(c)

    def single(self, i: int, tag: str) -> float:
        o = order(i, f"C{1 + i % self.customers:06d}", tag)
        c = self.idle.get()
        try:
            t = time.perf_counter()
            r = c.post("/v1/orders", json=o, headers={"Idempotency-Key": o["order_id"]})
            took = time.perf_counter() - t
        finally:
            self.idle.put(c)
        assert r.status_code == 201, r.text
        return took

    def singles(self, n: int, concurrency: int, tag: str) -> tuple[float, list[float]]:
        """``n`` single orders from ``concurrency`` threads: orders/s and the latencies."""
        t = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            lat = list(pool.map(lambda i: self.single(i, tag), range(n)))
        return n / (time.perf_counter() - t), lat

    def paced(self, rate: float, seconds: float, tag: str) -> list[float]:
        """Single orders sent at ``rate`` per second (open loop); their latencies."""
        n = int(rate * seconds)
        out: list[float] = []
        lock = threading.Lock()
        start = time.perf_counter() + 0.5

        def scheduled(i: int) -> None:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            took = self.single(i, tag)
            with lock:
                out.append(took)

        with ThreadPoolExecutor(PACED_THREADS) as pool:
            list(pool.map(scheduled, range(n)))
        return out


def _ms(values: list[float]) -> str:
    return " / ".join(f"{percentile(values, p) * 1000:.1f}" for p in (50, 95, 99)) \
        + f" / {max(values) * 1000:.1f}"


def run(base: str, peer: str | None, key: str, reader: str,
        args: argparse.Namespace) -> list[tuple[str, str]]:
    headers = {"Authorization": f"Bearer {key}"}
    clients = max(args.concurrency, PACED_THREADS)
    ours = Target(base, headers, clients, args.customers)
    bare = Target(peer, {}, clients, args.customers) if peer else None
    rows: list[tuple[str, str]] = []
    # warm up connections and the servers
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(lambda i: ours.single(i, "W"), range(200)))
        if bare:
            list(pool.map(lambda i: bare.single(i, "W"), range(200)))

    all_lat: list[float] = []
    singles: list[tuple[float, float | None]] = []
    paced: dict[float, list[tuple[list[float], list[float] | None]]] = {
        r: [] for r in args.rate}
    for k in range(args.runs):
        rate, lat = ours.singles(args.singles, args.concurrency, f"S{k}")
        peer_rate = bare.singles(args.singles, args.concurrency, f"S{k}")[0] if bare else None
        singles.append((rate, peer_rate))
        all_lat += lat
        if k == 0:
            rows.append((f"single POST /v1/orders, {args.concurrency} clients: orders/s",
                         f"{rate:,.0f}"))
            rows.append(("… latency p50 / p99 under that load (ms)",
                         f"{percentile(lat, 50) * 1000:.1f} / {percentile(lat, 99) * 1000:.1f}"))
            batches(ours, base, args, rows)
        drain(base)  # what the singles touched: the paced runs measure a steady stream
        for r in args.rate:
            mine = ours.paced(r, args.seconds, f"P{k}r{r:.0f}-")
            theirs = bare.paced(r, args.seconds, f"P{k}r{r:.0f}-") if bare else None
            paced[r].append((mine, theirs))
            all_lat += mine
            if k == 0:
                rows.append((f"single POST at {r:.0f} req/s for {args.seconds:.0f} s: "
                             "p50 / p95 / p99 / max (ms)", _ms(mine)))
            drain(base)

    lag = live_lag(base, headers, reader)
    if not args.no_live:
        rows.append(("live map: order sent → customer card updated (s)",
                     f"{lag:.2f}" if lag is not None else "> 120"))
    rows.append(("(median single latency over all runs, ms)",
                 f"{statistics.median(all_lat) * 1000:.1f}"))
    # every run, ours against the peer
    for k, (rate, peer_rate) in enumerate(singles, 1):
        value = f"{rate:,.0f}"
        if peer_rate is not None:
            value += f" / peer {peer_rate:,.0f} (ours ÷ peer {rate / peer_rate:.2f})"
        rows.append((f"run {k}: single POST, {args.concurrency} clients: orders/s", value))
    for r, runs in paced.items():
        for k, (mine, theirs) in enumerate(runs, 1):
            value = f"{percentile(mine, 99) * 1000:.1f}"
            if theirs is not None:
                p99 = percentile(theirs, 99)
                value += (f" / peer {p99 * 1000:.1f} (ours ÷ peer "
                          f"{percentile(mine, 99) / p99:.1f})")
            rows.append((f"run {k}: paced {r:.0f} req/s: p99 (ms)", value))
    return rows


def batches(ours: Target, base: str, args: argparse.Namespace,
            rows: list[tuple[str, str]]) -> None:
    def post_batch(b: int) -> None:
        batch = [order(b * 1000 + j, f"C{1 + (b * 1000 + j) % args.customers:06d}", "B")
                 for j in range(1000)]
        c = ours.idle.get()
        try:
            r = c.post("/v1/orders", json=batch, headers={"Idempotency-Key": f"batch-{b}"})
        finally:
            ours.idle.put(c)
        assert r.status_code == 201, r.text

    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(post_batch, range(args.batches)))
    wall = time.perf_counter() - t
    rows.append(("batches of 1,000, 2 clients: orders/s", f"{args.batches * 1000 / wall:,.0f}"))
    # the batches touched most of the base: let the live worker catch up first, so that the
    # paced run measures a steady stream of single orders, not the batches' backlog
    drained = drain(base)
    rows.append(("live map: batches' backlog refreshed after the last batch (s)",
                 f"{drained:.1f}"))


def live_lag(base: str, headers: dict[str, str], reader: str) -> float | None:
    """After one more order of a customer, the seconds until its card shows it."""
    drain(base)
    cid = "C000001"
    rh = {"Authorization": f"Bearer {reader}"}
    before = httpx.get(f"{base}/v1/customers/{cid}", headers=rh, timeout=30).json()
    n_before = (before.get("facts") or {}).get("orders") or 0
    t = time.perf_counter()
    r = httpx.post(f"{base}/v1/orders", headers=headers, timeout=30,
                   json=order(9_999_999, cid, "L"))
    assert r.status_code == 201
    while time.perf_counter() - t < 120:
        card = httpx.get(f"{base}/v1/customers/{cid}", headers=rh, timeout=30).json()
        if ((card.get("facts") or {}).get("orders") or 0) > n_before:
            return time.perf_counter() - t
        time.sleep(0.05)
    return None


if __name__ == "__main__":
    raise SystemExit(main())
