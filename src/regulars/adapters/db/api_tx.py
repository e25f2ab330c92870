"""One write transaction of the HTTP API (the port :class:`regulars.services.api.ports.ApiTx`):
idempotent responses, the audit log, and the input rows a request writes.

On PostgreSQL the unique keys of the rows themselves decide which of two concurrent writers
wins (the other gets :class:`DuplicateError`).

On PostgreSQL the statements a single order runs (the kept answer, which ids exist, aliases,
the inserts, the audit row) go straight to psycopg's cursor on the transaction's own
connection, as SQL written once per statement: SQLAlchemy's statement building and result
machinery cost more CPU than the statement itself (about 60 % of a single order's writes,
py-spy, issue 16). psycopg prepares a statement on the server after a few executions. The
other statements, and SQLite, go through SQLAlchemy Core.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.tables import (
    INPUT_TABLES,
    api_audit,
    api_idempotency,
    customer_merges,
    metadata,
)
from regulars.domain.tables import Kind
from regulars.services.api.ports import DuplicateError, StoredResponse

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
ORDERS = INPUT_TABLES[Kind.ORDERS]


def is_unique_violation(e: sa.exc.IntegrityError) -> bool:
    text = str(e.orig).lower()
    return "unique" in text or "duplicate key" in text or "primary key" in text


def _decimal(value: Any) -> Decimal:
    """Money read as a float (SQLite keeps no decimals): the four places the store keeps."""
    return Decimal(0) if value is None else Decimal(repr(float(value))).quantize(
        Decimal("0.0001"))


# rows per multi-row INSERT (PostgreSQL takes up to 65,535 parameters per statement)
_ROWS_PER_INSERT = 500


@functools.cache
def _pg_insert(table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    names = ", ".join(columns)
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * rows)}"


def _flat(rows: Sequence[Sequence[Any]]) -> list[Any]:
    return [v for r in rows for v in r]


@functools.cache
def _pg_existing(kind: Kind) -> str:
    t = INPUT_TABLES[kind]
    idc = t.primary_key.columns.values()[0].name
    stub = "stub" if kind is Kind.CUSTOMERS else "false"
    return f"SELECT {idc}, row_hash, {stub} FROM {t.name} WHERE {idc} = ANY(%s)"


@functools.cache
def _pg_insert_new(kind: Kind, columns: tuple[str, ...], rows: int = 1) -> str:
    t = INPUT_TABLES[kind]
    idc = t.primary_key.columns.values()[0].name
    return (f"{_pg_insert(t.name, columns, rows)} ON CONFLICT ({idc}) DO NOTHING "
            f"RETURNING {idc}")


_PG_RESPONSE = ("SELECT request_hash, status, body FROM api_idempotency "
                "WHERE key_id = %s AND idempotency_key = %s")
_PG_ALIASES = "SELECT alias_id, customer_id FROM customer_merges WHERE alias_id = ANY(%s)"
_PG_CUSTOMERS_KNOWN = (
    "SELECT w.id, m.customer_id, c.customer_id IS NOT NULL FROM unnest(%s::text[]) AS w(id) "
    "LEFT JOIN customer_merges m ON m.alias_id = w.id "
    "LEFT JOIN customers c ON c.customer_id = coalesce(m.customer_id, w.id)")
_AUDIT_COLUMNS = ("at", "key_id", "action", "subject", "status", "detail", "channel",
                  "use_case", "outcome")


def _unique_violation() -> type[Exception]:
    import psycopg

    return psycopg.errors.UniqueViolation


class SqlApiTx:
    """One write transaction (see :class:`regulars.services.api.ports.ApiTx`)."""

    def __init__(self, conn: sa.Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.committed = False
        # PostgreSQL: psycopg's own connection, in the same transaction (module docstring)
        self.raw: Any = conn.connection.driver_connection if dialect == "postgresql" else None

    def _fetch(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.raw.cursor() as cur:
            cur.execute(query, params)
            return list(cur.fetchall())

    def _write(self, table: str, columns: tuple[str, ...],
               rows: Sequence[Sequence[Any]]) -> None:
        """The rows in multi-row INSERTs (one statement for a single order's row)."""
        try:
            with self.raw.cursor() as cur:
                for i in range(0, len(rows), _ROWS_PER_INSERT):
                    part = rows[i:i + _ROWS_PER_INSERT]
                    cur.execute(_pg_insert(table, columns, len(part)), _flat(part))
        except _unique_violation() as e:
            raise DuplicateError(str(e)) from e

    def get_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None:
        if self.raw is not None:
            found = self._fetch(_PG_RESPONSE, (key_id, idempotency_key))
            return StoredResponse(found[0][0], int(found[0][1]), found[0][2]) if found \
                else None
        t = api_idempotency
        row = self.conn.execute(
            sa.select(t.c.request_hash, t.c.status, t.c.body).where(
                t.c.key_id == key_id, t.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        return StoredResponse(row.request_hash, int(row.status), row.body)

    def keep_response(self, key_id: str, idempotency_key: str, request_hash: str, status: int,
                      body: str) -> None:
        self.insert("api_idempotency", [{
            "key_id": key_id, "idempotency_key": idempotency_key, "request_hash": request_hash,
            "status": status, "body": body, "created_at": now()}])

    def audit(self, *, key_id: str, action: str, subject: str, status: int | None,
              detail: Mapping[str, Any], channel: str = "http", use_case: str = "",
              outcome: str = "") -> None:
        if self.raw is not None:
            self._write("api_audit", _AUDIT_COLUMNS, [(
                now(), key_id, action, subject[:1000], status,
                json.dumps(detail, default=str), channel, use_case or None, outcome or None)])
            return
        self.conn.execute(api_audit.insert().values(
            at=now(), key_id=key_id, action=action, subject=subject[:1000], status=status,
            detail=json.dumps(detail, default=str), channel=channel,
            use_case=use_case or None, outcome=outcome or None))

    def existing(self, kind: Kind, ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        if not ids:
            return {}
        if self.raw is not None:
            return {r[0]: (r[1], bool(r[2]))
                    for r in self._fetch(_pg_existing(kind), (list(ids),))}
        t = INPUT_TABLES[kind]
        idc = t.primary_key.columns.values()[0]
        stub = t.c.stub if kind is Kind.CUSTOMERS else sa.false()
        rows = self.conn.execute(
            sa.select(idc, t.c.row_hash, stub).where(idc.in_(list(ids)))).all()
        return {r[0]: (r[1], bool(r[2])) for r in rows}

    def aliases(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        if self.raw is not None:
            return {r[0]: r[1] for r in self._fetch(_PG_ALIASES, (list(ids),))}
        t = customer_merges
        rows = self.conn.execute(
            sa.select(t.c.alias_id, t.c.customer_id).where(t.c.alias_id.in_(list(ids)))).all()
        return {r[0]: r[1] for r in rows}

    def customers_known(self, ids: Sequence[str]) -> tuple[dict[str, str], set[str]]:
        if not ids:
            return {}, set()
        if self.raw is not None:  # one statement for what takes two below
            rows = self._fetch(_PG_CUSTOMERS_KNOWN, (list(ids),))
            return ({r[0]: r[1] for r in rows if r[1] is not None},
                    {r[1] or r[0] for r in rows if r[2]})
        aliases = self.aliases(ids)
        cards = sorted({aliases.get(i, i) for i in ids})
        return aliases, set(self.existing(Kind.CUSTOMERS, cards))

    def contacts(self, emails: Sequence[str], phones: Sequence[str]) -> list[dict[str, Any]]:
        if not emails and not phones:
            return []
        c = CUSTOMERS.c
        cond = sa.or_(c.email_norm.in_(list(emails)), c.phone_norm.in_(list(phones)))
        rows = self.conn.execute(
            sa.select(c.customer_id, c.email_norm, c.phone_norm, c.stub).where(cond)).all()
        return [dict(r._mapping) for r in rows]

    def order_customers(self, order_ids: Sequence[str]) -> dict[str, str]:
        if not order_ids:
            return {}
        rows = self.conn.execute(
            sa.select(ORDERS.c.order_id, ORDERS.c.customer_id)
            .where(ORDERS.c.order_id.in_(list(order_ids)))).all()
        return {r[0]: r[1] for r in rows}

    def returnable(self, order_ids: Sequence[str]) -> dict[str, tuple[Decimal, Decimal]]:
        if not order_ids:
            return {}
        ids = sorted(order_ids)
        # locked in one order (the importer's too), so that two writers never deadlock
        locked = sa.select(ORDERS.c.order_id, sa.cast(ORDERS.c.amount, sa.Float)).where(
            ORDERS.c.order_id.in_(ids)).order_by(ORDERS.c.order_id)
        if self.dialect != "sqlite":
            locked = locked.with_for_update()
        amounts = {r[0]: _decimal(r[1]) for r in self.conn.execute(locked).all()}
        r = INPUT_TABLES[Kind.RETURNS]
        sums = self.conn.execute(
            sa.select(r.c.order_id, sa.cast(sa.func.sum(r.c.amount), sa.Float))
            .where(r.c.order_id.in_(ids)).group_by(r.c.order_id)).all()
        returned = {row[0]: _decimal(row[1]) for row in sums}
        return {o: (a, returned.get(o, Decimal(0))) for o, a in amounts.items()}

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        columns = tuple(rows[0])
        if self.raw is not None and all(r.keys() == rows[0].keys() for r in rows):
            # every row of one insert has the same columns (ingest's rows of one kind)
            self._write(metadata.tables[table].name, columns,
                        [tuple(r[c] for c in columns) for r in rows])
            return
        try:
            self.conn.execute(metadata.tables[table].insert(), [dict(r) for r in rows])
        except sa.exc.IntegrityError as e:
            if is_unique_violation(e):
                raise DuplicateError(str(e.orig)) from e
            raise

    def insert_new(self, kind: Kind, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        if not rows:
            return set()
        if self.raw is not None and all(r.keys() == rows[0].keys() for r in rows):
            # one statement: the insert says which ids it found stored (the look-up before
            # it was one round trip and ~10 % of a single order's CPU)
            columns = tuple(rows[0])
            values = [tuple(r[c] for c in columns) for r in rows]
            inserted: set[str] = set()
            with self.raw.cursor() as cur:
                for i in range(0, len(values), _ROWS_PER_INSERT):
                    part = values[i:i + _ROWS_PER_INSERT]
                    cur.execute(_pg_insert_new(kind, columns, len(part)), _flat(part))
                    inserted.update(r[0] for r in cur.fetchall())
            return inserted
        # SQLite (the writer holds the database until the commit): look, then insert
        idc = INPUT_TABLES[kind].primary_key.columns.values()[0].name
        found = self.existing(kind, [r[idc] for r in rows])
        new = [r for r in rows if r[idc] not in found]
        self.insert(kind.value, new)
        return {r[idc] for r in new}

    def update_customer(self, customer_id: str, values: Mapping[str, Any]) -> None:
        self.conn.execute(CUSTOMERS.update().where(CUSTOMERS.c.customer_id == customer_id)
                          .values(**values))

    def touch_customers(self, ids: Iterable[str]) -> None:
        """Ask the live map to refresh these customers, with this transaction's rows: one
        statement (:data:`TOUCH_SQLITE`, :data:`TOUCH_POSTGRES`), none when ``ids`` is empty."""
        touched = sorted(set(ids))  # sorted: two writers lock shared rows in one order
        if not touched:
            return
        at = stored_instant(now(), self.dialect)
        if self.dialect == "sqlite":  # executemany is a loop in C, in this process
            self.conn.exec_driver_sql(TOUCH_SQLITE, [(cid, at) for cid in touched])
        else:  # one statement, one round trip, however many customers (a batch: 1,000)
            self.conn.exec_driver_sql(TOUCH_POSTGRES, (at, touched))

    def commit(self) -> None:
        self.conn.commit()
        self.committed = True


# a first touch writes the row; another before the worker deleted it counts one more touch
# (the worker deletes a row only if the count is still the one it read). Written for the
# driver (pysqlite: ?, psycopg: %s): a request's one extra statement costs no compilation.
_ON_CONFLICT = "ON CONFLICT (customer_id) DO UPDATE SET touches = map_touched.touches + 1"
TOUCH_SQLITE = ("INSERT INTO map_touched (customer_id, touched_at, touches) VALUES (?, ?, 1) "
                + _ON_CONFLICT)
# unnest keeps the array's order: the rows are locked in the sorted order of the ids
TOUCH_POSTGRES = ("INSERT INTO map_touched (customer_id, touched_at, touches) "
                  "SELECT c, %s, 1 FROM unnest(%s::text[]) AS c " + _ON_CONFLICT)


def stored_instant(at: datetime, dialect: str) -> datetime | str:
    """``at`` as a driver-level statement passes it: SQLite keeps SQLAlchemy's text form
    (always with microseconds, so that text order is time order)."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else at


def now() -> datetime:
    """Now, as naive UTC (how the store keeps instants)."""
    return datetime.now(UTC).replace(tzinfo=None)
