"""A completed task feeds the signals: three unanswered win-back contacts (offers) make a
customer ``unresponsive``, read by the analysis from the interactions the tasks wrote."""

from __future__ import annotations

from datetime import datetime

import pytest

import regulars
from regulars import bootstrap
from regulars.adapters.db.tasks_store import SqlTaskStore
from regulars.domain.tables import Kind
from regulars.services.tasks import Tasks


@pytest.fixture
def settings(sqlite_url):
    return bootstrap.load_settings(database_url=sqlite_url, api={"live_map": False})


def _work(settings, action: str, customer: str, outcome: str) -> None:
    services = bootstrap.open_api(settings)
    try:
        clock = {"now": datetime(2024, 5, 1, 9)}
        store = SqlTaskStore(services.store)  # type: ignore[arg-type]
        tasks = Tasks(store, clock=lambda: clock["now"])
        for day in (1, 8, 15):
            clock["now"] = datetime(2024, 5, day, 9)
            tid = tasks.add(customer_id=customer, action=action).task["task_id"]
            clock["now"] = datetime(2024, 5, day, 15)
            tasks.done(tid, outcome)
    finally:
        services.stop()
        services.store.close()  # type: ignore[attr-defined]


def _signals(settings) -> dict[str, list[str]]:
    result = regulars.analyze(config=settings, as_of="2024-07-01")
    rows = result.customers.to_arrow().to_pylist()
    return {r["customer_id"]: list(r["signals"] or []) for r in rows}


def test_unanswered_win_back_tasks_make_a_customer_unresponsive(settings):
    services = bootstrap.open_api(settings)
    services.ingest.run(
        [(Kind.CUSTOMERS, {"customer_id": c, "manager": "Mari"}) for c in ("W", "R", "C")]
        + [(Kind.ORDERS, {"order_id": f"{c}{i}", "customer_id": c,
                          "ordered_at": datetime(2024, i, 10, 10), "amount": 100})
           for c in ("W", "R", "C") for i in range(1, 4)])
    services.stop()
    services.store.close()  # type: ignore[attr-defined]
    _work(settings, "win_back", "W", "no_answer")
    _work(settings, "win_back", "R", "reached")
    _work(settings, "call", "C", "no_answer")
    signals = _signals(settings)
    assert "unresponsive" in signals["W"]
    assert "unresponsive" not in signals["R"]  # they answered
    # the signal reads offers only (DOMAIN §5: "the last 3 offers"): unanswered calls and
    # reminders are recorded as unanswered (responded_at empty) but do not raise it
    assert "unresponsive" not in signals["C"]
