"""The audit service's pieces without a store: who a caller is in the log, which status the
HTTP presenter gives each outcome, and that a use case inside another is not audited twice."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from regulars.entrypoints.http.presenters import status_for
from regulars.services.audit import (
    AuditTrail,
    Caller,
    Outcome,
    acting_as,
    current_caller,
    one_entry,
    written,
)


class _Tx:
    def __init__(self, log: list[dict[str, Any]]) -> None:
        self.log = log
        self.pending: list[dict[str, Any]] = []

    def audit(self, **entry: Any) -> None:
        self.pending.append(entry)

    def commit(self) -> None:
        self.log += self.pending


class _Store:
    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []

    @contextmanager
    def begin(self) -> Iterator[_Tx]:
        yield _Tx(self.log)


def test_each_channel_names_its_caller():
    assert Caller.cli("regulars points run", "anna").key_id == "cli:anna"
    assert Caller.python("anna").key_id == "python:anna"
    assert Caller.http("k1", "till 4").key_id == "k1"
    assert Caller.http("k1", "till 4").ledger_actor == "api-key:k1 (till 4)"
    assert Caller.http("k1").ledger_actor == "api-key:k1"
    assert Caller.cli(user="x" * 40).key_id == "cli:" + "x" * 28  # the column holds 32


def test_the_presenter_chooses_the_status_of_each_outcome():
    assert [status_for(o) for o in Outcome] == [201, 200, 200, 200, 500]
    assert written(replayed=False) is Outcome.CREATED
    assert written(replayed=True) is Outcome.REPLAYED


def test_an_entry_carries_the_channel_use_case_outcome_and_only_http_a_status():
    store = _Store()
    trail = AuditTrail(store)
    detail: Mapping[str, Any] = {"points": 30}
    trail.record(Caller.cli("regulars points adjust", "anna"), "loyalty.adjust",
                 subject="M1", outcome=Outcome.CREATED, detail=detail)
    trail.record(Caller.http("k1", action="POST /v1/x", status_of=status_for),
                 "loyalty.adjust", subject="M1", outcome=Outcome.REPLAYED, detail=detail)
    trail.record(Caller.python("anna"), "loyalty.adjust", subject="M1",
                 outcome=Outcome.CREATED, detail=detail)
    assert [(e["key_id"], e["channel"], e["action"], e["use_case"], e["outcome"],
             e["status"]) for e in store.log] == [
        ("cli:anna", "cli", "regulars points adjust", "loyalty.adjust", "created", None),
        ("k1", "http", "POST /v1/x", "loyalty.adjust", "replayed", 200),
        ("python:anna", "python", "loyalty.adjust", "loyalty.adjust", "created", None)]


def test_the_caller_acting_around_a_call_and_the_outermost_use_case():
    assert current_caller() is None
    cli = Caller.cli("regulars points run", "anna")
    with acting_as(cli):
        assert current_caller() == cli
        with one_entry() as outer, one_entry() as inner:
            assert (outer, inner) == (True, False)
        with one_entry() as again:
            assert again is True
    assert current_caller() is None
