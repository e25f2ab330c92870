"""The managers' tasks in the store (the port :class:`regulars.services.tasks.TaskStore`).

A task's transaction is the API store's (:class:`SqlApiTx`: the audit log, idempotent
answers, the input rows), on the API store's own engines, so that a task closed as done and
the interaction that records it commit together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.api_tx import SqlApiTx, is_unique_violation
from regulars.adapters.db.tables import INPUT_TABLES, api_keys, map_customers, tasks
from regulars.domain.tables import Kind
from regulars.domain.tasks import State
from regulars.services.api.ports import DuplicateError
from regulars.services.tasks import TaskFilter

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
INTERACTIONS = INPUT_TABLES[Kind.INTERACTIONS]
_FACTS = ("customer_id", "name", "email", "phone", "manager", "do_not_contact",
          "consent_email", "consent_sms", "consent_messenger", "consent_phone")
_LIVE = (State.OPEN.value, State.SNOOZED.value)


class SqlTaskTx(SqlApiTx):
    """One write transaction of the task use cases (see :class:`SqlApiTx`)."""

    def task(self, task_id: str) -> dict[str, Any] | None:
        stmt = sa.select(tasks).where(tasks.c.task_id == task_id)
        if self.dialect != "sqlite":  # SQLite's writer holds the database already
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).mappings().first()
        return dict(row) if row is not None else None

    def insert_task(self, row: Mapping[str, Any]) -> None:
        try:
            self.conn.execute(tasks.insert().values(**row))
        except sa.exc.IntegrityError as e:
            if is_unique_violation(e):
                raise DuplicateError(str(e.orig)) from e
            raise

    def update_task(self, task_id: str, values: Mapping[str, Any]) -> None:
        self.conn.execute(tasks.update().where(tasks.c.task_id == task_id).values(**values))

    def live_tasks(self, customer_ids: Sequence[str]) -> set[str]:
        if not customer_ids:
            return set()
        rows = self.conn.execute(sa.select(tasks.c.customer_id).distinct().where(
            tasks.c.customer_id.in_(list(customer_ids)), tasks.c.state.in_(_LIVE)))
        return {r[0] for r in rows}

    def existing_tasks(self, task_ids: Sequence[str]) -> set[str]:
        if not task_ids:
            return set()
        rows = self.conn.execute(sa.select(tasks.c.task_id).where(
            tasks.c.task_id.in_(list(task_ids))))
        return {r[0] for r in rows}

    def customer_facts(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not customer_ids:
            return {}
        aliases = self.aliases(customer_ids)
        cards = sorted({aliases.get(i, i) for i in customer_ids})
        rows = self.conn.execute(sa.select(*[CUSTOMERS.c[n] for n in _FACTS]).where(
            CUSTOMERS.c.customer_id.in_(cards))).mappings()
        found = {r["customer_id"]: dict(r) for r in rows}
        return {i: found[aliases.get(i, i)] for i in customer_ids if aliases.get(i, i) in found}

    def standing(self, customer_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(map_customers.c.status, map_customers.c.rung).where(
            map_customers.c.customer_id == customer_id)).mappings().first()
        attributes = self.conn.execute(sa.select(CUSTOMERS.c.attributes).where(
            CUSTOMERS.c.customer_id == customer_id)).scalar()
        return {"status": None if row is None else row["status"],
                "rung": None if row is None else row["rung"],
                "mapped": row is not None, "attributes": attributes}

    def contact_history(self, customer_id: str) -> list[dict[str, Any]]:
        i = INTERACTIONS.c
        rows = self.conn.execute(sa.select(i.at, i.channel, i.kind).where(
            i.customer_id == customer_id, i.direction == "out")).mappings()
        return [dict(r) for r in rows]


class SqlTaskStore(PooledRows):
    """Tasks on the engines of the API store ``api`` (one pool per database)."""

    def __init__(self, api: SqlApiStore) -> None:
        self.api = api
        self.url = api.url
        self.writer = api.writer
        self.reader = api.reader
        self.dialect = api.dialect

    @contextmanager
    def begin(self) -> Iterator[SqlTaskTx]:
        with self.api.transaction(lambda conn: SqlTaskTx(conn, self.dialect)) as tx:
            yield tx

    def list_tasks(self, f: TaskFilter, today: date) -> list[dict[str, Any]]:
        t, c = tasks, CUSTOMERS
        stmt = sa.select(t, c.c.name, c.c.email, c.c.phone).select_from(
            t.outerjoin(c, c.c.customer_id == t.c.customer_id))
        conds: list[sa.ColumnElement[bool]] = []
        if f.owner is not None:
            conds.append(t.c.owner == f.owner)
        if f.customer_id is not None:
            conds.append(t.c.customer_id == f.customer_id)
        if f.due_from is not None:
            conds.append(t.c.due_on >= f.due_from)
        if f.due_to is not None:
            conds.append(t.c.due_on <= f.due_to)
        due = sa.and_(t.c.state == State.SNOOZED.value, t.c.snoozed_until <= today)
        if f.state is State.OPEN:  # a snoozed task whose day has come is open
            conds.append(sa.or_(t.c.state == State.OPEN.value, due))
        elif f.state is State.SNOOZED:
            conds.append(sa.and_(t.c.state == State.SNOOZED.value, sa.not_(due)))
        elif f.state is not None:
            conds.append(t.c.state == f.state.value)
        stmt = stmt.where(*conds).order_by(t.c.due_on, t.c.owner, t.c.task_id).limit(f.limit)
        return self._read(stmt)

    def store_managers(self) -> list[str]:
        on_cards = self._read(sa.select(CUSTOMERS.c.manager).distinct().where(
            CUSTOMERS.c.manager.is_not(None)))
        on_keys = self._read(sa.select(api_keys.c.manager).distinct().where(
            api_keys.c.manager.is_not(None), api_keys.c.revoked_at.is_(None)))
        names = {str(r["manager"]).strip() for r in on_cards + on_keys}
        return sorted(n for n in names if n)

    def report_tasks(self) -> list[dict[str, Any]]:
        return self._read(sa.select(tasks).order_by(tasks.c.created_at, tasks.c.task_id))
