"""Playbooks' schedule: jobs claimed and completed per second, on SQLite and PostgreSQL
(issue 20: at least 1,000/s on each), beside a bare queue doing the least the same job needs.

    python benchmarks/bench_playbook_jobs.py [--jobs 20000] [--postgres-url URL] [--no-postgres]

For each database, on a freshly migrated store: ``N`` journeys with one due job each are
entered (not timed), then timed:

* **ours (store)** — :class:`SqlJobStore`: ``claim(limit=500)`` (a leased claim: ``UPDATE …
  WHERE job_id IN (SELECT … [FOR UPDATE SKIP LOCKED] LIMIT 500) RETURNING``) then
  ``complete_batch`` of the 500 (outcome written under the lease guard, the journeys ended),
  until nothing is due;
* **ours (runner)** — the same through :class:`Runner.run_due` with no-op actions and facts
  from a dict: journeys read, conditions evaluated, the store's work as above;
* **peer (bare queue)** — the procrastinate-style minimum, written here: a table of (id,
  due_at, status, lease_owner, lease_until) with the same index, ``UPDATE … SET
  status='claimed' WHERE id IN (SELECT id … ORDER BY due_at LIMIT 500 [FOR UPDATE SKIP
  LOCKED]) RETURNING id`` then one ``UPDATE … SET status='done' WHERE id IN (…)``. No
  journeys, no lease guard on completion, no outcome.

Prints the machine and a Markdown table (jobs/s, and ours ÷ peer). PostgreSQL: ``--postgres-url``
or ``REGULARS_BENCH_POSTGRES_URL`` (a database ``regulars_bench_jobs_*`` is created there and
dropped); without either, PostgreSQL is skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from regulars.adapters.db.engine import Purpose, create_engine
from regulars.adapters.db.migrate import ensure_schema
from regulars.adapters.db.playbook_jobs import SqlJobStore
from regulars.domain.playbooks import model as m
from regulars.services.playbooks import ports
from regulars.services.playbooks.ports import Facts, StepContext, StepOutcome
from regulars.services.playbooks.runner import Runner, job_id

T0 = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
BATCH = 500
LEASE = timedelta(minutes=5)
PLAYBOOK = m.Playbook(name="bench", title="Bench", set="retention",
                      trigger=m.Trigger(kind="event", event="order_placed"),
                      steps=(m.Send("hello", channel="email", template="t"),),
                      control_share=0.0, goal=None)


def _fill(store: SqlJobStore, n: int, prefix: str) -> None:
    journeys, jobs = [], []
    version = PLAYBOOK.version
    for i in range(n):
        jid = f"{prefix}{i:08d}"
        journeys.append(ports.Journey(jid, "bench", version, f"c{i}", "event:1",
                                      ports.TREATED, T0, ports.ACTIVE))
        jobs.append(ports.Job(job_id(jid, 1), jid, "bench", f"c{i}", "hello", 1, T0,
                              ports.PENDING))
    for k in range(0, n, 5000):
        store.enter(journeys[k:k + 5000], jobs[k:k + 5000])


def ours_store(url: str, n: int) -> float:
    store = SqlJobStore(url)
    try:
        _fill(store, n, "s")
        done = 0
        start = time.perf_counter()
        while True:
            jobs = store.claim(now=T0, owner="bench", limit=BATCH, lease=LEASE)
            if not jobs:
                break
            ok = store.complete_batch(
                [(j, StepOutcome("sent"), None, (ports.DONE, "done")) for j in jobs],
                owner="bench", now=T0)
            done += sum(ok)
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    assert done == n, (done, n)
    return n / elapsed


class _Facts:
    def facts_of(self, customer_ids: Sequence[str]) -> dict[str, Facts]:
        return {c: {"customer_id": c} for c in customer_ids}


class _Actions:
    def run(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome("sent")


def ours_runner(url: str, n: int) -> float:
    store = SqlJobStore(url)
    try:
        _fill(store, n, "r")
        runner = Runner(store, {"bench": PLAYBOOK}, _Facts(), _Actions(), owner="bench")
        start = time.perf_counter()
        result = runner.run_due(T0)
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    assert result.ran == n, result
    return n / elapsed


def peer(url: str, n: int) -> float:
    engine = create_engine(url, Purpose.WRITER)
    pg = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE bare_jobs (id varchar(64) PRIMARY KEY, due_at timestamp NOT NULL, "
                "status varchar(16) NOT NULL, lease_owner varchar(64), lease_until timestamp)")
            conn.exec_driver_sql("CREATE INDEX ix_bare_jobs ON bare_jobs (status, due_at)")
            conn.execute(sa.text("INSERT INTO bare_jobs (id, due_at, status) "
                                 "VALUES (:id, :due, 'pending')"),
                         [{"id": f"p{i:08d}.1", "due": T0.replace(tzinfo=None)}
                          for i in range(n)])
        lock = " FOR UPDATE SKIP LOCKED" if pg else ""
        claim = sa.text(
            "UPDATE bare_jobs SET status = 'claimed', lease_owner = 'bench', lease_until = :until "
            "WHERE id IN (SELECT id FROM bare_jobs WHERE status = 'pending' AND due_at <= :now "
            f"ORDER BY due_at LIMIT {BATCH}{lock}) RETURNING id")
        finish = sa.text("UPDATE bare_jobs SET status = 'done' WHERE id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True))
        now = T0.replace(tzinfo=None)
        done = 0
        start = time.perf_counter()
        while True:
            with engine.begin() as conn:
                ids = [r[0] for r in conn.execute(claim, {"now": now, "until": now + LEASE})]
            if not ids:
                break
            with engine.begin() as conn:
                done += conn.execute(finish, {"ids": ids}).rowcount
        elapsed = time.perf_counter() - start
    finally:
        engine.dispose()
    assert done == n, (done, n)
    return n / elapsed


YEAR_PLAYBOOK = m.Playbook(
    name="year", title="Year", set="communication_plan",
    trigger=m.Trigger(kind="event", event="order_placed"),
    steps=(m.Send("thanks", channel="email", template="thanks"),
           m.Wait("week", days=7, until=clock_time(10)),
           m.Branch("big", condition=m.Condition(all_=(m.Clause("orders", "gte", 3),)),
                    then="call"),
           m.Send("tip", channel="email", template="tip"),
           m.Wait("month", days=30, until=clock_time(10)),
           m.Send("offer", channel="sms", template="offer"),
           m.Exit("stop"),
           m.CreateTask("call", action="call")),
    control_share=0.1, goal=None)


class _YearFacts:
    def facts_of(self, customer_ids: Sequence[str]) -> dict[str, Facts]:
        return {c: {"customer_id": c, "orders": int(c[1:]) % 5,
                    "time_zone": "Europe/Moscow" if int(c[1:]) % 3 == 0 else "Europe/Tallinn"}
                for c in customer_ids}


def year(url: str, customers: int, batch: int = BATCH) -> tuple[float, int, int]:
    """``customers`` enter one playbook of waits, a branch and sends at moments spread over a
    year; a pass a week (enter that week's entries, run what is due), 53 passes. Returns the
    wall seconds, the journeys entered and the steps run."""
    store = SqlJobStore(url)
    runner = Runner(store, {"year": YEAR_PLAYBOOK}, _YearFacts(), _Actions(), owner="bench",
                    batch=batch)
    start_of_year = datetime(2026, 1, 1, tzinfo=UTC)
    minutes = 365 * 24 * 60
    weeks: dict[int, list[ports.Entry]] = {}
    for i in range(customers):
        at = start_of_year + timedelta(minutes=(i * 7919) % minutes)
        weeks.setdefault((at - start_of_year).days // 7, []).append(
            ports.Entry("year", f"c{i}", f"event:{i}", at))
    entered = ran = 0
    began = time.perf_counter()
    try:
        for week in range(54):
            now = start_of_year + timedelta(days=7 * (week + 1))
            entered += runner.enter(weeks.get(week, [])).entered
            ran += runner.run_due(now).ran
    finally:
        store.close()
    return time.perf_counter() - began, entered, ran


def _machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
            f"load average {load[0]:.1f}")


def _migrated_sqlite(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    engine = create_engine(url)
    try:
        ensure_schema(engine, url)
    finally:
        engine.dispose()
    return url


def _pg_database(server: str) -> tuple[str, Callable[[], None]]:
    base = sa.engine.make_url(server)
    admin_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"regulars_bench_jobs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        ensure_schema(engine, url)
    finally:
        engine.dispose()

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--postgres-url", default=os.environ.get("REGULARS_BENCH_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--year", type=int, default=0, metavar="CUSTOMERS",
                        help="also simulate a year of weekly passes for this many customers")
    parser.add_argument("--year-batch", type=int, default=BATCH, metavar="N",
                        help="the simulated year's claim size ([playbook_runner] batch)")
    args = parser.parse_args()
    print(_machine())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        s = ours_store(_migrated_sqlite(folder, "a.sqlite3"), args.jobs)
        r = ours_runner(_migrated_sqlite(folder, "b.sqlite3"), args.jobs)
        p = peer(_migrated_sqlite(folder, "c.sqlite3"), args.jobs)
        rows.append(("SQLite", s, r, p))
    if args.postgres_url and not args.no_postgres:
        results = []
        for fn in (ours_store, ours_runner, peer):
            url, drop = _pg_database(args.postgres_url)
            try:
                results.append(fn(url, args.jobs))
            finally:
                drop()
        rows.append(("PostgreSQL", *results))
    if args.year:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, entered, ran = year(_migrated_sqlite(Path(tmp), "y.sqlite3"), args.year,
                                         args.year_batch)
        print(f"\na simulated year on SQLite: {entered:,} journeys, {ran:,} steps run in 53 "
              f"weekly passes, claims of {args.year_batch}, {seconds:.1f} s "
              f"({ran / seconds:,.0f} steps/s)")
    print(f"\n{args.jobs:,} due jobs, claimed {BATCH} at a time\n")
    print("| database | ours, store (jobs/s) | ours, runner (jobs/s) | peer: bare queue (jobs/s) "
          "| store ÷ peer | runner ÷ peer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, s, r, p in rows:
        print(f"| {name} | {s:,.0f} | {r:,.0f} | {p:,.0f} | {s / p:.2f} | {r / p:.2f} |")


if __name__ == "__main__":
    main()
