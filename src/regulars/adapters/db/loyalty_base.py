"""What every part of a loyalty transaction shares: its connection, its dialect, and reads in
chunks the database's parameter limits allow."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.loyalty_rows import chunks


class LoyaltyTxBase:
    """One transaction on the loyalty tables."""

    def __init__(self, conn: sa.Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.committed = False

    def commit(self) -> None:
        self.conn.commit()
        self.committed = True

    def _chunks(self, items: Sequence[Any]) -> Iterator[Sequence[Any]]:
        # SQLite allows a few thousand parameters; PostgreSQL takes the whole list as one
        return chunks(items, 500 if self.dialect == "sqlite" else 100_000)

    def _rows(self, stmt: Any, params: Any = None) -> list[Any]:
        return list(self.conn.execute(stmt, params) if params is not None
                    else self.conn.execute(stmt))
