"""One set of input rules on both doors: a file import and the HTTP API give the same verdict,
name the same column and say the same thing (regulars.domain.rules).

Before, the rules lived twice (SQL in staging, pydantic and Python in ingest): an order dated
9999-12-31 or an amount of 10**12 was accepted on both, a NUL byte gave a 500 on PostgreSQL.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from regulars import api
from regulars.domain import rules as domain_rules
from regulars.domain.errors import RejectedFileError

INTEGRATION = "integration"
TODAY = datetime.now(UTC).date()  # the cases below are written from it: see _one_day
AHEAD = (TODAY + timedelta(days=1)).isoformat()  # the last day a fact may fall on

ORDER = {"order_id": "O9", "customer_id": "C1", "ordered_at": "2024-05-01T10:00:00",
         "amount": "10.00"}
FEEDBACK = {"feedback_id": "F9", "customer_id": "C1", "at": "2024-05-01T10:00:00"}
INTERACTION = {"interaction_id": "I9", "customer_id": "C1", "at": "2024-05-01T10:00:00",
               "channel": "email", "direction": "out", "kind": "offer"}
INVOICE = {"invoice_id": "V9", "customer_id": "C1", "due_at": "2024-05-01T10:00:00",
           "amount": "10.00"}
CUSTOMER = {"customer_id": "C9"}

# (case, table, record, column, the message both doors give; None: the API's schema refuses
# with its own words, the column is still the same)
HOSTILE: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    ("dated 9999-12-31", "orders", {**ORDER, "ordered_at": "9999-12-31T00:00:00"},
     "ordered_at", f"after {AHEAD}: dates of orders cannot be in the future"),
    ("dated 1899-12-31", "orders", {**ORDER, "ordered_at": "1899-12-31T00:00:00"},
     "ordered_at", "before 1900-01-01: dates of orders cannot be earlier (input.earliest_date)"),
    ("dated tomorrow + 2 days", "orders",
     {**ORDER, "ordered_at": f"{TODAY + timedelta(days=3)}T00:00:00"},
     "ordered_at", f"after {AHEAD}: dates of orders cannot be in the future"),
    ("amount 10**12", "orders", {**ORDER, "amount": "1000000000000"}, "amount",
     "more than 10000000000: amounts cannot exceed it (input.max_amount)"),
    ("amount just over the limit", "orders", {**ORDER, "amount": "10000000000.0001"}, "amount",
     "more than 10000000000: amounts cannot exceed it (input.max_amount)"),
    ("negative amount", "orders", {**ORDER, "amount": "-0.01"}, "amount", "negative amount"),
    ("cost below minus the limit", "orders", {**ORDER, "cost": "-10000000001"}, "cost",
     "less than -10000000000: amounts cannot be below it (input.max_amount)"),
    ("negative quantity", "orders", {**ORDER, "quantity": -1}, "quantity", "negative number"),
    ("quantity over 10**9", "orders", {**ORDER, "quantity": 10**9 + 1}, "quantity",
     "more than 1000000000: counts cannot exceed it"),
    ("NUL in text", "orders", {**ORDER, "channel": "w\x00eb"}, "channel",
     "contains a NUL character, which text cannot hold"),
    ("NUL in an id", "orders", {**ORDER, "customer_id": "C\x001"}, "customer_id",
     "contains a NUL character, which text cannot hold"),
    ("an id of 201 characters", "orders", {**ORDER, "order_id": "O" * 201}, "order_id",
     "longer than 200 characters"),
    ("NPS 11", "feedback", {**FEEDBACK, "nps": 11}, "nps", "must be between 0 and 10"),
    ("NPS -1", "feedback", {**FEEDBACK, "nps": -1}, "nps", "must be between 0 and 10"),
    ("CSAT 0", "feedback", {**FEEDBACK, "csat": 0}, "csat", "must be between 1 and 5"),
    ("feedback from the future", "feedback", {**FEEDBACK, "at": "9999-12-31T00:00:00"}, "at",
     f"after {AHEAD}: dates of feedback cannot be in the future"),
    ("a blank required value", "interactions", {**INTERACTION, "channel": " "}, "channel",
     "missing value"),
    ("a bad choice", "interactions", {**INTERACTION, "direction": "sideways"}, "direction",
     None),
    ("an interaction from the future", "interactions",
     {**INTERACTION, "at": "9999-12-31T00:00:00"}, "at",
     f"after {AHEAD}: dates of interactions cannot be in the future"),
    ("due in 9999", "invoices", {**INVOICE, "due_at": "9999-12-31T00:00:00"}, "due_at",
     f"after {TODAY + timedelta(days=3650)}: a due date cannot be more than 3650 days ahead "
     "(input.due_days_ahead)"),
    ("paid in 9999", "invoices", {**INVOICE, "paid_at": "9999-12-31T00:00:00"}, "paid_at",
     f"after {AHEAD}: dates of invoices cannot be in the future"),
    ("born in the future", "customers",
     {**CUSTOMER, "birthday": (TODAY + timedelta(days=2)).isoformat()}, "birthday",
     f"after {AHEAD}: a birthday cannot be in the future"),
]

EVENT_TYPES = {"feedback": "feedback", "interactions": "interaction", "invoices": "invoice"}
PATHS = {"orders": "/v1/orders", "customers": "/v1/customers"}


@pytest.fixture(autouse=True)
def _one_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both doors count their date window from TODAY, the day these cases were written from,
    even when the suite runs across midnight UTC."""
    monkeypatch.setattr(domain_rules, "today", lambda: TODAY)


def _through_the_file(tmp_path: Path, settings: Any, table: str,
                      record: dict[str, Any]) -> list[tuple[str | None, str]]:
    path = tmp_path / f"{table}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(record))
        w.writeheader()
        w.writerow(record)
    with pytest.raises(RejectedFileError) as refused:
        api.import_file(table, path, settings=settings)
    return [(p.column, p.message) for p in refused.value.problems]


def _through_the_api(call: Any, table: str, record: dict[str, Any]) -> tuple[int, list[Any]]:
    if table in PATHS:
        r = call(INTEGRATION, "POST", PATHS[table], json=record)
    else:
        r = call(INTEGRATION, "POST", "/v1/events",
                 json={**record, "type": EVENT_TYPES[table]})
    errors = r.json().get("errors") or []
    return r.status_code, [(e["field"], e["message"]) for e in errors]


@pytest.fixture
def file_settings(api_settings: Any, tmp_path: Path) -> Any:
    """The file door's settings: on SQLite a store of its own, since ADBC's copy of SQLite
    in the API server's process would delete the write-ahead log the server writes to (in
    production the importer and the server are separate processes); on PostgreSQL the
    server's. Both know customer C1."""
    settings = api_settings
    if api_settings.database_url.startswith("sqlite"):
        settings = api.load_settings(
            database_url=f"sqlite:///{tmp_path / 'files.sqlite3'}")
    (tmp_path / "customers.csv").write_text("customer_id\nC1\n", encoding="utf-8")
    api.import_file("customers", tmp_path / "customers.csv", settings=settings)
    return settings


@pytest.fixture
def known(call: Any, file_settings: Any) -> None:
    assert call(INTEGRATION, "POST", "/v1/customers", json={"customer_id": "C1"}
                ).status_code in (200, 201)


@pytest.mark.parametrize(("case", "table", "record", "column", "message"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_the_same_hostile_value_gets_the_same_verdict_on_both_doors(
        case, table, record, column, message, call, file_settings, known, tmp_path):
    from_file = _through_the_file(tmp_path, file_settings, table, record)
    status, from_api = _through_the_api(call, table, record)
    assert status == 422
    assert [c for c, _m in from_file] == [column]
    assert [c for c, _m in from_api] == [column]
    if message is not None:
        assert from_api == [(column, message)]
        # the file door may add a hint of its own after the rule's words (a negative order
        # amount: "this looks like a credit note ... --credit-notes returns")
        assert from_file[0][1].startswith(message)


def test_the_edges_of_the_window_and_the_amount_are_accepted_on_both_doors(
        call, file_settings, tmp_path):
    edge = {**ORDER, "ordered_at": f"{AHEAD}T23:59:59", "amount": "10000000000"}
    early = {**ORDER, "order_id": "O10", "ordered_at": "1900-01-01T00:00:00", "amount": "0"}
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(edge))
        w.writeheader()
        w.writerows([edge, early])
    assert api.import_file("orders", path, settings=file_settings).rows_added == 2
    r = call(INTEGRATION, "POST", "/v1/orders",
             json=[{**edge, "order_id": "A1"}, {**early, "order_id": "A2"}])
    assert r.status_code == 201 and r.json()["added"] == 2


def test_order_dated_9999_is_refused_on_both_doors(call, file_settings, tmp_path, services):
    record = {**ORDER, "ordered_at": "9999-12-31T00:00:00"}
    assert _through_the_file(tmp_path, file_settings, "orders", record) == [
        ("ordered_at", f"after {AHEAD}: dates of orders cannot be in the future")]
    assert _through_the_api(call, "orders", record)[0] == 422
    assert services.store.store.counts()["orders"] == 0  # type: ignore[attr-defined]


def test_amount_of_10_to_the_12_is_refused(call, file_settings, tmp_path, services):
    record = {**ORDER, "amount": str(10**12)}
    assert [c for c, _m in _through_the_file(tmp_path, file_settings, "orders", record)] == [
        "amount"]
    assert _through_the_api(call, "orders", record)[0] == 422
    assert services.store.store.counts()["orders"] == 0  # type: ignore[attr-defined]


def test_nul_byte_in_text_is_refused(call, file_settings, tmp_path, services):
    record = {**ORDER, "channel": "w\x00eb"}
    assert [c for c, _m in _through_the_file(tmp_path, file_settings, "orders", record)] == [
        "channel"]
    status, errors = _through_the_api(call, "orders", record)
    assert (status, [c for c, _m in errors]) == (422, ["channel"])
    assert services.store.store.counts()["orders"] == 0  # type: ignore[attr-defined]


def test_the_window_and_the_amount_follow_the_settings(tmp_path, database_url):
    settings = api.load_settings(
        database_url=database_url,
        input={"earliest_date": "2000-01-01", "max_amount": "100", "future_days": 0})
    record = {**ORDER, "ordered_at": "1999-12-31T00:00:00", "amount": "100.01"}
    problems = _through_the_file(tmp_path, settings, "orders", record)
    assert problems == [
        ("amount", "more than 100: amounts cannot exceed it (input.max_amount)"),
        ("ordered_at", "before 2000-01-01: dates of orders cannot be earlier "
                       "(input.earliest_date)")]
    tomorrow = {**ORDER, "ordered_at": f"{TODAY + timedelta(days=1)}T00:00:00"}
    assert _through_the_file(tmp_path, settings, "orders", tomorrow) == [
        ("ordered_at", f"after {TODAY}: dates of orders cannot be in the future")]


def test_a_date_is_compared_by_its_day():
    from regulars.domain.rules import Check, Limit

    last = Limit("at", Check.AT_MOST, date(2026, 1, 2), "")
    assert not last.broken_by(datetime(2026, 1, 2, 23, 59, 59))
    assert last.broken_by(datetime(2026, 1, 3))
