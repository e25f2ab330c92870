"""Bring a store's schema to the version this code expects (Alembic, programmatically)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from regulars.adapters import failures
from regulars.adapters.db.engine import Purpose, create_engine, redacted
from regulars.domain.errors import StoreError
from regulars.i18n import _

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def head_revision() -> str:
    """The newest migration's revision. Read once a process: Alembic loads every migration
    script to find it (40 ms), and each store opened asks."""
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
    every statement of it, DDL included, commits together or not at all (the engine's
    ``Purpose.MIGRATION``).
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        # an in-memory database is the engine's own (a second engine would see another),
        # and nothing of it outlives the process anyway
        with engine.begin() as conn:
            yield conn
        return
    own = create_engine(engine.url.render_as_string(hide_password=False), Purpose.MIGRATION)
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


def ensure_schema(engine: sa.Engine, url: str) -> None:
    """Create or upgrade the schema of the store at ``url`` to this version (idempotent)."""
    try:
        with failures.translated(url):
            if current_revision(engine) != head_revision():
                upgrade(engine)
    except sa.exc.OperationalError as e:
        raise StoreError(_("cannot open the store at {url}: {err}").format(
            url=redacted(url), err=str(e.orig).strip())) from e
