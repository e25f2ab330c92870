"""Bring a store's schema to the version this code expects (Alembic, programmatically)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _one_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose whole migration is one transaction.

    PostgreSQL runs DDL in transactions as it is. pysqlite does not: it opens a transaction
    before INSERT/UPDATE/DELETE only, so CREATE TABLE ran on its own, and a process killed
    while creating a store (kill -9, a power cut) left tables without the version that says
    they are there; the next start failed on "table customer_merges already exists". On
    SQLite the migration gets a connection of its own that says BEGIN IMMEDIATE itself, so
    every statement of it, DDL included, commits together or not at all.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        # an in-memory database is the engine's own (a second engine would see another),
        # and nothing of it outlives the process anyway
        with engine.begin() as conn:
            yield conn
        return
    own = sa.create_engine(engine.url, poolclass=sa.pool.NullPool,
                           connect_args={"timeout": 30})

    @sa.event.listens_for(own, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves

    @sa.event.listens_for(own, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with own.begin() as conn:
            yield conn
    finally:
        own.dispose()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with _one_transaction(engine) as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    with _one_transaction(engine) as conn:
        command.downgrade(alembic_config(conn), revision)


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]
