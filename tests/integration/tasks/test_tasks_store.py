"""The task use cases on a real store (SQLite and PostgreSQL): a task's life, the interaction a
completed task writes in its own transaction, the do-not-contact flag, the morning plan's
idempotence, and nothing half-written on any error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from regulars import bootstrap
from regulars.adapters.db.tasks_store import SqlTaskStore
from regulars.domain.tables import Kind
from regulars.domain.tasks import (
    TaskClosedError,
    TaskError,
    TaskForbiddenError,
    UnknownManagerError,
    UnknownTaskError,
)
from regulars.services.api import ApiServices
from regulars.services.tasks import TaskFilter, Tasks, plan_task_id

NOW = datetime(2025, 3, 10, 9, 0)  # naive UTC; 11:00 in Tallinn, a Monday
TODAY = date(2025, 3, 10)


@pytest.fixture
def api(store_url: str) -> Iterator[ApiServices]:
    settings = bootstrap.load_settings(database_url=store_url, api={"live_map": False})
    services = bootstrap.open_api(settings)
    services.ingest.run([
        (Kind.CUSTOMERS, {"customer_id": "C1", "name": "Anna Tamm", "email": "anna@x.ee",
                          "phone": "+372 5555 0001", "manager": "Mari"}),
        (Kind.CUSTOMERS, {"customer_id": "C2", "name": "Boris Kask", "manager": "Jaan",
                          "consent_phone": False}),
        (Kind.CUSTOMERS, {"customer_id": "C3", "name": "Carl", "do_not_contact": True}),
    ])
    yield services
    services.stop()
    services.store.close()  # type: ignore[attr-defined]


@pytest.fixture
def tasks(api: ApiServices) -> Tasks:
    clock = {"now": NOW}
    t = Tasks(SqlTaskStore(api.store), configured_managers=["Liis"],  # type: ignore[arg-type]
              zone="Europe/Tallinn", clock=lambda: clock["now"])
    t.clock_box = clock  # type: ignore[attr-defined]
    return t


def _rows(api: ApiServices, table: str) -> list[dict[str, Any]]:
    store: Any = api.store
    with store.reader.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]


def test_known_managers_are_the_cards_the_settings_and_the_keys(api, tasks):
    api.keys.create("manager", "phone", manager="Olga")
    assert tasks.known_managers() == ["Jaan", "Liis", "Mari", "Olga"]


def test_a_task_added_by_hand_defaults_to_the_customers_manager(api, tasks):
    done = tasks.add(customer_id="C1", due_on=date(2025, 3, 11), action="call",
                     reason="orders_shrinking", note="ask about spring")
    t = done.task
    assert (t["owner"], t["channel"], t["state"], t["source"]) == ("Mari", "phone", "open",
                                                                    "manual")
    assert (t["name"], t["email"]) == ("Anna Tamm", "anna@x.ee")
    assert done.warnings == []
    listed = tasks.list(TaskFilter(owner="Mari"))
    assert [r["task_id"] for r in listed] == [t["task_id"]]
    assert listed[0]["phone"] == "+372 5555 0001"


def test_hand_made_tasks_warn_of_what_the_customer_asked(api, tasks):
    flagged = tasks.add(customer_id="C3", owner="Liis", due_on=TODAY, action="call")
    assert flagged.warnings == ["customer C3 asked not to be contacted"]
    no_consent = tasks.add(customer_id="C2", due_on=TODAY, action="call")
    assert no_consent.warnings == ["customer C2 has not consented to contact by phone"]


def test_done_closes_the_task_and_writes_one_out_interaction_with_it(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="win_back").task["task_id"]
    tasks.clock_box["now"] = datetime(2025, 3, 10, 12, 30)
    closed = tasks.done(tid, "no_answer", note="voicemail", by="Mari").task
    assert (closed["state"], closed["outcome"], closed["note"]) == ("done", "no_answer",
                                                                    "voicemail")
    [talk] = _rows(api, "interactions")
    assert talk["interaction_id"] == f"task-{tid}"
    assert (talk["customer_id"], talk["direction"], talk["kind"], talk["channel"],
            talk["outcome"], talk["manager"]) == ("C1", "out", "offer", "email", "no_answer",
                                                  "Mari")
    assert talk["responded_at"] is None  # no answer: an unanswered contact
    assert str(talk["at"]).startswith("2025-03-10 12:30")


def test_a_reached_customer_answered_at_the_moment_of_the_contact(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    tasks.done(tid, "reached")
    [talk] = _rows(api, "interactions")
    assert talk["kind"] == "call"
    assert str(talk["responded_at"]) == str(talk["at"])


def test_do_not_contact_sets_the_customers_flag_in_the_same_transaction(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    tasks.done(tid, "do_not_contact")
    card = next(r for r in _rows(api, "customers") if r["customer_id"] == "C1")
    assert bool(card["do_not_contact"]) is True


def test_a_closed_task_cannot_be_closed_again_and_nothing_more_is_written(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    tasks.done(tid, "reached")
    with pytest.raises(TaskClosedError, match="is done already"):
        tasks.done(tid, "ordered")
    with pytest.raises(TaskClosedError):
        tasks.cancel(tid)
    assert len(_rows(api, "interactions")) == 1
    assert [r["outcome"] for r in _rows(api, "tasks")] == ["reached"]


def test_a_failure_inside_done_leaves_neither_the_task_closed_nor_the_interaction(
        api, tasks, monkeypatch):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    from regulars.adapters.db import tasks_store

    def broken(self, customer_id, values):  # the flag's write fails after the interaction's
        raise RuntimeError("disk went away")

    monkeypatch.setattr(tasks_store.SqlTaskTx, "update_customer", broken)
    with pytest.raises(RuntimeError):
        tasks.done(tid, "do_not_contact")
    assert _rows(api, "interactions") == []
    assert [r["state"] for r in _rows(api, "tasks")] == ["open"]


def test_snooze_into_the_past_or_today_is_refused(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    with pytest.raises(TaskError, match=r"until: .* is not after today") as e:
        tasks.snooze(tid, date(2025, 3, 9))
    assert e.value.field == "until"
    with pytest.raises(TaskError):
        tasks.snooze(tid, TODAY)
    assert [r["state"] for r in _rows(api, "tasks")] == ["open"]


def test_a_snoozed_task_is_open_again_on_its_day(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    snoozed = tasks.snooze(tid, date(2025, 3, 12)).task
    assert (snoozed["state"], snoozed["due_on"]) == ("snoozed", "2025-03-12")
    assert tasks.list(TaskFilter(state="open")) == []  # type: ignore[arg-type]
    # 2025-03-11 22:30 UTC is already the 12th in Tallinn
    tasks.clock_box["now"] = datetime(2025, 3, 11, 22, 30)
    from regulars.domain.tasks import State

    [woken] = tasks.list(TaskFilter(state=State.OPEN))
    assert (woken["task_id"], woken["state"], woken["overdue"]) == (tid, "open", False)
    tasks.clock_box["now"] = datetime(2025, 3, 13, 9, 0)
    assert tasks.list(TaskFilter(state=State.OPEN))[0]["overdue"] is True


def test_reassign_to_an_unknown_manager_lists_the_known_ones(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    with pytest.raises(UnknownManagerError) as e:
        tasks.reassign(tid, "Nobody")
    assert str(e.value) == ("owner: no manager named 'Nobody'; known managers: "
                            "Jaan, Liis, and Mari")
    assert tasks.reassign(tid, "Jaan").task["owner"] == "Jaan"


def test_a_manager_scope_sees_and_changes_its_own_tasks_only(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    with pytest.raises(UnknownTaskError):
        tasks.done(tid, "reached", scope="Jaan")
    with pytest.raises(TaskForbiddenError):
        tasks.list(TaskFilter(owner="Mari"), scope="Jaan")
    assert tasks.list(scope="Jaan") == []
    assert len(tasks.list(scope="Mari")) == 1


def test_an_idempotency_key_replays_the_first_answer(api, tasks):
    tid = tasks.add(customer_id="C1", due_on=TODAY, action="call").task["task_id"]
    first = tasks.done(tid, "reached", idempotency_key="k1", fingerprint="f")
    again = tasks.done(tid, "reached", idempotency_key="k1", fingerprint="f")
    assert again.replayed and again.task == first.task
    assert len(_rows(api, "interactions")) == 1


@dataclass(frozen=True)
class Suggestion:
    customer_id: str
    manager: str | None
    bucket: str = "today"
    reason: str = "overdue"
    action: str = "reminder"
    channels: tuple[str, ...] = ("email", "phone")
    money_at_stake: float | None = 120.5
    due_on: date = TODAY
    evidence: dict[str, Any] = field(default_factory=lambda: {"days_overdue": 12})
    held_back: str | None = None


def test_plan_makes_tasks_of_the_top_once_a_day(api, tasks):
    suggestions = [Suggestion("C1", "Mari", bucket="overdue", due_on=date(2025, 3, 1)),
                   Suggestion("C2", "Jaan"),
                   Suggestion("C3", "Liis", held_back="held back: do not contact"),
                   Suggestion("C9", "Liis", bucket="week")]
    first = tasks.plan(suggestions, on=TODAY)
    assert sorted(t["customer_id"] for t in first.created) == ["C1", "C2"]
    c1 = next(t for t in first.created if t["customer_id"] == "C1")
    assert (c1["task_id"], c1["due_on"], c1["source"], c1["evidence"]) == (
        plan_task_id(TODAY, "C1"), "2025-03-10", "plan", {"days_overdue": 12})
    assert [s["reason"] for s in first.skipped] == ["held_back"]
    again = tasks.plan(suggestions, on=TODAY)
    assert again.created == []
    assert sorted(s["reason"] for s in again.skipped) == ["held_back", "planned", "planned"]
    assert len(_rows(api, "tasks")) == 2


def test_plan_gives_no_task_to_a_customer_with_an_open_one(api, tasks):
    tasks.add(customer_id="C1", due_on=date(2025, 3, 20), action="call")
    made = tasks.plan([Suggestion("C1", "Mari")], on=TODAY)
    assert made.created == [] and made.skipped[0]["reason"] == "open_task"


def test_evidence_is_kept_as_json(api, tasks):
    tasks.add(customer_id="C1", due_on=TODAY, action="call", evidence={"gap": 41.5})
    assert json.loads(_rows(api, "tasks")[0]["evidence"]) == {"gap": 41.5}


def test_export_shows_a_customers_tasks_and_erasure_clears_their_notes(api, tasks):
    from regulars.services.api import customers

    tasks.add(customer_id="C1", due_on=TODAY, action="call", note="Anna prefers mornings")
    exported = customers.export(api.store, "C1")
    assert [t["note"] for t in exported["tables"]["tasks"]] == ["Anna prefers mornings"]
    done = customers.erase(api.store, "C1", key_id="cli:test")
    assert done["erased"]["task_notes"] == 1
    assert [r["note"] for r in _rows(api, "tasks")] == [None]
