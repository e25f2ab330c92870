"""The one way to an SQLAlchemy engine on the store: :func:`create_engine` for a URL and a use.

Every repository of ``adapters/db`` gets its engine here, so that what a connection to the
store is (SQLite's pragmas and locking, PostgreSQL's timeouts, the pool, what an unusable URL
says) is written once. A use (:class:`Purpose`) says only what differs between them:

* ``BRIEF`` — schema work, counts and profiles from the CLI and the importer (``SqlStore``):
  no pool (bulk data goes through ADBC, so there is nothing to keep), pysqlite's own
  transactions.
* ``WRITER`` / ``READER`` — the HTTP API's pair (``SqlApiStore``): pooled for the requests a
  server runs at once; on SQLite a writer's transaction starts with ``BEGIN IMMEDIATE``, so
  writers queue for the lock instead of one failing when it upgrades a read lock, and a
  reader's with a plain ``BEGIN``. On PostgreSQL one pooled engine serves both.
* ``MIGRATION`` — a SQLite store's migration (:mod:`regulars.adapters.db.migrate`): no pool,
  and one transaction that begins ``BEGIN IMMEDIATE`` so that every statement of it, DDL
  included, commits together or not at all.
* ``LOYALTY`` — the loyalty ledger's short transactions (``SqlLoyaltyStore``): pooled, ``BEGIN
  IMMEDIATE`` unless the connection says ``loyalty_read`` (its read-only snapshots), and a
  longer wait for SQLite's lock (60 s rather than 30 s).

:func:`probe` is the health check on an engine (see :func:`regulars.adapters.failures.probe`).
"""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.domain.errors import StoreError
from regulars.i18n import _

# A PostgreSQL server that does not answer is said so after this many seconds, not after the
# operating system's minutes (unless the URL sets its own ``connect_timeout``).
CONNECT_TIMEOUT_S = 10

# As many kept connections as a server's requests usually run at once (its thread pool runs
# up to 40): a connection opened beyond the pool is closed again after its one use.
SERVER_POOL = {"pool_size": 16, "max_overflow": 16}

# The API's pair on SQLite keeps fewer (each engine of the pair has its own pool).
SQLITE_SERVER_POOL = {"pool_size": 8, "max_overflow": 16}

# Execution option: this connection only reads (``SqlLoyaltyStore.reading``), so on SQLite its
# transaction starts with ``BEGIN``, not ``BEGIN IMMEDIATE``.
READ_ONLY = "loyalty_read"


class Purpose(enum.Enum):
    """What an engine is for (see the module's docstring)."""

    BRIEF = "brief"
    WRITER = "writer"
    READER = "reader"
    LOYALTY = "loyalty"
    MIGRATION = "migration"


# how long a SQLite connection waits for another writer's lock, unless the URL says
# ``?timeout=``: the loyalty ledger's writers wait longer, as they always have (many of them
# queue for the one write lock at once: a periodic run's chunks, the API's requests)
_SQLITE_BUSY_MS = {Purpose.BRIEF: 30_000, Purpose.WRITER: 30_000, Purpose.READER: 30_000,
                   Purpose.LOYALTY: 60_000, Purpose.MIGRATION: 30_000}


def redacted(url: str | sa.URL) -> str:
    """The URL without its password."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, purpose: Purpose = Purpose.BRIEF) -> sa.Engine:
    """An engine on the store at ``url`` for ``purpose``.

    Raises :class:`StoreError` when the URL is not one SQLAlchemy can use (or its driver is
    not installed). A SQLite file's folder is created if it does not exist yet: a new store
    may live in a folder that does not exist.
    """
    try:
        if is_sqlite(url):
            engine = sa.create_engine(url, **_sqlite_options(url, purpose))
        else:
            engine = sa.create_engine(url, **_server_options(url, purpose))
    except (sa.exc.ArgumentError, ModuleNotFoundError) as e:
        raise StoreError(_("cannot use the store at {url}: {err}").format(
            url=redacted(url), err=e)) from e
    if engine.dialect.name == "sqlite":
        database = failures.sqlite_file(engine.url)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_connections(engine, url, purpose)
    return engine


def _server_options(url: str, purpose: Purpose) -> dict[str, Any]:
    """PostgreSQL (and any other server database): the pool, the connect timeout."""
    options: dict[str, Any] = {}
    if purpose in (Purpose.BRIEF, Purpose.MIGRATION):
        options["poolclass"] = sa.pool.NullPool
    else:
        options.update(SERVER_POOL)
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    return options


def _sqlite_options(url: str, purpose: Purpose) -> dict[str, Any]:
    if purpose is Purpose.BRIEF:
        # schema work and counts are brief; bulk work goes through ADBC, so no pool to leak
        return {"poolclass": sa.pool.NullPool}
    if purpose is Purpose.MIGRATION:
        return {"poolclass": sa.pool.NullPool,
                "connect_args": {"timeout": sqlite_busy_ms(url, purpose) / 1000}}
    if purpose is Purpose.LOYALTY:
        # SQLAlchemy's own default for a SQLite file: a QueuePool of 5 (+10), and connections
        # that may change threads (check_same_thread off)
        return {}
    busy = sqlite_busy_ms(url, purpose)
    return {"poolclass": sa.pool.QueuePool, **SQLITE_SERVER_POOL,
            "connect_args": {"check_same_thread": False, "timeout": busy / 1000}}


def sqlite_busy_ms(url: str, purpose: Purpose = Purpose.BRIEF) -> int:
    """How long a SQLite connection for ``purpose`` waits for another writer's lock."""
    return failures.sqlite_busy_ms(url, _SQLITE_BUSY_MS[purpose])


def _sqlite_connections(engine: sa.Engine, url: str, purpose: Purpose) -> None:
    """Every SQLite connection: a busy timeout; WAL (readers never wait for the writer) but
    for a migration, which takes the file as it is; and but for ``BRIEF``, transactions that
    this code begins itself."""
    busy = sqlite_busy_ms(url, purpose)
    own_begin = purpose is not Purpose.BRIEF
    migration = purpose is Purpose.MIGRATION

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        if own_begin:
            # we issue BEGIN ourselves: pysqlite's implicit BEGIN would be DEFERRED, and two
            # deferred readers that both decide to write deadlock instead of queueing
            dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not migration:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy}")
        if own_begin and not migration:
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    if not own_begin:
        return

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        immediate = purpose is not Purpose.READER and not conn.get_execution_options().get(
            READ_ONLY, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def probe(url: str, engine: sa.Engine) -> None:
    """Raise :class:`~regulars.domain.errors.StoreUnavailableError` when the store at ``url``
    cannot be reached or written now (cheap; writes nothing)."""
    failures.probe(url, engine)
