"""Two runners on one store at once (two servers, or a server and cron): every step of every
journey runs once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from regulars.adapters.db.playbook_jobs import SqlJobStore
from regulars.domain.playbooks import model as m
from regulars.services.playbooks.ports import Entry, StepContext, StepOutcome
from regulars.services.playbooks.runner import Runner

T0 = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
PB = m.Playbook(name="p", title="P", set="retention",
                trigger=m.Trigger(kind="event", event="order_placed"),
                steps=(m.Send("a", channel="email", template="a"),
                       m.Send("b", channel="email", template="b"),
                       m.Wait("w", days=6, until=time(9, 30)),
                       m.Send("c", channel="email", template="c")),
                control_share=0.0, goal=None)
CUSTOMERS = 400


class Facts:
    def facts_of(self, ids: object) -> dict[str, dict[str, object]]:
        return {f"c{i}": {"customer_id": f"c{i}", "time_zone": "Europe/Tallinn"}
                for i in range(CUSTOMERS)}


class Counting:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def run(self, ctx: StepContext) -> StepOutcome:
        with self.lock:
            self.calls[ctx.job.job_id] += 1
        return StepOutcome("sent")


def test_two_runners_at_once_run_each_step_once(store_url: str) -> None:
    actions = Counting()
    # the real clock for leases, as bootstrap gives every worker: the runners' passes are at
    # simulated days, whose leases must not look run out to each other
    stores = [SqlJobStore(store_url, lease_clock=lambda: datetime.now(UTC)) for _ in range(2)]
    runners = [Runner(s, {"p": PB}, Facts(), actions, owner=f"w{i}", batch=37)
               for i, s in enumerate(stores)]
    entries = [Entry("p", f"c{i}", "event:1", T0 + timedelta(minutes=i)) for i in range(CUSTOMERS)]
    errors: list[BaseException] = []

    def work(runner: Runner, half: list[Entry]) -> None:
        try:
            # both enter every entry (each sees all of them, as two feeds would), then run
            runner.enter(half)
            for days in (0, 1, 8):
                runner.run_due(T0 + timedelta(days=days))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(r, entries)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    assert len(actions.calls) == 3 * CUSTOMERS
    assert set(actions.calls.values()) == {1}


def test_two_passes_entering_at_once_keep_the_reentry_rule(store_url: str) -> None:
    # the same customers, two different occurrences, two passes at once: after_exit lets in
    # one journey per customer, never two active ones
    actions = Counting()
    # the real clock for leases, as bootstrap gives every worker: the runners' passes are at
    # simulated days, whose leases must not look run out to each other
    stores = [SqlJobStore(store_url, lease_clock=lambda: datetime.now(UTC)) for _ in range(2)]
    runners = [Runner(s, {"p": PB}, Facts(), actions, owner=f"w{i}")
               for i, s in enumerate(stores)]
    barrier = threading.Barrier(2)
    results = []

    def work(runner: Runner, key: str) -> None:
        batch = [Entry("p", f"c{i}", key, T0) for i in range(CUSTOMERS)]
        barrier.wait()
        results.append(runner.enter(batch))

    threads = [threading.Thread(target=work, args=(r, f"event:{i}"))
               for i, r in enumerate(runners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        active = Counter(j.customer_id for j in
                         stores[0].latest_journeys("p", [f"c{i}" for i in range(CUSTOMERS)])
                         .values())
        engine_rows = stores[0].all_jobs()
    finally:
        for s in stores:
            s.close()
    assert sum(r.entered for r in results) == CUSTOMERS
    assert len(engine_rows) == CUSTOMERS  # one first job per customer
    assert set(active.values()) == {1}
