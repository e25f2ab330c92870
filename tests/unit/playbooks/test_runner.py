"""The runner's rules on an in-memory schedule, with fakes for facts, goals and actions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from regulars.adapters.memory_playbooks import MemoryJobStore
from regulars.domain.playbooks import model as m
from regulars.services.playbooks import ports
from regulars.services.playbooks.ports import Entry, StepContext, StepOutcome
from regulars.services.playbooks.runner import (
    Runner,
    in_control,
    job_id,
    journey_id,
)

from .fakes import DictFacts, ListGoals, RecordingActions

T0 = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # Friday 11:00 in Tallinn (EET, +02)

REGULAR = m.Condition(all_=(m.Clause("rung", "eq", "regular"),))


def playbook(**over: object) -> m.Playbook:
    values: dict[str, object] = {
        "name": "winback", "title": "Win back", "set": "retention",
        "trigger": m.Trigger(kind="event", event="order_placed"),
        "steps": (m.Send("hello", channel="email", template="hello"),
               m.Wait("pause", days=2, until=time(10)),
               m.Branch("vip", condition=m.Condition(all_=(m.Clause("tier", "eq", "gold"),)),
                        then="call", else_="remind"),
               m.Send("remind", channel="sms", template="remind"),
               m.Exit("stop"),
               m.CreateTask("call", action="call")),
        "conditions": REGULAR, "control_share": 0.0}
    values.update(over)
    return m.Playbook(**values)  # type: ignore[arg-type]


def facts(**over: object) -> dict[str, object]:
    return {"rung": "regular", "tier": None, "time_zone": "Europe/Tallinn", "name": "Mari",
            **over}


def runner(pb: m.Playbook | None = None, people: dict[str, dict[str, object]] | None = None,
           **kw: object) -> tuple[Runner, MemoryJobStore, RecordingActions]:
    store = MemoryJobStore()
    actions = kw.pop("actions", None) or RecordingActions()
    pb = pb or playbook()
    r = Runner(store, {pb.name: pb}, DictFacts(people or {"c1": facts()}),
               actions, owner="w1", **kw)  # type: ignore[arg-type]
    return r, store, actions  # type: ignore[return-value]


def test_a_journey_runs_its_steps_on_the_customers_clock() -> None:
    r, store, actions = runner()
    assert r.enter([Entry("winback", "c1", "event:1", T0)]).entered == 1
    res = r.run_due(T0)
    # hello runs at once; the wait is 2 days then until 10:00 Tallinn: Sunday 29 March 11:00
    # EEST → next 10:00 is Monday 30 March 10:00 EEST = 07:00 UTC
    assert actions.ran() == [("c1", "hello", T0)]
    assert res.outcomes == {"sent": 1, "waited": 1}
    due = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert [j.due_at for j in store.jobs.values() if j.status == ports.PENDING] == [due]
    assert r.run_due(due - timedelta(seconds=1)).ran == 0
    res = r.run_due(due)
    # tier is not gold → remind, then exit
    assert actions.ran()[1:] == [("c1", "remind", due)]
    assert res.ended == {"exit_step": 1}
    jid = journey_id("winback", "c1", "event:1")
    assert store.journeys_by_id[jid].state == ports.EXITED
    assert sorted(store.jobs) == [job_id(jid, s) for s in range(1, 6)]
    assert all(j.status == ports.COMPLETED for j in store.jobs.values())


def test_a_branch_that_holds_jumps() -> None:
    r, store, actions = runner(people={"c1": facts(tier="gold")})
    r.enter([Entry("winback", "c1", "event:1", T0)])
    r.run_due(T0 + timedelta(days=5))
    assert [s for _, s, _ in actions.ran()] == ["hello", "call"]
    assert store.journeys_by_id[journey_id("winback", "c1", "event:1")].state == ports.DONE


def test_entry_conditions_reentry_and_unknowns_are_counted_by_reason() -> None:
    people = {"c1": facts(), "c2": facts(rung="new")}
    r, _, _ = runner(people=people)
    res = r.enter([Entry("winback", "c1", "event:1", T0), Entry("winback", "c2", "event:2", T0),
                   Entry("winback", "c9", "event:3", T0), Entry("other", "c1", "event:4", T0)])
    assert res.entered == 1
    assert res.skipped == {"unmatched": 1, "unknown_customer": 1, "playbook_off": 1}
    # the same occurrence again enters nothing; a new one while active is a re-entry
    res = r.enter([Entry("winback", "c1", "event:1", T0),
                   Entry("winback", "c1", "event:5", T0 + timedelta(hours=1))])
    assert res.entered == 0
    assert res.skipped == {"already_entered": 1, "reentry": 1}


@pytest.mark.parametrize(("rule", "days", "expected"), [
    (m.REENTRY_NEVER, 0, [1, 0, 0]),
    (m.REENTRY_AFTER_EXIT, 0, [1, 0, 1]),  # the second is while active; the third after exit
    (m.REENTRY_AFTER_DAYS, 3, [1, 0, 1]),  # day 0, day 1 (<3), day 10
])
def test_reentry_rules(rule: str, days: int, expected: list[int]) -> None:
    r, _, _ = runner(playbook(reentry=rule, reentry_days=days))
    got = [r.enter([Entry("winback", "c1", "event:a", T0)]).entered,
           r.enter([Entry("winback", "c1", "event:b", T0 + timedelta(days=1))]).entered]
    r.run_due(T0 + timedelta(days=9))  # the first journey ends (exit step)
    got.append(r.enter([Entry("winback", "c1", "event:c", T0 + timedelta(days=10))]).entered)
    assert got == expected


def test_the_arm_is_a_deterministic_draw_of_the_share() -> None:
    ids = [f"c{i}" for i in range(4000)]
    control = [c for c in ids if in_control("winback", c, "event:1", 0.1)]
    assert 0.085 * 4000 < len(control) < 0.115 * 4000
    assert control == [c for c in ids if in_control("winback", c, "event:1", 0.1)]
    assert not any(in_control("winback", c, "event:1", 0.0) for c in ids)
    assert all(in_control("winback", c, "event:1", 1.0) for c in ids)


def test_the_control_arm_enters_and_receives_nothing() -> None:
    r, store, actions = runner(playbook(control_share=1.0))
    res = r.enter([Entry("winback", "c1", "event:1", T0)])
    assert (res.entered, res.control) == (1, 1)
    out = r.run_due(T0 + timedelta(days=9))
    assert actions.calls == []
    assert out.outcomes == {"control": 2, "waited": 1, "branched": 1, "ended": 1}
    assert store.journeys_by_id[journey_id("winback", "c1", "event:1")].arm == ports.CONTROL


def test_the_goal_ends_the_journey() -> None:
    goals = ListGoals({"c1": [T0 + timedelta(days=1)]})
    r, store, actions = runner(goals=goals)
    r.enter([Entry("winback", "c1", "event:1", T0)])
    r.run_due(T0)
    res = r.run_due(T0 + timedelta(days=9))
    assert [s for _, s, _ in actions.ran()] == ["hello"]
    assert res.ended == {"goal": 1}
    j = store.journeys_by_id[journey_id("winback", "c1", "event:1")]
    assert (j.state, j.goal_at) == (ports.GOAL, T0 + timedelta(days=1))
    # the window asked: from entry to the job's moment (within the goal's 30 days)
    assert goals.asked[-1] == {"c1": (T0, T0 + timedelta(days=9))}


def test_a_goal_already_met_when_the_step_runs_late_sends_nothing() -> None:
    # the worker was down: at the moment it acts the customer has already ordered
    r, _, actions = runner(goals=ListGoals({"c1": [T0 + timedelta(hours=1)]}))
    r.enter([Entry("winback", "c1", "event:1", T0)])
    assert r.run_due(T0 + timedelta(days=2)).ended == {"goal": 1}
    assert actions.calls == []


def test_an_order_after_the_goal_window_is_not_the_goal() -> None:
    goals = ListGoals({"c1": [T0 + timedelta(days=31)]})
    r, _, actions = runner(goals=goals)
    r.enter([Entry("winback", "c1", "event:1", T0)])
    r.run_due(T0 + timedelta(days=40))
    assert [s for _, s, _ in actions.ran()] == ["hello", "remind"]


def test_no_longer_matching_exits() -> None:
    people = {"c1": facts()}
    r, _store, actions = runner(people=people)
    r.enter([Entry("winback", "c1", "event:1", T0)])
    r.run_due(T0)
    people["c1"]["rung"] = "lost"
    res = r.run_due(T0 + timedelta(days=9))
    assert res.ended == {"unmatched": 1}
    assert [s for _, s, _ in actions.ran()] == ["hello"]


def test_a_deferred_step_is_the_same_job_later_and_not_an_attempt() -> None:
    later = T0 + timedelta(hours=10)
    actions = RecordingActions(defer={"hello": later})
    r, store, _ = runner(actions=actions)
    r.enter([Entry("winback", "c1", "event:1", T0)])
    res = r.run_due(T0)
    assert res.outcomes == {"deferred": 1}
    first = store.jobs[job_id(journey_id("winback", "c1", "event:1"), 1)]
    assert (first.status, first.due_at, first.attempts) == (ports.PENDING, later, 0)
    assert len(store.jobs) == 1
    r.run_due(later)
    assert [s for _, s, _ in actions.ran()] == ["hello", "hello"]
    assert store.outcomes[first.job_id].outcome == "sent"


def test_a_failing_step_is_retried_with_backoff_then_failed() -> None:
    actions = RecordingActions(fail={"hello": 99})
    r, store, _ = runner(actions=actions, max_attempts=3,
                         retry_after=timedelta(minutes=1))
    r.enter([Entry("winback", "c1", "event:1", T0)])
    jid = job_id(journey_id("winback", "c1", "event:1"), 1)
    assert r.run_due(T0).retried == 1
    assert store.jobs[jid].due_at == T0 + timedelta(minutes=1)
    assert r.run_due(T0 + timedelta(minutes=1)).retried == 1
    assert store.jobs[jid].due_at == T0 + timedelta(minutes=3)  # 1 + 2
    res = r.run_due(T0 + timedelta(minutes=3))
    assert (res.failed, res.ended) == (1, {"failed": 1})
    assert store.jobs[jid].status == ports.FAILED
    assert len(actions.calls) == 3


def test_a_lost_lease_writes_nothing() -> None:
    r, store, _ = runner()
    r.enter([Entry("winback", "c1", "event:1", T0)])
    [job] = store.claim(now=T0, owner="w1", limit=10, lease=timedelta(minutes=5))
    # w1 stalls; its lease runs out and w2 takes the job over
    [again] = store.claim(now=T0 + timedelta(minutes=6), owner="w2", limit=10,
                          lease=timedelta(minutes=5))
    assert again.job_id == job.job_id and again.attempts == 2
    ok = store.complete(job, owner="w1", outcome=ports.StepOutcome("sent"), now=T0,
                        next_job=None, end=(ports.DONE, "done"))
    assert ok is False
    assert store.jobs[job.job_id].status == ports.CLAIMED
    assert store.jobs[job.job_id].lease_owner == "w2"


def test_a_dry_run_writes_nothing_and_says_what_would_go_out() -> None:
    r, store, actions = runner()
    r.enter([Entry("winback", "c1", "event:1", T0)], dry_run=True)
    res = r.run_due(T0 + timedelta(days=9), dry_run=True)
    assert store.jobs == {} and store.journeys_by_id == {}
    assert [(row.step_id, row.kind, row.outcome, row.name) for row in res.rows] == [
        ("hello", "send", "dry_run", "Mari"), ("pause", "wait", "waited", "Mari"),
        ("vip", "branch", "branched", "Mari"), ("remind", "send", "dry_run", "Mari"),
        ("stop", "exit", "ended", "Mari")]
    assert all(c.dry_run for c in actions.calls)


def test_a_journey_runs_the_version_it_entered_with_while_loaded() -> None:
    old = playbook()
    new = playbook(steps=(m.Send("hello", channel="email", template="hello2"),
                          m.Exit("stop")))
    store = MemoryJobStore()
    actions = RecordingActions()
    first = Runner(store, {"winback": old}, DictFacts({"c1": facts()}), actions, owner="w")
    first.enter([Entry("winback", "c1", "event:1", T0)])
    # reloaded with the new version, the old one still known: the old one runs
    Runner(store, {"winback": new}, DictFacts({"c1": facts()}), actions, owner="w",
           older=[old]).run_due(T0)
    assert actions.calls[0].step == old.steps[0]
    # without the old one loaded: the current one, and the job says so
    store2 = MemoryJobStore()
    Runner(store2, {"winback": old}, DictFacts({"c1": facts()}), actions, owner="w").enter(
        [Entry("winback", "c1", "event:1", T0)])
    Runner(store2, {"winback": new}, DictFacts({"c1": facts()}), actions, owner="w").run_due(T0)
    assert actions.calls[1].step == new.steps[0]
    outcome = store2.outcomes[job_id(journey_id("winback", "c1", "event:1"), 1)]
    assert outcome.detail == f"version {new.version} (entered with {old.version})"


def test_a_switched_off_playbook_ends_its_journeys() -> None:
    r, _store, _ = runner()
    r.enter([Entry("winback", "c1", "event:1", T0)])
    r.playbooks = {}
    res = r.run_due(T0)
    assert res.ended == {"playbook_off": 1}


def test_a_branch_back_ends_the_journey_instead_of_looping() -> None:
    pb = playbook(steps=(m.Send("hello", channel="email", template="hello"),
                         m.Branch("again", condition=m.Condition(), then="hello")))
    r, _, actions = runner(pb)
    r.enter([Entry("winback", "c1", "event:1", T0)])
    res = r.run_due(T0)
    assert res.ended == {"bad_branch": 1}
    assert len(actions.calls) == 1


def test_a_retry_in_the_past_is_not_claimed_again_in_the_same_run() -> None:
    actions = RecordingActions(defer={"hello": T0 - timedelta(hours=1)})
    r, store, _ = runner(actions=actions)
    r.enter([Entry("winback", "c1", "event:1", T0)])
    assert r.run_due(T0).outcomes == {"deferred": 1}
    assert store.jobs[job_id(journey_id("winback", "c1", "event:1"), 1)].due_at == \
        T0 + timedelta(seconds=1)


def test_a_naive_entry_moment_is_utc() -> None:
    r, store, _ = runner(playbook(reentry=m.REENTRY_AFTER_DAYS, reentry_days=1))
    naive = T0.replace(tzinfo=None)
    assert r.enter([Entry("winback", "c1", "event:1", naive)]).entered == 1
    assert store.journeys_by_id[journey_id("winback", "c1", "event:1")].entered_at == T0
    # and a naive one compares with the stored, aware one (re-entry after a day)
    later = naive + timedelta(days=2)
    assert r.enter([Entry("winback", "c1", "event:2", later)]).entered == 1


def test_a_step_after_a_tag_reads_the_tag() -> None:
    # steps due at once run in one claim, but not past a step that changes the facts: the
    # branch after the tag reads the customer's facts again, with the tag
    people = {"c1": facts(tags=[])}

    class Tagging(RecordingActions):
        def run(self, ctx: ports.StepContext) -> ports.StepOutcome:
            if isinstance(ctx.step, m.Tag):
                people["c1"]["tags"] = ["vip"]
                self.calls.append(ctx)
                return ports.StepOutcome("tagged")
            return super().run(ctx)

    pb = playbook(steps=(
        m.Tag("t", tag="vip"),
        m.Branch("vip", condition=m.Condition(all_=(m.Clause("tags", "has", "vip"),)),
                 then="x", else_="y"),
        m.Send("y", channel="email", template="y"), m.Exit("stop"),
        m.Send("x", channel="email", template="x")))
    r, _, actions = runner(pb, people=people, actions=Tagging())
    r.enter([Entry("winback", "c1", "event:1", T0)])
    r.run_due(T0)
    assert [s for _, s, _ in actions.ran()] == ["t", "x"]


def test_under_a_limit_each_step_is_counted() -> None:
    r, _, actions = runner()
    r.enter([Entry("winback", "c1", "event:1", T0)])
    assert r.run_due(T0, limit=1).ran == 1
    assert [s for _, s, _ in actions.ran()] == ["hello"]
    assert r.run_due(T0, limit=1).outcomes == {"waited": 1}


class PrefetchingActions(RecordingActions):
    """Actions that read a batch's customers at once, as the sender does."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, object]] = []

    def prefetch(self, customer_ids: list[str]) -> None:
        self.log.append(("prefetch", list(customer_ids)))

    def forget(self) -> None:
        self.log.append(("forget", None))

    def run(self, ctx: StepContext) -> StepOutcome:
        self.log.append(("run", ctx.job.customer_id))
        return super().run(ctx)


def test_actions_are_told_a_batchs_customers_before_its_steps_and_forget_them_after() -> None:
    actions = PrefetchingActions()
    r, _store, _ = runner(people={"c1": facts(), "c2": facts()}, actions=actions)
    r.enter([Entry("winback", "c2", "event:1", T0), Entry("winback", "c1", "event:1", T0)])
    r.run_due(T0)
    # the hello steps of both (the waits after them run in the same claim, by the runner)
    assert actions.log[0] == ("prefetch", ["c1", "c2"])
    assert sorted(actions.log[1:-1]) == [("run", "c1"), ("run", "c2")]
    assert actions.log[-1] == ("forget", None)
