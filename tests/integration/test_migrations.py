"""The store's schema: Alembic migrations walk up and down, and match the code's tables."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from regulars.adapters.db import migrate
from regulars.adapters.db.tables import metadata


def test_every_migration_upgrades_downgrades_and_upgrades_again(database_url):
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    revisions = migrate.revisions()
    assert revisions, "no migrations"
    for i, rev in enumerate(revisions):
        migrate.upgrade(engine, rev)
        migrate.downgrade(engine, revisions[i - 1] if i else "base")
        migrate.upgrade(engine, rev)
    assert migrate.current_revision(engine) == migrate.head_revision()
    migrate.downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}


def test_migrations_create_exactly_the_tables_the_code_declares(database_url):
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_a_migration_that_dies_halfway_leaves_no_half_schema(database_url, monkeypatch):
    """kill -9 while a store was being created left SQLite tables without the version that
    says they are there (pysqlite ran each CREATE TABLE on its own), and every later start
    failed on "table customer_merges already exists". A migration is one transaction: here
    the fourth table of the first revision fails, and the store is as it was."""
    from alembic.operations import Operations

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    real = Operations.create_table
    made: list[str] = []

    def dying(self, name, *columns, **kw):  # type: ignore[no-untyped-def]
        if len(made) == 3:
            raise RuntimeError("killed")
        made.append(name)
        return real(self, name, *columns, **kw)

    monkeypatch.setattr(Operations, "create_table", dying)
    try:
        migrate.upgrade(engine)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the migration was meant to die")
    assert len(made) == 3
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrate.current_revision(engine) is None
    monkeypatch.setattr(Operations, "create_table", real)
    migrate.upgrade(engine)  # the next start completes the store
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
