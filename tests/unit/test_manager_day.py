"""A manager's day as the worklist page reads it: buckets on the manager's own day, the order
within them, and the worklist's suggestions built once per map (hand-computed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from regulars.domain import worklist as wl
from regulars.domain.tasks import State
from regulars.services.manager_day import ManagerDays, reason_sentence
from regulars.services.tasks import TaskFilter, Tasks
from regulars.services.worklist import ManagerList, Suggestion, Worklist


class FakeTaskStore:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.asked: list[TaskFilter] = []

    def list_tasks(self, f: TaskFilter, today: date) -> list[dict[str, Any]]:
        self.asked.append(f)
        out = []
        for r in self.rows:
            woke = r["state"] == "snoozed" and r["snoozed_until"] <= today
            if f.owner is not None and r["owner"] != f.owner:
                continue
            if f.state is State.OPEN and not (r["state"] == "open" or woke):
                continue
            if f.due_to is not None and r["due_on"] > f.due_to:
                continue
            out.append(r)
        return sorted(out, key=lambda r: (r["due_on"], r["task_id"]))

    def store_managers(self) -> list[str]:
        return ["Olga"]


class FakeReads:
    def __init__(self, live: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.live = set(live)

    def last_contacts(self, customer_ids):
        return {"C1": datetime(2026, 2, 1, 10)} if "C1" in customer_ids else {}

    def live_among(self, customer_ids):
        return self.live & set(customer_ids)


def task(tid: str, cid: str, due: date, stake: float | None, state: str = "open",
         snoozed: date | None = None, owner: str = "Olga") -> dict[str, Any]:
    return {"task_id": tid, "customer_id": cid, "owner": owner, "due_on": due,
            "reason": "manual", "action": "call", "channel": "phone", "evidence": "{}",
            "money_at_stake": stake, "state": state, "snoozed_until": snoozed,
            "outcome": None, "note": None, "source": "plan", "created_at": datetime(2026, 1, 1),
            "closed_at": None, "created_by": None, "name": f"Name {cid}"}


# 22:30 UTC on 2 March is 00:30 on 3 March in Tallinn (UTC+2): the manager's day is the 3rd,
# the business's (UTC) the 2nd
NOW = datetime(2026, 3, 2, 22, 30)
RULES = wl.WorklistRules(managers={"Olga": wl.ManagerRules(time_zone="Europe/Tallinn")},
                         week_days=7)


def days(rows: list[dict[str, Any]], **kw: Any) -> tuple[ManagerDays, FakeTaskStore]:
    store = FakeTaskStore(rows)
    tasks = Tasks(store, zone="UTC", clock=lambda: NOW)  # type: ignore[arg-type]
    return ManagerDays(tasks, RULES, kw.pop("reads", FakeReads()), **kw), store


def test_tasks_are_bucketed_on_the_managers_own_day():
    reader, store = days([
        task("a", "C1", date(2026, 3, 2), 10.0),  # yesterday for Olga: overdue
        task("b", "C2", date(2026, 3, 3), 5.0),  # her today
        task("c", "C3", date(2026, 3, 3), 50.0),  # today, more at stake: first
        task("d", "C4", date(2026, 3, 9), 1.0),  # today + 6: this week
        task("e", "C5", date(2026, 3, 10), 99.0),  # today + 7: not this week's
        task("f", "C6", date(2026, 3, 1), 7.0, state="done"),
        task("g", "C7", date(2026, 3, 2), 3.0, owner="Boris"),
    ])
    day = reader.day("Olga", suggestions=False)
    assert day.today == date(2026, 3, 3)
    assert day.time_zone == "Europe/Tallinn"
    assert store.asked[0].due_to == date(2026, 3, 9)
    assert [(b, [r.task_id for r in rows]) for b, rows in day.by_bucket()] == [
        ("overdue", ["a"]), ("today", ["c", "b"]), ("week", ["d"])]
    first = day.tasks[0]
    assert (first.name, first.last_contact_at) == ("Name C1", datetime(2026, 2, 1, 10))
    assert day.tasks[1].last_contact_at is None


def test_a_snoozed_task_whose_day_has_come_is_listed_again():
    # the tasks service wakes it on the business's day (2 March)
    reader, _store = days([
        task("s", "C1", date(2026, 3, 2), 1.0, state="snoozed", snoozed=date(2026, 3, 2)),
        task("t", "C2", date(2026, 3, 5), 1.0, state="snoozed", snoozed=date(2026, 3, 5))])
    rows = reader.day("Olga", suggestions=False).tasks
    assert [(r.task_id, r.bucket, r.snoozed) for r in rows] == [("s", "overdue", True)]


def suggestion(cid: str, task_id: str | None = None) -> Suggestion:
    return Suggestion(customer_id=cid, name=f"Name {cid}", manager="Olga", email=None,
                      phone=None, channels=("phone",), last_order_at=None, money_at_stake=9.0,
                      reason="overdue", reason_text="", action="reminder", action_text="",
                      bucket="today", due_on=date(2026, 2, 27), evidence={}, task_id=task_id)


def test_suggestions_are_built_once_per_map_and_leave_out_the_tasked_customers():
    built: list[int] = []
    version = ["v1"]

    def build() -> Worklist:
        built.append(1)
        items = (suggestion("C1"), suggestion("C8", task_id="x"), suggestion("C9"),
                 suggestion("C10"))
        return Worklist(date(2026, 2, 27), None, (
            ManagerList("Olga", "Europe/Tallinn", date(2026, 2, 27), 15, items, ()),
            ManagerList("Boris", "UTC", date(2026, 2, 27), 15, (suggestion("C20"),), ())),
            ("Boris", "Olga"))

    reader, _store = days([task("a", "C1", date(2026, 3, 3), 1.0)], suggestions=build,
                          map_version=lambda: version[0], reads=FakeReads({"C10"}),
                          background=False)
    day = reader.day("Olga")
    # C1 has a task on the page, C8 was a task when built, C10 has a live task now
    assert [r.customer_id for r in day.suggestions] == ["C9"]
    assert day.suggestions[0].kind == "suggestion"
    assert day.suggestions_for == date(2026, 2, 27)
    reader.day("Olga")
    assert len(built) == 1  # kept for the same map
    version[0] = "v2"
    reader.day("Olga")
    assert len(built) == 2  # a new map: built again
    version[0] = None  # type: ignore[call-overload]
    assert reader.day("Olga").suggestions == ()


def test_the_reason_is_the_evidence_sentence_else_its_name():
    assert reason_sentence("manual", {}) == "added by hand"
    assert reason_sentence("overdue", {}) == "an order is overdue"
    assert reason_sentence("overdue", {"about": "worklist", "code": "overdue"}) == (
        "an order is overdue")
    text = reason_sentence("overdue", {"about": "signal", "code": "overdue",
                                       "typical_gap_days": 30, "days_since_last_order": 52,
                                       "overdue_after_days": 36, "days_overdue": 22,
                                       "gap_source": "own"})
    assert text == "An order is overdue by 22 days (usual gap 30 days); a reminder is due."


def test_in_the_background_no_page_waits_for_the_build():
    import threading

    release = threading.Event()

    def build() -> Worklist:
        release.wait(10)
        return Worklist(date(2026, 2, 27), None, (ManagerList(
            "Olga", "UTC", date(2026, 2, 27), 15, (suggestion("C9"),), ()),), ("Olga",))

    reader, _store = days([], suggestions=build, map_version=lambda: "v1")
    first = reader.day("Olga")
    assert (first.suggestions, first.preparing) == ((), True)  # not waiting for it
    release.set()
    reader.wait()
    second = reader.day("Olga")
    assert ([r.customer_id for r in second.suggestions], second.preparing) == (["C9"], False)
