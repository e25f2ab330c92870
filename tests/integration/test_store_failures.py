"""A store that fails says so in one sentence (CLI, exit code 3) or with 503 problem+json
(HTTP), and ``GET /v1/health`` says ``degraded``: never a driver's traceback or a 500.

The conditions are real, not mocked:

- **disk full**: a tiny tmpfs when the tests may mount one (root), and always a file-size limit
  (``RLIMIT_FSIZE`` in the child process, ``SIGXFSZ`` ignored, so writes fail with EFBIG);
- **read-only**: root ignores file permissions, so as root the store's tmpfs is remounted
  read-only (``mount -o remount,ro``); otherwise the file and its folder lose their write
  bits. SQLite keeps using a file descriptor it opened before, so the server's pools are
  closed first, as a restart or a recycled connection would;
- **locked**: another connection holds a write transaction (``BEGIN IMMEDIATE``), and the
  store URL's ``?timeout=1`` makes the wait short;
- **unreachable PostgreSQL**: a port nobody listens on, and for the running server a TCP relay
  to the test server that is shut down under it (no private server needed);
- **a NUL byte on PostgreSQL**: the server's own refusal of a text.
"""

from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from regulars import bootstrap
from regulars.entrypoints.http import create_app
from regulars.entrypoints.http.app import serving

PROBLEM = "application/problem+json"


# --- helpers ---------------------------------------------------------------------------------


def cli(*args: str, limit_bytes: int | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it; optionally under a file-size limit."""
    exe = Path(sys.executable).with_name("regulars")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}

    def limited() -> None:
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, preexec_fn=limited)


def assert_one_sentence(r: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    assert r.returncode == code, (r.stdout, r.stderr)
    text = r.stderr.strip()
    assert "Traceback" not in r.stderr and "sqlalchemy" not in text.lower(), r.stderr
    assert len(text.splitlines()) == 1, text
    assert text.startswith("error: the store"), text
    for w in words:
        assert w in text, text
    return text


def orders_csv(path: Path, n: int, prefix: str = "O") -> Path:
    lines = ["order_id,customer_id,ordered_at,amount"]
    lines += [f"{prefix}{i},C{i % 997},2025-{1 + i % 12:02d}-{1 + i % 28:02d},{10 + i % 90}.50"
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``where`` (root only; skipped where mounting is not allowed)."""
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def make_read_only(folder: Path, mounted: bool) -> None:
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True,
                       capture_output=True)
    else:
        for p in folder.iterdir():
            p.chmod(0o444)
        folder.chmod(0o555)


def make_writable(folder: Path, mounted: bool) -> None:
    if mounted:
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True,
                       capture_output=True)
    else:
        folder.chmod(0o755)
        for p in folder.iterdir():
            p.chmod(0o644)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Relay:
    """A TCP relay from a local port to ``target``: the store's network, which a test cuts."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.socks: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return

    def cut(self) -> None:
        """The server is gone: the port refuses, open connections are reset."""
        self.open = False
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
        self.listener.close()
        for s in self.socks:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@contextmanager
def api_on(settings: Any) -> Iterator[tuple[Any, httpx.Client, str]]:
    services = bootstrap.open_api(settings)
    admin = services.keys.create("admin", "test")[0]
    app = create_app(settings, services=services, rebuild_on_start=False)
    try:
        with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
            yield services, http, admin
    finally:
        services.stop()
        services.store.close()  # type: ignore[attr-defined]


def settings_for(url: str) -> Any:
    return bootstrap.load_settings(database_url=url, api={
        "live_map": False, "rate_limit": 100_000, "rate_burst": 100_000,
        "points_expiring_check_minutes": 0})


def assert_store_unavailable(r: httpx.Response, reason_words: str) -> dict[str, Any]:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM
    assert int(r.headers["retry-after"]) > 0
    body: dict[str, Any] = r.json()
    assert body["type"] == "/problems/store-unavailable" and body["status"] == 503
    assert reason_words in body["detail"], body
    return body


ORDER = {"order_id": "O1", "customer_id": "C1", "ordered_at": "2025-01-02T10:00:00",
         "amount": "12.50"}


# --- disk full --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_disk_full_gives_one_sentence_and_exit_code(tmp_path: Path, how: str) -> None:
    orders = orders_csv(tmp_path / "orders.csv", 20_000)
    if how == "tmpfs":
        with tmpfs(tmp_path / "disk", "1200k") as disk:
            url = f"sqlite:///{disk / 'shop.db'}"
            assert cli("status", "--database-url", url).returncode == 0  # the schema fits
            r = cli("import", "orders", str(orders), "--database-url", url)
            assert_one_sentence(r, 3, "the disk is full", url)
            # nothing half-written: the store still answers, with no orders
            assert "0" in cli("status", "--database-url", url).stdout
        return
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert cli("status", "--database-url", url).returncode == 0
    size = (tmp_path / "shop.db").stat().st_size
    r = cli("import", "orders", str(orders), "--database-url", url, limit_bytes=size + 64_000)
    # SQLite reports EFBIG as a disk I/O error, ENOSPC as a full disk: either is one sentence
    assert_one_sentence(r, 3, url)


def test_a_full_disk_answers_503_and_degraded_health(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1500k") as disk, api_on(
            settings_for(f"sqlite:///{disk / 'shop.db'}")) as (_s, http, admin):
        auth = {"Authorization": f"Bearer {admin}"}
        r = None
        for batch in range(200):
            orders = [{**ORDER, "order_id": f"O{batch}-{i}", "customer_id": f"C{batch}-{i}"}
                      for i in range(1000)]
            r = http.post("/v1/orders", json=orders, headers=auth)
            if r.status_code != 201:
                break
        assert r is not None
        assert_store_unavailable(r, "the disk is full")
        assert r.headers["retry-after"] == "60"
        health = http.get("/v1/health")
        assert health.status_code == 503 and health.json()["store"] == "disk_full", health.text


# --- locked ----------------------------------------------------------------------------------


@contextmanager
def writer_holding(db: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction on ``db``, as a second import's would be."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE _held (x INTEGER)")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def test_two_imports_at_once_second_waits_or_says_locked(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    url = f"sqlite:///{db}"
    assert cli("import", "orders", str(orders_csv(tmp_path / "a.csv", 500)),
               "--database-url", url).returncode == 0
    second = orders_csv(tmp_path / "b.csv", 200, prefix="P")
    # a lock held longer than the wait: one sentence, exit 3, nothing written
    with writer_holding(db):
        r = cli("import", "orders", str(second), "--database-url", f"{url}?timeout=1")
    assert_one_sentence(r, 3, "locked by another process")
    # a lock released within the wait: the second import waits for it and lands
    with writer_holding(db) as held:
        threading.Timer(1.0, lambda: held.execute("ROLLBACK")).start()
        r = cli("import", "orders", str(second), "--database-url", f"{url}?timeout=20")
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (700,)


def test_a_locked_store_answers_503_with_retry_after(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    with api_on(settings_for(f"sqlite:///{db}?timeout=1")) as (_s, http, admin):
        auth = {"Authorization": f"Bearer {admin}"}
        with writer_holding(db):
            r = http.post("/v1/orders", json=ORDER, headers=auth)
        body = assert_store_unavailable(r, "locked")
        assert r.headers["retry-after"] == "5" and body["instance"] == "/v1/orders"
        assert http.post("/v1/orders", json=ORDER, headers=auth).status_code == 201


# --- read-only ---------------------------------------------------------------------------------


def test_read_only_store_gives_503_and_degraded_health(tmp_path: Path) -> None:
    mounted = _can_mount()
    if not mounted and os.geteuid() == 0:
        pytest.skip("root ignores file permissions and cannot mount here")
    folder = tmp_path / "store"
    with (tmpfs(folder, "20m") if mounted else _nothing(folder)):
        db = folder / "shop.db"
        url = f"sqlite:///{db}"
        with api_on(settings_for(url)) as (services, http, admin):
            auth = {"Authorization": f"Bearer {admin}"}
            assert http.post("/v1/orders", json=ORDER, headers=auth).status_code == 201
            assert http.get("/v1/health").json()["status"] == "ok"
            # what a restart would do: no file stays open from before
            services.store.close()
            if services.loyalty is not None:
                services.loyalty.close()
            make_read_only(folder, mounted)
            try:
                health = http.get("/v1/health")
                assert health.status_code == 503, health.text
                assert health.json()["status"] == "degraded"
                assert health.json()["store"] == "read_only"
                assert "read-only" in health.json()["detail"]
                for method, path, kw in (("POST", "/v1/orders", {"json": ORDER}),
                                         ("GET", "/v1/customers", {}),
                                         ("GET", "/v1/keys", {})):
                    assert_store_unavailable(http.request(method, path, headers=auth, **kw),
                                             "read-only")
                r = cli("import", "orders", str(orders_csv(tmp_path / "o.csv", 10)),
                        "--database-url", url)
                assert_one_sentence(r, 3, "read-only")
                assert_one_sentence(cli("status", "--database-url", url), 3, "read-only")
            finally:
                make_writable(folder, mounted)
            assert http.get("/v1/health").json()["status"] == "ok"


@contextmanager
def _nothing(folder: Path) -> Iterator[Path]:
    folder.mkdir()
    yield folder


def test_a_read_only_uri_gives_one_sentence(tmp_path: Path) -> None:
    """``?mode=ro`` (SQLite's own read-only open) refuses writes to root too."""
    db = tmp_path / "shop.db"
    assert cli("status", "--database-url", f"sqlite:///{db}").returncode == 0
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    assert cli("status", "--database-url", url).returncode == 0  # reading is fine
    r = cli("import", "orders", str(orders_csv(tmp_path / "o.csv", 10)), "--database-url", url)
    assert_one_sentence(r, 3, "read-only")
    assert_one_sentence(cli("keys", "create", "--role", "admin", "--database-url", url), 3,
                        "read-only")


# --- unreachable PostgreSQL --------------------------------------------------------------------


def test_unreachable_postgres_gives_one_sentence_without_the_password() -> None:
    url = f"postgresql+psycopg://shop:s3cret@127.0.0.1:{free_port()}/shop"
    for args in (("status",), ("keys", "list"), ("points", "statement", "C1"),
                 ("import", "orders", "nothing.csv"), ("serve",), ("analyze",)):
        r = cli(*args, "--database-url", url)
        if args[0] == "import":  # the file is checked first
            continue
        text = assert_one_sentence(r, 3, "cannot be reached")
        assert "s3cret" not in text and "***" in text


def test_a_refused_login_or_a_missing_database_gives_one_sentence(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    real = make_url(postgres_url)
    stranger = real.set(username="nobody_here", password="s3cret")
    text = assert_one_sentence(cli("status", "--database-url", stranger.render_as_string(
        hide_password=False)), 3, "refused the user name or password")
    assert "s3cret" not in text
    missing = real.set(database="no_such_database").render_as_string(hide_password=False)
    assert_one_sentence(cli("keys", "list", "--database-url", missing), 3, "does not exist")


def test_unreachable_postgres_gives_503(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    real = make_url(postgres_url)
    relay = Relay((real.host or "127.0.0.1", real.port or 5432))
    url = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    with api_on(settings_for(url)) as (_services, http, admin):
        auth = {"Authorization": f"Bearer {admin}"}
        assert http.post("/v1/orders", json=ORDER, headers=auth).status_code == 201
        relay.cut()
        for method, path, kw in (("POST", "/v1/orders", {"json": ORDER}),
                                 ("GET", "/v1/customers/C1", {}),
                                 ("GET", "/v1/audit", {})):
            assert_store_unavailable(http.request(method, path, headers=auth, **kw),
                                     "cannot be reached")
        health = http.get("/v1/health")
        assert health.status_code == 503
        assert health.json()["status"] == "degraded" and health.json()["store"] == "unreachable"


# --- a value the database refuses ---------------------------------------------------------------


def test_a_nul_byte_on_postgres_is_a_4xx_not_a_500(postgres_url: str, tmp_path: Path) -> None:
    with api_on(settings_for(postgres_url)) as (_s, http, admin):
        auth = {"Authorization": f"Bearer {admin}"}
        http.post("/v1/customers", json={"customer_id": "C1"}, headers=auth)
        r = http.post("/v1/events", headers=auth, json={
            "type": "feedback", "customer_id": "C1", "at": "2025-01-02T00:00:00", "nps": 9,
            "text": "fine\x00print"})
        assert 400 <= r.status_code < 500, r.text
        assert r.headers["content-type"] == PROBLEM
    feedback = tmp_path / "feedback.csv"
    feedback.write_text("feedback_id,customer_id,at,nps,text\nF1,C1,2025-01-02,9,a\x00b\n")
    r = cli("import", "feedback", str(feedback), "--database-url", postgres_url)
    assert r.returncode in (1, 2) and "Traceback" not in r.stderr, r.stderr


def test_health_is_ok_with_a_working_store(tmp_path: Path) -> None:
    with api_on(settings_for(f"sqlite:///{tmp_path / 'shop.db'}")) as (_s, http, _k):
        r = http.get("/v1/health")
        assert r.status_code == 200 and r.json()["status"] == "ok"
