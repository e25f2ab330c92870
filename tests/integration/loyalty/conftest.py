"""The loyalty scenarios' store here is a real one: a SQLite file, and PostgreSQL when
available (``database_url``). Everything else they stand on is in
``tests/support/loyalty.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
from regulars.adapters.db.tables import metadata

from ...support.loyalty import clock, make_service, service  # noqa: F401 (fixtures)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlLoyaltyStore]:
    s = SqlLoyaltyStore(store_url)
    s.ensure_schema()
    yield s
    s.dispose()


@pytest.fixture
def snapshot() -> Callable[[SqlLoyaltyStore], dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table, in a stable order."""
    def rows(store: SqlLoyaltyStore) -> dict[str, list[tuple[Any, ...]]]:
        with store.engine.connect() as conn:
            return {t.name: sorted(tuple(map(repr, r)) for r in conn.execute(sa.select(t)))
                    for t in metadata.sorted_tables}

    return rows
