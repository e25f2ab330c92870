"""A task added by hand is checked against ``[contact_policy]`` (bootstrap.open_tasks wires it):
the customer's card, their status in the served map and every outgoing contact (imported, and
the done tasks written as interactions), on SQLite and PostgreSQL. The task is added all the
same: the manager decided; the answer warns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from regulars import bootstrap
from regulars.domain.tables import Kind
from regulars.services.api import ApiServices
from regulars.services.tasks import Tasks

NOW = datetime(2025, 3, 10, 9, 0)  # naive UTC; 11:00 in Tallinn, a Monday
TODAY = date(2025, 3, 10)
FORMER_CAP = "held back: 2 contacts in the last 365 days for a former customer"


@pytest.fixture
def api(store_url: str) -> Iterator[ApiServices]:
    settings = bootstrap.load_settings(database_url=store_url, timezone="Europe/Tallinn",
                                       api={"live_map": False})
    services = bootstrap.open_api(settings)
    consent = {f"consent_{c}": True for c in ("email", "sms", "messenger", "phone")}
    services.ingest.run([
        (Kind.CUSTOMERS, {"customer_id": "L1", "name": "Lost One", "manager": "Mari",
                          **consent}),
        (Kind.CUSTOMERS, {"customer_id": "L2", "name": "Lost Two", "manager": "Mari",
                          **consent}),
        (Kind.CUSTOMERS, {"customer_id": "A1", "name": "Active", "manager": "Mari", **consent}),
        (Kind.CUSTOMERS, {"customer_id": "U1", "name": "Unknown consent", "manager": "Mari"}),
    ])
    yield services
    services.stop()
    services.store.close()  # type: ignore[attr-defined]


@pytest.fixture
def tasks(api: ApiServices, database_url: str) -> Iterator[Tasks]:
    settings = bootstrap.load_settings(database_url=database_url, timezone="Europe/Tallinn")
    t = bootstrap.open_tasks(settings, api.store)  # type: ignore[arg-type]
    t.clock = lambda: NOW
    yield t
    t.close()


def _contacts(api: ApiServices, customer_id: str, *moments: str, kind: str = "offer") -> None:
    api.ingest.run([(Kind.INTERACTIONS, {
        "interaction_id": f"{customer_id}-{k}", "customer_id": customer_id,
        "at": datetime.fromisoformat(at),
        "channel": "email", "direction": "out", "kind": kind}) for k, at in enumerate(moments)])


def _status(api: ApiServices, **status: str) -> None:
    """The served map's rows of these customers (the status the policy reads)."""
    at = datetime(2025, 3, 9, 23, 59)
    rows: list[dict[str, Any]] = [
        {"customer_id": cid, "orders": 3, "rung": "returning", "status": s, "signals": "[]",
         "traits": "[]", "evidence": "[]", "evidence_text": "", "as_of": at, "updated_at": at}
        for cid, s in status.items()]
    api.store.upsert_map_rows(rows)  # type: ignore[attr-defined]


def test_a_former_customer_contacted_twice_in_a_year_is_warned_of_and_still_added(api, tasks):
    _status(api, L1="lost", A1="active")
    _contacts(api, "L1", "2024-06-01 10:00:00", "2025-01-15 10:00:00")
    _contacts(api, "A1", "2024-06-01 10:00:00", "2025-01-15 10:00:00")
    held = tasks.add(customer_id="L1", action="win_back", due_on=TODAY)
    # the first contact leaves the 365 days on Sunday 1 June, a quiet day: Monday then
    assert [w for w in held.warnings if w.startswith("held back")] == [
        FORMER_CAP + " (allowed again from Jun 2, 2025)"]
    assert held.task["state"] == "open"  # the manager decided: it is added
    # an active customer with the same contacts is under no cap of 2
    assert tasks.add(customer_id="A1", action="win_back", due_on=TODAY).warnings == []


def test_done_tasks_count_towards_the_caps(api, tasks):
    _status(api, L2="lost")
    _contacts(api, "L2", "2024-11-20 10:00:00")
    first = tasks.add(customer_id="L2", action="win_back", due_on=TODAY)
    assert first.warnings == []  # one contact in the year: a second is allowed
    tasks.done(first.task["task_id"], "no_answer")
    again = tasks.add(customer_id="L2", action="win_back", due_on=TODAY)
    assert FORMER_CAP + " (allowed again from Nov 20, 2025)" in again.warnings


def test_the_cap_is_checked_on_the_day_the_task_is_due(api, tasks):
    _status(api, L1="lost")
    _contacts(api, "L1", "2024-03-20 10:00:00", "2025-01-15 10:00:00")
    assert tasks.add(customer_id="L1", action="win_back", due_on=TODAY).warnings
    # by March 25th the first contact has left the 365 days
    assert tasks.add(customer_id="L1", action="win_back",
                     due_on=date(2025, 3, 25)).warnings == [
        "customer L1 has another open task"]


def test_without_a_served_map_a_cap_for_a_status_says_it_could_not_be_checked(api, tasks):
    _contacts(api, "L1", "2024-06-01 10:00:00", "2025-01-15 10:00:00")
    got = tasks.add(customer_id="L1", action="win_back", due_on=TODAY).warnings
    assert got == ["2 contacts in the last 365 days, and the cap for former customers is 2: "
                   "not checked, the customer's status is not known until the customer map is "
                   "built"]


def test_a_marketing_contact_without_recorded_consent_is_warned_of(api, tasks):
    got = tasks.add(customer_id="U1", action="call", due_on=TODAY).warnings
    assert got == ["held back: consent to contact by phone is not recorded (a marketing "
                   "contact needs it)"]
    # answering a detractor is transactional: unknown consent allows it
    assert tasks.add(customer_id="U1", action="call_detractor",
                     due_on=TODAY).warnings == ["customer U1 has another open task"]
