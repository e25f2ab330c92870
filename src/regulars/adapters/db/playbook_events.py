"""Playbooks' events in the store: what ``POST /v1/events`` writes (the port
:class:`regulars.services.events.EventStore`), and when a journey's goal was met (the port
:class:`regulars.services.playbooks.ports.GoalSource`).

An event's transaction is the API store's (:class:`SqlApiTx`: the audit log, the answers kept
under an ``Idempotency-Key``), so the events, their audit entry and the kept answer commit
together; ``event_id`` is unique, so of two concurrent senders of one event one writes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.api_tx import SqlApiTx, is_unique_violation
from regulars.adapters.db.playbook_facts import CHUNK
from regulars.adapters.db.tables import INPUT_TABLES, playbook_events
from regulars.domain.playbooks.model import FIRST_ORDER, ORDER_PLACED
from regulars.domain.tables import Kind
from regulars.services.api.ports import DuplicateError

ORDERS = INPUT_TABLES[Kind.ORDERS]


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class SqlEventTx(SqlApiTx):
    """One write transaction of :class:`regulars.services.events.Events`."""

    def stored_events(self, event_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        e = playbook_events
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(event_ids), CHUNK):
            for r in self.conn.execute(sa.select(
                    e.c.event_id, e.c.customer_id, e.c.name, e.c.at, e.c.properties).where(
                    e.c.event_id.in_(list(event_ids[i:i + CHUNK])))).mappings():
                out[r["event_id"]] = dict(r)
        return out

    def insert_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        try:
            self.conn.execute(playbook_events.insert(), [dict(r) for r in rows])
        except sa.exc.IntegrityError as e:
            if is_unique_violation(e):
                raise DuplicateError(str(e.orig)) from e
            raise


class SqlPlaybookEvents:
    """Events and goals on the API store ``store`` (its engines)."""

    def __init__(self, store: SqlApiStore, *, owned: bool = False) -> None:
        self.store = store
        self.owned = owned  # a store of its own, closed with it

    def close(self) -> None:
        if self.owned:
            self.store.close()

    @contextmanager
    def begin(self) -> Iterator[SqlEventTx]:
        with self.store.transaction(lambda conn: SqlEventTx(conn, self.store.dialect)) as tx:
            yield tx

    def goal_met(self, asked: Mapping[str, tuple[datetime, datetime]],
                 event: str) -> dict[str, datetime]:
        """See :class:`regulars.services.playbooks.ports.GoalSource`: one query per chunk of
        customers over the span of their windows, the windows applied here."""
        windows: dict[str, list[tuple[datetime, datetime]]] = {
            cid: [window] for cid, window in asked.items()}
        ids = sorted(windows)
        met: dict[str, datetime] = {}
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            lo = min(s for c in chunk for s, _u in windows[c])
            hi = max(u for c in chunk for _s, u in windows[c])
            if event in (ORDER_PLACED, FIRST_ORDER):
                stmt = sa.select(ORDERS.c.customer_id, ORDERS.c.ordered_at).where(
                    ORDERS.c.customer_id.in_(chunk), ORDERS.c.ordered_at > lo,
                    ORDERS.c.ordered_at <= hi)
            else:
                e = playbook_events
                stmt = sa.select(e.c.customer_id, e.c.at).where(
                    e.c.customer_id.in_(chunk), e.c.name == event, e.c.at > lo, e.c.at <= hi)
            with failures.translated(self.store.url), self.store.reader.connect() as conn:
                rows = [(r[0], _moment(r[1])) for r in conn.execute(stmt)]
            for cid, at in sorted(rows, key=lambda r: r[1]):
                if cid in met:
                    continue
                if any(since < at <= until for since, until in windows[cid]):
                    met[cid] = at
        return met
