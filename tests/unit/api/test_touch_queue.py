"""The live map's queue of touched customers (``map_touched``), on its in-memory fake: a first
touch records when, a later one counts; the worker reads the longest-waiting, and forgets a
touch only if its count did not change while it refreshed (so a touch during a refresh is not
lost). The SQL store keeps the same rules: tests/integration/api/test_touch_queue_sql.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from regulars.adapters.memory import MemoryTouchQueue
from regulars.services.api import live
from regulars.services.api.live import LiveMap
from regulars.services.api.ports import Touch

T0 = datetime(2026, 12, 7, 3, 0, 0)


class Clock:
    """One second later at every call."""

    def __init__(self) -> None:
        self.at = T0 - timedelta(seconds=1)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


def queue() -> MemoryTouchQueue:
    return MemoryTouchQueue(clock=Clock())


def test_a_first_touch_records_when_and_a_later_one_counts_one_more():
    q = queue()
    q.touch_customers(["B", "A"])  # at T0
    q.touch_customers(["A"])  # at T0+1: A keeps its first moment, counts 2
    q.touch_customers(["C", "C"])  # at T0+2: one touch of C, however often named
    assert q.touched() == [Touch("A", T0, 2), Touch("B", T0, 1),
                           Touch("C", T0 + timedelta(seconds=2), 1)]
    assert q.touched_count() == 3


def test_the_longest_waiting_come_first_and_a_limit_takes_that_many():
    q = queue()
    q.touch_customers(["Z"])  # T0
    q.touch_customers(["M", "A"])  # T0+1, A before M by id
    assert [t.customer_id for t in q.touched(2)] == ["Z", "A"]


def test_settling_forgets_only_the_touches_whose_count_is_unchanged():
    q = queue()
    q.touch_customers(["A", "B", "C"])
    seen = q.touched()  # the worker read A, B, C (each count 1)
    q.touch_customers(["B"])  # an ingest during the refresh: B counts 2
    assert q.settle_touched(seen) == 2  # A and C go
    assert q.touched() == [Touch("B", T0, 2)]  # B stays, for the next refresh
    assert q.settle_touched(q.touched()) == 1
    assert q.touched_count() == 0


def test_settling_what_is_already_gone_is_harmless():
    q = queue()
    q.touch_customers(["A"])
    seen = q.touched()
    assert q.settle_touched(seen) == 1
    assert q.settle_touched(seen) == 0
    q.touch_customers(["A"])  # touched anew: count 1 again, but a new row
    assert q.settle_touched(seen) == 1  # same count read: it goes (its refresh is due anyway)


@given(st.lists(st.tuples(st.sampled_from(["touch", "claim", "settle"]),
                          st.sets(st.sampled_from("ABCD"), max_size=3)), max_size=30))
def test_no_customer_touched_after_the_read_is_ever_forgotten(steps):
    """Whatever the interleaving of ingests and worker runs: a customer touched after the
    worker read the queue is still waiting after it settled."""
    q = queue()
    seen: list[Touch] = []
    touched_since_read: set[str] = set()
    for what, ids in steps:
        if what == "touch":
            q.touch_customers(sorted(ids))
            touched_since_read |= ids
        elif what == "claim":
            seen = q.touched()
            touched_since_read = set()
        else:
            q.settle_touched(seen)
            waiting = {t.customer_id for t in q.touched()}
            assert touched_since_read <= waiting
            seen = []


def test_the_live_map_keeps_a_customer_touched_during_its_refresh(monkeypatch):
    q = queue()
    q.touch_customers(["A", "B"])
    refreshed: list[set[str]] = []

    def refresh(store, compute, ids):  # an ingest touches B while A and B are recomputed
        refreshed.append(set(ids))
        if len(refreshed) == 1:
            q.touch_customers(["B"])
        return []

    monkeypatch.setattr(live, "refresh_customers", refresh)
    the_map = LiveMap(store=None, compute=None, queue=q)  # type: ignore[arg-type]
    assert the_map.run_once() == 2
    assert the_map.pending() == 1  # B, again
    assert the_map.run_once() == 1
    assert refreshed == [{"A", "B"}, {"B"}]
    assert the_map.pending() == 0
    assert the_map.run_once() == 0
    assert the_map.stats.refreshes == 2


def test_the_live_map_refreshes_a_backlog_in_parts_the_longest_waiting_first(monkeypatch):
    q = queue()
    q.touch_customers(["E"])
    q.touch_customers(["D", "C"])
    q.touch_customers(["B", "A"])
    parts: list[list[str]] = []
    monkeypatch.setattr(live, "refresh_customers",
                        lambda store, compute, ids: parts.append(sorted(ids)) or [])
    the_map = LiveMap(store=None, compute=None, queue=q, max_batch=2)  # type: ignore[arg-type]
    assert the_map.flush()  # no worker thread: refreshes here, in parts
    assert parts == [["C", "E"], ["A", "D"], ["B"]]


def test_a_failed_refresh_keeps_every_touch_for_the_next_run(monkeypatch):
    q = queue()
    q.touch_customers(["A"])

    def broken(store, compute, ids):
        raise RuntimeError("DuckDB fell over")

    monkeypatch.setattr(live, "refresh_customers", broken)
    the_map = LiveMap(store=None, compute=None, queue=q)  # type: ignore[arg-type]
    assert the_map.run_once() == 0
    assert the_map.stats.errors == 1
    assert q.touched() == [Touch("A", T0, 1)]
