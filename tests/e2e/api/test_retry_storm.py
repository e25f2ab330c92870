"""Retry storm: the same 1,000 orders sent three times over loopback while clients hang up
mid-request — every order is stored exactly once."""

from __future__ import annotations

import json
import random
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import httpx

N_ORDERS = 1000
HANG_UPS = {"half_sent": 0, "timed_out": 0}
_count = threading.Lock()



def rows(services, sql: str) -> list[dict]:
    import sqlalchemy as sa

    with services.store.reader.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql))]


def orders(seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"order_id": f"S{i:05d}", "customer_id": f"C{rng.randrange(150):04d}",
             "ordered_at": f"2024-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}"
                           f"T{rng.randrange(24):02d}:00:00",
             "amount": f"{rng.randrange(100, 20000) / 100:.2f}"} for i in range(N_ORDERS)]


def hang_up_halfway(base: str, key: str, path: str, body: dict[str, Any] | list[Any],
                    idem: str) -> None:
    """Send the headers and half the body, then close the connection."""
    url = urlparse(base)
    data = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {key}\r\n"
            f"Idempotency-Key: {idem}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=5) as s:
        s.sendall(head + data[: len(data) // 2])


def deliver(client: httpx.Client, base: str, key: str, path: str, body: Any, idem: str,
            rng: random.Random) -> dict[str, Any]:
    """Send until an answer arrives, hanging up at random on the way."""
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
    for attempt in range(50):
        roll = rng.random()
        if roll < 0.15:
            hang_up_halfway(base, key, path, body, idem)
            with _count:
                HANG_UPS["half_sent"] += 1
            continue
        # a very short timeout: the server often finishes (and commits) after we hung up
        timeout = 0.002 + rng.random() * 0.02 if roll < 0.45 and attempt < 10 else 60.0
        try:
            r = client.post(path, json=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            with _count:
                HANG_UPS["timed_out"] += 1
            continue
        assert r.status_code in (200, 201), r.text
        result: dict[str, Any] = r.json()
        return result
    raise AssertionError("never answered")


def test_the_same_orders_sent_three_times_with_hang_ups_are_stored_once(services, keys,
                                                                       api_settings):
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving

    HANG_UPS.update(half_sent=0, timed_out=0)
    data = orders()
    key = keys["integration"]
    app = create_app(api_settings, services=services, rebuild_on_start=False)
    stats = {"replayed_or_present": 0}
    lock = threading.Lock()
    with serving(app) as base, httpx.Client(base_url=base) as client:

        def single(item: tuple[int, dict[str, Any]], round_: int) -> None:
            i, o = item
            rng = random.Random(round_ * 100_000 + i)
            body = deliver(client, base, key, "/v1/orders", o, f"order-{o['order_id']}", rng)
            assert body["ids"] == [o["order_id"]]
            with lock:
                stats["replayed_or_present"] += body["already_present"]

        def batch(start: int) -> None:
            rng = random.Random(start)
            chunk = data[start:start + 100]
            body = deliver(client, base, key, "/v1/orders", chunk, f"batch-{start}", rng)
            assert body["added"] + body["already_present"] == len(chunk)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda it: single(it, 1), enumerate(data)))  # round 1: one by one
            list(pool.map(batch, range(0, N_ORDERS, 100)))  # round 2: batches, new keys
            list(pool.map(lambda it: single(it, 3), enumerate(data)))  # round 3: same keys

    assert HANG_UPS["half_sent"] > 100 and HANG_UPS["timed_out"] > 100, HANG_UPS
    counts = services.store.store.counts()  # type: ignore[attr-defined]
    assert counts["orders"] == N_ORDERS
    assert counts["customers"] == len({o["customer_id"] for o in data})
    stored = rows(services, "SELECT order_id, customer_id, amount FROM orders")
    sent = {o["order_id"]: o for o in data}
    for row in stored:
        o = sent[row["order_id"]]
        assert row["customer_id"] == o["customer_id"]
        assert float(row["amount"]) == float(o["amount"])
    # one idempotency record per key used, each holding a complete answer
    assert stats["replayed_or_present"] == 0  # same keys replay round 1's own answers
    entries = services.store.audit_entries(10_000)
    written = sum(json.loads(e["detail"])["added"] for e in entries
                  if e["action"] == "POST /v1/orders")
    assert written == N_ORDERS
