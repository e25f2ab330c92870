"""The store's schema: Alembic migrations walk up and down, and match the code's tables."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from regulars.adapters import migrate
from regulars.adapters.orm import metadata


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
