"""The HTTP API's store: keys, the audit log, idempotency, the customer-map snapshot and
webhooks, on the store's one ``metadata`` (:mod:`regulars.adapters.db.tables`, migration 0003).

Single requests are small: they go through SQLAlchemy Core on a pooled engine pair
(:func:`regulars.adapters.db.engine.create_engine`, ``WRITER`` and ``READER``), not through the
importer's staging (which costs a DuckDB database and a Parquet file per call). On SQLite a
write transaction starts with ``BEGIN IMMEDIATE`` so writers queue for the lock instead of one
failing when it upgrades a read lock; on PostgreSQL the unique keys of the rows themselves
decide which of two concurrent writers wins (the other gets :class:`DuplicateError`).

The class is put together from one part per job: :mod:`~regulars.adapters.db.api_customers`
(customers and erasure), :mod:`~regulars.adapters.db.api_webhooks`,
:mod:`~regulars.adapters.db.api_users` (the web pages' users), and here keys, the map
snapshot, input tables and the audit log; a request's transaction is
:mod:`~regulars.adapters.db.api_tx`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_customers import CustomerRows
from regulars.adapters.db.api_tx import SqlApiTx, is_unique_violation
from regulars.adapters.db.api_users import UserRows
from regulars.adapters.db.api_webhooks import WebhookRows
from regulars.adapters.db.engine import Purpose, create_engine, is_sqlite, probe
from regulars.adapters.db.goal_rows import GoalRows
from regulars.adapters.db.store import SqlStore
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    api_audit,
    api_keys,
    map_customers,
    map_state,
    map_touched,
)
from regulars.adapters.db.web_imports import WebImportRows
from regulars.domain.tables import SPECS, ColumnType, Kind
from regulars.services.api.ports import DuplicateError, Touch


class _Committed(Protocol):
    @property
    def committed(self) -> bool: ...


Tx = TypeVar("Tx", bound=_Committed)

__all__ = ["SqlApiStore", "SqlApiTx"]

ORDERS = INPUT_TABLES[Kind.ORDERS]


class SqlApiStore(CustomerRows, WebhookRows, UserRows, WebImportRows, GoalRows):
    """The API's view of the store at ``url`` (the port ``services.api.ports.ApiStore``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.store = SqlStore(url)  # creates a SQLite file's folder, checks the dialect
        self.dialect = self.store.dialect
        self.writer = create_engine(url, Purpose.WRITER)
        # PostgreSQL: one pooled engine serves both; SQLite: readers begin without the lock
        self.reader = create_engine(url, Purpose.READER) if is_sqlite(url) else self.writer

    def close(self) -> None:
        self.writer.dispose()
        self.reader.dispose()

    def ensure_schema(self) -> None:
        self.store.ensure_schema()

    def probe(self) -> None:
        """Raise :class:`~regulars.domain.errors.StoreUnavailableError` when the store cannot
        be reached or written now; cheap enough for every health check (no row is written)."""
        probe(self.url, self.writer)

    @contextmanager
    def begin(self) -> Iterator[SqlApiTx]:
        with self.transaction(lambda conn: SqlApiTx(conn, self.dialect)) as tx:
            yield tx

    @contextmanager
    def transaction(self, make: Callable[[sa.Connection], Tx]) -> Iterator[Tx]:
        """One write transaction on the writer's pool, as the transaction object ``make``
        builds on its connection: rolled back unless the object says it committed; a unique
        key hit (at commit time too, when deferred) is a :class:`DuplicateError`, a lost
        race."""
        try:
            with failures.translated(self.url), self.writer.connect() as conn:
                conn.begin()
                tx = make(conn)
                try:
                    yield tx
                finally:
                    if not tx.committed:
                        conn.rollback()
        except sa.exc.IntegrityError as e:
            if is_unique_violation(e):
                raise DuplicateError(str(e.orig)) from e
            raise

    def read_table(self, kind: Kind) -> pa.Table:
        """A whole input table as Arrow, typed as :meth:`SqlStore.read_table` types it.

        On SQLite it is read through this process's own SQLite (pysqlite), not ADBC's: two
        copies of SQLite in one process must not have one database open at once, as each
        drops the other's POSIX locks on close ("disk I/O error", sqlite.org/howtocorrupt).
        """
        if self.dialect != "sqlite":
            return self.store.read_table(kind)
        spec = SPECS[kind]
        cols = ", ".join(spec.names)
        with self.reader.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT {cols} FROM {kind.value}").fetchall()
        return _arrow(kind, [tuple(r) for r in rows])

    def read_rows(self, kind: Kind, customer_ids: Sequence[str]) -> pa.Table:
        """The rows of an input table that concern these customers (returns through their
        orders, referrals they made), typed as :meth:`read_table` types them: what the live
        map recomputes a few customers from."""
        t = INPUT_TABLES[kind]
        cols = [t.c[name] for name in SPECS[kind].names]
        ids = list(customer_ids)
        if kind is Kind.RETURNS:
            stmt = sa.select(*cols).join(ORDERS, ORDERS.c.order_id == t.c.order_id).where(
                ORDERS.c.customer_id.in_(ids))
        elif kind is Kind.REFERRALS:
            stmt = sa.select(*cols).where(t.c.referrer_id.in_(ids))
        else:
            stmt = sa.select(*cols).where(t.c.customer_id.in_(ids))
        with self.reader.connect() as conn:
            rows = [tuple(r) for r in conn.execute(stmt)]
        return _arrow(kind, rows)

    # -- keys --------------------------------------------------------------------------------

    def add_key(self, record: Mapping[str, Any]) -> None:
        self._write(api_keys.insert().values(**record))

    def get_key(self, key_id: str) -> dict[str, Any] | None:
        rows = self._read(sa.select(api_keys).where(api_keys.c.key_id == key_id))
        return rows[0] if rows else None

    def list_keys(self) -> list[dict[str, Any]]:
        return self._read(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))

    def update_key(self, key_id: str, values: Mapping[str, Any]) -> None:
        self._write(api_keys.update().where(api_keys.c.key_id == key_id).values(**values))

    # -- the customer map snapshot -----------------------------------------------------------

    def replace_map(self, rows: Sequence[Mapping[str, Any]], state: Mapping[str, Any]) -> None:
        with self.writer.begin() as conn:
            conn.execute(map_customers.delete())
            for i in range(0, len(rows), 5000):
                conn.execute(map_customers.insert(), [dict(r) for r in rows[i:i + 5000]])
            conn.execute(map_state.delete())
            conn.execute(map_state.insert().values(id=1, **state))

    def upsert_map_rows(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        if not rows:
            return {}
        ids = [r["customer_id"] for r in rows]
        with self.writer.begin() as conn:
            before = {r["customer_id"]: dict(r) for r in conn.execute(
                sa.select(map_customers).where(map_customers.c.customer_id.in_(ids))).mappings()}
            conn.execute(map_customers.delete().where(map_customers.c.customer_id.in_(ids)))
            conn.execute(map_customers.insert(), [dict(r) for r in rows])
        return before

    # -- the customers waiting for a live-map refresh (map_touched) --------------------------

    def touch_customers(self, ids: Sequence[str]) -> None:
        """Ask for a refresh of these customers outside an ingest (one transaction)."""
        with self.begin() as tx:
            tx.touch_customers(ids)
            tx.commit()

    def touched(self, limit: int | None = None) -> list[Touch]:
        """The customers waiting for a refresh, the longest-waiting first (``limit`` of
        them, or all)."""
        t = map_touched
        stmt = sa.select(t.c.customer_id, t.c.touched_at, t.c.touches).order_by(
            t.c.touched_at, t.c.customer_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with failures.translated(self.url), self.reader.connect() as conn:
            return [Touch(r[0], r[1], int(r[2])) for r in conn.execute(stmt)]

    def settle_touched(self, seen: Sequence[Touch]) -> int:
        """Forget the touches in ``seen`` (refreshed now) unless a customer was touched again
        since they were read; returns how many were forgotten."""
        if not seen:
            return 0
        rows = sorted((s.customer_id, s.touches) for s in seen)
        with failures.translated(self.url), self.writer.begin() as conn:
            if self.dialect == "sqlite":
                result = conn.exec_driver_sql(_SETTLE_SQLITE, rows)
            else:  # one statement for the batch
                result = conn.exec_driver_sql(_SETTLE_POSTGRES, ([r[0] for r in rows],
                                                                 [r[1] for r in rows]))
            return max(result.rowcount or 0, 0)

    def touched_count(self) -> int:
        with failures.translated(self.url), self.reader.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(map_touched))
                       .scalar_one())

    def map_state(self) -> dict[str, Any] | None:
        rows = self._read(sa.select(map_state).where(map_state.c.id == 1))
        return rows[0] if rows else None

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._read(sa.select(api_audit).order_by(api_audit.c.id.desc()).limit(limit))


_SETTLE_SQLITE = "DELETE FROM map_touched WHERE customer_id = ? AND touches = ?"
_SETTLE_POSTGRES = ("DELETE FROM map_touched t USING unnest(%s::text[], %s::bigint[]) AS s(id, n) "
                    "WHERE t.customer_id = s.id AND t.touches = s.n")


def _arrow(kind: Kind, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """Rows of an input table (in contract column order) as Arrow, typed as the store's ADBC
    reads type them (SQLite hands back times as text, PostgreSQL as datetimes)."""
    spec = SPECS[kind]
    arrays = []
    for i, col in enumerate(spec.columns):
        values = [r[i] for r in rows]
        t = col.type
        text = any(isinstance(v, str) for v in values)
        if t is ColumnType.TIMESTAMP:
            arr = (pc.cast(pa.array(values, pa.string()), pa.timestamp("us")) if text
                   else pa.array(values, pa.timestamp("us")))
        elif t is ColumnType.DATE:
            arr = (pc.cast(pa.array(values, pa.string()), pa.date32()) if text
                   else pa.array(values, pa.date32()))
        elif t is ColumnType.BOOLEAN:
            arr = pa.array([None if v is None else bool(v) for v in values], pa.bool_())
        elif t is ColumnType.MONEY:
            arr = pa.array([None if v is None else float(v) for v in values], pa.float64())
        elif t is ColumnType.INTEGER:
            arr = pa.array(values, pa.int64())
        else:
            arr = pa.array(values, pa.string())
        arrays.append(arr)
    return pa.table(arrays, names=list(spec.names))

