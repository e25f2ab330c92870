"""Returns are never more than what is left of their order: within a file, across files and
the store, within one API request, across requests, and when two requests race (the order
is locked: SELECT ... FOR UPDATE on PostgreSQL, SQLite's one writer)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

INTEGRATION = "integration"
ORDER = {"order_id": "O1", "customer_id": "C1", "ordered_at": "2024-05-01T10:00:00",
         "amount": "100.00"}


def _message(left: str) -> str:
    return (f"more than what is left of order O1: its amount is 100.00 and {left} is left to "
            f"return")


def _ret(rid: str, amount: str, order: str = "O1") -> dict[str, Any]:
    return {"return_id": rid, "order_id": order, "returned_at": "2024-05-03T10:00:00",
            "amount": amount}


def _returns_file(tmp_path: Path, *rows: dict[str, Any], name: str = "returns.csv") -> Path:
    path = tmp_path / name
    lines = ["return_id,order_id,returned_at,amount"] + [
        f"{r['return_id']},{r['order_id']},{r['returned_at']},{r['amount']}" for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _refused(settings: Any, path: Path) -> list[tuple[int, str, str, str]]:
    done = _import_elsewhere(settings, path)
    assert done.returncode == 1, done.stdout + done.stderr
    return [(int(m[1]), m[2], m[3], m[4]) for m in re.finditer(
        r"row (\d+) \(line \d+\), column (\w+): '([^']*)' (.*)", done.stdout + done.stderr)]


def _import_elsewhere(settings: Any, path: Path) -> subprocess.CompletedProcess[str]:
    """``regulars import returns`` in a process of its own, as in production: in the API
    server's process a second copy of SQLite (ADBC's) deletes the write-ahead log the
    server's own copy still writes to, and the server's later commits are lost."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("regulars")), "import", "returns", str(path),
         "--database-url",
         settings.database_url], capture_output=True, text=True, timeout=300, check=False)


def _returned(services: Any) -> list[str]:
    import sqlalchemy as sa

    with services.store.reader.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.text("SELECT return_id FROM returns")))


@pytest.fixture
def order(call: Any) -> None:
    assert call(INTEGRATION, "POST", "/v1/orders", json=ORDER).status_code == 201


def test_return_larger_than_its_order_is_refused(order, call, api_settings, tmp_path,
                                                 services):
    assert _refused(api_settings, _returns_file(tmp_path, _ret("R1", "150"))) == [
        (1, "amount", "150.00", _message("100.00"))]
    r = call(INTEGRATION, "POST", "/v1/returns", json=_ret("R1", "150"))
    assert r.status_code == 422
    assert [(e["index"], e["field"], e["message"]) for e in r.json()["errors"]] == [
        (0, "amount", _message("100.00"))]
    assert _returned(services) == []


def test_two_returns_exceeding_order_are_refused(order, call, api_settings, tmp_path,
                                                 services):
    # in one file
    assert _refused(api_settings, _returns_file(tmp_path, _ret("R1", "80"), _ret("R2", "80"))
                    ) == [(2, "amount", "80.00", _message("20.00"))]
    # in one request
    r = call(INTEGRATION, "POST", "/v1/returns", json=[_ret("R1", "80"), _ret("R2", "80")])
    assert r.status_code == 422
    assert [(e["index"], e["message"]) for e in r.json()["errors"]] == [(1, _message("20.00"))]
    assert _returned(services) == []
    # across requests
    assert call(INTEGRATION, "POST", "/v1/returns", json=_ret("R1", "80")).status_code == 201
    r = call(INTEGRATION, "POST", "/v1/returns", json=_ret("R2", "80"))
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == _message("20.00")
    # across the store and a file
    assert _refused(api_settings, _returns_file(tmp_path, _ret("R3", "20.01"))) == [
        (1, "amount", "20.01", _message("20.00"))]
    assert _returned(services) == ["R1"]


def test_a_file_then_a_request_cannot_exceed_the_order(order, call, api_settings, tmp_path,
                                                       services):
    assert _import_elsewhere(api_settings, _returns_file(tmp_path, _ret("R1", "80"))
                             ).returncode == 0
    r = call(INTEGRATION, "POST", "/v1/returns", json=_ret("R2", "80"))
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == _message("20.00")
    assert _returned(services) == ["R1"]


def test_returns_may_add_up_to_the_whole_order_exactly(order, call, api_settings, tmp_path,
                                                       services):
    # 33.33 + 33.33 + 33.34 is 100.00000000000001 in floating point, and must not be refused
    assert _import_elsewhere(
        api_settings, _returns_file(tmp_path, _ret("R1", "33.33"), _ret("R2", "33.33"))
    ).returncode == 0
    assert call(INTEGRATION, "POST", "/v1/returns", json=_ret("R3", "33.34")).status_code == 201
    r = call(INTEGRATION, "POST", "/v1/returns", json=_ret("R4", "0.01"))
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == _message("0.00")
    assert _returned(services) == ["R1", "R2", "R3"]


def test_a_resent_return_is_not_counted_twice(order, call):
    assert call(INTEGRATION, "POST", "/v1/returns", json=_ret("R1", "80")).status_code == 201
    again = call(INTEGRATION, "POST", "/v1/returns", json=_ret("R1", "80"))
    assert again.status_code == 200 and again.json()["already_present"] == 1


def test_two_concurrent_returns_exceeding_the_order_one_is_refused(order, call, services):
    go = threading.Barrier(2)
    statuses: list[int] = []

    def send(rid: str) -> None:
        go.wait()
        statuses.append(call(INTEGRATION, "POST", "/v1/returns", json=_ret(rid, "80"))
                        .status_code)

    threads = [threading.Thread(target=send, args=(rid,)) for rid in ("R1", "R2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 422]
    assert len(_returned(services)) == 1
