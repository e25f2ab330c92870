"""The loyalty programme's tables and their SQL repository (SQLite and PostgreSQL).

The tables live on the store's one ``metadata`` (``adapters/db/tables.py``), are
created by migration ``0002_loyalty`` and are written only inside a
:meth:`SqlLoyaltyStore.transaction`:

* SQLite: the transaction starts with ``BEGIN IMMEDIATE``, so it holds the database's write
  lock from its first statement and concurrent writers queue (``busy_timeout``) instead of
  reading a balance that another writer is about to change;
* PostgreSQL: ``READ COMMITTED`` plus ``SELECT … FOR UPDATE`` on the members a transaction
  touches (always in member-id order, so two transactions cannot deadlock on them).

Every external reference is a primary key or a UNIQUE constraint — orders accrued, operation
keys, ledger entry refs, coupon codes and their sources — so a retry can never be counted
twice, whatever the service layer above does. Instants are stored as naive UTC.

``loyalty_expiry_notices`` (migration ``0005_expiry_notices``) records the ``points_expiring``
notices sent, one per member and expiry instant.
``loyalty_tier_events`` (migration ``0007_tier_events``) is the cursor of the ``tier_changed``
webhooks: the id of the last ``loyalty_tier_history`` row the server published.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db import migrate
from regulars.adapters.db.engine import READ_ONLY, Purpose, create_engine
from regulars.adapters.db.loyalty_figures import FigureRows
from regulars.adapters.db.loyalty_ledger import LedgerRows
from regulars.adapters.db.loyalty_offers import OfferRows
from regulars.adapters.db.loyalty_programme import ProgrammeRows
from regulars.adapters.db.tables import loyalty_tier_events, loyalty_tier_history
from regulars.domain.errors import StoreError
from regulars.i18n import _
from regulars.services.loyalty.ports import DuplicateKey

# The store joined to a caller's open transaction in this thread (``SqlLoyaltyStore.joining``)
# and that transaction's connection.
_JOINED: ContextVar[tuple[SqlLoyaltyStore, sa.Connection] | None] = ContextVar(
    "regulars_loyalty_joined", default=None)


class SqlLoyaltyStore:
    """The loyalty tables of the store at ``url``."""

    def __init__(self, url: str, engine: sa.Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_engine(url, Purpose.LOYALTY)
        self.dialect = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(
                _("unsupported database '{d}': use SQLite or PostgreSQL").format(d=self.dialect))

    def ensure_schema(self) -> None:
        """Create or upgrade the schema (all of the store's tables) to this version."""
        migrate.ensure_schema(self.engine, self.url)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def joining(self, outer: Any) -> Iterator[bool]:
        """While open, this thread's loyalty transactions run inside ``outer`` (the HTTP
        API's write transaction, :class:`~regulars.adapters.db.api_tx.SqlApiTx`, on this
        same database): each :meth:`transaction` is a SAVEPOINT on its connection, released
        by ``tx.commit()`` and rolled back on an error or without one, and :meth:`reading`
        reads on it. What they write commits or rolls back with ``outer``: an ingest and the
        accrual of its orders are one ``BEGIN … COMMIT``. Yields False (and joins nothing)
        when ``outer`` is not such a transaction on this database."""
        from regulars.adapters.db.api_tx import SqlApiTx

        conn = outer.conn if isinstance(outer, SqlApiTx) else None
        if conn is None or conn.engine.url != self.engine.url:
            yield False
            return
        token = _JOINED.set((self, conn))
        try:
            yield True
        finally:
            _JOINED.reset(token)

    def _joined(self) -> sa.Connection | None:
        joined = _JOINED.get()
        return joined[1] if joined is not None and joined[0] is self else None

    @contextmanager
    def transaction(self) -> Iterator[SqlLoyaltyTx]:
        """A write transaction: committed by ``tx.commit()``, else rolled back (a
        savepoint of the transaction the store :meth:`joining`, if any)."""
        joined = self._joined()
        if joined is not None:
            with self._savepoint(joined) as tx:
                yield tx
            return
        try:
            with failures.translated(self.url):
                conn = self.engine.connect()
        except sa.exc.OperationalError as e:
            raise StoreError(str(e.orig).strip()) from e
        try:
            conn.begin()
            tx = SqlLoyaltyTx(conn, self.dialect)
            yield tx
            if not tx.committed:
                conn.rollback()
        except sa.exc.IntegrityError as e:
            conn.rollback()
            raise DuplicateKey(str(e.orig).strip()) from e
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def tier_changes_pending(self) -> bool:
        """Whether the tier history holds rows after the ``tier_changed`` cursor (or there is
        no cursor yet): a read without locks, so an idle server's poll takes no lock."""
        t, h = loyalty_tier_events, loyalty_tier_history
        with self.engine.connect() as conn:
            cursor = conn.execute(sa.select(t.c.last_history_id).where(t.c.id == 1)).scalar()
            if cursor is None:
                return True
            newest = conn.execute(sa.select(sa.func.max(h.c.id))).scalar()
            conn.rollback()
        return newest is not None and int(newest) > int(cursor)

    @contextmanager
    def _savepoint(self, conn: sa.Connection) -> Iterator[SqlLoyaltyTx]:
        nested = conn.begin_nested()
        tx = _SavepointTx(conn, self.dialect, nested)
        try:
            yield tx
            if not tx.committed:
                nested.rollback()
        except sa.exc.IntegrityError as e:
            if nested.is_active:
                nested.rollback()
            raise DuplicateKey(str(e.orig).strip()) from e
        except BaseException:
            if nested.is_active:
                nested.rollback()
            raise

    @contextmanager
    def reading(self) -> Iterator[SqlLoyaltyTx]:
        """A read-only transaction (one consistent snapshot on both databases; the joined
        transaction itself while the store is :meth:`joining` one)."""
        joined = self._joined()
        if joined is not None:
            yield SqlLoyaltyTx(joined, self.dialect)
            return
        conn = self.engine.connect().execution_options(**{READ_ONLY: True})
        try:
            conn.begin()
            yield SqlLoyaltyTx(conn, self.dialect)
            conn.rollback()
        finally:
            conn.close()


class SqlLoyaltyTx(LedgerRows, OfferRows, ProgrammeRows, FigureRows):
    """The reads and writes of one transaction (the port
    :class:`~regulars.services.loyalty.ports.LoyaltyTx`), one part per job."""


class _SavepointTx(SqlLoyaltyTx):
    """A loyalty transaction that is a savepoint of a joined one: ``commit`` releases it."""

    def __init__(self, conn: sa.Connection, dialect: str,
                 nested: sa.NestedTransaction) -> None:
        super().__init__(conn, dialect)
        self.nested = nested

    def commit(self) -> None:
        self.nested.commit()
        self.committed = True
