"""The rules of playbooks' events (services/events.py) on an in-memory store: names, sizes,
ids, moments — every problem of a request named by index and field, nothing written."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from regulars.services.api.ingest import RejectedRecordsError
from regulars.services.api.ports import StoredResponse
from regulars.services.events import MAX_PROPERTIES, EventIn, Events, derived_event_id

NOW = datetime(2027, 3, 1, 12)


class _Tx:
    def __init__(self, store: _Store) -> None:
        self.store = store
        self.rows: list[dict[str, Any]] = []
        self.committed = False

    def get_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None:
        return None

    def keep_response(self, *args: Any) -> None:
        pass

    def customers_known(self, ids: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        return {}, {i for i in ids if i in self.store.customers}

    def stored_events(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {i: self.store.events[i] for i in event_ids if i in self.store.events}

    def insert_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows += [dict(r) for r in rows]

    def audit(self, **kw: Any) -> None:
        pass

    def commit(self) -> None:
        self.committed = True
        for r in self.rows:
            self.store.events[r["event_id"]] = r


class _Store:
    def __init__(self) -> None:
        self.customers = {"C1"}
        self.events: dict[str, dict[str, Any]] = {}

    @contextmanager
    def begin(self) -> Iterator[_Tx]:
        yield _Tx(self)


def _problems(events: Events, items: list[EventIn]) -> list[tuple[int, str]]:
    with pytest.raises(RejectedRecordsError) as refused:
        events.record(items)
    return [(p.row, p.column) for p in refused.value.problems]


def test_names_are_lower_case_words_and_known_names_pass_any_tightening() -> None:
    store = _Store()
    events = Events(store, clock=lambda: NOW)
    assert _problems(events, [EventIn("C1", "Signed Up"), EventIn("C1", "1st"),
                              EventIn("C1", "a" * 65), EventIn("C1", "ok_2")]) == [
        (0, "name"), (1, "name"), (2, "name")]
    assert store.events == {}
    tight = Events(store, clock=lambda: NOW, known=lambda name: name == "demo_booked")
    assert _problems(tight, [EventIn("C1", "demo_booked"), EventIn("C1", "signed_up"),
                             EventIn("C1", "made_up")]) == [(2, "name")]


def test_properties_over_the_limit_and_long_ids_are_refused() -> None:
    events = Events(_Store(), clock=lambda: NOW)
    big = {"text": "x" * MAX_PROPERTIES}
    assert _problems(events, [EventIn("C1", "a", properties=big),
                              EventIn("C1", "a", event_id="e" * 129)]) == [
        (0, "properties"), (1, "event_id")]


def test_a_moment_with_an_offset_is_kept_in_utc_and_none_is_now() -> None:
    store = _Store()
    events = Events(store, clock=lambda: NOW)
    tallinn = timezone(timedelta(hours=2))
    done = events.record([EventIn("C1", "a", event_id="x", at=datetime(2027, 3, 1, 10,
                                                                         tzinfo=tallinn)),
                          EventIn("C1", "b")])
    assert store.events["x"]["at"] == datetime(2027, 3, 1, 8)
    derived = done.body["ids"][1]
    assert derived == derived_event_id("C1", "b", NOW, "{}")
    assert store.events[derived]["at"] == NOW


def test_the_same_event_twice_in_one_request_is_written_once() -> None:
    store = _Store()
    done = Events(store, clock=lambda: NOW).record(
        [EventIn("C1", "a", event_id="x", at=NOW), EventIn("C1", "a", event_id="x", at=NOW)])
    assert (done.body["added"], done.body["already_present"],
            done.body["duplicates_in_request"]) == (1, 0, 1)
    assert list(store.events) == ["x"]


def test_a_moment_outside_the_input_window_is_refused() -> None:
    from datetime import date

    from regulars.domain.rules import InputRules

    events = Events(_Store(), clock=lambda: NOW,
                    rules=InputRules(earliest_date=date(2000, 1, 1), future_days=1))
    assert _problems(events, [EventIn("C1", "a", at=datetime(2027, 3, 2, 23)),  # tomorrow
                              EventIn("C1", "a", at=datetime(2027, 3, 3)),
                              EventIn("C1", "a", at=datetime(1999, 12, 31))]) == [
        (1, "at"), (2, "at")]
