"""The playbooks' report at scale (issue 20, proof of effect): SQL aggregates, no row per
customer in Python.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_playbook_report.py \
        [--journeys 100000] [--database-url postgresql+psycopg://…/empty_db]

A store with ``--journeys`` journeys spread over ten playbooks and 150 days (10 % control),
two jobs and one message each, and three orders per customer over 200 days; then the whole
report (arms with each journey's orders and returns in its 30-day window, steps, messages) as
of the end, twice. Without ``--database-url`` a SQLite file in a temporary folder; a
PostgreSQL database must exist and be empty.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.playbook_report import SqlPlaybookReport
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    playbook_jobs,
    playbook_journeys,
    playbook_messages,
)
from regulars.domain.tables import Kind
from regulars.services.playbooks.effect import ReportFilter, report

START = datetime(2026, 1, 1)
CHUNK = 20_000


def rows(n: int, seed: int = 1) -> tuple[list[dict[str, Any]], ...]:
    rng = random.Random(seed)
    journeys, jobs, messages, orders = [], [], [], []
    for i in range(n):
        at = START + timedelta(minutes=rng.randrange(150 * 24 * 60))
        arm = "control" if rng.random() < 0.1 else "treated"
        pb, cid, jid = f"p{i % 10}", f"c{i}", f"j{i}"
        journeys.append({"journey_id": jid, "playbook": pb, "version": "1", "customer_id": cid,
                         "entry_key": "k", "arm": arm, "entered_at": at, "state": "active",
                         "ended_at": None, "end_reason": None, "goal_at": None})
        for seq, step in enumerate(("wait", "email")):
            jobs.append({"job_id": f"{jid}:{seq}", "journey_id": jid, "playbook": pb,
                         "customer_id": cid, "step_id": step, "seq": seq, "due_at": at,
                         "status": "done", "lease_owner": None, "lease_until": None,
                         "attempts": 1, "outcome": "control" if arm == "control" else "sent",
                         "detail": None, "done_at": at})
        sent = rng.random() < 0.8
        messages.append({"message_id": f"{jid}:1", "journey_id": jid, "playbook": pb,
                         "step_id": "email", "customer_id": cid, "channel": "email",
                         "purpose": "marketing", "template": "t", "language": "en",
                         "state": "sent" if sent else "skipped",
                         "reason": None if sent else rng.choice(["cap", "quiet_hours"]),
                         "detail": None, "at": at, "provider_id": None})
        for k in range(3):
            orders.append({"order_id": f"o{i}-{k}", "customer_id": cid,
                           "amount": round(rng.uniform(10, 500), 2),
                           "ordered_at": START + timedelta(minutes=rng.randrange(200 * 24 * 60)),
                           "row_hash": f"{i:032d}"})
    return journeys, jobs, messages, orders


def run(url: str, n: int) -> None:
    store = SqlApiStore(url)
    store.ensure_schema()
    journeys, jobs, messages, orders = rows(n)
    for i in range(0, n, CHUNK):
        with store.writer.begin() as conn:
            conn.execute(playbook_journeys.insert(), journeys[i:i + CHUNK])
            conn.execute(playbook_jobs.insert(), jobs[2 * i:2 * (i + CHUNK)])
            conn.execute(playbook_messages.insert(), messages[i:i + CHUNK])
            conn.execute(INPUT_TABLES[Kind.ORDERS].insert(), orders[3 * i:3 * (i + CHUNK)])
    if store.dialect != "sqlite":
        with store.writer.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    reader = SqlPlaybookReport(store)
    for _ in range(2):
        t = time.perf_counter()
        result = report(reader, ReportFilter(as_of=START + timedelta(days=182)))
        print(f"{store.dialect}: {n:,} journeys, {3 * n:,} orders, "
              f"{len(result.playbooks)} playbooks: {time.perf_counter() - t:.2f} s")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args.journeys)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'report.sqlite3'}", args.journeys)


if __name__ == "__main__":
    main()
