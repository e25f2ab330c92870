"""The worklist and the tasks wired together (issue 18): the morning plan turns the top of
each manager's list into tasks once, and the list then shows those customers as their tasks."""

from __future__ import annotations

from pathlib import Path

from regulars import api
from regulars.demo import DemoSpec, generate_business
from regulars.domain.tables import IMPORT_ORDER


def test_the_morning_plan_makes_tasks_of_the_lists_top_once(tmp_path: Path) -> None:
    settings = api.load_settings(None, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    tables = generate_business(DemoSpec(customers=600, seed=7))
    for kind in IMPORT_ORDER:
        api.import_file(kind, tables[kind.value], settings=settings)

    before = api.worklist(settings)
    due = {s.customer_id for one in before.lists for s in one.items
           if s.bucket in ("overdue", "today")}
    assert due, "the demo has customers due today or overdue"

    first = api.plan_tasks(settings, on=before.on)
    assert {t["customer_id"] for t in first.created} == due
    again = api.plan_tasks(settings, on=before.on)
    assert again.created == []

    after = api.worklist(settings)
    shown = {s.customer_id: s.task_id for one in after.lists for s in one.items}
    assert all(shown.get(c) for c in due), "a planned customer is listed as their task"
    open_tasks = api.list_tasks(settings, state="open")
    assert {t["customer_id"] for t in open_tasks} == due
