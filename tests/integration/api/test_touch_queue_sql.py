"""``map_touched`` in the SQL store (SQLite and PostgreSQL): the rules of the in-memory fake
(tests/unit/api/test_touch_queue.py), written by an ingest in its own transaction, and
settled by a rebuild."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from regulars import bootstrap
from regulars.adapters.db.api_store import SqlApiStore
from regulars.config import Settings

from .conftest import order


@pytest.fixture
def store(api_settings: Settings) -> Iterator[SqlApiStore]:
    s = bootstrap.open_api_store(api_settings)
    yield s
    s.close()


def counts(store: SqlApiStore) -> dict[str, int]:
    return {t.customer_id: t.touches for t in store.touched()}


def test_a_touch_is_written_with_its_transaction_or_not_at_all(store):
    with store.begin() as tx:
        tx.touch_customers(["A", "B"])
        # not committed: rolled back with the rows it came with
    assert store.touched_count() == 0
    with store.begin() as tx:
        tx.touch_customers(["B", "A", "A"])
        tx.commit()
    assert counts(store) == {"A": 1, "B": 1}


def test_a_later_touch_counts_and_keeps_the_first_moment(store):
    store.touch_customers(["A"])
    first = store.touched()[0].touched_at
    store.touch_customers(["B"])
    store.touch_customers(["A"])
    assert [(t.customer_id, t.touches) for t in store.touched()] == [("A", 2), ("B", 1)]
    assert store.touched()[0].touched_at == first
    assert [t.customer_id for t in store.touched(1)] == ["A"]


def test_settling_forgets_only_the_touches_whose_count_is_unchanged(store):
    store.touch_customers(["A", "B", "C"])
    seen = store.touched()
    store.touch_customers(["B"])  # during the refresh
    assert store.settle_touched(seen) == 2
    assert counts(store) == {"B": 2}
    assert store.touched_count() == 1
    assert store.settle_touched(seen) == 0  # B's count moved on: it stays


def test_an_ingest_touches_its_customers_and_a_rebuild_settles_them(services, call):
    r = call("integration", "POST", "/v1/orders",
             json=[order(1, "A"), order(2, "B"), order(3, "A")])
    assert r.status_code == 201, r.text
    assert counts(services.store) == {"A": 1, "B": 1}  # one touch per request
    assert call("readonly", "GET", "/v1/health").json()["live_pending"] == 0  # live map off
    services.rebuild_map()
    assert services.store.touched_count() == 0
