"""The port the HTTP API's use cases need from the store, as Protocols (bootstrap wires them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from regulars.domain.tables import Kind


class DuplicateError(Exception):
    """A unique key was written by someone else first (a concurrent retry): look again."""


@dataclass(frozen=True)
class StoredResponse:
    """The response kept for an ``Idempotency-Key``."""

    request_hash: str
    status: int
    body: str


@dataclass(frozen=True)
class ListPosition:
    """Where a page of a sorted customer list starts: after the row whose sort value is
    ``value`` and whose id is ``customer_id`` (``before``: the rows before it, the previous
    page). A ``value`` of None is a row without one: those sort last, by id."""

    value: Any
    customer_id: str
    before: bool = False


SORT_KEYS = ("id", "stake", "value", "last_order", "name")
"""The customer list's orders: the id (the API's), the money at stake, the value (revenue),
the last order, the name; each with the id after it, and the rows without a value last."""


@dataclass(frozen=True)
class CustomerFilter:
    rung: str | None = None
    status: str | None = None
    signal: str | None = None
    trait: str | None = None
    rfm_segment: str | None = None
    manager: str | None = None
    tier: str | None = None  # the loyalty tier (members only)
    text: str | None = None
    after: str | None = None  # the id order's position (the API's cursor)
    limit: int = 50
    # with ``text``: a normalised phone's digits (or a part of them) that a customer's
    # normalised phone holds also matches
    phones: tuple[str, ...] = ()
    # attribute tags the customer has, every one (``vip``; ``disc=D``; ``disc`` also matches
    # ``disc=...``), in any case
    tags: tuple[str, ...] = ()
    sort: str = "id"  # one of SORT_KEYS
    descending: bool = False
    position: ListPosition | None = None  # a sorted list's position (not the id order's)


@dataclass(frozen=True)
class Touch:
    """A customer waiting for a live-map refresh: since when, and how many ingests touched
    them since (the worker forgets the touch only if the count is still the one it read)."""

    customer_id: str
    touched_at: datetime
    touches: int


class TouchQueue(Protocol):
    """The customers waiting for a live-map refresh, kept in the store (``map_touched``)."""

    def touch_customers(self, ids: Sequence[str]) -> None: ...
    def touched(self, limit: int | None = None) -> list[Touch]:
        """The longest-waiting first."""
    def settle_touched(self, seen: Sequence[Touch]) -> int:
        """Forget the touches in ``seen`` whose count did not change since they were read."""
    def touched_count(self) -> int: ...


class ApiTx(Protocol):
    """One write transaction of the API: rolled back unless ``commit()`` is called."""

    def get_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None: ...
    def keep_response(self, key_id: str, idempotency_key: str, request_hash: str, status: int,
                      body: str) -> None:
        """Store the response under the key, or raise :class:`DuplicateError` when another
        request stored one first."""
    def audit(self, *, key_id: str, action: str, subject: str, status: int | None,
              detail: Mapping[str, Any], channel: str = "http", use_case: str = "",
              outcome: str = "") -> None:
        """One audit entry, committed with this transaction (``regulars.services.audit``)."""
    def existing(self, kind: Kind, ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        """``id -> (row_hash, stub)`` of the rows of ``kind`` among ``ids``."""
    def aliases(self, ids: Sequence[str]) -> dict[str, str]: ...
    def customers_known(self, ids: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        """The aliases among ``ids`` (``alias -> card``), and which of the ids, each taken
        as the card it is an alias of, are stored customers (stubs included)."""
    def contacts(self, emails: Sequence[str], phones: Sequence[str]) -> list[dict[str, Any]]:
        """Cards (``customer_id, email_norm, phone_norm, stub``) sharing an e-mail or phone."""
    def order_customers(self, order_ids: Sequence[str]) -> dict[str, str]: ...
    def returnable(self, order_ids: Sequence[str]) -> dict[str, tuple[Decimal, Decimal]]:
        """``order_id -> (amount, returned so far)``, the orders locked until the commit
        (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writer holds the database)."""
        ...
    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Raises :class:`DuplicateError` when a row's key exists already."""
    def insert_new(self, kind: Kind, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Insert the rows of ``kind`` whose id is not stored yet; the ids inserted (a row
        whose id a concurrent writer stores and commits first is left out, not an error)."""
    def update_customer(self, customer_id: str, values: Mapping[str, Any]) -> None: ...
    def touch_customers(self, ids: Iterable[str]) -> None:
        """Ask the live map to refresh these customers once this transaction commits."""
    def commit(self) -> None: ...


class ApiStore(Protocol):
    """The store as the API sees it: transactions, keys, the map snapshot, webhooks."""

    dialect: str

    def ensure_schema(self) -> None: ...
    def probe(self) -> None:
        """Raise ``StoreUnavailableError`` when the store cannot be reached or written now."""
    def begin(self) -> AbstractContextManager[ApiTx]: ...

    # keys
    def add_key(self, record: Mapping[str, Any]) -> None: ...
    def get_key(self, key_id: str) -> dict[str, Any] | None: ...
    def list_keys(self) -> list[dict[str, Any]]: ...
    def update_key(self, key_id: str, values: Mapping[str, Any]) -> None: ...

    # the customer map snapshot
    def replace_map(self, rows: Sequence[Mapping[str, Any]], state: Mapping[str, Any]) -> None:
        ...
    def upsert_map_rows(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """Write these rows; return the rows they replaced (by customer id)."""
    def map_state(self) -> dict[str, Any] | None: ...
    def touch_customers(self, ids: Sequence[str]) -> None: ...
    def touched(self, limit: int | None = None) -> list[Touch]: ...
    def settle_touched(self, seen: Sequence[Touch]) -> int: ...
    def touched_count(self) -> int: ...
    def list_customers(self, f: CustomerFilter) -> list[dict[str, Any]]: ...
    def count_customers(self, f: CustomerFilter) -> int:
        """How many customers of the map match ``f`` (its order and position aside)."""
    def customer_choices(self) -> dict[str, list[str]]:
        """The values the customer list's filters offer from the store: ``managers`` (of
        the customers' cards) and ``tiers`` (of the loyalty members), sorted."""
    def customer_card(self, customer_id: str) -> dict[str, Any] | None: ...
    def customer_profile(self, customer_id: str) -> dict[str, Any] | None:
        """``{"profile": the input row, "map": the map row or None}``, no orders."""
    def latest_orders(self, customer_id: str, limit: int
                      ) -> tuple[list[dict[str, Any]], int]:
        """The ``limit`` latest orders (latest first, with ``returns``) and the count."""
    def contact_history(self, customer_id: str, limit: int) -> list[dict[str, Any]]:
        """Interactions, latest first, with the ``note`` of the task each records."""
    def resolve_alias(self, customer_id: str) -> str: ...
    def customer_rows(self, customer_id: str) -> dict[str, list[dict[str, Any]]]: ...
    def erase_customer(self, customer_id: str, *, key_id: str, at: datetime,
                       action: str = ..., channel: str = ...,
                       status: int | None = ...) -> dict[str, int]:
        ...
    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]: ...

    # webhooks
    def add_subscription(self, record: Mapping[str, Any]) -> None: ...
    def list_subscriptions(self) -> list[dict[str, Any]]: ...
    def delete_subscription(self, sub_id: str) -> bool: ...
    def enqueue_events(self, events: Sequence[Mapping[str, Any]]) -> int: ...
    def due_deliveries(self, now: datetime, limit: int) -> list[dict[str, Any]]: ...
    def record_delivery(self, outbox_id: int, *, attempt: int, at: datetime,
                        status_code: int | None, error: str | None, duration_ms: float,
                        state: str, next_attempt_at: datetime | None) -> None: ...
    def deliveries(self, outbox_id: int | None = None) -> list[dict[str, Any]]: ...
    def outbox(self) -> list[dict[str, Any]]: ...
