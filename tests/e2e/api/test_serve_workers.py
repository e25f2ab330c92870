"""``regulars serve --workers 2`` as a real process, on SQLite and PostgreSQL: two request
processes, and the background work (the live map) in a process of its own that updates the
card of an order sent with a real HTTP client; and ``regulars worker``, one per store.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from regulars import bootstrap
from regulars.adapters.db.worker_lock import WorkerLock


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}


def _exe() -> str:
    return str(Path(sys.executable).with_name("regulars"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path: Path, *args: str, name: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{name}.log").open("w", encoding="utf-8") as log:  # the child's copy
        return subprocess.Popen([_exe(), *args], cwd=tmp_path, env=_env(), stdout=log,
                                stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _held(url: str) -> bool:
    """Whether a worker holds the store's lock (taken and given back at once if not)."""
    lock = WorkerLock(url)
    got = lock.acquire()
    lock.release()
    return not got


@pytest.fixture
def admin_key(database_url: str) -> str:
    settings = bootstrap.load_settings(database_url=database_url)
    keys = bootstrap.open_keys(settings)
    try:
        return keys.create("admin", "e2e")[0]
    finally:
        keys.store.close()  # type: ignore[attr-defined]


@pytest.fixture
def server(tmp_path: Path, database_url: str, admin_key: str) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    proc = _start(tmp_path, "serve", "--workers", "2", "--port", str(port),
                  "--database-url", database_url, name="serve")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/v1/health", timeout=5).status_code == 200, 60,
              "the server")
        yield base, tmp_path / "serve.log"
    finally:
        code = _stop(proc)
        assert code == 0, (tmp_path / "serve.log").read_text()


def test_serve_with_two_request_processes_updates_the_card_in_its_background_process(
        server, admin_key, database_url):
    """Concurrent orders land in both request processes (on SQLite they queue for the one
    write lock: WAL, busy timeout, BEGIN IMMEDIATE), none is refused, and the background
    process brings every card up to date."""
    base, log = server
    headers = {"Authorization": f"Bearer {admin_key}"}
    # the background process holds the store's lock: the request processes run no worker
    _wait(lambda: _held(database_url), 30, "the background worker")
    customers = ("A", "B", "C", "D")
    days = [f"2026-{m:02d}-05T10:00:00" for m in range(1, 7)]  # 6 orders each

    def send(i: int) -> int:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            return http.post("/v1/orders", json={
                "order_id": f"O{i}", "customer_id": customers[i % 4],
                "ordered_at": days[i // 4], "amount": "25.00"}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, range(24))) == [201] * 24

    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:

        def cards_have_six_orders() -> bool:
            for cid in customers:
                r = http.get(f"/v1/customers/{cid}")
                if r.status_code != 200 or (r.json().get("facts") or {}).get("orders") != 6:
                    return False
            return True

        _wait(cards_have_six_orders, 60, "the cards: " + log.read_text())
        _wait(lambda: http.get("/v1/health").json()["live_pending"] == 0, 30, "live_pending")


def test_a_second_worker_on_the_same_store_does_not_run(tmp_path, database_url):
    first = _start(tmp_path, "worker", "--database-url", database_url, name="first")
    try:
        _wait(lambda: "background worker running" in (tmp_path / "first.log").read_text(),
              60, "the first worker")
        second = subprocess.run([_exe(), "worker", "--database-url", database_url],
                                cwd=tmp_path, env=_env(), capture_output=True, text=True,
                                timeout=120, check=False)
        assert second.returncode == 1
        assert "another background worker already runs on this store" in second.stderr
        assert first.poll() is None  # the first one carries on
    finally:
        assert _stop(first, signal.SIGINT) == 0, (tmp_path / "first.log").read_text()
    assert not _held(database_url)  # stopped cleanly: its lock is free again
