"""Events the business sends for playbooks (``POST /v1/events`` with a ``name``): a customer
signed up, left a cart, answered a survey, or anything the business names itself.

An event is ``{event_id?, customer_id, name, at?, properties?}``:

- ``name`` is a known event (:data:`~regulars.domain.playbooks.model.KNOWN_EVENTS`) or a
  custom one: lower case letters, digits and ``_``, starting with a letter, at most 64;
- ``customer_id`` must be a known customer (an id merged into another card is stored under
  that card);
- ``at`` defaults to the moment it is received, and lies in the input window of every other
  date (``[input] earliest_date`` to ``future_days`` after today): an event dated years
  ahead would hold the feed's cursor back until then; ``properties`` is a JSON object (at most
  :data:`MAX_PROPERTIES` bytes as JSON) the playbooks keep with the event;
- ``event_id`` makes a resend a no-op: the same id with the same content is "already
  present", with other content a conflict. Without one, the id is derived from the content
  (customer, name, at, properties), so a resend of an event with its ``at`` is a no-op too.

The rules are the ingest's: every event of a request is checked, any problem rejects the
whole request (each named by its position and field) and nothing is written; the rows, the
audit entry and the answer kept under the ``Idempotency-Key`` commit in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from regulars.domain.errors import Problem
from regulars.domain.playbooks.model import KNOWN_EVENTS
from regulars.domain.rules import InputRules
from regulars.i18n import _, fmt_number, ngettext
from regulars.services.api.ingest import IdempotencyConflictError, RejectedRecordsError
from regulars.services.api.ports import DuplicateError, StoredResponse
from regulars.services.audit import AuditTrail, AuditTx, Caller, Outcome

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_PROPERTIES = 16_384
MAX_ID = 128  # playbook_events.event_id


@dataclass(frozen=True)
class EventIn:
    """One event as sent (``at`` naive UTC, or aware: converted)."""

    customer_id: str
    name: str
    event_id: str | None = None
    at: datetime | None = None
    properties: Mapping[str, Any] | None = None


class EventTx(AuditTx, Protocol):
    def get_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None: ...

    def keep_response(self, key_id: str, idempotency_key: str, request_hash: str,
                      status: int, body: str) -> None: ...

    def customers_known(self, ids: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        """(alias → card id, the card ids that exist) of ``ids``."""
        ...

    def stored_events(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """event_id → its row (customer_id, name, at, properties as JSON text)."""
        ...

    def insert_events(self, rows: Sequence[Mapping[str, Any]]) -> None: ...


class EventStore(Protocol):
    def begin(self) -> AbstractContextManager[EventTx]: ...


@dataclass(frozen=True)
class EventsAnswer:
    """What a request did: ``body`` (received, added, already_present, ids), whether it
    added anything, and, for a replay under its ``Idempotency-Key``, the status kept."""

    body: dict[str, Any]
    created: bool
    replayed: bool = False
    kept_status: int | None = None

    @property
    def outcome(self) -> Outcome:
        return Outcome.CREATED if self.created else Outcome.UNCHANGED


@dataclass
class _Checked:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _properties_text(properties: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(properties or {}), sort_keys=True, separators=(",", ":"),
                      default=str, ensure_ascii=False)


def derived_event_id(customer_id: str, name: str, at: datetime, properties: str) -> str:
    """The id of an event sent without one: its content's digest."""
    text = "\x1f".join((customer_id, name, at.isoformat(), properties))
    return "E-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _same(row: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    at = stored["at"]
    at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return (row["customer_id"], row["name"], row["at"], json.loads(row["properties"])) == (
        stored["customer_id"], stored["name"], at, json.loads(stored["properties"]))


def _rejected(problems: list[Problem], *, conflict: bool = False) -> RejectedRecordsError:
    n = len(problems)
    return RejectedRecordsError(problems, ngettext(
        "{n} event rejected; nothing was written",
        "{n} events rejected; nothing was written", n).format(n=fmt_number(n)),
        conflict=conflict)


class Events:
    """Stores the business's events for playbooks (see the module docstring). ``known``
    says whether a well-formed name may be sent (default: any)."""

    def __init__(self, store: EventStore, *, clock: Callable[[], datetime] | None = None,
                 known: Callable[[str], bool] | None = None,
                 rules: InputRules | None = None) -> None:
        self.store = store
        self.rules = rules or InputRules()
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))
        self.known = known

    def allowed(self, name: str) -> bool:
        if not NAME.match(name):
            return False
        return self.known is None or name in KNOWN_EVENTS or self.known(name)

    def record(self, events: Sequence[EventIn], *, caller: Caller | None = None,
               idempotency_key: str | None = None, fingerprint: str = "") -> EventsAnswer:
        """Store ``events`` in one transaction, audited under ``caller``.

        Raises
        ------
        RejectedRecordsError
            an event has a problem (422), or an ``event_id`` is stored with other content
            (409, ``conflict``); nothing written.
        IdempotencyConflictError
            ``idempotency_key`` was used with another body.
        """
        caller = caller or Caller.python()
        now = self.clock()
        checked = self._check(events, now)
        for _attempt in range(5):
            try:
                with self.store.begin() as tx:
                    kept = tx.get_response(caller.actor, idempotency_key) \
                        if idempotency_key else None
                    if kept is not None:
                        if kept.request_hash != fingerprint:
                            raise IdempotencyConflictError(_(
                                "Idempotency-Key {key!r} was used with another request"
                            ).format(key=idempotency_key))
                        body: dict[str, Any] = json.loads(kept.body)
                        return EventsAnswer(body, created=bool(body.get("added")),
                                            replayed=True, kept_status=kept.status)
                    return self._write(tx, checked, caller, idempotency_key, fingerprint,
                                       now)
            except DuplicateError:  # a concurrent twin wrote the same id or key first
                continue
        raise RejectedRecordsError(
            [], _("the request kept colliding with concurrent writes; retry it"), conflict=True)

    def _check(self, events: Sequence[EventIn], now: datetime) -> _Checked:
        out = _Checked()
        for i, e in enumerate(events):
            if not self.allowed(e.name):
                out.problems.append(Problem(i, "name", e.name, _(
                    "not an event name: lower case letters, digits and _, starting with a "
                    "letter, at most 64") if not NAME.match(e.name) else _("unknown event")))
            props = _properties_text(e.properties)
            if len(props.encode()) > MAX_PROPERTIES:
                out.problems.append(Problem(i, "properties", None, _(
                    "at most {n} bytes as JSON").format(n=fmt_number(MAX_PROPERTIES))))
            at = _utc(e.at) if e.at is not None else now
            self._window(out, i, at, now)
            event_id = (e.event_id or "").strip() or derived_event_id(
                e.customer_id, e.name, at, props)
            if len(event_id) > MAX_ID:
                out.problems.append(Problem(i, "event_id", event_id[:40], _(
                    "at most {n} characters").format(n=fmt_number(MAX_ID))))
            out.rows.append({"event_id": event_id, "customer_id": e.customer_id.strip(),
                             "name": e.name, "at": at, "properties": props,
                             "received_at": now})
        return out

    def _window(self, out: _Checked, i: int, at: datetime, now: datetime) -> None:
        table = "playbook_events"
        earliest = self.rules.earliest_date
        latest = now.date() + timedelta(days=self.rules.future_days)
        if at.date() < earliest:
            out.problems.append(Problem(i, "at", at.isoformat(), _(
                "before {bound}: dates of {table} cannot be earlier (input.earliest_date)"
            ).format(bound=earliest.isoformat(), table=table)))
        elif at.date() > latest:
            out.problems.append(Problem(i, "at", at.isoformat(), _(
                "after {bound}: dates of {table} cannot be in the future"
            ).format(bound=latest.isoformat(), table=table)))

    def _write(self, tx: EventTx, checked: _Checked, caller: Caller,
               idempotency_key: str | None, fingerprint: str, now: datetime) -> EventsAnswer:
        problems = list(checked.problems)
        rows = checked.rows
        aliases, cards = tx.customers_known(sorted({r["customer_id"] for r in rows}))
        for i, r in enumerate(rows):
            card = aliases.get(r["customer_id"], r["customer_id"])
            if card not in cards:
                problems.append(Problem(i, "customer_id", r["customer_id"],
                                        _("unknown customer")))
            r["customer_id"] = card
        if problems:
            raise _rejected(sorted(problems, key=lambda p: p.row))
        stored = tx.stored_events(sorted({r["event_id"] for r in rows}))
        new: list[dict[str, Any]] = []
        conflicts: list[Problem] = []
        present = twins = 0
        ours: set[str] = set()  # the ids this request adds
        for i, r in enumerate(rows):
            before = stored.get(r["event_id"])
            if before is None:
                new.append(r)
                stored[r["event_id"]] = r
                ours.add(r["event_id"])
            elif _same(r, before):
                if r["event_id"] in ours:
                    twins += 1
                else:
                    present += 1
            else:
                conflicts.append(Problem(i, "event_id", r["event_id"], _(
                    "already in the store with different content")))
        if conflicts:
            raise _rejected(conflicts, conflict=True)
        tx.insert_events(new)
        # the ingest's answer (IngestOut), so one endpoint answers one shape
        body: dict[str, Any] = {
            "received": len(rows), "added": len(new), "already_present": present,
            "duplicates_in_request": twins, "customers_created": 0, "customers_updated": 0,
            "merged": [], "ids": [r["event_id"] for r in rows]}
        outcome = Outcome.CREATED if new else Outcome.UNCHANGED
        AuditTrail.write_in(tx, caller, "events", subject=", ".join(body["ids"][:20]),
                            outcome=outcome, detail=body)
        if idempotency_key:
            tx.keep_response(caller.actor, idempotency_key, fingerprint,
                             caller.status(outcome) or 0, json.dumps(body, default=str))
        tx.commit()
        return EventsAnswer(body, created=bool(new))
