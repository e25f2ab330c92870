"""Properties of the runner over any schedule of passes: how often a worker runs does not
change what is done or when it is due, and every step of every journey acts exactly once —
also when passes die mid-way and steps fail for a while."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from regulars.adapters.memory_playbooks import MemoryJobStore
from regulars.domain.playbooks import model as m
from regulars.services.playbooks.ports import Entry, StepContext, StepOutcome
from regulars.services.playbooks.runner import Runner

START = datetime(2026, 3, 20, tzinfo=UTC)  # a week before Tallinn's spring switch
END = START + timedelta(days=20)
ZONES = ("Europe/Tallinn", "Europe/Moscow")


def playbook(first: m.Wait, second: m.Wait) -> m.Playbook:
    return m.Playbook(
        name="p", title="P", set="retention",
        trigger=m.Trigger(kind="event", event="order_placed"),
        steps=(m.Send("a", channel="email", template="a"), first,
               m.Send("b", channel="email", template="b"), second,
               m.Send("c", channel="email", template="c")),
        control_share=0.0, goal=None)


class Facts:
    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones

    def facts_of(self, ids: object) -> dict[str, dict[str, object]]:
        return {c: {"customer_id": c, "time_zone": z} for c, z in self.zones.items()}


class Keyed:
    """Actions keyed by job id: counts the successful effects of each job; ``fail`` makes
    the first tries of some jobs raise."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.done: Counter[str] = Counter()
        self.when: dict[str, tuple[str, str, datetime]] = {}
        self.fail = dict(fail or {})

    def run(self, ctx: StepContext) -> StepOutcome:
        key = ctx.job.job_id
        if self.fail.get(ctx.job.customer_id, 0) > 0:
            self.fail[ctx.job.customer_id] -= 1
            raise ConnectionError("down for a while")
        if key not in self.done:  # the keyed effect: a repeat finds it done
            self.when[key] = (ctx.job.customer_id, ctx.step.id, ctx.job.due_at)
        self.done[key] += 1
        return StepOutcome("sent")


class Died(Exception):
    pass


class Dying:
    """The schedule as a worker sees it that dies before its completions commit."""

    def __init__(self, store: MemoryJobStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def complete_batch(self, *args: object, **kw: object) -> list[bool]:
        raise Died


waits = st.builds(lambda d, h, u: m.Wait("w", days=d, hours=h, until=u),
                  st.integers(0, 3), st.integers(0, 12),
                  st.none() | st.builds(time, st.integers(0, 23), st.sampled_from([0, 30])))
entries = st.lists(st.tuples(st.sampled_from(ZONES), st.integers(0, 7 * 24 * 60)),
                   min_size=1, max_size=8)
passes = st.lists(st.integers(0, 20 * 24 * 60), max_size=12).map(sorted)


def _run(pb: m.Playbook, people: list[tuple[str, int]], times: list[int],
         actions: Keyed, **kw: object) -> MemoryJobStore:
    zones = {f"c{i}": z for i, (z, _) in enumerate(people)}
    store = MemoryJobStore()
    runner = Runner(store, {"p": pb}, Facts(zones), actions, owner="w",
                    **kw)  # type: ignore[arg-type]
    runner.enter([Entry("p", f"c{i}", "event:1", START + timedelta(minutes=at))
                  for i, (_, at) in enumerate(people)])
    for minute in times:
        runner.run_due(START + timedelta(minutes=minute))
    runner.run_due(END + timedelta(days=10))
    return store


@settings(max_examples=60)
@given(first=waits, second=waits, people=entries, times=passes)
def test_how_often_passes_run_changes_nothing(first: m.Wait, second: m.Wait,
                                              people: list[tuple[str, int]],
                                              times: list[int]) -> None:
    pb = playbook(first, m.Wait("w2", days=second.days, hours=second.hours,
                                until=second.until))
    once, often = Keyed(), Keyed()
    _run(pb, people, [], once)
    _run(pb, people, times, often)
    assert often.when == once.when
    assert set(once.done.values()) == {1}
    assert len(once.done) == 3 * len(people)
    # and each step is due no earlier than the one before it
    for i in range(len(people)):
        a, b, c = (once.when[k][2] for k in sorted(once.when) if once.when[k][0] == f"c{i}")
        assert a <= b <= c


@settings(max_examples=40)
@given(people=entries, times=passes, dead=st.lists(st.integers(0, 20 * 24 * 60), max_size=3),
       fails=st.lists(st.integers(0, 3), min_size=8, max_size=8))
def test_dead_workers_and_failing_steps_still_act_once(
        people: list[tuple[str, int]], times: list[int], dead: list[int],
        fails: list[int]) -> None:
    pb = playbook(m.Wait("w", days=1, until=time(10)), m.Wait("w2", hours=5))
    zones = {f"c{i}": z for i, (z, _) in enumerate(people)}
    actions = Keyed(fail={f"c{i}": n for i, n in enumerate(fails)})
    store = MemoryJobStore()
    lease = timedelta(minutes=5)
    runner = Runner(store, {"p": pb}, Facts(zones), actions, owner="live", lease=lease,
                    max_attempts=10, retry_after=timedelta(minutes=1))
    runner.enter([Entry("p", f"c{i}", "event:1", START + timedelta(minutes=at))
                  for i, (_, at) in enumerate(people)])
    moments = sorted([(t, "run") for t in times] + [(t, "die") for t in dead])
    for minute, what in moments:
        now = START + timedelta(minutes=minute)
        if what == "die":
            # a worker claims what is due, acts, and dies before it commits
            dying = Runner(Dying(store), {"p": pb}, Facts(zones), actions, owner="dead",
                           lease=lease, batch=3)
            with contextlib.suppress(Died):
                dying.run_due(now, limit=3)
        else:
            runner.run_due(now)
    # then passes a day apart until nothing is left: every lease runs out, every retry and
    # wait comes due (bounded: 3 failures and 2 waits of at most 2 days each)
    for extra in range(10, 40):
        runner.run_due(END + timedelta(days=extra))
    # every step's keyed effect happened; a step acted on twice only when a worker died
    # between acting and committing, and never more than twice per death
    assert len(actions.when) == 3 * len(people)
    assert sum(n - 1 for n in actions.done.values()) <= 3 * len(dead)
    assert {j.status for j in store.jobs.values()} == {"done"}
    assert {j.state for j in store.journeys_by_id.values()} == {"done"}
