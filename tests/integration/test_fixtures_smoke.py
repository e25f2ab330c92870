"""The shared database fixtures hand out a working, empty, private database."""

from __future__ import annotations

import sqlalchemy as sa


def test_database_url_connects_and_is_empty(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            assert sa.inspect(conn).get_table_names() == []
            # Writable too: the database is this test's own.
            conn.execute(sa.text("create table probe (id integer primary key)"))
    finally:
        engine.dispose()
