"""Benchmark: import ~10 million generated orders into SQLite and into PostgreSQL.

    .venv/bin/python benchmarks/bench_import.py                    # 1,000,000 customers
    .venv/bin/python benchmarks/bench_import.py --customers 20000  # a quick run

One run:

1. generates a demo business of ``--customers`` customers (about ten orders each), or reuses
   the one cached under ``benchmarks/data/`` (git-ignored);
2. measures the peer baseline: DuckDB reading the orders CSV into a table
   (``CREATE TABLE t AS SELECT * FROM read_csv(...)``), the median of ``--baseline-runs``;
3. imports the orders into a fresh SQLite file, then imports the same file again (an
   idempotent no-op), then does a ``--dry-run`` import into another empty store;
4. the same on a fresh PostgreSQL database: on the server of ``--postgres-url`` /
   ``REGULARS_BENCH_POSTGRES_URL`` (a database is created there and dropped afterwards), else
   on a throwaway cluster started from the local PostgreSQL binaries, else skipped;
5. prints the machine and a Markdown table of wall time, rows/s, peak RSS, CPU time and the
   ratio to the DuckDB read. ``--repeat N`` runs 3 and 4 N times, on fresh stores, and keeps the
   fastest of each step; ``--wait-idle`` waits for a quiet CPU before each step, and the
   "others' CPU s" column shows how much other processes used anyway.

Every step runs in its own child process; its peak RSS is that process's own high-water mark
(``os.wait4``), so the steps' peaks never mix. Wall time is ``time.perf_counter`` around the
measured call inside the child (the interpreter's start and imports excluded); "process s" is
the whole child, start-up included. For PostgreSQL the peak is the client's: the server's
memory is not counted. ``--stages`` adds a per-stage breakdown of each import, by timing the
importer's staging and store methods in the child (nothing under ``src/`` is changed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
ENV_URL = "REGULARS_BENCH_POSTGRES_URL"


# --- child side: one measured step per process ---------------------------------------------


def _child(payload: dict[str, Any]) -> dict[str, Any]:
    step = payload["step"]
    if step == "generate":
        from regulars.demo import DemoSpec
        from regulars.demo.files import write_demo

        t0 = time.perf_counter()
        per = payload.get("orders_per_customer")
        demo = DemoSpec(customers=payload["customers"], seed=payload["seed"],
                        **({"orders_per_customer": per} if per else {}))
        paths = write_demo(Path(payload["out"]), demo, fmt="csv", overwrite=True)
        return {"seconds": time.perf_counter() - t0, "rows": None,
                "summary": f"{len(paths)} files"}
    if step == "duckdb":
        import duckdb

        con = duckdb.connect()
        src = "'" + payload["file"].replace("'", "''") + "'"
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv({src})")
        seconds = time.perf_counter() - t0
        rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
        return {"seconds": seconds, "rows": rows, "summary": f"{rows} rows"}
    if step == "import":
        import regulars

        timer = _StageTimer()
        if payload.get("stages"):
            timer.instrument()
        settings = regulars.load_settings(database_url=payload["url"])
        t0 = time.perf_counter()
        report = regulars.import_file(payload["kind"], payload["file"], settings=settings,
                                      dry_run=payload["dry_run"])
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": report.rows_read, "summary": report.summary(),
                "rows_added": report.rows_added, "stages": timer.exclusive(seconds)}
    raise SystemExit(f"unknown step {step!r}")


class _StageTimer:
    """Exclusive time per importer stage, from timing wrappers around its methods."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.stack: list[float] = []  # time spent in nested timed calls, per open call

    def _timed(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._close(label, time.perf_counter() - t0)

        return timed

    def _close(self, label: str, elapsed: float) -> None:
        nested = self.stack.pop()
        self.times[label] = self.times.get(label, 0.0) + elapsed - nested
        if self.stack:
            self.stack[-1] += elapsed

    def _timed_iter(self, fn: Callable[..., Iterator[Any]], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            it = fn(*args, **kwargs)
            while True:
                self.stack.append(0.0)
                t0 = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    self._close(label, time.perf_counter() - t0)
                yield item

        return timed

    def instrument(self) -> None:
        import adbc_driver_manager.dbapi as adbc

        from regulars.adapters import staging
        from regulars.adapters.db import store
        from regulars.services import importing

        st, sq, sw = staging.Staging, store.SqlStore, store.StoreWrite
        plan: list[tuple[Any, str, str]] = [
            (st, "read", "read file (DuckDB read_csv)"),
            (st, "resolve_columns", "other"),
            (st, "check", "type + validate"),
            (sq, "ensure_schema", "schema (migrations)"),
            (st, "add_identity", "hash rows (row_hash, ids)"),
            (st, "dedupe_in_file", "dedupe within file"),
            (sq, "aliases", "fetch from store: aliases"),
            (st, "resolve_aliases", "resolve aliases"),
            (sq, "existing_keys", "fetch from store: existing keys"),
            (st, "against_store", "compare with store"),
            (sq, "ids", "fetch from store: customer ids"),
            (st, "missing_references", "check references"),
            (st, "check_references", "check references"),
            (st, "problem_list", "count problems"),
            (st, "count", "count problems"),
            (importing, "_sha256", "sha256 of file"),
            (sw, "delete_stubs", "write: other"),
            (sw, "add_import", "write: other"),
            (sw, "append_table", "write: cast batches"),
            (store, "_sqlite_friendly", "write: SQLite text conversion"),
            (adbc.Cursor, "adbc_ingest", "write: adbc_ingest"),
            (sw, "commit", "write: commit"),
            (sq, "writing", "write: other"),
        ]
        for owner, name, label in plan:
            if hasattr(owner, name):  # the importer may have moved on; time what is there
                setattr(owner, name, self._timed(getattr(owner, name), label))
        st.rows_for_store = self._timed_iter(st.rows_for_store,  # type: ignore[method-assign]
                                             "write: rows out of DuckDB")

    def exclusive(self, total: float) -> dict[str, float]:
        times = dict(self.times)
        if times:
            times["other"] = times.get("other", 0.0) + total - sum(times.values())
        return times


def child_main(payload_json: str, result_file: str) -> None:
    result = _child(json.loads(payload_json))
    Path(result_file).write_text(json.dumps(result), encoding="utf-8")


# --- parent side ---------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    seconds: float
    process_seconds: float
    peak_mb: float
    rows: int | None
    summary: str
    cpu_seconds: float = 0.0
    other_cpu_seconds: float = 0.0
    """CPU time of every other process during the step (a PostgreSQL server's included)."""
    stages: dict[str, float] = field(default_factory=dict)
    """Exclusive seconds per importer stage (``--stages``)."""


def run_step(name: str, payload: dict[str, Any], log: Path, cwd: Path,
             idle_wait: float = 0.0, script: Path | None = None) -> Step:
    """Run one step in a child process; its own peak RSS comes from ``os.wait4``.
    ``script``: the benchmark whose ``--child`` runs the step (this one by default)."""
    if idle_wait > 0:
        wait_idle(idle_wait)
    fd, result_file = tempfile.mkstemp(prefix="bench-", suffix=".json")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    print(f"  {name} …", end="", flush=True)
    try:
        with log.open("a", encoding="utf-8") as out:
            out.write(f"\n=== {name} {datetime.now().isoformat(timespec='seconds')}\n")
            out.flush()
            busy0 = _cpu_busy_seconds()
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, str(script or Path(__file__).resolve()), "--child",
                 json.dumps(payload),
                 result_file],
                stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env,
            )
            _pid, status, usage = os.wait4(proc.pid, 0)
            process_seconds = time.perf_counter() - t0
            busy = _cpu_busy_seconds() - busy0
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"\n{name} failed (exit {proc.returncode}); see {log}")
        result = json.loads(Path(result_file).read_text(encoding="utf-8"))
    finally:
        Path(result_file).unlink(missing_ok=True)
    step = Step(name, result["seconds"], process_seconds, usage.ru_maxrss / 1024,
                result["rows"], result["summary"], usage.ru_utime + usage.ru_stime, 0.0,
                result.get("stages") or {})
    step.other_cpu_seconds = max(0.0, busy - step.cpu_seconds)
    print(f" {step.seconds:.1f} s, peak {step.peak_mb:,.0f} MB, others' CPU "
          f"{step.other_cpu_seconds:.0f} s — {step.summary}")
    return step


def _cpu_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (0 where there is no /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()
    except OSError:
        return 0.0
    # user nice system idle iowait irq softirq steal: everything but idle and iowait
    ticks = [int(x) for x in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def wait_idle(max_seconds: float) -> None:
    """Wait (at most ``max_seconds``) until other processes leave the CPUs nearly idle."""
    deadline = time.monotonic() + max_seconds
    cores = os.cpu_count() or 1
    while time.monotonic() < deadline:
        b0 = _cpu_busy_seconds()
        time.sleep(3)
        if (_cpu_busy_seconds() - b0) / (3 * cores) < 0.15:
            return
    print(f"  (the machine is still busy after {max_seconds:.0f} s; measuring anyway)")


# --- PostgreSQL ----------------------------------------------------------------------------


class Postgres:
    """A server to create fresh databases on: the given one, or a throwaway local cluster."""

    def __init__(self, url: str | None, prefix: str = "regulars_bench") -> None:
        self.url = url
        self.prefix = prefix
        self.cluster: Path | None = None
        self.pg_bin: Path | None = None
        self.databases: list[str] = []

    @staticmethod
    def _sa_url(url: str) -> str:
        import sqlalchemy as sa

        u = sa.engine.make_url(url)
        if u.drivername in ("postgresql", "postgres"):
            u = u.set(drivername="postgresql+psycopg")
        return u.render_as_string(hide_password=False)

    def start(self) -> str | None:
        """The server URL, or None with a message when there is no PostgreSQL to use."""
        if self.url:
            return self.url
        initdbs = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                         key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
        if not initdbs:
            print(f"PostgreSQL skipped: no --postgres-url, no {ENV_URL}, and no server binaries "
                  "under /usr/lib/postgresql (Debian: apt-get install postgresql)")
            return None
        self.pg_bin = initdbs[-1].parent
        self.cluster = Path(tempfile.mkdtemp(prefix="regulars-bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.cluster, "postgres", "postgres")
        self._as_pg(["initdb", "-D", str(self.cluster / "data"), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", "--no-locale"])
        for _ in range(3):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            # the server's defaults (fsync, synchronous_commit, shared_buffers, max_wal_size):
            # an untuned but durable server, as a shop would have
            opts = (f"-c listen_addresses=127.0.0.1 -p {port} "
                    f"-c unix_socket_directories={self.cluster}")
            started = self._as_pg(
                ["pg_ctl", "-D", str(self.cluster / "data"), "-l", str(self.cluster / "server.log"),
                 "-w", "-t", "60", "-o", opts, "start"], check=False)
            if started.returncode == 0:
                self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
                print(f"PostgreSQL: a throwaway {self.pg_bin.parts[-3]} cluster on "
                      f"127.0.0.1:{port}")
                return self.url
        raise SystemExit(f"could not start PostgreSQL; see {self.cluster / 'server.log'}")

    def _as_pg(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.pg_bin is not None and self.cluster is not None
        cmd = [str(self.pg_bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:  # postgres refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        res = subprocess.run(cmd, cwd=self.cluster, capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stdout}{res.stderr}")
        return res

    def _admin(self, sql: str) -> list[Any]:
        import sqlalchemy as sa

        assert self.url is not None
        engine = sa.create_engine(self._sa_url(self.url), isolation_level="AUTOCOMMIT",
                                  poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                res = conn.exec_driver_sql(sql)
                return list(res.fetchall()) if res.returns_rows else []
        finally:
            engine.dispose()

    def fresh_database(self) -> str:
        import sqlalchemy as sa

        name = f"{self.prefix}_{os.getpid()}_{len(self.databases)}"
        self._admin(f"CREATE DATABASE {name}")
        self.databases.append(name)
        assert self.url is not None
        return sa.engine.make_url(self._sa_url(self.url)).set(database=name).render_as_string(
            hide_password=False)

    def describe(self) -> str:
        rows = self._admin(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ("
            "'server_version', 'fsync', 'synchronous_commit', 'shared_buffers', "
            "'max_wal_size', 'wal_level') ORDER BY name")
        return ", ".join(f"{n}={v}" for n, v in rows)

    def drop_database(self, url: str) -> None:
        import sqlalchemy as sa

        name = str(sa.engine.make_url(url).database)
        self._admin(f"DROP DATABASE IF EXISTS {name}")
        self.databases.remove(name)

    def database_mb(self, url: str) -> float:
        import sqlalchemy as sa

        name = sa.engine.make_url(url).database
        return float(self._admin(f"SELECT pg_database_size('{name}')")[0][0]) / 2**20

    def stop(self) -> None:
        if self.url:
            for name in self.databases:
                with contextlib.suppress(Exception):
                    self._admin(f"DROP DATABASE IF EXISTS {name}")
        if self.cluster is not None:
            self._as_pg(["pg_ctl", "-D", str(self.cluster / "data"), "-m", "fast", "-w", "stop"],
                        check=False)
            shutil.rmtree(self.cluster, ignore_errors=True)


# --- the machine ---------------------------------------------------------------------------


def machine() -> list[str]:
    from importlib.metadata import version

    import adbc_driver_sqlite.dbapi
    import duckdb
    import pyarrow

    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path(
        "/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    mem_kb = 0
    if Path("/proc/meminfo").exists():
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    with tempfile.TemporaryDirectory() as tmp:
        conn = adbc_driver_sqlite.dbapi.connect(str(Path(tmp) / "v.db"))
        cur = conn.cursor()
        cur.execute("SELECT sqlite_version()")
        row = cur.fetchone()
        adbc_sqlite = row[0] if row else "?"
        cur.close()
        conn.close()
    import sqlite3

    cores = os.cpu_count()
    try:
        git = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        git = ""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"CPU: {model}, {cores} logical cores ({usable} usable)",
        f"RAM: {mem_kb / 2**20:.1f} GiB; {platform.platform()}",
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, adbc-driver-sqlite {version('adbc-driver-sqlite')} "
        f"(SQLite {adbc_sqlite}; Python's sqlite3 {sqlite3.sqlite_version}), "
        f"adbc-driver-postgresql {version('adbc-driver-postgresql')}",
        f"regulars at commit {git or '?'}",
    ]


# --- the run -------------------------------------------------------------------------------


def business(customers: int, seed: int, log: Path, run_dir: Path,
             orders_per_customer: float | None = None) -> tuple[Path, Step | None]:
    per = f"-o{orders_per_customer}" if orders_per_customer else ""
    out = DATA / f"demo-c{customers}-s{seed}{per}-csv"
    orders = out / "orders.csv"
    if orders.exists():  # write_demo renames its files into place only when all are complete
        print(f"reusing {orders}")
        return orders, None
    print(f"generating a business of {customers:,} customers into {out}")
    step = run_step("generate demo business", {"step": "generate", "out": str(out),
                                               "customers": customers, "seed": seed,
                                               "orders_per_customer": orders_per_customer},
                    log, run_dir)
    return orders, step


def first_part(orders: Path, new_share: float, run_dir: Path) -> Path:
    """The header and the first (1 - ``new_share``) of ``orders``' lines, as a file."""
    with orders.open("rb") as f:
        lines = sum(1 for _ in f) - 1
    keep = int(lines * (1 - new_share))
    out = run_dir / "orders-first-part.csv"
    with orders.open("rb") as src, out.open("wb") as dst:
        for i, line in enumerate(src):
            if i > keep:
                break
            dst.write(line)
    return out


def table(steps: list[Step], baseline: float) -> list[str]:
    lines = [
        "| step | rows | wall s | × DuckDB read | rows/s | peak RSS MB | process s | CPU s "
        "| others' CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        rows = s.rows or 0
        rate = f"{rows / s.seconds:,.0f}" if rows and s.seconds else ""
        ratio = f"{s.seconds / baseline:.1f}" if baseline else ""
        lines.append(f"| {s.name} | {rows:,} | {s.seconds:.1f} | {ratio} | {rate} | "
                     f"{s.peak_mb:,.0f} | {s.process_seconds:.1f} | {s.cpu_seconds:.1f} | "
                     f"{s.other_cpu_seconds:.1f} |")
    return lines


def stage_table(steps: list[Step]) -> list[str]:
    with_stages = [s for s in steps if s.stages]
    if not with_stages:
        return []
    labels: list[str] = []
    for s in with_stages:
        labels += [k for k in s.stages if k not in labels]
    labels.sort(key=lambda k: -max(s.stages.get(k, 0.0) for s in with_stages))
    head = "| stage (s, exclusive) | " + " | ".join(s.name for s in with_stages) + " |"
    lines = [head, "|---|" + "---:|" * len(with_stages)]
    for k in labels:
        cells = [f"{s.stages[k]:.1f}" if k in s.stages else "" for s in with_stages]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=1_000_000,
                        help="customers in the demo business (about 10 orders each)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--orders-per-customer", type=float, default=None,
                        help="the demo's average orders per person (default: the demo's own, "
                             "3.5; 10 gives about 10 M orders for 1 M customers)")
    parser.add_argument("--db-prefix", default="regulars_bench",
                        help="name prefix of the PostgreSQL databases this creates")
    parser.add_argument("--incremental", type=float, default=0.0, metavar="SHARE",
                        help="also measure an incremental import: the first (1 - SHARE) of "
                             "the file imported first, then the whole file (SHARE new)")
    parser.add_argument("--postgres-url", default=os.environ.get(ENV_URL),
                        help=f"a server to create a fresh database on (or ${ENV_URL})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-dry-run", action="store_true", help="skip the --dry-run imports")
    parser.add_argument("--baseline-runs", type=int, default=3,
                        help="DuckDB reads to take the median of")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the imports this many times (fresh stores) and keep the "
                             "fastest of each")
    parser.add_argument("--stages", action="store_true",
                        help="break each import down by stage (adds a little overhead)")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before each step, wait up to SECONDS for other processes to "
                             "leave the CPUs idle (on a shared machine)")
    parser.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return

    DATA.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"run-{datetime.now():%Y%m%d-%H%M%S}-", dir=DATA))
    log = run_dir / "bench.log"
    print(f"run directory {run_dir} (stores, log)")
    for line in machine():
        print(line)

    steps: list[Step] = []
    orders, gen = business(args.customers, args.seed, log, run_dir, args.orders_per_customer)
    size_mb = orders.stat().st_size / 2**20
    print(f"orders file: {orders} ({size_mb:,.0f} MB)")

    head = first_part(orders, args.incremental, run_dir) if args.incremental else None

    def do_import(name: str, url: str, dry_run: bool = False) -> Step:
        file = head if name.endswith("first part") else orders
        return run_step(name, {"step": "import", "kind": "orders", "file": str(file),
                               "url": url, "dry_run": dry_run, "stages": args.stages},
                        log, run_dir, args.wait_idle)

    reads = [run_step(f"DuckDB read_csv #{i + 1}", {"step": "duckdb", "file": str(orders)},
                      log, run_dir, args.wait_idle) for i in range(max(1, args.baseline_runs))]
    baseline = sorted(reads, key=lambda s: s.seconds)[len(reads) // 2]
    baseline.name = f"DuckDB read_csv → table (median of {len(reads)})"
    steps.append(baseline)

    runs: list[Step] = [*reads]
    sizes: list[str] = []

    def store_steps(store: str, fresh: Callable[[], str], size_mb: Callable[[str], float],
                    drop: Callable[[str], None]) -> None:
        """Import, re-import and dry-run ``--repeat`` times; keep the fastest of each."""
        best: dict[str, Step] = {}
        for _ in range(max(1, args.repeat)):
            url = fresh()
            done = [do_import(f"{store}: import orders", url),
                    do_import(f"{store}: re-import (no-op)", url)]
            size = f"{store} {size_mb(url):,.0f} MB"
            if not args.keep:
                drop(url)
            if head is not None:
                url = fresh()
                do_import(f"{store}: (unmeasured) the file's first part", url)  # not kept
                done.append(do_import(
                    f"{store}: incremental, {args.incremental:.0%} of the file new", url))
                if not args.keep:
                    drop(url)
            if not args.no_dry_run:
                url = fresh()
                done.append(do_import(f"{store}: --dry-run into an empty store", url,
                                      dry_run=True))
                if not args.keep:
                    drop(url)
            for step in done:
                runs.append(step)
                if step.name not in best or step.seconds < best[step.name].seconds:
                    best[step.name] = step
        sizes.append(size)
        for step in best.values():
            if args.repeat > 1:
                step.name += f" (best of {args.repeat})"
            steps.append(step)

    sqlite_dirs = iter(range(1, 1_000_000))

    def fresh_sqlite() -> str:
        directory = run_dir / f"sqlite-{next(sqlite_dirs)}"
        directory.mkdir()
        return f"sqlite:///{directory / 'store.db'}"

    def sqlite_dir(url: str) -> Path:
        return Path(url.removeprefix("sqlite:///")).parent

    store_steps("SQLite", fresh_sqlite,
                lambda url: sum(p.stat().st_size for p in sqlite_dir(url).iterdir()) / 2**20,
                lambda url: shutil.rmtree(sqlite_dir(url), ignore_errors=True))

    pg_note = ""
    if not args.no_postgres:
        pg = Postgres(args.postgres_url, args.db_prefix)
        try:
            if pg.start():
                pg_note = "PostgreSQL: " + pg.describe()
                print(pg_note)
                store_steps("PostgreSQL", pg.fresh_database, pg.database_mb, pg.drop_database)
        finally:
            if args.keep:
                print(f"kept PostgreSQL databases {', '.join(pg.databases)} at {pg.url}")
            else:
                pg.stop()
    else:
        print("PostgreSQL skipped (--no-postgres)")

    print()
    print(f"## {args.customers:,} customers → {baseline.rows or 0:,} orders "
          f"({size_mb:,.0f} MB CSV), {datetime.now():%Y-%m-%d %H:%M}")
    print()
    for line in machine():
        print(f"- {line}")
    if pg_note:
        print(f"- {pg_note}")
    print(f"- DuckDB read_csv runs: {', '.join(f'{r.seconds:.2f} s' for r in reads)}")
    if gen:
        print(f"- generating the business took {gen.seconds:.0f} s (peak {gen.peak_mb:,.0f} MB)")
    print(f"- on disk after the import: {'; '.join(sizes)}")
    if args.repeat > 1:
        print(f"- each import step ran {args.repeat} times on fresh stores; the table keeps the "
              "fastest")
    others = sum(s.other_cpu_seconds for s in steps if not s.name.startswith("PostgreSQL"))
    busy = sum(s.seconds for s in steps if not s.name.startswith("PostgreSQL"))
    if others > 0.1 * busy:
        print(f"- NOTE: other processes used {others:.0f} CPU s during the "
              f"{busy:.0f} s of DuckDB/SQLite steps: the machine was shared, times are inflated")
    print()
    print("\n".join(table(steps, baseline.seconds)))
    stages = stage_table(steps)
    if stages:
        print()
        print("\n".join(stages))
    if args.json:
        args.json.write_text(json.dumps(
            {"customers": args.customers, "seed": args.seed, "orders_file": str(orders),
             "orders_mb": size_mb, "machine": machine(), "postgres": pg_note,
             "best": [s.name for s in steps], "runs": [s.__dict__ for s in runs]}, indent=2),
            encoding="utf-8")
    print(f"\nlog: {log}")


if __name__ == "__main__":
    main()
