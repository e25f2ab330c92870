"""The playbooks' schedule in the store, on SQLite and PostgreSQL: entering once, claiming
with a lease (never the same job twice), completing under the lease in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from regulars.adapters.db.playbook_jobs import SqlJobStore
from regulars.services.playbooks import ports
from regulars.services.playbooks.ports import Job, Journey, StepOutcome

T0 = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlJobStore]:
    s = SqlJobStore(store_url)
    yield s
    s.close()


def journey(n: int, at: datetime = T0, key: str = "event:1") -> Journey:
    return Journey(journey_id=f"j{n:05d}", playbook="winback", version="v1",
                   customer_id=f"c{n}", entry_key=key, arm=ports.TREATED, entered_at=at,
                   state=ports.ACTIVE)


def job(n: int, at: datetime = T0, seq: int = 1, step: str = "hello") -> Job:
    return Job(job_id=f"j{n:05d}.{seq}", journey_id=f"j{n:05d}", playbook="winback",
               customer_id=f"c{n}", step_id=step, seq=seq, due_at=at, status=ports.PENDING)


def test_enter_inserts_once_per_occurrence(store: SqlJobStore) -> None:
    assert store.enter([journey(1), journey(2)], [job(1), job(2)]) == ["j00001", "j00002"]
    # the same (playbook, customer, entry_key) under another id, and the same id: skipped
    again = Journey(**{**journey(1).__dict__, "journey_id": "other"})
    assert store.enter([again, journey(2), journey(3)], [job(3)]) == ["j00003"]
    assert [r["job_id"] for r in store.all_jobs()] == ["j00001.1", "j00002.1", "j00003.1"]
    assert store.known_journeys(["j00001", "nope"]) == {"j00001"}
    got = store.journeys(["j00002"])["j00002"]
    assert got == journey(2)
    assert got.entered_at.tzinfo is not None


def test_latest_journey_of_each_customer(store: SqlJobStore) -> None:
    store.enter([journey(1), Journey(**{**journey(1).__dict__, "journey_id": "j1b",
                                        "entry_key": "event:2",
                                        "entered_at": T0 + timedelta(days=3)})], [])
    latest = store.latest_journeys("winback", ["c1", "c2"])
    assert list(latest) == ["c1"] and latest["c1"].journey_id == "j1b"


def test_claim_takes_due_jobs_in_order_with_a_lease(store: SqlJobStore) -> None:
    store.enter([journey(i) for i in range(1, 5)],
                [job(1, T0 + timedelta(minutes=2)), job(2, T0), job(3, T0 + timedelta(hours=1)),
                 job(4, T0 + timedelta(minutes=1))])
    claimed = store.claim(now=T0 + timedelta(minutes=5), owner="w1", limit=2, lease=LEASE)
    assert [j.job_id for j in claimed] == ["j00002.1", "j00004.1"]
    assert all(j.status == ports.CLAIMED and j.lease_owner == "w1" and j.attempts == 1
               and j.lease_until == T0 + timedelta(minutes=10) for j in claimed)
    # the next claim takes what is left and due; not the job due in an hour
    rest = store.claim(now=T0 + timedelta(minutes=5), owner="w2", limit=10, lease=LEASE)
    assert [j.job_id for j in rest] == ["j00001.1"]
    # leases that ran out (all three: claimed at minute 5 for 5 minutes) are claimed again,
    # their attempts counted; still not the job due in an hour
    late = store.claim(now=T0 + timedelta(minutes=11), owner="w3", limit=10, lease=LEASE)
    assert [(j.job_id, j.attempts) for j in late] == [
        ("j00002.1", 2), ("j00004.1", 2), ("j00001.1", 2)]


def test_complete_writes_outcome_next_job_and_end_under_the_lease(store: SqlJobStore) -> None:
    store.enter([journey(1), journey(2)], [job(1), job(2)])
    a, b = store.claim(now=T0, owner="w1", limit=10, lease=LEASE)
    assert store.complete(a, owner="w1", outcome=StepOutcome("sent"), now=T0,
                          next_job=job(1, T0 + timedelta(days=2), seq=2, step="pause"), end=None)
    assert store.complete(b, owner="w1", outcome=StepOutcome("ended", reason="goal",
                                                             goal_at=T0), now=T0,
                          next_job=None, end=(ports.GOAL, "goal"))
    rows = {r["job_id"]: r for r in store.all_jobs()}
    assert (rows["j00001.1"]["status"], rows["j00001.1"]["outcome"]) == ("done", "sent")
    assert rows["j00001.1"]["lease_owner"] is None
    assert rows["j00001.2"]["status"] == "pending"
    j2 = store.journeys(["j00002"])["j00002"]
    assert (j2.state, j2.end_reason, j2.goal_at, j2.ended_at) == ("goal", "goal", T0, T0)
    assert store.journeys(["j00001"])["j00001"].state == ports.ACTIVE


def test_a_lost_lease_writes_nothing(store: SqlJobStore) -> None:
    store.enter([journey(1)], [job(1)])
    [mine] = store.claim(now=T0, owner="w1", limit=10, lease=LEASE)
    [theirs] = store.claim(now=T0 + timedelta(minutes=6), owner="w2", limit=10, lease=LEASE)
    assert not store.complete(mine, owner="w1", outcome=StepOutcome("sent"), now=T0,
                              next_job=job(1, seq=2), end=(ports.DONE, "done"))
    rows = store.all_jobs()
    assert [(r["job_id"], r["status"], r["lease_owner"]) for r in rows] == [
        ("j00001.1", "claimed", "w2")]
    assert store.journeys(["j00001"])["j00001"].state == ports.ACTIVE
    assert store.complete(theirs, owner="w2", outcome=StepOutcome("sent"), now=T0,
                          next_job=None, end=None)


def test_retry_and_deferral_reschedule_the_same_job(store: SqlJobStore) -> None:
    store.enter([journey(1), journey(2)], [job(1), job(2)])
    a, b = store.claim(now=T0, owner="w", limit=10, lease=LEASE)
    later = T0 + timedelta(hours=8)
    store.complete_batch([(a, StepOutcome("deferred", reason="quiet_hours", retry_at=later),
                           None, None),
                          (b, StepOutcome(ports.ERROR, detail="boom", retry_at=later), None,
                           None)], owner="w", now=T0)
    rows = {r["job_id"]: r for r in store.all_jobs()}
    # a deferral is not an attempt; an error is
    assert (rows["j00001.1"]["status"], rows["j00001.1"]["attempts"]) == ("pending", 0)
    assert (rows["j00002.1"]["status"], rows["j00002.1"]["attempts"]) == ("pending", 1)
    assert rows["j00002.1"]["detail"] == "boom"
    assert store.claim(now=later - timedelta(seconds=1), owner="w", limit=10, lease=LEASE) == []
    assert len(store.claim(now=later, owner="w", limit=10, lease=LEASE)) == 2


def test_two_workers_never_claim_the_same_job(store: SqlJobStore, store_url: str) -> None:
    n = 600
    store.enter([journey(i) for i in range(n)], [job(i) for i in range(n)])
    other = SqlJobStore(store_url)
    got: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def work(name: str, s: SqlJobStore) -> None:
        try:
            while True:
                jobs = s.claim(now=T0, owner=name, limit=25, lease=LEASE)
                if not jobs:
                    return
                got[name] += [j.job_id for j in jobs]
                s.complete_batch([(j, StepOutcome("sent"), None, None) for j in jobs],
                                 owner=name, now=T0)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=("a", store)),
               threading.Thread(target=work, args=("b", other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert errors == []
    assert not set(got["a"]) & set(got["b"])
    assert len(got["a"]) + len(got["b"]) == n
    assert {r["status"] for r in store.all_jobs()} == {"done"}


def test_steps_run_at_once_go_in_with_their_claimed_one(store: SqlJobStore) -> None:
    from datetime import time

    from regulars.domain.playbooks import model as m
    from regulars.services.playbooks.runner import Runner, job_id, journey_id

    pb = m.Playbook(name="winback", title="W", set="retention",
                    trigger=m.Trigger(kind="event", event="order_placed"),
                    steps=(m.Send("a", channel="email", template="a"),
                           m.Branch("br", condition=m.Condition(), then="b"),
                           m.Send("b", channel="email", template="b"),
                           m.Wait("w", days=1, until=time(10)),
                           m.Send("c", channel="email", template="c")),
                    control_share=0.0, goal=None)

    class Facts:
        def facts_of(self, ids: object) -> dict[str, dict[str, object]]:
            return {"c1": {"customer_id": "c1", "time_zone": "Europe/Tallinn"}}

    class Sent:
        def run(self, ctx: object) -> StepOutcome:
            return StepOutcome("sent")

    runner = Runner(store, {"winback": pb}, Facts(), Sent(), owner="w")
    runner.enter([ports.Entry("winback", "c1", "event:1", T0)])
    res = runner.run_due(T0)
    assert res.outcomes == {"sent": 2, "branched": 1, "waited": 1}
    jid = journey_id("winback", "c1", "event:1")
    rows = [(r["job_id"], r["step_id"], r["status"], r["outcome"], r["attempts"], r["due_at"])
            for r in store.all_jobs()]
    naive = T0.replace(tzinfo=None)
    # one claim, four steps: the second to fourth written as run with it. The wait: Friday
    # 11:00 EET + 1 day = Saturday 11:00, past 10:00, so Sunday 29 March 10:00 — EEST since
    # that night's switch — 07:00 UTC
    assert rows == [
        (job_id(jid, 1), "a", "done", "sent", 1, naive),
        (job_id(jid, 2), "br", "done", "branched", 1, naive),
        (job_id(jid, 3), "b", "done", "sent", 1, naive),
        (job_id(jid, 4), "w", "done", "waited", 1, naive),
        (job_id(jid, 5), "c", "pending", None, 0, datetime(2026, 3, 29, 7, 0))]


def test_a_lost_lease_writes_none_of_the_steps_run_after_it(store: SqlJobStore) -> None:
    store.enter([journey(1)], [job(1)])
    [mine] = store.claim(now=T0, owner="w1", limit=10, lease=LEASE)
    store.claim(now=T0 + timedelta(minutes=6), owner="w2", limit=10, lease=LEASE)
    second = Job(**{**job(1, seq=2, step="b").__dict__, "status": ports.CLAIMED,
                    "attempts": 1, "lease_owner": "w1"})
    kept = store.complete_batch(
        [(mine, StepOutcome("sent"), job(1, seq=2, step="b"), None)], owner="w1", now=T0,
        chained={mine.job_id: [(second, StepOutcome("sent"), job(1, seq=3, step="c"), None)]})
    assert kept == [False]
    assert [r["job_id"] for r in store.all_jobs()] == ["j00001.1"]


def test_leases_run_on_the_workers_clock_not_on_a_simulated_moment(store_url: str) -> None:
    """A pass at a simulated moment (``--at`` a year ahead) beside a worker: the worker's
    lease is held on the real clock, so the pass cannot take its job; and a lease the pass
    took runs out after its minutes of real time, not at the moment it simulated."""
    wall = [T0]
    s = SqlJobStore(store_url, lease_clock=lambda: wall[0])
    try:
        s.enter([journey(1), journey(2)], [job(1), job(2)])
        [worker] = s.claim(now=T0, owner="worker", limit=1, lease=LEASE)
        ahead = T0 + timedelta(days=365)
        [simulated] = s.claim(now=ahead, owner="simulation", limit=10, lease=LEASE)
        assert (worker.job_id, simulated.job_id) == ("j00001.1", "j00002.1")
        assert simulated.lease_until == T0 + LEASE  # real minutes, not a year ahead
        wall[0] = T0 + timedelta(minutes=4)
        assert s.claim(now=wall[0], owner="worker", limit=10, lease=LEASE) == []
        wall[0] = T0 + timedelta(minutes=6)  # the simulation died: its job is free again
        again = s.claim(now=wall[0], owner="worker", limit=10, lease=LEASE)
        assert sorted(j.job_id for j in again) == ["j00001.1", "j00002.1"]
    finally:
        s.close()
