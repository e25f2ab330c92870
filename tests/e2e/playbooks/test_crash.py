"""kill -9 of a playbooks worker mid-run, then a restart: every due message reaches the
receiver, and each under one key — on SQLite and PostgreSQL.

What is guaranteed, said plainly: a step's job is completed in the transaction that also
writes its next job, under the worker's lease; a worker killed after it POSTed but before
that commit leaves the job to be claimed again when the lease runs out, and the POST is
repeated **with the same Idempotency-Key** (the job's id). So delivery is at least once, the
key exactly once per due step; a receiver that deduplicates on the key (as the signed webhook
outbox's receivers are asked to) acts exactly once. The test counts both: distinct keys equal
the due steps exactly, and raw repeats are no more than one claim's steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from regulars.adapters.db.playbook_jobs import SqlJobStore
from regulars.services.playbooks.runner import job_id, journey_id

pytestmark = pytest.mark.slow

CUSTOMERS = 300
LEASE = 3
WORKER = Path(__file__).with_name("crash_worker.py")
BATCH = 20  # the worker's [playbook_runner] batch


class Receiver:
    """Counts POSTs by their Idempotency-Key, a few milliseconds each (so a kill lands
    mid-run)."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(0.004)
                with receiver.lock:
                    receiver.keys[self.headers["Idempotency-Key"]] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return sum(self.keys.values())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _worker(url: str, receiver: Receiver) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, receiver.url, str(CUSTOMERS), str(LEASE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def test_kill_nine_mid_run_then_restart_delivers_each_step_once(
        store_url: str, receiver: Receiver) -> None:
    # the first run: killed once a third of the messages have arrived
    proc = _worker(store_url, receiver)
    deadline = time.monotonic() + 120
    while receiver.count() < CUSTOMERS * 2 // 3 and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the worker ended before the kill: {proc.communicate()}")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    before = receiver.count()
    assert 0 < before < 2 * CUSTOMERS

    # the jobs the dead worker held are claimed again once their lease has run out
    time.sleep(LEASE + 1)
    again = _worker(store_url, receiver)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["entered"] == 0  # the first run entered them all, and entering is idempotent

    expected = {job_id(journey_id("crash", f"c{i:04d}", "event:1"), seq)
                for i in range(CUSTOMERS) for seq in (1, 2)}
    assert set(receiver.keys) == expected
    repeats = sum(n - 1 for n in receiver.keys.values())
    # at most what one claim held when the worker died: its batch of jobs, each with the step
    # run at once after it (the two sends of a journey go together)
    assert repeats <= 2 * BATCH
    # and the store agrees: every job done, every journey finished
    store = SqlJobStore(store_url)
    try:
        rows = store.all_jobs()
    finally:
        store.close()
    assert len(rows) == 2 * CUSTOMERS
    assert {r["status"] for r in rows} == {"done"}
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            states = conn.execute(sa.text(
                "SELECT state, count(*) FROM playbook_journeys GROUP BY state")).all()
    finally:
        engine.dispose()
    assert [tuple(s) for s in states] == [("done", CUSTOMERS)]
    print(f"kill -9 after {before} deliveries; {repeats} repeated deliveries after restart")
